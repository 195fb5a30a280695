//! SECURITY row 53: a flood of anonymous and garbage-token Checks with long paths, against a real
//! redis-server and a real jitgate. What an unidentified caller leaves in Redis is bounded per
//! call (a cut path and its digest, folded into counted records), the counts add up to every
//! call made, the chain still verifies, and identified callers keep one record per decision.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::jitgate::{check_request, checkpoint_key};
use common::{Jitgate, RedisServer, used_memory, wait_until};
use envoy_types::pb::envoy::service::auth::v3::authorization_client::AuthorizationClient;
use serde_json::Value;
use sha2::{Digest, Sha256};

const LOG: &str = "jitgate:{audit}:log";
/// Calls sharing one long path (a scanner hammering one URL), half without a token and half
/// with garbage for one.
const SAME_PATH_CALLS: usize = 400;
/// Calls whose long paths all differ (the spread that must not buy one record each).
const DISTINCT_PATH_CALLS: usize = 200;
const CALLS: usize = SAME_PATH_CALLS + DISTINCT_PATH_CALLS;
/// The most Redis may grow per anonymous call, on average (the issue measured ~7 KB before).
const MAX_BYTES_PER_CALL: u64 = 256;
/// `audit.anonymous.path_bytes` and `audit.path_max_bytes` at their defaults.
const ANONYMOUS_PATH_BYTES: usize = 256;
const PATH_MAX_BYTES: usize = 2048;

fn long_path(tag: &str) -> String {
    let mut p = format!("/orders/{tag}/");
    while p.len() < 6 * 1024 {
        p.push_str("segment-");
    }
    p
}

