//! The Check contract straight over gRPC (no Envoy): response shapes, health, malformed
//! requests, limits, one-time grants under concurrency, and graceful shutdown.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use envoy_types::pb::envoy::config::core::v3::header_value_option::HeaderAppendAction;
use envoy_types::pb::envoy::config::core::v3::{HeaderMap, HeaderValue};
use envoy_types::pb::envoy::service::auth::v3::check_response::HttpResponse;
use envoy_types::pb::envoy::service::auth::v3::{CheckRequest, CheckResponse};
use envoy_types::pb::google::protobuf::value::Kind;
use serde_json::Value;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use common::jitgate::check_request;
use common::{Jitgate, RedisServer, free_port};

fn bearer(t: &str) -> String {
    format!("Bearer {t}")
}

fn meta(resp: &CheckResponse, key: &str) -> Option<String> {
    match resp.dynamic_metadata.as_ref()?.fields.get(key)?.kind.as_ref()? {
        Kind::StringValue(s) => Some(s.clone()),
        _ => None,
    }
}

/// (gRPC code, HTTP status, headers, JSON body) of a deny.
fn denied(resp: &CheckResponse) -> (i32, i32, Vec<(String, String)>, Value) {
    let code = resp.status.as_ref().map_or(-1, |s| s.code);
    let Some(HttpResponse::DeniedResponse(d)) = &resp.http_response else {
        panic!("expected a deny, got {resp:?}")
    };
    let headers = d
        .headers
        .iter()
        .filter_map(|h| h.header.as_ref())
        .map(|h| (h.key.clone(), h.value.clone()))
        .collect();
    (code, d.status.as_ref().map_or(0, |s| s.code), headers, serde_json::from_str(&d.body).unwrap())
}

async fn health(j: &Jitgate) -> ServingStatus {
    let channel = tonic::transport::Channel::from_shared(format!("http://127.0.0.1:{}", j.grpc))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut c = HealthClient::new(channel);
    let r = c.check(HealthCheckRequest { service: String::new() }).await.unwrap().into_inner();
    ServingStatus::try_from(r.status).unwrap()
}

#[tokio::test]
async fn allow_sets_headers_with_explicit_overwrite_and_metadata() {
    let redis = RedisServer::start().await;
    let j = Jitgate::start(&redis.url()).await;
    let id = j.grant("user:alice", "orders", &["GET"], &["/orders/**"], "15m").await;
    let auth = bearer(&j.token("alice", &[]));
    let resp =
        j.check(check_request("GET", "/orders/7", "orders", &[("authorization", &auth)])).await;
    assert_eq!(resp.status.as_ref().map(|s| s.code), Some(0));
    let Some(HttpResponse::OkResponse(ok)) = &resp.http_response else { panic!("{resp:?}") };
    let mut names = Vec::new();
    for h in &ok.headers {
        assert_eq!(h.append_action, HeaderAppendAction::OverwriteIfExistsOrAdd as i32, "{h:?}");
        let hv = h.header.as_ref().unwrap();
        names.push(hv.key.clone());
        if hv.key == "x-jitgate-subject" {
            assert_eq!(hv.value, "user:alice");
        }
        if hv.key == "x-jitgate-grant-id" {
            assert_eq!(hv.value, id);
        }
    }
    assert_eq!(
        names,
        [
            "x-jitgate-subject",
            "x-jitgate-grant-id",
            "x-jitgate-grant-expires",
            "x-jitgate-decision-id"
        ]
    );
    assert_eq!(meta(&resp, "grant_id").as_deref(), Some(id.as_str()));
    let decision = meta(&resp, "decision_id").unwrap();
    assert_eq!(decision.len(), 32);
    // The client sees the same decision id on the response.
    let [added] = ok.response_headers_to_add.as_slice() else { panic!("{ok:?}") };
    let hv = added.header.as_ref().unwrap();
    assert_eq!((hv.key.as_str(), hv.value.as_str()), ("x-jitgate-decision-id", decision.as_str()));
}

