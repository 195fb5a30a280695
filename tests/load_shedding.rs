//! SECURITY.md row 42: a flood of unique tokens is shed, not queued without bound. With one
//! verification thread and room for four waiting signature checks, hundreds of distinct tokens
//! at once must come back as `overloaded` denies (gRPC `RESOURCE_EXHAUSTED`, HTTP 503 with
//! `retry-after` through Envoy), none as an allow, while a caller whose token is already
//! verified keeps getting its answer (a cached token never waits for the pool).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::jitgate::{check_request, jwks_token};
use common::{Envoy, Jitgate, RedisServer, Upstream};
use envoy_types::pb::envoy::service::auth::v3::CheckResponse;
use envoy_types::pb::envoy::service::auth::v3::authorization_client::AuthorizationClient;
use envoy_types::pb::envoy::service::auth::v3::check_response::HttpResponse;
use futures_util::StreamExt;
use jsonwebtoken::Algorithm;

const RESOURCE_EXHAUSTED: i32 = 8;
const UNAVAILABLE: i32 = 14;
const UNAUTHENTICATED: i32 = 16;

/// A token that looks valid (trusted issuer, known `kid`, live claims) but whose signature is
/// random: jitgate can only refuse it by checking the signature.
fn flood_token(i: usize) -> String {
    let signed = jwks_token(Algorithm::ES256, "ec-1", "ec-test-key.pem", &format!("flood-{i}"));
    let (unsigned, _) = signed.rsplit_once('.').unwrap();
    let sig: Vec<u8> = (0..64).map(|_| rand_byte()).collect();
    format!("{unsigned}.{}", URL_SAFE_NO_PAD.encode(sig))
}

fn rand_byte() -> u8 {
    uuid::Uuid::new_v4().as_bytes()[0]
}

fn reason(r: &CheckResponse) -> String {
    match &r.http_response {
        Some(HttpResponse::DeniedResponse(d)) => {
            let body: serde_json::Value = serde_json::from_str(&d.body).unwrap_or_default();
            body["reason"].as_str().unwrap_or_default().to_string()
        }
        _ => "allow".into(),
    }
}

