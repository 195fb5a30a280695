use super::*;
use crate::fixtures::{FaultyStore as TestStore, confirm};
use jitgate_core::grant::fixtures::mk_event;
use jitgate_core::grant::{Grant, GrantId, Revocation, fixtures};

const NOW: Timestamp = Timestamp::from_millis(4_000_000_000_000);

fn settings() -> CacheSettings {
    CacheSettings {
        staleness_bound: Duration::from_secs(1),
        poll_interval: Duration::from_millis(250),
        max_principals: 1000,
        entry_ttl: Duration::from_secs(300),
        pubsub: true,
    }
}

fn alice() -> Principal {
    "user:alice".parse().unwrap()
}

fn bob() -> Principal {
    "user:bob".parse().unwrap()
}

fn mk_grant(id: &str, subject: Principal) -> Grant {
    let mut g = fixtures::mk_grant(
        id,
        "user:x",
        fixtures::mk_scope("orders", &["GET"], &["/**"]),
        Timestamp::from_millis(NOW.as_millis() + 3_600_000),
    );
    g.subject = subject;
    g
}

async fn mk_cache() -> (Arc<TestStore>, GrantCache) {
    let store = Arc::new(TestStore::default());
    store.inner.create(&mk_grant("a1", alice()), &mk_event()).await.unwrap();
    let cache = GrantCache::new(store.clone(), settings(), Arc::new(Metrics::new()));
    (store, cache)
}

/// Grants in a set that are not revoked.
fn unrevoked(set: &GrantSet) -> usize {
    set.iter().filter(|g| !g.is_revoked()).count()
}

async fn revoke_a1(store: &TestStore) {
    let rev = Revocation { at: NOW, by: "user:admin".parse().unwrap(), reason: None };
    store.inner.revoke(&GrantId::parse("a1").unwrap(), rev, &mk_event()).await.unwrap();
}

/// Revokes alice's grant and delivers its change notification in order.
async fn revoke_a1_and_announce(store: &TestStore, cache: &GrantCache) {
    revoke_a1(store).await;
    cache.apply_change(&Change {
        epoch: Some(store.epoch().await.unwrap()),
        principal: Some(alice()),
        revoked_at: None,
    });
}

fn reads(store: &TestStore) -> usize {
    store.reads.load(Ordering::SeqCst)
}

async fn wait_reads(store: &TestStore, n: usize) {
    while reads(store) < n {
        tokio::task::yield_now().await;
    }
}

fn lookup(cache: &Arc<GrantCache>) -> tokio::task::JoinHandle<Result<usize, StoreError>> {
    let cache = cache.clone();
    tokio::spawn(async move { cache.grants_for(&[alice()], NOW).await.map(|s| unrevoked(&s)) })
}

#[tokio::test(start_paused = true)]
async fn confirmed_cache_serves_hits_without_reading_the_store() {
    let (store, cache) = mk_cache().await;
    confirm(&store, &cache).await;
    let first = cache.grants_for(&[alice()], NOW).await.unwrap();
    assert_eq!(first.iter().count(), 1);
    assert_eq!(reads(&store), 1);
    for _ in 0..10 {
        cache.grants_for(&[alice()], NOW).await.unwrap();
    }
    assert_eq!(reads(&store), 1, "hits must not read the store");
}

#[tokio::test(start_paused = true)]
async fn unconfirmed_cache_reads_through_and_fails_closed() {
    let (store, cache) = mk_cache().await;
    // Never confirmed: every lookup reads the store.
    cache.grants_for(&[alice()], NOW).await.unwrap();
    cache.grants_for(&[alice()], NOW).await.unwrap();
    assert_eq!(reads(&store), 2);
    store.down.store(true, Ordering::SeqCst);
    assert!(cache.grants_for(&[alice()], NOW).await.is_err());
}

