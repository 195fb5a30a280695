//! Grants: created directly by admins or issued for approved requests, read by admins and by
//! their subjects, revoked by admins or by the subject itself ("I'm done").

use std::sync::Arc;
use std::time::Duration;

use super::events::{EventSink, NoEvents};
use super::{Admins, WorkflowError};
use crate::audit::{AuditKind, record};
use crate::decision::Caller;
use crate::grant::{Grant, GrantId, GrantSource, Principal, Scope, limits};
use crate::metrics::{Metrics, SourceLabels};
use crate::store::{GrantCache, GrantStore, MemoryAuditLog, StoreError};
use crate::time::{Clock, Timestamp};

/// Longest reason accepted.
pub use crate::grant::limits::MAX_REASON_LEN;

/// A validated request to create a grant.
#[derive(Clone, Debug)]
pub struct NewGrant {
    pub subject: Principal,
    pub resources: Vec<Scope>,
    pub ttl: Duration,
    pub reason: String,
    pub max_uses: Option<u32>,
    pub incident: Option<String>,
}

/// Where an issued grant comes from, beyond its [`NewGrant`] fields.
#[derive(Clone, Debug)]
pub struct Provenance {
    /// A fixed id makes issuing idempotent (a retried approval finds the grant it made).
    pub id: Option<GrantId>,
    pub created_by: Principal,
    pub source: GrantSource,
    pub approved_by: Vec<Principal>,
    pub request_id: Option<crate::access::RequestId>,
    pub policy: Option<String>,
    pub auto_approved_by: Option<String>,
}

pub use super::grant_filter::GrantFilter;

/// Grant use cases.
pub struct GrantService {
    pub(super) store: Arc<dyn GrantStore>,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) admins: Admins,
    pub(super) max_ttl: Duration,
    pub(super) metrics: Arc<Metrics>,
    pub(super) local_cache: Option<Arc<GrantCache>>,
    pub(super) events: Arc<dyn EventSink>,
    /// Refusals and summaries this service records (see [`super::audit`]).
    pub(super) audit: Arc<super::audit::ControlAudit>,
}

// === impl GrantService ===

impl GrantService {
    pub fn new(
        store: Arc<dyn GrantStore>,
        clock: Arc<dyn Clock>,
        admins: Admins,
        max_ttl: Duration,
        metrics: Arc<Metrics>,
    ) -> Self {
        let memory = Arc::new(MemoryAuditLog::default());
        let audit = Arc::new(super::audit::ControlAudit::new(memory, clock.clone()));
        Self {
            store,
            clock,
            admins,
            max_ttl,
            metrics,
            local_cache: None,
            events: Arc::new(NoEvents),
            audit,
        }
    }

    /// Revocations of grants governed by a policy are announced here.
    pub fn with_events(mut self, events: Arc<dyn EventSink>) -> Self {
        self.events = events;
        self
    }

    /// Changes made here also drop this replica's cache entry at once (other replicas learn
    /// through the store's notifications and change counter).
    pub fn with_local_cache(mut self, cache: Arc<GrantCache>) -> Self {
        self.local_cache = Some(cache);
        self
    }

    pub(super) fn changed(&self, principal: &Principal) {
        if let Some(c) = &self.local_cache {
            c.invalidate_local(principal);
        }
    }

    /// A write failed, but may have landed before the failure (its answer was lost): this
    /// replica drops what it cached for `principal`, or everything when it cannot tell whose
    /// grant it was, rather than keep serving what the write may have changed.
    pub(super) fn maybe_changed(&self, principal: Option<&Principal>) {
        match (principal, &self.local_cache) {
            (Some(p), _) => self.changed(p),
            (None, Some(c)) => c.invalidate_all_local(),
            (None, None) => {}
        }
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    pub fn max_ttl(&self) -> Duration {
        self.max_ttl
    }

    pub fn is_admin(&self, caller: &Caller) -> bool {
        self.admins.includes(caller)
    }

    pub fn store(&self) -> &Arc<dyn GrantStore> {
        &self.store
    }

    /// The limits every grant obeys, whoever creates it. `ttl` is `None` when the caller's
    /// value could not be parsed (already reported). Returns one message per problem.
    pub fn limit_errors(
        &self,
        ttl: Option<Duration>,
        reason: &str,
        max_uses: Option<u32>,
    ) -> Vec<String> {
        let mut errors = Vec::new();
        let problems = [
            ttl.and_then(|t| limits::ttl_problem(t, self.max_ttl)).map(|p| format!("ttl: {p}")),
            limits::reason_problem(reason, true).map(|p| format!("reason: {p}")),
            limits::max_uses_problem(max_uses).map(|p| format!("max_uses: {p}")),
        ];
        errors.extend(problems.into_iter().flatten());
        errors
    }

    fn check_limits(&self, new: &NewGrant) -> Result<(), WorkflowError> {
        let mut errors = self.limit_errors(Some(new.ttl), &new.reason, new.max_uses);
        if new.resources.is_empty() {
            errors.push("resources: at least one resource scope is required".into());
        }
        if errors.is_empty() { Ok(()) } else { Err(WorkflowError::Invalid(errors)) }
    }

    /// Creates a grant directly (admins only).
    pub async fn create(&self, caller: &Caller, new: NewGrant) -> Result<Grant, WorkflowError> {
        if !self.is_admin(caller) {
            let e = WorkflowError::Forbidden(format!(
                "{} may not create grants directly: only `admins` may; file an access request instead",
                caller.subject
            ));
            let subject = new.subject.clone();
            return Err(self
                .audit
                .refused("grant.create", &caller.subject, |ev| ev.subject(subject), e)
                .await);
        }
        let provenance = Provenance {
            id: None,
            created_by: caller.subject.clone(),
            source: GrantSource::Api,
            approved_by: Vec::new(),
            request_id: None,
            policy: None,
            auto_approved_by: None,
        };
        self.issue(new, provenance).await
    }

    /// Stores a grant whose clock starts now. With a fixed id, issuing twice returns the grant
    /// issued first.
    pub async fn issue(
        &self,
        new: NewGrant,
        provenance: Provenance,
    ) -> Result<Grant, WorkflowError> {
        self.check_limits(&new)?;
        let grant = self.build(new, provenance);
        let event = record::grant_issued(&grant, AuditKind::GrantCreated);
        match self.store.create(&grant, &event).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => {
                if let Some(existing) = self.store.get(&grant.id).await? {
                    return Ok(existing);
                }
                return Err(WorkflowError::Conflict(format!(
                    "grant `{}` already exists",
                    grant.id
                )));
            }
            Err(e) => {
                self.maybe_changed(Some(&grant.subject));
                return Err(e.into());
            }
        }
        self.changed(&grant.subject);
        let source = grant.source.as_str();
        self.metrics.grants_created.get_or_create(&SourceLabels { source }).inc();
        tracing::info!(grant.id = %grant.id, grant.subject = %grant.subject, grant.created_by = %grant.created_by, grant.expires_at = %grant.expires_at, grant.source = source, "Grant created");
        Ok(grant)
    }

