//! Real answers through the router, each checked against the schema the document gives for
//! its operation and status (an undocumented status fails too).

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::common::router::{admin, app, call, token};
use super::{doc, schema};

/// Calls `method uri` and checks the answer against `template`'s documented response for the
/// status it got; returns the status and the body.
async fn documented(
    app: &axum::Router,
    method: &str,
    template: &str,
    uri: &str,
    t: Option<&str>,
    body: Option<&Value>,
) -> (StatusCode, Value) {
    let doc = doc();
    let text = body.map(Value::to_string);
    let (status, answer, _) = call(app, method, uri, t, text.as_deref()).await;
    let op = &doc["paths"][template][method.to_lowercase()];
    assert!(op.is_object(), "{method} {template} is not in the document");
    let mut response = &op["responses"][status.as_str()];
    assert!(response.is_object(), "{method} {uri}: status {status} is not documented: {answer}");
    if let Some(r) = response["$ref"].as_str() {
        response = schema::resolve(&doc, r).unwrap();
    }
    let schema = &response["content"]["application/json"]["schema"];
    assert!(schema.is_object(), "{method} {template} {status}: no JSON schema");
    let errors = schema::check(&doc, schema, &answer);
    assert!(errors.is_empty(), "{method} {uri} {status}: {errors:#?}\n{answer:#}");
    (status, answer)
}

fn policy() -> Value {
    json!({
        "apiVersion": "jitgate.dev/v1alpha1", "kind": "AccessPolicy", "metadata": {"name": "orders"},
        "spec": {
            "resources": [{"service": "orders", "methods": ["GET", "DELETE"], "paths": ["/orders/**"]}],
            "requesters": ["group:eng"], "approvers": ["group:leads"], "max_ttl": "1h",
            "notify": [{"webhook": "https://hooks.example.com/T1/B1/x", "format": "slack",
                "events": ["approved"], "secret_env": "HOOK_SECRET"}],
        }
    })
}

fn scope() -> Value {
    json!([{"service": "orders", "methods": ["GET"], "paths": ["/orders/1"]}])
}

