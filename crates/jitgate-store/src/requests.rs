//! Where access requests live: [`RequestStore`], with optimistic concurrency (every write
//! names the version it read, so two approvers, a sweeper and a cancel can race safely).
//! The in-memory implementation is here; Redis is in [`super::redis_requests`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;

use super::StoreError;
use super::memory_audit::MemoryAuditLog;
use crate::audit::AuditEvent;
use jitgate_core::access::{AccessRequest, RequestId, RequestStatus};
use jitgate_core::time::Timestamp;

/// How many requests may wait for a decision at once (0: no limit).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PendingLimits {
    pub per_requester: u32,
    pub per_policy: u32,
}

/// One of the request indexes [`RequestStore::page`] reads. The recent ones are scored by
/// filing time and read newest first; the pending ones by expiry, read soonest first.
#[derive(Clone, Copy, Debug)]
pub enum RequestIndex<'a> {
    /// Every request filed within the retention.
    Recent,
    /// One requester's requests filed within the retention.
    RecentOf(&'a jitgate_core::grant::Principal),
    /// Every pending request.
    Pending,
    /// One requester's pending requests (their budget index).
    PendingOf(&'a jitgate_core::grant::Principal),
    /// One policy's pending requests (its budget index).
    PendingFor(&'a str),
}

impl RequestIndex<'_> {
    /// Whether the index is read from its highest score down.
    pub fn newest_first(&self) -> bool {
        matches!(self, Self::Recent | Self::RecentOf(_))
    }
}

/// Where one request sits in a [`RequestIndex`]: its score (milliseconds: filing time or
/// expiry) and its id, which breaks ties. A page resumes strictly after a position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexPosition {
    pub score: i64,
    pub id: RequestId,
}

impl IndexPosition {
    /// How `self` and `other` compare in the order an index is read in (`Less`: read first).
    pub fn read_order(&self, other: &Self, newest_first: bool) -> std::cmp::Ordering {
        let order = (self.score, &self.id).cmp(&(other.score, &other.id));
        if newest_first { order.reverse() } else { order }
    }

    /// Whether `self` comes after `other` in an index read in the given direction.
    pub fn is_after(&self, other: &Self, newest_first: bool) -> bool {
        self.read_order(other, newest_first).is_gt()
    }
}

/// What [`RequestStore::create`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filed {
    Stored,
    /// The requester already has `per_requester` pending requests: nothing was written.
    RequesterFull,
    /// The policy already has `per_policy` pending requests: nothing was written.
    PolicyFull,
}

/// A value and the version it was read at.
#[derive(Clone, Debug)]
pub struct Versioned<T> {
    pub value: T,
    pub version: u64,
}

#[async_trait]
pub trait RequestStore: Send + Sync + 'static {
    /// Stores a new request (version 1) and its audit event, kept for `retention` after it
    /// was filed — unless it is pending and its requester or its policy already has as many
    /// pending requests as `limits` allow (checked and written in one atomic step).
    async fn create(
        &self,
        request: &AccessRequest,
        retention: Duration,
        event: &AuditEvent,
        limits: PendingLimits,
    ) -> Result<Filed, StoreError>;

    async fn get(&self, id: &RequestId) -> Result<Option<Versioned<AccessRequest>>, StoreError>;

    /// Writes `request` and its audit event if the stored version is still `version`. False
    /// on a concurrent change. `event` is `None` only for rewrites that decide nothing (index
    /// repairs, a pending request taking the terms of its policy's audited change).
    async fn update(
        &self,
        request: &AccessRequest,
        version: u64,
        event: Option<&AuditEvent>,
    ) -> Result<bool, StoreError>;

    /// Ids of requests still marked pending.
    async fn pending(&self) -> Result<Vec<RequestId>, StoreError>;

    /// Ids of pending requests whose expiry or escalation time has come.
    async fn due(&self, now: Timestamp) -> Result<Vec<RequestId>, StoreError>;

    /// At most `count` positions of `index` strictly after `after` (from its start when
    /// `None`), in the index's order: a page costs what it returns, not what the store holds.
    async fn page(
        &self,
        index: RequestIndex<'_>,
        after: Option<&IndexPosition>,
        count: usize,
    ) -> Result<Vec<IndexPosition>, StoreError>;

    /// Puts pending `request` in its requester's and its policy's pending index, if it is not
    /// there yet (requests filed before those indexes existed).
    async fn index_pending(&self, request: &AccessRequest) -> Result<(), StoreError>;

    /// Records `id` as the open request for one exact call by one requester, unless another
    /// is already recorded: returns the recorded one in that case.
    async fn claim_open(
        &self,
        key: &OpenKey,
        id: &RequestId,
        until: Timestamp,
    ) -> Result<Option<RequestId>, StoreError>;

    /// Forgets the open request for one exact call.
    async fn release_open(&self, key: &OpenKey) -> Result<(), StoreError>;

    /// Counts one request filed for `requester` from a denied Check in the minute `minute`
    /// (Unix minutes); returns the count so far in that minute, across every replica.
    async fn count_auto_filed(
        &self,
        requester: &jitgate_core::grant::Principal,
        minute: i64,
    ) -> Result<u64, StoreError>;

    /// Moves the record of request `id`, which cannot be decoded, aside to the quarantine
    /// and out of every index (pending, escalations, recent), so lists and the sweeper go on
    /// without it; it keeps its expiry. False when there was no such record.
    async fn quarantine(
        &self,
        id: &RequestId,
        why: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError>;

    /// The quarantined requests, oldest first (those whose retention ran out are dropped).
    async fn quarantined(&self) -> Result<Vec<Quarantined>, StoreError>;

    /// What a quarantined record holds, as stored, for an admin to inspect.
    async fn quarantined_record(&self, id: &RequestId) -> Result<Option<String>, StoreError>;

    /// Deletes a quarantined record for good. False when there was none.
    async fn delete_quarantined(&self, id: &RequestId) -> Result<bool, StoreError>;
}

