//! Redis refusing work (rows 37, 38): ACL changes and a read-only data-plane user (NOPERM), and
//! an out-of-memory Redis (`maxmemory` with `noeviction`).

use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::{Jitgate, RedisServer};
use crate::drive::{Direct, Probe, Row, Tally, after, ms, recovery, report, run, size};
use crate::redis_faults::{BOUND, TOLERANCE};

async fn acl(redis: &RedisServer, args: &[&str]) {
    let mut c = redis.client().await;
    let _: () = redis::cmd("ACL").arg(args).query_async(&mut c).await.unwrap();
}

/// `CONFIG SET` each pair, in order.
async fn config_set(redis: &RedisServer, pairs: &[(&str, &str)]) {
    let mut c = redis.client().await;
    for (k, v) in pairs {
        let _: () = redis::cmd("CONFIG").arg(&["SET", k, v]).query_async(&mut c).await.unwrap();
    }
}

/// Redis refuses every write from now on (noeviction, no memory to spare).
const OUT_OF_MEMORY: [(&str, &str); 2] = [("maxmemory-policy", "noeviction"), ("maxmemory", "1")];

#[tokio::test]
async fn acl_changes_deny_and_a_read_only_user_gets_noperm() {
    let redis = RedisServer::start().await;
    acl(&redis, &["SETUSER", "jitgate", "on", ">jg-pass", "~*", "&*", "+@all"]).await;
    acl(&redis, &["SETUSER", "dataplane", "on", ">dp-pass", "~jitgate:*", "+@read"]).await;
    let url = format!("redis://jitgate:jg-pass@127.0.0.1:{}", redis.port);
    let j = Jitgate::start(&url).await;
    let d = Direct::to(&j).await;
    j.grant("user:alice", "orders", &["GET"], &["/orders/**"], "15m").await;
    let alice = j.token("alice", &[]);
    let bob = j.token("bob", &[]);
    assert!(
        recovery(Instant::now(), Duration::from_secs(5), || d.check(&alice, "/orders/1"))
            .await
            .is_some()
    );

    // A read-only (data-plane) user cannot write a grant key.
    let ro =
        redis::Client::open(format!("redis://dataplane:dp-pass@127.0.0.1:{}", redis.port)).unwrap();
    let mut ro = ro.get_multiplexed_async_connection().await.unwrap();
    let err = redis::cmd("HSET")
        .arg(&["jitgate:{user:mallory}:grant:x", "grant", "{}"])
        .query_async::<i64>(&mut ro)
        .await
        .unwrap_err();
    assert!(err.to_string().to_ascii_uppercase().contains("NOPERM"), "{err}");

    // jitgate's own user loses its permissions mid-run: cached allows stop at the bound.
    acl(&redis, &["SETUSER", "jitgate", "resetchannels", "-@all"]).await;
    let t0 = Instant::now();
    let probes = [Probe::new(&d, &alice, Some(t0 + BOUND + TOLERANCE)), Probe::new(&d, &bob, None)];
    let mut tally = Tally::default();
    let last =
        run(&probes, BOUND + Duration::from_millis(size(600, 3000) as u64), &mut tally).await;
    let body = json!({"subject": "user:bob", "resources": [{"service": "orders", "methods": ["GET"], "paths": ["/orders/**"]}], "ttl": "15m", "reason": "acl"});
    let (status, _) = j.call("POST", "/v1/grants", Some(&j.admin_token()), Some(body)).await;
    assert!(status >= 500, "a write without permission must fail, got {status}");
    acl(&redis, &["SETUSER", "jitgate", "&*", "+@all"]).await;
    let t1 = Instant::now();
    let back = recovery(t1, Duration::from_secs(15), || d.check(&alice, "/orders/1")).await;
    let note = format!(
        "NOPERM for a read-only user's HSET; grant API {status} while revoked; last cached allow {} after the ACL change; {}",
        after(t0, &last),
        tally.reasons()
    );
    report(Row {
        row: "37",
        fault: "Redis ACL: permissions removed, read-only user writes",
        tally: &tally,
        recovery: back,
        note,
    });
    assert_eq!(tally.unexpected_allows, 0);
    assert!(back.is_some());
}

