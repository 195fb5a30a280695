//! Grants as `/v1/grants` answers them.

use jitgate_core::grant::{Grant, GrantStatus, GrantUsage};
use jitgate_core::time::Timestamp;
use serde::{Deserialize, Serialize};

/// A grant as the API shows it: the stored grant, its status when the answer was made and the
/// seconds it had left then.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantBody {
    #[serde(flatten)]
    pub grant: Grant,
    pub status: GrantStatus,
    pub expires_in_seconds: u64,
}

impl GrantBody {
    /// `grant` as seen at `now`.
    pub fn at(grant: Grant, now: Timestamp) -> Self {
        let status = grant.status(now);
        let expires_in_seconds = grant.expires_at.remaining_after(now).as_secs();
        Self { grant, status, expires_in_seconds }
    }
}

/// `GET /v1/grants/{id}`: the grant and its usage ledger.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantWithUsage {
    #[serde(flatten)]
    pub grant: GrantBody,
    pub usage: GrantUsage,
}

/// `GET /v1/grants`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantList {
    pub grants: Vec<GrantBody>,
}
