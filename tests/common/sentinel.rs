//! Redis Sentinel of the test's own: a master, one replica and 3 Sentinels (quorum 2) on free
//! loopback ports in a tempdir, with a short `down-after-milliseconds` so a killed master is
//! replaced within a few seconds. Every process is stopped by its PID on drop.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::cluster::{cli, replica_synced};
use super::{RedisServer, free_ports, wait_until};

/// The name the Sentinels monitor the master under.
pub const MASTER_NAME: &str = "jitgate";

pub struct SentinelSetup {
    pub master: RedisServer,
    pub replica: RedisServer,
    pub sentinel_ports: Vec<u16>,
    sentinels: Vec<Child>,
    _dir: tempfile::TempDir,
}

impl SentinelSetup {
    pub async fn start() -> Self {
        let master = RedisServer::start_with(&["--repl-diskless-sync-delay", "0"]).await;
        let of = master.port.to_string();
        let replica = RedisServer::start_with(&["--replicaof", "127.0.0.1", &of]).await;
        let synced =
            wait_until(Duration::from_secs(10), || async { replica_synced(replica.port) }).await;
        assert!(synced, "the replica never synced");
        let dir = tempfile::tempdir().expect("tempdir");
        let sentinel_ports = free_ports(3);
        let sentinels =
            sentinel_ports.iter().map(|p| spawn_sentinel(dir.path(), *p, master.port)).collect();
        let s = Self { master, replica, sentinel_ports, sentinels, _dir: dir };
        let ready = wait_until(Duration::from_secs(20), || async {
            s.sentinel_ports.iter().all(|p| {
                let quorum = cli(*p, &["SENTINEL", "CKQUORUM", MASTER_NAME]);
                let replicas = cli(*p, &["SENTINEL", "REPLICAS", MASTER_NAME]);
                quorum.is_some_and(|q| q.contains("OK 3 usable"))
                    && replicas.is_some_and(|r| r.contains(&s.replica.port.to_string()))
            })
        })
        .await;
        assert!(ready, "the Sentinels never agreed on the master, its replica and each other");
        s
    }

    /// Comma-separated Sentinel URLs (for `JITGATE_REDIS_SENTINELS`).
    pub fn sentinels(&self) -> String {
        let urls: Vec<String> =
            self.sentinel_ports.iter().map(|p| format!("redis://127.0.0.1:{p}")).collect();
        urls.join(",")
    }

    /// The master's port as the first Sentinel answering names it.
    pub fn master_port(&self) -> Option<u16> {
        self.sentinel_ports.iter().find_map(|p| {
            let out = cli(*p, &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME])?;
            out.lines().nth(1)?.trim().parse().ok()
        })
    }

    /// Waits until the Sentinels name the replica as master and it says so itself; returns
    /// how long since `since`.
    pub async fn wait_promoted(&self, since: Instant, timeout: Duration) -> Option<Duration> {
        let port = self.replica.port;
        let ok = wait_until(timeout, || async move {
            self.master_port() == Some(port)
                && cli(port, &["ROLE"]).is_some_and(|r| r.starts_with("master"))
        })
        .await;
        ok.then(|| since.elapsed())
    }
}

impl Drop for SentinelSetup {
    fn drop(&mut self) {
        for c in &mut self.sentinels {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn spawn_sentinel(dir: &std::path::Path, port: u16, master: u16) -> Child {
    let conf = dir.join(format!("sentinel-{port}.conf"));
    let text = format!(
        "port {port}\nbind 127.0.0.1\ndir {dir}\nlogfile sentinel-{port}.log\n\
         sentinel monitor {MASTER_NAME} 127.0.0.1 {master} 2\n\
         sentinel down-after-milliseconds {MASTER_NAME} 500\n\
         sentinel failover-timeout {MASTER_NAME} 3000\n\
         sentinel parallel-syncs {MASTER_NAME} 1\n",
        dir = dir.display()
    );
    std::fs::write(&conf, text).expect("sentinel config");
    Command::new("redis-server")
        .arg(&conf)
        .arg("--sentinel")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server (sentinel) not found")
}
