//! SECURITY row 63 (issue 16, item 2): one caller cannot fill jitgate for everybody. Against a
//! real redis-server and a real jitgate: pending requests are bounded per requester and per
//! policy (429, nothing written, others unaffected), a grant or request holds a bounded number
//! of resources and paths (400), bodies are bounded per endpoint (413), and denied Checks file
//! a bounded number of one-time requests per caller per minute.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::jitgate::check_request;
use common::{Jitgate, RedisServer};
use serde_json::{Value, json};

const LIMITS: [(&str, &str); 3] = [
    ("JITGATE_REQUESTS_MAX_PENDING_PER_REQUESTER", "3"),
    ("JITGATE_REQUESTS_MAX_PENDING_PER_POLICY", "5"),
    ("JITGATE_REQUESTS_ONE_TIME_PER_MINUTE", "3"),
];

async fn started() -> (RedisServer, Jitgate) {
    let redis = RedisServer::start().await;
    let j = Jitgate::start_with(&redis.url(), &LIMITS, true).await;
    let doc = json!({"apiVersion": "jitgate.dev/v1alpha1", "kind": "AccessPolicy",
        "metadata": {"name": "billing"},
        "spec": {
            "resources": [{"service": "billing", "methods": ["GET", "DELETE"], "paths": ["/**"]}],
            "requesters": ["group:eng"], "approvers": ["group:leads"], "max_ttl": "1h",
            "one_time_actions": [{"service": "billing", "methods": ["DELETE"], "paths": ["/datasets/*"]}],
            "file_one_time_requests": true}});
    let (s, v) = j.call("PUT", "/v1/policies/billing", Some(&j.admin_token()), Some(doc)).await;
    assert_eq!(s, 201, "{v}");
    (redis, j)
}

fn ask(paths: &[String]) -> Value {
    json!({"resources": [{"service": "billing", "methods": ["GET"], "paths": paths}], "ttl": "10m", "reason": "INC-1"})
}

async fn file(j: &Jitgate, who: &str, path: &str) -> (u16, Value) {
    let token = j.token(who, &["eng"]);
    j.call("POST", "/v1/requests", Some(&token), Some(ask(&[path.to_string()]))).await
}

