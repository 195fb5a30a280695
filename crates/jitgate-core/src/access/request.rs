//! DOMAIN, pure: the access request and its lifecycle.
//!
//! ```text
//!            approve (not the last needed)
//!              ┌─────┐
//!              ▼     │
//! create ──▶ pending ─┴─ approve (last needed) ──▶ approved ──▶ grant created, its clock starts
//!   │          │ ├── deny ──────────────────────▶ denied
//!   │          │ ├── cancel (requester) ─────────▶ cancelled
//!   │          │ ├── policy deleted / no longer ─▶ cancelled (with a `cancellation`)
//!   │          │ │   accepts it
//!   │          │ └── pending_ttl passes ─────────▶ expired
//!   │          └── escalate_after passes: escalated once (escalate_to may approve too)
//!   └── auto-approve rule matches ─────────────────▶ approved
//! ```
//! Every transition takes an explicit `now`; a pending request past its expiry behaves as
//! expired even before a sweeper records it. A pending request is decided under the current
//! version of its policy, not the one it was filed under ([`super::policy_change`]).

use serde::{Deserialize, Serialize};

use crate::decision::Caller;
use crate::grant::{GrantId, Principal, Scope};
use crate::time::{Timestamp, Ttl};

pub use crate::grant::RequestId;

crate::named_enum! {
    /// Where a request stands.
    pub enum RequestStatus {
        Pending = "pending",
        Approved = "approved",
        Denied = "denied",
        Expired = "expired",
        Cancelled = "cancelled",
    }
}

/// One person's (or rule's) decision on a request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    pub by: Principal,
    pub at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// An access request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessRequest {
    pub id: RequestId,
    pub requester: Principal,
    pub resources: Vec<Scope>,
    pub ttl: Ttl,
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident: Option<String>,
    pub policy: String,
    pub status: RequestStatus,
    pub created_at: Timestamp,
    /// A pending request expires at this time.
    pub expires_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalate_at: Option<Timestamp>,
    #[serde(default)]
    pub escalated: bool,
    /// Who may approve: the policy's approvers when the request was filed, brought up to date
    /// with the current policy whenever the request is read or decided.
    pub approvers: Vec<Principal>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub escalate_to: Vec<Principal>,
    pub min_approvals: u32,
    #[serde(default)]
    pub approvals: Vec<Verdict>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub denied: Option<Verdict>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<Timestamp>,
    /// A one-time action: the grant allows the call once.
    #[serde(default)]
    pub one_time: bool,
    pub grant_ttl: Ttl,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_uses: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_approved_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_id: Option<GrantId>,
    /// Why jitgate cancelled it itself (its policy was deleted or no longer accepts it);
    /// absent when the requester cancelled it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancellation: Option<super::policy_change::Cancellation>,
}

/// Why a transition is refused. Messages are safe to show.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("request `{0}` is {1}; only pending requests can be decided")]
    NotPending(RequestId, RequestStatus),
    #[error("{0} filed this request and may not approve it: someone else must")]
    SelfApproval(Principal),
    #[error("{0} is not an approver for this request (policy `{1}`)")]
    NotApprover(Principal, String),
    #[error("{0} already approved this request; each approver counts once")]
    AlreadyApproved(Principal),
    #[error("only the requester ({0}) may cancel this request")]
    NotRequester(Principal),
    #[error(
        "request `{0}` is for a one-time action but does not name exactly one call (method, exact path and query string); it cannot be approved: cancel it and file the call again"
    )]
    NotOneCall(RequestId),
}

/// What an approval did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Approval {
    /// Recorded; more approvals are needed.
    Recorded { have: u32, need: u32 },
    /// The last needed approval: the request is approved and a grant must be created.
    Complete,
}

// === impl AccessRequest ===

impl AccessRequest {
    /// The status at `now`: a pending request past its expiry is expired.
    pub fn status_at(&self, now: Timestamp) -> RequestStatus {
        if self.status == RequestStatus::Pending && now >= self.expires_at {
            RequestStatus::Expired
        } else {
            self.status
        }
    }

    /// May `caller` decide this request now (ignoring whether it is their own)?
    pub fn is_approver(&self, caller: &Caller) -> bool {
        self.approvers.iter().any(|a| caller.holds(a))
            || (self.escalated && self.escalate_to.iter().any(|a| caller.holds(a)))
    }

