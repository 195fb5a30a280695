//! The REST case table. Bodies are bytes, so broken JSON, odd encodings and huge payloads are
//! sent as they are.

use serde_json::{Value, json};

use crate::rest::{Case, Who};

const JSON: &str = "application/json";
const BAD: &str = "invalid_request";

fn grant() -> Value {
    json!({"subject": "user:alice", "resources": [{"service": "orders", "methods": ["GET"], "paths": ["/orders/**"]}], "ttl": "15m", "reason": "INC-42"})
}

/// The good grant body with `key` replaced (`Value::Null` removes it).
fn g(key: &str, value: Value) -> Vec<u8> {
    crate::tokens::edit(grant(), key, value).to_string().into_bytes()
}

/// The good grant body with `resources[0].key` replaced.
fn r(key: &str, value: Value) -> Vec<u8> {
    let mut body = grant();
    body["resources"][0][key] = value;
    body.to_string().into_bytes()
}

fn post(name: &'static str, body: Vec<u8>, status: u16, code: &'static str) -> Case {
    (name, "POST", "/v1/grants".into(), Who::Admin, JSON, body, status, code)
}

fn call(
    name: &'static str,
    method: &'static str,
    path: &str,
    who: Who,
    body: &[u8],
    status: u16,
    code: &'static str,
) -> Case {
    (name, method, path.into(), who, JSON, body.to_vec(), status, code)
}

pub fn cases() -> Vec<Case> {
    let good = grant().to_string().into_bytes();
    let mut v = vec![
        post("invalid JSON", b"{".to_vec(), 400, BAD),
        post("empty body", Vec::new(), 400, BAD),
        post("whitespace body", b"  \n ".to_vec(), 400, BAD),
        post("JSON array", b"[]".to_vec(), 400, BAD),
        post("JSON string", b"\"grant\"".to_vec(), 400, BAD),
        post("JSON null", b"null".to_vec(), 400, BAD),
        // Regression: the first JSON value used to be read and the rest ignored.
        post("trailing garbage", [good.as_slice(), b"}"].concat(), 400, BAD),
        post("two JSON objects", [good.as_slice(), good.as_slice()].concat(), 400, BAD),
        post("UTF-8 BOM", [b"\xef\xbb\xbf".as_slice(), good.as_slice()].concat(), 400, BAD),
        post("non-UTF-8 inside a string", g("reason", json!("__")).iter().map(|&b| if b == b'_' { 0xff } else { b }).collect(), 400, BAD),
        post("nested 10 000 deep", format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)).into_bytes(), 400, BAD),
        post("duplicate key", br#"{"subject":"user:alice","subject":"user:root","resources":[],"ttl":"1m","reason":"x"}"#.to_vec(), 400, BAD),
        post("unknown field", g("admin", json!(true)), 400, BAD),
        post("missing subject", g("subject", Value::Null), 400, BAD),
        post("missing resources", g("resources", Value::Null), 400, BAD),
        post("missing ttl", g("ttl", Value::Null), 400, BAD),
        post("missing reason", g("reason", Value::Null), 400, BAD),
        post("subject a number", g("subject", json!(1)), 400, BAD),
        post("subject without a kind", g("subject", json!("alice")), 400, BAD),
        post("subject with an empty name", g("subject", json!("user:")), 400, BAD),
        post("subject of an unknown kind", g("subject", json!("root:alice")), 400, BAD),
        post("subject with a NUL", g("subject", json!("user:al\u{0}ice")), 400, BAD),
        post("subject with a newline", g("subject", json!("user:alice\nuser:root")), 400, BAD),
        post("subject 10 KB", g("subject", json!(format!("user:{}", "a".repeat(10_000)))), 400, BAD),
        post("resources an object", g("resources", json!({"service": "orders"})), 400, BAD),
        post("resources empty", g("resources", json!([])), 400, BAD),
        post("service upper case", r("service", json!("Orders")), 400, BAD),
        post("service empty", r("service", json!("")), 400, BAD),
        post("service with a slash", r("service", json!("orders/admin")), 400, BAD),
        post("method with a space", r("methods", json!(["GE T"])), 400, BAD),
        post("method with a NUL", r("methods", json!(["GET\u{0}"])), 400, BAD),
        post("methods empty", r("methods", json!([])), 400, BAD),
        post("methods a string", r("methods", json!("GET")), 400, BAD),
        post("path without a leading slash", r("paths", json!(["orders/**"])), 400, BAD),
        post("path with dot-dot", r("paths", json!(["/orders/../admin"])), 400, BAD),
        post("path with an encoded slash", r("paths", json!(["/orders/%2F"])), 400, BAD),
        post("path with ** in the middle", r("paths", json!(["/**/admin"])), 400, BAD),
        post("path with a partial wildcard", r("paths", json!(["/orders/a*"])), 400, BAD),
        post("path with a query", r("paths", json!(["/orders/1?x=1"])), 400, BAD),
        post("path with a NUL", r("paths", json!(["/orders/\u{0}"])), 400, BAD),
        post("paths empty", r("paths", json!([])), 400, BAD),
        post("ttl negative", g("ttl", json!("-5m")), 400, BAD),
        post("ttl zero", g("ttl", json!("0s")), 400, BAD),
        post("ttl absurd", g("ttl", json!("100000h")), 400, BAD),
        post("ttl overflow", g("ttl", json!("99999999999999999999s")), 400, BAD),
        post("ttl a number", g("ttl", json!(900)), 400, BAD),
        post("ttl a word", g("ttl", json!("soon")), 400, BAD),
        post("ttl float", g("ttl", json!("1.5e9s")), 400, BAD),
        post("reason empty", g("reason", json!("  ")), 400, BAD),
        post("reason 100 KB", g("reason", json!("r".repeat(100_000))), 400, BAD),
        post("max_uses zero", g("max_uses", json!(0)), 400, BAD),
        post("max_uses negative", g("max_uses", json!(-1)), 400, BAD),
        post("max_uses a string", g("max_uses", json!("1")), 400, BAD),
        post("max_uses 2^32", g("max_uses", json!(4_294_967_296_u64)), 400, BAD),
        post("incident with a slash", g("incident", json!("../x")), 400, BAD),
        // Regression: axum's plain-text 413 is now a JSON error like every other.
        post("body over 256 KiB", g("reason", json!("r".repeat(300 * 1024))), 413, "payload_too_large"),
        ("wrong content type, broken body", "POST", "/v1/grants".into(), Who::Admin, "text/plain", b"subject=user:alice".to_vec(), 400, BAD),
        ("form content type", "POST", "/v1/grants".into(), Who::Admin, "application/x-www-form-urlencoded", b"subject=user%3Aalice&ttl=15m".to_vec(), 400, BAD),
    ];
    v.extend(auth_cases(&good));
    v.extend(other_endpoints());
    v
}

