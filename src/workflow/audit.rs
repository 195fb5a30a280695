//! Audit records the workflow writes itself ([`ControlAudit`]): summaries of changes whose own
//! records the stores write atomically (a manifest applied, an incident resolved), refusals,
//! and failures.
//! A record the log cannot take right now (Redis down or out of memory: the very failures
//! being recorded) is held in memory and retried until it lands, oldest first.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{GrantService, WorkflowError};
use crate::audit::{AuditEvent, AuditLog, record};
use crate::grant::Principal;
use crate::store::StoreError;
use crate::time::Clock;

/// Most records held while the audit log refuses writes; beyond it the oldest are dropped
/// (and logged). They live in this process only: a restart before the log is back loses them.
pub const HELD_MAX: usize = 1000;

/// How often held records are retried (a check of an empty queue costs a lock, nothing else).
pub const RETRY_EVERY: Duration = Duration::from_secs(1);

/// Records waiting for the audit log, oldest first.
#[derive(Default)]
pub struct Held(std::sync::Mutex<VecDeque<AuditEvent>>);

// === impl Held ===

impl Held {
    /// Holds a record that could not be written, after those already waiting.
    fn hold(&self, event: AuditEvent) {
        let Ok(mut q) = self.0.lock() else { return };
        q.push_back(event);
        Self::bound(&mut q);
    }

    /// Puts `events` back at the front (they are older than anything held since).
    fn requeue(&self, events: Vec<AuditEvent>) {
        let Ok(mut q) = self.0.lock() else { return };
        for e in events.into_iter().rev() {
            q.push_front(e);
        }
        Self::bound(&mut q);
    }

    fn bound(q: &mut VecDeque<AuditEvent>) {
        let over = q.len().saturating_sub(HELD_MAX);
        if over > 0 {
            q.drain(..over);
            tracing::error!(
                dropped = over,
                limit = HELD_MAX,
                "Audit records held for an unavailable log were dropped"
            );
        }
    }

    fn take(&self) -> Vec<AuditEvent> {
        self.0.lock().map(|mut q| q.drain(..).collect()).unwrap_or_default()
    }

    pub fn len(&self) -> usize {
        self.0.lock().map(|q| q.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The control plane's own audit records: summaries of changes whose own records the stores
/// write atomically (a manifest applied, an incident resolved), refusals and failures, with
/// the records the log could not take yet. One per process, shared by the services that
/// record (grants, requests, apply); each records its own.
pub struct ControlAudit {
    log: Arc<dyn AuditLog>,
    held: Held,
    clock: Arc<dyn Clock>,
}

impl ControlAudit {
    pub fn new(log: Arc<dyn AuditLog>, clock: Arc<dyn Clock>) -> Self {
        Self { log, held: Held::default(), clock }
    }

    pub fn log(&self) -> &Arc<dyn AuditLog> {
        &self.log
    }

    /// Records an event that is not part of a store change. When the log cannot take it,
    /// it is held and retried by [`retry_held`]; the caller's answer does not wait for it.
    pub async fn record(&self, event: AuditEvent) {
        if !self.held.is_empty() {
            // Keep the order: whatever waits goes first.
            self.flush_held().await;
        }
        if let Err(e) = self.log.append(std::slice::from_ref(&event)).await {
            tracing::warn!(error = %e, audit.kind = %event.kind, "Could not record an audit event; holding it for a retry");
            self.held.hold(event);
        }
    }

    /// Writes the held records, if any; returns how many were written.
    pub async fn flush_held(&self) -> usize {
        let events = self.held.take();
        if events.is_empty() {
            return 0;
        }
        match self.log.append(&events).await {
            Ok(_) => {
                tracing::info!(count = events.len(), "Held audit records written");
                events.len()
            }
            Err(e) => {
                tracing::debug!(error = %e, "Held audit records still cannot be written");
                self.held.requeue(events);
                0
            }
        }
    }

    /// How many records wait for the audit log.
    pub fn held_records(&self) -> usize {
        self.held.len()
    }

    /// Records a refused (`control.refused`) or failed (`control.failed`: the store could not
    /// take the change) control-plane action, then hands the error back.
    pub async fn refused(
        &self,
        action: &str,
        by: &Principal,
        target: impl FnOnce(AuditEvent) -> AuditEvent,
        err: WorkflowError,
    ) -> WorkflowError {
        let now = self.clock.now();
        let event = match &err {
            WorkflowError::Forbidden(_) => {
                record::refused(action, by, now, "forbidden", &err.to_string())
            }
            WorkflowError::Conflict(_) => {
                record::refused(action, by, now, "conflict", &err.to_string())
            }
            WorkflowError::TooMany(_) => {
                record::refused(action, by, now, "too_many", &err.to_string())
            }
            WorkflowError::NotFound(_) => {
                record::refused(action, by, now, "not_found", &err.to_string())
            }
            WorkflowError::Unavailable(e) => {
                let error = match e {
                    StoreError::Timeout(_) => "timeout",
                    StoreError::OutOfMemory(_) => "out_of_memory",
                    _ => "unavailable",
                };
                record::failed(action, by, now, error, &e.to_string())
            }
            WorkflowError::Invalid(_) => return err,
        };
        self.record(target(event)).await;
        err
    }
}

impl GrantService {
    /// Where summaries (manifest applied, incident resolved) and refusals are recorded. Each
    /// change itself records its event through its store, atomically with the change.
    pub fn with_audit(mut self, log: Arc<dyn AuditLog>) -> Self {
        self.audit = Arc::new(ControlAudit::new(log, self.clock.clone()));
        self
    }

    /// The control plane's audit recorder, shared with the services built on this one.
    pub fn audit(&self) -> &Arc<ControlAudit> {
        &self.audit
    }
}

/// Retries held audit records every `every` until cancelled, and once more at shutdown.
pub async fn retry_held(audit: Arc<ControlAudit>, every: Duration, cancel: CancellationToken) {
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = tokio::time::sleep(every) => {}
        }
        audit.flush_held().await;
    }
    audit.flush_held().await;
    let left = audit.held_records();
    if left > 0 {
        tracing::error!(count = left, "Audit records could not be written before shutdown");
    }
}

#[cfg(test)]
#[path = "audit_tests.rs"]
mod tests;
