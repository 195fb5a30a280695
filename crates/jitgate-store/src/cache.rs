//! The in-process grant cache. A Check normally reads grants from here without network I/O.
//!
//! Freshness: the cache is *confirmed* when a poll of the store's change counter succeeded
//! within `staleness_bound`. Pub/sub notifications invalidate single principals fast; the
//! poll catches anything pub/sub lost. An unconfirmed cache serves nothing: lookups read
//! through to the store, and fail (so the Check denies) when the store is unreachable.
//!
//! Fill race: a lookup that raced an invalidation must not resurrect what was invalidated.
//! Fills and invalidations both run under one short mutex and a generation counter, so a fill
//! that started before an invalidation is dropped instead of inserted.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use super::fill::Fills;
use super::{Change, GrantStore, StoreError};
use jitgate_core::grant::{GrantRule, IndexedGrants, Principal, RequestPath, ScopeInterner};
use prometheus_client::metrics::counter::Counter;

use jitgate_core::time::Timestamp;
use jitgate_metrics::{Metrics, ResultLabels, SourceLabels};

/// Cache tuning.
#[derive(Clone, Copy, Debug)]
pub struct CacheSettings {
    /// No cached allow is served if the change counter was not confirmed within this time.
    pub staleness_bound: Duration,
    /// How often the change counter is polled (well under the bound).
    pub poll_interval: Duration,
    /// Most principals kept.
    pub max_principals: u64,
    /// Upper bound on how long one principal's entry is kept, changes or not.
    pub entry_ttl: Duration,
    /// Subscribe to change notifications (turn off for Redis proxies without pub/sub).
    pub pubsub: bool,
}

/// The grants for one caller, without copying them out of the cache.
#[derive(Default)]
pub struct GrantSet {
    parts: Vec<Arc<IndexedGrants>>,
}

impl GrantSet {
    pub fn iter(&self) -> impl Iterator<Item = &GrantRule> {
        self.parts.iter().flat_map(|p| p.grants().iter())
    }

    /// The grants that could cover `path` on `service`, found through each principal's index.
    pub fn candidates<'a>(
        &'a self,
        service: &'a str,
        path: &'a RequestPath,
    ) -> impl Iterator<Item = &'a GrantRule> + 'a {
        self.parts.iter().flat_map(move |p| p.candidates(service, path))
    }
}

struct SyncState {
    /// The last change counter applied; `None` after a resync, until the next poll.
    applied: Option<u64>,
    generation: u64,
}

/// Grants by principal, with bounded staleness.
pub struct GrantCache {
    store: Arc<dyn GrantStore>,
    entries: moka::sync::Cache<Principal, Arc<IndexedGrants>>,
    sync: Arc<Mutex<SyncState>>,
    fills: Arc<Fills>,
    /// Cached rules share identical resource lists.
    interner: Arc<ScopeInterner>,
    origin: Instant,
    /// Milliseconds after `origin` at which the last successful poll started, plus one
    /// (0 = never confirmed).
    confirmed_at: AtomicU64,
    settings: CacheSettings,
    metrics: Arc<Metrics>,
    /// `jitgate_cache_lookups_total{result="hit"}`, resolved once: the hot path's only metric.
    hits: Counter,
}

// === impl GrantCache ===

impl GrantCache {
    pub fn new(store: Arc<dyn GrantStore>, settings: CacheSettings, metrics: Arc<Metrics>) -> Self {
        let entries = moka::sync::Cache::builder()
            .max_capacity(settings.max_principals)
            .time_to_live(settings.entry_ttl)
            .build();
        let hits = metrics.cache_lookups.get_or_create(&ResultLabels { result: "hit" }).clone();
        Self {
            store,
            entries,
            sync: Arc::new(Mutex::new(SyncState { applied: None, generation: 0 })),
            fills: Arc::default(),
            interner: Arc::default(),
            origin: Instant::now(),
            confirmed_at: AtomicU64::new(0),
            settings,
            hits,
            metrics,
        }
    }

    pub fn settings(&self) -> &CacheSettings {
        &self.settings
    }

    pub fn store(&self) -> &Arc<dyn GrantStore> {
        &self.store
    }

    /// True while the last confirmation is within the staleness bound.
    pub fn is_confirmed(&self) -> bool {
        let at = self.confirmed_at.load(Ordering::Acquire);
        if at == 0 {
            return false;
        }
        let confirmed = self.origin + Duration::from_millis(at - 1);
        confirmed.elapsed() <= self.settings.staleness_bound
    }

