//! One contract for every GrantStore, run against the in-memory store and a real redis-server
//! started by the test.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use jitgate::audit::{AuditEvent, AuditKind};
use jitgate::grant::{Grant, GrantId, GrantSource, Principal, Revocation, Scope, ScopeWire};
use jitgate::metrics::Metrics;
use jitgate::store::{
    GrantStore, MemoryStore, RedisConn, RedisSettings, RedisStore, RevokeOutcome, StoreError,
    Topology, UsageDelta, UseOutcome,
};
use jitgate::time::{Clock, SystemClock, Timestamp};

use common::RedisServer;

/// Keeps a backend alive for the duration of one test.
enum Guard {
    None,
    Redis(RedisServer),
}

async fn memory() -> (Arc<dyn GrantStore>, Guard) {
    (Arc::new(MemoryStore::new()), Guard::None)
}

async fn redis() -> (Arc<dyn GrantStore>, Guard) {
    let server = RedisServer::start().await;
    let settings = RedisSettings {
        url: server.url(),
        key_prefix: "jitgate".into(),
        op_timeout: Duration::from_secs(2),
        connect_timeout: Duration::from_secs(1),
    };
    let store = RedisStore::new(&settings, Arc::new(Metrics::new())).expect("redis store");
    (Arc::new(store), Guard::Redis(server))
}

/// The same store over a one-node Redis Cluster: every script and command must keep its keys
/// in one slot, or the server answers `CROSSSLOT`.
async fn redis_cluster() -> (Arc<dyn GrantStore>, Guard) {
    let server = common::cluster::single_node().await;
    let settings = RedisSettings {
        url: server.url(),
        key_prefix: "jitgate".into(),
        op_timeout: Duration::from_secs(2),
        connect_timeout: Duration::from_secs(1),
    };
    let topology = Topology::Cluster { nodes: vec![server.url()] };
    let conn = RedisConn::connect_to(&topology, &settings, Arc::new(Metrics::new())).unwrap();
    (Arc::new(RedisStore::with_conn(conn)), Guard::Redis(server))
}

fn now() -> Timestamp {
    SystemClock.now()
}

fn p(s: &str) -> Principal {
    s.parse().unwrap()
}

fn mk_grant(subject: &str, ttl: Duration) -> Grant {
    let scope = Scope::from_wire(ScopeWire {
        service: "orders".into(),
        methods: vec!["GET".into()],
        paths: vec!["/orders/**".into()],
        query: None,
    })
    .unwrap();
    Grant {
        approved_by: vec![p("user:lead")],
        incident: Some("INC-1".into()),
        ..Grant::new(
            GrantId::generate(),
            p(subject),
            vec![scope],
            p("user:admin"),
            "INC-1".into(),
            now(),
            now().saturating_add(ttl),
        )
    }
}

/// These tests do not look at the audit log (tests/audit_store.rs does).
fn ev() -> AuditEvent {
    AuditEvent::new(AuditKind::GrantCreated, now())
}

fn revocation() -> Revocation {
    Revocation { at: now(), by: p("user:admin"), reason: Some("done".into()) }
}

async fn create_get_and_list(store: Arc<dyn GrantStore>) {
    let a = mk_grant("user:alice", Duration::from_secs(600));
    let b = mk_grant("group:oncall", Duration::from_secs(600));
    store.create(&a, &ev()).await.unwrap();
    store.create(&b, &ev()).await.unwrap();
    assert_eq!(store.get(&a.id).await.unwrap().as_ref(), Some(&a));
    assert_eq!(store.live_for(&p("user:alice"), now()).await.unwrap(), vec![a.clone()]);
    assert_eq!(store.live_for(&p("user:bob"), now()).await.unwrap(), vec![]);
    let mut all = store.list(None, now()).await.unwrap();
    all.sort_by(|x, y| x.subject.cmp(&y.subject));
    assert_eq!(all.len(), 2);
    assert_eq!(store.list(Some(&p("group:oncall")), now()).await.unwrap(), vec![b]);
    assert_eq!(store.get(&GrantId::parse("nope").unwrap()).await.unwrap(), None);
}