    fn build(&self, new: NewGrant, p: Provenance) -> Grant {
        let now = self.clock.now();
        Grant {
            approved_by: p.approved_by,
            max_uses: new.max_uses,
            source: p.source,
            request_id: p.request_id,
            incident: new.incident,
            policy: p.policy,
            auto_approved_by: p.auto_approved_by,
            ..Grant::new(
                p.id.unwrap_or_else(GrantId::generate),
                new.subject,
                new.resources,
                p.created_by,
                new.reason,
                now,
                now.saturating_add(new.ttl),
            )
        }
    }

    /// Creates or replaces a manifest-managed grant (the caller was authorized by `apply`).
    pub async fn put_managed(
        &self,
        by: &Principal,
        m: &crate::manifest::GrantManifest,
    ) -> Result<Grant, WorkflowError> {
        let now = self.clock.now();
        let ttl = m.ttl.unwrap_or(crate::manifest::STANDING_TTL);
        let grant = Grant {
            max_uses: m.max_uses,
            source: GrantSource::Manifest,
            incident: m.incident.clone(),
            standing: m.standing(),
            manifest_hash: Some(m.hash.clone()),
            ..Grant::new(
                m.id(),
                m.subject.clone(),
                m.resources.clone(),
                by.clone(),
                m.reason.clone(),
                now,
                now.saturating_add(ttl),
            )
        };
        let previous = self.store.get(&grant.id).await?.map(|g| g.subject);
        let kind =
            if previous.is_some() { AuditKind::GrantReplaced } else { AuditKind::GrantCreated };
        let stored = self.store.put_managed(&grant, &record::grant_issued(&grant, kind)).await;
        if let Err(e) = stored {
            self.maybe_changed(previous.as_ref());
            self.maybe_changed(Some(&grant.subject));
            return Err(e.into());
        }
        if let Some(old) = previous.filter(|s| *s != grant.subject) {
            self.changed(&old);
        }
        self.changed(&grant.subject);
        self.metrics.grants_created.get_or_create(&SourceLabels { source: "manifest" }).inc();
        tracing::info!(grant.id = %grant.id, grant.subject = %grant.subject, grant.applied_by = %by, grant.expires_at = %grant.expires_at, "Manifest grant applied");
        Ok(grant)
    }

    /// A grant's usage ledger (uses, first and last use, distinct paths), for those who may
    /// see the grant.
    pub async fn usage(&self, grant: &Grant) -> Result<crate::store::GrantUsage, WorkflowError> {
        Ok(self.store.usage(grant).await?)
    }

    /// One grant; callers who are neither admins nor its subject get "not found".
    pub async fn get(&self, caller: &Caller, id: &GrantId) -> Result<Grant, WorkflowError> {
        match self.store.get(id).await? {
            Some(g) if self.is_admin(caller) || caller.holds(&g.subject) => Ok(g),
            _ => Err(not_found(id)),
        }
    }

    /// Live grants. Admins see everyone's; others only grants naming one of their principals.
    pub async fn list(
        &self,
        caller: &Caller,
        subject: Option<&Principal>,
    ) -> Result<Vec<Grant>, WorkflowError> {
        let now = self.clock.now();
        if self.is_admin(caller) {
            return Ok(self.store.list(subject, now).await?);
        }
        if let Some(s) = subject {
            if !caller.holds(s) {
                return Err(WorkflowError::Forbidden(format!(
                    "{} may only list its own grants, not those of {s}",
                    caller.subject
                )));
            }
            return Ok(self.store.list(Some(s), now).await?);
        }
        let mut out = Vec::new();
        for p in &caller.principals {
            out.extend(self.store.list(Some(p), now).await?);
        }
        Ok(out)
    }
}

pub(super) fn not_found(id: &GrantId) -> WorkflowError {
    WorkflowError::NotFound(format!(
        "no grant `{id}` (it may have expired, or belong to someone else)"
    ))
}
