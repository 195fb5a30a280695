//! Incidents: when an incident is resolved (by an admin, or by an incident tool's webhook),
//! every grant tied to it is revoked at once.

use super::{GrantService, WorkflowError};
use crate::audit::event::details::IncidentResolved;
use crate::audit::{AuditEvent, AuditKind};
use crate::grant::{Grant, Principal};

impl GrantService {
    /// Revokes every live grant tied to `incident`; returns the grants revoked now.
    pub async fn resolve_incident(
        &self,
        by: &Principal,
        incident: &str,
    ) -> Result<Vec<Grant>, WorkflowError> {
        let ids = self.store().by_incident(incident, self.now()).await?;
        let mut revoked = Vec::new();
        for id in ids {
            let reason = Some(format!("incident {incident} resolved"));
            match self.revoke_in_incident(by, &id, reason, incident).await {
                Ok(g) => revoked.push(g),
                // Revoked or expired meanwhile: nothing left to do for it.
                Err(WorkflowError::Conflict(_) | WorkflowError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        tracing::info!(incident, by = %by, revoked = revoked.len(), "Incident resolved");
        let ids: Vec<String> = revoked.iter().map(|g| g.id.to_string()).collect();
        let event = AuditEvent::new(AuditKind::IncidentResolved, self.now())
            .actor(by)
            .incident(incident)
            .details(&IncidentResolved { revoked: ids });
        self.audit.record(event).await;
        Ok(revoked)
    }
}
