//! Revoking grants: by an admin, by the grant's own subject ("I'm done"), by a resolved
//! incident; each revocation audited, announced to the policy's notification targets and
//! dropped from every replica's cache.

use super::WorkflowError;
use super::events::{Event, EventKind};
use super::grants::{GrantService, not_found};
use crate::audit::{AuditEvent, record};
use crate::decision::Caller;
use crate::grant::{Grant, GrantId, Principal, Revocation};
use crate::store::RevokeOutcome;

impl GrantService {
    /// Revokes a grant. Admins may revoke any; a user may revoke a grant naming itself.
    pub async fn revoke(
        &self,
        caller: &Caller,
        id: &GrantId,
        reason: Option<String>,
    ) -> Result<Grant, WorkflowError> {
        let target = |e: AuditEvent| e.grant(id);
        let grant = match self.get(caller, id).await {
            Ok(g) => g,
            Err(e) => {
                return Err(self.audit.refused("grant.revoke", &caller.subject, target, e).await);
            }
        };
        if !self.is_admin(caller) && grant.subject != caller.subject {
            let e = WorkflowError::Forbidden(format!(
                "{} may not revoke grant `{id}`: it is for {}, and only admins revoke others' grants",
                caller.subject, grant.subject
            ));
            return Err(self.audit.refused("grant.revoke", &caller.subject, target, e).await);
        }
        match self.revoke_recorded(&caller.subject, id, reason, None, Some(&grant.subject)).await {
            Err(e) => Err(self.audit.refused("grant.revoke", &caller.subject, target, e).await),
            ok => ok,
        }
    }

    /// Revokes on behalf of `by` (already authorized by the caller of this function).
    pub async fn revoke_as(
        &self,
        by: &Principal,
        id: &GrantId,
        reason: Option<String>,
    ) -> Result<Grant, WorkflowError> {
        self.revoke_recorded(by, id, reason, None, None).await
    }

    /// Revokes as part of resolving `incident` (the record names it).
    pub async fn revoke_in_incident(
        &self,
        by: &Principal,
        id: &GrantId,
        reason: Option<String>,
        incident: &str,
    ) -> Result<Grant, WorkflowError> {
        self.revoke_recorded(by, id, reason, Some(incident), None).await
    }

    /// Revokes and records it; `subject` is the grant's, when the caller already read it.
    async fn revoke_recorded(
        &self,
        by: &Principal,
        id: &GrantId,
        reason: Option<String>,
        incident: Option<&str>,
        subject: Option<&Principal>,
    ) -> Result<Grant, WorkflowError> {
        let revocation = Revocation { at: self.clock.now(), by: by.clone(), reason };
        let event = record::grant_revoked(id, &revocation, incident);
        let outcome = match self.store.revoke(id, revocation, &event).await {
            Ok(o) => o,
            Err(e) => {
                self.maybe_changed(subject);
                return Err(e.into());
            }
        };
        match outcome {
            RevokeOutcome::Revoked(g) => {
                self.changed(&g.subject);
                self.metrics.grants_revoked.inc();
                tracing::info!(grant.id = %id, grant.subject = %g.subject, grant.revoked_by = %by, "Grant revoked");
                self.announce_revocation(&g, by);
                Ok(*g)
            }
            RevokeOutcome::AlreadyRevoked(g) => {
                // Announced again by the store: perhaps the first answer was lost.
                self.changed(&g.subject);
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

impl GrantService {
    fn announce_revocation(&self, g: &Grant, by: &Principal) {
        let Some(policy) = &g.policy else { return };
        let summary = format!(
            "{by} revoked grant `{}` of {} ({})",
            g.id,
            g.subject,
            crate::access::describe(&g.resources)
        );
        let mut event = Event::new(EventKind::Revoked, policy, self.clock.now(), summary);
        event.actor = Some(by.clone());
        event.grant = Some(g.clone());
        self.events.publish(event);
    }
}

#[cfg(test)]
#[path = "grant_revocation_tests.rs"]
mod tests;
