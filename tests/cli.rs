//! The `jitgate` command line against a real server: output, and exit codes scripts rely on.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Command, Output};

use common::{Jitgate, RedisServer, free_port};
use serde_json::Value;

fn jitgate(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_jitgate"));
    cmd.args(args)
        .env_remove("JITGATE_SERVER")
        .env_remove("JITGATE_TOKEN")
        .env_remove("JITGATE_CONFIG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[tokio::test]
async fn grants_commands_and_exit_codes() {
    let redis = RedisServer::start().await;
    let j = Jitgate::start(&redis.url()).await;
    let server = j.base();
    let admin = j.admin_token();
    let alice = j.token("alice", &[]);
    let env = |t: &str| vec![("JITGATE_SERVER", server.clone()), ("JITGATE_TOKEN", t.to_string())];
    let run = |args: &[&str], t: &str| {
        let e = env(t);
        let e: Vec<(&str, &str)> = e.iter().map(|(k, v)| (*k, v.as_str())).collect();
        jitgate(args, &e)
    };

    let create = [
        "grants",
        "create",
        "--subject",
        "user:alice",
        "--service",
        "orders",
        "--method",
        "GET",
        "--path",
        "/orders/**",
        "--ttl",
        "15m",
        "--reason",
        "INC-42",
        "-o",
        "json",
    ];
    let out = run(&create, &admin);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let grant: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let id = grant["id"].as_str().unwrap().to_string();

    let out = run(&["grants", "list"], &admin);
    assert_eq!(out.status.code(), Some(0));
    let table = stdout(&out);
    assert!(
        table.contains(&id)
            && table.contains("user:alice")
            && table.contains("orders GET /orders/**")
            && table.contains("14m"),
        "{table}"
    );

    let out = run(&["grants", "get", &id, "-o", "json"], &alice);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(serde_json::from_str::<Value>(&stdout(&out)).unwrap()["id"], id.as_str());

    // Exit codes: 5 forbidden, 1 refused (invalid), 4 unauthenticated, 6 not found, 3 unreachable.
    let out = run(&create, &alice);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(stderr(&out).contains("only `admins`"));
    let mut bad = create;
    bad[11] = "forever";
    let out = run(&bad, &admin);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("`forever` is not a duration"), "{}", stderr(&out));
    let out = run(&["grants", "list"], "not-a-token");
    assert_eq!(out.status.code(), Some(4));
    let out = jitgate(&["grants", "list", "--server", &server], &[]);
    assert_eq!(out.status.code(), Some(4));
    assert!(stderr(&out).contains("JITGATE_TOKEN"), "{}", stderr(&out));
    let out = run(&["grants", "get", "nope"], &admin);
    assert_eq!(out.status.code(), Some(6));
    let dead = format!("http://127.0.0.1:{}", free_port());
    let out = jitgate(&["grants", "list", "--server", &dead, "--token", &admin], &[]);
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr(&out).contains("cannot reach jitgate"));

    let out = run(&["grants", "revoke", &id, "--reason", "done"], &admin);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("revoked"));
    let out = run(&["grants", "revoke", &id], &admin);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("already revoked"));
}