/// A request record moved aside because it could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Quarantined {
    pub id: String,
    pub quarantined_at: Timestamp,
    pub reason: String,
}

/// Identifies "this requester's pending request for this exact call".
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OpenKey {
    pub requester: jitgate_core::grant::Principal,
    /// A digest of (service, method, path).
    pub call: String,
}

#[derive(Default)]
struct Inner {
    requests: HashMap<RequestId, (AccessRequest, u64)>,
    open: HashMap<OpenKey, (RequestId, Timestamp)>,
    quarantine: HashMap<RequestId, (String, Quarantined)>,
    auto_filed: HashMap<(jitgate_core::grant::Principal, i64), u64>,
}

/// Requests in a map.
#[derive(Default)]
pub struct MemoryRequests {
    inner: Mutex<Inner>,
    audit: Arc<MemoryAuditLog>,
}

impl MemoryRequests {
    /// Records audit events in `audit` (shared with the other in-memory stores).
    pub fn with_audit(audit: Arc<MemoryAuditLog>) -> Self {
        Self { inner: Mutex::default(), audit }
    }

    fn record(&self, event: &AuditEvent) -> Result<(), StoreError> {
        self.audit.push(event).map(|_| ()).map_err(|e| StoreError::Unavailable(e.to_string()))
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Inner>, StoreError> {
        self.inner.lock().map_err(|_| StoreError::Unavailable("request map lock poisoned".into()))
    }
}

#[async_trait]
impl RequestStore for MemoryRequests {
    async fn create(
        &self,
        request: &AccessRequest,
        _retention: Duration,
        event: &AuditEvent,
        limits: PendingLimits,
    ) -> Result<Filed, StoreError> {
        let mut inner = self.lock()?;
        if inner.requests.contains_key(&request.id) {
            return Err(StoreError::Conflict(request.id.to_string()));
        }
        if request.status == RequestStatus::Pending {
            let waiting = |same: &dyn Fn(&AccessRequest) -> bool| {
                inner
                    .requests
                    .values()
                    .filter(|(r, _)| r.status == RequestStatus::Pending)
                    .filter(|(r, _)| r.expires_at > request.created_at && same(r))
                    .count()
            };
            let full = |limit: u32, n: usize| limit > 0 && n >= limit as usize;
            if full(limits.per_requester, waiting(&|r| r.requester == request.requester)) {
                return Ok(Filed::RequesterFull);
            }
            if full(limits.per_policy, waiting(&|r| r.policy == request.policy)) {
                return Ok(Filed::PolicyFull);
            }
        }
        self.record(event)?;
        inner.requests.insert(request.id.clone(), (request.clone(), 1));
        Ok(Filed::Stored)
    }

    async fn get(&self, id: &RequestId) -> Result<Option<Versioned<AccessRequest>>, StoreError> {
        Ok(self.lock()?.requests.get(id).map(|(r, v)| Versioned { value: r.clone(), version: *v }))
    }