#[tokio::test]
async fn out_of_memory_refuses_changes_and_checks_fail_closed() {
    let redis = RedisServer::start().await;
    let j = Jitgate::start(&redis.url()).await;
    let d = Direct::to(&j).await;
    j.grant("user:alice", "orders", &["GET"], &["/orders/**"], "15m").await;
    let (alice, bob) = (j.token("alice", &[]), j.token("bob", &[]));
    config_set(&redis, &OUT_OF_MEMORY).await;
    let t0 = Instant::now();
    // Writes fail: a grant is refused and leaves nothing behind.
    let body = json!({"subject": "user:bob", "resources": [{"service": "orders", "methods": ["GET"], "paths": ["/orders/**"]}], "ttl": "15m", "reason": "oom"});
    let (status, reply) =
        j.call("POST", "/v1/grants", Some(&j.admin_token()), Some(body.clone())).await;
    assert!(status >= 500, "{status} {reply}");
    // Reads still work: alice's live grant keeps allowing, bob (no grant) never is.
    let probes =
        [Probe::new(&d, &alice, Some(t0 + Duration::from_secs(3600))), Probe::new(&d, &bob, None)];
    let mut tally = Tally::default();
    run(&probes, Duration::from_millis(size(800, 3000) as u64), &mut tally).await;
    config_set(&redis, &[("maxmemory", "0")]).await;
    let t1 = Instant::now();
    let mut back = None;
    while t1.elapsed() < Duration::from_secs(10) {
        let (s, _) = j.call("POST", "/v1/grants", Some(&j.admin_token()), Some(body.clone())).await;
        if s == 201 {
            back = Some(t1.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        recovery(Instant::now(), Duration::from_secs(5), || d.check(&bob, "/orders/1"))
            .await
            .is_some()
    );
    // Exactly one grant for bob exists, and its creation is in the audit log exactly once.
    let (_, grants) =
        j.call("GET", "/v1/grants?subject=user:bob", Some(&j.admin_token()), None).await;
    let live = grants["grants"].as_array().map_or(0, Vec::len);
    let (_, audit) =
        j.call("GET", "/v1/audit?kind=grant.created", Some(&j.admin_token()), None).await;
    let created = audit.to_string().matches("user:bob").count();
    let note = format!(
        "grant API {status} under OOM (nothing written: {live} grant for bob after recovery, {created} audit mentions); reads kept allowing alice; {}",
        tally.reasons()
    );
    report(Row {
        row: "38",
        fault: "Redis OOM (maxmemory, noeviction)",
        tally: &tally,
        recovery: back,
        note: format!("{note}; writes back after {}", back.map_or("-".into(), ms)),
    });
    assert_eq!(tally.unexpected_allows, 0);
    assert_eq!(live, 1, "{grants}");
    assert!(back.is_some());
}

/// The access-request workflow under OOM: the approval fails with a 503 saying what failed,
/// no grant appears, the failure is audited (`control.failed`, written once Redis takes
/// writes again: it cannot be written while Redis refuses them), Checks keep denying, and the
/// same approval goes through once memory is freed.
#[tokio::test]
async fn out_of_memory_fails_an_approval_audits_it_and_the_retry_succeeds() {
    let redis = RedisServer::start().await;
    let j = Jitgate::start(&redis.url()).await;
    let d = Direct::to(&j).await;
    let admin = j.admin_token();
    let policy = json!({"apiVersion": "jitgate.dev/v1alpha1", "kind": "AccessPolicy", "metadata": {"name": "orders"}, "spec": {
        "resources": [{"service": "orders", "methods": ["GET"], "paths": ["/orders/**"]}],
        "requesters": ["group:eng"], "approvers": ["group:leads"], "max_ttl": "1h"}});
    let (s, p) = j.call("PUT", "/v1/policies/orders", Some(&admin), Some(policy)).await;
    assert!(s == 200 || s == 201, "{p}");
    let (alice, lee) = (j.token("alice", &["eng"]), j.token("lee", &["leads"]));
    let body = json!({"resources": [{"service": "orders", "methods": ["GET"], "paths": ["/orders/**"]}], "ttl": "15m", "reason": "INC-38"});
    let (s, r) = j.call("POST", "/v1/requests", Some(&alice), Some(body)).await;
    assert_eq!((s, r["status"].as_str()), (201, Some("pending")), "{r}");
    let id = r["id"].as_str().unwrap().to_string();
    let approve = format!("/v1/requests/{id}/approve");

    config_set(&redis, &OUT_OF_MEMORY).await;
    let t0 = Instant::now();
    let (status, reply) = j.call("POST", &approve, Some(&lee), None).await;
    let failed_at = jitgate::time::Timestamp::from_system(std::time::SystemTime::now());
    // Checks for alice (no grant) never allow while Redis is full; the request stays pending.
    let mut tally = Tally::default();
    run(&[Probe::new(&d, &alice, None)], Duration::from_millis(size(800, 3000) as u64), &mut tally)
        .await;
    let (_, during) = j.call("GET", &format!("/v1/requests/{id}"), Some(&alice), None).await;
    let during_status = during["status"].as_str().unwrap_or_default().to_string();
    let (_, grants) = j.call("GET", "/v1/grants?subject=user:alice", Some(&admin), None).await;
    let grants_during = grants["grants"].as_array().map_or(0, Vec::len);
    let oom = t0.elapsed();

    config_set(&redis, &[("maxmemory", "0")]).await;
    let t1 = Instant::now();
    let (again, approved) = j.call("POST", &approve, Some(&lee), None).await;
    let back = (again == 200).then(|| t1.elapsed());
    // The failure's audit record, held while Redis refused writes, lands once it takes them.
    let mut failed = None;
    while failed.is_none() && t1.elapsed() < Duration::from_secs(10) {
        let (_, a) = j.call("GET", "/v1/audit?kind=control.failed", Some(&admin), None).await;
        failed = a["entries"]
            .as_array()
            .and_then(|es| es.iter().find(|e| e["event"]["request_id"] == id.as_str()).cloned());
        if failed.is_none() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let audited_after = t1.elapsed();
    let allowed =
        recovery(Instant::now(), Duration::from_secs(5), || d.check(&alice, "/orders/1")).await;
    let (_, grants) = j.call("GET", "/v1/grants?subject=user:alice", Some(&admin), None).await;
    let grants_after = grants["grants"].as_array().map_or(0, Vec::len);
    let note = format!(
        "approve under OOM: {status} `{}`; request {during_status} and {grants_during} grants for alice during {}; approve right after memory was freed {again}, alice allowed {} later; `control.failed` recorded {} after memory was freed; {} grant after; {}",
        reply["message"].as_str().unwrap_or_default(),
        ms(oom),
        allowed.map_or("never".into(), ms),
        ms(audited_after),
        grants_after,
        tally.reasons()
    );
    report(Row {
        row: "38",
        fault: "Redis OOM during an approval (request workflow)",
        tally: &tally,
        recovery: back,
        note,
    });
    assert_eq!(status, 503, "{reply}");
    assert_eq!(reply["error"], "unavailable", "{reply}");
    let message = reply["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("out of memory") && message.contains("nothing was changed"),
        "{reply}"
    );
    assert_eq!((during_status.as_str(), grants_during), ("pending", 0), "{during}");
    assert_eq!(tally.unexpected_allows, 0);
    let failed = failed.expect("no `control.failed` audit record for the failed approval");
    let ev = &failed["event"];
    assert_eq!(ev["actor"], "user:lee", "{failed}");
    assert_eq!(ev["details"]["action"], "request.approve", "{failed}");
    assert_eq!(ev["details"]["status"], "failed", "{failed}");
    assert_eq!(ev["details"]["error"], "out_of_memory", "{failed}");
    let at = jitgate::time::Timestamp::parse_rfc3339(ev["at"].as_str().unwrap()).unwrap();
    assert!(at <= failed_at, "the record says when the approval failed: {failed}");
    assert_eq!((again, approved["status"].as_str()), (200, Some("approved")), "{approved}");
    assert!(allowed.is_some(), "alice not allowed after the approval");
    assert_eq!(grants_after, 1, "{grants}");
}
