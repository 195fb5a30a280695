//! The web page in a real headless browser (Debian's chromium, driven by playwright-core from
//! `tests/ui/`): request from a 403's hint link → approve from the queue → live grant with
//! time left → revoke → audit trail, the page's authorization refusals, keyboard and phone
//! width; and, in reverse-proxy header mode, that cross-site writes are refused (CSRF).
//! Screenshots land in `target/ui-artifacts/`. A browser that cannot start fails the test.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::jitgate::check_request;
use common::{Jitgate, RedisServer};
use envoy_types::pb::envoy::service::auth::v3::check_response::HttpResponse;
use serde_json::{Value, json};

fn policy(hook: &str) -> Value {
    json!({
        "apiVersion": "jitgate.dev/v1alpha1", "kind": "AccessPolicy", "metadata": {"name": "orders-read"},
        "spec": {
            "resources": [{"service": "orders", "methods": ["GET"], "paths": ["/orders/**"]}],
            "requesters": ["group:eng"], "approvers": ["group:leads"], "min_approvals": 1,
            "max_ttl": "1h", "reason": {"required": true, "pattern": "^INC-[0-9]+"},
            "notify": [{"webhook": hook, "format": "json", "events": ["requested"]}],
        }
    })
}

/// Redis, jitgate and the policy; its `requested` webhooks go to `hook_port` on loopback (the
/// browser script listens there, as an approver's chat would).
async fn stack(env: &[(&str, &str)], hook_port: u16) -> (RedisServer, Jitgate) {
    let redis = RedisServer::start().await;
    let j = Jitgate::start_with(&redis.url(), env, true).await;
    let hook = format!("http://127.0.0.1:{hook_port}/hook");
    let (status, body) = j
        .call("PUT", "/v1/policies/orders-read", Some(&j.admin_token()), Some(policy(&hook)))
        .await;
    assert_eq!(status, 201, "{body}");
    (redis, j)
}

fn ui_dir() -> PathBuf {
    common::repo_file("tests/ui")
}

/// `npm ci` once when `node_modules` is missing (`make deps-ui` normally did it). Tests run
/// as parallel processes, so one installs (holding a lock directory) while the others wait.
fn ensure_packages() {
    let ready = || ui_dir().join("node_modules/playwright-core/package.json").exists();
    let lock = ui_dir().join(".npm-ci.lock");
    for _ in 0..600 {
        if ready() {
            return;
        }
        if std::fs::create_dir(&lock).is_ok() {
            let status = Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(ui_dir())
                .status();
            let _ = std::fs::remove_dir(&lock);
            let status = status.expect("npm must be installed to run the browser tests");
            assert!(status.success(), "npm ci in tests/ui failed: run `make deps-ui`");
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    panic!(
        "tests/ui/node_modules never appeared; remove tests/ui/.npm-ci.lock and run `make deps-ui`"
    );
}

/// Runs one Playwright script; panics with its output unless it passed.
fn run_script(script: &str, env: &[(&str, String)]) -> String {
    ensure_packages();
    assert!(
        Path::new("/usr/bin/chromium").exists() || std::env::var_os("CHROMIUM").is_some(),
        "Debian's chromium is missing: run `make deps-ui` (apt-get install chromium)"
    );
    let artifacts = common::repo_file("target/ui-artifacts");
    let mut cmd = Command::new("node");
    cmd.arg(script).current_dir(ui_dir()).env("UI_ARTIFACTS", &artifacts);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("node must be installed to run the browser tests");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{text}");
    assert!(out.status.success() && text.contains("ALL PASSED"), "{script} failed:\n{text}");
    text
}

/// The `request.ui` link of the 403 a Check gives `token` for GET /orders/7.
async fn hint_link(j: &Jitgate, token: &str) -> String {
    let auth = format!("Bearer {token}");
    let resp =
        j.check(check_request("GET", "/orders/7", "orders", &[("authorization", &auth)])).await;
    let Some(HttpResponse::DeniedResponse(d)) = resp.http_response else {
        panic!("expected a deny, got {resp:?}")
    };
    let body: Value = serde_json::from_str(&d.body).unwrap();
    body["request"]["ui"].as_str().expect("the deny body carries request.ui").to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn page_flow_request_approve_grant_revoke() {
    let hook_port = common::free_port();
    let (_redis, j) = stack(&[], hook_port).await;
    let alice = j.token("alice", &["eng"]);
    let bob = j.token("bob", &["leads"]);
    // An earlier request of Alice's, denied, for the approver's view of her history.
    let body = json!({"resources": [{"service": "orders", "methods": ["GET"], "paths": ["/orders/**"]}], "ttl": "1h", "reason": "INC-4100 export"});
    let (_, earlier) = j.call("POST", "/v1/requests", Some(&alice), Some(body)).await;
    let deny = format!("/v1/requests/{}/deny", earlier["id"].as_str().unwrap());
    let comment = json!({"comment": "INC-4100 is over"});
    let (status, r) = j.call("POST", &deny, Some(&bob), Some(comment)).await;
    assert_eq!(status, 200, "{r}");
    let hint = hint_link(&j, &alice).await;
    let bob_grant = j.grant("user:bob", "orders", &["GET"], &["/orders/1"], "10m").await;
    let alice_grant = j.grant("user:alice", "orders", &["GET"], &["/orders/3"], "10m").await;
    let env = [
        ("BASE", j.base()),
        ("HINT_URL", hint),
        ("ALICE", alice),
        ("BOB", bob),
        ("ADMIN", j.admin_token()),
        ("CAROL", j.token("carol", &["eng"])),
        ("BOB_GRANT", bob_grant),
        ("ALICE_GRANT", alice_grant),
        ("HOOK_PORT", hook_port.to_string()),
    ];
    let out = tokio::task::spawn_blocking(move || run_script("flow.mjs", &env)).await.unwrap();
    for step in [
        "the webhook message links to the request's page",
        "approved with a comment in one click",
        "the audit trail shows grant.revoked",
    ] {
        assert!(out.contains(&format!("ok - {step}")), "missing step {step}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn proxy_header_mode_signs_in_and_refuses_cross_site_writes() {
    let header = "x-forwarded-access-token";
    let (_redis, j) = stack(&[("JITGATE_UI_TOKEN_HEADER", header)], common::free_port()).await;
    let alice = j.token("alice", &["eng"]);
    let bob = j.token("bob", &["leads"]);
    let mut ids = Vec::new();
    for n in 1..=2 {
        let body = json!({"resources": [{"service": "orders", "methods": ["GET"], "paths": [format!("/orders/{n}")]}], "ttl": "15m", "reason": format!("INC-{n}")});
        let (status, r) = j.call("POST", "/v1/requests", Some(&alice), Some(body)).await;
        assert_eq!(status, 201, "{r}");
        ids.push(r["id"].as_str().unwrap().to_string());
    }
    let env = [
        ("BASE", j.base()),
        ("BOB", bob.clone()),
        ("FIRST", ids[0].clone()),
        ("SECOND", ids[1].clone()),
        ("TOKEN_HEADER", header.to_string()),
    ];
    tokio::task::spawn_blocking(move || run_script("proxy.mjs", &env)).await.unwrap();
    let (_, second) = j.call("GET", &format!("/v1/requests/{}", ids[1]), Some(&bob), None).await;
    assert_eq!(second["status"], "pending", "a cross-site write got through: {second}");
    let (_, first) = j.call("GET", &format!("/v1/requests/{}", ids[0]), Some(&bob), None).await;
    assert_eq!(first["status"], "approved", "the page's own approval did not land: {first}");
}
