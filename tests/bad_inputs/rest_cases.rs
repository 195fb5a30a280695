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

pub fn call(
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
        // Regression: serde reads a struct from an array of its fields in order.
        post(
            "grant as a JSON array of its fields",
            br#"["user:alice", [{"service": "orders", "methods": ["GET"], "paths": ["/orders/**"]}], "15m", "INC-42", null, null]"#.to_vec(),
            400,
            BAD,
        ),
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
        post("reason 10 KB", g("reason", json!("r".repeat(10_000))), 400, BAD),
        post("max_uses zero", g("max_uses", json!(0)), 400, BAD),
        post("max_uses negative", g("max_uses", json!(-1)), 400, BAD),
        post("max_uses a string", g("max_uses", json!("1")), 400, BAD),
        post("max_uses 2^32", g("max_uses", json!(4_294_967_296_u64)), 400, BAD),
        post("incident with a slash", g("incident", json!("../x")), 400, BAD),
        // Regression: axum's plain-text 413 is now a JSON error like every other.
        post("body over 64 KiB", g("reason", json!("r".repeat(70 * 1024))), 413, "payload_too_large"),
        ("wrong content type, broken body", "POST", "/v1/grants".into(), Who::Admin, "text/plain", b"subject=user:alice".to_vec(), 400, BAD),
        ("form content type", "POST", "/v1/grants".into(), Who::Admin, "application/x-www-form-urlencoded", b"subject=user%3Aalice&ttl=15m".to_vec(), 400, BAD),
    ];
    v.extend(crate::rest_endpoints::auth_cases(&good));
    v.extend(crate::rest_endpoints::other_endpoints());
    v
}
