//! DOMAIN: audit events — typed, versioned records of every control-plane change and every
//! decision. They are data, not log lines: the chain stores their JSON, queries filter on
//! their fields, and `v` lets readers handle older shapes.

#[path = "audit_details.rs"]
pub mod details;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::time::Timestamp;

/// The current event schema version.
pub const VERSION: u32 = 1;

crate::named_enum! {
    /// What happened.
    pub enum AuditKind {
        GrantCreated = "grant.created",
        /// A manifest replaced a grant (its spec changed).
        GrantReplaced = "grant.replaced",
        GrantRevoked = "grant.revoked",
        RequestFiled = "request.filed",
        /// One approval recorded; more are needed.
        RequestApproval = "request.approval",
        RequestApproved = "request.approved",
        RequestDenied = "request.denied",
        RequestCancelled = "request.cancelled",
        RequestExpired = "request.expired",
        RequestEscalated = "request.escalated",
        PolicyPut = "policy.put",
        PolicyDeleted = "policy.deleted",
        ManifestApplied = "manifest.applied",
        IncidentResolved = "incident.resolved",
        /// A control-plane action was refused (not allowed, conflicting, unknown target).
        Refused = "control.refused",
        /// A control-plane action failed because the store could not take the change (Redis
        /// down, out of memory, too slow); nothing was changed unless `details.error` is
        /// `timeout`. Recorded once the audit log takes writes again.
        Failed = "control.failed",
        DecisionAllow = "decision.allow",
        DecisionDeny = "decision.deny",
        /// Decision events were dropped (queue full); `details.dropped` says how many.
        Gap = "audit.gap",
        /// Old entries were exported and trimmed by retention.
        Trimmed = "audit.trimmed",
    }
}

impl AuditKind {
    pub fn is_decision(self) -> bool {
        matches!(self, Self::DecisionAllow | Self::DecisionDeny)
    }
}

/// One audit event. Optional fields are present when they apply to the kind.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub v: u32,
    /// Unique per event (deduplicates relayed copies).
    pub id: String,
    pub kind: AuditKind,
    pub at: Timestamp,
    /// Who did it (`None` for the clock: expiry, escalation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// The principal whose access it concerns (the caller, for decisions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// When `path` holds only the start of a longer path: SHA-256 (hex) of the whole path, so
    /// an investigator can still match a known URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_sha256: Option<String>,
    /// When `path` was cut: the whole path's length in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_bytes: Option<u64>,
    /// A deny reason code, or a human reason for control-plane changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Kind-specific details (resources, TTL, comment, counts...).
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub details: Value,
}

// === impl AuditEvent ===

impl AuditEvent {
    pub fn new(kind: AuditKind, at: Timestamp) -> Self {
        Self::with_id(kind, at, uuid::Uuid::new_v4().simple().to_string())
    }

    /// An event whose id is already unique (a decision's id).
    pub fn with_id(kind: AuditKind, at: Timestamp, id: String) -> Self {
        Self {
            v: VERSION,
            id,
            kind,
            at,
            actor: None,
            subject: None,
            grant_id: None,
            request_id: None,
            policy: None,
            incident: None,
            decision_id: None,
            service: None,
            method: None,
            path: None,
            path_sha256: None,
            path_bytes: None,
            reason: None,
            details: Value::Null,
        }
    }

    pub fn actor(mut self, who: impl ToString) -> Self {
        self.actor = Some(who.to_string());
        self
    }

    pub fn subject(mut self, who: impl ToString) -> Self {
        self.subject = Some(who.to_string());
        self
    }

    pub fn grant(mut self, id: impl ToString) -> Self {
        self.grant_id = Some(id.to_string());
        self
    }

    pub fn request(mut self, id: impl ToString) -> Self {
        self.request_id = Some(id.to_string());
        self
    }

    pub fn policy(mut self, name: impl ToString) -> Self {
        self.policy = Some(name.to_string());
        self
    }

    pub fn incident(mut self, id: impl ToString) -> Self {
        self.incident = Some(id.to_string());
        self
    }

    pub fn reason(mut self, reason: impl ToString) -> Self {
        self.reason = Some(reason.to_string());
        self
    }

    /// The event's details, from the kind's type in [`details`]: the type is the contract.
    pub fn details<T: Serialize>(mut self, details: &T) -> Self {
        // Plain structs of strings and numbers always serialize; `Null` would be visible.
        self.details = serde_json::to_value(details).unwrap_or(Value::Null);
        self
    }

    /// The canonical JSON the chain hashes (field order is fixed by the struct).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}
