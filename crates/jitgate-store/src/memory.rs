//! An in-memory [`GrantStore`] with the same semantics as Redis, for unit tests and dry runs.
//! Change notifications go through a broadcast channel.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tokio::sync::broadcast;

use super::memory_audit::MemoryAuditLog;
use super::redis_usage::PATH_CAP;
use super::{
    Change, ChangeStream, GrantStore, GrantUsage, RevokeOutcome, StoreError, UsageDelta, UseOutcome,
};
use crate::audit::AuditEvent;
use jitgate_core::grant::{Grant, GrantId, Principal, Revocation};
use jitgate_core::time::{Clock, SystemClock, Timestamp};

#[derive(Default)]
struct Inner {
    grants: HashMap<GrantId, Grant>,
    paths: HashMap<GrantId, BTreeSet<String>>,
    epoch: u64,
}

/// Grants in a map, guarded by a mutex that is never held across an await.
pub struct MemoryStore {
    inner: Mutex<Inner>,
    changes: broadcast::Sender<Change>,
    clock: Box<dyn Clock>,
    audit: Arc<MemoryAuditLog>,
}

// === impl MemoryStore ===

impl MemoryStore {
    pub fn new() -> Self {
        Self::with_clock(Box::new(SystemClock))
    }

    /// The clock decides when records are dropped (like Redis TTLs), never whether they allow.
    pub fn with_clock(clock: Box<dyn Clock>) -> Self {
        let (changes, _) = broadcast::channel(1024);
        let audit = Arc::new(MemoryAuditLog::default());
        Self { inner: Mutex::new(Inner::default()), changes, clock, audit }
    }

    /// Records audit events in `audit` (shared with the other in-memory stores).
    pub fn with_audit(mut self, audit: Arc<MemoryAuditLog>) -> Self {
        self.audit = audit;
        self
    }

    pub fn audit_log(&self) -> Arc<MemoryAuditLog> {
        self.audit.clone()
    }