async fn duplicate_id_conflicts(store: Arc<dyn GrantStore>) {
    let a = mk_grant("user:alice", Duration::from_secs(600));
    store.create(&a, &ev()).await.unwrap();
    assert!(matches!(store.create(&a, &ev()).await, Err(StoreError::Conflict(_))));
}

async fn revoke_hides_the_grant_and_keeps_the_record(store: Arc<dyn GrantStore>) {
    let a = mk_grant("user:alice", Duration::from_secs(600));
    store.create(&a, &ev()).await.unwrap();
    let RevokeOutcome::Revoked(g) = store.revoke(&a.id, revocation(), &ev()).await.unwrap() else {
        panic!("not revoked")
    };
    assert_eq!(g.revoked.as_ref().map(|r| r.by.to_string()), Some("user:admin".into()));
    let live = store.live_for(&p("user:alice"), now()).await.unwrap();
    assert!(live.len() == 1 && live[0].revoked.is_some(), "lookups see the revocation: {live:?}");
    assert_eq!(store.list(None, now()).await.unwrap(), vec![]);
    let kept = store.get(&a.id).await.unwrap().expect("revoked record kept until expiry");
    assert!(kept.revoked.is_some());
    assert!(matches!(
        store.revoke(&a.id, revocation(), &ev()).await.unwrap(),
        RevokeOutcome::AlreadyRevoked(_)
    ));
    let unknown = GrantId::generate();
    assert_eq!(store.revoke(&unknown, revocation(), &ev()).await.unwrap(), RevokeOutcome::NotFound);
}

async fn every_change_bumps_the_epoch_and_is_announced(store: Arc<dyn GrantStore>) {
    let mut changes = store.changes().await.unwrap();
    let e0 = store.epoch().await.unwrap();
    let a = mk_grant("user:alice", Duration::from_secs(600));
    store.create(&a, &ev()).await.unwrap();
    let e1 = store.epoch().await.unwrap();
    store.revoke(&a.id, revocation(), &ev()).await.unwrap();
    let e2 = store.epoch().await.unwrap();
    assert!(e0 < e1 && e1 < e2, "{e0} {e1} {e2}");
    for expected in [e1, e2] {
        let c = next_counted(&mut changes).await;
        assert_eq!((c.epoch, c.principal), (Some(expected), Some(p("user:alice"))));
    }
    // Reads and writes that find nothing change nothing.
    store.get(&a.id).await.unwrap();
    store.revoke(&GrantId::generate(), revocation(), &ev()).await.unwrap();
    assert_eq!(store.epoch().await.unwrap(), e2);
    // A repeated revoke (its caller may never have heard the first answer) announces again.
    let again = store.revoke(&a.id, revocation(), &ev()).await.unwrap();
    assert!(matches!(again, RevokeOutcome::AlreadyRevoked(_)), "{again:?}");
    let e3 = store.epoch().await.unwrap();
    assert!(e3 > e2, "{e2} {e3}");
    let c = next_counted(&mut changes).await;
    assert_eq!((c.epoch, c.principal), (Some(e3), Some(p("user:alice"))));
}

/// The next notification carrying the change counter. In a Redis Cluster each write script
/// also publishes one without it (the counter's slot is out of its reach); those must name
/// the principal too.
async fn next_counted(changes: &mut jitgate::store::ChangeStream) -> jitgate::store::Change {
    loop {
        let c =
            tokio::time::timeout(Duration::from_secs(5), changes.next()).await.unwrap().unwrap();
        if c.epoch.is_some() {
            return c;
        }
        assert_eq!(c.principal, Some(p("user:alice")));
    }
}