    async fn update(
        &self,
        request: &AccessRequest,
        version: u64,
        event: Option<&AuditEvent>,
    ) -> Result<bool, StoreError> {
        let mut inner = self.lock()?;
        match inner.requests.get_mut(&request.id) {
            Some((stored, v)) if *v == version => {
                if let Some(e) = event {
                    self.record(e)?;
                }
                *stored = request.clone();
                *v += 1;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn pending(&self) -> Result<Vec<RequestId>, StoreError> {
        let inner = self.lock()?;
        let mut ids: Vec<RequestId> = inner
            .requests
            .values()
            .filter(|(r, _)| r.status == RequestStatus::Pending)
            .map(|(r, _)| r.id.clone())
            .collect();
        ids.sort();
        Ok(ids)
    }

    async fn due(&self, now: Timestamp) -> Result<Vec<RequestId>, StoreError> {
        let inner = self.lock()?;
        Ok(inner
            .requests
            .values()
            .filter(|(r, _)| r.status == RequestStatus::Pending)
            .filter(|(r, _)| {
                r.expires_at <= now || (!r.escalated && r.escalate_at.is_some_and(|e| e <= now))
            })
            .map(|(r, _)| r.id.clone())
            .collect())
    }

    async fn page(
        &self,
        index: RequestIndex<'_>,
        after: Option<&IndexPosition>,
        count: usize,
    ) -> Result<Vec<IndexPosition>, StoreError> {
        let inner = self.lock()?;
        let pending = |r: &AccessRequest| r.status == RequestStatus::Pending;
        let mut out: Vec<IndexPosition> = inner
            .requests
            .values()
            .map(|(r, _)| r)
            .filter(|r| match index {
                RequestIndex::Recent => true,
                RequestIndex::RecentOf(p) => &r.requester == p,
                RequestIndex::Pending => pending(r),
                RequestIndex::PendingOf(p) => pending(r) && &r.requester == p,
                RequestIndex::PendingFor(name) => pending(r) && r.policy == name,
            })
            .map(|r| IndexPosition {
                score: if index.newest_first() { r.created_at } else { r.expires_at }.as_millis(),
                id: r.id.clone(),
            })
            .filter(|p| after.is_none_or(|a| p.is_after(a, index.newest_first())))
            .collect();
        out.sort_by(|a, b| a.read_order(b, index.newest_first()));
        out.truncate(count);
        Ok(out)
    }

    /// The map is its own index.
    async fn index_pending(&self, _request: &AccessRequest) -> Result<(), StoreError> {
        Ok(())
    }

    async fn release_open(&self, key: &OpenKey) -> Result<(), StoreError> {
        self.lock()?.open.remove(key);
        Ok(())
    }

    async fn count_auto_filed(
        &self,
        requester: &jitgate_core::grant::Principal,
        minute: i64,
    ) -> Result<u64, StoreError> {
        let mut inner = self.lock()?;
        inner.auto_filed.retain(|(_, m), _| *m >= minute.saturating_sub(1));
        let n = inner.auto_filed.entry((requester.clone(), minute)).or_default();
        *n = n.saturating_add(1);
        Ok(*n)
    }

    /// Typed values in memory always decode; a request moved here is kept as its JSON.
    async fn quarantine(
        &self,
        id: &RequestId,
        why: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut inner = self.lock()?;
        let Some((r, _)) = inner.requests.remove(id) else { return Ok(false) };
        let raw = serde_json::to_string(&r).unwrap_or_default();
        let q = Quarantined { id: id.to_string(), quarantined_at: now, reason: why.to_string() };
        inner.quarantine.insert(id.clone(), (raw, q));
        Ok(true)
    }

    async fn quarantined(&self) -> Result<Vec<Quarantined>, StoreError> {
        let mut out: Vec<Quarantined> =
            self.lock()?.quarantine.values().map(|(_, q)| q.clone()).collect();
        out.sort_by(|a, b| (a.quarantined_at, &a.id).cmp(&(b.quarantined_at, &b.id)));
        Ok(out)
    }

    async fn quarantined_record(&self, id: &RequestId) -> Result<Option<String>, StoreError> {
        Ok(self.lock()?.quarantine.get(id).map(|(raw, _)| raw.clone()))
    }

    async fn delete_quarantined(&self, id: &RequestId) -> Result<bool, StoreError> {
        Ok(self.lock()?.quarantine.remove(id).is_some())
    }

    async fn claim_open(
        &self,
        key: &OpenKey,
        id: &RequestId,
        until: Timestamp,
    ) -> Result<Option<RequestId>, StoreError> {
        let now = jitgate_core::time::Clock::now(&jitgate_core::time::SystemClock);
        let mut inner = self.lock()?;
        match inner.open.get(key) {
            Some((existing, exp)) if *exp > now => Ok(Some(existing.clone())),
            _ => {
                inner.open.insert(key.clone(), (id.clone(), until));
                Ok(None)
            }
        }
    }
}