    /// Has `caller` already approved this request?
    pub fn approved_by(&self, caller: &Caller) -> bool {
        self.approvals.iter().any(|a| caller.holds(&a.by))
    }

    /// May `caller` approve or deny this request now: pending, an approver, not the requester.
    pub fn may_decide(&self, caller: &Caller, now: Timestamp) -> bool {
        self.status_at(now) == RequestStatus::Pending
            && self.is_approver(caller)
            && !caller.holds(&self.requester)
    }

    /// [`Self::may_decide`], and not already counted among its approvals (the approver's
    /// queue).
    pub fn decidable_by(&self, caller: &Caller, now: Timestamp) -> bool {
        self.may_decide(caller, now) && !self.approved_by(caller)
    }

    fn check_pending(&self, now: Timestamp) -> Result<(), RequestError> {
        match self.status_at(now) {
            RequestStatus::Pending => Ok(()),
            other => Err(RequestError::NotPending(self.id.clone(), other)),
        }
    }

    fn check_decider(&self, caller: &Caller) -> Result<(), RequestError> {
        if caller.holds(&self.requester) {
            return Err(RequestError::SelfApproval(caller.subject.clone()));
        }
        if !self.is_approver(caller) {
            return Err(RequestError::NotApprover(caller.subject.clone(), self.policy.clone()));
        }
        Ok(())
    }

    pub fn approve(
        &mut self,
        caller: &Caller,
        now: Timestamp,
        comment: Option<String>,
    ) -> Result<Approval, RequestError> {
        self.check_pending(now)?;
        self.check_decider(caller)?;
        if self.one_time && !matches!(self.resources.as_slice(), [s] if s.is_single_call()) {
            // Only a request stored by an older jitgate (or edited in Redis) gets here.
            return Err(RequestError::NotOneCall(self.id.clone()));
        }
        if self.approvals.iter().any(|v| v.by == caller.subject) {
            return Err(RequestError::AlreadyApproved(caller.subject.clone()));
        }
        self.approvals.push(Verdict { by: caller.subject.clone(), at: now, comment });
        let have = u32::try_from(self.approvals.len()).unwrap_or(u32::MAX);
        if have >= self.min_approvals {
            self.status = RequestStatus::Approved;
            self.decided_at = Some(now);
            Ok(Approval::Complete)
        } else {
            Ok(Approval::Recorded { have, need: self.min_approvals })
        }
    }

    /// Approval by an auto-approve rule at filing time.
    pub fn auto_approve(&mut self, rule: String, now: Timestamp) {
        self.status = RequestStatus::Approved;
        self.decided_at = Some(now);
        self.auto_approved_by = Some(rule);
    }

    pub fn deny(
        &mut self,
        caller: &Caller,
        now: Timestamp,
        comment: Option<String>,
    ) -> Result<(), RequestError> {
        self.check_pending(now)?;
        self.check_decider(caller)?;
        self.status = RequestStatus::Denied;
        self.denied = Some(Verdict { by: caller.subject.clone(), at: now, comment });
        self.decided_at = Some(now);
        Ok(())
    }

    pub fn cancel(&mut self, caller: &Caller, now: Timestamp) -> Result<(), RequestError> {
        if caller.subject != self.requester {
            return Err(RequestError::NotRequester(self.requester.clone()));
        }
        self.check_pending(now)?;
        self.status = RequestStatus::Cancelled;
        self.decided_at = Some(now);
        Ok(())
    }

    /// Records expiry; true when this call changed the status.
    pub fn expire(&mut self, now: Timestamp) -> bool {
        if self.status == RequestStatus::Pending && now >= self.expires_at {
            self.status = RequestStatus::Expired;
            self.decided_at = Some(self.expires_at);
            true
        } else {
            false
        }
    }

    /// Records escalation once; true when this call escalated it.
    pub fn escalate(&mut self, now: Timestamp) -> bool {
        let due = self.escalate_at.is_some_and(|at| now >= at);
        if self.status_at(now) == RequestStatus::Pending && due && !self.escalated {
            self.escalated = true;
            true
        } else {
            false
        }
    }

    /// Who could approve it now, for display and notifications.
    pub fn current_approvers(&self) -> Vec<Principal> {
        let mut out = self.approvers.clone();
        if self.escalated {
            out.extend(self.escalate_to.iter().cloned());
        }
        out
    }
}
