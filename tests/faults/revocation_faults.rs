//! Revocation under faults (rows 30, 32, 55): pub/sub stalled or cut between Redis and a replica
//! (the change-counter poll still bounds revocation), with the pub/sub-working baseline; revokes
//! racing the other replica's cache fill; a revoke whose answer is lost right after its write.

use std::time::{Duration, Instant};

use futures_util::StreamExt;

use crate::common::fault_proxy::{FaultProxy, Mode};
use crate::common::{Jitgate, RedisServer};
use crate::drive::{Direct, Probe, Row, Tally, after, ms, recovery, report, run, size};
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

/// Row 55: the connection of the replica serving the API is cut right after Redis ran the
/// revoke, before anything else on it (the change counter bump and the notification, when
/// those came after the write): the API answers an error, yet both replicas stop allowing
/// within the bound, and a retry (409, already revoked) announces the revocation again.
#[tokio::test]
async fn revoke_whose_announcement_is_cut_off_still_stops_every_replica() {
    let redis = RedisServer::start().await;
    let proxy = FaultProxy::start(redis.port).await;
    // `a` serves the API through the proxy; `b` reads Redis directly.
    let a = Jitgate::start(&proxy.url()).await;
    let b = Jitgate::replica_of(&a, &redis.url(), &[]).await;
    let (da, db) = (Direct::to(&a).await, Direct::to(&b).await);
    let admin = a.admin_token();
    // A first revoke loads the script, so the cut one is a single EVALSHA.
    let warm = a.grant("user:warm", "orders", &["GET"], &["/orders/**"], "15m").await;
    a.revoke(&warm).await;
    let mut tally = Tally::default();
    for i in 0..size(3, 20) {
        let sub = format!("cut{i}");
        let id = a.grant(&format!("user:{sub}"), "orders", &["GET"], &["/orders/**"], "15m").await;
        let token = a.token(&sub, &[]);
        for d in [&da, &db] {
            let ok =
                recovery(Instant::now(), Duration::from_secs(10), || d.check(&token, "/orders/7"));
            assert!(ok.await.is_some(), "{sub} never allowed");
            assert!(d.check(&token, "/orders/7").await.allowed, "{sub}: not cached");
        }
        let marker = format!("cut-{}", uuid::Uuid::new_v4().simple());
        proxy.cut_after(marker.as_bytes());
        let revoke = format!("/v1/grants/{id}?reason={marker}");
        let (status, reply) = a.call("DELETE", &revoke, Some(&admin), None).await;
        let answered = Instant::now();
        assert!(!proxy.cut_pending(), "the revoke never reached Redis");
        assert!(status >= 500, "the cut revoke must fail, got {status} {reply}");
        let (_, seen) = a.call("GET", &format!("/v1/grants/{id}"), Some(&admin), None).await;
        assert_eq!(seen["status"], "revoked", "the write landed before the cut: {seen}");

        let until = Some(answered + BOUND + TOLERANCE);
        let probes = [Probe::new(&da, &token, until), Probe::new(&db, &token, until)];
        let last = run(&probes, BOUND + Duration::from_millis(500), &mut tally).await;
        eprintln!("{sub}: last allow {} after the failed revoke", after(answered, &last));
        assert!(!da.check(&token, "/orders/7").await.allowed, "{sub}: a still allows");
        assert!(!db.check(&token, "/orders/7").await.allowed, "{sub}: b still allows");

        // The retry finds it revoked, and announces it again.
        let mut changes = subscribe(&redis).await;
        let before = epoch(&redis).await;
        let (status, reply) = a.call("DELETE", &revoke, Some(&admin), None).await;
        assert_eq!(status, 409, "{reply}");
        let principal = format!("\"user:{sub}\"");
        let heard = tokio::time::timeout(BOUND, async {
            while let Some(msg) = changes.next().await {
                let text: String = msg.get_payload().unwrap();
                if text.contains(&principal) && text.contains("\"revoke\"") {
                    return text;
                }
            }
            String::new()
        })
        .await;
        assert!(heard.is_ok_and(|t| !t.is_empty()), "{sub}: the retry announced nothing");
        assert!(epoch(&redis).await > before, "{sub}: the retry left the change counter");
    }
    let note = format!(
        "{} revokes whose answer was cut off after the write; {}",
        size(3, 20),
        tally.reasons()
    );
    report(Row {
        row: "55",
        fault: "revoke answer lost after the write",
        tally: &tally,
        recovery: None,
        note,
    });
    assert_eq!(tally.unexpected_allows, 0);
}

async fn subscribe(redis: &RedisServer) -> impl futures_util::Stream<Item = redis::Msg> {
    let client = redis::Client::open(redis.url()).unwrap();
    let mut pubsub = client.get_async_pubsub().await.unwrap();
    pubsub.subscribe("jitgate:changes").await.unwrap();
    pubsub.into_on_message()
}

async fn epoch(redis: &RedisServer) -> u64 {
    let mut c = redis.client().await;
    let v: Option<u64> = redis::cmd("GET").arg("jitgate:epoch").query_async(&mut c).await.unwrap();
    v.unwrap_or(0)
}
