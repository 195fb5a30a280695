//! JWKS over HTTP from a real (loopback) issuer: keys load, rotate on an unknown `kid` with at
//! most one refetch per interval however many tokens ask, survive the issuer going down, and
//! stop being served past the stale limit.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use jitgate::grant::Naming;
use jitgate::identity::{
    Authenticator, Issuer, IssuerRules, JwksLocation, JwksSettings, JwksSource, KeySource,
    TokenCacheSettings, TokenError, TokenRules,
};
use jitgate::time::{Clock, SystemClock};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

const JWKS: &str = include_str!("fixtures/keys/jwks.json");
const ROTATED: &str = include_str!("fixtures/keys/jwks-rotated.json");
const EC_KEY: &[u8] = include_bytes!("fixtures/keys/ec-test-key.pem");
const EC2_KEY: &[u8] = include_bytes!("fixtures/keys/ec-test-key-2.pem");

/// A loopback identity provider whose JWKS body and availability the test controls.
#[derive(Clone, Default)]
struct Idp {
    body: Arc<Mutex<String>>,
    down: Arc<AtomicBool>,
    fetches: Arc<AtomicUsize>,
}

async fn serve_jwks(State(idp): State<Idp>) -> (StatusCode, String) {
    idp.fetches.fetch_add(1, Ordering::SeqCst);
    if idp.down.load(Ordering::SeqCst) {
        return (StatusCode::INTERNAL_SERVER_ERROR, "down".into());
    }
    (StatusCode::OK, idp.body.lock().unwrap().clone())
}

