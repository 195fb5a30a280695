//! Direct grants: created by admins, read by admins and by their subjects, revoked by admins
//! or by the subject itself ("I'm done").

use std::sync::Arc;
use std::time::Duration;

use super::WorkflowError;
use crate::decision::Caller;
use crate::grant::{Grant, GrantId, GrantSource, Principal, Revocation, Scope};
use crate::metrics::{Metrics, SourceLabels};
use crate::store::{GrantCache, GrantStore, RevokeOutcome};
use crate::time::{Clock, Timestamp, Ttl};

/// Longest reason accepted.
pub const MAX_REASON_LEN: usize = 1024;

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

/// Grant use cases.
pub struct GrantService {
    store: Arc<dyn GrantStore>,
    clock: Arc<dyn Clock>,
    admins: Vec<Principal>,
    max_ttl: Duration,
    metrics: Arc<Metrics>,
    local_cache: Option<Arc<GrantCache>>,
}

// === impl GrantService ===

impl GrantService {
    pub fn new(
        store: Arc<dyn GrantStore>,
        clock: Arc<dyn Clock>,
        admins: Vec<Principal>,
        max_ttl: Duration,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self { store, clock, admins, max_ttl, metrics, local_cache: None }
    }

    /// Changes made here also drop this replica's cache entry at once (other replicas learn
    /// through the store's notifications and change counter).
    pub fn with_local_cache(mut self, cache: Arc<GrantCache>) -> Self {
        self.local_cache = Some(cache);
        self
    }

    fn changed(&self, principal: &Principal) {
        if let Some(c) = &self.local_cache {
            c.invalidate_local(principal);
        }
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    pub fn max_ttl(&self) -> Duration {
        self.max_ttl
    }

    pub fn is_admin(&self, caller: &Caller) -> bool {
        caller.principals.iter().any(|p| self.admins.contains(p))
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
        match ttl {
            Some(t) if t.is_zero() => {
                errors.push("ttl: must be above zero, e.g. `15m`".to_string())
            }
            Some(t) if t > self.max_ttl => errors.push(format!(
                "ttl: {} is above the maximum of {}; ask for less",
                Ttl::from_duration(t),
                Ttl::from_duration(self.max_ttl)
            )),
            _ => {}
        }
        if reason.trim().is_empty() {
            errors.push("reason: say why access is needed, e.g. a ticket id like `INC-42`".into());
        } else if reason.len() > MAX_REASON_LEN {
            errors.push(format!("reason: longer than {MAX_REASON_LEN} bytes"));
        }
        if max_uses == Some(0) {
            errors.push("max_uses: must be at least 1, or null for unlimited".into());
        }
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
            return Err(WorkflowError::Forbidden(format!(
                "{} may not create grants directly: only `admins` may; file an access request instead",
                caller.subject
            )));
        }
        self.check_limits(&new)?;
        let grant = self.build(new, &caller.subject, GrantSource::Api, Vec::new());
        self.store.create(&grant).await?;
        self.changed(&grant.subject);
        self.metrics.grants_created.get_or_create(&SourceLabels { source: "api" }).inc();
        tracing::info!(grant.id = %grant.id, grant.subject = %grant.subject, grant.created_by = %caller.subject, grant.expires_at = %grant.expires_at, "Grant created");
        Ok(grant)
    }

    /// Builds a grant whose clock starts now.
    pub fn build(
        &self,
        new: NewGrant,
        by: &Principal,
        source: GrantSource,
        approved_by: Vec<Principal>,
    ) -> Grant {
        let now = self.clock.now();
        Grant {
            id: GrantId::generate(),
            subject: new.subject,
            resources: new.resources,
            created_at: now,
            expires_at: now.saturating_add(new.ttl),
            created_by: by.clone(),
            approved_by,
            reason: new.reason,
            max_uses: new.max_uses,
            uses: 0,
            last_used_at: None,
            source,
            request_id: None,
            incident: new.incident,
            auto_approved_by: None,
            revoked: None,
        }
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

    /// Revokes a grant. Admins may revoke any; a user may revoke a grant naming itself.
    pub async fn revoke(
        &self,
        caller: &Caller,
        id: &GrantId,
        reason: Option<String>,
    ) -> Result<Grant, WorkflowError> {
        let grant = self.get(caller, id).await?;
        if !self.is_admin(caller) && grant.subject != caller.subject {
            return Err(WorkflowError::Forbidden(format!(
                "{} may not revoke grant `{id}`: it is for {}, and only admins revoke others' grants",
                caller.subject, grant.subject
            )));
        }
        let revocation = Revocation { at: self.clock.now(), by: caller.subject.clone(), reason };
        match self.store.revoke(id, revocation).await? {
            RevokeOutcome::Revoked(g) => {
                self.changed(&g.subject);
                self.metrics.grants_revoked.inc();
                tracing::info!(grant.id = %id, grant.subject = %g.subject, grant.revoked_by = %caller.subject, "Grant revoked");
                Ok(*g)
            }
            RevokeOutcome::AlreadyRevoked(g) => {
                let when = g
                    .revoked
                    .as_ref()
                    .map(|r| format!(" at {} by {}", r.at, r.by))
                    .unwrap_or_default();
                Err(WorkflowError::Conflict(format!("grant `{id}` was already revoked{when}")))
            }
            RevokeOutcome::NotFound => Err(not_found(id)),
        }
    }
}

fn not_found(id: &GrantId) -> WorkflowError {
    WorkflowError::NotFound(format!(
        "no grant `{id}` (it may have expired, or belong to someone else)"
    ))
}
