//! jitgate through Redis Sentinel (a master, a replica, 3 Sentinels on loopback): two
//! replicas share state through the Sentinel-found master; the master is killed right after
//! acknowledging a revocation its replica never received; Checks fail closed meanwhile, jitgate
//! follows the Sentinels to the promoted replica without restart, and re-asserts the lost
//! revocation.
//!
//! `cargo nextest run --test redis_sentinel --no-capture` prints the failover figures.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use serde_json::json;

use common::Jitgate;
use common::cluster::cli;
use common::failover::{Prober, Verdict, check, replicas};
use common::sentinel::{MASTER_NAME, SentinelSetup};

async fn pair(s: &SentinelSetup) -> (Jitgate, Jitgate) {
    let sentinels = s.sentinels();
    let env = [
        ("JITGATE_REDIS_MODE", "sentinel"),
        ("JITGATE_REDIS_SENTINELS", sentinels.as_str()),
        ("JITGATE_REDIS_MASTER_NAME", MASTER_NAME),
        ("JITGATE_REDIS_REASSERT_INTERVAL", "500ms"),
    ];
    let a = Jitgate::start_with(&s.master.url(), &env, true).await;
    let b = Jitgate::replica_of(&a, &s.master.url(), &env).await;
    (a, b)
}

async fn create(j: &Jitgate, path: &str) -> String {
    let body = json!({"subject": "user:alice", "resources": [{"service": "orders", "methods": ["GET"], "paths": [path]}],
        "ttl": "15m", "reason": "sentinel test"});
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
async fn sentinel_failover_fails_closed_recovers_and_reasserts_a_lost_revocation() {
    let mut s = SentinelSetup::start().await;
    let (a, b) = pair(&s).await;
    let alice = a.token("alice", &[]);

    // Two replicas share state through the master the Sentinels name.
    let revoked = create(&a, "/revoked/**").await;
    let lost = create(&a, "/orders/**").await;
    assert!(eventually(Duration::from_secs(3), &b, &alice, "/orders/1", Verdict::Allow).await);
    a.revoke(&revoked).await;
    assert!(eventually(Duration::from_secs(3), &b, &alice, "/revoked/1", Verdict::Deny(403)).await);

    // The replica misses the next revocation; the master acknowledges it and dies.
    let must_deny = Prober::start(replicas(&[&a, &b]), alice.clone(), "/revoked/1");
    s.replica.pause();
    cli(s.master.port, &["CLIENT", "KILL", "TYPE", "replica"]).expect("CLIENT KILL");
    a.revoke(&lost).await;
    let window = Prober::start(replicas(&[&a, &b]), alice.clone(), "/orders/1");
    let started = Instant::now();
    s.master.kill();
    s.replica.resume();

    let promoted = s.wait_promoted(started, Duration::from_secs(30)).await;
    let promoted = promoted.expect("the Sentinels never promoted the replica");
    let lost_and_reasserted = common::wait_until(Duration::from_secs(15), || async {
        a.log().contains("Revocation lost by Redis re-asserted")
    })
    .await;
    assert!(lost_and_reasserted, "no lost revocation was re-asserted; log:\n{}", a.log());
    let reasserted = started.elapsed();
    let denied =
        eventually(Duration::from_secs(5), &b, &alice, "/orders/1", Verdict::Deny(403)).await;
    assert!(denied, "the re-asserted revocation is not enforced; log:\n{}", b.log());

    // Writes work again through either replica, without a restart.
    let writes = common::wait_until(Duration::from_secs(15), || async {
        let body = json!({"subject": "user:alice", "resources": [{"service": "orders", "methods": ["GET"], "paths": ["/after/**"]}], "ttl": "5m", "reason": "x"});
        b.call("POST", "/v1/grants", Some(&b.admin_token()), Some(body)).await.0 == 201
    })
    .await;
    assert!(writes, "writes never recovered; log:\n{}", b.log());
    let writes_after = started.elapsed();
    assert!(eventually(Duration::from_secs(5), &a, &alice, "/after/1", Verdict::Allow).await);

    let bad = must_deny.stop().await;
    let window = window.stop().await;
    eprintln!(
        "sentinel failover: kill -9 of the master → replica promoted after {promoted:?}; lost revocation re-asserted and denied after {reasserted:?}; writes OK after {writes_after:?}"
    );
    eprintln!("sentinel failover: revoked-before grant probe {bad:?}");
    eprintln!("sentinel failover: lost-revocation grant probe {window:?}");
    assert_eq!(bad.allows, 0, "a revoked grant was allowed during the failover");
    assert!(bad.checks > 20, "the probe ran");
}