    fn record(&self, event: &AuditEvent) -> Result<(), StoreError> {
        self.audit.push(event).map(|_| ()).map_err(|e| StoreError::Unavailable(e.to_string()))
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Inner>, StoreError> {
        self.inner.lock().map_err(|_| StoreError::Unavailable("memory store lock poisoned".into()))
    }

    fn announce(&self, inner: &mut Inner, principal: &Principal) {
        inner.epoch += 1;
        // No receivers is fine: nobody is listening.
        let _ = self.changes.send(Change {
            epoch: Some(inner.epoch),
            principal: Some(principal.clone()),
            revoked_at: None,
        });
    }

    fn unexpired(
        &self,
        subject: Option<&Principal>,
        now: Timestamp,
    ) -> Result<Vec<Grant>, StoreError> {
        let inner = self.lock()?;
        let mut out: Vec<Grant> = inner
            .grants
            .values()
            .filter(|g| subject.is_none_or(|s| &g.subject == s) && g.expires_at > now)
            .cloned()
            .collect();
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    /// Drops grants whose history retention has passed (like Redis TTLs on history records).
    fn sweep(&self, inner: &mut Inner) {
        let now = self.clock.now();
        inner
            .grants
            .retain(|_, g| g.expires_at.saturating_add(super::redis::DEFAULT_HISTORY) > now);
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl GrantStore for MemoryStore {
    async fn create(&self, grant: &Grant, event: &AuditEvent) -> Result<(), StoreError> {
        let mut inner = self.lock()?;
        self.sweep(&mut inner);
        if inner.grants.contains_key(&grant.id) {
            return Err(StoreError::Conflict(grant.id.to_string()));
        }
        self.record(event)?;
        inner.grants.insert(grant.id.clone(), grant.clone());
        self.announce(&mut inner, &grant.subject);
        Ok(())
    }

    async fn put_managed(&self, grant: &Grant, event: &AuditEvent) -> Result<(), StoreError> {
        let mut inner = self.lock()?;
        self.sweep(&mut inner);
        self.record(event)?;
        let previous = inner.grants.insert(grant.id.clone(), grant.clone());
        if let Some(old) = previous.filter(|o| o.subject != grant.subject) {
            self.announce(&mut inner, &old.subject);
        }
        self.announce(&mut inner, &grant.subject);
        Ok(())
    }

    async fn get(&self, id: &GrantId) -> Result<Option<Grant>, StoreError> {
        let mut inner = self.lock()?;
        self.sweep(&mut inner);
        let now = self.clock.now();
        Ok(inner.grants.get(id).filter(|g| g.expires_at > now).cloned())
    }

    async fn recent_for(
        &self,
        principal: &Principal,
        now: Timestamp,
    ) -> Result<Vec<Grant>, StoreError> {
        let mut inner = self.lock()?;
        self.sweep(&mut inner);
        Ok(inner
            .grants
            .values()
            .filter(|g| &g.subject == principal && g.expires_at <= now)
            .cloned()
            .collect())
    }

    async fn live_for(
        &self,
        principal: &Principal,
        now: Timestamp,
    ) -> Result<Vec<Grant>, StoreError> {
        self.unexpired(Some(principal), now)
    }

    async fn list(
        &self,
        subject: Option<&Principal>,
        now: Timestamp,
    ) -> Result<Vec<Grant>, StoreError> {
        Ok(self.unexpired(subject, now)?.into_iter().filter(|g| g.revoked.is_none()).collect())
    }

    async fn revoke(
        &self,
        id: &GrantId,
        revocation: Revocation,
        event: &AuditEvent,
    ) -> Result<RevokeOutcome, StoreError> {
        let mut inner = self.lock()?;
        self.sweep(&mut inner);
        let now = self.clock.now();
        let Some(grant) = inner.grants.get_mut(id).filter(|g| g.expires_at > now) else {
            return Ok(RevokeOutcome::NotFound);
        };
        if grant.revoked.is_some() {
            let again = grant.clone();
            self.announce(&mut inner, &again.subject);
            return Ok(RevokeOutcome::AlreadyRevoked(Box::new(again)));
        }
        self.record(&event.clone().subject(&grant.subject))?;
        grant.revoked = Some(revocation);
        let revoked = grant.clone();
        self.announce(&mut inner, &revoked.subject);
        Ok(RevokeOutcome::Revoked(Box::new(revoked)))
    }

    async fn consume_use(
        &self,
        holder: &Principal,
        id: &GrantId,
        now: Timestamp,
    ) -> Result<UseOutcome, StoreError> {
        let mut inner = self.lock()?;
        let Some(stored) = inner.grants.get_mut(id) else {
            return Ok(UseOutcome::Gone);
        };
        if stored.subject != *holder || stored.revoked.is_some() || stored.expires_at <= now {
            return Ok(UseOutcome::Gone);
        }
        let Some(max) = stored.max_uses else {
            return Ok(UseOutcome::Used { uses: stored.uses });
        };
        if stored.uses >= u64::from(max) {
            return Ok(UseOutcome::UsedUp);
        }
        stored.uses += 1;
        stored.last_used_at = Some(now);
        stored.first_used_at.get_or_insert(now);
        Ok(UseOutcome::Used { uses: stored.uses })
    }

    async fn record_usage(&self, usage: &[UsageDelta]) -> Result<(), StoreError> {
        let mut inner = self.lock()?;
        for u in usage {
            let Some(g) = inner.grants.get_mut(&u.grant) else { continue };
            if !u.limited {
                g.uses += u.uses;
            }
            g.first_used_at = Some(g.first_used_at.map_or(u.first, |f| f.min(u.first)));
            g.last_used_at = Some(g.last_used_at.map_or(u.last, |l| l.max(u.last)));
            let paths = inner.paths.entry(u.grant.clone()).or_default();
            for p in &u.paths {
                if paths.len() > PATH_CAP {
                    break;
                }
                paths.insert(p.clone());
            }
        }
        Ok(())
    }

    async fn usage(&self, grant: &Grant) -> Result<GrantUsage, StoreError> {
        let inner = self.lock()?;
        let mut paths: Vec<String> =
            inner.paths.get(&grant.id).map(|p| p.iter().cloned().collect()).unwrap_or_default();
        let truncated = paths.len() > PATH_CAP;
        paths.truncate(PATH_CAP);
        Ok(GrantUsage::of(grant, paths, truncated))
    }

    async fn by_incident(
        &self,
        incident: &str,
        now: Timestamp,
    ) -> Result<Vec<GrantId>, StoreError> {
        let all = self.list(None, now).await?;
        Ok(all
            .into_iter()
            .filter(|g| g.incident.as_deref() == Some(incident))
            .map(|g| g.id)
            .collect())
    }

    async fn epoch(&self) -> Result<u64, StoreError> {
        Ok(self.lock()?.epoch)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.lock().map(|_| ())
    }

    async fn changes(&self) -> Result<ChangeStream, StoreError> {
        // A lagging receiver ends the stream, like a dropped pub/sub connection: the consumer
        // resynchronises from scratch.
        let rx = self.changes.subscribe();
        Ok(Box::pin(futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.ok().map(|c| (c, rx))
        })))
    }
}