async fn start_idp(body: &str) -> (Idp, String) {
    let idp = Idp::default();
    *idp.body.lock().unwrap() = body.to_string();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    let app = axum::Router::new()
        .route("/jwks.json", axum::routing::get(serve_jwks))
        .with_state(idp.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (idp, url)
}

fn source(url: &str, min_refetch: Duration, stale: Duration) -> Arc<JwksSource> {
    let settings = JwksSettings {
        min_refetch_interval: min_refetch,
        stale_limit: stale,
        fetch_timeout: Duration::from_secs(2),
        max_bytes: 64 * 1024,
        pinned: vec![],
    };
    Arc::new(JwksSource::new(JwksLocation::Url(url.into()), settings).unwrap())
}

fn auth(keys: Arc<JwksSource>) -> Authenticator {
    let issuer = Issuer {
        rules: IssuerRules {
            issuer: "https://idp.test".into(),
            audiences: vec!["jitgate".into()],
            algorithms: vec![],
            naming: Naming::Default,
        },
        keys,
    };
    let rules = TokenRules {
        leeway: Duration::from_secs(5),
        max_lifetime: Duration::from_secs(3600),
        groups_claim: "groups".into(),
    };
    Authenticator::new(
        vec![issuer],
        rules,
        TokenCacheSettings { max_entries: 1000, ttl: Duration::from_secs(60) },
    )
}

fn token(kid: &str, key: &[u8], sub: &str) -> String {
    let now = jsonwebtoken::get_current_timestamp();
    let claims = json!({"iss": "https://idp.test", "aud": "jitgate", "sub": sub, "iat": now, "exp": now + 600});
    let mut h = Header::new(Algorithm::ES256);
    h.kid = Some(kid.into());
    jsonwebtoken::encode(&h, &claims, &EncodingKey::from_ec_pem(key).unwrap()).unwrap()
}

#[tokio::test]
async fn rotation_is_picked_up_with_one_refetch_for_a_flood_of_unknown_kids() {
    let (idp, url) = start_idp(JWKS).await;
    let keys = source(&url, Duration::from_secs(30), Duration::from_secs(3600));
    keys.load().await.unwrap();
    let a = auth(keys.clone());
    let now = SystemClock.now();
    assert!(a.verify(&token("ec-1", EC_KEY, "alice"), now).await.is_ok());
    assert_eq!(idp.fetches.load(Ordering::SeqCst), 1);

    // The issuer rotates to ec-2. The first token with the new kid triggers one refetch.
    *idp.body.lock().unwrap() = ROTATED.to_string();
    assert!(
        a.verify(&token("ec-2", EC2_KEY, "alice"), now).await.is_ok(),
        "new kid accepted after one refetch"
    );
    assert_eq!(idp.fetches.load(Ordering::SeqCst), 2);

    // A flood of tokens naming unknown kids: no further fetch within the interval.
    let flood: Vec<_> = (0..200)
        .map(|i| {
            let a = &a;
            let t = token(&format!("attacker-{i}"), EC_KEY, "mallory");
            async move { a.verify(&t, now).await }
        })
        .collect();
    for r in futures_util::future::join_all(flood).await {
        assert_eq!(r.unwrap_err(), TokenError::UnknownKey);
    }
    assert_eq!(idp.fetches.load(Ordering::SeqCst), 2, "unknown kids must not hammer the issuer");

    // The scheduled refresh right after counts against the same limit: no third fetch.
    assert!(keys.refresh().await, "a skipped refresh is not a failure");
    assert_eq!(idp.fetches.load(Ordering::SeqCst), 2, "at most one fetch per refetch interval");
}

#[tokio::test]
async fn a_scheduled_refresh_fetches_once_the_refetch_interval_has_passed() {
    let (idp, url) = start_idp(JWKS).await;
    let keys = source(&url, Duration::from_millis(300), Duration::from_secs(3600));
    keys.load().await.unwrap();
    assert!(keys.refresh().await);
    assert!(keys.refresh().await);
    assert_eq!(idp.fetches.load(Ordering::SeqCst), 2, "the second refresh, 0 ms later, is skipped");
    tokio::time::sleep(Duration::from_millis(350)).await;
    *idp.body.lock().unwrap() = ROTATED.to_string();
    assert!(keys.refresh().await);
    assert_eq!(idp.fetches.load(Ordering::SeqCst), 3);
    assert!(keys.keys().has_kid("ec-2"), "the refreshed keys are in use");
}

#[tokio::test]
async fn removed_keys_stop_verifying_after_a_refresh() {
    let (idp, url) = start_idp(JWKS).await;
    let keys = source(&url, Duration::from_secs(30), Duration::from_secs(3600));
    keys.load().await.unwrap();
    *idp.body.lock().unwrap() = ROTATED.to_string();
    assert!(keys.refresh().await);
    // A fresh authenticator (no cached verification) refuses the removed key.
    let err =
        auth(keys).verify(&token("ec-1", EC_KEY, "alice"), SystemClock.now()).await.unwrap_err();
    assert_eq!(err, TokenError::UnknownKey);
}

#[tokio::test]
async fn the_last_good_keys_survive_an_outage_until_the_stale_limit() {
    let (idp, url) = start_idp(JWKS).await;
    let keys = source(&url, Duration::from_millis(1), Duration::from_millis(600));
    keys.load().await.unwrap();
    idp.down.store(true, Ordering::SeqCst);
    assert!(!keys.refresh().await, "a failing issuer is reported");
    let a = auth(keys.clone());
    assert!(
        a.verify(&token("ec-1", EC_KEY, "alice"), SystemClock.now()).await.is_ok(),
        "last good keys kept"
    );
    tokio::time::sleep(Duration::from_millis(700)).await;
    let err = auth(keys.clone())
        .verify(&token("ec-1", EC_KEY, "bob"), SystemClock.now())
        .await
        .unwrap_err();
    assert_eq!(err, TokenError::KeysUnavailable, "past the stale limit no key is served");
    idp.down.store(false, Ordering::SeqCst);
    assert!(keys.refresh().await);
    assert!(auth(keys).verify(&token("ec-1", EC_KEY, "bob"), SystemClock.now()).await.is_ok());
}

#[tokio::test]
async fn garbage_and_oversized_documents_are_refused_and_keep_the_old_keys() {
    let (idp, url) = start_idp(JWKS).await;
    let keys = source(&url, Duration::from_millis(1), Duration::from_secs(3600));
    keys.load().await.unwrap();
    for bad in ["<html>oops</html>".to_string(), "{\"keys\": []}".into(), "x".repeat(100 * 1024)] {
        *idp.body.lock().unwrap() = bad;
        assert!(keys.load().await.is_err());
        assert!(!keys.keys().is_empty(), "the previous keys stay in place");
    }
}

#[tokio::test]
async fn a_cached_token_stops_verifying_once_its_key_is_removed_or_stale() {
    let (idp, url) = start_idp(JWKS).await;
    // No refetch limit: this test stands in for refreshes minutes apart.
    let keys = source(&url, Duration::ZERO, Duration::from_millis(600));
    keys.load().await.unwrap();
    let a = auth(keys.clone());
    let t = token("ec-1", EC_KEY, "alice");
    assert!(a.verify(&t, SystemClock.now()).await.is_ok(), "verified once, now cached");
    // The issuer drops ec-1: the cached verification of a token signed with it is not trusted.
    *idp.body.lock().unwrap() = ROTATED.to_string();
    assert!(keys.refresh().await);
    assert_eq!(a.verify(&t, SystemClock.now()).await.unwrap_err(), TokenError::UnknownKey);
    // Back, then stale while the issuer is down: cached tokens stop with the keys.
    *idp.body.lock().unwrap() = JWKS.to_string();
    assert!(keys.refresh().await);
    assert!(a.verify(&t, SystemClock.now()).await.is_ok());
    idp.down.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(a.verify(&t, SystemClock.now()).await.unwrap_err(), TokenError::KeysUnavailable);
}
