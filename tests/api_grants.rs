//! The REST grant API through the router (`oneshot`), with the in-memory store and real HS256
//! tokens: every error case answers with a clear JSON error.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::StatusCode;
use common::router::{admin, app, call, token};
use serde_json::json;

fn body(subject: &str, ttl: &str) -> String {
    json!({"subject": subject, "resources": [{"service": "orders", "methods": ["GET"], "paths": ["/orders/**"]}], "ttl": ttl, "reason": "INC-42", "max_uses": null}).to_string()
}

#[tokio::test]
async fn create_then_read_list_and_revoke() {
    let app = app();
    let (status, g, headers) =
        call(&app, "POST", "/v1/grants", Some(&admin()), Some(&body("user:alice", "15m"))).await;
    assert_eq!(status, StatusCode::CREATED, "{g}");
    let id = g["id"].as_str().unwrap().to_string();
    assert_eq!(headers["location"], format!("/v1/grants/{id}"));
    assert_eq!(
        (g["subject"].as_str(), g["status"].as_str(), g["created_by"].as_str()),
        (Some("user:alice"), Some("active"), Some("user:root"))
    );
    assert!(g["expires_in_seconds"].as_u64().unwrap() > 890);

    let (status, got, _) =
        call(&app, "GET", &format!("/v1/grants/{id}"), Some(&admin()), None).await;
    assert_eq!((status, got["id"].as_str()), (StatusCode::OK, Some(id.as_str())));
    let (_, list, _) =
        call(&app, "GET", "/v1/grants?subject=user:alice", Some(&admin()), None).await;
    assert_eq!(list["grants"].as_array().unwrap().len(), 1);
    let (_, list, _) = call(&app, "GET", "/v1/grants?service=billing", Some(&admin()), None).await;
    assert_eq!(list["grants"].as_array().unwrap().len(), 0);

    // Alice sees her own grant; Bob does not even learn it exists.
    let (status, _, _) =
        call(&app, "GET", &format!("/v1/grants/{id}"), Some(&token("alice", &[])), None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) =
        call(&app, "GET", &format!("/v1/grants/{id}"), Some(&token("bob", &[])), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, e, _) =
        call(&app, "GET", "/v1/grants?subject=user:alice", Some(&token("bob", &[])), None).await;
    assert_eq!((status, e["error"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")));
    let (status, _, _) =
        call(&app, "DELETE", &format!("/v1/grants/{id}"), Some(&token("bob", &[])), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, revoked, _) =
        call(&app, "DELETE", &format!("/v1/grants/{id}?reason=done"), Some(&admin()), None).await;
    assert_eq!((status, revoked["status"].as_str()), (StatusCode::OK, Some("revoked")));
    assert_eq!(revoked["revoked"]["reason"], "done");
    let (status, e, _) =
        call(&app, "DELETE", &format!("/v1/grants/{id}"), Some(&admin()), None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(e["message"].as_str().unwrap().contains("already revoked"));
    let (status, e, _) =
        call(&app, "DELETE", "/v1/grants/no-such-grant", Some(&admin()), None).await;
    assert_eq!((status, e["error"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
}

#[tokio::test]
async fn a_subject_may_revoke_its_own_grant_early() {
    let app = app();
    let (_, g, _) =
        call(&app, "POST", "/v1/grants", Some(&admin()), Some(&body("user:alice", "15m"))).await;
    let id = g["id"].as_str().unwrap();
    let (status, r, _) =
        call(&app, "DELETE", &format!("/v1/grants/{id}"), Some(&token("alice", &[])), None).await;
    assert_eq!((status, r["revoked"]["by"].as_str()), (StatusCode::OK, Some("user:alice")));
}

#[tokio::test]
async fn authentication_errors_are_401_with_a_challenge() {
    let app = app();
    for (t, contains) in
        [(None, "no bearer token"), (Some("garbage"), "malformed"), (Some("a.b.c"), "malformed")]
    {
        let (status, e, headers) = call(&app, "GET", "/v1/grants", t, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(
            headers["www-authenticate"].to_str().unwrap().starts_with("Bearer realm=\"jitgate\"")
        );
        assert!(e["message"].as_str().unwrap().contains(contains), "{e}");
    }
    let (status, e, _) = call(
        &app,
        "POST",
        "/v1/grants",
        Some(&token("alice", &[])),
        Some(&body("user:alice", "15m")),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(e["message"].as_str().unwrap().contains("only `admins`"));
}

#[tokio::test]
async fn every_bad_input_gets_a_clear_error() {
    let app = app();
    let cases: Vec<(String, &str)> = vec![
        (String::new(), "the request body is empty"),
        ("{not json".into(), "not valid JSON"),
        (r#"{"subject":"user:a","resources":[],"ttl":"15m","reason":"x","extra":1}"#.into(), "unknown field `extra`"),
        (r#"{"subject":"user:a","resources":[{"service":"orders","methods":["GET"],"paths":["/o"],"colour":1}],"ttl":"15m","reason":"x"}"#.into(), "resources[0].colour: unknown field `colour`"),
        (r#"{"resources":[],"ttl":"15m","reason":"x"}"#.into(), "missing field `subject`"),
        (r#"{"subject":"user:a","resources":"orders","ttl":"15m","reason":"x"}"#.into(), "resources: invalid type"),
        (body("user:alice", "soon"), "ttl: `soon` is not a duration"),
        (body("user:alice", "15"), "has no unit"),
        (body("user:alice", "25h"), "ttl: 25h is above the maximum of 24h"),
        (body("user:alice", "0s"), "ttl: must be above zero"),
        (body("alice", "15m"), "subject: `alice` is not a principal"),
        (r#"{"subject":"user:a","resources":[],"ttl":"15m","reason":"x"}"#.into(), "resources: at least one resource"),
        (r#"{"subject":"user:a","resources":[{"service":"orders","methods":[],"paths":[]}],"ttl":"15m","reason":"x"}"#.into(), "resources[0].methods: at least one method"),
        (r#"{"subject":"user:a","resources":[{"service":"orders","methods":["GET"],"paths":["orders"]}],"ttl":"15m","reason":"x"}"#.into(), "must start with `/`"),
        (r#"{"subject":"user:a","resources":[{"service":"orders","methods":["GET"],"paths":["/o"]}],"ttl":"15m","reason":""}"#.into(), "reason: say why"),
        (r#"{"subject":"user:a","resources":[{"service":"orders","methods":["GET"],"paths":["/o"]}],"ttl":"15m","reason":"x","max_uses":0}"#.into(), "max_uses: must be at least 1"),
        (r#"{"subject":"user:a","resources":[{"service":"orders","methods":["GET"],"paths":["/o"]}],"ttl":"15m","reason":"x","incident":"bad id!"}"#.into(), "incident:"),
    ];
    for (input, expected) in cases {
        let (status, e, _) = call(&app, "POST", "/v1/grants", Some(&admin()), Some(&input)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{input}");
        assert_eq!(e["error"], "invalid_request");
        let all = format!("{} {}", e["message"], e["details"]);
        assert!(all.contains(expected), "{input}\n expected {expected:?} in {all}");
    }
    let (status, e, _) = call(&app, "GET", "/v1/grants?subjet=user:a", Some(&admin()), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(e["message"].as_str().unwrap().contains("unknown query parameter `subjet`"));
}

#[tokio::test]
async fn several_problems_are_reported_together() {
    let app = app();
    let input = r#"{"subject":"bob","resources":[{"service":"Orders","methods":["G E T"],"paths":["x"]}],"ttl":"2d","reason":""}"#;
    let (status, e, _) = call(&app, "POST", "/v1/grants", Some(&admin()), Some(input)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(e["details"].as_array().unwrap().len(), 6, "{e}");
}

#[tokio::test]
async fn health_metrics_and_unknown_routes() {
    let app = app();
    assert_eq!(call(&app, "GET", "/healthz", None, None).await.0, StatusCode::OK);
    assert_eq!(call(&app, "GET", "/readyz", None, None).await.0, StatusCode::OK);
    let (status, e, _) = call(&app, "GET", "/v2/nothing", None, None).await;
    assert_eq!((status, e["error"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
    let (_, text, _) = call(&app, "GET", "/metrics", None, None).await;
    let text = text.as_str().unwrap();
    assert!(text.contains("jitgate_http_requests_total"), "{text}");
    assert!(text.contains("# TYPE jitgate_check_duration_seconds histogram"), "{text}");
}
