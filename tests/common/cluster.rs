//! A Redis Cluster of the test's own: 3 masters + 3 replicas on free loopback ports in a
//! tempdir, created with `redis-cli --cluster create`, with a short `cluster-node-timeout` so
//! a killed master's replica takes over within a couple of seconds. Every process is stopped
//! by its PID when the cluster is dropped, even when the test failed.

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{free_port, signal, wait_until};

/// `cluster-node-timeout` of the test cluster, in ms.
pub const NODE_TIMEOUT_MS: u64 = 1000;

pub struct Node {
    pub port: u16,
    child: Option<Child>,
}

impl Node {
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).expect("node not running")
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// `kill -9`, like a crash.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            signal(c.id(), "CONT");
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

pub struct RedisCluster {
    pub nodes: Vec<Node>,
    dir: tempfile::TempDir,
}

/// One line of `CLUSTER NODES`.
#[derive(Clone, Debug)]
pub struct NodeInfo {
    pub id: String,
    pub port: u16,
    pub master: bool,
    pub master_id: Option<String>,
    pub failed: bool,
    pub slots: Vec<(u16, u16)>,
}

impl RedisCluster {
    /// Starts 6 nodes and creates the cluster (3 masters, 1 replica each); waits for
    /// `cluster_state:ok` on every node.
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let ports = super::free_ports(12);
        let nodes = ports
            .chunks(2)
            .map(|p| Node { port: p[0], child: Some(spawn_node(dir.path(), p[0], p[1])) })
            .collect();
        let cluster = Self { nodes, dir };
        for n in &cluster.nodes {
            let port = n.port;
            let up = wait_until(Duration::from_secs(10), || async move {
                cli(port, &["PING"]).is_some_and(|s| s.trim() == "PONG")
            })
            .await;
            assert!(up, "cluster node {port} did not start");
        }
        let mut create = Command::new("redis-cli");
        create.arg("--cluster").arg("create");
        for n in &cluster.nodes {
            create.arg(format!("127.0.0.1:{}", n.port));
        }
        let out = create
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .expect("redis-cli");
        assert!(
            out.status.success(),
            "cluster create failed: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let ok = cluster.wait_healthy(Duration::from_secs(20)).await;
        assert!(ok, "cluster never reached cluster_state:ok");
        let synced = wait_until(Duration::from_secs(20), || async {
            let t = cluster.topology();
            t.iter().filter(|n| !n.master).count() == 3
                && t.iter().filter(|n| !n.master).all(|n| replica_synced(n.port))
        })
        .await;
        assert!(synced, "the replicas never finished their first sync");
        cluster
    }

    /// Comma-separated seed URLs (for `JITGATE_REDIS_NODES`).
    pub fn seeds(&self) -> String {
        self.nodes.iter().map(Node::url).collect::<Vec<_>>().join(",")
    }

    /// Waits until every running node reports `cluster_state:ok` and agrees on 3 masters
    /// that are all running.
    pub async fn wait_healthy(&self, timeout: Duration) -> bool {
        wait_until(timeout, || async {
            let running: Vec<u16> =
                self.nodes.iter().filter(|n| n.is_running()).map(|n| n.port).collect();
            let all_ok = running.iter().all(|p| {
                cli(*p, &["CLUSTER", "INFO"]).is_some_and(|s| s.contains("cluster_state:ok"))
            });
            let masters_alive =
                running.first().and_then(|p| self.topology_from(*p)).is_some_and(|t| {
                    let live: Vec<&NodeInfo> =
                        t.iter().filter(|n| n.master && !n.failed && !n.slots.is_empty()).collect();
                    live.len() == 3 && live.iter().all(|n| running.contains(&n.port))
                });
            all_ok && masters_alive
        })
        .await
    }

    /// `CLUSTER NODES` as seen by a running node.
    pub fn topology(&self) -> Vec<NodeInfo> {
        let port = self.nodes.iter().find(|n| n.is_running()).expect("a running node").port;
        self.topology_from(port).expect("CLUSTER NODES")
    }

    fn topology_from(&self, port: u16) -> Option<Vec<NodeInfo>> {
        let text = cli(port, &["CLUSTER", "NODES"])?;
        Some(text.lines().filter_map(parse_node).collect())
    }