fn sha256_hex(s: &str) -> String {
    Sha256::digest(s.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// The audit stream's size as Redis accounts it (every entry, not a sample).
async fn stream_bytes(c: &mut redis::aio::MultiplexedConnection) -> u64 {
    let n: Option<u64> = redis::cmd("MEMORY")
        .arg("USAGE")
        .arg(LOG)
        .arg("SAMPLES")
        .arg(0)
        .query_async(c)
        .await
        .unwrap();
    n.unwrap_or(0)
}

/// Every `decision.deny` event, oldest first.
async fn denies(j: &Jitgate) -> Vec<Value> {
    let path = "/v1/audit?order=asc&limit=10000&kind=decision.deny";
    let (status, body) = j.call("GET", path, Some(&j.admin_token()), None).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["next"].is_null(), "a single page was expected");
    body["entries"].as_array().unwrap().iter().map(|e| e["event"].clone()).collect()
}

/// How many calls the unattributed records stand for (a record without `count` is one call).
fn unattributed_calls(events: &[Value]) -> u64 {
    events
        .iter()
        .filter(|e| e["subject"].is_null())
        .map(|e| e["details"]["count"].as_u64().unwrap_or(1))
        .sum()
}

async fn flood(j: &Jitgate, same: &str) {
    let client =
        AuthorizationClient::connect(format!("http://127.0.0.1:{}", j.grpc)).await.unwrap();
    let calls = (0..CALLS).map(|i| {
        let mut client = client.clone();
        let path = if i < SAME_PATH_CALLS { same.to_string() } else { long_path(&i.to_string()) };
        async move {
            let auth = "Bearer not.a.token".to_string();
            let headers: Vec<(&str, &str)> =
                if i % 2 == 0 { vec![] } else { vec![("authorization", &auth)] };
            let resp = client.check(check_request("GET", &path, "orders", &headers)).await.unwrap();
            assert_eq!(resp.into_inner().status.unwrap().code, 16, "401 for call {i}");
        }
    });
    // Bounded concurrency: 16 calls in flight.
    let mut calls = calls.collect::<Vec<_>>();
    while !calls.is_empty() {
        let rest = calls.split_off(calls.len().min(16));
        futures_util::future::join_all(std::mem::replace(&mut calls, rest)).await;
    }
}

#[tokio::test]
async fn an_anonymous_flood_with_long_paths_costs_redis_a_bounded_few_bytes_per_call() {
    let redis = RedisServer::start().await;
    // One window spans the whole flood, as it would in production (the harness default is
    // 200 ms, so other tests see unidentified denies quickly).
    let j =
        Jitgate::start_with(&redis.url(), &[("JITGATE_AUDIT_ANONYMOUS_WINDOW", "5s")], true).await;
    let mut c = redis.client().await;
    let (stream_before, used_before) = (stream_bytes(&mut c).await, used_memory(&mut c).await);
    let same = long_path("scan");
    flood(&j, &same).await;

    let all_counted = wait_until(Duration::from_secs(20), || async {
        unattributed_calls(&denies(&j).await) >= CALLS as u64
    })
    .await;
    let events = denies(&j).await;
    assert!(all_counted, "{} of {CALLS} calls recorded", unattributed_calls(&events));
    assert_eq!(unattributed_calls(&events), CALLS as u64, "every call counted exactly once");

    let stream_growth = stream_bytes(&mut c).await - stream_before;
    let used_growth = used_memory(&mut c).await.saturating_sub(used_before);
    let per_call = stream_growth / CALLS as u64;
    eprintln!(
        "{CALLS} anonymous calls: {} audit records, audit stream +{stream_growth} B ({per_call} B/call), used_memory +{used_growth} B ({} B/call)",
        events.len(),
        used_growth / CALLS as u64
    );
    assert!(per_call <= MAX_BYTES_PER_CALL, "the audit stream grew {per_call} B per call");
    assert!(
        used_growth / CALLS as u64 <= 2 * MAX_BYTES_PER_CALL,
        "Redis grew {used_growth} B for {CALLS} calls"
    );

    // The repeated path is kept as its first bytes plus the digest of the whole.
    let digest = sha256_hex(&same);
    let scans: Vec<&Value> = events.iter().filter(|e| e["path_sha256"] == digest).collect();
    assert!(!scans.is_empty(), "no record carries the digest of the repeated path");
    for e in &scans {
        let path = e["path"].as_str().unwrap();
        assert!(path.len() <= ANONYMOUS_PATH_BYTES && same.starts_with(path), "{e}");
        assert_eq!(e["path_bytes"].as_u64(), Some(same.len() as u64));
        assert!(e["decision_id"].is_string() && e["details"]["last_decision_id"].is_string());
    }
    let scanned: u64 = scans.iter().map(|e| e["details"]["count"].as_u64().unwrap()).sum();
    assert_eq!(scanned, SAME_PATH_CALLS as u64, "{scans:?}");
    for e in &events {
        assert!(e.to_string().len() < 1024, "an unattributed record of {} bytes", e);
    }

    let metrics =
        reqwest::get(format!("{}/metrics", j.base())).await.unwrap().text().await.unwrap();
    let folded: f64 = metrics
        .lines()
        .filter(|l| l.starts_with("jitgate_audit_folded_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert_eq!(folded as usize, CALLS, "{metrics}");

    verify_chain(&j, &redis).await;
}

/// Identified callers stay one record per decision; only a path over `audit.path_max_bytes`
/// is cut (with its digest).
#[tokio::test]
async fn identified_callers_keep_one_record_per_decision() {
    let redis = RedisServer::start().await;
    let j = Jitgate::start(&redis.url()).await;
    let auth = format!("Bearer {}", j.token("alice", &[]));
    let long = long_path("alice");
    let short = "/orders/1";
    for path in [long.as_str(), long.as_str(), short] {
        let resp = j.check(check_request("GET", path, "orders", &[("authorization", &auth)])).await;
        assert_eq!(resp.status.unwrap().code, 7, "403 no_grant");
    }
    let recorded = wait_until(Duration::from_secs(5), || async {
        denies(&j).await.iter().filter(|e| e["subject"] == "user:alice").count() == 3
    })
    .await;
    assert!(recorded, "{:?}", denies(&j).await);
    let events: Vec<Value> =
        denies(&j).await.into_iter().filter(|e| e["subject"] == "user:alice").collect();
    let ids: std::collections::BTreeSet<&str> =
        events.iter().map(|e| e["decision_id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 3, "one record per decision, each under its own id");
    for e in &events[..2] {
        let path = e["path"].as_str().unwrap();
        assert_eq!(path.len(), PATH_MAX_BYTES);
        assert!(long.starts_with(path));
        assert_eq!(e["path_sha256"].as_str(), Some(sha256_hex(&long).as_str()));
        assert_eq!(e["path_bytes"].as_u64(), Some(long.len() as u64));
        assert!(e["details"]["count"].is_null(), "{e}");
    }
    assert_eq!(events[2]["path"], short);
    assert!(events[2]["path_sha256"].is_null(), "a short path is kept whole, without a digest");
    verify_chain(&j, &redis).await;
}

async fn verify_chain(j: &Jitgate, redis: &RedisServer) {
    let url = redis.url();
    let out = j
        .cli_command(&["audit", "verify", "--redis-url", &url])
        .env("JITGATE_AUDIT_CHECKPOINT_KEY", checkpoint_key(&j.secret))
        .output()
        .unwrap();
    let text =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{text}");
}
