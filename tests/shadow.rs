//! Shadow mode through a real Envoy, a real redis-server and real JWTs: every call reaches the
//! upstream, yet the audit log, the logs and the metrics hold the would-be decisions; a
//! service with an `enforce` override keeps denying; nothing forged reaches the upstream.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::jitgate::check_request;
use common::{Envoy, Jitgate, RedisServer, Upstream, wait_until};
use envoy_types::pb::envoy::service::auth::v3::check_response::HttpResponse;
use envoy_types::pb::envoy::service::auth::v3::{CheckRequest, CheckResponse};
use serde_json::{Value, json};

struct Stack {
    _redis: RedisServer,
    jitgate: Jitgate,
    upstream: Upstream,
    envoy: Envoy,
}

/// `orders` (and everything else) in shadow mode; `billing` enforced.
async fn shadow_stack() -> Stack {
    let redis = RedisServer::start().await;
    let env = [
        ("JITGATE_MODE", "shadow"),
        ("JITGATE_SERVICE_MODES", "billing=enforce"),
        ("JITGATE_AUDIT_DECISION_LOG_STDOUT", "true"),
    ];
    let jitgate = Jitgate::start_with(&redis.url(), &env, true).await;
    let upstream = Upstream::start().await;
    let envoy = Envoy::start(jitgate.grpc, upstream.port).await;
    Stack { _redis: redis, jitgate, upstream, envoy }
}

