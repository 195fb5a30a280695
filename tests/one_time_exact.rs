//! A one-time approval covers exactly the call its approver saw, end to end through a real
//! Envoy and a real redis-server (SECURITY rows 51 and 58): an encoded `*` in the called path
//! stays a literal segment once the request is stored in Redis and read back, and the query
//! string is part of the call.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Envoy, Jitgate, RedisServer, Upstream, raw_http};
use serde_json::{Value, json};

struct Stack {
    _redis: RedisServer,
    jitgate: Jitgate,
    upstream: Upstream,
    envoy: Envoy,
}

/// jitgate with the `billing` policy: `DELETE /datasets/*` is a one-time action that jitgate
/// files requests for at call time; leads approve.
async fn stack() -> Stack {
    let redis = RedisServer::start().await;
    let jitgate = Jitgate::start(&redis.url()).await;
    let upstream = Upstream::start().await;
    let envoy = Envoy::start(jitgate.grpc, upstream.port).await;
    let doc = json!({"apiVersion": "jitgate.dev/v1alpha1", "kind": "AccessPolicy",
        "metadata": {"name": "billing"},
        "spec": {
            "resources": [{"service": "billing", "methods": ["DELETE"], "paths": ["/datasets/*"]},
                          {"service": "orders", "methods": ["GET"], "paths": ["/orders/*"]}],
            "requesters": ["group:eng"], "approvers": ["group:leads"], "max_ttl": "1h",
            "one_time_actions": [{"service": "billing", "methods": ["DELETE"], "paths": ["/datasets/*"]}],
            "file_one_time_requests": true}});
    let (status, body) =
        jitgate.call("PUT", "/v1/policies/billing", Some(&jitgate.admin_token()), Some(doc)).await;
    assert!(status == 201 || status == 200, "policy rejected: {body}");
    Stack { _redis: redis, jitgate, upstream, envoy }
}

/// The status and the whole answer of one call through Envoy.
async fn call(s: &Stack, method: &str, target: &str, token: &str) -> (u16, String) {
    let req = format!(
        "{method} {target} HTTP/1.1\r\nHost: billing\r\nConnection: close\r\nauthorization: Bearer {token}\r\ncontent-length: 0\r\n\r\n"
    );
    raw_http(s.envoy.port, req.as_bytes()).await
}

/// Calls `target`, expects `approval_required`, and has a lead approve the request jitgate
/// filed for it. Answers the request as stored and the approval's answer.
async fn file_and_approve(s: &Stack, target: &str, token: &str) -> (Value, Value) {
    let j = &s.jitgate;
    let (status, text) = call(s, "DELETE", target, token).await;
    assert!(status == 403 && text.contains("approval_required"), "{target}: {text}");
    let id = text
        .lines()
        .find_map(|l| l.strip_prefix("x-jitgate-request-id: "))
        .unwrap_or_else(|| panic!("{target}: no request filed: {text}"))
        .trim()
        .to_string();
    // Read back from Redis through the API, as the approver sees it.
    let (_, stored) =
        j.call("GET", &format!("/v1/requests/{id}"), Some(&j.admin_token()), None).await;
    let lead = j.token("bob", &["leads"]);
    let (status, approved) =
        j.call("POST", &format!("/v1/requests/{id}/approve"), Some(&lead), None).await;
    assert_eq!(status, 200, "{approved}");
    (stored, approved)
}

#[tokio::test]
async fn an_encoded_star_is_approved_as_one_literal_call_never_a_wildcard() {
    let s = stack().await;
    let alice = s.jitgate.token("alice", &["eng"]);
    for (target, shown) in
        [("/datasets/%2A", "/datasets/%2A"), ("/datasets/%2A%2A", "/datasets/%2A%2A")]
    {
        let (stored, approved) = file_and_approve(&s, target, &alice).await;
        assert_eq!(stored["resources"][0]["paths"], json!([shown]), "{stored}");
        assert_eq!(stored["resources"][0]["query"], "", "{stored}");
        assert_eq!(approved["grant"]["resources"][0]["paths"], json!([shown]));
        // Not another dataset, not deeper, not the wildcard.
        for other in ["/datasets/customers-prod", "/datasets/a", "/datasets/customers-prod/rows"] {
            let (status, text) = call(&s, "DELETE", other, &alice).await;
            assert_eq!(status, 403, "{target} approval let {other} through: {text}");
        }
        let before = s.upstream.hits();
        assert_eq!(call(&s, "DELETE", target, &alice).await.0, 200, "the approved call passes");
        assert_eq!(s.upstream.hits(), before + 1);
        assert_eq!(call(&s, "DELETE", target, &alice).await.0, 403, "once");
    }
}

#[tokio::test]
async fn a_one_time_approval_binds_the_query_string() {
    let s = stack().await;
    let alice = s.jitgate.token("alice", &["eng"]);
    let (stored, _) = file_and_approve(&s, "/datasets/q", &alice).await;
    assert_eq!(stored["resources"][0]["query"], "", "the approver sees 'no query': {stored}");
    for other in ["/datasets/q?purge=all&cascade=true", "/datasets/q?x", "/datasets/q?purge=all"] {
        let (status, text) = call(&s, "DELETE", other, &alice).await;
        assert_eq!(status, 403, "approval of /datasets/q let {other} through: {text}");
    }
    assert_eq!(call(&s, "DELETE", "/datasets/q", &alice).await.0, 200);

    // A call with a query is filed with it, shown to the approver, and only it passes.
    let (stored, approved) = file_and_approve(&s, "/datasets/r?dry_run=%74rue", &alice).await;
    assert_eq!(stored["resources"][0]["query"], "dry_run=true", "{stored}");
    assert_eq!(approved["grant"]["resources"][0]["query"], "dry_run=true");
    for other in ["/datasets/r", "/datasets/r?dry_run=false", "/datasets/r?dry_run=true&purge=1"] {
        assert_eq!(call(&s, "DELETE", other, &alice).await.0, 403, "{other}");
    }
    assert_eq!(call(&s, "DELETE", "/datasets/r?dry_run=true", &alice).await.0, 200);
}

#[tokio::test]
async fn the_request_hint_of_a_403_names_the_literal_path() {
    let s = stack().await;
    let carol = s.jitgate.token("carol", &["eng"]);
    let (status, text) = call(&s, "GET", "/orders/%2A?page=2", &carol).await;
    assert_eq!(status, 403, "{text}");
    let body: Value = serde_json::from_str(text.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    let hint = &body["request"]["body"]["resources"][0];
    assert_eq!(hint["paths"], json!(["/orders/%2A"]), "{body}");
    assert!(hint.get("query").is_none(), "a standing request covers any query: {hint}");
    // Filing the hint as is asks for exactly that literal path.
    let j = &s.jitgate;
    let mut ask = body["request"]["body"].clone();
    ask["reason"] = json!("looking at page two");
    let (status, r) = j.call("POST", "/v1/requests", Some(&carol), Some(ask)).await;
    assert_eq!(status, 201, "{r}");
    assert_eq!(r["resources"][0]["paths"], json!(["/orders/%2A"]));
}
