//! Malformed CheckRequests (SECURITY.md row 49) straight at jitgate's gRPC port: every one is
//! a deny with the stated reason, or refused with RESOURCE_EXHAUSTED; never OK.

use std::collections::HashMap;

use envoy_types::pb::envoy::config::core::v3::{HeaderMap, HeaderValue};
use envoy_types::pb::envoy::service::auth::v3::attribute_context::{HttpRequest, Request};
use envoy_types::pb::envoy::service::auth::v3::authorization_client::AuthorizationClient;
use envoy_types::pb::envoy::service::auth::v3::{AttributeContext, CheckRequest};

use crate::common::jitgate::check_request;
use crate::common::{Jitgate, RedisServer};
use crate::jwt::grpc_reason;
use crate::report::Tally;

/// Refused for size: RESOURCE_EXHAUSTED or OUT_OF_RANGE (tonic's decode cap).
const EXHAUSTED: &str = "refused (size cap)";

fn http(req: &mut CheckRequest) -> &mut HttpRequest {
    req.attributes.as_mut().unwrap().request.as_mut().unwrap().http.as_mut().unwrap()
}

fn raw(auth: &str, headers: Vec<(&str, Vec<u8>)>) -> CheckRequest {
    let mut req = check_request("GET", "/orders/1", "orders", &[("authorization", auth)]);
    let map = headers
        .into_iter()
        .map(|(k, v)| HeaderValue { key: k.into(), raw_value: v, ..Default::default() })
        .collect();
    http(&mut req).header_map = Some(HeaderMap { headers: map });
    req
}

