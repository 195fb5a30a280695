//! The web page's server side through the router: assets with their security and caching
//! headers, `GET /v1/me`, the queue and history filters of `/v1/requests`, and the CSRF rule
//! of reverse-proxy header mode — each refusal a clear JSON error, like the rest of the API.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use common::router::{admin, app, app_with, call, token};
use jitgate::api::UiSettings;
use serde_json::{Value, json};
use tower::ServiceExt;

async fn send(
    app: &axum::Router,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (StatusCode, HeaderMap, String) {
    let mut req = Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = app.clone().oneshot(req.body(Body::from(body.to_string())).unwrap()).await.unwrap();
    let (status, headers) = (resp.status(), resp.headers().clone());
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 22).await.unwrap();
    (status, headers, String::from_utf8_lossy(&bytes).into_owned())
}

fn policy(min_approvals: u32) -> String {
    json!({
        "apiVersion": "jitgate.dev/v1alpha1", "kind": "AccessPolicy", "metadata": {"name": "orders"},
        "spec": {
            "resources": [{"service": "orders", "methods": ["GET"], "paths": ["/orders/**"]}],
            "requesters": ["group:eng"], "approvers": ["group:leads"], "min_approvals": min_approvals,
            "max_ttl": "1h",
        }
    })
    .to_string()
}

fn request_body() -> String {
    json!({"resources": [{"service": "orders", "methods": ["GET"], "paths": ["/orders/1"]}], "ttl": "15m", "reason": "INC-1"}).to_string()
}

