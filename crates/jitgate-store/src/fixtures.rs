//! Test doubles for other crates' unit tests (the `fixtures` feature; never the binary): a
//! memory store that counts reads, can fail, can hold a read, and can lose the answer to a
//! revoke it made; and a way to mark a cache confirmed without a poller.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use async_trait::async_trait;
use jitgate_core::audit::AuditEvent;
use jitgate_core::grant::{Grant, GrantId, Principal, Revocation};
use jitgate_core::time::Timestamp;

use crate::cache::GrantCache;
use crate::{
    ChangeStream, GrantStore, GrantUsage, MemoryStore, RevokeOutcome, StoreError, UsageDelta,
    UseOutcome,
};

/// A memory store that counts reads, can fail, can hold a read until released, and can lose
/// the answer to a revoke it made.
#[derive(Default)]
pub struct FaultyStore {
    pub inner: MemoryStore,
    pub reads: AtomicUsize,
    pub down: AtomicBool,
    pub hold: tokio::sync::Mutex<()>,
    pub lose_revoke_answers: AtomicBool,
}

#[async_trait]
impl GrantStore for FaultyStore {
    async fn create(&self, g: &Grant, e: &AuditEvent) -> Result<(), StoreError> {
        self.inner.create(g, e).await
    }
    async fn put_managed(&self, g: &Grant, e: &AuditEvent) -> Result<(), StoreError> {
        self.inner.put_managed(g, e).await
    }
    async fn get(&self, id: &GrantId) -> Result<Option<Grant>, StoreError> {
        self.inner.get(id).await
    }
    async fn recent_for(&self, p: &Principal, now: Timestamp) -> Result<Vec<Grant>, StoreError> {
        self.inner.recent_for(p, now).await
    }
    async fn live_for(&self, p: &Principal, now: Timestamp) -> Result<Vec<Grant>, StoreError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        if self.down.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable("test: down".into()));
        }
        let result = self.inner.live_for(p, now).await;
        let _held = self.hold.lock().await;
        result
    }
    async fn list(&self, s: Option<&Principal>, now: Timestamp) -> Result<Vec<Grant>, StoreError> {
        self.inner.list(s, now).await
    }
    async fn revoke(
        &self,
        id: &GrantId,
        r: Revocation,
        e: &AuditEvent,
    ) -> Result<RevokeOutcome, StoreError> {
        let outcome = self.inner.revoke(id, r, e).await;
        if self.lose_revoke_answers.load(Ordering::SeqCst) {
            return Err(StoreError::Timeout(Duration::from_millis(200)));
        }
        outcome
    }
    async fn record_usage(&self, u: &[UsageDelta]) -> Result<(), StoreError> {
        self.inner.record_usage(u).await
    }
    async fn usage(&self, g: &Grant) -> Result<GrantUsage, StoreError> {
        self.inner.usage(g).await
    }
    async fn consume_use(
        &self,
        p: &Principal,
        id: &GrantId,
        now: Timestamp,
    ) -> Result<UseOutcome, StoreError> {
        self.inner.consume_use(p, id, now).await
    }
    async fn by_incident(&self, i: &str, now: Timestamp) -> Result<Vec<GrantId>, StoreError> {
        self.inner.by_incident(i, now).await
    }
    async fn epoch(&self) -> Result<u64, StoreError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable("test: down".into()));
        }
        self.inner.epoch().await
    }
    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
    async fn changes(&self) -> Result<ChangeStream, StoreError> {
        self.inner.changes().await
    }
}

/// Marks `cache` confirmed at `store`'s current change counter, as a poll would.
pub async fn confirm(store: &FaultyStore, cache: &GrantCache) {
    cache.apply_poll(store.epoch().await.unwrap_or_default(), Instant::now());
}
