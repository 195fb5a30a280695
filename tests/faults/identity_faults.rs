//! The JWKS issuer misbehaving (rows 39, 40): down, slow, 500, garbage, a 10 MB body, then down
//! past the stale limit; key rotation and removal. jitgate fetches from a loopback issuer the
//! test controls, through a fault proxy (for "down").

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

use crate::common::fault_proxy::{FaultProxy, Mode};
use crate::common::jitgate::URL_ISSUER;
use crate::common::{Jitgate, RedisServer, fixture};
use crate::drive::{Direct, Row, Tally, ms, recovery, report, size};

#[derive(Clone, Debug, PartialEq)]
enum Serve {
    Keys(String),
    Error500,
    Garbage,
    Huge,
    Slow,
}

#[derive(Clone)]
struct Idp {
    serve: Arc<Mutex<Serve>>,
    fetches: Arc<AtomicUsize>,
}

async fn jwks(State(idp): State<Idp>) -> (StatusCode, String) {
    idp.fetches.fetch_add(1, Ordering::SeqCst);
    let serve = idp.serve.lock().unwrap().clone();
    match serve {
        Serve::Keys(body) => (StatusCode::OK, body),
        Serve::Error500 => (StatusCode::INTERNAL_SERVER_ERROR, "down".into()),
        Serve::Garbage => (StatusCode::OK, "<html>\u{0}garbage{{{".into()),
        Serve::Huge => (StatusCode::OK, format!("{{\"keys\": [\"{}\"]}}", "x".repeat(10 << 20))),
        Serve::Slow => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            (StatusCode::OK, "{\"keys\": []}".into())
        }
    }
}

fn keys(name: &str) -> String {
    std::fs::read_to_string(fixture(&format!("keys/{name}"))).unwrap()
}

/// A fresh token (unique `jti`, so never a token-cache hit) from the URL issuer.
fn token(kid: &str, pem: &str, sub: &str) -> String {
    let key =
        EncodingKey::from_ec_pem(&std::fs::read(fixture(&format!("keys/{pem}"))).unwrap()).unwrap();
    let now = jsonwebtoken::get_current_timestamp();
    let claims = json!({"iss": URL_ISSUER, "aud": "jitgate", "sub": sub, "iat": now, "exp": now + 600, "jti": uuid::Uuid::new_v4().to_string()});
    let mut h = Header::new(Algorithm::ES256);
    h.kid = Some(kid.into());
    jsonwebtoken::encode(&h, &claims, &key).unwrap()
}

const REFRESH: Duration = Duration::from_millis(300);
const TOLERANCE: Duration = Duration::from_millis(250);