#[tokio::test]
async fn asymmetric_tokens_from_a_jwks_file_issuer_are_accepted() {
    use common::jitgate::jwks_token;
    use jsonwebtoken::Algorithm;
    let redis = RedisServer::start().await;
    let j = Jitgate::start(&redis.url()).await;
    // The JWKS issuer is not the default one: its principals carry its name.
    j.grant("user:idp/carol", "orders", &["GET"], &["/orders/**"], "15m").await;
    for (alg, kid, pem) in [
        (Algorithm::RS256, "rsa-1", "rsa-test-key.pem"),
        (Algorithm::ES256, "ec-1", "ec-test-key.pem"),
        (Algorithm::EdDSA, "ed-1", "ed25519-test-key.pem"),
    ] {
        let auth = bearer(&jwks_token(alg, kid, pem, "carol"));
        let resp =
            j.check(check_request("GET", "/orders/1", "orders", &[("authorization", &auth)])).await;
        assert_eq!(resp.status.map(|s| s.code), Some(0), "{alg:?}");
    }
    // The right key under the wrong kid, and an RSA key used for HS256, are refused.
    let auth = bearer(&jwks_token(Algorithm::ES256, "rsa-1", "ec-test-key.pem", "carol"));
    let (_, status, _, _) = denied(
        &j.check(check_request("GET", "/orders/1", "orders", &[("authorization", &auth)])).await,
    );
    assert_eq!(status, 401);
}

#[tokio::test]
async fn every_deny_is_a_normal_response_with_a_json_body() {
    let redis = RedisServer::start().await;
    let j = Jitgate::start(&redis.url()).await;
    let auth = bearer(&j.token("alice", &[]));
    let cases: Vec<(CheckRequest, i32, i32, &str)> = vec![
        (check_request("GET", "/orders/7", "orders", &[]), 16, 401, "token_missing"),
        (
            check_request("GET", "/orders/7", "orders", &[("authorization", "Bearer x.y.z")]),
            16,
            401,
            "token_invalid",
        ),
        (
            check_request("GET", "/orders/7", "orders", &[("authorization", &auth)]),
            7,
            403,
            "no_grant",
        ),
        (
            check_request("GET", "/orders/%2e%2e/admin", "orders", &[("authorization", &auth)]),
            3,
            400,
            "path_rejected",
        ),
        (
            check_request("GET", "/orders/7", "Not A Service", &[("authorization", &auth)]),
            3,
            400,
            "bad_request",
        ),
        (
            check_request("GET", "/orders/7?_method=DELETE", "orders", &[("authorization", &auth)]),
            3,
            400,
            "method_override",
        ),
        (CheckRequest { attributes: None }, 3, 400, "bad_request"),
    ];
    for (req, grpc_code, http, reason) in cases {
        let resp = j.check(req).await;
        let (code, status, headers, body) = denied(&resp);
        assert_eq!(
            (code, status, body["reason"].as_str()),
            (grpc_code, http, Some(reason)),
            "{body}"
        );
        let header = |k: &str| headers.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        assert_eq!(header("content-type").as_deref(), Some("application/json"));
        assert_eq!(
            header("x-jitgate-decision-id"),
            body["decision_id"].as_str().map(str::to_string)
        );
        assert_eq!(header("www-authenticate").is_some(), http == 401, "{reason}");
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
        assert_eq!(meta(&resp, "reason").as_deref(), Some(reason));
    }
}

#[tokio::test]
async fn non_utf8_credentials_and_duplicate_raw_headers_are_refused() {
    let redis = RedisServer::start().await;
    let j = Jitgate::start(&redis.url()).await;
    j.grant("user:alice", "orders", &["GET"], &["/orders/**"], "15m").await;
    let auth = bearer(&j.token("alice", &[]));
    let raw = |headers: Vec<(&str, Vec<u8>)>| {
        let mut req = check_request("GET", "/orders/7", "orders", &[]);
        let http =
            req.attributes.as_mut().unwrap().request.as_mut().unwrap().http.as_mut().unwrap();
        http.header_map = Some(HeaderMap {
            headers: headers
                .into_iter()
                .map(|(k, v)| HeaderValue { key: k.into(), raw_value: v, ..Default::default() })
                .collect(),
        });
        req
    };
    let ok = j.check(raw(vec![("authorization", auth.clone().into_bytes())])).await;
    assert_eq!(ok.status.unwrap().code, 0, "raw headers are read");
    let mut bad = auth.clone().into_bytes();
    bad.push(0xff);
    let (_, status, _, body) = denied(&j.check(raw(vec![("authorization", bad)])).await);
    assert_eq!((status, body["reason"].as_str()), (401, Some("token_invalid")));
    let twice =
        vec![("authorization", auth.clone().into_bytes()), ("authorization", auth.into_bytes())];
    let (_, status, _, _) = denied(&j.check(raw(twice)).await);
    assert_eq!(status, 401);
}

