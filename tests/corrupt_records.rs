//! SECURITY row 62 (issue 16, item 1): a stored record that cannot be decoded, of any kind,
//! never takes a list, a page, a Check or a background task down for everybody. Garbage is
//! written straight into a real Redis under a real jitgate: a request hash with broken JSON, a
//! request key of the wrong type, a grant with a broken document, a policy field, an audit
//! stream entry without its chain fields. Every reader skips the bad record and answers with
//! the rest, counts it (`jitgate_store_corrupt_records_total{kind}`) and logs it once; the
//! sweeper moves bad requests to the quarantine (`jitgate quarantine`) and keeps expiring the
//! others; a pending request of the unreadable policy waits, neither decided nor cancelled.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Output;
use std::time::Duration;

use common::jitgate::check_request;
use common::{Jitgate, RedisServer, wait_until};
use jitgate::store::keys::Keys;
use serde_json::{Value, json};

fn policy(name: &str, service: &str, pending_ttl: &str) -> Value {
    json!({
        "apiVersion": "jitgate.dev/v1alpha1", "kind": "AccessPolicy", "metadata": {"name": name},
        "spec": {
            "resources": [{"service": service, "methods": ["GET"], "paths": ["/**"]}],
            "requesters": ["group:eng"], "approvers": ["group:leads"],
            "max_ttl": "1h", "pending_ttl": pending_ttl,
        }
    })
}

async fn file(j: &Jitgate, token: &str, service: &str, path: &str) -> String {
    let body = json!({"resources": [{"service": service, "methods": ["GET"], "paths": [path]}], "ttl": "10m", "reason": "INC-1"});
    let (s, v) = j.call("POST", "/v1/requests", Some(token), Some(body)).await;
    assert_eq!(s, 201, "{v}");
    v["id"].as_str().unwrap().to_string()
}