async fn with_policy(app: &axum::Router, min_approvals: u32) {
    let (status, body, _) =
        call(app, "PUT", "/v1/policies/orders", Some(&admin()), Some(&policy(min_approvals))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[tokio::test]
async fn page_assets_carry_security_and_caching_headers() {
    let app = app();
    let (status, h, body) = send(&app, "GET", "/ui/", &[], "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("<script type=\"module\" src=\"app.js\">"), "{body}");
    assert_eq!(h["content-type"], "text/html; charset=utf-8");
    let csp = h["content-security-policy"].to_str().unwrap();
    for part in
        ["default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"]
    {
        assert!(csp.contains(part), "{csp}");
    }
    assert!(!csp.contains("unsafe") && !csp.contains("http"), "{csp}");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert_eq!(h["cache-control"], "no-cache");

    let (status, h, _) = send(&app, "GET", "/ui/app.js", &[], "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(h["content-type"], "text/javascript; charset=utf-8");
    let etag = h["etag"].to_str().unwrap().to_string();
    let (status, h2, body) = send(&app, "GET", "/ui/app.js", &[("if-none-match", &etag)], "").await;
    assert_eq!((status, body.as_str()), (StatusCode::NOT_MODIFIED, ""));
    assert_eq!(h2["etag"], etag.as_str());
    let (status, h, _) = send(&app, "GET", "/ui/style.css", &[], "").await;
    assert_eq!(
        (status, h["content-type"].to_str().unwrap()),
        (StatusCode::OK, "text/css; charset=utf-8")
    );

    let (status, h, _) = send(&app, "GET", "/ui", &[], "").await;
    assert_eq!((status, h["location"].to_str().unwrap()), (StatusCode::PERMANENT_REDIRECT, "/ui/"));
    let (status, h, body) = send(&app, "GET", "/ui/secrets.js", &[], "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(h.contains_key("content-security-policy") && body.contains("/ui/"), "{body}");
}

#[tokio::test]
async fn page_can_be_switched_off() {
    let app = app_with(UiSettings::new(false, None, None));
    let (status, _, body) = send(&app, "GET", "/ui/", &[], "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("no such endpoint"), "{body}");
}

#[tokio::test]
async fn me_names_the_caller_and_their_roles() {
    let app = app();
    let (status, me, _) = call(&app, "GET", "/v1/me", Some(&token("alice", &["eng"])), None).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["subject"], "user:alice");
    assert_eq!(me["principals"], json!(["user:alice", "group:eng"]));
    assert_eq!((me["admin"].clone(), me["audit_reader"].clone()), (json!(false), json!(false)));
    assert_eq!(me["token_source"], "authorization");
    let (_, me, _) = call(&app, "GET", "/v1/me", Some(&admin()), None).await;
    assert_eq!((me["admin"].clone(), me["audit_reader"].clone()), (json!(true), json!(true)));
    let (_, me, _) = call(&app, "GET", "/v1/me", Some(&token("sec", &["security"])), None).await;
    assert_eq!((me["admin"].clone(), me["audit_reader"].clone()), (json!(false), json!(true)));
    let (status, e, h) = call(&app, "GET", "/v1/me", None, None).await;
    assert_eq!((status, e["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthenticated")));
    assert!(h.contains_key("www-authenticate"));
}

#[tokio::test]
async fn queue_shows_what_each_approver_may_decide_and_history_what_they_may_see() {
    let app = app();
    with_policy(&app, 2).await;
    let (alice, bob, dave, carol) = (
        token("alice", &["eng"]),
        token("bob", &["leads"]),
        token("dave", &["leads"]),
        token("carol", &["eng"]),
    );
    let (status, r, _) =
        call(&app, "POST", "/v1/requests", Some(&alice), Some(&request_body())).await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    assert_eq!(r["approvals_needed"], 2);
    let id = r["id"].as_str().unwrap().to_string();
    let queue = "/v1/requests?status=pending&decidable=true";
    let ids = |v: &Value| -> Vec<String> {
        v["requests"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().into()).collect()
    };
    let (_, q, _) = call(&app, "GET", queue, Some(&bob), None).await;
    assert_eq!(ids(&q), vec![id.clone()]);
    let (_, q, _) = call(&app, "GET", queue, Some(&alice), None).await;
    assert!(ids(&q).is_empty(), "the requester's own request is not in her queue: {q}");
    let (_, q, _) = call(&app, "GET", queue, Some(&carol), None).await;
    assert!(ids(&q).is_empty(), "another requester sees nothing to decide: {q}");

    let approve = format!("/v1/requests/{id}/approve");
    let (status, r, _) =
        call(&app, "POST", &approve, Some(&bob), Some(r#"{"comment":"ok"}"#)).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(
        (r["approvals_needed"].clone(), r["approved_by_you"].clone()),
        (json!(1), json!(true))
    );
    let (_, q, _) = call(&app, "GET", queue, Some(&bob), None).await;
    assert!(ids(&q).is_empty(), "an approver who already approved is not asked again: {q}");
    let (_, q, _) = call(&app, "GET", queue, Some(&dave), None).await;
    assert_eq!(ids(&q), vec![id.clone()]);

    let history = "/v1/requests?requester=user:alice&limit=5";
    let (_, h, _) = call(&app, "GET", history, Some(&dave), None).await;
    assert_eq!(ids(&h), vec![id.clone()]);
    let (_, h, _) = call(&app, "GET", history, Some(&carol), None).await;
    assert!(ids(&h).is_empty(), "history shows only requests the caller may see: {h}");

    let bad = "/v1/requests?decidable=maybe&requester=alice&limit=0";
    let (status, e, _) = call(&app, "GET", bad, Some(&dave), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{e}");
    let details = e["details"].to_string();
    for part in ["decidable: `maybe`", "requester:", "limit: `0`"] {
        assert!(details.contains(part), "{part} missing from {details}");
    }
}

fn proxy_app() -> axum::Router {
    app_with(UiSettings::new(
        true,
        Some("x-forwarded-access-token"),
        Some("https://jit.example.com"),
    ))
}

#[tokio::test]
async fn proxy_header_signs_in_for_reads() {
    let app = proxy_app();
    let t = token("alice", &["eng"]);
    let (status, _, body) =
        send(&app, "GET", "/v1/me", &[("x-forwarded-access-token", &t)], "").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let me: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (me["subject"].as_str(), me["token_source"].as_str()),
        (Some("user:alice"), Some("proxy_header"))
    );
    let (status, _, _) =
        send(&app, "GET", "/v1/me", &[("x-forwarded-access-token", "garbage")], "").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn proxy_header_writes_need_the_csrf_header_and_this_origin() {
    let app = proxy_app();
    with_policy(&app, 1).await;
    let t = token("alice", &["eng"]);
    let tok = ("x-forwarded-access-token", t.as_str());
    let json_ct = ("content-type", "application/json");
    let csrf = ("x-jitgate-csrf", "1");
    let refused: &[&[(&str, &str)]] = &[
        &[tok, json_ct],
        &[tok, json_ct, ("origin", "https://jit.example.com")],
        &[tok, json_ct, csrf],
        &[tok, json_ct, csrf, ("origin", "https://evil.example")],
        &[tok, json_ct, csrf, ("sec-fetch-site", "cross-site")],
    ];
    for headers in refused {
        let (status, _, body) = send(&app, "POST", "/v1/requests", headers, &request_body()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{headers:?}: {body}");
        let e: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(e["error"], "csrf_refused", "{body}");
        assert!(e["message"].as_str().unwrap().contains("x-jitgate-csrf"), "{body}");
    }
    let accepted: &[&[(&str, &str)]] = &[
        &[tok, json_ct, csrf, ("sec-fetch-site", "same-origin")],
        &[tok, json_ct, csrf, ("origin", "https://jit.example.com")],
        &[tok, json_ct, csrf, ("host", "jit.internal"), ("origin", "http://jit.internal")],
    ];
    let mut ids = Vec::new();
    for headers in accepted {
        let (status, _, body) = send(&app, "POST", "/v1/requests", headers, &request_body()).await;
        assert_eq!(status, StatusCode::CREATED, "{headers:?}: {body}");
        ids.push(serde_json::from_str::<Value>(&body).unwrap()["id"].as_str().unwrap().to_string());
    }
    // The same token sent explicitly is not ambient: no CSRF header needed.
    let bearer = format!("Bearer {t}");
    let (status, _, body) = send(
        &app,
        "POST",
        &format!("/v1/requests/{}/cancel", ids[0]),
        &[("authorization", &bearer)],
        "",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Every state-changing route is covered, including those outside the `Auth` extractor.
    let root = admin();
    let admin_tok = ("x-forwarded-access-token", root.as_str());
    for (method, uri) in [
        ("DELETE", "/v1/grants/g-1".to_string()),
        ("POST", format!("/v1/requests/{}/approve", ids[1])),
        ("POST", "/v1/incidents/INC-1/resolve".to_string()),
        ("PUT", "/v1/policies/orders".to_string()),
    ] {
        let (status, _, body) = send(&app, method, &uri, &[admin_tok, json_ct], "{}").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {uri}: {body}");
        assert!(body.contains("csrf_refused"), "{method} {uri}: {body}");
    }
}
