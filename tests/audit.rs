//! The audit log end to end, against a real redis-server and real jitgate processes: one
//! record per control-plane change, decisions through a real Envoy under Envoy's decision ids,
//! the usage ledger, the decision log, gaps, and `audit verify` catching every kind of tamper.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::process::Output;
use std::time::Duration;

use common::jitgate::{check_request, checkpoint_key};
use common::{Envoy, Jitgate, RedisServer, Upstream, wait_until};
use envoy_types::pb::google::protobuf::value::Kind;
use serde_json::{Value, json};

fn bearer(t: &str) -> String {
    format!("Bearer {t}")
}

/// Every entry, oldest first, through the API (as an admin).
async fn entries(j: &Jitgate, filter: &str) -> Vec<Value> {
    let (status, body) = j
        .call(
            "GET",
            &format!("/v1/audit?order=asc&limit=10000{filter}"),
            Some(&j.admin_token()),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["next"].is_null(), "a single page was expected");
    body["entries"].as_array().unwrap().clone()
}

fn jitgate_cli(j: &Jitgate, args: &[&str]) -> Output {
    let mut cmd = j.cli_command(args);
    cmd.env("JITGATE_AUDIT_CHECKPOINT_KEY", checkpoint_key(&j.secret));
    cmd.output().unwrap()
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn policy(name: &str, extra: Value) -> Value {
    let mut spec = json!({
        "resources": [{"service": "orders", "methods": ["*"], "paths": ["/orders/**"]}],
        "requesters": ["group:eng"],
        "approvers": ["group:leads"],
        "max_ttl": "1h",
        "pending_ttl": "15m",
    });
    for (k, v) in extra.as_object().unwrap() {
        spec[k] = v.clone();
    }
    json!({"apiVersion": "jitgate.dev/v1alpha1", "kind": "AccessPolicy", "metadata": {"name": name}, "spec": spec})
}

fn ask(ttl: &str) -> Value {
    json!({"resources": [{"service": "orders", "methods": ["GET"], "paths": ["/orders/**"]}], "ttl": ttl, "reason": "INC-7"})
}

#[tokio::test]
async fn every_control_plane_action_leaves_exactly_one_record() {
    let redis = RedisServer::start().await;
    let j = Jitgate::start(&redis.url()).await;
    let (admin, alice, lead) =
        (j.admin_token(), j.token("alice", &["eng"]), j.token("lee", &["leads"]));
    let call = |m: &'static str, p: String, t: String, b: Option<Value>| {
        let j = &j;
        async move { j.call(m, &p, Some(&t), b).await }
    };

    let (s, _) =
        call("PUT", "/v1/policies/orders".into(), admin.clone(), Some(policy("orders", json!({}))))
            .await;
    assert_eq!(s, 201);
    // Putting the same policy again changes nothing and records nothing.
    let (s, _) =
        call("PUT", "/v1/policies/orders".into(), admin.clone(), Some(policy("orders", json!({}))))
            .await;
    assert_eq!(s, 200);
    let (_, r1) = call("POST", "/v1/requests".into(), alice.clone(), Some(ask("30m"))).await;
    let r1 = r1["id"].as_str().unwrap().to_string();
    // Refused: approving one's own request is recorded as `control.refused`.
    let (s, _) =
        call("POST", format!("/v1/requests/{r1}/approve"), alice.clone(), Some(json!({}))).await;
    assert_eq!(s, 403);
    let (s, approved) = call(
        "POST",
        format!("/v1/requests/{r1}/approve"),
        lead.clone(),
        Some(json!({"comment": "ok"})),
    )
    .await;
    assert_eq!(s, 200, "{approved}");
    let granted = approved["grant_id"].as_str().unwrap().to_string();
    let (_, r2) = call("POST", "/v1/requests".into(), alice.clone(), Some(ask("10m"))).await;
    let r2 = r2["id"].as_str().unwrap().to_string();
    let (s, _) =
        call("POST", format!("/v1/requests/{r2}/deny"), lead.clone(), Some(json!({}))).await;
    assert_eq!(s, 200);
    let (_, r3) = call("POST", "/v1/requests".into(), alice.clone(), Some(ask("5m"))).await;
    let r3 = r3["id"].as_str().unwrap().to_string();
    let (s, _) = call("POST", format!("/v1/requests/{r3}/cancel"), alice.clone(), None).await;
    assert_eq!(s, 200);
    let direct = j.grant("user:bob", "orders", &["GET"], &["/orders/1"], "15m").await;
    j.revoke(&direct).await;
    let body = json!({"subject": "user:carol", "resources": [{"service": "orders", "methods": ["GET"], "paths": ["/orders/**"]}], "ttl": "15m", "reason": "INC-9", "incident": "INC-9"});
    let (s, incident_grant) = call("POST", "/v1/grants".into(), admin.clone(), Some(body)).await;
    assert_eq!(s, 201);
    let (s, _) = call("POST", "/v1/incidents/INC-9/resolve".into(), admin.clone(), None).await;
    assert_eq!(s, 200);
    let (s, _) = call("DELETE", "/v1/policies/orders".into(), admin.clone(), None).await;
    assert_eq!(s, 200);
    // A request that expires undecided: the sweeper records it, once.
    let (s, _) = call(
        "PUT",
        "/v1/policies/brief".into(),
        admin.clone(),
        Some(policy("brief", json!({"pending_ttl": "1s"}))),
    )
    .await;
    assert_eq!(s, 201);
    let (_, r4) = call("POST", "/v1/requests".into(), alice.clone(), Some(ask("5m"))).await;
    let r4 = r4["id"].as_str().unwrap().to_string();
    let expired = wait_until(Duration::from_secs(10), || async {
        entries(&j, &format!("&request={r4}")).await.len() == 2
    })
    .await;
    assert!(expired, "the expiry was not recorded");

    let all = entries(&j, "&kind=grant.*,request.*,policy.*,incident.*,control.*").await;
    let mut count: BTreeMap<(String, String), usize> = BTreeMap::new();
    for e in &all {
        let ev = &e["event"];
        let kind = ev["kind"].as_str().unwrap();
        let field = match kind.split('.').next().unwrap() {
            "grant" => "grant_id",
            "request" | "control" => "request_id",
            family => family,
        };
        let target = ev[field].as_str().unwrap_or("-").to_string();
        *count.entry((ev["kind"].as_str().unwrap().to_string(), target)).or_default() += 1;
    }
    let incident_grant = incident_grant["id"].as_str().unwrap().to_string();
    let expected: Vec<(&str, &str)> = vec![
        ("policy.put", "orders"),
        ("request.filed", &r1),
        ("control.refused", &r1),
        ("request.approved", &r1),
        ("grant.created", &granted),
        ("request.filed", &r2),
        ("request.denied", &r2),
        ("request.filed", &r3),
        ("request.cancelled", &r3),
        ("grant.created", &direct),
        ("grant.revoked", &direct),
        ("grant.created", &incident_grant),
        ("grant.revoked", &incident_grant),
        ("incident.resolved", "INC-9"),
        ("policy.deleted", "orders"),
        ("policy.put", "brief"),
        ("request.filed", &r4),
        ("request.expired", &r4),
    ];
    let want: BTreeMap<(String, String), usize> =
        expected.iter().map(|(k, t)| ((k.to_string(), t.to_string()), 1)).collect();
    assert_eq!(count, want, "every change exactly once, nothing else");

    // The records carry who did what.
    let approved = all.iter().find(|e| e["event"]["kind"] == "request.approved").unwrap();
    assert_eq!(approved["event"]["actor"], "user:lee");
    assert_eq!(approved["event"]["subject"], "user:alice");
    assert_eq!(approved["event"]["details"]["comment"], "ok");
    let created = all
        .iter()
        .find(|e| {
            e["event"]["kind"] == "grant.created" && e["event"]["grant_id"] == granted.as_str()
        })
        .unwrap();
    assert_eq!(created["event"]["request_id"], r1.as_str());
    assert_eq!(created["event"]["details"]["approved_by"], json!(["user:lee"]));

    // The chain verifies end to end, with the checkpoints written so far.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let cp = j.checkpoint_file().display().to_string();
    let out = jitgate_cli(&j, &["audit", "verify", "--checkpoints", &cp]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("audit log OK"), "{}", text(&out));
}