#[tokio::test]
async fn jwks_issuer_down_slow_broken_and_rotating() {
    let idp = Idp {
        serve: Arc::new(Mutex::new(Serve::Keys(keys("jwks.json")))),
        fetches: Arc::default(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let idp_port = listener.local_addr().unwrap().port();
    let app =
        axum::Router::new().route("/jwks.json", axum::routing::get(jwks)).with_state(idp.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let proxy = FaultProxy::start(idp_port).await;
    let stale = Duration::from_millis(size(2000, 4000) as u64);
    let redis = RedisServer::start().await;
    let env = [
        ("JITGATE_IDENTITY_JWKS_REFRESH_INTERVAL", format!("{}ms", REFRESH.as_millis())),
        ("JITGATE_IDENTITY_JWKS_MIN_REFETCH_INTERVAL", "300ms".into()),
        ("JITGATE_IDENTITY_JWKS_STALE_LIMIT", format!("{}ms", stale.as_millis())),
        ("JITGATE_IDENTITY_JWKS_TIMEOUT", "1s".into()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let url = format!("http://127.0.0.1:{}/jwks.json", proxy.port);
    let j = Jitgate::start_with_jwks_url(&redis.url(), &url, &env, None).await;
    let d = Direct::to(&j).await;
    j.grant("user:idp-url/dora", "orders", &["GET"], &["/orders/**"], "15m").await;
    let reused = token("ec-1", "ec-test-key.pem", "dora");
    assert!(d.check(&reused, "/orders/1").await.allowed, "{}", j.log());
    let set = |s: Serve| *idp.serve.lock().unwrap() = s;
    let fetched_ok = || async {
        let n = idp.fetches.load(Ordering::SeqCst);
        let ok = crate::common::wait_until(Duration::from_secs(5), || async {
            idp.fetches.load(Ordering::SeqCst) > n + 1
        })
        .await;
        assert!(ok, "the issuer is not polled");
    };

    // Short faults (each under the stale limit): the last good keys keep working.
    let window = Duration::from_millis(size(800, 1500) as u64);
    let mut kept = Tally::default();
    let mut slowest = Duration::ZERO;
    for (name, serve) in [
        ("500", Serve::Error500),
        ("garbage", Serve::Garbage),
        ("10 MB", Serve::Huge),
        ("slow", Serve::Slow),
        ("down", Serve::Keys(String::new())),
    ] {
        fetched_ok().await;
        if name == "down" {
            proxy.set(Mode::Reset);
        } else {
            set(serve);
        }
        let t0 = Instant::now();
        while t0.elapsed() < window {
            let a = d.check(&token("ec-1", "ec-test-key.pem", "dora"), "/orders/1").await;
            kept.record(&a, true);
            assert!(a.allowed, "{name}: the last good keys must be kept: {a:?}");
            slowest = slowest.max(a.took);
            let m = d.check(&token("ec-1", "ec-test-key.pem", "mallory"), "/orders/1").await;
            kept.record(&m, false);
        }
        proxy.set(Mode::Pass);
        set(Serve::Keys(keys("jwks.json")));
    }
    report(Row {
        row: "39",
        fault: "JWKS issuer 500 / garbage / 10 MB / slow / down (< stale limit)",
        tally: &kept,
        recovery: None,
        note: format!("last good keys kept for {} each; slowest Check {}", ms(window), ms(slowest)),
    });
    assert_eq!(kept.unexpected_allows, 0);

    // Down past the stale limit: every token is refused, cached or not.
    fetched_ok().await;
    proxy.set(Mode::Reset);
    let t0 = Instant::now();
    let mut tally = Tally::default();
    let mut last = None;
    while t0.elapsed() < stale + Duration::from_millis(800) {
        for t in [reused.clone(), token("ec-1", "ec-test-key.pem", "dora")] {
            let a = d.check(&t, "/orders/1").await;
            tally.record(&a, a.sent < t0 + stale + TOLERANCE);
            if a.allowed {
                last = Some(a.sent - t0);
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    proxy.set(Mode::Pass);
    let t1 = Instant::now();
    let back = recovery(t1, Duration::from_secs(10), || {
        let t = token("ec-1", "ec-test-key.pem", "dora");
        let d = d.clone();
        async move { d.check(&t, "/orders/1").await }
    })
    .await;
    report(Row {
        row: "39",
        fault: "JWKS issuer down past the stale limit",
        tally: &tally,
        recovery: back,
        note: format!(
            "stale limit {}; last allow {} after the outage began; {}",
            ms(stale),
            last.map_or("none".into(), ms),
            tally.reasons()
        ),
    });
    assert_eq!(tally.unexpected_allows, 0, "{}", j.log());
    assert!(back.is_some());

    // Rotation: ec-1 removed, ec-2 added.
    assert!(d.check(&reused, "/orders/1").await.allowed);
    let before = idp.fetches.load(Ordering::SeqCst);
    set(Serve::Keys(keys("jwks-rotated.json")));
    let t0 = Instant::now();
    let new_kid = recovery(t0, Duration::from_secs(5), || {
        let t = token("ec-2", "ec-test-key-2.pem", "dora");
        let d = d.clone();
        async move { d.check(&t, "/orders/1").await }
    })
    .await;
    let fetches = idp.fetches.load(Ordering::SeqCst) - before;
    let mut tally = Tally::default();
    let mut last = None;
    while t0.elapsed() < REFRESH * 3 + Duration::from_millis(500) {
        for t in [reused.clone(), token("ec-1", "ec-test-key.pem", "dora")] {
            let a = d.check(&t, "/orders/1").await;
            tally.record(&a, a.sent < t0 + REFRESH + TOLERANCE);
            if a.allowed {
                last = Some(a.sent - t0);
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    report(Row {
        row: "40",
        fault: "JWKS key rotation / removed kid",
        tally: &tally,
        recovery: new_kid,
        note: format!(
            "new kid accepted after {fetches} fetch(es); removed kid last allowed {} after rotation (refresh every {})",
            last.map_or("never".into(), ms),
            ms(REFRESH)
        ),
    });
    assert!(new_kid.is_some());
    assert_eq!(tally.unexpected_allows, 0);
}