async fn pending_count(j: &Jitgate) -> usize {
    let (s, v) = j.call("GET", "/v1/requests?status=pending", Some(&j.admin_token()), None).await;
    assert_eq!(s, 200, "{v}");
    v["requests"].as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn pending_requests_are_bounded_per_requester_and_per_policy() {
    let (_redis, j) = started().await;
    let mut alices = Vec::new();
    for i in 0..3 {
        let (s, v) = file(&j, "alice", &format!("/a/{i}")).await;
        assert_eq!(s, 201, "{v}");
        alices.push(v["id"].as_str().unwrap().to_string());
    }
    let (s, v) = file(&j, "alice", "/a/3").await;
    assert_eq!(s, 429, "{v}");
    assert_eq!(v["error"], "too_many_requests", "{v}");
    let message = v["message"].as_str().unwrap();
    assert!(message.contains("requests.max_pending_per_requester"), "{message}");
    assert!(message.contains("user:alice already has 3"), "{message}");
    assert_eq!(pending_count(&j).await, 3, "nothing was written for the refused request");

    // Another requester is not affected; the policy's budget (5) is shared.
    for i in 0..2 {
        let (s, v) = file(&j, "bob", &format!("/b/{i}")).await;
        assert_eq!(s, 201, "{v}");
    }
    let (s, v) = file(&j, "carol", "/c/0").await;
    assert_eq!(s, 429, "{v}");
    assert!(v["message"].as_str().unwrap().contains("policy `billing` already has 5"), "{v}");

    // A decision frees the budget at once.
    let alice = j.token("alice", &["eng"]);
    let (s, v) =
        j.call("POST", &format!("/v1/requests/{}/cancel", alices[0]), Some(&alice), None).await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = file(&j, "alice", "/a/4").await;
    assert_eq!(s, 201, "after a cancel: {v}");
    let lead = j.token("lee", &["leads"]);
    let (s, v) =
        j.call("POST", &format!("/v1/requests/{}/deny", alices[1]), Some(&lead), None).await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = file(&j, "carol", "/c/1").await;
    assert_eq!(s, 201, "after a denial: {v}");
    assert_eq!(pending_count(&j).await, 5);
}

#[tokio::test]
async fn grants_and_requests_hold_bounded_resources_and_bodies() {
    let (_redis, j) = started().await;
    let alice = j.token("alice", &["eng"]);
    let paths: Vec<String> = (0..65).map(|i| format!("/p/{i}")).collect();
    let (s, v) = j.call("POST", "/v1/requests", Some(&alice), Some(ask(&paths))).await;
    assert_eq!(s, 400, "{v}");
    assert!(v.to_string().contains("at most 64 path patterns per resource (got 65)"), "{v}");
    let one = json!({"service": "billing", "methods": ["GET"], "paths": ["/x"]});
    let body =
        json!({"subject": "user:alice", "resources": vec![one; 33], "ttl": "10m", "reason": "r"});
    let (s, v) = j.call("POST", "/v1/grants", Some(&j.admin_token()), Some(body)).await;
    assert_eq!(s, 400, "{v}");
    assert!(v.to_string().contains("at most 32 resources per grant or request (got 33)"), "{v}");
    // 64 paths is within the budget.
    let (s, v) = j.call("POST", "/v1/requests", Some(&alice), Some(ask(&paths[..64]))).await;
    assert_eq!(s, 201, "{v}");
    // A body past the endpoint's limit: 413, as JSON, naming the limit.
    let long: Vec<String> = (0..60).map(|i| format!("/{i}/{}", "x".repeat(1100))).collect();
    let (s, v) = j.call("POST", "/v1/requests", Some(&alice), Some(ask(&long))).await;
    assert_eq!(s, 413, "{v}");
    assert!(v["message"].as_str().unwrap().contains("65536 bytes"), "{v}");
    let (s, v) = j.call("GET", "/v1/grants", Some(&j.admin_token()), None).await;
    assert_eq!((s, v["grants"].as_array().map(Vec::len)), (200, Some(0)), "{v}");
}

#[tokio::test]
async fn denied_checks_file_a_bounded_number_of_one_time_requests() {
    let (_redis, j) = started().await;
    let bearer = format!("Bearer {}", j.token("mallory", &["eng"]));
    for i in 0..10 {
        let path = format!("/datasets/d{i}");
        let req = check_request("DELETE", &path, "billing", &[("authorization", bearer.as_str())]);
        let resp = j.check(req).await;
        assert_ne!(resp.status.map(|s| s.code), Some(0), "{path} must be denied");
    }
    let mallory = j.token("mallory", &["eng"]);
    let (s, v) = j.call("GET", "/v1/requests?mine=true", Some(&mallory), None).await;
    assert_eq!(s, 200, "{v}");
    let filed = v["requests"].as_array().map_or(0, Vec::len);
    // 3 per minute; a run that crosses a minute boundary may see two minutes' worth.
    assert!((3..=6).contains(&filed), "filed {filed} one-time requests: {v}");
    // Another caller still gets its request filed.
    let bearer = format!("Bearer {}", j.token("alice", &["eng"]));
    let req =
        check_request("DELETE", "/datasets/x", "billing", &[("authorization", bearer.as_str())]);
    j.check(req).await;
    let alice = j.token("alice", &["eng"]);
    let (_, v) = j.call("GET", "/v1/requests?mine=true", Some(&alice), None).await;
    assert_eq!(v["requests"].as_array().map_or(0, Vec::len), 1, "{v}");
}

/// How many `request_get` store operations jitgate has run so far.
async fn request_reads(j: &Jitgate) -> u64 {
    let text = reqwest::get(format!("{}/metrics", j.base())).await.unwrap().text().await.unwrap();
    let series = "jitgate_store_op_duration_seconds_count{op=\"request_get\"} ";
    text.lines().find_map(|l| l.strip_prefix(series)).map_or(0, |n| n.trim().parse().unwrap())
}

#[tokio::test]
async fn an_approvers_queue_costs_what_it_holds_not_what_the_store_holds() {
    let (_redis, j) = started().await;
    let doc = json!({"apiVersion": "jitgate.dev/v1alpha1", "kind": "AccessPolicy",
        "metadata": {"name": "orders"},
        "spec": {
            "resources": [{"service": "orders", "methods": ["GET"], "paths": ["/**"]}],
            "requesters": ["group:eng"], "approvers": ["group:sre"], "max_ttl": "1h"}});
    let (s, v) = j.call("PUT", "/v1/policies/orders", Some(&j.admin_token()), Some(doc)).await;
    assert_eq!(s, 201, "{v}");
    // Five requests under `billing` (the policy's budget), one under `orders`.
    for (who, path) in [("u1", "/1"), ("u2", "/2"), ("u3", "/3"), ("u1", "/4"), ("u2", "/5")] {
        let (s, v) = file(&j, who, path).await;
        assert_eq!(s, 201, "{v}");
    }
    let token = j.token("olga", &["eng"]);
    let body = json!({"resources": [{"service": "orders", "methods": ["GET"], "paths": ["/o"]}], "ttl": "10m", "reason": "INC-2"});
    let (s, v) = j.call("POST", "/v1/requests", Some(&token), Some(body)).await;
    assert_eq!(s, 201, "{v}");
    let sre = j.token("sam", &["sre"]);
    let before = request_reads(&j).await;
    let (s, v) = j.call("GET", "/v1/requests?status=pending", Some(&sre), None).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["requests"].as_array().map(Vec::len), Some(1), "{v}");
    let reads = request_reads(&j).await - before;
    assert_eq!(reads, 1, "the queue read only the one request it shows, not all six");
    // A requester's own list reads only their own.
    let before = request_reads(&j).await;
    let (_, v) = j.call("GET", "/v1/requests?status=pending&mine=true", Some(&token), None).await;
    assert_eq!(v["requests"].as_array().map(Vec::len), Some(1), "{v}");
    assert_eq!(request_reads(&j).await - before, 1);
}