#[tokio::test]
async fn oversized_check_requests_are_refused_not_allowed() {
    let redis = RedisServer::start().await;
    let j = Jitgate::start(&redis.url()).await;
    let big = "x".repeat(300 * 1024);
    let req = check_request("GET", "/orders/7", "orders", &[("x-padding", &big)]);
    let mut client = envoy_types::pb::envoy::service::auth::v3::authorization_client::AuthorizationClient::connect(
        format!("http://127.0.0.1:{}", j.grpc),
    )
    .await
    .unwrap();
    let err = client.check(req).await.expect_err("a 300 KiB CheckRequest must be refused");
    assert!(
        matches!(err.code(), tonic::Code::ResourceExhausted | tonic::Code::OutOfRange),
        "{err:?}"
    );
}

#[tokio::test]
async fn not_serving_until_redis_answers_and_denies_meanwhile() {
    let port = free_port();
    let j = Jitgate::start_with(&format!("redis://127.0.0.1:{port}"), &[], false).await;
    assert_eq!(health(&j).await, ServingStatus::NotServing);
    assert_eq!(j.call("GET", "/readyz", None, None).await.0, 503);
    let auth = bearer(&j.token("alice", &[]));
    let (_, status, _, body) =
        denied(&j.check(check_request("GET", "/o", "orders", &[("authorization", &auth)])).await);
    assert_eq!((status, body["reason"].as_str()), (503, Some("store_unavailable")));

    let _redis = RedisServer::start_on(port, &[]).await;
    let serving = common::wait_until(Duration::from_secs(10), || async {
        health(&j).await == ServingStatus::Serving
    })
    .await;
    assert!(serving, "health must turn SERVING once Redis answers");
    assert_eq!(j.call("GET", "/readyz", None, None).await.0, 200);
}

#[tokio::test]
async fn a_one_time_grant_allows_exactly_once_under_50_concurrent_checks() {
    let redis = RedisServer::start().await;
    let j = Jitgate::start(&redis.url()).await;
    let body = serde_json::json!({
        "subject": "user:alice",
        "resources": [{"service": "billing", "methods": ["DELETE"], "paths": ["/datasets/7"]}],
        "ttl": "5m", "reason": "CHG-1", "max_uses": 1,
    });
    let (status, grant) = j.call("POST", "/v1/grants", Some(&j.admin_token()), Some(body)).await;
    assert_eq!(status, 201, "{grant}");
    let auth = bearer(&j.token("alice", &[]));
    let checks: Vec<_> = (0..50)
        .map(|_| {
            let req = check_request("DELETE", "/datasets/7", "billing", &[("authorization", &auth)]);
            let addr = format!("http://127.0.0.1:{}", j.grpc);
            tokio::spawn(async move {
                let mut c = envoy_types::pb::envoy::service::auth::v3::authorization_client::AuthorizationClient::connect(addr).await.unwrap();
                c.check(req).await.unwrap().into_inner()
            })
        })
        .collect();
    let mut allowed = 0;
    for c in checks {
        let resp = c.await.unwrap();
        match resp.status.as_ref().map(|s| s.code) {
            Some(0) => allowed += 1,
            _ => assert_eq!(denied(&resp).3["reason"], "grant_used_up"),
        }
    }
    assert_eq!(allowed, 1);
    let (_, g) = j
        .call(
            "GET",
            &format!("/v1/grants/{}", grant["id"].as_str().unwrap()),
            Some(&j.admin_token()),
            None,
        )
        .await;
    assert_eq!((g["uses"].as_u64(), g["status"].as_str()), (Some(1), Some("exhausted")));
}

#[tokio::test]
async fn sigterm_shuts_down_cleanly() {
    let redis = RedisServer::start().await;
    let mut j = Jitgate::start(&redis.url()).await;
    let status = j.stop().expect("was running");
    assert!(status.success(), "exit status {status:?}; log:\n{}", j.log());
    assert!(j.log().contains("jitgate stopped"));
}
