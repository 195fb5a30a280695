//! Principals carry their issuer (SECURITY row 52), through a real jitgate that trusts two
//! issuers: the harness issuer, the default (`user:<sub>`), and the JWKS-file issuer named
//! `idp` (`user:idp/<sub>`). One issuer's `alice` never gets the other's grants, neither issuer
//! can mint the other's principals, and the qualified principal is what `/v1/me`, the grant
//! list behind the web page, explain and the audit log show.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use envoy_types::pb::envoy::service::auth::v3::CheckResponse;
use envoy_types::pb::envoy::service::auth::v3::check_response::HttpResponse;
use envoy_types::pb::google::protobuf::value::Kind;
use jsonwebtoken::Algorithm;
use serde_json::json;

use common::jitgate::{check_request, jwks_token};
use common::{Jitgate, RedisServer, wait_until};

/// A token of the `idp` issuer (the JWKS file), for its user `sub`.
fn idp_token(sub: &str) -> String {
    jwks_token(Algorithm::ES256, "ec-1", "ec-test-key.pem", sub)
}

async fn check(j: &Jitgate, token: &str) -> CheckResponse {
    let auth = format!("Bearer {token}");
    j.check(check_request("GET", "/orders/1", "orders", &[("authorization", &auth)])).await
}

fn meta(resp: &CheckResponse, key: &str) -> String {
    let field = resp.dynamic_metadata.as_ref().and_then(|m| m.fields.get(key));
    match field.and_then(|v| v.kind.as_ref()) {
        Some(Kind::StringValue(s)) => s.clone(),
        _ => String::new(),
    }
}

/// `allow`, or the deny reason.
fn outcome(resp: &CheckResponse) -> String {
    if resp.status.as_ref().is_some_and(|s| s.code == 0) {
        "allow".into()
    } else {
        meta(resp, "reason")
    }
}

/// The `x-jitgate-subject` header an allow sends upstream.
fn upstream_subject(resp: &CheckResponse) -> String {
    let Some(HttpResponse::OkResponse(ok)) = &resp.http_response else { panic!("{resp:?}") };
    let headers = ok.headers.iter().filter_map(|h| h.header.as_ref());
    headers.filter(|h| h.key == "x-jitgate-subject").map(|h| h.value.clone()).collect()
}

#[tokio::test]
async fn a_second_issuers_alice_gets_none_of_the_default_issuers_alice_grants() {
    let redis = RedisServer::start().await;
    let j = Jitgate::start(&redis.url()).await;
    j.grant("user:alice", "orders", &["GET"], &["/orders/**"], "15m").await;
    let ours = check(&j, &j.token("alice", &[])).await;
    assert_eq!((outcome(&ours), upstream_subject(&ours)), ("allow".into(), "user:alice".into()));

    let theirs = idp_token("alice");
    assert_eq!(outcome(&check(&j, &theirs).await), "no_grant", "{}", j.log());

    // A grant for the `idp` issuer's alice lets that alice in, under her own principal.
    j.grant("user:idp/alice", "orders", &["GET"], &["/orders/**"], "15m").await;
    let allowed = check(&j, &theirs).await;
    assert_eq!(outcome(&allowed), "allow", "{}", j.log());
    assert_eq!(upstream_subject(&allowed), "user:idp/alice");
}

#[tokio::test]
async fn the_default_issuer_cannot_mint_another_issuers_principals() {
    let redis = RedisServer::start().await;
    let j = Jitgate::start(&redis.url()).await;
    j.grant("user:idp/carol", "orders", &["GET"], &["/orders/**"], "15m").await;
    j.grant("group:idp/ops", "orders", &["GET"], &["/orders/**"], "15m").await;
    assert_eq!(outcome(&check(&j, &idp_token("carol")).await), "allow");

    // The harness issuer signs `sub: idp/carol`: refused, not read as `idp`'s carol.
    let forged = check(&j, &j.token("idp/carol", &[])).await;
    assert_eq!(outcome(&forged), "token_invalid");
    let Some(HttpResponse::DeniedResponse(d)) = &forged.http_response else { panic!() };
    assert!(d.body.contains("`<issuer-name>/<id>`"), "{}", d.body);
    // A group in `idp`'s form is dropped from the harness issuer's token.
    let group = check(&j, &j.token("mallory", &["idp/ops"])).await;
    assert_eq!(outcome(&group), "no_grant");
}

#[tokio::test]
async fn me_grants_explain_and_audit_show_the_issuer_qualified_principal() {
    let redis = RedisServer::start().await;
    let j = Jitgate::start(&redis.url()).await;
    j.grant("user:idp/alice", "orders", &["GET"], &["/orders/**"], "15m").await;
    let theirs = idp_token("alice");

    let (status, me) = j.call("GET", "/v1/me", Some(&theirs), None).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(
        (me["subject"].clone(), me["principals"].clone()),
        (json!("user:idp/alice"), json!(["user:idp/alice"]))
    );

    // The web page lists "my" grants with the subject from `/v1/me`.
    let path = "/v1/grants?subject=user%3Aidp%2Falice";
    let (status, list) = j.call("GET", path, Some(&theirs), None).await;
    assert_eq!(status, 200, "{list}");
    let subjects: Vec<_> =
        list["grants"].as_array().unwrap().iter().map(|g| g["subject"].clone()).collect();
    assert_eq!(subjects, [json!("user:idp/alice")]);

    let body = json!({"subject": "user:idp/alice", "groups": [], "service": "orders", "method": "GET", "path": "/orders/1"});
    let (status, e) = j.call("POST", "/v1/explain", Some(&theirs), Some(body.clone())).await;
    assert_eq!(status, 200, "{e}");
    assert_eq!(
        (e["subject"].clone(), e["decision"]["allowed"].clone()),
        (json!("user:idp/alice"), json!(true))
    );
    // The default issuer's alice may not explain the `idp` issuer's alice.
    let (status, _) = j.call("POST", "/v1/explain", Some(&j.token("alice", &[])), Some(body)).await;
    assert_eq!(status, 403);

    let decision = meta(&check(&j, &theirs).await, "decision_id");
    let filter = format!("/v1/audit?decision={decision}");
    let admin = j.admin_token();
    let recorded = wait_until(Duration::from_secs(5), || async {
        let (_, page) = j.call("GET", &filter, Some(&admin), None).await;
        page["entries"][0]["event"]["subject"] == json!("user:idp/alice")
    })
    .await;
    assert!(recorded, "the audit record names `user:idp/alice`");
}
