//! The adoption path end to end, with a real Envoy, redis-server and JWTs: run in shadow mode,
//! read `jitgate report access`, validate and apply its manifests, switch to enforce — and the
//! would-be denies are now allows, while neighbouring paths, methods, services and principals
//! stay denied. Also: the REST endpoint's access rules and errors, and unused grants/policies.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Output;
use std::time::Duration;

use common::{Envoy, Jitgate, RedisServer, Upstream};
use serde_json::{Value, json};

fn ok(o: &Output) -> String {
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(o.status.success(), "{text}{}", String::from_utf8_lossy(&o.stderr));
    text
}

async fn status(envoy: &Envoy, method: &str, path: &str, token: Option<&str>) -> u16 {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = reqwest::Client::new().request(method, envoy.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap().status().as_u16()
}

/// Polls the report until `ready` holds (decision records are written in batches).
async fn report_until(j: &Jitgate, ready: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..50 {
        let (s, r) =
            j.call("GET", "/v1/reports/access?since=1h", Some(&j.admin_token()), None).await;
        assert_eq!(s, 200, "{r}");
        if ready(&r) {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the report never showed the expected use")
}

#[tokio::test]
async fn applying_the_reports_suggestions_turns_exactly_the_would_be_denies_into_allows() {
    let redis = RedisServer::start().await;
    let shadow = Jitgate::start_with(&redis.url(), &[("JITGATE_MODE", "shadow")], true).await;
    let upstream = Upstream::start().await;
    let envoy = Envoy::start(shadow.grpc, upstream.port).await;
    let (alice, bob) = (shadow.token("alice", &["eng"]), shadow.token("bob", &[]));
    // Standing access nobody uses, and a policy nobody uses.
    let idle = shadow.grant("user:carol", "orders", &["GET"], &["/orders/**"], "2h").await;
    let policy = json!({"apiVersion": "jitgate.dev/v1alpha1", "kind": "AccessPolicy",
        "metadata": {"name": "idle"}, "spec": {"resources": [{"service": "orders", "methods": ["GET"], "paths": ["/orders/**"]}],
        "requesters": ["group:eng"], "approvers": ["group:leads"], "max_ttl": "1h"}});
    let (s, _) =
        shadow.call("PUT", "/v1/policies/idle", Some(&shadow.admin_token()), Some(policy)).await;
    assert_eq!(s, 201);

    // A week of use, compressed: every call gets through.
    let used = [
        ("GET", "/orders/7", &alice),
        ("GET", "/orders/8", &alice),
        ("GET", "/orders/9/items", &alice),
        ("POST", "/orders", &alice),
        ("GET", "/datasets/3", &bob),
    ];
    for (method, path, token) in used {
        assert_eq!(status(&envoy, method, path, Some(token)).await, 200, "{method} {path}");
    }
    assert_eq!(status(&envoy, "GET", "/orders/1", None).await, 200);

    let r = report_until(&shadow, |r| {
        r["suggestions"].as_array().is_some_and(|s| s.len() == 2)
            && r["unauthenticated"].as_array().is_some_and(|u| !u.is_empty())
    })
    .await;
    let rows: Vec<String> = r["unmet"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            format!(
                "{} {} {} {} x{}",
                u["principal"].as_str().unwrap(),
                u["service"].as_str().unwrap(),
                u["method"].as_str().unwrap(),
                u["pattern"].as_str().unwrap(),
                u["calls"]
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            "user:alice orders GET /orders/* x2",
            "user:alice orders GET /orders/*/items x1",
            "user:alice orders POST /orders x1",
            "user:bob billing GET /datasets/* x1",
        ]
    );
    assert_eq!(r["unauthenticated"][0]["reasons"]["token_missing"], 1, "{r}");
    let unused: Vec<&str> =
        r["unused_grants"].as_array().unwrap().iter().map(|g| g["id"].as_str().unwrap()).collect();
    assert_eq!(unused, [idle.as_str()]);
    let idle_policies: Vec<&str> = r["unused_policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(idle_policies, ["idle"]);

    // The CLI prints the suggestions as manifests that validate and apply.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("access.yaml");
    let yaml = ok(&shadow.cli(&["report", "access", "--since", "1h", "-o", "yaml"]));
    assert_eq!(yaml.matches("kind: Grant").count(), 2, "{yaml}");
    assert_eq!(yaml.matches("kind: AccessPolicy").count(), 2, "{yaml}");
    std::fs::write(&file, &yaml).unwrap();
    let path = file.to_str().unwrap();
    ok(&shadow.cli(&["validate", "-f", path]));
    // Straight from Redis, the same suggestions.
    let direct = ok(&shadow.cli(&[
        "report",
        "access",
        "--since",
        "1h",
        "-o",
        "yaml",
        "--redis-url",
        &redis.url(),
    ]));
    let specs = |y: &str| {
        let keep = |l: &&str| {
            l.contains("subject:") || (l.trim_start().starts_with("- ") && l.contains('/'))
        };
        y.lines().filter(keep).map(String::from).collect::<Vec<_>>()
    };
    assert!(specs(&yaml).len() >= 6, "{yaml}");
    assert_eq!(specs(&direct), specs(&yaml));
    let table = ok(&shadow.cli(&["report", "access", "--since", "1h"]));
    assert!(table.contains("report-user-alice-orders") && table.contains(&idle), "{table}");
    ok(&shadow.cli(&["apply", "-f", path]));

    // Enforce: the same calls pass, and nothing next to them does.
    let enforce = Jitgate::replica_of(&shadow, &redis.url(), &[]).await;
    let envoy = Envoy::start(enforce.grpc, upstream.port).await;
    for (method, path, token) in used {
        assert_eq!(status(&envoy, method, path, Some(token)).await, 200, "{method} {path}");
    }
    assert_eq!(
        status(&envoy, "GET", "/orders/12345", Some(&alice)).await,
        200,
        "ids fold into `*`"
    );
    let neighbours = [
        ("DELETE", "/orders/7", Some(&alice), 403),
        ("GET", "/orders", Some(&alice), 403),
        ("GET", "/orders/7/items/1", Some(&alice), 403),
        ("GET", "/datasets/3", Some(&alice), 403),
        ("GET", "/orders/7", Some(&bob), 403),
        ("POST", "/datasets/3", Some(&bob), 403),
        ("GET", "/orders/1", None, 401),
    ];
    for (method, path, token, want) in neighbours {
        assert_eq!(
            status(&envoy, method, path, token.map(String::as_str)).await,
            want,
            "{method} {path}"
        );
    }
}

#[tokio::test]
async fn the_report_endpoint_is_for_admins_and_audit_readers_and_names_bad_parameters() {
    let redis = RedisServer::start().await;
    let j = Jitgate::start(&redis.url()).await;
    let path = "/v1/reports/access";
    let (s, _) = j.call("GET", path, None, None).await;
    assert_eq!(s, 401);
    let (s, e) = j.call("GET", path, Some(&j.token("alice", &["eng"])), None).await;
    assert_eq!(s, 403, "{e}");
    assert!(e["message"].as_str().unwrap().contains("only `admins` and `audit.readers`"), "{e}");
    let (s, r) = j.call("GET", path, Some(&j.token("sam", &["security"])), None).await;
    assert_eq!(s, 200, "{r}");
    assert!(r["suggestions"].as_array().unwrap().is_empty());
    let (s, e) = j
        .call(
            "GET",
            &format!("{path}?since=lately&grant_ttl=soon&colour=red"),
            Some(&j.admin_token()),
            None,
        )
        .await;
    assert_eq!(s, 400, "{e}");
    assert_eq!(e["details"].as_array().unwrap().len(), 3, "{e}");
}
