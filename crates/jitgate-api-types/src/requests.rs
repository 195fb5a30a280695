//! Access requests as `/v1/requests` answers them.

use jitgate_core::access::{AccessRequest, RequestStatus};
use jitgate_core::decision::Caller;
use jitgate_core::grant::Principal;
use jitgate_core::time::Timestamp;
use serde::{Deserialize, Serialize};

use crate::grants::GrantBody;

/// A request as the API shows it to one caller: the stored request with its status as of the
/// answer, who can approve it now, whether this caller may decide it and has approved it, and
/// (while pending) the time and approvals it still needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestBody {
    /// `status` is the status at the moment of the answer (a pending request past its
    /// `expires_at` shows `expired`), not the one last stored.
    #[serde(flatten)]
    pub request: AccessRequest,
    pub current_approvers: Vec<Principal>,
    pub can_approve: bool,
    pub approved_by_you: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in_seconds: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approvals_needed: Option<u32>,
    /// The grant an approval made, where the answer includes it (one request, an approval).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant: Option<GrantBody>,
}

impl RequestBody {
    /// `request` as `caller` sees it at `now`.
    pub fn at(request: &AccessRequest, caller: &Caller, now: Timestamp) -> Self {
        let status = request.status_at(now);
        let pending = status == RequestStatus::Pending;
        let have = u32::try_from(request.approvals.len()).unwrap_or(u32::MAX);
        Self {
            current_approvers: request.current_approvers(),
            can_approve: request.may_decide(caller, now),
            approved_by_you: request.approved_by(caller),
            expires_in_seconds: pending.then(|| request.expires_at.remaining_after(now).as_secs()),
            approvals_needed: pending.then(|| request.min_approvals.saturating_sub(have)),
            grant: None,
            request: AccessRequest { status, ..request.clone() },
        }
    }

    pub fn with_grant(self, grant: Option<GrantBody>) -> Self {
        Self { grant, ..self }
    }
}

/// `GET /v1/requests`: one page, and the cursor of the next (`null` at the end).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestList {
    pub requests: Vec<RequestBody>,
    pub next: Option<String>,
}