async fn metric(j: &Jitgate, needle: &[&str]) -> u64 {
    let text = reqwest::get(format!("{}/metrics", j.base())).await.unwrap().text().await.unwrap();
    text.lines()
        .find(|l| l.starts_with("jitgate_decisions_total{") && needle.iter().all(|n| l.contains(n)))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// GETs through Envoy until `stop`, counting answers that are not 200.
async fn legitimate(envoy: &Envoy, token: &str, stop: Arc<AtomicBool>) -> (u64, u64) {
    let client = reqwest::Client::new();
    let (mut ok, mut other) = (0, 0);
    while !stop.load(Ordering::SeqCst) {
        let resp = client.get(envoy.url("/orders/7")).bearer_auth(token).send().await.unwrap();
        if resp.status() == 200 { ok += 1 } else { other += 1 }
    }
    (ok, other)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flood_of_unique_tokens_is_shed_and_cached_callers_keep_their_answers() {
    let redis = RedisServer::start().await;
    let overrides =
        [("JITGATE_IDENTITY_VERIFY_THREADS", "1"), ("JITGATE_IDENTITY_VERIFY_QUEUE", "4")];
    let j = Jitgate::start_with(&redis.url(), &overrides, true).await;
    let upstream = Upstream::start().await;
    let envoy = Arc::new(Envoy::start(j.grpc, upstream.port).await);
    j.grant("user:idp/alice", "orders", &["GET"], &["/orders/**"], "15m").await;
    let alice = jwks_token(Algorithm::ES256, "ec-1", "ec-test-key.pem", "alice");
    let first = reqwest::Client::new().get(envoy.url("/orders/7")).bearer_auth(&alice);
    assert_eq!(first.send().await.unwrap().status(), 200, "alice's token verified once");

    let stop = Arc::new(AtomicBool::new(false));
    let legit = tokio::spawn({
        let (envoy, alice, stop) = (envoy.clone(), alice.clone(), stop.clone());
        async move { legitimate(&envoy, &alice, stop).await }
    });

    // 2,000 distinct tokens straight at jitgate, 256 in flight on one HTTP/2 connection.
    let channel = tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{}", j.grpc))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let (shed, refused) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let answers: Vec<(i32, String)> = futures_util::stream::iter(0..2000)
        .map(|i| {
            let mut client = AuthorizationClient::new(channel.clone());
            let auth = format!("Bearer {}", flood_token(i));
            async move {
                let req = check_request("GET", "/orders/7", "orders", &[("authorization", &auth)]);
                let r =
                    client.check(req).await.expect("a Check is never a gRPC error").into_inner();
                (r.status.as_ref().map_or(-1, |s| s.code), reason(&r))
            }
        })
        .buffer_unordered(256)
        .collect()
        .await;
    for (code, why) in &answers {
        match (*code, why.as_str()) {
            (RESOURCE_EXHAUSTED, "overloaded") => shed.fetch_add(1, Ordering::Relaxed),
            (UNAUTHENTICATED, "token_invalid") => refused.fetch_add(1, Ordering::Relaxed),
            // On a loaded machine a queued check can outlive its Check: still a deny.
            (UNAVAILABLE, "deadline_exceeded") => 0,
            other => panic!("a flood token got {other:?}: only a shed or a refusal is right"),
        };
    }
    let (shed, refused) = (shed.load(Ordering::Relaxed), refused.load(Ordering::Relaxed));
    assert!(shed > 0, "nothing was shed with 256 in flight and room for 4: {refused} refused");
    assert!(refused > 0, "nothing was verified at all: the pool must keep working while shedding");

    // Through Envoy: a shed Check is a 503 with `retry-after`, and the upstream sees none.
    let client = reqwest::Client::new();
    let statuses: Vec<(u16, bool, String)> = futures_util::stream::iter(2000..2600)
        .map(|i| {
            let req = client.get(envoy.url("/orders/7")).bearer_auth(flood_token(i));
            async move {
                let resp = req.send().await.expect("through envoy");
                let status = resp.status().as_u16();
                let retry = resp.headers().get("retry-after").is_some();
                let body: serde_json::Value = resp.json().await.unwrap_or_default();
                (status, retry, body["reason"].as_str().unwrap_or_default().to_string())
            }
        })
        .buffer_unordered(128)
        .collect()
        .await;
    stop.store(true, Ordering::SeqCst);
    let (ok, other) = legit.await.unwrap();
    for (status, retry, why) in &statuses {
        match (*status, why.as_str()) {
            (503, "overloaded") => assert!(retry, "a shed answer tells the client when to retry"),
            (401, "token_invalid") | (503, "deadline_exceeded") => {}
            other => panic!("a flood token through Envoy got {other:?}"),
        }
    }
    let shed_via_envoy = statuses.iter().filter(|(_, _, why)| why == "overloaded").count();
    assert!(shed_via_envoy > 0, "no 503 overloaded through Envoy out of {}", statuses.len());
    let hits = upstream.hits() as u64;
    assert_eq!(hits, 1 + ok, "the upstream saw {hits} requests; only 1 + {ok} were allowed");

    // The caller whose token was cached never waited for the pool, so never got shed.
    assert!(ok > 0, "no legitimate request completed during the flood");
    assert_eq!(other, 0, "{other} of {} legitimate requests were not allowed", ok + other);

    // The queue is exported, and empty again once the flood is over (as the next Check sees it).
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let again = reqwest::Client::new().get(envoy.url("/orders/7")).bearer_auth(&alice);
    assert_eq!(again.send().await.unwrap().status(), 200);
    let text = reqwest::get(format!("{}/metrics", j.base())).await.unwrap().text().await.unwrap();
    assert!(
        text.lines().any(|l| l == "jitgate_verify_queue_depth 0"),
        "queue depth not 0 or missing"
    );

    // Every shed answer is counted under its reason.
    let counted = metric(&j, &["decision=\"deny\"", "reason=\"overloaded\""]).await;
    assert_eq!(
        counted,
        shed + shed_via_envoy as u64,
        "jitgate_decisions_total{{reason=overloaded}}"
    );
    // Shed Checks are summarised in the log (a line a second), not logged one by one.
    let log = j.log();
    assert!(log.contains("Shedding load"), "no shedding summary in the log");
    let each = log.lines().filter(|l| l.contains("Request denied") && l.contains("overloaded"));
    assert_eq!(each.count(), 0, "shed Checks were logged one by one");
    println!(
        "straight: {shed} shed, {refused} refused; through Envoy: {shed_via_envoy} of {} shed; legitimate: {ok} allowed, {other} not",
        statuses.len()
    );
}