#[tokio::test(start_paused = true)]
async fn past_the_staleness_bound_no_cached_grant_is_served() {
    let (store, cache) = mk_cache().await;
    confirm(&store, &cache).await;
    cache.grants_for(&[alice()], NOW).await.unwrap();
    tokio::time::advance(Duration::from_millis(999)).await;
    assert!(cache.is_confirmed());
    tokio::time::advance(Duration::from_millis(2)).await;
    assert!(!cache.is_confirmed());
    store.down.store(true, Ordering::SeqCst);
    let err = cache.grants_for(&[alice()], NOW).await;
    assert!(err.is_err(), "a stale cache must not answer while the store is down");
}

#[tokio::test(start_paused = true)]
async fn in_order_change_invalidates_only_that_principal() {
    let (store, cache) = mk_cache().await;
    store.inner.create(&mk_grant("b1", bob()), &mk_event()).await.unwrap();
    confirm(&store, &cache).await;
    cache.grants_for(&[alice(), bob()], NOW).await.unwrap();
    assert_eq!(reads(&store), 2);
    let epoch = store.epoch().await.unwrap();
    cache.apply_change(&Change {
        epoch: Some(epoch + 1),
        principal: Some(alice()),
        revoked_at: None,
    });
    cache.grants_for(&[alice(), bob()], NOW).await.unwrap();
    assert_eq!(reads(&store), 3, "only alice is re-read");
}

/// A Redis Cluster write script announces without the counter: its principal is dropped, and
/// the position is left for the counter's own notification (so no gap is seen).
#[tokio::test(start_paused = true)]
async fn a_change_without_a_counter_invalidates_its_principal_only() {
    let (store, cache) = mk_cache().await;
    store.inner.create(&mk_grant("b1", bob()), &mk_event()).await.unwrap();
    confirm(&store, &cache).await;
    cache.grants_for(&[alice(), bob()], NOW).await.unwrap();
    let epoch = store.epoch().await.unwrap();
    cache.apply_change(&Change { epoch: None, principal: Some(alice()), revoked_at: None });
    cache.apply_change(&Change {
        epoch: Some(epoch + 1),
        principal: Some(alice()),
        revoked_at: None,
    });
    cache.grants_for(&[alice(), bob()], NOW).await.unwrap();
    assert_eq!(reads(&store), 3, "only alice is re-read");
}

#[tokio::test(start_paused = true)]
async fn a_gap_in_changes_flushes_everything() {
    let (store, cache) = mk_cache().await;
    store.inner.create(&mk_grant("b1", bob()), &mk_event()).await.unwrap();
    confirm(&store, &cache).await;
    cache.grants_for(&[alice(), bob()], NOW).await.unwrap();
    let epoch = store.epoch().await.unwrap();
    cache.apply_change(&Change {
        epoch: Some(epoch + 2),
        principal: Some(alice()),
        revoked_at: None,
    });
    cache.grants_for(&[alice(), bob()], NOW).await.unwrap();
    assert_eq!(reads(&store), 4, "a lost notification means everyone is re-read");
}

#[tokio::test(start_paused = true)]
async fn poll_catches_a_revocation_whose_notification_was_lost() {
    let (store, cache) = mk_cache().await;
    confirm(&store, &cache).await;
    assert_eq!(unrevoked(&cache.grants_for(&[alice()], NOW).await.unwrap()), 1);
    revoke_a1(&store).await;
    // No notification applied; the next poll sees the counter moved.
    confirm(&store, &cache).await;
    assert_eq!(unrevoked(&cache.grants_for(&[alice()], NOW).await.unwrap()), 0);
}

#[tokio::test]
async fn a_fill_that_raced_an_invalidation_is_not_inserted() {
    let (store, cache) = mk_cache().await;
    let cache = Arc::new(cache);
    confirm(&store, &cache).await;
    let held = store.hold.lock().await;
    let filler = lookup(&cache);
    wait_reads(&store, 1).await;
    // The fill has read the old grants; now the grant is revoked and announced.
    revoke_a1_and_announce(&store, &cache).await;
    drop(held);
    assert_eq!(filler.await.unwrap().unwrap(), 1, "the racing lookup saw the old state");
    let after = cache.grants_for(&[alice()], NOW).await.unwrap();
    assert_eq!(unrevoked(&after), 0, "the old state must not be resurrected in the cache");
}

