//! jitgate on a real Redis Cluster (3 masters + 3 replicas on loopback): grants, revocations
//! seen by another replica, one-time grants under concurrency and the audit chain; then the
//! master serving a principal's slot is killed: Checks fail closed (never allow what they
//! should not), jitgate recovers without restart, and a revocation the failover lost is
//! re-asserted from the audit record.
//!
//! `cargo nextest run --test redis_cluster --no-capture` prints the failover figures.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;

use common::Jitgate;
use common::cluster::{RedisCluster, cli};
use common::failover::{Prober, Verdict, check, replicas};
use common::jitgate::checkpoint_key;

/// Two jitgate replicas on the cluster, re-asserting every 500 ms.
async fn pair(cluster: &RedisCluster) -> (Jitgate, Jitgate) {
    let seeds = cluster.seeds();
    let env = [
        ("JITGATE_REDIS_MODE", "cluster"),
        ("JITGATE_REDIS_NODES", seeds.as_str()),
        ("JITGATE_REDIS_REASSERT_INTERVAL", "500ms"),
    ];
    let url = cluster.nodes[0].url();
    let a = Jitgate::start_with(&url, &env, true).await;
    let b = Jitgate::replica_of(&a, &url, &env).await;
    (a, b)
}

fn slot(cluster: &RedisCluster, key: &str) -> u16 {
    let port = cluster.nodes.iter().find(|n| n.is_running()).unwrap().port;
    cli(port, &["CLUSTER", "KEYSLOT", key]).unwrap().trim().parse().unwrap()
}

/// A user whose slot is served by another master than the audit stream's, and that slot.
fn user_away_from_audit(cluster: &RedisCluster) -> (String, u16) {
    let audit = cluster.master_of(slot(cluster, "jitgate:{audit}:log")).port;
    (0..200)
        .map(|i| format!("carol{i}"))
        .map(|name| {
            let s = slot(cluster, &format!("jitgate:{{user:{name}}}:grants"));
            (name, s)
        })
        .find(|(_, s)| cluster.master_of(*s).port != audit)
        .expect("a user away from the audit master")
}

async fn create(j: &Jitgate, subject: &str, path: &str, max_uses: Option<u32>) -> String {
    let body = json!({"subject": subject, "resources": [{"service": "orders", "methods": ["GET"], "paths": [path]}],
        "ttl": "15m", "reason": "cluster test", "max_uses": max_uses});
    let (status, v) = j.call("POST", "/v1/grants", Some(&j.admin_token()), Some(body)).await;
    assert_eq!(status, 201, "grant creation failed: {v}");
    v["id"].as_str().unwrap().to_string()
}

async fn eventually(
    timeout: Duration,
    j: &Jitgate,
    token: &str,
    path: &str,
    want: Verdict,
) -> bool {
    common::wait_until(timeout, || async { check(j, token, path).await == want }).await
}

#[tokio::test]
async fn cluster_serves_grants_revocations_one_time_grants_and_the_audit_chain() {
    let cluster = RedisCluster::start().await;
    let (a, b) = pair(&cluster).await;

    // A grant made through one replica is enforced by the other; so is its revocation.
    let alice = a.token("alice", &[]);
    let id = create(&a, "user:alice", "/orders/**", None).await;
    assert!(eventually(Duration::from_secs(3), &b, &alice, "/orders/1", Verdict::Allow).await);
    a.revoke(&id).await;
    let started = Instant::now();
    assert!(eventually(Duration::from_secs(3), &b, &alice, "/orders/1", Verdict::Deny(403)).await);
    eprintln!("cluster: revocation through a seen by b after {:?}", started.elapsed());
    assert!(started.elapsed() < Duration::from_millis(1500), "{:?}", started.elapsed());

    // A one-time grant allows exactly once across both replicas, 40 concurrent Checks.
    let bob = a.token("bob", &[]);
    create(&a, "user:bob", "/orders/**", Some(1)).await;
    let checks = (0..40).map(|i| {
        let (j, bob) = (if i % 2 == 0 { &a } else { &b }, &bob);
        async move { check(j, bob, "/orders/1").await }
    });
    let verdicts = futures_util::future::join_all(checks).await;
    let allows = verdicts.iter().filter(|v| **v == Verdict::Allow).count();
    assert_eq!(allows, 1, "{verdicts:?}");

    // Principals on every master, then the audit chain verifies end to end.
    for i in 0..12 {
        create(&b, &format!("user:u{i}"), "/orders/**", None).await;
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    let out = Command::new(env!("CARGO_BIN_EXE_jitgate"))
        .args(["audit", "verify", "--checkpoints", &a.checkpoint_file().display().to_string()])
        .env("JITGATE_SERVER", a.base())
        .env("JITGATE_TOKEN", a.admin_token())
        .env("JITGATE_AUDIT_CHECKPOINT_KEY", checkpoint_key(&a.secret))
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && text.contains("audit log OK"), "{text}");
}

