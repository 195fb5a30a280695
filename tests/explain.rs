//! `explain` gives the right reason — allowed, no grant, expired, revoked, wrong method, wrong
//! path, uses spent — through `POST /v1/explain` and through `jitgate explain --redis-url`
//! with the API down.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;
use std::time::Duration;

use common::jitgate::check_request;
use common::{Jitgate, RedisServer};
use serde_json::{Value, json};

async fn explain(
    j: &Jitgate,
    token: &str,
    method: &str,
    service: &str,
    path: &str,
) -> (u16, Value) {
    let body = json!({"subject": "user:alice", "groups": [], "service": service, "method": method, "path": path});
    j.call("POST", "/v1/explain", Some(token), Some(body)).await
}

fn fits(e: &Value) -> Vec<String> {
    e["considered"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["fit"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn explain_names_the_reason_for_each_case() {
    let redis = RedisServer::start().await;
    let mut j = Jitgate::start(&redis.url()).await;
    let admin = j.admin_token();
    j.grant("user:alice", "orders", &["GET"], &["/orders/**"], "15m").await;
    j.grant("user:alice", "billing", &["GET"], &["/datasets/**"], "1s").await;
    let revoked = j.grant("user:alice", "payments", &["GET"], &["/p/**"], "15m").await;
    j.revoke(&revoked).await;
    let body = json!({"subject": "user:alice", "resources": [{"service": "reports", "methods": ["GET"], "paths": ["/r/1"]}], "ttl": "15m", "reason": "x", "max_uses": 1});
    assert_eq!(j.call("POST", "/v1/grants", Some(&admin), Some(body)).await.0, 201);
    let auth = format!("Bearer {}", j.token("alice", &[]));
    assert_eq!(
        j.check(check_request("GET", "/r/1", "reports", &[("authorization", &auth)]))
            .await
            .status
            .unwrap()
            .code,
        0
    );
    tokio::time::sleep(Duration::from_millis(1200)).await;

    // (method, service, path) → (decision reason, the fit of the grant for that service)
    let cases = [
        ("GET", "orders", "/orders/1", "allowed", "allows"),
        ("DELETE", "orders", "/orders/1", "no_grant", "wrong_method"),
        ("GET", "orders", "/invoices/1", "no_grant", "wrong_path"),
        ("GET", "billing", "/datasets/1", "grant_expired", "expired"),
        ("GET", "payments", "/p/1", "grant_revoked", "revoked"),
        ("GET", "reports", "/r/1", "grant_used_up", "used_up"),
    ];
    for (method, service, path, reason, fit) in cases {
        let (status, e) = explain(&j, &admin, method, service, path).await;
        assert_eq!(status, 200, "{e}");
        assert_eq!(e["decision"]["reason"], reason, "{method} {service} {path}: {e}");
        let for_service: Vec<&Value> = e["considered"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["grant"]["resources"][0]["service"] == service)
            .collect();
        assert_eq!(for_service[0]["fit"], fit, "{method} {service} {path}: {e}");
    }
    let (_, e) = explain(&j, &admin, "GET", "nothing", "/x").await;
    assert_eq!(e["decision"]["reason"], "no_grant");
    assert!(fits(&e).iter().all(|f| f == "wrong_service"));
    assert_eq!(e["request"]["outcome"], "not_covered");

    // People may explain their own calls, not others'.
    assert_eq!(explain(&j, &j.token("alice", &[]), "GET", "orders", "/orders/1").await.0, 200);
    assert_eq!(explain(&j, &j.token("bob", &[]), "GET", "orders", "/orders/1").await.0, 403);

    // With the API down, the same answers straight from Redis.
    j.stop();
    for (method, service, path, reason, _) in cases {
        let out = Command::new(env!("CARGO_BIN_EXE_jitgate"))
            .args([
                "explain",
                "--subject",
                "user:alice",
                "--service",
                service,
                "--method",
                method,
                "--path",
                path,
            ])
            .args(["--redis-url", &redis.url(), "-o", "json"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        let e: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(e["decision"]["reason"], reason, "--redis-url {method} {service} {path}");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_jitgate"))
        .args(["grants", "list", "--redis-url", &redis.url(), "--subject", "user:alice"])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        table.contains("orders GET /orders/**")
            && table.contains("reports GET /r/1")
            && table.contains("1/1"),
        "{table}"
    );

    // A read-only Redis user is enough for the SRE tooling.
    let mut c = redis.client().await;
    let _: () = redis::cmd("ACL")
        .arg(&["SETUSER", "sre", "on", ">sre-password", "~jitgate:*", "+@read"])
        .query_async(&mut c)
        .await
        .unwrap();
    let url = format!("redis://sre:sre-password@127.0.0.1:{}", redis.port);
    let out = Command::new(env!("CARGO_BIN_EXE_jitgate"))
        .args([
            "explain",
            "--subject",
            "user:alice",
            "--service",
            "payments",
            "--method",
            "GET",
            "--path",
            "/p/1",
            "--redis-url",
            &url,
            "-o",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let e: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(e["decision"]["reason"], "grant_revoked");
    let out = Command::new(env!("CARGO_BIN_EXE_jitgate"))
        .args(["grants", "list", "--redis-url", &url, "-o", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
}
