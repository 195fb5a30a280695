//! A revoke whose answer is lost, with the serving replica's grant cache in front of a store
//! that writes the revocation and then loses the answer.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::decision::Caller;
use crate::grant::fixtures::{mk_event, mk_grant, mk_scope};
use crate::grant::{GrantId, Principal};
use crate::metrics::Metrics;
use crate::store::fixtures::{FaultyStore, confirm};
use crate::store::{CacheSettings, GrantCache, GrantSet, GrantStore};
use crate::time::{SystemClock, Timestamp};
use crate::workflow::{Admins, GrantService, WorkflowError};

const NOW: Timestamp = Timestamp::from_millis(4_000_000_000_000);

fn unrevoked(set: &GrantSet) -> usize {
    set.iter().filter(|g| !g.is_revoked()).count()
}

/// The replica serving the API drops its own entry when a revoke fails after it may have been
/// written (here: written, answer lost), without waiting for a notification.
#[tokio::test(start_paused = true)]
async fn a_revoke_whose_answer_is_lost_drops_the_serving_replicas_entry() {
    let alice: Principal = "user:alice".parse().unwrap();
    let store = Arc::new(FaultyStore::default());
    let expires = Timestamp::from_millis(NOW.as_millis() + 3_600_000);
    let grant = mk_grant("a1", "user:alice", mk_scope("orders", &["GET"], &["/**"]), expires);
    store.inner.create(&grant, &mk_event()).await.unwrap();
    let metrics = Arc::new(Metrics::new());
    let settings = CacheSettings {
        staleness_bound: Duration::from_secs(1),
        poll_interval: Duration::from_millis(250),
        max_principals: 1000,
        entry_ttl: Duration::from_secs(300),
        pubsub: true,
    };
    let cache = Arc::new(GrantCache::new(store.clone(), settings, metrics.clone()));
    confirm(&store, &cache).await;
    let admin: Principal = "group:platform".parse().unwrap();
    let grants = GrantService::new(
        store.clone(),
        Arc::new(SystemClock),
        Admins::new(vec![admin.clone()]),
        Duration::from_secs(3600),
        metrics,
    )
    .with_local_cache(cache.clone());
    assert_eq!(unrevoked(&cache.grants_for(std::slice::from_ref(&alice), NOW).await.unwrap()), 1);
    store.lose_revoke_answers.store(true, Ordering::SeqCst);
    let caller = Caller {
        subject: "user:root".parse().unwrap(),
        principals: vec!["user:root".parse().unwrap(), admin],
    };
    let err = grants.revoke(&caller, &GrantId::parse("a1").unwrap(), None).await.unwrap_err();
    assert!(matches!(err, WorkflowError::Unavailable(_)), "{err:?}");
    let after = cache.grants_for(&[alice], NOW).await.unwrap();
    assert_eq!(unrevoked(&after), 0, "the revoked grant is still served from the cache");
}
