//! The REST workflow API (policies, requests, incidents) through the router: every error case
//! answers with a clear JSON error and the right status.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::StatusCode;
use common::router::{admin, app, call, token};
use serde_json::{Value, json};

fn policy() -> Value {
    json!({
        "apiVersion": "jitgate.dev/v1alpha1", "kind": "AccessPolicy", "metadata": {"name": "orders"},
        "spec": {
            "resources": [{"service": "orders", "methods": ["GET", "DELETE"], "paths": ["/orders/**"]}],
            "requesters": ["group:eng"], "approvers": ["group:leads"], "max_ttl": "1h",
            "reason": {"required": true, "pattern": "^INC-[0-9]+"},
        }
    })
}

async fn with_policy() -> axum::Router {
    let app = app();
    let (status, body, _) =
        call(&app, "PUT", "/v1/policies/orders", Some(&admin()), Some(&policy().to_string())).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    app
}

fn req(ttl: &str, reason: &str) -> String {
    json!({"resources": [{"service": "orders", "methods": ["GET"], "paths": ["/orders/1"]}], "ttl": ttl, "reason": reason}).to_string()
}

async fn expect(
    app: &axum::Router,
    method: &str,
    uri: &str,
    t: Option<&str>,
    body: Option<&str>,
    want: StatusCode,
    text: &str,
) {
    let (status, e, _) = call(app, method, uri, t, body).await;
    assert_eq!(status, want, "{method} {uri} {body:?}: {e}");
    let all = format!("{} {}", e["message"], e["details"]);
    assert!(e["error"].is_string(), "{method} {uri}: not a JSON error: {e}");
    assert!(all.contains(text), "{method} {uri}: expected {text:?} in {all}");
}

#[tokio::test]
async fn policy_errors() {
    let app = with_policy().await;
    let alice = token("alice", &["eng"]);
    let doc = policy().to_string();
    expect(
        &app,
        "PUT",
        "/v1/policies/orders",
        Some(&alice),
        Some(&doc),
        StatusCode::FORBIDDEN,
        "only `admins`",
    )
    .await;
    expect(
        &app,
        "PUT",
        "/v1/policies/other",
        Some(&admin()),
        Some(&doc),
        StatusCode::BAD_REQUEST,
        "differs from the name in the URL",
    )
    .await;
    expect(
        &app,
        "PUT",
        "/v1/policies/Bad_Name",
        Some(&admin()),
        Some(&doc),
        StatusCode::BAD_REQUEST,
        "is not a name",
    )
    .await;
    let mut bad = policy();
    bad["kind"] = json!("Grant");
    bad["spec"]["max_ttl"] = json!("forever");
    bad["spec"]["approvers"] = json!(["leads"]);
    expect(
        &app,
        "PUT",
        "/v1/policies/orders",
        Some(&admin()),
        Some(&bad.to_string()),
        StatusCode::BAD_REQUEST,
        "kind: expected `AccessPolicy`",
    )
    .await;
    let (_, e, _) =
        call(&app, "PUT", "/v1/policies/orders", Some(&admin()), Some(&bad.to_string())).await;
    assert_eq!(e["details"].as_array().unwrap().len(), 3, "{e}");
    let mut unknown = policy();
    unknown["spec"]["aproovers"] = json!([]);
    expect(
        &app,
        "PUT",
        "/v1/policies/orders",
        Some(&admin()),
        Some(&unknown.to_string()),
        StatusCode::BAD_REQUEST,
        "unknown field `aproovers`",
    )
    .await;
    expect(
        &app,
        "GET",
        "/v1/policies/nope",
        Some(&alice),
        None,
        StatusCode::NOT_FOUND,
        "no policy `nope`",
    )
    .await;
    expect(
        &app,
        "DELETE",
        "/v1/policies/nope",
        Some(&admin()),
        None,
        StatusCode::NOT_FOUND,
        "no policy",
    )
    .await;
    expect(&app, "GET", "/v1/policies", None, None, StatusCode::UNAUTHORIZED, "no bearer token")
        .await;
    let (status, list, _) = call(&app, "GET", "/v1/policies", Some(&alice), None).await;
    assert_eq!((status, list["policies"].as_array().unwrap().len()), (StatusCode::OK, 1));
    let (status, _, headers) =
        call(&app, "PUT", "/v1/policies/orders", Some(&admin()), Some(&doc)).await;
    assert_eq!(
        (status, headers["x-jitgate-outcome"].to_str().unwrap()),
        (StatusCode::OK, "unchanged")
    );
}

