//! Time-driven request transitions: pending requests past their expiry become expired, and
//! those past their escalation time escalate — each exactly once across every replica (the
//! compare-and-set decides who records it, and only that replica notifies). A change of the
//! policy set wakes it too: pending requests the change no longer allows are cancelled first.
//! Request records that cannot be decoded are moved aside to the quarantine, never in the way.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::WorkflowError;
use super::events::EventKind;
use super::requests::RequestService;
use crate::audit::{AuditKind, record};
use crate::store::Versioned;

impl RequestService {
    /// Cancels the pending requests a policy change no longer allows (once per change), then
    /// records every due expiry and escalation; returns how many transitions were recorded.
    pub async fn sweep(&self) -> Result<usize, WorkflowError> {
        self.quarantine_found().await?;
        let mut recorded = self.reconcile_policies().await?;
        let now = self.clock.now();
        for id in self.store.due(now).await? {
            for _ in 0..4 {
                // One bad record never stops the sweep: it is moved aside.
                let Some(Versioned { value: mut r, version }) =
                    self.load_or_quarantine(&id).await?
                else {
                    break;
                };
                // An escalation names the approvers of the policy as it is now.
                let _ = self.under_current_policy(&mut r, now);
                let (kind, audited) = if r.expire(now) {
                    (EventKind::Expired, AuditKind::RequestExpired)
                } else if r.escalate(now) {
                    (EventKind::Escalated, AuditKind::RequestEscalated)
                } else {
                    // Decided elsewhere but still indexed: rewriting it (unchanged, so with
                    // no audit event) fixes the index.
                    let _ = self.store.update(&r, version, None).await?;
                    break;
                };
                let event = record::request_changed(audited, &r, None, now, None);
                if self.store.update(&r, version, Some(&event)).await? {
                    recorded += 1;
                    self.count(kind.as_str());
                    if kind == EventKind::Expired {
                        self.release_open(&r).await;
                    }
                    tracing::info!(request.id = %id, transition = %kind, "Access request transitioned");
                    self.announce(kind, &r, None, None);
                    break;
                }
            }
        }
        Ok(recorded)
    }
}

/// Runs [`RequestService::sweep`] every `every`, and at once when the policy set changes,
/// until cancelled.
pub async fn run(requests: Arc<RequestService>, every: Duration, cancel: CancellationToken) {
    let mut policies = requests.policies.watch_generation();
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
            changed = policies.changed() => if changed.is_err() { return },
        }
        if let Err(e) = requests.sweep().await {
            tracing::debug!(error = %e, "Request sweep failed; retrying next tick");
        }
    }
}
