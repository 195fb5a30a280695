//! Pending requests are decided under the current version of their policy (SECURITY row 60).
//!
//! A request records its policy's terms when it is filed, but those are only a snapshot: every
//! read and every decision brings a pending request up to date with the policy as it is now
//! ([`crate::access::reassess`], the filing rules applied again). When an admin replaces the
//! approvers, the old ones can no longer decide and the new ones can; when the policy is deleted
//! or no longer covers the request (or its limits), the request cannot be approved: it is
//! cancelled, with the cause on the request and in its `request.cancelled` audit record.
//!
//! Two paths lead there: every swap of the policy set (a change made on any replica, by the API
//! or a manifest) wakes the sweeper, which cancels the pending requests the change no longer
//! allows ([`RequestService::reconcile_policies`]); and a decision on such a request cancels it
//! itself, as the backstop, with a 409. Compare-and-set makes each cancellation happen once.

use std::sync::atomic::Ordering;

use super::WorkflowError;
use super::requests::{CAS_ATTEMPTS, RequestService, busy, not_found, refusal};
use crate::access::{AccessRequest, Cancellation, Draft, RequestId, RequestStatus, reassess};
use crate::audit::record;
use crate::decision::Caller;
use crate::store::Versioned;
use crate::time::Timestamp;

// === impl RequestService ===

impl RequestService {
    /// Brings pending `r` up to date with its policy: it takes the current terms, or the
    /// answer is the cancellation it is due. Decided requests are left as they are.
    pub(super) fn under_current_policy(
        &self,
        r: &mut AccessRequest,
        now: Timestamp,
    ) -> Option<Cancellation> {
        if r.status_at(now) != RequestStatus::Pending {
            return None;
        }
        let set = self.policies.current();
        if set.is_unreadable(&r.policy) {
            // Its policy is stored but cannot be read: the request waits as filed (decisions
            // on it are refused in `load_for_decision` until the policy is fixed).
            return None;
        }
        // Only the subject is known now; eligibility is not judged again (see `reassess`).
        let requester =
            Caller { subject: r.requester.clone(), principals: vec![r.requester.clone()] };
        let draft = Draft {
            requester: &requester,
            resources: &r.resources,
            ttl: r.ttl.as_duration(),
            reason: &r.reason,
            incident: r.incident.as_deref(),
        };
        match reassess(&set, &r.policy, &draft) {
            Ok(terms) => {
                r.adopt(&terms);
                None
            }
            Err(refused) => {
                if let Some(policy) = set.get(&r.policy) {
                    r.follow_approvers(policy);
                }
                Some(Cancellation::from_refusal(refused))
            }
        }
    }

    /// A request as reads show it: a pending one with its current approvers (until a request
    /// its policy no longer accepts is cancelled, it shows what it was filed with).
    pub(super) fn current_view(&self, mut r: AccessRequest) -> AccessRequest {
        let _ = self.under_current_policy(&mut r, self.clock.now());
        r
    }

    /// Loads request `id` for a decision by `caller`, under the current policy (re-read from
    /// the store first, in case another replica changed it). A request its policy no longer
    /// accepts is cancelled here, and the decision refused with a conflict.
    pub(super) async fn load_for_decision(
        &self,
        caller: &Caller,
        id: &RequestId,
    ) -> Result<Versioned<AccessRequest>, WorkflowError> {
        self.policies.refresh().await?;
        for _ in 0..CAS_ATTEMPTS {
            let Versioned { value: mut r, version } = self.load(id).await?;
            if self.policies.current().is_unreadable(&r.policy) && self.may_see(caller, &r) {
                return Err(WorkflowError::Conflict(format!(
                    "request `{id}` cannot be decided now: its policy `{}` is stored but cannot be read; an admin must re-apply the policy, then decide again",
                    r.policy
                )));
            }
            let due = self.under_current_policy(&mut r, self.clock.now());
            if !self.may_see(caller, &r) {
                return Err(not_found(id));
            }
            let Some(cancellation) = due else { return Ok(Versioned { value: r, version }) };
            if self.cancel_for_policy(r, version, &cancellation).await? {
                return Err(WorkflowError::Conflict(format!(
                    "request `{id}` can no longer be decided: {}; it is now cancelled: file a new request if access is still needed",
                    cancellation.summary()
                )));
            }
        }
        Err(busy(id))
    }

    /// Cancels pending `r`, read at `version`, which its policy no longer accepts, with its
    /// audit record. False when it changed meanwhile (the caller reads it again).
    async fn cancel_for_policy(
        &self,
        mut r: AccessRequest,
        version: u64,
        cancellation: &Cancellation,
    ) -> Result<bool, WorkflowError> {
        let now = self.clock.now();
        r.cancel_for_policy(cancellation.clone(), now).map_err(refusal)?;
        let event = record::request_cancelled_by_policy(&r, cancellation, now);
        if !self.store.update(&r, version, Some(&event)).await? {
            return Ok(false);
        }
        self.release_open(&r).await;
        self.count("cancelled");
        tracing::info!(request.id = %r.id, request.policy = %r.policy, cause = ?cancellation.cause, problems = %cancellation.summary(), "Access request cancelled: its policy no longer allows it");
        Ok(true)
    }

    /// Cancels every pending request whose policy was deleted or no longer accepts it, and
    /// stores the current terms of the others (no audit record: nothing was decided). Runs once
    /// per swap of the policy set (a no-op otherwise); returns how many it cancelled.
    pub async fn reconcile_policies(&self) -> Result<usize, WorkflowError> {
        let generation = self.policies.generation();
        if self.reconciled.load(Ordering::Acquire) == generation {
            return Ok(0);
        }
        let mut cancelled = 0;
        for id in self.store.pending().await? {
            for _ in 0..CAS_ATTEMPTS {
                // One bad record never stops the sweep: it is moved aside.
                let Some(Versioned { value: mut r, version }) =
                    self.load_or_quarantine(&id).await?
                else {
                    break;
                };
                // Requests filed before the per-requester and per-policy pending indexes
                // existed join them here (a no-op for the others).
                self.store.index_pending(&r).await?;
                let filed = r.clone();
                match self.under_current_policy(&mut r, self.clock.now()) {
                    None if r == filed => break,
                    None if self.store.update(&r, version, None).await? => break,
                    None => continue,
                    Some(c) if self.cancel_for_policy(r, version, &c).await? => {
                        cancelled += 1;
                        break;
                    }
                    Some(_) => continue,
                }
            }
        }
        self.reconciled.store(generation, Ordering::Release);
        Ok(cancelled)
    }
}