#[tokio::test]
async fn concurrent_misses_share_one_store_read() {
    let (store, cache) = mk_cache().await;
    let cache = Arc::new(cache);
    confirm(&store, &cache).await;
    let held = store.hold.lock().await;
    let lookups: Vec<_> = (0..10).map(|_| lookup(&cache)).collect();
    wait_reads(&store, 1).await;
    for _ in 0..100 {
        tokio::task::yield_now().await;
    }
    drop(held);
    for l in lookups {
        assert_eq!(l.await.unwrap().unwrap(), 1);
    }
    assert_eq!(reads(&store), 1, "ten concurrent misses, one read");
}

#[tokio::test]
async fn a_miss_after_an_invalidation_never_joins_an_older_read() {
    let (store, cache) = mk_cache().await;
    let cache = Arc::new(cache);
    confirm(&store, &cache).await;
    let held = store.hold.lock().await;
    let before = lookup(&cache);
    wait_reads(&store, 1).await;
    revoke_a1_and_announce(&store, &cache).await;
    let after = lookup(&cache);
    wait_reads(&store, 2).await;
    drop(held);
    assert_eq!(before.await.unwrap().unwrap(), 1, "the first lookup read before the revoke");
    assert_eq!(after.await.unwrap().unwrap(), 0, "a lookup after the revoke reads again");
}

#[tokio::test]
async fn a_read_whose_waiters_all_gave_up_still_finishes_and_is_cached() {
    let (store, cache) = mk_cache().await;
    let cache = Arc::new(cache);
    confirm(&store, &cache).await;
    let held = store.hold.lock().await;
    let gave_up =
        tokio::time::timeout(Duration::from_millis(5), cache.grants_for(&[alice()], NOW)).await;
    assert!(gave_up.is_err(), "the lookup was held past its deadline");
    drop(held);
    while cache.fills.in_flight() > 0 {
        tokio::task::yield_now().await;
    }
    assert_eq!(unrevoked(&cache.grants_for(&[alice()], NOW).await.unwrap()), 1);
    assert_eq!(reads(&store), 1, "the abandoned read filled the cache");
}

#[tokio::test(start_paused = true)]
async fn after_an_outage_the_poller_resyncs_even_when_the_counter_is_back_to_the_same_value() {
    // A store that restarted empty (or failed over) can come back with the very counter value
    // this replica last saw: the poller must not take that as "nothing changed".
    let store = Arc::new(TestStore::default());
    store.inner.create(&mk_grant("a1", alice()), &mk_event()).await.unwrap();
    let cache = Arc::new(GrantCache::new(
        store.clone(),
        CacheSettings { pubsub: false, ..settings() },
        Arc::new(Metrics::new()),
    ));
    let (tracker, cancel) =
        (tokio_util::task::TaskTracker::new(), tokio_util::sync::CancellationToken::new());
    crate::invalidate::spawn(cache.clone(), Arc::new(Metrics::new()), &tracker, cancel.clone());
    tokio::time::advance(Duration::from_millis(10)).await;
    wait_confirmed(&cache).await;
    cache.grants_for(&[alice()], NOW).await.unwrap();
    assert_eq!(reads(&store), 1);

    // Down past the staleness bound, so the next confirmation can only come from a poll that
    // succeeded after the outage.
    store.down.store(true, Ordering::SeqCst);
    for _ in 0..6 {
        tokio::time::advance(Duration::from_millis(250)).await;
        tokio::task::yield_now().await;
    }
    assert!(!cache.is_confirmed());
    store.down.store(false, Ordering::SeqCst);
    tokio::time::advance(Duration::from_millis(300)).await;
    wait_confirmed(&cache).await;
    cache.grants_for(&[alice()], NOW).await.unwrap();
    assert_eq!(reads(&store), 2, "an entry cached before the outage was served without a re-read");
    cancel.cancel();
}

async fn wait_confirmed(cache: &GrantCache) {
    for _ in 0..100 {
        if cache.is_confirmed() {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("the cache was never confirmed");
}