fn auth_cases(good: &[u8]) -> Vec<Case> {
    let unauth = "unauthenticated";
    vec![
        call("no token", "POST", "/v1/grants", Who::Nobody, good, 401, unauth),
        call("forged token (guessed secret)", "POST", "/v1/grants", Who::Forged, good, 401, unauth),
        call("expired admin token", "POST", "/v1/grants", Who::Expired, good, 401, unauth),
        call(
            "alg none token",
            "POST",
            "/v1/grants",
            Who::Raw("Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJyb290In0."),
            good,
            401,
            unauth,
        ),
        call(
            "Basic credentials",
            "POST",
            "/v1/grants",
            Who::Raw("Basic cm9vdDpyb290"),
            good,
            401,
            unauth,
        ),
        call(
            "two tokens in one header",
            "POST",
            "/v1/grants",
            Who::Raw("Bearer a, Bearer b"),
            good,
            401,
            unauth,
        ),
        call("non-admin creates a grant", "POST", "/v1/grants", Who::Alice, good, 403, "forbidden"),
        call(
            "non-admin lists another's grants",
            "GET",
            "/v1/grants?subject=user:root",
            Who::Alice,
            b"",
            403,
            "forbidden",
        ),
    ]
}

fn other_endpoints() -> Vec<Case> {
    let req = |k: &str, v: Value| {
        let mut b = json!({"resources": [{"service": "orders", "methods": ["GET"], "paths": ["/orders/**"]}], "ttl": "20m", "reason": "INC-1"});
        b = crate::tokens::edit(b, k, v);
        b.to_string().into_bytes()
    };
    let policy = br#"{"apiVersion": "jitgate.dev/v1alpha1", "kind": "AccessPolicy", "metadata": {"name": "p"}, "spec": {"resources": [{"service": "orders", "methods": ["GET"], "paths": ["/orders/**"]}], "requesters": ["group:eng"], "approvers": ["group:leads"], "max_ttl": "-1h"}}"#;
    let bomb = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n";
    let id = "01a22bb4-c7c5-7734-8a81-367cdb2f4bfd";
    vec![
        call(
            "request: invalid JSON",
            "POST",
            "/v1/requests",
            Who::Alice,
            b"{\"resources\":",
            400,
            BAD,
        ),
        call(
            "request: negative ttl",
            "POST",
            "/v1/requests",
            Who::Alice,
            &req("ttl", json!("-1h")),
            400,
            BAD,
        ),
        call(
            "request: no resources",
            "POST",
            "/v1/requests",
            Who::Alice,
            &req("resources", json!([])),
            400,
            BAD,
        ),
        call(
            "request: unknown field",
            "POST",
            "/v1/requests",
            Who::Alice,
            &req("approved", json!(true)),
            400,
            BAD,
        ),
        call(
            "request: subject smuggled in",
            "POST",
            "/v1/requests",
            Who::Alice,
            &req("subject", json!("user:root")),
            400,
            BAD,
        ),
        call(
            "approve an unknown request",
            "POST",
            &format!("/v1/requests/{id}/approve"),
            Who::Admin,
            b"{}",
            404,
            "not_found",
        ),
        call(
            "approve a traversal id",
            "POST",
            "/v1/requests/..%2F..%2Fgrants/approve",
            Who::Admin,
            b"{}",
            404,
            "not_found",
        ),
        call(
            "approve with a broken body",
            "POST",
            &format!("/v1/requests/{id}/approve"),
            Who::Admin,
            b"{",
            400,
            BAD,
        ),
        call(
            "deny an unknown request",
            "POST",
            &format!("/v1/requests/{id}/deny"),
            Who::Admin,
            b"{}",
            404,
            "not_found",
        ),
        call(
            "cancel a garbage id",
            "POST",
            "/v1/requests/%00/cancel",
            Who::Alice,
            b"",
            404,
            "not_found",
        ),
        call(
            "revoke an unknown grant",
            "DELETE",
            &format!("/v1/grants/{id}"),
            Who::Admin,
            b"",
            404,
            "not_found",
        ),
        call(
            "revoke a traversal id",
            "DELETE",
            "/v1/grants/..%2Fpolicies",
            Who::Admin,
            b"",
            404,
            "not_found",
        ),
        call(
            "get a 10 KB grant id",
            "GET",
            &format!("/v1/grants/{}", "a".repeat(10_000)),
            Who::Admin,
            b"",
            404,
            "not_found",
        ),
        call("policy: invalid JSON", "PUT", "/v1/policies/p", Who::Admin, b"{]", 400, BAD),
        call("policy: negative max_ttl", "PUT", "/v1/policies/p", Who::Admin, policy, 400, BAD),
        call(
            "policy: as a non-admin",
            "PUT",
            "/v1/policies/p",
            Who::Alice,
            policy,
            403,
            "forbidden",
        ),
        (
            "policy: YAML alias bomb",
            "PUT",
            "/v1/policies/p".into(),
            Who::Admin,
            "application/yaml",
            bomb.as_bytes().to_vec(),
            400,
            BAD,
        ),
        (
            "policy: YAML not UTF-8",
            "PUT",
            "/v1/policies/p".into(),
            Who::Admin,
            "application/yaml",
            b"kind: \xff".to_vec(),
            400,
            BAD,
        ),
        call(
            "policy: kind Grant",
            "PUT",
            "/v1/policies/p",
            Who::Admin,
            &policy_kind(policy),
            400,
            BAD,
        ),
        call("apply: garbage", "POST", "/v1/apply", Who::Admin, b"{\"documents\": 5}", 400, BAD),
        call(
            "explain: bad subject",
            "POST",
            "/v1/explain",
            Who::Admin,
            br#"{"subject": "nobody", "service": "orders", "method": "GET", "path": "/"}"#,
            400,
            BAD,
        ),
        call("unknown endpoint", "POST", "/v1/grant", Who::Admin, b"{}", 404, "not_found"),
    ]
}

fn policy_kind(policy: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(policy)
        .replace("AccessPolicy", "Grant")
        .replace("-1h", "1h")
        .into_bytes()
}
