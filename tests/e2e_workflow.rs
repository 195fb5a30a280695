//! The JIT workflow end to end through a real Envoy and a real redis-server: requests and
//! approvals, auto-approval, expiry, one-time actions under concurrency, incidents, and
//! signed webhooks (with a dead receiver that must not slow anything down).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::jitgate::{hook_secret, incident_token};
use common::webhook::Receiver;
use common::{Envoy, Jitgate, RedisServer, Upstream, free_port, raw_get, raw_http};
use serde_json::{Value, json};

struct Stack {
    _redis: RedisServer,
    jitgate: Jitgate,
    _upstream: Upstream,
    envoy: Envoy,
}

async fn stack() -> Stack {
    let redis = RedisServer::start().await;
    let jitgate = Jitgate::start(&redis.url()).await;
    let upstream = Upstream::start().await;
    let envoy = Envoy::start(jitgate.grpc, upstream.port).await;
    Stack { _redis: redis, jitgate, _upstream: upstream, envoy }
}

fn policy(name: &str, extra: Value) -> Value {
    let mut spec = json!({
        "resources": [
            {"service": "orders", "methods": ["*"], "paths": ["/orders/**"]},
            {"service": "billing", "methods": ["DELETE"], "paths": ["/datasets/*"]},
        ],
        "requesters": ["group:eng", "group:oncall"],
        "approvers": ["group:leads"],
        "min_approvals": 1,
        "max_ttl": "1h",
        "pending_ttl": "15m",
        "reason": {"required": true, "pattern": "^INC-[0-9]+"},
        "auto_approve": [{"name": "oncall", "requesters": ["group:oncall"], "max_ttl": "1h", "incident": true}],
    });
    for (k, v) in extra.as_object().unwrap() {
        spec[k] = v.clone();
    }
    json!({"apiVersion": "jitgate.dev/v1alpha1", "kind": "AccessPolicy", "metadata": {"name": name}, "spec": spec})
}

async fn put_policy(j: &Jitgate, doc: Value) {
    let name = doc["metadata"]["name"].as_str().unwrap().to_string();
    let (status, body) =
        j.call("PUT", &format!("/v1/policies/{name}"), Some(&j.admin_token()), Some(doc)).await;
    assert!(status == 201 || status == 200, "policy rejected: {body}");
}

async fn request(j: &Jitgate, token: &str, body: Value) -> (u16, Value) {
    j.call("POST", "/v1/requests", Some(token), Some(body)).await
}

fn orders_request(ttl: &str) -> Value {
    json!({"resources": [{"service": "orders", "methods": ["GET"], "paths": ["/orders/**"]}], "ttl": ttl, "reason": "INC-4312 latency"})
}

async fn status_through_envoy(s: &Stack, method: &str, path: &str, token: &str) -> (u16, String) {
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nauthorization: Bearer {token}\r\ncontent-length: 0\r\n\r\n"
    );
    raw_http(s.envoy.port, req.as_bytes()).await
}

#[tokio::test]
async fn request_then_approve_then_use_then_expiry() {
    let s = stack().await;
    let j = &s.jitgate;
    put_policy(j, policy("orders", json!({}))).await;
    let alice = j.token("alice", &["eng"]);
    let (status, r) = request(j, &alice, orders_request("2s")).await;
    assert_eq!((status, r["status"].as_str()), (201, Some("pending")), "{r}");
    assert_eq!(r["current_approvers"], json!(["group:leads"]));
    assert!(r["expires_in_seconds"].as_u64().unwrap() > 800);
    let id = r["id"].as_str().unwrap();

    assert_eq!(status_through_envoy(&s, "GET", "/orders/7", &alice).await.0, 403, "still pending");
    // Never the requester, even one who is also a lead; and never a non-approver.
    let (status, e) =
        j.call("POST", &format!("/v1/requests/{id}/approve"), Some(&alice), None).await;
    assert_eq!(status, 403, "{e}");
    let (status, _) = j
        .call("POST", &format!("/v1/requests/{id}/approve"), Some(&j.token("eve", &["eng"])), None)
        .await;
    assert_eq!(status, 404, "someone who is neither requester nor approver cannot see it");
    let alice_lead = j.token("alice", &["eng", "leads"]);
    let (status, e) =
        j.call("POST", &format!("/v1/requests/{id}/approve"), Some(&alice_lead), None).await;
    assert_eq!(status, 403, "{e}");
    assert!(e["message"].as_str().unwrap().contains("may not approve it"), "{e}");

    let bob = j.token("bob", &["leads"]);
    let (status, r) = j
        .call(
            "POST",
            &format!("/v1/requests/{id}/approve"),
            Some(&bob),
            Some(json!({"comment": "go"})),
        )
        .await;
    assert_eq!((status, r["status"].as_str()), (200, Some("approved")), "{r}");
    assert_eq!(r["grant"]["approved_by"], json!(["user:bob"]));
    assert_eq!(status_through_envoy(&s, "GET", "/orders/7", &alice).await.0, 200);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (status, text) = status_through_envoy(&s, "GET", "/orders/7", &alice).await;
    // `grant_expired` while jitgate still holds the grant, `no_grant` once it has re-read
    // Redis, which dropped the key at expiry (README, deny reasons).
    let reason = ["grant_expired", "no_grant"].into_iter().find(|r| text.contains(r));
    assert!(status == 403 && reason.is_some(), "{text}");
    // A decided request cannot be approved again.
    let (status, _) = j
        .call(
            "POST",
            &format!("/v1/requests/{id}/approve"),
            Some(&j.token("carol", &["leads"])),
            None,
        )
        .await;
    assert_eq!(status, 409);
}