#[tokio::test]
async fn audit_reads_are_for_admins_and_audit_readers_only() {
    let redis = RedisServer::start().await;
    let j = Jitgate::start(&redis.url()).await;
    let (s, _) = j.call("GET", "/v1/audit", Some(&j.token("alice", &["eng"])), None).await;
    assert_eq!(s, 403);
    let (s, _) = j.call("GET", "/v1/audit", None, None).await;
    assert_eq!(s, 401);
    let (s, body) =
        j.call("GET", "/v1/audit?kind=grant.*", Some(&j.token("sam", &["security"])), None).await;
    assert_eq!(s, 200, "{body}");
    let (s, body) =
        j.call("GET", "/v1/audit?since=yesterday&limit=0", Some(&j.admin_token()), None).await;
    assert_eq!(s, 400);
    assert_eq!(body["details"].as_array().unwrap().len(), 2, "{body}");
}

#[tokio::test]
async fn decisions_through_envoy_are_audited_under_envoys_decision_ids() {
    let redis = RedisServer::start().await;
    let j = Jitgate::start(&redis.url()).await;
    let upstream = Upstream::start().await;
    let envoy = Envoy::start(j.grpc, upstream.port).await;
    let alice = j.token("alice", &["eng"]);
    let grant = j.grant("user:alice", "orders", &["GET"], &["/orders/**"], "15m").await;
    let http = reqwest::Client::new();
    let get = |path: &str| http.get(envoy.url(path)).header("authorization", bearer(&alice)).send();
    let allowed = get("/orders/7").await.unwrap();
    assert_eq!(allowed.status(), 200);
    let allow_id = allowed.headers()["x-jitgate-decision-id"].to_str().unwrap().to_string();
    let echoed: Value = allowed.json().await.unwrap();
    assert_eq!(
        echoed["headers"]["x-jitgate-decision-id"],
        json!([allow_id]),
        "the upstream sees it too"
    );
    let denied = get("/datasets/1").await.unwrap();
    assert_eq!(denied.status(), 403);
    let deny_id = denied.headers()["x-jitgate-decision-id"].to_str().unwrap().to_string();

    for (id, kind) in [(&allow_id, "decision.allow"), (&deny_id, "decision.deny")] {
        let found = wait_until(Duration::from_secs(5), || async {
            entries(&j, &format!("&decision={id}")).await.len() == 1
        })
        .await;
        assert!(found, "decision {id} is not in the audit log");
        let e = &entries(&j, &format!("&decision={id}")).await[0]["event"];
        assert_eq!(e["kind"], kind);
        assert_eq!(e["subject"], "user:alice");
        assert_eq!(e["method"], "GET");
    }
    let allow = &entries(&j, &format!("&decision={allow_id}")).await[0]["event"];
    assert_eq!(
        (allow["grant_id"].as_str(), allow["service"].as_str(), allow["path"].as_str()),
        (Some(grant.as_str()), Some("orders"), Some("/orders/7"))
    );
    let deny = &entries(&j, &format!("&decision={deny_id}")).await[0]["event"];
    assert_eq!(
        (deny["reason"].as_str(), deny["path"].as_str()),
        (Some("no_grant"), Some("/datasets/1"))
    );
}