/// SECURITY.md row 54: a webhook URL (a Slack incoming webhook is a bearer secret) is shown to
/// admins only; everyone else sees that the policy notifies, its format and events.
#[tokio::test]
async fn non_admins_read_policies_without_webhook_urls() {
    let app = app();
    let slack = "https://hooks.slack.com/services/T0001/B0001/s3cr3tT0k3n";
    let mut doc = policy();
    doc["spec"]["notify"] = json!([
        {"webhook": slack, "format": "slack", "events": ["approved"], "secret_env": "SLACK_SIGNING"},
        {"webhook": "http://127.0.0.1:9/hook"},
    ]);
    let (status, body, _) =
        call(&app, "PUT", "/v1/policies/orders", Some(&admin()), Some(&doc.to_string())).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let alice = token("alice", &["eng"]);
    let (_, one, _) = call(&app, "GET", "/v1/policies/orders", Some(&alice), None).await;
    let (_, list, _) = call(&app, "GET", "/v1/policies", Some(&alice), None).await;
    for (what, seen) in [("get", &one), ("list", &list["policies"][0])] {
        let text = seen.to_string();
        assert!(!text.contains("hooks.slack.com") && !text.contains("127.0.0.1"), "{what}: {text}");
        assert!(!text.contains("SLACK_SIGNING"), "{what}: {text}");
        assert_eq!(
            seen["spec"]["notify"],
            json!([
                {"format": "slack", "events": ["approved"], "redacted": true},
                {"format": "json", "redacted": true},
            ]),
            "{what}"
        );
        assert_eq!(seen["spec"]["approvers"], json!(["group:leads"]), "{what}: the rest stays");
    }
    let (_, full, _) = call(&app, "GET", "/v1/policies/orders", Some(&admin()), None).await;
    assert_eq!(full["spec"]["notify"][0]["webhook"], slack, "admins see the target: {full}");
    assert_eq!(full["spec"]["notify"][0]["secret_env"], "SLACK_SIGNING");
    assert!(full["spec"]["notify"][0].get("redacted").is_none(), "{full}");
    // What a non-admin read cannot be written back as if it were a target.
    let redacted = one.clone();
    expect(
        &app,
        "PUT",
        "/v1/policies/orders",
        Some(&admin()),
        Some(&redacted.to_string()),
        StatusCode::BAD_REQUEST,
        "spec.notify[0].redacted",
    )
    .await;
}