#[test]
fn token_mints_only_from_a_configured_hs256_secret() {
    let dir = tempfile::tempdir().unwrap();
    let no_hs = dir.path().join("prod.yaml");
    std::fs::write(&no_hs, "identity:\n  issuers:\n    - { issuer: https://idp, audiences: [jitgate], jwks_url: https://idp/jwks }\n").unwrap();
    let out = jitgate(&["token", "--config", no_hs.to_str().unwrap(), "--sub", "alice"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("only mints development tokens"), "{}", stderr(&out));

    let dev = dir.path().join("dev.yaml");
    std::fs::write(&dev, "identity:\n  issuers:\n    - { issuer: dev, audiences: [jitgate], hs256_secret_env: DEV_SECRET }\n").unwrap();
    let secret = "0123456789abcdef0123456789abcdef";
    let out = jitgate(
        &["token", "--config", dev.to_str().unwrap(), "--sub", "alice", "--group", "eng"],
        &[("DEV_SECRET", secret)],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("do not use in production"));
    let token = stdout(&out).trim().to_string();
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    v.set_audience(&["jitgate"]);
    let claims = jsonwebtoken::decode::<Value>(
        &token,
        &jsonwebtoken::DecodingKey::from_secret(secret.as_bytes()),
        &v,
    )
    .unwrap()
    .claims;
    assert_eq!((claims["sub"].as_str(), claims["iss"].as_str()), (Some("alice"), Some("dev")));
    assert_eq!(claims["groups"], serde_json::json!(["eng"]));
}

#[test]
fn serve_reports_every_configuration_problem_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("bad.yaml");
    std::fs::write(
        &cfg,
        "listen: { grpc: nope }\ncache: { staleness_bound: soon }\ncolour: blue\n",
    )
    .unwrap();
    let out = jitgate(
        &["serve", "--config", cfg.to_str().unwrap()],
        &[("JITGATE_REDIS_URL", "http://wrong")],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    for expected in [
        "4 problem(s)",
        "`listen.grpc`",
        "`cache.staleness_bound`",
        "unknown key `colour`",
        "`redis.url`",
    ] {
        assert!(err.contains(expected), "missing {expected:?} in:\n{err}");
    }
}

fn policy_yaml(pending_ttl: &str) -> String {
    format!(
        r#"apiVersion: jitgate.dev/v1alpha1
kind: AccessPolicy
metadata: {{ name: orders }}
spec:
  resources: [{{ service: orders, methods: [GET], paths: ["/orders/**"] }}]
  requesters: ["group:eng"]
  approvers: ["group:leads"]
  max_ttl: 1h
  pending_ttl: {pending_ttl}
"#
    )
}

/// Starts `jitgate request create --wait` in the background and returns the child.
fn spawn_wait(server: &str, token: &str, extra: &[&str]) -> std::process::Child {
    let mut args = vec![
        "request",
        "create",
        "--service",
        "orders",
        "--method",
        "GET",
        "--path",
        "/orders/**",
        "--ttl",
        "10m",
        "--reason",
        "INC-1",
        "--wait",
        "--poll",
        "200ms",
        "-o",
        "json",
    ];
    args.extend_from_slice(extra);
    Command::new(env!("CARGO_BIN_EXE_jitgate"))
        .args(&args)
        .env("JITGATE_SERVER", server)
        .env("JITGATE_TOKEN", token)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

async fn pending_id(j: &Jitgate, token: &str) -> String {
    for _ in 0..250 {
        let (_, body) =
            j.call("GET", "/v1/requests?status=pending&mine=true", Some(token), None).await;
        if let Some(found) = body["requests"][0]["id"].as_str() {
            return found.to_string();
        }
        tokio::time::sleep(std::time::Duration::from_millis(40)).await;
    }
    panic!("the request was never filed");
}

#[tokio::test]
async fn request_create_wait_exits_by_outcome() {
    let redis = RedisServer::start().await;
    let j = Jitgate::start(&redis.url()).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("policy.yaml");
    std::fs::write(&file, policy_yaml("15m")).unwrap();
    let server = j.base();
    let out = jitgate(
        &[
            "policy",
            "put",
            "-f",
            file.to_str().unwrap(),
            "--server",
            &server,
            "--token",
            &j.admin_token(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let alice = j.token("alice", &["eng"]);
    let bob = j.token("bob", &["leads"]);

    // Approved: exit 0, with the grant in the output.
    let child = spawn_wait(&server, &alice, &[]);
    let id = pending_id(&j, &alice).await;
    let out = jitgate(
        &["request", "approve", &id, "--comment", "ok", "--server", &server, "--token", &bob],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(serde_json::from_str::<Value>(&stdout(&out)).unwrap()["status"], "approved");

    // Denied: exit 7.
    let child = spawn_wait(&server, &alice, &[]);
    let id = pending_id(&j, &alice).await;
    let out = jitgate(&["request", "deny", &id, "--server", &server, "--token", &bob], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(child.wait_with_output().unwrap().status.code(), Some(7));

    // No decision in time: exit 9; the request stays pending and the requester may cancel it.
    let out = spawn_wait(&server, &alice, &["--timeout", "1s"]).wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(9), "{}", stderr(&out));
    let id = pending_id(&j, &alice).await;
    let out = jitgate(&["request", "cancel", &id, "--server", &server, "--token", &alice], &[]);
    assert_eq!(out.status.code(), Some(0));

    // Self-approval is refused with exit 5; listing shows readable rows.
    let child = spawn_wait(&server, &alice, &["--timeout", "3s"]);
    let id = pending_id(&j, &alice).await;
    let out = jitgate(
        &[
            "request",
            "approve",
            &id,
            "--server",
            &server,
            "--token",
            &j.token("alice", &["eng", "leads"]),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(5));
    let out = jitgate(&["request", "list", "--server", &server, "--token", &bob], &[]);
    let table = stdout(&out);
    assert!(
        table.contains(&id) && table.contains("user:alice") && table.contains("0/1"),
        "{table}"
    );
    drop(child);

    // Expired undecided: exit 8.
    std::fs::write(&file, policy_yaml("1s")).unwrap();
    jitgate(
        &[
            "policy",
            "put",
            "-f",
            file.to_str().unwrap(),
            "--server",
            &server,
            "--token",
            &j.admin_token(),
        ],
        &[],
    );
    let out = spawn_wait(&server, &alice, &[]).wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(8), "{}", stderr(&out));
}

#[tokio::test]
async fn revoke_everything_for_a_subject() {
    let redis = RedisServer::start().await;
    let j = Jitgate::start(&redis.url()).await;
    j.grant("user:bob", "orders", &["GET"], &["/orders/**"], "15m").await;
    j.grant("user:bob", "billing", &["GET"], &["/x"], "15m").await;
    j.grant("user:carol", "orders", &["GET"], &["/orders/**"], "15m").await;
    let server = j.base();
    let out = jitgate(
        &[
            "grants",
            "revoke",
            "--subject",
            "user:bob",
            "--reason",
            "offboarding",
            "--server",
            &server,
            "--token",
            &j.admin_token(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out).matches("revoked").count(), 2, "{}", stdout(&out));
    let (_, left) = j.call("GET", "/v1/grants", Some(&j.admin_token()), None).await;
    let subjects: Vec<&str> =
        left["grants"].as_array().unwrap().iter().map(|g| g["subject"].as_str().unwrap()).collect();
    assert_eq!(subjects, ["user:carol"]);
    let out = jitgate(&["grants", "revoke", "--server", &server, "--token", &j.admin_token()], &[]);
    assert_eq!(out.status.code(), Some(2), "an id or --subject is required");
}