    /// The master serving `slot` now.
    pub fn master_of(&self, slot: u16) -> NodeInfo {
        self.topology()
            .into_iter()
            .find(|n| {
                n.master && !n.failed && n.slots.iter().any(|(a, b)| (*a..=*b).contains(&slot))
            })
            .expect("a master for the slot")
    }

    /// The replica of the master `id`.
    pub fn replica_of(&self, id: &str) -> NodeInfo {
        self.topology()
            .into_iter()
            .find(|n| n.master_id.as_deref() == Some(id))
            .expect("a replica of the master")
    }

    pub fn node_mut(&mut self, port: u16) -> &mut Node {
        self.nodes.iter_mut().find(|n| n.port == port).expect("node")
    }

    /// Kills the master of `slot` and returns how long its replica took to be promoted and
    /// the cluster to be healthy again.
    pub async fn kill_master_of(&mut self, slot: u16) -> Duration {
        let master = self.master_of(slot);
        let started = Instant::now();
        self.node_mut(master.port).kill();
        let ok = self.wait_healthy(Duration::from_secs(30)).await;
        assert!(ok, "no replica took over from the killed master {}", master.port);
        started.elapsed()
    }

    /// Slot → master address map from `CLUSTER SLOTS` (for choosing principals).
    pub fn slot_owners(&self) -> BTreeMap<(u16, u16), u16> {
        self.topology()
            .into_iter()
            .filter(|n| n.master && !n.failed)
            .flat_map(|n| n.slots.iter().map(move |r| (*r, n.port)).collect::<Vec<_>>())
            .collect()
    }

    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for n in &mut self.nodes {
            n.kill();
        }
    }
}

fn spawn_node(dir: &std::path::Path, port: u16, bus: u16) -> Child {
    Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--cluster-enabled", "yes", "--cluster-port", &bus.to_string()])
        .args(["--cluster-config-file", &format!("nodes-{port}.conf")])
        .args(["--cluster-node-timeout", &NODE_TIMEOUT_MS.to_string()])
        .args(["--cluster-replica-validity-factor", "0"])
        .args(["--save", "", "--appendonly", "no", "--repl-diskless-sync-delay", "0"])
        .args(["--logfile", &format!("redis-{port}.log")])
        .arg("--dir")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server not found: run `make test`, which installs it")
}

/// Whether the replica on `port` has its link to the master up (first sync done).
pub fn replica_synced(port: u16) -> bool {
    cli(port, &["INFO", "replication"]).is_some_and(|s| s.contains("master_link_status:up"))
}

/// Runs `redis-cli -p port args…`; `None` when it fails.
pub fn cli(port: u16, args: &[&str]) -> Option<String> {
    let out = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn parse_node(line: &str) -> Option<NodeInfo> {
    let f: Vec<&str> = line.split_whitespace().collect();
    if f.len() < 8 {
        return None;
    }
    let port = f[1].split('@').next()?.rsplit(':').next()?.parse().ok()?;
    let flags = f[2];
    let slots = f[8..]
        .iter()
        .filter(|s| !s.starts_with('['))
        .filter_map(|s| match s.split_once('-') {
            Some((a, b)) => Some((a.parse().ok()?, b.parse().ok()?)),
            None => s.parse().ok().map(|a| (a, a)),
        })
        .collect();
    Some(NodeInfo {
        id: f[0].to_string(),
        port,
        master: flags.contains("master"),
        master_id: (f[3] != "-").then(|| f[3].to_string()),
        failed: flags.contains("fail"),
        slots,
    })
}

/// One redis-server in cluster mode owning all 16384 slots: cheap, and it refuses a
/// multi-key command or script whose keys span slots (`CROSSSLOT`) just like a real cluster.
pub async fn single_node() -> super::RedisServer {
    let bus = free_port().to_string();
    let server = super::RedisServer::start_with(&[
        "--cluster-enabled",
        "yes",
        "--cluster-port",
        &bus,
        "--cluster-config-file",
        "nodes.conf",
    ])
    .await;
    let port = server.port;
    cli(port, &["CLUSTER", "ADDSLOTSRANGE", "0", "16383"]).expect("CLUSTER ADDSLOTSRANGE");
    let ok = wait_until(Duration::from_secs(10), || async move {
        cli(port, &["CLUSTER", "INFO"]).is_some_and(|s| s.contains("cluster_state:ok"))
    })
    .await;
    assert!(ok, "single-node cluster never reached cluster_state:ok");
    server
}
