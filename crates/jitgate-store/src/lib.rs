//! Grant storage behind one seam, [`GrantStore`], with two real implementations: Redis (the
//! product) and in-memory (unit tests, dry runs). On top sits [`GrantCache`], which lets a Check
//! normally do no network I/O while bounding how stale an allow can be.
//!
//! Every Redis key is built in [`keys`]; nothing else formats a key. The audit log's seam
//! ([`audit::AuditLog`]) is here too, beside its Redis Streams and memory implementations.
//!
//! INFRASTRUCTURE: this crate depends on the domain (`jitgate-core`) and the metrics registry,
//! never on jitgate's application or transport layers (`tests/architecture.rs` checks it).

pub mod audit;
pub mod audit_log;
pub mod cache;
pub mod corrupt;
mod fill;
#[cfg(any(test, feature = "fixtures"))]
pub mod fixtures;
pub mod invalidate;
pub mod keys;
pub mod memory;
pub mod memory_audit;
pub mod policies;
pub mod reassert;
pub mod redis;
mod redis_announce;
pub mod redis_conn;
pub mod redis_handle;
mod redis_nodes;
mod redis_read;
pub mod redis_requests;
pub mod redis_usage;
mod request_scripts;
pub mod requests;
mod scripts;

use std::pin::Pin;

use async_trait::async_trait;
use futures_util::Stream;

use crate::audit::AuditEvent;
use jitgate_core::grant::{Grant, GrantId, Principal, Revocation};
use jitgate_core::time::Timestamp;

pub use audit_log::RedisAuditLog;
pub use cache::{CacheSettings, GrantCache, GrantSet};
pub use corrupt::{CorruptRecords, RecordKind, skip_corrupt};
pub use memory::MemoryStore;
pub use memory_audit::MemoryAuditLog;
pub use policies::{MemoryPolicies, PolicyStore, PutOutcome, RedisPolicies, StoredPolicies};
pub use redis::RedisStore;
pub use redis_conn::{RedisConn, RedisSettings, Topology};
pub use redis_handle::RedisHandle;
pub use redis_requests::RedisRequests;
pub use requests::{
    Filed, IndexPosition, MemoryRequests, OpenKey, PendingLimits, Quarantined, RequestIndex,
    RequestStore, Versioned,
};

/// Why a store operation failed. "Not found" is never an error: it is `None` or an outcome.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("the grant store is unreachable: {0}")]
    Unavailable(String),
    #[error("the grant store did not answer within {0:?}")]
    Timeout(std::time::Duration),
    /// Redis answered `OOM` (`maxmemory` reached under `noeviction`): it refused the write
    /// before running it, so nothing was changed.
    #[error("the grant store is out of memory: {0}")]
    OutOfMemory(String),
    #[error("a stored record could not be read: {0}")]
    Corrupt(String),
    #[error("grant `{0}` already exists")]
    Conflict(String),
}

/// The result of consuming one use of a grant with `max_uses`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UseOutcome {
    /// The use was recorded; `uses` is the new count.
    Used { uses: u64 },
    /// Every use has been spent.
    UsedUp,
    /// The grant is gone (revoked, expired or never existed).
    Gone,
}

/// The result of a revocation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RevokeOutcome {
    Revoked(Box<Grant>),
    AlreadyRevoked(Box<Grant>),
    NotFound,
}

/// A change notification: the store's change counter after the change (`None` when the
/// notification was sent without it: a Redis Cluster write script cannot reach the counter),
/// and whose grants changed (`None` when unknown, which means "everyone").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub epoch: Option<u64>,
    pub principal: Option<Principal>,
    /// For revocations: when the revoking replica announced it (measures propagation).
    pub revoked_at: Option<Timestamp>,
}

/// The uses of one grant one replica saw since its last flush.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageDelta {
    pub grant: GrantId,
    pub subject: Principal,
    pub expires_at: Timestamp,
    /// Limited grants count their uses exactly when consumed; only times and paths fold in.
    pub limited: bool,
    pub uses: u64,
    pub first: Timestamp,
    pub last: Timestamp,
    /// Distinct normalized paths.
    pub paths: Vec<String>,
}

pub use jitgate_core::grant::GrantUsage;

pub type ChangeStream = Pin<Box<dyn Stream<Item = Change> + Send>>;

/// Where grants live. Implementations must keep a TTL on every grant record no later than the
/// grant's expiry, make each write atomic, and bump the change counter and announce every
/// change that can alter a Check's answer in the same atomic step as the change (a write whose
/// caller never hears back must still reach every replica). Every change records its audit
/// event in the same atomic step.
#[async_trait]
pub trait GrantStore: Send + Sync + 'static {
    /// Stores a new grant and its audit event; `Conflict` if the id exists.
    async fn create(&self, grant: &Grant, event: &AuditEvent) -> Result<(), StoreError>;

    /// Creates or replaces the grant with this id (manifest-managed grants), atomically per
    /// grant; a revoked grant with this id is replaced too.
    async fn put_managed(&self, grant: &Grant, event: &AuditEvent) -> Result<(), StoreError>;

    /// A grant by id, live or revoked (expired grants are gone).
    async fn get(&self, id: &GrantId) -> Result<Option<Grant>, StoreError>;

    /// Every grant naming `principal` that has not expired at `now`, revoked ones included
    /// (marked), so the engine can say why a call is denied.
    async fn live_for(
        &self,
        principal: &Principal,
        now: Timestamp,
    ) -> Result<Vec<Grant>, StoreError>;

    /// Grants naming `principal` that expired recently (within the history retention), for
    /// explaining why a call is denied.
    async fn recent_for(
        &self,
        principal: &Principal,
        now: Timestamp,
    ) -> Result<Vec<Grant>, StoreError>;

    /// Live (unexpired, unrevoked) grants, for one subject or for everyone.
    async fn list(
        &self,
        subject: Option<&Principal>,
        now: Timestamp,
    ) -> Result<Vec<Grant>, StoreError>;

    /// Revokes a grant; the record is kept (marked revoked) until its original expiry. The
    /// event is recorded with the grant's subject filled in. Revoking a revoked grant answers
    /// `AlreadyRevoked` and announces the revocation again (the caller may be retrying a call
    /// whose answer was lost).
    async fn revoke(
        &self,
        id: &GrantId,
        revocation: Revocation,
        event: &AuditEvent,
    ) -> Result<RevokeOutcome, StoreError>;

    /// Atomically consumes one use of grant `id` (held by `holder`) with `max_uses`.
    async fn consume_use(
        &self,
        holder: &Principal,
        id: &GrantId,
        now: Timestamp,
    ) -> Result<UseOutcome, StoreError>;

    /// Folds uses seen by this replica into each grant's usage ledger.
    async fn record_usage(&self, usage: &[UsageDelta]) -> Result<(), StoreError>;

    /// A grant's usage ledger (the grant as just read).
    async fn usage(&self, grant: &Grant) -> Result<GrantUsage, StoreError>;

    /// Ids of unexpired, unrevoked grants tied to `incident`.
    async fn by_incident(&self, incident: &str, now: Timestamp)
    -> Result<Vec<GrantId>, StoreError>;

    /// The change counter: any change to any grant increases it.
    async fn epoch(&self) -> Result<u64, StoreError>;

    /// Cheap liveness probe.
    async fn ping(&self) -> Result<(), StoreError>;

    /// A stream of change notifications. It ends when the connection drops; notifications
    /// are at-most-once, so consumers must also poll [`GrantStore::epoch`].
    async fn changes(&self) -> Result<ChangeStream, StoreError>;
}
