//! JWT corpus (SECURITY.md rows 2–14 and 52): every token through the real Envoy (HTTP status)
//! and straight over gRPC (reason code), for a caller whose grant would allow the request.

use envoy_types::pb::envoy::config::core::v3::{HeaderMap, HeaderValue};
use envoy_types::pb::envoy::service::auth::v3::CheckRequest;
use jsonwebtoken::Algorithm;
use serde_json::{Value, json};

use crate::common::jitgate::check_request;
use crate::jwt_cases::cases;
use crate::report::Tally;
use crate::stack::{Stack, request};

/// One token case: the `Authorization` header values sent, the status Envoy must answer and
/// the reason jitgate must give over gRPC (`allow` for a control case that must pass). The two
/// differ only where Envoy itself refuses or rewrites the header (431, a dropped empty line).
pub struct Case {
    pub name: String,
    pub auth: Vec<Vec<u8>>,
    pub envoy: u16,
    pub grpc: &'static str,
}

/// A CheckRequest carrying `auth` as raw header values, as Envoy sends them.
pub fn raw_check(auth: &[Vec<u8>]) -> CheckRequest {
    let mut req = check_request("GET", "/orders/1", "orders", &[]);
    let http = req.attributes.as_mut().unwrap().request.as_mut().unwrap().http.as_mut().unwrap();
    let headers = auth
        .iter()
        .map(|v| HeaderValue {
            key: "authorization".into(),
            raw_value: v.clone(),
            ..Default::default()
        })
        .chain(std::iter::once(HeaderValue {
            key: "user-agent".into(),
            raw_value: b"bad-inputs".to_vec(),
            ..Default::default()
        }))
        .collect();
    http.header_map = Some(HeaderMap { headers });
    req
}

/// `allow`, or the deny reason in the response's dynamic metadata.
pub fn grpc_reason(resp: &envoy_types::pb::envoy::service::auth::v3::CheckResponse) -> String {
    use envoy_types::pb::google::protobuf::value::Kind;
    if resp.status.as_ref().is_some_and(|s| s.code == 0) {
        return "allow".into();
    }
    let reason = resp.dynamic_metadata.as_ref().and_then(|m| m.fields.get("reason"));
    match reason.and_then(|r| r.kind.as_ref()) {
        Some(Kind::StringValue(s)) => s.clone(),
        _ => "deny".into(),
    }
}

#[tokio::test]
async fn jwt_corpus_never_allows_a_bad_token() {
    let s = Stack::start().await;
    s.jitgate.grant("user:alice", "orders", &["GET"], &["/orders/**"], "30m").await;
    // The JWKS issuer is not the default one: its users' grants name it (SECURITY row 52).
    s.jitgate.grant("user:idp/carol", "orders", &["GET"], &["/orders/**"], "30m").await;
    s.jitgate.grant("group:idp/ops", "orders", &["GET"], &["/orders/**"], "30m").await;
    let trap = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let trap_port = trap.local_addr().unwrap().port();
    let fetched = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = fetched.clone();
    let trap_task = tokio::spawn(async move {
        while let Ok((_conn, _)) = trap.accept().await {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    });
    let mut tally = Tally::new("jwt");
    let mut allowed_expected = 0;
    for case in cases(&s.jitgate.secret, trap_port) {
        let headers: Vec<(&str, &[u8])> =
            case.auth.iter().map(|v| ("Authorization", v.as_slice())).collect();
        let reply = s.send(&request("GET", "/orders/1", &headers, b"")).await;
        let got = grpc_reason(&s.jitgate.check(raw_check(&case.auth)).await);
        let reason_ok = reply.reason().is_empty() || reply.reason() == case.grpc;
        let one_credential =
            reply.status != 200 || reply.upstream_header("authorization").len() == 1;
        let ok = reply.status == case.envoy && got == case.grpc && reason_ok && one_credential;
        let leak =
            (reply.status == 200 && case.envoy != 200) || (got == "allow" && case.grpc != "allow");
        allowed_expected += usize::from(case.envoy == 200);
        let detail = format!(
            "envoy {} (want {}) reason `{}`, grpc `{got}` (want `{}`), upstream saw {} credential(s)",
            reply.status,
            case.envoy,
            reply.reason(),
            case.grpc,
            reply.upstream_header("authorization").len()
        );
        tally.record(&case.name, ok, leak, &detail);
    }
    let hits = s.settled_hits().await;
    tally.require(
        "upstream requests",
        hits == allowed_expected,
        &format!("{hits} != {allowed_expected}"),
    );
    let fetches = fetched.load(std::sync::atomic::Ordering::SeqCst);
    tally.require("jku/x5u never fetched", fetches == 0, &format!("{fetches} connections"));
    trap_task.abort();
    tally.finish(60);
}

/// Shorthand used by the case table.
pub fn one(token: &str) -> Vec<Vec<u8>> {
    vec![format!("Bearer {token}").into_bytes()]
}

pub fn case(name: &str, auth: Vec<Vec<u8>>, envoy: u16, grpc: &'static str) -> Case {
    Case { name: name.into(), auth, envoy, grpc }
}

/// A JWT header with `alg`, `typ: JWT` and `extra` fields.
pub fn header(alg: &str, extra: Value) -> Value {
    let mut h = json!({"alg": alg, "typ": "JWT"});
    if let Value::Object(m) = extra {
        for (k, v) in m {
            h[k] = v;
        }
    }
    h
}

pub const RS: Algorithm = Algorithm::RS256;
pub const ES: Algorithm = Algorithm::ES256;