#[tokio::test]
async fn the_usage_ledger_counts_uses_first_last_and_distinct_paths() {
    let redis = RedisServer::start().await;
    let j = Jitgate::start(&redis.url()).await;
    let used = j.grant("user:alice", "orders", &["GET"], &["/orders/**"], "15m").await;
    let idle = j.grant("user:bob", "orders", &["GET"], &["/orders/**"], "15m").await;
    let auth = bearer(&j.token("alice", &[]));
    for path in ["/orders/1", "/orders/2", "/orders/1"] {
        let resp = j.check(check_request("GET", path, "orders", &[("authorization", &auth)])).await;
        assert_eq!(resp.status.unwrap().code, 0);
    }
    let counted = wait_until(Duration::from_secs(5), || async {
        let (_, g) =
            j.call("GET", &format!("/v1/grants/{used}"), Some(&j.admin_token()), None).await;
        g["usage"]["uses"] == 3
    })
    .await;
    assert!(counted);
    let (_, g) = j.call("GET", &format!("/v1/grants/{used}"), Some(&j.admin_token()), None).await;
    let u = &g["usage"];
    assert_eq!(u["paths"], json!(["/orders/1", "/orders/2"]));
    assert!(u["first_used_at"].as_str().unwrap() <= u["last_used_at"].as_str().unwrap());
    let (_, unused) = j.call("GET", "/v1/grants?unused=true", Some(&j.admin_token()), None).await;
    let ids: Vec<&str> =
        unused["grants"].as_array().unwrap().iter().map(|g| g["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [idle.as_str()]);
    let out = jitgate_cli(&j, &["grants", "get", &used]);
    assert!(text(&out).contains("Usage: 3 uses"), "{}", text(&out));
    assert!(text(&out).contains("/orders/2"), "{}", text(&out));
}

#[tokio::test]
async fn the_decision_log_prints_one_json_line_per_check_when_switched_on() {
    let redis = RedisServer::start().await;
    let j =
        Jitgate::start_with(&redis.url(), &[("JITGATE_AUDIT_DECISION_LOG_STDOUT", "true")], true)
            .await;
    j.grant("user:alice", "orders", &["GET"], &["/orders/**"], "15m").await;
    let auth = bearer(&j.token("alice", &[]));
    let resp =
        j.check(check_request("GET", "/orders/3", "orders", &[("authorization", &auth)])).await;
    let meta = resp.dynamic_metadata.unwrap();
    let Some(Kind::StringValue(id)) = meta.fields["decision_id"].kind.clone() else { panic!() };
    let printed = wait_until(Duration::from_secs(5), || async { j.stdout().contains(&id) }).await;
    assert!(printed, "stdout: {}", j.stdout());
    let line: Value = j
        .stdout()
        .lines()
        .find(|l| l.contains(&id))
        .map(|l| serde_json::from_str(l).unwrap())
        .unwrap();
    assert_eq!(line["result"]["allowed"], true);
    assert_eq!(line["input"]["path"], "/orders/3");
    assert_eq!(line["input"]["principal"], "user:alice");
}

#[tokio::test]
async fn dropped_decisions_are_counted_and_recorded_as_a_gap() {
    let redis = RedisServer::start().await;
    let j = Jitgate::start_with(&redis.url(), &[("JITGATE_AUDIT_QUEUE_SIZE", "1")], true).await;
    j.grant("user:alice", "orders", &["GET"], &["/orders/**"], "15m").await;
    let auth = bearer(&j.token("alice", &[]));
    // With Redis frozen, appends time out and the tiny queue overflows.
    redis.pause();
    let checks = (0..40).map(|i| {
        let auth = auth.clone();
        let j = &j;
        async move {
            j.check(check_request(
                "GET",
                &format!("/orders/{i}"),
                "orders",
                &[("authorization", &auth)],
            ))
            .await
        }
    });
    futures_util::future::join_all(checks).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    redis.resume();
    let gap = wait_until(Duration::from_secs(10), || async {
        !entries(&j, "&kind=audit.gap").await.is_empty()
    })
    .await;
    assert!(gap, "no gap event; log:\n{}", j.log());
    let gaps = entries(&j, "&kind=audit.gap").await;
    let dropped: u64 =
        gaps.iter().map(|g| g["event"]["details"]["dropped"].as_u64().unwrap()).sum();
    assert!(dropped >= 1);
    let metrics =
        reqwest::get(format!("{}/metrics", j.base())).await.unwrap().text().await.unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("jitgate_audit_dropped_total{") && !l.ends_with(" 0")),
        "{metrics}"
    );
}