#[tokio::test]
async fn two_approver_policies_need_two_distinct_approvers() {
    let s = stack().await;
    let j = &s.jitgate;
    put_policy(j, policy("orders", json!({"min_approvals": 2}))).await;
    let alice = j.token("alice", &["eng"]);
    let (_, r) = request(j, &alice, orders_request("10m")).await;
    let id = r["id"].as_str().unwrap();
    let bob = j.token("bob", &["leads"]);
    let (_, r) = j.call("POST", &format!("/v1/requests/{id}/approve"), Some(&bob), None).await;
    assert_eq!(
        (r["status"].as_str(), r["approvals"].as_array().unwrap().len()),
        (Some("pending"), 1)
    );
    let (status, e) = j.call("POST", &format!("/v1/requests/{id}/approve"), Some(&bob), None).await;
    assert_eq!(status, 409, "the same approver counts once: {e}");
    assert_eq!(status_through_envoy(&s, "GET", "/orders/1", &alice).await.0, 403);
    let (_, r) = j
        .call(
            "POST",
            &format!("/v1/requests/{id}/approve"),
            Some(&j.token("carol", &["leads"])),
            None,
        )
        .await;
    assert_eq!(r["status"], "approved");
    assert_eq!(status_through_envoy(&s, "GET", "/orders/1", &alice).await.0, 200);
}

#[tokio::test]
async fn oncall_requests_during_an_incident_are_auto_approved() {
    let s = stack().await;
    let j = &s.jitgate;
    put_policy(j, policy("orders", json!({}))).await;
    let dave = j.token("dave", &["oncall"]);
    let mut body = orders_request("30m");
    body["incident"] = json!("INC-77");
    let (status, r) = request(j, &dave, body).await;
    assert_eq!((status, r["status"].as_str()), (201, Some("approved")), "{r}");
    assert_eq!(r["grant"]["auto_approved_by"], "orders/oncall");
    assert_eq!(status_through_envoy(&s, "GET", "/orders/1", &dave).await.0, 200);
}

#[tokio::test]
async fn pending_requests_expire_and_cannot_then_be_approved() {
    let s = stack().await;
    let j = &s.jitgate;
    put_policy(j, policy("orders", json!({"pending_ttl": "1s"}))).await;
    let alice = j.token("alice", &["eng"]);
    let (_, r) = request(j, &alice, orders_request("10m")).await;
    let id = r["id"].as_str().unwrap();
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let (_, r) = j.call("GET", &format!("/v1/requests/{id}"), Some(&alice), None).await;
    assert_eq!(r["status"], "expired");
    let (status, e) = j
        .call(
            "POST",
            &format!("/v1/requests/{id}/approve"),
            Some(&j.token("bob", &["leads"])),
            None,
        )
        .await;
    assert_eq!(status, 409, "{e}");
    assert!(e["message"].as_str().unwrap().contains("expired"));
}

