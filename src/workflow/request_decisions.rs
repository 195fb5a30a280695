//! Deciding access requests: approve (issuing the grant on the last approval needed), deny
//! and cancel, each a compare-and-set on the request's version retried a few times, with
//! refusals audited.

use std::time::Duration;

use super::WorkflowError;
use super::events::EventKind;
use super::grants::{NewGrant, Provenance};
use super::requests::{CAS_ATTEMPTS, RequestService, busy, grant_id_for, not_found, refusal};
use crate::access::{AccessRequest, Approval, RequestError, RequestId, RequestStatus};
use crate::audit::{AuditEvent, AuditKind, record};
use crate::decision::Caller;
use crate::grant::GrantSource;
use crate::store::Versioned;
use crate::time::Timestamp;

impl RequestService {
    pub async fn approve(
        &self,
        caller: &Caller,
        id: &RequestId,
        comment: Option<String>,
    ) -> Result<AccessRequest, WorkflowError> {
        match self.approve_once(caller, id, comment).await {
            Err(e) => Err(self.refused("request.approve", caller, id, e).await),
            ok => ok,
        }
    }

    async fn approve_once(
        &self,
        caller: &Caller,
        id: &RequestId,
        comment: Option<String>,
    ) -> Result<AccessRequest, WorkflowError> {
        for _ in 0..CAS_ATTEMPTS {
            let Versioned { value: mut r, version } = self.load_for_decision(caller, id).await?;
            let now = self.clock.now();
            let outcome = match r.approve(caller, now, comment.clone()) {
                Ok(o) => o,
                Err(RequestError::NotPending(_, RequestStatus::Approved))
                    if r.grant_id.is_some() =>
                {
                    // A retry after a failed grant write finishes the job; otherwise a conflict.
                    return self.finish_approved(r, caller).await;
                }
                Err(e) => return Err(refusal(e)),
            };
            let kind = if outcome == Approval::Complete {
                r.grant_id = Some(grant_id_for(&r.id));
                AuditKind::RequestApproved
            } else {
                AuditKind::RequestApproval
            };
            let event =
                record::request_changed(kind, &r, Some(&caller.subject), now, comment.as_deref());
            if !self.store.update(&r, version, Some(&event)).await? {
                continue;
            }
            tracing::info!(request.id = %id, approver = %caller.subject, outcome = ?outcome, "Access request approved");
            if outcome == Approval::Complete {
                self.release_open(&r).await;
                let grant = self.issue_grant(&r).await?;
                self.count("approved");
                self.announce(EventKind::Approved, &r, Some(caller.subject.clone()), Some(grant));
            }
            return Ok(r);
        }
        Err(busy(id))
    }

    /// Records a refused decision on a request, then hands the error back.
    async fn refused(
        &self,
        action: &str,
        caller: &Caller,
        id: &RequestId,
        e: WorkflowError,
    ) -> WorkflowError {
        self.audit.refused(action, &caller.subject, |ev: AuditEvent| ev.request(id), e).await
    }

    /// An approved request whose grant write failed (Redis hiccup) gets its grant on the next
    /// approve call, for what is left of its TTL. Once that time has passed (or the grant
    /// exists, live, expired-and-gone or revoked), there is nothing to finish.
    async fn finish_approved(
        &self,
        r: AccessRequest,
        caller: &Caller,
    ) -> Result<AccessRequest, WorkflowError> {
        let done = || refusal(RequestError::NotPending(r.id.clone(), RequestStatus::Approved));
        let (Some(grant_id), Some(decided)) = (&r.grant_id, r.decided_at) else {
            return Err(done());
        };
        let remaining =
            decided.saturating_add(r.grant_ttl.as_duration()).remaining_after(self.clock.now());
        if !r.is_approver(caller)
            || remaining.is_zero()
            || self.grants.store().get(grant_id).await?.is_some()
        {
            return Err(done());
        }
        let grant = self.issue_grant_for(&r, remaining).await?;
        self.announce(EventKind::Approved, &r, Some(caller.subject.clone()), Some(grant));
        Ok(r)
    }

    pub async fn deny(
        &self,
        caller: &Caller,
        id: &RequestId,
        comment: Option<String>,
    ) -> Result<AccessRequest, WorkflowError> {
        let apply =
            |r: &mut AccessRequest, now| r.deny(caller, now, comment.clone()).map_err(refusal);
        let r = match self
            .transition(caller, id, AuditKind::RequestDenied, comment.as_deref(), true, apply)
            .await
        {
            Ok(r) => r,
            Err(e) => return Err(self.refused("request.deny", caller, id, e).await),
        };
        self.release_open(&r).await;
        self.count("denied");
        self.announce(EventKind::Denied, &r, Some(caller.subject.clone()), None);
        Ok(r)
    }

    pub async fn cancel(
        &self,
        caller: &Caller,
        id: &RequestId,
    ) -> Result<AccessRequest, WorkflowError> {
        let apply = |r: &mut AccessRequest, now| r.cancel(caller, now).map_err(refusal);
        let r = match self
            .transition(caller, id, AuditKind::RequestCancelled, None, false, apply)
            .await
        {
            Ok(r) => r,
            Err(e) => return Err(self.refused("request.cancel", caller, id, e).await),
        };
        self.release_open(&r).await;
        self.count("cancelled");
        tracing::info!(request.id = %id, by = %caller.subject, "Access request cancelled");
        Ok(r)
    }

    /// Load, apply, compare-and-set with its audit event; retried on concurrent changes. A
    /// `decision` (by an approver) is made under the current policy.
    async fn transition(
        &self,
        caller: &Caller,
        id: &RequestId,
        kind: AuditKind,
        comment: Option<&str>,
        decision: bool,
        apply: impl Fn(&mut AccessRequest, Timestamp) -> Result<(), WorkflowError>,
    ) -> Result<AccessRequest, WorkflowError> {
        for _ in 0..CAS_ATTEMPTS {
            let Versioned { value: mut r, version } = if decision {
                self.load_for_decision(caller, id).await?
            } else {
                self.load(id).await?
            };
            if !self.may_see(caller, &r) {
                return Err(not_found(id));
            }
            let now = self.clock.now();
            apply(&mut r, now)?;
            let event = record::request_changed(kind, &r, Some(&caller.subject), now, comment);
            if self.store.update(&r, version, Some(&event)).await? {
                return Ok(r);
            }
        }
        Err(busy(id))
    }

    /// Issues the grant of an approved request (idempotent through its fixed id).
    pub(super) async fn issue_grant(
        &self,
        r: &AccessRequest,
    ) -> Result<crate::grant::Grant, WorkflowError> {
        self.issue_grant_for(r, r.grant_ttl.as_duration()).await
    }

    async fn issue_grant_for(
        &self,
        r: &AccessRequest,
        ttl: Duration,
    ) -> Result<crate::grant::Grant, WorkflowError> {
        let new = NewGrant {
            subject: r.requester.clone(),
            resources: r.resources.clone(),
            ttl,
            reason: if r.reason.trim().is_empty() {
                format!("access request {}", r.id)
            } else {
                r.reason.clone()
            },
            max_uses: r.max_uses,
            incident: r.incident.clone(),
        };
        let provenance = Provenance {
            id: r.grant_id.clone(),
            created_by: r.requester.clone(),
            source: GrantSource::Request,
            approved_by: r.approvals.iter().map(|v| v.by.clone()).collect(),
            request_id: Some(r.id.clone()),
            policy: Some(r.policy.clone()),
            auto_approved_by: r.auto_approved_by.clone(),
        };
        self.grants.issue(new, provenance).await
    }
}