#[tokio::test]
async fn killing_the_master_of_a_principals_slot_fails_closed_and_recovers() {
    let mut cluster = RedisCluster::start().await;
    let (a, b) = pair(&cluster).await;
    let (user, slot) = user_away_from_audit(&cluster);
    let subject = format!("user:{user}");
    let token = a.token(&user, &[]);
    create(&a, &subject, "/live/**", None).await;
    let revoked = create(&a, &subject, "/revoked/**", None).await;
    a.revoke(&revoked).await;
    for j in [&a, &b] {
        assert!(eventually(Duration::from_secs(3), j, &token, "/live/1", Verdict::Allow).await);
        assert!(
            eventually(Duration::from_secs(3), j, &token, "/revoked/1", Verdict::Deny(403)).await
        );
    }

    let must_deny = Prober::start(replicas(&[&a, &b]), token.clone(), "/revoked/1");
    let live = Prober::start(replicas(&[&a, &b]), token.clone(), "/live/1");
    let promoted = cluster.kill_master_of(slot).await;
    // Writes to the slot work again (through either replica), and the grant is served.
    let started = Instant::now();
    let write_ok = common::wait_until(Duration::from_secs(20), || async {
        let body = json!({"subject": subject, "resources": [{"service": "orders", "methods": ["GET"], "paths": ["/after/**"]}], "ttl": "5m", "reason": "x"});
        a.call("POST", "/v1/grants", Some(&a.admin_token()), Some(body)).await.0 == 201
    })
    .await;
    assert!(write_ok, "writes to the failed-over slot never recovered; log:\n{}", a.log());
    let writes_after = promoted + started.elapsed();
    for j in [&a, &b] {
        assert!(eventually(Duration::from_secs(5), j, &token, "/after/1", Verdict::Allow).await);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let bad = must_deny.stop().await;
    let live = live.stop().await;
    eprintln!(
        "cluster failover: replica promoted and cluster_state:ok {promoted:?} after kill -9 of the master; writes to the slot OK after {writes_after:?}"
    );
    eprintln!("cluster failover: revoked grant probe {bad:?}");
    eprintln!("cluster failover: live grant probe {live:?}");
    assert_eq!(bad.allows, 0, "a revoked grant was allowed during the failover");
    assert!(bad.checks > 50 && live.checks > 50, "the probes ran");
}

#[tokio::test]
async fn a_revocation_the_failover_lost_is_reasserted_from_the_audit_record() {
    let mut cluster = RedisCluster::start().await;
    let (mut a, b) = pair(&cluster).await;
    let (user, slot) = user_away_from_audit(&cluster);
    let subject = format!("user:{user}");
    let token = a.token(&user, &[]);
    let id = create(&a, &subject, "/orders/**", None).await;
    assert!(eventually(Duration::from_secs(3), &b, &token, "/orders/1", Verdict::Allow).await);

    // Cut the replica off before the revoke, so only the master (about to die) has it.
    let master = cluster.master_of(slot);
    let replica = cluster.replica_of(&master.id);
    common::signal(cluster.node_mut(replica.port).pid(), "STOP");
    cli(master.port, &["CLIENT", "KILL", "TYPE", "replica"]).expect("CLIENT KILL");
    a.revoke(&id).await;
    let window = Prober::start(replicas(&[&b]), token.clone(), "/orders/1");
    let started = Instant::now();
    cluster.node_mut(master.port).kill();
    common::signal(cluster.node_mut(replica.port).pid(), "CONT");
    // Only b is left, and it never revoked anything itself: the audit stream (on another
    // master) is the only record of the revocation.
    a.stop();
    let ok = cluster.wait_healthy(Duration::from_secs(30)).await;
    assert!(ok, "the replica never took over");
    let promoted = started.elapsed();
    let lost_and_reasserted = common::wait_until(Duration::from_secs(15), || async {
        b.log().contains("Revocation lost by Redis re-asserted")
    })
    .await;
    assert!(lost_and_reasserted, "no lost revocation was re-asserted; log:\n{}", b.log());
    let reasserted = started.elapsed();
    let denied =
        eventually(Duration::from_secs(5), &b, &token, "/orders/1", Verdict::Deny(403)).await;
    assert!(denied, "the re-asserted revocation is not enforced; log:\n{}", b.log());
    let window = window.stop().await;
    eprintln!(
        "cluster lost write: replica promoted after {promoted:?}; the revocation it lost re-asserted after {reasserted:?}"
    );
    eprintln!("cluster lost write: lost-revocation grant probe {window:?}");
}