#[tokio::test]
async fn request_errors() {
    let app = with_policy().await;
    let alice = token("alice", &["eng"]);
    expect(
        &app,
        "POST",
        "/v1/requests",
        None,
        Some(&req("10m", "INC-1")),
        StatusCode::UNAUTHORIZED,
        "bearer",
    )
    .await;
    expect(
        &app,
        "POST",
        "/v1/requests",
        Some(&alice),
        Some(""),
        StatusCode::BAD_REQUEST,
        "the request body is empty",
    )
    .await;
    expect(
        &app,
        "POST",
        "/v1/requests",
        Some(&alice),
        Some("{\"ttl\": 5}"),
        StatusCode::BAD_REQUEST,
        "ttl: invalid type",
    )
    .await;
    expect(
        &app,
        "POST",
        "/v1/requests",
        Some(&alice),
        Some(r#"{"resources": [], "ttl": "5m", "why": "x"}"#),
        StatusCode::BAD_REQUEST,
        "unknown field `why`",
    )
    .await;
    expect(
        &app,
        "POST",
        "/v1/requests",
        Some(&alice),
        Some(&req("soon", "INC-1")),
        StatusCode::BAD_REQUEST,
        "ttl: `soon` is not a duration",
    )
    .await;
    expect(
        &app,
        "POST",
        "/v1/requests",
        Some(&alice),
        Some(&req("2h", "INC-1")),
        StatusCode::BAD_REQUEST,
        "above the maximum of 1h set by policy `orders`",
    )
    .await;
    expect(
        &app,
        "POST",
        "/v1/requests",
        Some(&alice),
        Some(&req("10m", "please")),
        StatusCode::BAD_REQUEST,
        "does not match `^INC-[0-9]+`",
    )
    .await;
    expect(
        &app,
        "POST",
        "/v1/requests",
        Some(&token("eve", &["sales"])),
        Some(&req("10m", "INC-1")),
        StatusCode::FORBIDDEN,
        "not among the requesters",
    )
    .await;
    let uncovered = json!({"resources": [{"service": "payments", "methods": ["GET"], "paths": ["/p"]}], "ttl": "5m", "reason": "INC-1"}).to_string();
    expect(
        &app,
        "POST",
        "/v1/requests",
        Some(&alice),
        Some(&uncovered),
        StatusCode::FORBIDDEN,
        "no access policy covers",
    )
    .await;
    let bad_incident = json!({"resources": [{"service": "orders", "methods": ["GET"], "paths": ["/orders/1"]}], "ttl": "5m", "reason": "INC-1", "incident": "no spaces allowed"}).to_string();
    expect(
        &app,
        "POST",
        "/v1/requests",
        Some(&alice),
        Some(&bad_incident),
        StatusCode::BAD_REQUEST,
        "incident:",
    )
    .await;
    expect(
        &app,
        "GET",
        "/v1/requests?status=bogus",
        Some(&alice),
        None,
        StatusCode::BAD_REQUEST,
        "status: `bogus`",
    )
    .await;
    expect(
        &app,
        "GET",
        "/v1/requests?mine=maybe",
        Some(&alice),
        None,
        StatusCode::BAD_REQUEST,
        "mine: `maybe`",
    )
    .await;
    expect(
        &app,
        "GET",
        "/v1/requests?sort=x",
        Some(&alice),
        None,
        StatusCode::BAD_REQUEST,
        "unknown query parameter `sort`",
    )
    .await;
    expect(
        &app,
        "GET",
        "/v1/requests/not%20an%20id",
        Some(&alice),
        None,
        StatusCode::NOT_FOUND,
        "is not a request id",
    )
    .await;
    expect(
        &app,
        "GET",
        "/v1/requests/01a2b3c4-0000-7000-8000-000000000000",
        Some(&alice),
        None,
        StatusCode::NOT_FOUND,
        "no request",
    )
    .await;
}

#[tokio::test]
async fn decision_errors() {
    let app = with_policy().await;
    let alice = token("alice", &["eng"]);
    let bob = token("bob", &["leads"]);
    let (status, r, headers) =
        call(&app, "POST", "/v1/requests", Some(&alice), Some(&req("10m", "INC-1"))).await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    let id = r["id"].as_str().unwrap();
    assert_eq!(headers["location"], format!("/v1/requests/{id}"));
    assert_eq!(r["can_approve"], false);
    let approve = format!("/v1/requests/{id}/approve");
    expect(&app, "POST", &approve, Some(&alice), None, StatusCode::FORBIDDEN, "may not approve it")
        .await;
    expect(
        &app,
        "POST",
        &approve,
        Some(&token("eve", &["eng"])),
        None,
        StatusCode::NOT_FOUND,
        "no request",
    )
    .await;
    expect(
        &app,
        "POST",
        &approve,
        Some(&bob),
        Some("{oops"),
        StatusCode::BAD_REQUEST,
        "not valid JSON",
    )
    .await;
    expect(
        &app,
        "POST",
        &approve,
        Some(&bob),
        Some(r#"{"note": "x"}"#),
        StatusCode::BAD_REQUEST,
        "unknown field `note`",
    )
    .await;
    expect(
        &app,
        "POST",
        &format!("/v1/requests/{id}/cancel"),
        Some(&bob),
        None,
        StatusCode::FORBIDDEN,
        "only the requester",
    )
    .await;
    let (_, seen, _) = call(&app, "GET", &format!("/v1/requests/{id}"), Some(&bob), None).await;
    assert_eq!(seen["can_approve"], true);
    let (status, done, _) =
        call(&app, "POST", &approve, Some(&bob), Some(r#"{"comment": "ok"}"#)).await;
    assert_eq!((status, done["status"].as_str()), (StatusCode::OK, Some("approved")));
    assert_eq!(done["approvals"][0]["comment"], "ok");
    expect(
        &app,
        "POST",
        &approve,
        Some(&token("carol", &["leads"])),
        None,
        StatusCode::CONFLICT,
        "only pending requests can be decided",
    )
    .await;
    expect(
        &app,
        "POST",
        &format!("/v1/requests/{id}/deny"),
        Some(&bob),
        None,
        StatusCode::CONFLICT,
        "is approved",
    )
    .await;
    expect(
        &app,
        "POST",
        &format!("/v1/requests/{id}/cancel"),
        Some(&alice),
        None,
        StatusCode::CONFLICT,
        "is approved",
    )
    .await;
}

#[tokio::test]
async fn incident_errors() {
    let app = with_policy().await;
    expect(
        &app,
        "POST",
        "/v1/incidents/INC-1/resolve",
        None,
        None,
        StatusCode::UNAUTHORIZED,
        "no bearer token",
    )
    .await;
    expect(
        &app,
        "POST",
        "/v1/incidents/INC-1/resolve",
        Some(&token("alice", &["eng"])),
        None,
        StatusCode::FORBIDDEN,
        "only `admins`",
    )
    .await;
    expect(
        &app,
        "POST",
        "/v1/incidents/bad%20id/resolve",
        Some(&admin()),
        None,
        StatusCode::BAD_REQUEST,
        "is not an incident id",
    )
    .await;
    let (status, r, _) =
        call(&app, "POST", "/v1/incidents/INC-1/resolve", Some("incident-tool-token"), None).await;
    assert_eq!((status, r["count"].as_u64()), (StatusCode::OK, Some(0)), "{r}");
    let (status, r, _) =
        call(&app, "POST", "/v1/incidents/INC-1/resolve", Some(&admin()), None).await;
    assert_eq!((status, r["resolved_by"].as_str()), (StatusCode::OK, Some("user:root")));
}
