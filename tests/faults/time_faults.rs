//! Time and atomicity (rows 34–36): expiry decided by jitgate's own clock at the edge, with
//! Redis's active expiry switched off (lazy expiry only), measured against the real clock over
//! many grants; one-time grants raced across two replicas.

use std::time::{Duration, Instant, SystemTime};

use envoy_types::pb::envoy::service::auth::v3::authorization_client::AuthorizationClient;
use jitgate::time::Timestamp;
use serde_json::json;

use crate::common::jitgate::check_request;
use crate::common::{Jitgate, RedisServer};
use crate::drive::{Answer, Direct, Row, Tally, ms, report, size};

/// Promise 4: no allow after `expires_at` + 50 ms by jitgate's clock.
const EXPIRY_MARGIN: Duration = Duration::from_millis(50);

/// The `Instant` at which the wall-clock time `t` is reached (this host's clock is jitgate's).
fn instant_of(t: Timestamp) -> Instant {
    let now = Timestamp::from_system(SystemTime::now());
    let ahead = t.as_millis() - now.as_millis();
    if ahead >= 0 {
        Instant::now() + Duration::from_millis(ahead as u64)
    } else {
        Instant::now() - Duration::from_millis(ahead.unsigned_abs())
    }
}

#[tokio::test]
async fn expiry_edges_hold_with_lazy_redis_expiry() {
    let redis = RedisServer::start_with(&["--enable-debug-command", "yes"]).await;
    let mut c = redis.client().await;
    let _: () =
        redis::cmd("DEBUG").arg(&["SET-ACTIVE-EXPIRE", "0"]).query_async(&mut c).await.unwrap();
    let j = Jitgate::start(&redis.url()).await;
    let d = Direct::to(&j).await;
    let n = size(100, 1000);
    // Expiries spread over a window so a few grants are at their edge at any moment.
    let (base, spread) = if n > 100 { (8_000, 20) } else { (2_000, 20) };
    let mut grants = Vec::new();
    for i in 0..n {
        let sub = format!("exp{i}");
        let ttl = format!("{}ms", base + i * spread);
        let body = json!({"subject": format!("user:{sub}"), "resources": [{"service": "orders", "methods": ["GET"], "paths": ["/orders/**"]}], "ttl": ttl, "reason": "expiry"});
        let (status, g) = j.call("POST", "/v1/grants", Some(&j.admin_token()), Some(body)).await;
        assert_eq!(status, 201, "{g}");
        let expires = Timestamp::parse_rfc3339(g["expires_at"].as_str().unwrap()).unwrap();
        grants.push((j.token(&sub, &[]), instant_of(expires)));
    }
    let edges = grants.iter().map(|(token, expires)| {
        let d = d.clone();
        async move {
            // Warm the cache shortly before the edge (not all at once), then probe every 5 ms
            // across it.
            tokio::time::sleep_until((*expires - Duration::from_millis(400)).into()).await;
            let warm = d.check(token, "/orders/1").await;
            tokio::time::sleep_until((*expires - Duration::from_millis(40)).into()).await;
            let mut answers: Vec<Answer> = vec![warm];
            while Instant::now() < *expires + Duration::from_millis(150) {
                answers.push(d.check(token, "/orders/1").await);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            (*expires, answers)
        }
    });
    let mut tally = Tally::default();
    let (mut worst, mut first_deny_worst) = (Duration::ZERO, Duration::ZERO);
    let mut early = 0;
    let mut early_reasons = std::collections::BTreeMap::<String, usize>::new();
    for (expires, answers) in futures_util::future::join_all(edges).await {
        for a in &answers {
            tally.record(a, a.sent <= expires + EXPIRY_MARGIN);
            if a.allowed && a.sent > expires {
                worst = worst.max(a.sent - expires);
            }
            // A deny answered before expiry (the edge itself is blurred by 1 ms rounding).
            if !a.allowed && a.sent + a.took + Duration::from_millis(2) < expires {
                early += 1;
                *early_reasons.entry(a.reason.clone()).or_insert(0) += 1;
            }
        }
        if let Some(first) = answers.iter().find(|a| !a.allowed && a.sent + a.took >= expires) {
            first_deny_worst = first_deny_worst.max((first.sent + first.took) - expires);
        }
    }
    let note = format!(
        "{n} grants, active expiry off; latest allow sent {} after expires_at; first deny ≤ {} after it; {early} denies before it {early_reasons:?}; {}",
        ms(worst),
        ms(first_deny_worst),
        tally.reasons()
    );
    report(Row {
        row: "35",
        fault: "grant expiry edge, Redis lazy expiry",
        tally: &tally,
        recovery: None,
        note,
    });
    assert_eq!(tally.unexpected_allows, 0);
    crate::redis_faults::no_grant_key_without_ttl(&redis).await;
}

async fn check_delete(addr: String, auth: String, path: String) -> bool {
    let req = check_request("DELETE", &path, "billing", &[("authorization", &auth)]);
    let Ok(mut c) = AuthorizationClient::connect(addr).await else { return false };
    c.check(req).await.is_ok_and(|r| r.into_inner().status.map(|s| s.code) == Some(0))
}

#[tokio::test]
async fn one_time_grants_allow_exactly_once_across_two_replicas() {
    let redis = RedisServer::start().await;
    let a = Jitgate::start(&redis.url()).await;
    let b = Jitgate::replica_of(&a, &redis.url(), &[]).await;
    let auth = format!("Bearer {}", a.token("alice", &[]));
    let rounds = size(5, 50);
    let per_round = 20;
    let mut tally = Tally::default();
    for r in 0..rounds {
        let path = format!("/datasets/{r}");
        let body = json!({"subject": "user:alice", "resources": [{"service": "billing", "methods": ["DELETE"], "paths": [path]}], "ttl": "5m", "reason": "CHG-1", "max_uses": 1});
        let (status, g) = a.call("POST", "/v1/grants", Some(&a.admin_token()), Some(body)).await;
        assert_eq!(status, 201, "{g}");
        let racers = (0..per_round).map(|i| {
            let port = if i % 2 == 0 { a.grpc } else { b.grpc };
            tokio::spawn(check_delete(
                format!("http://127.0.0.1:{port}"),
                auth.clone(),
                path.clone(),
            ))
        });
        let allowed = futures_util::future::join_all(racers)
            .await
            .into_iter()
            .filter(|r| matches!(r, Ok(true)))
            .count();
        tally.checked += per_round;
        // One allow is expected; any more is a double spend.
        tally.unexpected_allows += allowed.saturating_sub(1);
        assert_eq!(allowed, 1, "round {r}: {allowed} allows");
    }
    let note = format!(
        "{rounds} races of {per_round} concurrent Checks split over two replicas, exactly one allow each"
    );
    report(Row {
        row: "36",
        fault: "one-time grant double spend",
        tally: &tally,
        recovery: None,
        note,
    });
}