/// The stream's raw entries, to tamper with and restore.
type Raw = Vec<(String, Vec<(String, String)>)>;

async fn raw(c: &mut redis::aio::MultiplexedConnection) -> Raw {
    redis::cmd("XRANGE").arg("jitgate:{audit}:log").arg("-").arg("+").query_async(c).await.unwrap()
}

async fn rewrite(c: &mut redis::aio::MultiplexedConnection, entries: &Raw) {
    let _: () = redis::cmd("DEL").arg("jitgate:{audit}:log").query_async(c).await.unwrap();
    for (id, fields) in entries {
        let mut cmd = redis::cmd("XADD");
        cmd.arg("jitgate:{audit}:log").arg(id);
        for (k, v) in fields {
            cmd.arg(k).arg(v);
        }
        let _: String = cmd.query_async(c).await.unwrap();
    }
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    &fields.iter().find(|(k, _)| k == name).unwrap().1
}

#[tokio::test]
async fn audit_verify_catches_edits_deletions_reordering_and_truncation() {
    let redis = RedisServer::start().await;
    let j = Jitgate::start(&redis.url()).await;
    for i in 0..4 {
        let id = j.grant(&format!("user:u{i}"), "orders", &["GET"], &["/orders/**"], "15m").await;
        j.revoke(&id).await;
    }
    // Wait for a checkpoint covering the head.
    let mut c = redis.client().await;
    let covered = wait_until(Duration::from_secs(5), || async {
        std::fs::read_to_string(j.checkpoint_file()).is_ok_and(|t| t.contains("jcp1.8."))
    })
    .await;
    assert!(covered, "no checkpoint for entry 8");
    let cp = j.checkpoint_file().display().to_string();
    let url = redis.url();
    let verify =
        || jitgate_cli(&j, &["audit", "verify", "--redis-url", &url, "--checkpoints", &cp]);
    let ok = verify();
    assert!(ok.status.success(), "{}", text(&ok));
    let original = raw(&mut c).await;
    assert_eq!(original.len(), 8);
    let head: Vec<(String, String)> =
        redis::cmd("HGETALL").arg("jitgate:{audit}:head").query_async(&mut c).await.unwrap();
    let set_head = |seq: &str, hash: &str| {
        let mut cmd = redis::cmd("HSET");
        cmd.arg("jitgate:{audit}:head").arg("seq").arg(seq).arg("hash").arg(hash);
        cmd
    };

    // 1. An edited field.
    let mut edited = original.clone();
    for (k, v) in &mut edited[2].1 {
        if k == "event" {
            *v = v.replace("user:u1", "user:mallory");
        }
    }
    rewrite(&mut c, &edited).await;
    let out = verify();
    assert_eq!(out.status.code(), Some(10), "{}", text(&out));
    assert!(text(&out).contains("entry 3: its hash does not match"), "{}", text(&out));

    // 2. A deleted entry.
    let mut deleted = original.clone();
    deleted.remove(4);
    rewrite(&mut c, &deleted).await;
    let out = verify();
    assert_eq!(out.status.code(), Some(10), "{}", text(&out));
    assert!(text(&out).contains("entries 4..6: sequence gap"), "{}", text(&out));

    // 3. Two entries swapped.
    let mut swapped = original.clone();
    let (a, b) = (swapped[5].1.clone(), swapped[6].1.clone());
    swapped[5].1 = b;
    swapped[6].1 = a;
    rewrite(&mut c, &swapped).await;
    let out = verify();
    assert_eq!(out.status.code(), Some(10), "{}", text(&out));
    assert!(text(&out).contains("entries 5..7"), "{}", text(&out));

    // 4. The tail cut off; the head still says 8.
    rewrite(&mut c, &original[..6].to_vec()).await;
    let out = verify();
    assert_eq!(out.status.code(), Some(10), "{}", text(&out));
    assert!(
        text(&out).contains("the log ends at entry 6 but its head records entry 8"),
        "{}",
        text(&out)
    );

    // 5. The tail cut off and the head rewritten to match: only the checkpoint knows.
    let six = field(&original[5].1, "hash").to_string();
    let _: () = set_head("6", &six).query_async(&mut c).await.unwrap();
    let out = verify();
    assert_eq!(out.status.code(), Some(10), "{}", text(&out));
    assert!(
        text(&out).contains("vouches for entry 8, but the log ends at entry 6"),
        "{}",
        text(&out)
    );
    // Without checkpoints this one passes: which is why they exist.
    let blind = jitgate_cli(&j, &["audit", "verify", "--redis-url", &url]);
    assert!(blind.status.success(), "{}", text(&blind));

    // Restored, it verifies again.
    rewrite(&mut c, &original).await;
    let mut restore = redis::cmd("HSET");
    restore.arg("jitgate:{audit}:head");
    for (k, v) in &head {
        restore.arg(k).arg(v);
    }
    let _: () = restore.query_async(&mut c).await.unwrap();
    let out = verify();
    assert!(out.status.success(), "{}", text(&out));
}

