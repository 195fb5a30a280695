//! Audit records the workflow writes itself: summaries of changes whose own records the
//! stores write atomically (a manifest applied, an incident resolved), and refusals.

use std::sync::Arc;

use super::{GrantService, WorkflowError};
use crate::audit::{AuditEvent, AuditLog, record};
use crate::grant::Principal;

impl GrantService {
    /// Where summaries (manifest applied, incident resolved) and refusals are recorded. Each
    /// change itself records its event through its store, atomically with the change.
    pub fn with_audit(mut self, audit: Arc<dyn AuditLog>) -> Self {
        self.audit = audit;
        self
    }

    pub fn audit(&self) -> &Arc<dyn AuditLog> {
        &self.audit
    }

    /// Records an event that is not part of a store change. Failing to record it is logged,
    /// not fatal: the changes it summarises carry their own records.
    pub async fn record(&self, event: AuditEvent) {
        if let Err(e) = self.audit.append(std::slice::from_ref(&event)).await {
            tracing::warn!(error = %e, audit.kind = %event.kind, "Could not record an audit event");
        }
    }

    /// Records a refused control-plane action (`control.refused`), then hands the error back.
    pub async fn refused(
        &self,
        action: &str,
        by: &Principal,
        target: impl FnOnce(AuditEvent) -> AuditEvent,
        err: WorkflowError,
    ) -> WorkflowError {
        let status = match &err {
            WorkflowError::Forbidden(_) => "forbidden",
            WorkflowError::Conflict(_) => "conflict",
            WorkflowError::NotFound(_) => "not_found",
            _ => return err,
        };
        let event = record::refused(action, by, self.clock.now(), status, &err.to_string());
        self.record(target(event)).await;
        err
    }
}
