//! Revocation under faults (rows 30, 32): pub/sub stalled or cut between Redis and a replica (the
//! change-counter poll still bounds revocation), with the pub/sub-working baseline; revokes racing
//! the other replica's cache fill.

use std::time::{Duration, Instant};

use crate::common::RedisServer;
use crate::common::fault_proxy::Mode;
use crate::drive::{Row, Tally, ms, report, size};
use crate::redis_faults::{BOUND, TOLERANCE, granted, no_grant_key_without_ttl, pair};

/// Row 30: pub/sub stalled (subscriber looks alive) or cut: the poll still bounds revocation.
/// Also the revocation latency figures with pub/sub working.
#[tokio::test]
async fn revocation_with_pubsub_working_stalled_and_cut() {
    let p = pair(RedisServer::start().await).await;
    for (fault, how) in [("pub/sub working", 0), ("pub/sub stalled", 1), ("pub/sub cut", 2)] {
        let mut tally = Tally::default();
        let mut delays = Vec::new();
        for i in 0..size(8, 100) {
            let (id, token) = granted(&p, &format!("r{how}-{i}"), &[&p.db]).await;
            match how {
                1 => p.proxy.stall_subscribers(true),
                2 => p.proxy.cut_subscribers(),
                _ => {}
            }
            let started = Instant::now();
            p.a.revoke(&id).await;
            let acked = Instant::now();
            let limit = acked + BOUND + TOLERANCE;
            loop {
                let a = p.db.check(&token, "/orders/7").await;
                tally.record(&a, a.sent < limit);
                if !a.allowed {
                    delays.push(a.sent.saturating_duration_since(started));
                    break;
                }
                assert!(started.elapsed() < Duration::from_secs(5), "{fault}: still allowed");
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            p.proxy.stall_subscribers(false);
        }
        delays.sort();
        let pct = |q: f64| delays[((delays.len() - 1) as f64 * q).round() as usize];
        let note = format!(
            "{} revokes: p50 {}, p99 {}, max {} (bound {})",
            delays.len(),
            ms(pct(0.5)),
            ms(pct(0.99)),
            ms(pct(1.0)),
            ms(BOUND)
        );
        report(Row { row: "30", fault, tally: &tally, recovery: None, note });
        assert_eq!(tally.unexpected_allows, 0, "{fault}");
        assert!(pct(1.0) < BOUND + TOLERANCE, "{fault}: {delays:?}");
    }
}

/// Row 32: revokes land while the other replica is filling its cache (reads slowed by the
/// proxy): no revoked grant comes back.
#[tokio::test]
async fn revocation_during_cache_fill_is_never_resurrected() {
    let p = pair(RedisServer::start().await).await;
    p.proxy.set(Mode::Delay(Duration::from_millis(30)));
    let n = size(12, 60);
    let mut subjects = Vec::new();
    for i in 0..n {
        let sub = format!("fill{i}");
        let id =
            p.a.grant(&format!("user:{sub}"), "orders", &["GET"], &["/orders/**"], "15m").await;
        subjects.push((id, p.a.token(&sub, &[])));
    }
    let mut acks = Vec::new();
    let races = subjects.iter().enumerate().map(|(i, (id, token))| {
        let (db, a) = (p.db.clone(), &p.a);
        async move {
            // Start b's fill, then revoke through a while that read is in flight.
            let fill = tokio::spawn({
                let (db, token) = (db.clone(), token.clone());
                async move { db.check(&token, "/orders/7").await }
            });
            tokio::time::sleep(Duration::from_millis((i % 6) as u64 * 8)).await;
            a.revoke(id).await;
            let acked = Instant::now();
            let _ = fill.await;
            acked
        }
    });
    for acked in futures_util::future::join_all(races).await {
        acks.push(acked);
    }
    // Probe every principal on b for longer than the bound after its revoke.
    let mut tally = Tally::default();
    let mut last_allow = Duration::ZERO;
    let end = Instant::now() + BOUND + Duration::from_millis(size(500, 2000) as u64);
    while Instant::now() < end {
        for ((_, token), acked) in subjects.iter().zip(&acks) {
            let a = p.db.check(token, "/orders/7").await;
            tally.record(&a, a.sent < *acked + BOUND + TOLERANCE);
            if a.allowed {
                last_allow = last_allow.max(a.sent - *acked);
            }
        }
    }
    let note = format!("{n} revokes racing fills; latest allow {} after a revoke", ms(last_allow));
    report(Row {
        row: "32",
        fault: "revoke during cache fill",
        tally: &tally,
        recovery: None,
        note,
    });
    assert_eq!(tally.unexpected_allows, 0);
    no_grant_key_without_ttl(&p.redis).await;
}