/// A call through Envoy: status, the client's response headers, the upstream's echo (or body).
async fn call(
    s: &Stack,
    path: &str,
    token: Option<&str>,
    extra: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut req = reqwest::Client::new().get(s.envoy.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.expect("request through envoy");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap_or_default();
    (status, headers, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

fn header(h: &reqwest::header::HeaderMap, name: &str) -> String {
    h.get(name).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
}

/// The audit event of one decision (waits for its batch to be written).
async fn audited(j: &Jitgate, decision_id: &str) -> Value {
    let path = format!("/v1/audit?decision={decision_id}");
    for _ in 0..50 {
        let (_, page) = j.call("GET", &path, Some(&j.admin_token()), None).await;
        let found = page["entries"][0]["event"].clone();
        if !found.is_null() {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("decision {decision_id} was never audited")
}

#[tokio::test]
async fn shadow_mode_never_denies_through_envoy_yet_records_the_would_be_decisions() {
    let s = shadow_stack().await;
    let j = &s.jitgate;
    let alice = j.token("alice", &["eng"]);
    let forged = [("x-jitgate-subject", "user:root"), ("x-jitgate-grant-id", "forged")];
    let mut expected = Vec::new();

    // No token, a bad token, no grant: all reach the upstream, labelled with the would-be deny.
    let cases: [(Option<&str>, &str, &str); 3] = [
        (None, "/orders/7", "token_missing"),
        (Some("not.a.jwt"), "/orders/7", "token_invalid"),
        (Some(alice.as_str()), "/orders/7", "no_grant"),
    ];
    for (token, path, reason) in cases {
        let (status, headers, echo) = call(&s, path, token, &forged).await;
        assert_eq!(status, 200, "{reason}: {echo}");
        assert_eq!(echo["headers"]["x-jitgate-mode"], json!(["shadow"]), "{echo}");
        assert_eq!(echo["headers"]["x-jitgate-would-deny"], json!([reason]), "{echo}");
        assert!(echo["headers"].get("x-jitgate-grant-id").is_none(), "forged grant id: {echo}");
        let subject = &echo["headers"]["x-jitgate-subject"];
        if reason == "no_grant" {
            assert_eq!(subject, &json!(["user:alice"]), "the verified caller only: {echo}");
        } else {
            assert!(subject.is_null(), "an unverified caller gets no identity header: {echo}");
        }
        assert_eq!(header(&headers, "x-jitgate-mode"), "shadow");
        assert_eq!(header(&headers, "x-jitgate-would-deny"), reason);
        expected.push((header(&headers, "x-jitgate-decision-id"), reason));
    }

    // An expired grant: let through too, and recorded as `grant_expired`.
    j.grant("user:alice", "orders", &["GET"], &["/orders/**"], "1s").await;
    let (status, _, echo) = call(&s, "/orders/8", Some(&alice), &[]).await;
    assert_eq!(status, 200);
    assert!(echo["headers"].get("x-jitgate-would-deny").is_none(), "a real allow: {echo}");
    assert_eq!(echo["headers"]["x-jitgate-mode"], json!(["shadow"]));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, headers, _) = call(&s, "/orders/8", Some(&alice), &[]).await;
    assert_eq!(status, 200);
    expected.push((header(&headers, "x-jitgate-decision-id"), "grant_expired"));

    // The enforced service still denies, and says nothing about shadow.
    let (status, headers, body) = call(&s, "/datasets/1", Some(&alice), &[]).await;
    assert_eq!((status, body["reason"].as_str()), (403, Some("no_grant")), "{body}");
    assert!(headers.get("x-jitgate-mode").is_none());
    let enforced_id = header(&headers, "x-jitgate-decision-id");
    assert_eq!(s.upstream.hits(), 5, "every shadowed call, and only those, reached the upstream");
    assert_eq!(s.envoy.stat("http.ingress.ext_authz.failure_mode_allowed").await, 0);

    for (id, reason) in &expected {
        let e = audited(j, id).await;
        assert_eq!(
            (e["kind"].as_str(), e["reason"].as_str(), e["details"]["mode"].as_str()),
            (Some("decision.deny"), Some(*reason), Some("shadow")),
            "{e}"
        );
    }
    let e = audited(j, &enforced_id).await;
    assert_eq!(
        (e["reason"].as_str(), e["details"]["mode"].as_str()),
        (Some("no_grant"), Some("enforce"))
    );
    let decision_log = j.stdout();
    let line = decision_log.lines().find(|l| l.contains(&enforced_id)).unwrap();
    assert!(line.contains(r#""mode":"enforce""#), "{line}");
    let (shadowed_id, _) = &expected[0];
    let line = decision_log.lines().find(|l| l.contains(shadowed_id.as_str())).unwrap();
    assert!(line.contains(r#""mode":"shadow""#) && line.contains(r#""allowed":false"#), "{line}");
    assert!(j.log().contains("let through in shadow mode"), "{}", j.log());
    assert!(j.log().contains("Shadow mode:"), "a start-up warning: {}", j.log());
}

#[tokio::test]
async fn health_and_metrics_show_shadow_mode() {
    let s = shadow_stack().await;
    let j = &s.jitgate;
    let explain = json!({"subject": "user:alice", "service": "billing", "method": "GET", "path": "/datasets/1"});
    let (_, e) = j.call("POST", "/v1/explain", Some(&j.admin_token()), Some(explain.clone())).await;
    assert_eq!(e["mode"], "enforce", "{e}");
    let mut explain = explain;
    explain["service"] = json!("orders");
    let (_, e) = j.call("POST", "/v1/explain", Some(&j.admin_token()), Some(explain)).await;
    assert_eq!(
        (e["mode"].as_str(), e["decision"]["allowed"].as_bool()),
        (Some("shadow"), Some(false)),
        "{e}"
    );
    for path in ["/healthz", "/readyz"] {
        let (status, body) = j.call("GET", path, None, None).await;
        assert_eq!(status, 200, "shadow is not unhealthy: {body}");
        assert_eq!(body["mode"], "shadow", "{body}");
        assert_eq!(body["service_modes"]["billing"], "enforce", "{body}");
        assert!(body["warning"].as_str().unwrap().contains("shadow"), "{body}");
    }
    j.check(check_request("GET", "/orders/1", "orders", &[])).await;
    let text = reqwest::get(format!("{}/metrics", j.base())).await.unwrap().text().await.unwrap();
    for line in [
        r#"jitgate_mode{service="*",mode="shadow"} 1"#,
        r#"jitgate_mode{service="*",mode="enforce"} 0"#,
        r#"jitgate_mode{service="billing",mode="enforce"} 1"#,
        r#"jitgate_shadowed_denies_total{reason="token_missing"} 1"#,
        r#"jitgate_decisions_total{decision="deny",reason="token_missing"} 1"#,
    ] {
        assert!(text.contains(line), "missing `{line}`:\n{text}");
    }
}

#[tokio::test]
async fn shadow_files_no_one_time_request_and_spends_no_use_it_only_lets_through() {
    let redis = RedisServer::start().await;
    let j = Jitgate::start_with(&redis.url(), &[("JITGATE_MODE", "shadow")], true).await;
    let policy = json!({"apiVersion": "jitgate.dev/v1alpha1", "kind": "AccessPolicy",
        "metadata": {"name": "billing"},
        "spec": {"resources": [{"service": "billing", "methods": ["DELETE"], "paths": ["/datasets/*"]}],
            "requesters": ["group:eng"], "approvers": ["group:leads"], "max_ttl": "1h",
            "one_time_actions": [{"service": "billing", "methods": ["DELETE"], "paths": ["/datasets/*"]}],
            "file_one_time_requests": true}});
    let (status, body) =
        j.call("PUT", "/v1/policies/billing", Some(&j.admin_token()), Some(policy)).await;
    assert!(status == 200 || status == 201, "{body}");
    let auth = format!("Bearer {}", j.token("alice", &["eng"]));
    let delete = || check_request("DELETE", "/datasets/7", "billing", &[("authorization", &auth)]);
    // Policies reach the Check path within a second.
    wait_until(Duration::from_secs(3), || async {
        let r = j.check(delete()).await;
        format!("{r:?}").contains("approval_required")
    })
    .await;
    let r = j.check(delete()).await;
    assert_eq!(r.status.unwrap().code, 0, "shadow answers OK");
    let (_, requests) = j.call("GET", "/v1/requests", Some(&j.admin_token()), None).await;
    assert_eq!(requests["requests"].as_array().map(Vec::len), Some(0), "{requests}");

    // A one-time grant: the real allow spends its use; the shadowed retry spends nothing more.
    let body = json!({"subject": "user:alice", "resources": [{"service": "billing", "methods": ["DELETE"], "paths": ["/datasets/7"]}], "ttl": "5m", "reason": "CHG-1", "max_uses": 1});
    let (_, g) = j.call("POST", "/v1/grants", Some(&j.admin_token()), Some(body)).await;
    let id = g["id"].as_str().unwrap().to_string();
    let first = format!("{:?}", j.check(delete()).await);
    assert!(first.contains(&id) && !first.contains("x-jitgate-would-deny"), "{first}");
    // Spent: a one-time action needs a new approval again (and shadow lets the retry through).
    let again = j.check(delete()).await;
    assert_eq!(again.status.as_ref().unwrap().code, 0);
    assert!(format!("{again:?}").contains("approval_required"), "{again:?}");
    let (_, g) = j.call("GET", &format!("/v1/grants/{id}"), Some(&j.admin_token()), None).await;
    assert_eq!(g["uses"], 1, "{g}");
}

/// A Check as Envoy sends it from a route without `context_extensions.service`: the service
/// would come from the client's `Host`.
fn from_host(path: &str, host: &str, headers: &[(&str, &str)]) -> CheckRequest {
    let mut req = check_request("GET", path, "unused", headers);
    let attrs = req.attributes.as_mut().unwrap();
    attrs.context_extensions.clear();
    attrs.request.as_mut().unwrap().http.as_mut().unwrap().host = host.into();
    req
}

/// (gRPC code, the deny body) of a Check answer; the body is null for an OK.
fn answer(r: &CheckResponse) -> (i32, Value) {
    let code = r.status.as_ref().map_or(-1, |s| s.code);
    let body = match &r.http_response {
        Some(HttpResponse::DeniedResponse(d)) => serde_json::from_str(&d.body).unwrap(),
        _ => Value::Null,
    };
    (code, body)
}

/// SECURITY.md row 56: a caller cannot choose a shadowed service by `Host` to be let through.
/// Shadow applies only to routes that name their service; a Host-derived service is enforced
/// (and recorded as enforced), in a shadowed service and under a shadow default alike.
#[tokio::test]
async fn a_shadowed_service_named_only_by_host_is_enforced() {
    let redis = RedisServer::start().await;
    let per_service = [("JITGATE_SERVICE_MODES", "legacy=shadow")];
    let everywhere = [("JITGATE_MODE", "shadow")];
    for env in [&per_service[..], &everywhere[..]] {
        let j = Jitgate::start_with(&redis.url(), env, true).await;
        // The route names `legacy`: shadow lets the anonymous call through, as configured.
        let (code, _) = answer(&j.check(check_request("GET", "/admin", "legacy", &[])).await);
        assert_eq!(code, 0, "{env:?}: the route's own service is shadowed");
        for host in ["legacy", "LEGACY.:8080", "legacy:443"] {
            let r = j.check(from_host("/admin", host, &[])).await;
            let (code, body) = answer(&r);
            assert_eq!(code, 16, "{env:?} Host {host}: enforced, not shadowed: {r:?}");
            assert_eq!(body["reason"], "token_missing", "{body}");
            assert!(!format!("{r:?}").contains("x-jitgate-mode"), "{r:?}");
            let e = audited(&j, body["decision_id"].as_str().unwrap()).await;
            assert_eq!(
                (e["service"].as_str(), e["details"]["mode"].as_str()),
                (Some("legacy"), Some("enforce")),
                "{e}"
            );
        }
        // A caller with a token but no grant: 403, not a shadowed allow.
        let auth = format!("Bearer {}", j.token("mallory", &[]));
        let r = j.check(from_host("/admin", "legacy", &[("authorization", &auth)])).await;
        assert_eq!(answer(&r).1["reason"], "no_grant", "{r:?}");
        assert!(j.log().contains("calls whose service comes from `Host` are enforced"));
    }
}
