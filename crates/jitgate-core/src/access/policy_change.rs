//! DOMAIN, pure: a pending request follows its policy. It is decided under the policy's current
//! version — its approvers (and `escalate_to`), the approvals it needs, its limits — not under
//! the snapshot taken when it was filed; and once the policy is deleted or no longer accepts it
//! ([`super::reassess`]), it can only be cancelled, with the reason recorded on it.
//!
//! Approvals already recorded stay counted: they were given by approvers of the policy of the
//! time. Who decides next is judged against the current approvers.

use serde::{Deserialize, Serialize};

use super::assess::{Assessment, Refusal};
use super::policy::AccessPolicy;
use super::request::{AccessRequest, RequestError, RequestStatus};
use crate::time::{Timestamp, Ttl};

/// Why jitgate cancelled a pending request itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CancelCause {
    /// The policy it was filed under was deleted.
    PolicyDeleted,
    /// The policy was changed and no longer covers its resources or allows its terms.
    PolicyChanged,
}

/// The record of that cancellation, kept on the request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cancellation {
    pub cause: CancelCause,
    /// What the current policy objects to, one line per problem (safe to show).
    pub problems: Vec<String>,
}

// === impl Cancellation ===

impl Cancellation {
    /// Why [`super::reassess`] refused a pending request.
    pub fn from_refusal(refusal: Refusal) -> Self {
        match refusal {
            Refusal::PolicyGone(m) => Self { cause: CancelCause::PolicyDeleted, problems: vec![m] },
            Refusal::NotCovered(m) | Refusal::NotEligible(m) => {
                Self { cause: CancelCause::PolicyChanged, problems: vec![m] }
            }
            Refusal::Invalid(problems) => Self { cause: CancelCause::PolicyChanged, problems },
        }
    }

    /// One line for messages and audit records.
    pub fn summary(&self) -> String {
        self.problems.join("; ")
    }
}

// === impl AccessRequest ===

impl AccessRequest {
    /// Takes the terms the current policy sets (from [`super::reassess`]): who approves, how
    /// many approvals are needed, when it escalates, and what the grant will be (its TTL can
    /// only shrink, and a one-time approval stays one use). Only pending requests change;
    /// decided ones keep the terms they were decided under.
    pub fn adopt(&mut self, terms: &Assessment) {
        if self.status != RequestStatus::Pending {
            return;
        }
        let p = &terms.policy;
        self.follow_approvers(p);
        self.min_approvals = p.min_approvals;
        self.escalate_at = p.escalate_after.map(|d| self.created_at.saturating_add(d));
        self.grant_ttl = Ttl::from_duration(terms.grant_ttl);
        // A change never loosens a one-time approval into a reusable grant.
        self.one_time = self.one_time || terms.one_time;
        self.max_uses = match (self.max_uses, terms.max_uses) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }

    /// Takes the policy's current approvers (and `escalate_to`): they decide, and see, the
    /// request from now on — also when the policy no longer accepts it, so that those who
    /// see it cancelled are the approvers of the policy that refused it.
    pub fn follow_approvers(&mut self, policy: &AccessPolicy) {
        if self.status == RequestStatus::Pending {
            self.approvers = policy.approvers.clone();
            self.escalate_to = policy.escalate_to.clone();
        }
    }

    /// Cancels a pending request its policy no longer accepts.
    pub fn cancel_for_policy(
        &mut self,
        cancellation: Cancellation,
        now: Timestamp,
    ) -> Result<(), RequestError> {
        match self.status_at(now) {
            RequestStatus::Pending => {
                self.status = RequestStatus::Cancelled;
                self.decided_at = Some(now);
                self.cancellation = Some(cancellation);
                Ok(())
            }
            other => Err(RequestError::NotPending(self.id.clone(), other)),
        }
    }
}