    /// Grants naming any of `principals` that were live when read. Expiry is still checked by
    /// the engine against its own clock.
    pub async fn grants_for(
        &self,
        principals: &[Principal],
        now: Timestamp,
    ) -> Result<GrantSet, StoreError> {
        let confirmed = self.is_confirmed();
        let mut set = GrantSet { parts: Vec::with_capacity(principals.len()) };
        let mut missing = Vec::new();
        for p in principals {
            match self.entries.get(p).filter(|_| confirmed) {
                Some(hit) => {
                    self.hits.inc();
                    set.parts.push(hit);
                }
                None => missing.push(p),
            }
        }
        if missing.is_empty() {
            return Ok(set);
        }
        if !confirmed {
            // Nothing is cached while unconfirmed: every Check reads for itself.
            self.count("bypass");
            let fetched = futures_util::future::try_join_all(
                missing.iter().map(|p| self.store.live_for(p, now)),
            )
            .await?;
            set.parts.extend(
                fetched.iter().map(|g| Arc::new(IndexedGrants::new(self.interner.rules(g)))),
            );
            return Ok(set);
        }
        self.count("miss");
        let generation = self.generation();
        let flights = missing.iter().map(|p| self.fill(p, generation, now));
        set.parts.extend(futures_util::future::try_join_all(flights).await?);
        Ok(set)
    }

    /// Reads `p`'s grants once for every concurrent miss and caches them (see [`Fills`]).
    fn fill(
        &self,
        p: &Principal,
        generation: u64,
        now: Timestamp,
    ) -> impl Future<Output = Result<Arc<IndexedGrants>, StoreError>> + use<> {
        let (store, entries, sync) = (self.store.clone(), self.entries.clone(), self.sync.clone());
        let interner = self.interner.clone();
        let principal = p.clone();
        self.fills.join_or_start(p, generation, move || {
            // The read runs on its own task: keep it in the trace of the Check that started it.
            let span = tracing::Span::current();
            Box::pin(tracing::Instrument::instrument(
                async move {
                    let read = store.live_for(&principal, now).await?;
                    let grants = Arc::new(IndexedGrants::new(interner.rules(&read)));
                    if let Ok(s) = sync.lock()
                        && s.generation == generation
                    {
                        entries.insert(principal, grants.clone());
                    }
                    Ok(grants)
                },
                span,
            ))
        })
    }

    fn count(&self, result: &'static str) {
        self.metrics.cache_lookups.get_or_create(&ResultLabels { result }).inc();
    }

    fn generation(&self) -> u64 {
        self.sync.lock().map(|s| s.generation).unwrap_or(u64::MAX)
    }

    fn invalidate(&self, s: &mut SyncState, who: Option<&Principal>, source: &'static str) {
        s.generation = s.generation.wrapping_add(1);
        match who {
            Some(p) => self.entries.invalidate(p),
            None => self.entries.invalidate_all(),
        }
        self.metrics.cache_invalidations.get_or_create(&SourceLabels { source }).inc();
    }

    /// A change notification. In-order notifications invalidate one principal; a gap (a
    /// notification was lost) or an unknown position flushes everything. One without a
    /// counter value (sent by a Redis Cluster write script) invalidates its principal and
    /// leaves the position alone: the counter's own notification follows.
    pub fn apply_change(&self, change: &Change) {
        let Ok(mut s) = self.sync.lock() else { return };
        let Some(epoch) = change.epoch else {
            self.invalidate(&mut s, change.principal.as_ref(), "pubsub");
            return;
        };
        match s.applied {
            Some(applied) if epoch <= applied => {}
            Some(applied) if epoch == applied + 1 => {
                self.invalidate(&mut s, change.principal.as_ref(), "pubsub");
                s.applied = Some(epoch);
            }
            _ => {
                self.invalidate(&mut s, None, "pubsub_gap");
                s.applied = Some(epoch);
            }
        }
    }

    /// A successful poll that started at `started`. Flushes when the counter moved in a way
    /// notifications did not explain, then extends the confirmation.
    pub fn apply_poll(&self, epoch: u64, started: Instant) {
        let Ok(mut s) = self.sync.lock() else { return };
        if s.applied != Some(epoch) {
            if s.applied.is_some() {
                self.invalidate(&mut s, None, "poll");
            } else {
                self.invalidate(&mut s, None, "resync");
            }
            s.applied = Some(epoch);
        }
        let ms =
            u64::try_from(started.saturating_duration_since(self.origin).as_millis()).unwrap_or(0);
        self.confirmed_at.fetch_max(ms + 1, Ordering::AcqRel);
        self.metrics.cache_confirmed.set(1);
    }

    /// After (re)subscribing: notifications may have been missed, so start over.
    pub fn resync(&self) {
        let Ok(mut s) = self.sync.lock() else { return };
        self.invalidate(&mut s, None, "resync");
        s.applied = None;
    }

    /// This replica changed `principal`'s grants itself: drop its entry now instead of waiting
    /// for the notification to come back from Redis.
    pub fn invalidate_local(&self, principal: &Principal) {
        let Ok(mut s) = self.sync.lock() else { return };
        self.invalidate(&mut s, Some(principal), "local");
    }

    /// This replica may have changed grants whose principal it cannot name (a write whose
    /// answer was lost): drop every entry now.
    pub fn invalidate_all_local(&self) {
        let Ok(mut s) = self.sync.lock() else { return };
        self.invalidate(&mut s, None, "local");
    }

    /// Drops everything and forgets the confirmation (used when the store says so).
    pub fn unconfirm(&self) {
        self.confirmed_at.store(0, Ordering::Release);
        self.metrics.cache_confirmed.set(0);
    }
}

#[cfg(test)]
#[path = "cache_tests.rs"]
mod tests;