async fn expired_grants_are_not_live_and_then_gone(store: Arc<dyn GrantStore>) {
    let a = mk_grant("user:alice", Duration::from_millis(300));
    store.create(&a, &ev()).await.unwrap();
    assert_eq!(store.live_for(&p("user:alice"), now()).await.unwrap().len(), 1);
    let after = a.expires_at.saturating_add(Duration::from_millis(1));
    assert_eq!(
        store.live_for(&p("user:alice"), after).await.unwrap(),
        vec![],
        "expiry is decided by `now`"
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(store.get(&a.id).await.unwrap(), None, "the record expires with the grant");
}

async fn max_uses_hold_under_100_concurrent_consumers(store: Arc<dyn GrantStore>) {
    let mut a = mk_grant("user:alice", Duration::from_secs(600));
    a.max_uses = Some(7);
    store.create(&a, &ev()).await.unwrap();
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let (store, a) = (store.clone(), a.clone());
            tokio::spawn(async move { store.consume_use(&a.subject, &a.id, now()).await.unwrap() })
        })
        .collect();
    let mut used = 0;
    for t in tasks {
        match t.await.unwrap() {
            UseOutcome::Used { .. } => used += 1,
            UseOutcome::UsedUp => {}
            UseOutcome::Gone => panic!("grant vanished"),
        }
    }
    assert_eq!(used, 7, "exactly max_uses consumers succeed");
    let stored = store.get(&a.id).await.unwrap().unwrap();
    assert_eq!(stored.uses, 7);
    assert!(stored.last_used_at.is_some());
    store.revoke(&a.id, revocation(), &ev()).await.unwrap();
    assert_eq!(store.consume_use(&a.subject, &a.id, now()).await.unwrap(), UseOutcome::Gone);
}

