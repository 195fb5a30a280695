//! Two jitgate replicas sharing one Redis: a revoke through one is enforced by the other within
//! the staleness bound, with pub/sub working and with it cut (epoch polling alone).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::jitgate::check_request;
use common::{Jitgate, RedisServer};

/// The configured bound (default 1 s) plus slack for a loaded test machine.
const BOUND_WITH_SLACK: Duration = Duration::from_millis(1500);

async fn allowed(j: &Jitgate, token: &str) -> bool {
    let auth = format!("Bearer {token}");
    let resp =
        j.check(check_request("GET", "/orders/7", "orders", &[("authorization", &auth)])).await;
    resp.status.map(|s| s.code) == Some(0)
}

/// Revokes through `a` and returns how long `b` kept allowing.
async fn revocation_delay(a: &Jitgate, b: &Jitgate) -> Duration {
    let alice = a.token("alice", &[]);
    let id = a.grant("user:alice", "orders", &["GET"], &["/orders/**"], "15m").await;
    let seen =
        common::wait_until(Duration::from_secs(3), || async { allowed(b, &alice).await }).await;
    assert!(seen, "replica b never saw the new grant");
    // Warm b's cache (confirmed hits, no Redis reads), then revoke through a.
    let warm = common::wait_until(Duration::from_secs(3), || async {
        allowed(b, &alice).await && cache_hits(b).await > 0
    })
    .await;
    assert!(warm, "replica b never served the grant from its cache");
    let started = Instant::now();
    a.revoke(&id).await;
    while allowed(b, &alice).await {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "replica b still allows 5 s after the revoke"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    started.elapsed()
}

async fn cache_hits(j: &Jitgate) -> u64 {
    let text = reqwest::get(format!("{}/metrics", j.base())).await.unwrap().text().await.unwrap();
    text.lines()
        .find(|l| l.starts_with("jitgate_grant_cache_lookups_total{result=\"hit\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn revoke_through_one_replica_is_enforced_by_the_other() {
    let redis = RedisServer::start().await;
    let a = Jitgate::start(&redis.url()).await;
    let b = Jitgate::replica_of(&a, &redis.url(), &[]).await;
    let delay = revocation_delay(&a, &b).await;
    eprintln!("revocation seen by the other replica after {delay:?}");
    assert!(delay < BOUND_WITH_SLACK, "revocation took {delay:?}");
}

#[tokio::test]
async fn revoke_is_enforced_within_the_bound_with_pubsub_cut() {
    let redis = RedisServer::start().await;
    let a = Jitgate::start(&redis.url()).await;
    let b = Jitgate::replica_of(&a, &redis.url(), &[("JITGATE_CACHE_PUBSUB", "false")]).await;
    let delay = revocation_delay(&a, &b).await;
    eprintln!("revocation seen without pub/sub after {delay:?}");
    assert!(delay < BOUND_WITH_SLACK, "revocation without pub/sub took {delay:?}");
}