#[tokio::test]
async fn export_then_verify_the_file_offline() {
    let redis = RedisServer::start().await;
    let j = Jitgate::start(&redis.url()).await;
    for i in 0..3 {
        j.grant(&format!("user:u{i}"), "orders", &["GET"], &["/orders/**"], "15m").await;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("audit.jsonl").display().to_string();
    let out = jitgate_cli(&j, &["audit", "export", "--out", &file]);
    assert!(out.status.success(), "{}", text(&out));
    let lines = std::fs::read_to_string(&file).unwrap();
    assert_eq!(lines.lines().count(), 3);
    let out = jitgate_cli(&j, &["audit", "verify", "--file", &file]);
    assert!(out.status.success(), "{}", text(&out));
    let tampered = lines.replacen("user:u1", "user:ux", 1);
    std::fs::write(&file, tampered).unwrap();
    let out = jitgate_cli(&j, &["audit", "verify", "--file", &file]);
    assert_eq!(out.status.code(), Some(10), "{}", text(&out));
    // query and tail print tables a person can read.
    let out =
        jitgate_cli(&j, &["audit", "query", "--kind", "grant.created", "--principal", "user:u2"]);
    assert!(
        text(&out).contains("grant.created") && text(&out).contains("user:u2"),
        "{}",
        text(&out)
    );
    let out = jitgate_cli(&j, &["audit", "tail", "-n", "2"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 2, "{}", text(&out));
}

#[tokio::test]
async fn when_the_audit_log_cannot_be_written_the_change_is_refused_too() {
    let redis = RedisServer::start().await;
    let j = Jitgate::start(&redis.url()).await;
    let body = json!({"subject": "user:bob", "resources": [{"service": "orders", "methods": ["GET"], "paths": ["/orders/**"]}], "ttl": "15m", "reason": "INC-1"});
    redis.pause();
    let (status, reply) = j.call("POST", "/v1/grants", Some(&j.admin_token()), Some(body)).await;
    redis.resume();
    assert_eq!(status, 503, "{reply}");
    // A write Redis received before it froze may still run once it resumes: whatever the
    // outcome, the change and its record exist together or not at all.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, grants) = j.call("GET", "/v1/grants", Some(&j.admin_token()), None).await;
    let live: Vec<&str> =
        grants["grants"].as_array().unwrap().iter().map(|g| g["id"].as_str().unwrap()).collect();
    let recorded: Vec<String> = entries(&j, "&kind=grant.created")
        .await
        .iter()
        .map(|e| e["event"]["grant_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(live, recorded);
}
