//! The `details` of each audit event kind, as types: what a record holds is decided here,
//! once, and readers (the decision log, the access report, tests) read the same types back.
//! Field names are the JSON keys auditors already query (`details.cause`, `details.took_us`).

use serde::{Deserialize, Serialize};

use crate::access::{CancelCause, RequestStatus};
use crate::grant::{GrantSource, Principal, Scope};
use crate::mode::Mode;
use crate::time::{Timestamp, Ttl};

/// `grant.created` / `grant.replaced`: the grant as issued.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantIssued {
    pub resources: Vec<Scope>,
    pub expires_at: Timestamp,
    pub max_uses: Option<u32>,
    pub source: GrantSource,
    pub approved_by: Vec<Principal>,
    pub auto_approved_by: Option<String>,
    pub standing: bool,
    pub manifest_hash: Option<String>,
}

/// A `grant.revoked` the store wrote again after a failover lost it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reasserted {
    pub reasserted: bool,
}

/// Every `request.*` transition: the request's terms as they stood.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestChanged {
    pub status: RequestStatus,
    pub resources: Vec<Scope>,
    pub ttl: Ttl,
    pub approvals: usize,
    pub min_approvals: u32,
    pub one_time: bool,
    pub auto_approved_by: Option<String>,
    pub comment: Option<String>,
    /// `request.cancelled` by jitgate itself: why (`policy_deleted`, `policy_changed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<CancelCause>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

/// `policy.put`: a digest of the stored document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyDigest {
    pub sha256: String,
}

/// `control.refused` and `control.failed`: which action, its outcome (`forbidden`,
/// `conflict`, `too_many`, `not_found`, or `failed`), and for failures the store's error
/// (`unavailable`, `out_of_memory`, `timeout`: after a timeout the change may have landed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlOutcome {
    pub action: String,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `manifest.applied`: what the plan did, and each object it changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestApplied {
    pub created: usize,
    pub updated: usize,
    pub deleted: usize,
    pub unchanged: usize,
    pub skipped: usize,
    pub prune: bool,
    pub changes: Vec<ManifestChange>,
}

/// One object an apply changed (`kind` `Grant` or `AccessPolicy`; `action` create, update,
/// delete).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestChange {
    pub kind: String,
    pub name: String,
    pub action: String,
}

/// `incident.resolved`: the grants it revoked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentResolved {
    pub revoked: Vec<String>,
}

/// `audit.gap`: decision records the recorder had to drop, and over which time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gap {
    pub dropped: u64,
    pub since: Timestamp,
    pub until: Timestamp,
}

/// `audit.trimmed`: entries exported and dropped by retention, through which entry, and where
/// the export went.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trimmed {
    pub through_seq: u64,
    pub through_hash: String,
    #[serde(default)]
    pub count: u64,
    #[serde(default)]
    pub exported_to: String,
}

/// `details` of one `decision.allow` / `decision.deny`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionDetails {
    /// `enforce`, or `shadow`: the event holds the would-be decision and Envoy was told allow.
    pub mode: Mode,
    /// How long the Check took, in microseconds.
    pub took_us: u64,
}

/// `details` of a folded `decision.deny`: denies of callers jitgate could not identify, of one
/// mode, reason and call, counted over one window (see `jitgate::authz::recorder`). The
/// event's `at` and `decision_id` are the first folded deny's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FoldedDenies {
    /// How many denies the record stands for.
    pub count: u64,
    /// When the last of them was decided.
    pub last_at: Timestamp,
    pub last_decision_id: String,
    pub mode: Mode,
    /// The window already held `audit.anonymous.max_groups` groups: this record counts every
    /// further deny of its mode and reason, whatever the call (so it has no service, method
    /// or path).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub overflow: bool,
}