#[tokio::test]
async fn grant_answers_match_their_schemas() {
    let (app, admin) = (app(), admin());
    let input = json!({"subject": "user:alice", "resources": scope(), "ttl": "15m",
        "reason": "INC-42", "max_uses": 3, "incident": "INC-42"});
    let (status, g) =
        documented(&app, "POST", "/v1/grants", "/v1/grants", Some(&admin), Some(&input)).await;
    assert_eq!(status, StatusCode::CREATED);
    let uri = format!("/v1/grants/{}", g["id"].as_str().unwrap());
    let one = "/v1/grants/{id}";
    let (_, got) = documented(&app, "GET", one, &uri, Some(&admin), None).await;
    assert!(got["usage"].is_object());
    let (_, list) =
        documented(&app, "GET", "/v1/grants", "/v1/grants?unused=true", Some(&admin), None).await;
    assert_eq!(list["grants"].as_array().unwrap().len(), 1);
    let revoke = format!("{uri}?reason=done");
    let (status, _) = documented(&app, "DELETE", one, &revoke, Some(&admin), None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = documented(&app, "DELETE", one, &revoke, Some(&admin), None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (_, me) = documented(&app, "GET", "/v1/me", "/v1/me", Some(&admin), None).await;
    assert_eq!(me["admin"], true);
}

#[tokio::test]
async fn policy_and_request_answers_match_their_schemas() {
    let (app, admin) = (app(), admin());
    let (alice, bob) = (token("alice", &["eng"]), token("bob", &["leads"]));
    let (one, uri) = ("/v1/policies/{name}", "/v1/policies/orders");
    let (status, _) = documented(&app, "PUT", one, uri, Some(&admin), Some(&policy())).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = documented(&app, "PUT", one, uri, Some(&admin), Some(&policy())).await;
    assert_eq!(status, StatusCode::OK);
    // A non-admin's read has notification targets redacted; an admin's has them whole.
    let (_, seen) = documented(&app, "GET", one, uri, Some(&alice), None).await;
    assert_eq!(seen["spec"]["notify"][0]["redacted"], true, "{seen}");
    let (_, seen) = documented(&app, "GET", one, uri, Some(&admin), None).await;
    assert!(seen["spec"]["notify"][0]["webhook"].is_string(), "{seen}");
    documented(&app, "GET", "/v1/policies", "/v1/policies", Some(&alice), None).await;

    let input = json!({"resources": scope(), "ttl": "30m", "reason": "INC-7"});
    let mut ids = Vec::new();
    for _ in 0..3 {
        let (status, r) =
            documented(&app, "POST", "/v1/requests", "/v1/requests", Some(&alice), Some(&input))
                .await;
        assert_eq!((status, r["status"].as_str()), (StatusCode::CREATED, Some("pending")));
        ids.push(r["id"].as_str().unwrap().to_string());
    }
    let queue = "/v1/requests?decidable=true&status=pending&limit=10";
    let (_, q) = documented(&app, "GET", "/v1/requests", queue, Some(&bob), None).await;
    assert_eq!(q["requests"].as_array().unwrap().len(), 3);
    let comment = json!({"comment": "fine"});
    let approve = format!("/v1/requests/{}/approve", ids[0]);
    let (_, r) =
        documented(&app, "POST", "/v1/requests/{id}/approve", &approve, Some(&bob), Some(&comment))
            .await;
    assert!(r["grant"].is_object(), "approved without a grant: {r}");
    let deny = format!("/v1/requests/{}/deny", ids[1]);
    documented(&app, "POST", "/v1/requests/{id}/deny", &deny, Some(&bob), None).await;
    let cancel = format!("/v1/requests/{}/cancel", ids[2]);
    documented(&app, "POST", "/v1/requests/{id}/cancel", &cancel, Some(&alice), None).await;
    let (status, _) =
        documented(&app, "POST", "/v1/requests/{id}/cancel", &cancel, Some(&alice), None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let get = format!("/v1/requests/{}", ids[0]);
    documented(&app, "GET", "/v1/requests/{id}", &get, Some(&alice), None).await;
    let (status, _) = documented(&app, "DELETE", one, uri, Some(&admin), None).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn admin_tool_answers_match_their_schemas() {
    let (app, admin) = (app(), admin());
    let grant = json!({"subject": "user:alice", "resources": scope(), "ttl": "15m", "reason": "INC-9", "incident": "INC-9"});
    documented(&app, "POST", "/v1/grants", "/v1/grants", Some(&admin), Some(&grant)).await;
    let ask = json!({"subject": "user:alice", "groups": ["eng"], "service": "orders", "method": "GET", "path": "/orders/1"});
    let (_, e) =
        documented(&app, "POST", "/v1/explain", "/v1/explain", Some(&admin), Some(&ask)).await;
    assert_eq!(e["decision"]["allowed"], true, "{e}");
    let plan = json!({"documents": [{"manifest": policy()}], "dry_run": true});
    let (_, p) =
        documented(&app, "POST", "/v1/apply", "/v1/apply", Some(&admin), Some(&plan)).await;
    assert_eq!(p["applied"], false);
    let (_, page) =
        documented(&app, "GET", "/v1/audit", "/v1/audit?limit=5&order=asc", Some(&admin), None)
            .await;
    assert!(!page["entries"].as_array().unwrap().is_empty(), "{page}");
    documented(&app, "GET", "/v1/audit/head", "/v1/audit/head", Some(&admin), None).await;
    documented(
        &app,
        "GET",
        "/v1/reports/access",
        "/v1/reports/access?since=1h",
        Some(&admin),
        None,
    )
    .await;
    let resolve = "/v1/incidents/{id}/resolve";
    let (_, r) = documented(
        &app,
        "POST",
        resolve,
        "/v1/incidents/INC-9/resolve",
        Some("incident-tool-token"),
        None,
    )
    .await;
    assert_eq!(r["count"], 1, "{r}");
    documented(&app, "GET", "/healthz", "/healthz", None, None).await;
    documented(&app, "GET", "/readyz", "/readyz", None, None).await;
}

#[tokio::test]
async fn error_answers_match_the_error_schema() {
    let (app, doc) = (app(), doc());
    let alice = token("alice", &["eng"]);
    let bad =
        json!({"subject": "alice", "resources": [], "ttl": "soon", "reason": "x", "colour": 1});
    let cases = [
        ("POST", "/v1/grants", "/v1/grants", None, Some(json!({})), StatusCode::UNAUTHORIZED),
        (
            "POST",
            "/v1/grants",
            "/v1/grants",
            Some(admin()),
            Some(json!({"subject": "alice", "resources": [], "ttl": "soon", "reason": "x"})),
            StatusCode::BAD_REQUEST,
        ),
        ("POST", "/v1/grants", "/v1/grants", Some(admin()), Some(bad), StatusCode::BAD_REQUEST),
        (
            "POST",
            "/v1/grants",
            "/v1/grants",
            Some(alice.clone()),
            Some(
                json!({"subject": "user:alice", "resources": scope(), "ttl": "5m", "reason": "x"}),
            ),
            StatusCode::FORBIDDEN,
        ),
        ("GET", "/v1/grants/{id}", "/v1/grants/nope", Some(admin()), None, StatusCode::NOT_FOUND),
        (
            "GET",
            "/v1/requests",
            "/v1/requests?status=maybe",
            Some(alice.clone()),
            None,
            StatusCode::BAD_REQUEST,
        ),
        ("GET", "/v1/audit", "/v1/audit", Some(alice), None, StatusCode::FORBIDDEN),
    ];
    for (method, template, uri, t, body, want) in cases {
        let (status, e) =
            documented(&app, method, template, uri, t.as_deref(), body.as_ref()).await;
        assert_eq!(status, want, "{method} {uri}: {e}");
        let errors = schema::check(&doc, &doc["components"]["schemas"]["Error"], &e);
        assert!(errors.is_empty(), "{method} {uri}: {errors:?}");
    }
}