fn cases(auth: &str) -> Vec<(&'static str, CheckRequest, &'static str)> {
    let ok = || check_request("GET", "/orders/1", "orders", &[("authorization", auth)]);
    let with = |f: &dyn Fn(&mut CheckRequest)| {
        let mut r = ok();
        f(&mut r);
        r
    };
    let bearer = auth.as_bytes().to_vec();
    let many: Vec<(String, String)> = (0..5000).map(|i| (format!("x-h-{i}"), "v".into())).collect();
    vec![
        ("control: well-formed request", ok(), "allow"),
        ("no attributes", CheckRequest { attributes: None }, "bad_request"),
        (
            "attributes without request",
            CheckRequest { attributes: Some(AttributeContext::default()) },
            "bad_request",
        ),
        (
            "request without http",
            with(&|r| r.attributes.as_mut().unwrap().request = Some(Request::default())),
            "bad_request",
        ),
        ("empty http attributes", with(&|r| *http(r) = HttpRequest::default()), "bad_request"),
        ("empty method", with(&|r| http(r).method.clear()), "bad_request"),
        ("lowercase method", with(&|r| http(r).method = "get".into()), "bad_request"),
        ("method with a space", with(&|r| http(r).method = "GET /admin".into()), "bad_request"),
        ("method 1 KiB long", with(&|r| http(r).method = "G".repeat(1024)), "bad_request"),
        ("method with a NUL", with(&|r| http(r).method = "GET\0".into()), "bad_request"),
        ("empty path", with(&|r| http(r).path.clear()), "path_rejected"),
        (
            "path without a leading slash",
            with(&|r| http(r).path = "orders/1".into()),
            "path_rejected",
        ),
        ("path with a NUL", with(&|r| http(r).path = "/orders/1\0".into()), "path_rejected"),
        (
            "path with a newline",
            with(&|r| http(r).path = "/orders/1\r\nx: y".into()),
            "path_rejected",
        ),
        ("path with a tab", with(&|r| http(r).path = "/orders/\t1".into()), "path_rejected"),
        ("path with DEL", with(&|r| http(r).path = "/orders/1\u{7f}".into()), "path_rejected"),
        (
            "path with dot segments",
            with(&|r| http(r).path = "/orders/../admin".into()),
            "path_rejected",
        ),
        (
            "path with an encoded slash",
            with(&|r| http(r).path = "/orders/1%2F..%2Fadmin".into()),
            "path_rejected",
        ),
        (
            "absolute-URI path",
            with(&|r| http(r).path = "http://orders/orders/1".into()),
            "path_rejected",
        ),
        ("asterisk path", with(&|r| http(r).path = "*".into()), "path_rejected"),
        (
            "missing context_extensions, hostile host",
            with(&|r| {
                r.attributes.as_mut().unwrap().context_extensions = HashMap::new();
                http(r).host = "orders/..".into();
            }),
            "bad_request",
        ),
        (
            "missing context_extensions, empty host",
            with(&|r| {
                r.attributes.as_mut().unwrap().context_extensions = HashMap::new();
                http(r).host.clear();
            }),
            "bad_request",
        ),
        (
            "missing context_extensions, other host",
            with(&|r| {
                r.attributes.as_mut().unwrap().context_extensions = HashMap::new();
                http(r).host = "billing:443".into();
            }),
            "no_grant",
        ),
        (
            "empty service",
            with(&|r| {
                r.attributes
                    .as_mut()
                    .unwrap()
                    .context_extensions
                    .insert("service".into(), String::new());
            }),
            "bad_request",
        ),
        (
            "service with a slash",
            with(&|r| {
                r.attributes
                    .as_mut()
                    .unwrap()
                    .context_extensions
                    .insert("service".into(), "orders/x".into());
            }),
            "bad_request",
        ),
        (
            "service with upper case",
            with(&|r| {
                r.attributes
                    .as_mut()
                    .unwrap()
                    .context_extensions
                    .insert("service".into(), "Orders".into());
            }),
            "bad_request",
        ),
        (
            "service of another route",
            with(&|r| {
                r.attributes
                    .as_mut()
                    .unwrap()
                    .context_extensions
                    .insert("service".into(), "billing".into());
            }),
            "no_grant",
        ),
        ("no headers at all", with(&|r| http(r).headers.clear()), "token_missing"),
        (
            "5000 headers, no credential",
            with(&|r| {
                http(r).headers.clear();
                http(r).headers.extend(many.clone());
            }),
            "token_missing",
        ),
        (
            "60000 headers (over the size cap)",
            with(&|r| {
                http(r).headers.extend((0..60_000).map(|i| (format!("x-h-{i}"), "v".into())))
            }),
            EXHAUSTED,
        ),
        (
            "non-UTF-8 raw authorization",
            raw(auth, vec![("authorization", [bearer.as_slice(), &[0xc3, 0x28]].concat())]),
            "token_invalid",
        ),
        (
            "raw authorization only invalid UTF-8",
            raw(auth, vec![("authorization", vec![0xff, 0xfe])]),
            "token_invalid",
        ),
        (
            "duplicate raw authorization",
            raw(auth, vec![("authorization", bearer.clone()), ("authorization", bearer.clone())]),
            "token_invalid",
        ),
        (
            "raw AUTHORIZATION upper-case twice",
            raw(auth, vec![("Authorization", bearer.clone()), ("AUTHORIZATION", bearer.clone())]),
            "token_invalid",
        ),
        (
            "raw method override header",
            raw(
                auth,
                vec![
                    ("authorization", bearer.clone()),
                    ("x-http-method-override", b"DELETE".to_vec()),
                ],
            ),
            "method_override",
        ),
        (
            "raw method override, non-UTF-8 value",
            raw(auth, vec![("authorization", bearer.clone()), ("x-method-override", vec![0xff])]),
            "method_override",
        ),
        (
            "query _method override",
            with(&|r| http(r).path = "/orders/1?_method=DELETE".into()),
            "method_override",
        ),
        (
            "4 MiB header value",
            with(&|r| {
                http(r).headers.insert("x-pad".into(), "x".repeat(4 << 20));
            }),
            EXHAUSTED,
        ),
        ("4 MiB body", with(&|r| http(r).body = "b".repeat(4 << 20)), EXHAUSTED),
    ]
}

#[tokio::test]
async fn malformed_check_requests_are_denied_never_ok() {
    let redis = RedisServer::start().await;
    let j = Jitgate::start(&redis.url()).await;
    j.grant("user:alice", "orders", &["GET"], &["/orders/**"], "30m").await;
    let auth = format!("Bearer {}", j.token("alice", &[]));
    let mut client =
        AuthorizationClient::connect(format!("http://127.0.0.1:{}", j.grpc)).await.unwrap();
    let mut tally = Tally::new("check requests");
    for (name, req, want) in cases(&auth) {
        let got = match client.check(req).await {
            Ok(resp) => grpc_reason(&resp.into_inner()),
            // tonic reports its decode size cap as OUT_OF_RANGE; either way Envoy gets a 503.
            Err(status)
                if matches!(
                    status.code(),
                    tonic::Code::ResourceExhausted | tonic::Code::OutOfRange
                ) =>
            {
                EXHAUSTED.into()
            }
            Err(status) => format!("grpc error {:?}", status.code()),
        };
        let leak = got == "allow" && want != "allow";
        tally.record(name, got == want, leak, &format!("got `{got}`, want `{want}`"));
    }
    tally.finish(20);
}
