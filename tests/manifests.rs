//! `jitgate apply` and `jitgate validate` round trips against a real Redis: plan, apply,
//! re-apply (nothing changes), update, prune (never request grants), standing rules, and
//! invalid manifests that change nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{Jitgate, RedisServer};
use serde_json::{Value, json};

fn repo(rel: &str) -> String {
    common::repo_file(rel).display().to_string()
}

/// `apply -o json`: the plan's (kind/name, action) pairs.
fn actions(out: &Output) -> Vec<(String, String)> {
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    report["plan"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                format!("{}/{}", i["kind"].as_str().unwrap(), i["name"].as_str().unwrap()),
                i["action"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

async fn manifest_grants(j: &Jitgate) -> Vec<String> {
    let (_, body) = j.call("GET", "/v1/grants?source=manifest", Some(&j.admin_token()), None).await;
    let mut ids: Vec<String> = body["grants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

#[tokio::test]
async fn apply_plans_applies_and_reapplies_without_changes() {
    let redis = RedisServer::start().await;
    let j = Jitgate::start(&redis.url()).await;
    let dir = repo("deploy/manifests");

    let plan = actions(&j.cli(&["apply", "-f", &dir, "--dry-run", "-o", "json"]));
    assert!(plan.iter().all(|(_, a)| a == "create"), "{plan:?}");
    assert_eq!(plan.len(), 5);
    assert!(manifest_grants(&j).await.is_empty(), "a dry run changes nothing");

    let applied = actions(&j.cli(&["apply", "-f", &dir, "-o", "json"]));
    assert_eq!(applied.len(), 5);
    assert_eq!(
        manifest_grants(&j).await,
        ["manifest-release-train", "manifest-reporting-exporter"]
    );
    let (_, g) =
        j.call("GET", "/v1/grants/manifest-reporting-exporter", Some(&j.admin_token()), None).await;
    assert_eq!((g["standing"].as_bool(), g["source"].as_str()), (Some(true), Some("manifest")));
    assert!(
        g["expires_in_seconds"].as_u64().unwrap() > 300 * 24 * 3600,
        "standing grants still carry an expiry"
    );

    let again = actions(&j.cli(&["apply", "-f", &dir, "-o", "json"]));
    assert!(again.iter().all(|(_, a)| a == "unchanged"), "re-applying changes nothing: {again:?}");
    let text = String::from_utf8_lossy(&j.cli(&["apply", "-f", &dir]).stdout).to_string();
    assert!(text.contains("nothing to change"), "{text}");
}

#[tokio::test]
async fn updates_show_a_diff_and_prune_spares_request_grants() {
    let redis = RedisServer::start().await;
    let j = Jitgate::start(&redis.url()).await;
    let dir = tempfile::tempdir().unwrap();
    let policies = std::fs::read_to_string(repo("deploy/manifests/policies.yaml")).unwrap();
    let grants = std::fs::read_to_string(repo("deploy/manifests/grants.yaml")).unwrap();
    let p = write(dir.path(), "policies.yaml", &policies);
    let g = write(dir.path(), "grants.yaml", &grants);
    actions(&j.cli(&["apply", "-f", &p, "-f", &g, "-o", "json"]));

    // A request grant (auto-approved read-only access) must survive any prune.
    let alice = j.token("alice", &["eng"]);
    let body = json!({"resources": [{"service": "orders", "methods": ["GET"], "paths": ["/orders/**"]}], "ttl": "20m", "reason": "INC-1"});
    let (status, r) = j.call("POST", "/v1/requests", Some(&alice), Some(body)).await;
    assert_eq!((status, r["status"].as_str()), (201, Some("approved")), "{r}");

    let g = write(
        dir.path(),
        "grants.yaml",
        grants.replace("ttl: 8h", "ttl: 6h").split("---").next().unwrap(),
    );
    let out = j.cli(&["apply", "-f", &p, "-f", &g, "--prune"]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        text.contains("grant/release-train") && text.contains("~ spec.ttl: \"8h\" → \"6h\""),
        "{text}"
    );
    assert!(text.contains("grant/reporting-exporter") && text.contains("delete"), "{text}");
    assert_eq!(manifest_grants(&j).await, ["manifest-release-train"]);
    let (_, req_grant) = j
        .call(
            "GET",
            &format!("/v1/grants/{}", r["grant_id"].as_str().unwrap()),
            Some(&j.admin_token()),
            None,
        )
        .await;
    assert_eq!(req_grant["status"], "active", "prune never touches request grants");
    // Pruning policies: only manifest-managed ones go.
    let only_orders = policies.split("---").next().unwrap().to_string();
    let p = write(dir.path(), "policies.yaml", &only_orders);
    let plan =
        actions(&j.cli(&["apply", "-f", &p, "-f", &g, "--prune", "--dry-run", "-o", "json"]));
    assert!(plan.contains(&("AccessPolicy/billing-datasets".into(), "delete".into())), "{plan:?}");
}

#[tokio::test]
async fn a_revoked_manifest_grant_is_not_quietly_recreated() {
    let redis = RedisServer::start().await;
    let j = Jitgate::start(&redis.url()).await;
    let dir = repo("deploy/manifests");
    actions(&j.cli(&["apply", "-f", &dir, "-o", "json"]));
    j.revoke("manifest-release-train").await;
    let plan = actions(&j.cli(&["apply", "-f", &dir, "-o", "json"]));
    assert!(plan.contains(&("Grant/release-train".into(), "skip".into())), "{plan:?}");
    let (_, g) =
        j.call("GET", "/v1/grants/manifest-release-train", Some(&j.admin_token()), None).await;
    assert_eq!(g["status"], "revoked");
}

#[tokio::test]
async fn invalid_manifests_give_precise_errors_and_change_nothing() {
    let redis = RedisServer::start().await;
    let j = Jitgate::start(&redis.url()).await;
    let dir = tempfile::tempdir().unwrap();
    let grants = std::fs::read_to_string(repo("deploy/manifests/grants.yaml")).unwrap();
    let bad = grants.replacen("ttl: 8h", "ttl: eight hours", 1).replacen(
        "methods: [GET]",
        "methods: [GET]\n      colour: blue",
        1,
    );
    let f = write(dir.path(), "grants.yaml", &bad);
    let p = repo("deploy/manifests/policies.yaml");
    let out = j.cli(&["apply", "-f", &p, "-f", &f]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(err.contains("nothing was changed"), "{err}");
    assert!(
        err.contains(
            "grants.yaml` document 1 line 13: `spec.ttl`: `eight hours` is not a duration"
        ),
        "{err}"
    );
    assert!(
        err.contains("document 2 line 25: `spec.resources[0].colour`: unknown field `colour`"),
        "{err}"
    );
    assert!(manifest_grants(&j).await.is_empty());
    let (_, policies) = j.call("GET", "/v1/policies", Some(&j.admin_token()), None).await;
    assert_eq!(
        policies["policies"].as_array().unwrap().len(),
        0,
        "valid documents are not applied either"
    );

    // Standing access needs a policy that allows it, checked against the server's policies.
    let standing = grants.split("---").nth(1).unwrap().to_string();
    let f = write(dir.path(), "standing.yaml", &standing);
    let out = j.cli(&["apply", "-f", &f]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no policy allows standing access"));
    assert!(manifest_grants(&j).await.is_empty());
}

#[test]
fn validate_needs_no_server_and_fails_on_errors() {
    let out = Command::new(env!("CARGO_BIN_EXE_jitgate"))
        .args(["validate", "-f", &repo("deploy/manifests")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("5 document(s) valid"));
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "x.yaml",
        "apiVersion: jitgate.dev/v1alpha1\nkind: Grant\nmetadata: { name: Bad_Name }\nspec: { subject: user:a, resources: [], reason: x }\n",
    );
    let out =
        Command::new(env!("CARGO_BIN_EXE_jitgate")).args(["validate", "-f", &f]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    for expected in ["`metadata.name`", "`spec.resources`", "`spec.ttl`"] {
        assert!(err.contains(expected), "{expected} missing in {err}");
    }
}