#[tokio::test]
async fn a_one_time_action_is_filed_at_call_time_and_allowed_exactly_once() {
    let s = stack().await;
    let j = &s.jitgate;
    let extra = json!({
        "one_time_actions": [{"service": "billing", "methods": ["DELETE"], "paths": ["/datasets/*"]}],
        "file_one_time_requests": true,
    });
    put_policy(j, policy("billing", extra)).await;
    let alice = j.token("alice", &["eng"]);
    let (status, text) = status_through_envoy(&s, "DELETE", "/datasets/7", &alice).await;
    assert_eq!(status, 403, "{text}");
    assert!(text.contains("approval_required"), "{text}");
    let request_id = text
        .lines()
        .find_map(|l| l.strip_prefix("x-jitgate-request-id: "))
        .expect("the deny names the filed request")
        .trim()
        .to_string();
    // The body links to that request's page on the web page.
    let page = format!("\"ui\":\"{}/ui/#/requests/{request_id}\"", j.base());
    assert!(text.contains(&page), "{page} missing from {text}");
    // Retrying does not file a second request.
    let (_, again) = status_through_envoy(&s, "DELETE", "/datasets/7", &alice).await;
    assert!(again.contains(&request_id));
    let (_, r) = j
        .call(
            "POST",
            &format!("/v1/requests/{request_id}/approve"),
            Some(&j.token("bob", &["leads"])),
            None,
        )
        .await;
    assert_eq!(
        (r["grant"]["max_uses"].as_u64(), r["grant"]["resources"][0]["paths"][0].as_str()),
        (Some(1), Some("/datasets/7"))
    );
    // 50 concurrent retries: exactly one passes.
    let port = s.envoy.port;
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let req = format!("DELETE /datasets/7 HTTP/1.1\r\nHost: x\r\nConnection: close\r\nauthorization: Bearer {alice}\r\ncontent-length: 0\r\n\r\n");
            tokio::spawn(async move { raw_http(port, req.as_bytes()).await.0 })
        })
        .collect();
    let mut allowed = 0;
    for t in tasks {
        match t.await.unwrap() {
            200 => allowed += 1,
            403 => {}
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!(allowed, 1, "a one-time approval allows exactly one call");
    // A standing grant cannot stand in for the one-time approval.
    j.grant("user:alice", "billing", &["DELETE"], &["/datasets/**"], "10m").await;
    assert_eq!(status_through_envoy(&s, "DELETE", "/datasets/8", &alice).await.0, 403);
}

#[tokio::test]
async fn resolving_an_incident_revokes_all_its_grants() {
    let s = stack().await;
    let j = &s.jitgate;
    put_policy(j, policy("orders", json!({}))).await;
    let (dave, erin) = (j.token("dave", &["oncall"]), j.token("erin", &["oncall"]));
    for t in [&dave, &erin] {
        let mut body = orders_request("30m");
        body["incident"] = json!("INC-9");
        assert_eq!(request(j, t, body).await.1["status"], "approved");
        assert_eq!(status_through_envoy(&s, "GET", "/orders/1", t).await.0, 200);
    }
    // The incident tool authenticates with the shared token, not a JWT.
    let (status, e) =
        j.call("POST", "/v1/incidents/INC-9/resolve", Some("wrong-token"), None).await;
    assert_eq!(status, 401, "{e}");
    let (status, r) =
        j.call("POST", "/v1/incidents/INC-9/resolve", Some(&incident_token(&j.secret)), None).await;
    assert_eq!((status, r["count"].as_u64()), (200, Some(2)), "{r}");
    assert_eq!(r["resolved_by"], "service:incident-webhook");
    for t in [&dave, &erin] {
        let (status, text) = status_through_envoy(&s, "GET", "/orders/1", t).await;
        assert!(status == 403 && text.contains("grant_revoked"), "{text}");
    }
}

#[tokio::test]
async fn webhooks_are_signed_and_a_dead_receiver_blocks_nothing() {
    let s = stack().await;
    let j = &s.jitgate;
    let receiver = Receiver::start().await;
    let dead = format!("http://127.0.0.1:{}/hook", free_port());
    let slack = Receiver::start().await;
    let notify = json!({"notify": [
        {"webhook": dead},
        {"webhook": receiver.url},
        {"webhook": slack.url, "format": "slack", "events": ["approved"]},
    ]});
    put_policy(j, policy("orders", notify)).await;
    let alice = j.token("alice", &["eng"]);
    let started = Instant::now();
    let (_, r) = request(j, &alice, orders_request("10m")).await;
    let id = r["id"].as_str().unwrap();
    j.call("POST", &format!("/v1/requests/{id}/approve"), Some(&j.token("bob", &["leads"])), None)
        .await;
    assert!(started.elapsed() < Duration::from_secs(2), "the workflow must not wait for webhooks");
    assert_eq!(status_through_envoy(&s, "GET", "/orders/1", &alice).await.0, 200);

    let got = common::wait_until(Duration::from_secs(5), || async {
        receiver.events().len() >= 2 && !slack.events().is_empty()
    })
    .await;
    assert!(got, "events not delivered: {:?} / {:?}", receiver.events(), slack.events());
    assert_eq!(receiver.events(), ["requested", "approved"]);
    let secret = hook_secret(&j.secret);
    let now = jitgate::time::Clock::now(&jitgate::time::SystemClock).as_secs();
    for d in receiver.deliveries() {
        assert!(
            jitgate::notify::sign::verify(secret.as_bytes(), &d.signature, &d.body, now, 300),
            "bad signature: {}",
            d.signature
        );
        assert!(!jitgate::notify::sign::verify(
            b"not-the-secret-not-the-secret-xx",
            &d.signature,
            &d.body,
            now,
            300
        ));
    }
    let approved = receiver.deliveries()[1].json();
    assert_eq!(
        (approved["type"].as_str(), approved["actor"].as_str()),
        (Some("approved"), Some("user:bob"))
    );
    assert_eq!(approved["request"]["id"], id);
    assert!(approved["grant"]["id"].as_str().is_some());
    // With `check.public_url` set, the message links to the request's page on the web page.
    assert_eq!(approved["links"]["request"], format!("{}/ui/#/requests/{id}", j.base()));
    assert!(slack.deliveries()[0].json()["text"].as_str().unwrap().contains("approved"));
    // The dead receiver's failures are counted, after retries.
    let failed = common::wait_until(Duration::from_secs(5), || async {
        let m = reqwest::get(format!("{}/metrics", j.base())).await.unwrap().text().await.unwrap();
        m.contains("jitgate_notifications_total{result=\"failed\"}")
    })
    .await;
    assert!(failed, "failures to the dead receiver are counted");
    let _ = raw_get("/", &[]);
}