async fn redis_cmd(c: &mut redis::aio::MultiplexedConnection, args: &[&str]) -> redis::Value {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query_async(c).await.unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

fn ids(list: &Value) -> Vec<String> {
    // A bare array, or the one array of a `{"requests": [...]}`-style page.
    let items = match list {
        Value::Array(a) => a.clone(),
        Value::Object(o) => o.values().find_map(Value::as_array).cloned().unwrap_or_default(),
        _ => Vec::new(),
    };
    items.iter().filter_map(|r| r["id"].as_str().map(str::to_string)).collect()
}

fn quarantine_cli(redis_url: &str, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_jitgate"))
        .arg("quarantine")
        .args(args)
        .args(["--redis-url", redis_url])
        .output()
        .unwrap()
}

fn corrupt_count(metrics: &str, kind: &str) -> u64 {
    let series = format!("jitgate_store_corrupt_records_total{{kind=\"{kind}\"}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&series))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn one_bad_record_of_any_kind_never_stops_the_others() {
    let redis = RedisServer::start().await;
    let j = Jitgate::start(&redis.url()).await;
    let (admin, alice, lead) =
        (j.admin_token(), j.token("alice", &["eng"]), j.token("lee", &["leads"]));
    for (name, service, ttl) in [("orders", "orders", "4s"), ("billing", "billing", "15m")] {
        let (s, v) = j
            .call(
                "PUT",
                &format!("/v1/policies/{name}"),
                Some(&admin),
                Some(policy(name, service, ttl)),
            )
            .await;
        assert_eq!(s, 201, "{v}");
    }
    let broken_json = file(&j, &alice, "orders", "/a").await;
    let wrong_type = file(&j, &alice, "orders", "/b").await;
    let healthy = file(&j, &alice, "orders", "/c").await;
    let of_bad_policy = file(&j, &alice, "billing", "/x").await;
    let bad_grant = j.grant("user:dave", "orders", &["GET"], &["/a"], "10m").await;
    let good_grant = j.grant("user:dave", "orders", &["GET"], &["/b"], "10m").await;

    let client = redis::Client::open(redis.url()).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    let k = Keys::new("jitgate").unwrap();
    let dave = "user:dave".parse().unwrap();
    let grant_key = k.grant(&dave, &jitgate::grant::GrantId::parse(&bad_grant).unwrap());
    let request_key = k.request(&broken_json);
    redis_cmd(&mut c, &["HSET", &request_key, "json", "{not json"]).await;
    let wrong_key = k.request(&wrong_type);
    let ttl = redis_cmd(&mut c, &["PTTL", &wrong_key]).await;
    let redis::Value::Int(ttl) = ttl else { panic!("{ttl:?}") };
    redis_cmd(&mut c, &["DEL", &wrong_key]).await;
    redis_cmd(&mut c, &["SET", &wrong_key, "garbage", "PX", &ttl.to_string()]).await;
    redis_cmd(&mut c, &["HSET", &grant_key, "grant", "nope"]).await;
    redis_cmd(&mut c, &["HSET", &k.policies(), "billing", "{\"garbage\""]).await;
    redis_cmd(&mut c, &["XADD", &k.audit_log(), "*", "junk", "1"]).await;
    // Every replica reloads its policies when the counter moves.
    redis_cmd(&mut c, &["INCR", &k.policy_epoch()]).await;

    // Lists and pages answer, without the bad records, for every caller.
    for (who, token, query) in [
        ("admin", &admin, ""),
        ("approver", &lead, "?status=pending"),
        ("requester", &alice, "?mine=true"),
    ] {
        let (s, v) = j.call("GET", &format!("/v1/requests{query}"), Some(token), None).await;
        assert_eq!(s, 200, "{who}: {v}");
        let listed = ids(&v);
        assert!(listed.contains(&healthy), "{who} sees the healthy request: {v}");
        assert!(!listed.contains(&broken_json) && !listed.contains(&wrong_type), "{who}: {v}");
    }
    let (s, v) = j.call("GET", "/v1/grants?subject=user:dave", Some(&admin), None).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(ids(&v), [good_grant], "{v}");
    let (s, v) = j.call("GET", "/v1/policies", Some(&admin), None).await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = j.call("GET", "/v1/audit?limit=50", Some(&admin), None).await;
    assert_eq!(s, 200, "{v}");

    // Checks: the unreadable grant allows nothing; the principal's other grant still allows.
    let dave_token = j.token("dave", &[]);
    let bearer = format!("Bearer {dave_token}");
    let verdict = |path: &'static str| {
        let bearer = bearer.clone();
        let j = &j;
        async move {
            let req = check_request("GET", path, "orders", &[("authorization", bearer.as_str())]);
            common::failover::verdict(&j.check(req).await)
        }
    };
    assert_eq!(verdict("/b").await, common::failover::Verdict::Allow);
    assert!(matches!(verdict("/a").await, common::failover::Verdict::Deny(403)));

    // A request of the unreadable policy can be neither decided nor cancelled by the sweeper.
    let (s, v) = j
        .call(
            "POST",
            &format!("/v1/requests/{of_bad_policy}/approve"),
            Some(&lead),
            Some(json!({})),
        )
        .await;
    assert_eq!(s, 409, "{v}");
    assert!(v["message"].as_str().unwrap_or("").contains("cannot be read"), "{v}");

    // The sweeper moves the bad requests aside and goes on: the healthy one expires on time.
    let quarantined = wait_until(Duration::from_secs(15), || async {
        let out = quarantine_cli(&redis.url(), &["list", "-o", "json"]);
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        ids(&v).len() == 2
    })
    .await;
    let out = quarantine_cli(&redis.url(), &["list"]);
    assert!(quarantined, "{}", String::from_utf8_lossy(&out.stdout));
    let expired = wait_until(Duration::from_secs(15), || async {
        let (_, v) = j.call("GET", &format!("/v1/requests/{healthy}"), Some(&alice), None).await;
        v["status"] == "expired"
    })
    .await;
    assert!(expired, "the sweeper stopped at a bad record:\n{}", j.log());
    let (_, v) = j.call("GET", &format!("/v1/requests/{of_bad_policy}"), Some(&alice), None).await;
    assert_eq!(v["status"], "pending", "{v}");
    assert_eq!(redis_cmd(&mut c, &["EXISTS", &request_key]).await, redis::Value::Int(0));

    // Counted per kind, logged once per key.
    let metrics =
        reqwest::get(format!("{}/metrics", j.base())).await.unwrap().text().await.unwrap();
    for kind in ["request", "grant", "policy", "audit"] {
        assert!(corrupt_count(&metrics, kind) >= 1, "{kind}:\n{metrics}");
    }
    let log = j.log();
    let logged = log
        .lines()
        .filter(|l| l.contains("Stored record cannot be decoded") && l.contains(&request_key))
        .count();
    assert_eq!(logged, 1, "{log}");

    // An operator inspects and deletes a quarantined record.
    let out = quarantine_cli(&redis.url(), &["show", &broken_json]);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("json: {not json"), "{out:?}");
    let out = quarantine_cli(&redis.url(), &["show", &wrong_type]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("(string) garbage"), "{out:?}");
    let out = quarantine_cli(&redis.url(), &["delete", &broken_json]);
    assert!(out.status.success(), "{out:?}");
    let out = quarantine_cli(&redis.url(), &["delete", &broken_json]);
    assert_eq!(out.status.code(), Some(6), "gone already: {out:?}");
    let out = quarantine_cli(&redis.url(), &["list", "-o", "json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(ids(&v), [wrong_type], "{v}");
    let out = quarantine_cli(&redis.url(), &["show", "not an id"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}
