//! `GET /openapi.json` and the truth of the document it serves: every documented operation
//! is routed and secured as documented, every route in `src/api/mod.rs` is documented, the
//! README's REST API table and the document list the same operations, real answers (and
//! errors) match their schemas, and the document is well formed (`$ref`s resolve, unique
//! `operationId`s, a 2xx answer for each operation).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "openapi/schema.rs"]
mod schema;

use std::collections::BTreeSet;

use axum::http::StatusCode;
use common::router::{admin, app, call};
use serde_json::{Value, json};

const METHODS: [&str; 8] = ["get", "put", "post", "delete", "patch", "head", "options", "trace"];

fn doc() -> Value {
    serde_json::from_str(jitgate::api::openapi::document()).expect("the document is not JSON")
}

/// Every (path template, method, operation) in the document.
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("no paths") {
        for m in METHODS.iter().filter(|m| item.get(**m).is_some()) {
            out.push((path.clone(), m.to_string(), item[*m].clone()));
        }
    }
    out
}

/// `/v1/grants/{id}` → `/v1/grants/dummy`.
fn fill(template: &str) -> String {
    template
        .split('/')
        .map(|s| if s.starts_with('{') { "dummy" } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

fn is_fallback(status: StatusCode, body: &Value) -> bool {
    status == StatusCode::NOT_FOUND
        && body["message"].as_str().is_some_and(|m| m.starts_with("no such endpoint"))
}

#[tokio::test]
async fn openapi_json_is_served_as_openapi_3_1_with_the_crate_version() {
    let (status, body, headers) = call(&app(), "GET", "/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(headers["content-type"], "application/json");
    let version = body["openapi"].as_str().expect("no `openapi` field");
    assert!(version.starts_with("3.1."), "openapi is {version}, want 3.1.x");
    assert_eq!(body["info"]["version"], env!("CARGO_PKG_VERSION"));
    assert!(body["info"]["title"].is_string());
    assert_eq!(body["servers"], json!([{"url": "/"}]));
    assert_eq!(body, doc(), "the served document is not the embedded one");
}

#[tokio::test]
async fn every_documented_operation_is_routed() {
    let app = app();
    let (status, body, _) = call(&app, "GET", "/v1/no-such-thing", None, None).await;
    assert!(is_fallback(status, &body), "the fallback changed: {status} {body}");
    let (admin, doc) = (admin(), doc());
    for (path, method, _) in operations(&doc) {
        let body = matches!(method.as_str(), "post" | "put").then_some("{}");
        let uri = fill(&path);
        let (status, answer, _) =
            call(&app, &method.to_uppercase(), &uri, Some(&admin), body).await;
        assert!(!is_fallback(status, &answer), "{method} {path}: not routed: {answer}");
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}: method not routed");
    }
}

#[tokio::test]
async fn every_operation_is_secured_as_documented() {
    let (app, doc) = (app(), doc());
    for (path, method, op) in operations(&doc) {
        let secured = op["security"] == json!([{"bearer": []}]);
        assert_eq!(
            secured,
            path.starts_with("/v1/"),
            "{method} {path}: security {}",
            op["security"]
        );
        if !secured {
            assert_eq!(op["security"], json!([]), "{method} {path}: say `security: []`");
        }
        let body = matches!(method.as_str(), "post" | "put").then_some("{}");
        let (status, answer, _) =
            call(&app, &method.to_uppercase(), &fill(&path), None, body).await;
        assert_eq!(
            status == StatusCode::UNAUTHORIZED,
            secured,
            "{method} {path} without a token answered {status}: {answer}"
        );
    }
    let schemes = &doc["components"]["securitySchemes"]["bearer"];
    assert_eq!((&schemes["type"], &schemes["scheme"]), (&json!("http"), &json!("bearer")));
}

/// `(METHOD, /path)` for every endpoint in the README's REST API table; `, /deny` cells name
/// a sibling of the previous path, query strings are dropped.
fn readme_endpoints() -> BTreeSet<(String, String)> {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = readme.split("\n## REST API\n").nth(1).expect("no REST API section");
    let section = section.split("\n## ").next().unwrap();
    let mut out = BTreeSet::new();
    for row in section.lines().filter(|l| l.starts_with("| `")) {
        let cell = row.split('|').nth(1).unwrap();
        let (mut method, mut last) = (String::new(), String::new());
        for code in cell.split('`').skip(1).step_by(2) {
            let code = code.split('?').next().unwrap();
            let path = match code.split_once(' ') {
                Some((m, p)) => {
                    method = m.to_string();
                    p.to_string()
                }
                None => format!("{}{code}", &last[..last.rfind('/').unwrap()]),
            };
            out.insert((method.clone(), path.clone()));
            last = path;
        }
    }
    out
}

#[test]
fn the_readme_table_and_the_document_list_the_same_operations() {
    let readme = readme_endpoints();
    assert!(readme.len() > 20, "the README table parsed to only {readme:?}");
    let documented: BTreeSet<(String, String)> =
        operations(&doc()).into_iter().map(|(p, m, _)| (m.to_uppercase(), p)).collect();
    let missing: Vec<_> = readme.difference(&documented).collect();
    assert!(missing.is_empty(), "in the README table but not in openapi.json: {missing:?}");
    let extra: Vec<_> = documented.difference(&readme).collect();
    assert!(extra.is_empty(), "in openapi.json but not in the README table: {extra:?}");
}

/// `(METHOD, /path)` for every `.route("/path", get(..).post(..))` in `src/api/mod.rs` (the
/// web page's own routes, merged from `ui`, are documented as `GET /ui/` alone).
fn routed_endpoints() -> BTreeSet<(String, String)> {
    let src =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/api/mod.rs")).unwrap();
    let mut out = BTreeSet::new();
    for chunk in src.split(".route(").skip(1) {
        let path = chunk.split('"').nth(1).unwrap();
        let call = &chunk[..chunk.find("\n        .").unwrap_or(chunk.len())];
        for m in ["get", "post", "put", "delete", "patch"] {
            let routed = call.match_indices(&format!("{m}(")).any(|(i, _)| {
                !matches!(call[..i].chars().last(), Some(c) if c == ':' || c.is_alphanumeric() || c == '_')
            });
            if routed {
                out.insert((m.to_uppercase(), path.to_string()));
            }
        }
    }
    out
}

#[test]
fn every_route_in_the_router_is_documented() {
    let routed = routed_endpoints();
    assert!(routed.len() > 20, "src/api/mod.rs parsed to only {routed:?}");
    let documented: BTreeSet<(String, String)> =
        operations(&doc()).into_iter().map(|(p, m, _)| (m.to_uppercase(), p)).collect();
    let missing: Vec<_> = routed.difference(&documented).collect();
    assert!(missing.is_empty(), "routed in src/api/mod.rs but not in openapi.json: {missing:?}");
    let ui = [("GET".to_string(), "/ui/".to_string())];
    let unrouted: Vec<_> = documented.difference(&routed).filter(|e| !ui.contains(e)).collect();
    assert!(unrouted.is_empty(), "in openapi.json but not routed in src/api/mod.rs: {unrouted:?}");
}

#[test]
fn the_document_is_well_formed() {
    let doc = doc();
    let mut refs = Vec::new();
    schema::refs(&doc, "#", &mut refs);
    assert!(refs.len() > 50);
    for (at, r) in &refs {
        assert!(schema::resolve(&doc, r).is_some(), "{at}: $ref {r} does not resolve");
    }
    let mut ids = BTreeSet::new();
    for (path, method, op) in operations(&doc) {
        let id = op["operationId"].as_str().unwrap_or_else(|| panic!("{method} {path}: no id"));
        assert!(ids.insert(id.to_string()), "{method} {path}: operationId `{id}` is used twice");
        assert!(op["summary"].is_string() && op["description"].is_string(), "{method} {path}");
        let codes: Vec<&String> = op["responses"].as_object().unwrap().keys().collect();
        assert!(codes.iter().any(|c| c.starts_with('2')), "{method} {path}: no 2xx in {codes:?}");
        let mut params: Vec<Value> =
            doc["paths"][&path]["parameters"].as_array().cloned().unwrap_or_default();
        params.extend(op["parameters"].as_array().cloned().unwrap_or_default());
        for name in path.split('/').filter_map(|s| s.strip_prefix('{')?.strip_suffix('}')) {
            let declared = params.iter().any(|p| p["name"] == name && p["in"] == "path");
            assert!(declared, "{method} {path}: path parameter `{name}` is not declared");
        }
    }
    for name in [
        "Error",
        "Scope",
        "Grant",
        "GrantInput",
        "AccessRequest",
        "RequestInput",
        "DecisionBody",
        "Policy",
        "ApplyInput",
        "ApplyPlan",
        "ExplainInput",
        "Explanation",
        "AuditEntry",
        "AuditPage",
        "Me",
        "AccessReport",
    ] {
        assert!(doc["components"]["schemas"][name].is_object(), "no schema `{name}`");
    }
}

#[path = "openapi/answers.rs"]
mod answers;

#[test]
fn the_schema_checker_catches_what_it_should() {
    let doc = doc();
    let grant = &json!({"$ref": "#/components/schemas/Grant"});
    let found = |v: Value| schema::check(&doc, grant, &v).join("; ");
    let mut g = json!({"id": "g1", "subject": "user:a", "resources": [], "created_at": "t",
        "expires_at": "t", "created_by": "user:b", "approved_by": [], "reason": "r",
        "max_uses": null, "uses": 0, "last_used_at": null, "source": "api",
        "status": "active", "expires_in_seconds": 5});
    assert_eq!(found(g.clone()), "");
    g["status"] = json!("asleep");
    assert!(found(g.clone()).contains("not one of"));
    g["status"] = json!("active");
    g["uses"] = json!("0");
    assert!(found(g.clone()).contains("expected type"));
    g["uses"] = json!(0);
    g["colour"] = json!("red");
    assert!(found(g.clone()).contains("`colour` is not in the schema"));
    g.as_object_mut().unwrap().remove("colour");
    g.as_object_mut().unwrap().remove("status");
    assert!(found(g).contains("missing required `status`"));
}

#[path = "openapi/bodies.rs"]
mod bodies;