async fn expired_and_revoked_grants_stay_in_history(store: Arc<dyn GrantStore>) {
    let a = mk_grant("user:alice", Duration::from_millis(200));
    let b = mk_grant("user:alice", Duration::from_millis(200));
    store.create(&a, &ev()).await.unwrap();
    store.create(&b, &ev()).await.unwrap();
    store.revoke(&b.id, revocation(), &ev()).await.unwrap();
    assert_eq!(
        store.recent_for(&p("user:alice"), now()).await.unwrap(),
        vec![],
        "nothing has expired yet"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(store.live_for(&p("user:alice"), now()).await.unwrap(), vec![]);
    let mut recent = store.recent_for(&p("user:alice"), now()).await.unwrap();
    recent.sort_by(|x, y| x.id.cmp(&y.id));
    assert_eq!(recent.len(), 2);
    let revoked = recent.iter().find(|g| g.id == b.id).unwrap();
    assert!(revoked.revoked.is_some(), "history keeps the revocation");
    assert!(recent.iter().any(|g| g.id == a.id && g.revoked.is_none()));
}

async fn managed_grants_are_replaced_in_place(store: Arc<dyn GrantStore>) {
    let mut g = mk_grant("user:alice", Duration::from_secs(600));
    g.id = GrantId::parse("manifest-ci").unwrap();
    g.source = GrantSource::Manifest;
    store.put_managed(&g, &ev()).await.unwrap();
    g.reason = "changed".into();
    store.put_managed(&g, &ev()).await.unwrap();
    assert_eq!(store.get(&g.id).await.unwrap().unwrap().reason, "changed");
    assert_eq!(store.live_for(&p("user:alice"), now()).await.unwrap().len(), 1);
    // A new subject moves the grant.
    g.subject = p("user:bob");
    store.put_managed(&g, &ev()).await.unwrap();
    assert_eq!(store.live_for(&p("user:alice"), now()).await.unwrap(), vec![]);
    assert_eq!(store.live_for(&p("user:bob"), now()).await.unwrap().len(), 1);
    // A revoked managed grant can be re-applied.
    store.revoke(&g.id, revocation(), &ev()).await.unwrap();
    store.put_managed(&g, &ev()).await.unwrap();
    assert!(store.get(&g.id).await.unwrap().unwrap().revoked.is_none());
    assert!(matches!(store.create(&g, &ev()).await, Err(StoreError::Conflict(_))));
}

async fn usage_ledger_folds_batches_and_caps_paths(store: Arc<dyn GrantStore>) {
    let (a, b) = (
        mk_grant("user:alice", Duration::from_secs(600)),
        mk_grant("user:bob", Duration::from_secs(600)),
    );
    store.create(&a, &ev()).await.unwrap();
    store.create(&b, &ev()).await.unwrap();
    let base = now().as_millis();
    let t = |ms: i64| Timestamp::from_millis(base + ms);
    let delta = |g: &Grant, uses, first, last, paths: std::ops::Range<usize>| UsageDelta {
        grant: g.id.clone(),
        subject: g.subject.clone(),
        expires_at: g.expires_at,
        limited: false,
        uses,
        first,
        last,
        paths: paths.map(|i| format!("/orders/{i}")).collect(),
    };
    // Two flushes of one replica (or one each of two replicas), several grants in each.
    let first = [delta(&a, 3, t(10), t(20), 0..60), delta(&b, 1, t(15), t(15), 0..1)];
    store.record_usage(&first).await.unwrap();
    store.record_usage(&[delta(&a, 2, t(5), t(30), 40..100)]).await.unwrap();
    let got = store.get(&a.id).await.unwrap().unwrap();
    assert_eq!((got.uses, got.first_used_at, got.last_used_at), (5, Some(t(5)), Some(t(30))));
    let usage = store.usage(&got).await.unwrap();
    assert_eq!((usage.paths.len(), usage.paths_truncated), (100, false));
    store.record_usage(&[delta(&a, 1, t(40), t(40), 100..101)]).await.unwrap();
    let usage = store.usage(&store.get(&a.id).await.unwrap().unwrap()).await.unwrap();
    assert_eq!((usage.paths.len(), usage.paths_truncated), (100, true), "the cap holds");
    let got_b = store.get(&b.id).await.unwrap().unwrap();
    assert_eq!((got_b.uses, got_b.first_used_at), (1, Some(t(15))));
    assert_eq!(store.usage(&got_b).await.unwrap().paths, ["/orders/0"]);
}

macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod memory_store {
            $( #[tokio::test] async fn $name() { let (s, _g) = super::memory().await; super::$name(s).await } )*
        }
        mod redis_store {
            $( #[tokio::test] async fn $name() { let (s, _g) = super::redis().await; super::$name(s).await } )*
        }
        mod redis_cluster_store {
            $( #[tokio::test] async fn $name() { let (s, _g) = super::redis_cluster().await; super::$name(s).await } )*
        }
    };
}

contract!(
    create_get_and_list,
    duplicate_id_conflicts,
    revoke_hides_the_grant_and_keeps_the_record,
    every_change_bumps_the_epoch_and_is_announced,
    expired_grants_are_not_live_and_then_gone,
    max_uses_hold_under_100_concurrent_consumers,
    expired_and_revoked_grants_stay_in_history,
    managed_grants_are_replaced_in_place,
    usage_ledger_folds_batches_and_caps_paths,
);

/// Redis only: every key jitgate writes, except the change counter and the audit log (kept
/// by its own retention), carries a TTL no later than the grant it belongs to; history records no later than that plus the retention.
#[tokio::test]
async fn every_redis_key_has_a_ttl_no_later_than_its_grant() {
    let (store, guard) = redis().await;
    let Guard::Redis(server) = &guard else { unreachable!() };
    let mut latest = now();
    for (i, subject) in ["user:alice", "user:bob", "group:oncall"].iter().enumerate() {
        let g = mk_grant(subject, Duration::from_secs(60 * (i as u64 + 1)));
        latest = latest.max(g.expires_at);
        store.create(&g, &ev()).await.unwrap();
        if i == 1 {
            store.revoke(&g.id, revocation(), &ev()).await.unwrap();
        }
    }
    let mut c = server.client().await;
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query_async(&mut c).await.unwrap();
    assert!(keys.len() >= 10, "{keys:?}");
    for key in keys {
        let ttl: i64 = redis::cmd("PEXPIRETIME").arg(&key).query_async(&mut c).await.unwrap();
        if key == "jitgate:epoch" || key.starts_with("jitgate:{audit}:") {
            assert_eq!(ttl, -1, "the change counter and the audit log must persist");
            continue;
        }
        assert!(ttl > 0, "{key} has no TTL");
        let limit = if key.contains(":history") {
            latest.as_millis() + 24 * 3600 * 1000
        } else {
            latest.as_millis()
        };
        assert!(ttl <= limit, "{key} outlives every grant");
    }
}
