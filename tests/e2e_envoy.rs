//! End to end through a real Envoy, a real redis-server, jitgate and an upstream: the demo's
//! steps as assertions, plus header, path and outage attacks.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{Envoy, Jitgate, RedisServer, Upstream, raw_get, raw_http};
use serde_json::Value;

struct Stack {
    redis: RedisServer,
    jitgate: Jitgate,
    upstream: Upstream,
    envoy: Envoy,
}

async fn stack_with(redis: RedisServer) -> Stack {
    let jitgate = Jitgate::start(&redis.url()).await;
    let upstream = Upstream::start().await;
    let envoy = Envoy::start(jitgate.grpc, upstream.port).await;
    Stack { redis, jitgate, upstream, envoy }
}

async fn stack() -> Stack {
    stack_with(RedisServer::start().await).await
}

/// GET through Envoy with an optional bearer token; returns status, headers and JSON body.
async fn get(
    s: &Stack,
    path: &str,
    token: Option<&str>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut req = reqwest::Client::new().get(s.envoy.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.expect("request through envoy");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap_or_default();
    (status, headers, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

#[tokio::test]
async fn demo_walkthrough_no_token_no_grant_grant_revoke_expiry() {
    let s = stack().await;
    let alice = s.jitgate.token("alice", &["eng"]);

    // 1. No token: 401 with a challenge; the upstream is never reached.
    let (status, headers, body) = get(&s, "/orders/7", None).await;
    assert_eq!(status, 401, "{body}");
    assert!(
        headers.get("www-authenticate").is_some_and(|v| v.to_str().unwrap().starts_with("Bearer"))
    );
    assert_eq!(body["reason"], "token_missing");
    assert!(headers.get("x-jitgate-decision-id").is_some());
    assert_eq!(body["decision_id"].as_str(), headers["x-jitgate-decision-id"].to_str().ok());

    // 2. Valid token, no grant: 403 naming the missing scope, with a prefilled request.
    let (status, headers, body) = get(&s, "/orders/7?verbose=1", Some(&alice)).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(body["reason"], "no_grant");
    assert_eq!(body["missing"]["service"], "orders");
    assert_eq!(body["missing"]["path"], "/orders/7");
    let hint = &body["request"]["body"]["resources"][0];
    assert_eq!(
        (hint["service"].as_str(), hint["methods"][0].as_str(), hint["paths"][0].as_str()),
        (Some("orders"), Some("GET"), Some("/orders/7"))
    );
    assert!(body["request"]["url"].as_str().unwrap().ends_with("/v1/requests"));
    assert_eq!(s.upstream.hits(), 0);

    // 3. An admin grants GET /orders/** for 15 minutes: allowed, with jitgate's headers.
    let id = s.jitgate.grant("user:alice", "orders", &["GET"], &["/orders/**"], "15m").await;
    let (status, _, body) = get(&s, "/orders/7", Some(&alice)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["headers"]["x-jitgate-subject"], serde_json::json!(["user:alice"]));
    assert_eq!(body["headers"]["x-jitgate-grant-id"], serde_json::json!([id]));
    assert!(body["headers"]["x-jitgate-grant-expires"][0].as_str().unwrap().ends_with('Z'));
    let (status, _, _) = get(&s, "/orders/7", Some(&alice)).await;
    assert_eq!(status, 200);
    let (status, _, body) = get(&s, "/datasets/1", Some(&alice)).await;
    assert_eq!(
        (status, body["reason"].as_str()),
        (403, Some("no_grant")),
        "other services stay closed"
    );

    // 4. Revoked: denied on the very next call.
    s.jitgate.revoke(&id).await;
    let (status, _, body) = get(&s, "/orders/7", Some(&alice)).await;
    assert_eq!((status, body["reason"].as_str()), (403, Some("grant_revoked")), "{body}");

    // 5. A short grant expires by jitgate's clock.
    s.jitgate.grant("user:alice", "orders", &["GET"], &["/orders/**"], "2s").await;
    let (status, _, _) = get(&s, "/orders/8", Some(&alice)).await;
    assert_eq!(status, 200);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (status, _, body) = get(&s, "/orders/8", Some(&alice)).await;
    assert_eq!((status, body["reason"].as_str()), (403, Some("grant_expired")), "{body}");
    assert_eq!(s.envoy.stat("http.ingress.ext_authz.failure_mode_allowed").await, 0);
}

#[tokio::test]
async fn client_sent_jitgate_headers_never_reach_the_upstream() {
    let s = stack().await;
    let alice = s.jitgate.token("alice", &[]);
    let id = s.jitgate.grant("user:alice", "orders", &["GET"], &["/orders/**"], "15m").await;
    let req = reqwest::Client::new()
        .get(s.envoy.url("/orders/1"))
        .bearer_auth(&alice)
        .header("x-jitgate-subject", "user:root")
        .header("x-jitgate-subject", "user:admin")
        .header("x-jitgate-grant-id", "forged")
        .header("x-jitgate-extra", "sneaky");
    let resp = req.send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["headers"]["x-jitgate-subject"], serde_json::json!(["user:alice"]));
    assert_eq!(body["headers"]["x-jitgate-grant-id"], serde_json::json!([id]));
    assert!(body["headers"].get("x-jitgate-extra").is_none(), "{body}");
    // Without a grant the forged subject changes nothing.
    let bob = s.jitgate.token("bob", &[]);
    let req = raw_get(
        "/orders/1",
        &[("authorization", &format!("Bearer {bob}")), ("x-jitgate-subject", "user:alice")],
    );
    let (status, _) = raw_http(s.envoy.port, &req).await;
    assert_eq!(status, 403);
    // Underscore look-alikes are rejected by Envoy outright.
    let req = raw_get(
        "/orders/1",
        &[("authorization", &format!("Bearer {alice}")), ("x_jitgate_subject", "user:root")],
    );
    let (status, _) = raw_http(s.envoy.port, &req).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn duplicate_or_listed_credentials_are_refused() {
    let s = stack().await;
    let alice = s.jitgate.token("alice", &[]);
    s.jitgate.grant("user:alice", "orders", &["GET"], &["/orders/**"], "15m").await;
    let bearer = format!("Bearer {alice}");
    let (status, _) =
        raw_http(s.envoy.port, &raw_get("/orders/1", &[("authorization", &bearer)])).await;
    assert_eq!(status, 200, "baseline");
    let twice = raw_get("/orders/1", &[("authorization", &bearer), ("authorization", &bearer)]);
    let (status, text) = raw_http(s.envoy.port, &twice).await;
    assert_eq!(status, 401, "{text}");
    let listed = format!("{bearer}, {bearer}");
    let (status, _) =
        raw_http(s.envoy.port, &raw_get("/orders/1", &[("authorization", &listed)])).await;
    assert_eq!(status, 401);
    let (status, _) = raw_http(
        s.envoy.port,
        &raw_get("/orders/1", &[("authorization", &bearer), ("x-http-method-override", "DELETE")]),
    )
    .await;
    assert_eq!(status, 400, "method overrides are refused");
    assert_eq!(s.upstream.hits(), 1);
}

#[tokio::test]
async fn path_tricks_never_widen_a_grant() {
    let s = stack().await;
    let alice = s.jitgate.token("alice", &[]);
    s.jitgate.grant("user:alice", "orders", &["GET"], &["/orders/public/**"], "15m").await;
    let auth = format!("Bearer {alice}");
    let (status, _) =
        raw_http(s.envoy.port, &raw_get("/orders/public/1", &[("authorization", &auth)])).await;
    assert_eq!(status, 200, "baseline");
    let corpus = [
        "/orders/public/../private/1",
        "/orders/public/./../private/1",
        "/orders/public/%2e%2e/private/1",
        "/orders/public/%2E%2E/private/1",
        "/orders/public%2F..%2Fprivate/1",
        "/orders/public%2f..%2fprivate/1",
        "/orders/public/..%2Fprivate/1",
        "/orders/public/..%2fprivate/1",
        "/orders/public%5C..%5Cprivate/1",
        "/orders/public/..%5Cprivate/1",
        "/orders/public/%252e%252e/private/1",
        "/orders/public/%252F/../private/1",
        "/orders/public/..;/private/1",
        "/orders/public;/../private/1",
        "/orders/private/1;jsessionid=x",
        "/orders/public/%00/../../private/1",
        "/orders/public/%23/../../private/1",
        "/orders/public/%EF%BC%8F..%EF%BC%8Fprivate",
        "/orders//private/1",
        "/orders/private/1?x=/orders/public/1",
        "/ORDERS/public/1",
    ];
    let mut refused = 0;
    for path in corpus {
        let (status, text) =
            raw_http(s.envoy.port, &raw_get(path, &[("authorization", &auth)])).await;
        assert_ne!(status, 0, "{path}: no response");
        if status == 200 {
            // Allowed only if what the upstream actually received lies inside the grant.
            let body: Value =
                serde_json::from_str(text.split("\r\n\r\n").nth(1).unwrap_or("")).unwrap();
            let seen = body["path"].as_str().unwrap();
            assert!(
                seen.starts_with("/orders/public/") && !seen.contains(".."),
                "{path} reached the upstream as {seen}"
            );
        } else {
            refused += 1;
        }
    }
    assert!(refused >= corpus.len() - 2, "only normalizations that stay inside the grant may pass");
}

#[tokio::test]
async fn redis_outage_denies_with_503_and_recovers_without_restarts() {
    let redis = RedisServer::start_with(&["--appendonly", "yes", "--appendfsync", "always"]).await;
    let mut s = stack_with(redis).await;
    let alice = s.jitgate.token("alice", &[]);
    let bob = s.jitgate.token("bob", &[]);
    s.jitgate.grant("user:alice", "orders", &["GET"], &["/orders/**"], "15m").await;
    assert_eq!(get(&s, "/orders/1", Some(&alice)).await.0, 200);

    s.redis.kill();
    // An uncached caller is refused at once, with 503 and a deny body.
    let (status, _, body) = get(&s, "/orders/1", Some(&bob)).await;
    assert_eq!((status, body["reason"].as_str()), (503, Some("store_unavailable")), "{body}");
    // Past the staleness bound (1 s), cached allows stop too.
    tokio::time::sleep(Duration::from_millis(1300)).await;
    for _ in 0..5 {
        let (status, _, body) = get(&s, "/orders/1", Some(&alice)).await;
        assert_eq!((status, body["reason"].as_str()), (503, Some("store_unavailable")), "{body}");
    }
    assert_eq!(s.envoy.stat("http.ingress.ext_authz.failure_mode_allowed").await, 0);

    s.redis.restart().await;
    let recovered = common::wait_until(Duration::from_secs(10), || async {
        get(&s, "/orders/1", Some(&alice)).await.0 == 200
    })
    .await;
    assert!(recovered, "allows must resume once Redis is back; jitgate log:\n{}", s.jitgate.log());
    assert_eq!(get(&s, "/orders/1", Some(&bob)).await.0, 403);
}

#[tokio::test]
async fn health_route_is_open_and_unknown_routes_stay_closed() {
    let s = stack().await;
    assert_eq!(get(&s, "/healthz", None).await.0, 200);
    let alice = s.jitgate.token("alice", &[]);
    let (status, _, body) = get(&s, "/admin", Some(&alice)).await;
    assert_eq!((status, body["reason"].as_str()), (403, Some("no_grant")));
}

#[tokio::test]
async fn envoy_reaches_jitgate_over_its_unix_socket() {
    let redis = RedisServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("jitgate.sock");
    let socket_env = socket.display().to_string();
    let jitgate =
        Jitgate::start_with(&redis.url(), &[("JITGATE_LISTEN_GRPC_UNIX", &socket_env)], true).await;
    let upstream = Upstream::start().await;
    let envoy = Envoy::start_unix(&socket, upstream.port).await;
    let s = Stack { redis, jitgate, upstream, envoy };
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    let meta = std::fs::metadata(&socket).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o777, 0o660, "owner and group only");
    let alice = s.jitgate.token("alice", &[]);
    let (status, _, body) = get(&s, "/orders/1", Some(&alice)).await;
    assert_eq!((status, body["reason"].as_str()), (403, Some("no_grant")), "{body}");
    s.jitgate.grant("user:alice", "orders", &["GET"], &["/orders/**"], "15m").await;
    let (status, _, body) = get(&s, "/orders/1", Some(&alice)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["headers"]["x-jitgate-subject"], serde_json::json!(["user:alice"]));
    assert_eq!(s.envoy.stat("http.ingress.ext_authz.error").await, 0);
    // jitgate removes its socket when it stops.
    let Stack { mut jitgate, .. } = s;
    assert!(jitgate.stop().expect("was running").success(), "{}", jitgate.log());
    assert!(!socket.exists(), "the socket file outlived jitgate");
}
