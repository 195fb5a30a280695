//! DOMAIN: audit events — typed, versioned records of every control-plane change and every
//! decision. They are data, not log lines: the chain stores their JSON, queries filter on
//! their fields, and `v` lets readers handle older shapes.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::time::Timestamp;

/// The current event schema version.
pub const VERSION: u32 = 1;

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AuditKind {
    #[serde(rename = "grant.created")]
    GrantCreated,
    /// A manifest replaced a grant (its spec changed).
    #[serde(rename = "grant.replaced")]
    GrantReplaced,
    #[serde(rename = "grant.revoked")]
    GrantRevoked,
    #[serde(rename = "request.filed")]
    RequestFiled,
    /// One approval recorded; more are needed.
    #[serde(rename = "request.approval")]
    RequestApproval,
    #[serde(rename = "request.approved")]
    RequestApproved,
    #[serde(rename = "request.denied")]
    RequestDenied,
    #[serde(rename = "request.cancelled")]
    RequestCancelled,
    #[serde(rename = "request.expired")]
    RequestExpired,
    #[serde(rename = "request.escalated")]
    RequestEscalated,
    #[serde(rename = "policy.put")]
    PolicyPut,
    #[serde(rename = "policy.deleted")]
    PolicyDeleted,
    #[serde(rename = "manifest.applied")]
    ManifestApplied,
    #[serde(rename = "incident.resolved")]
    IncidentResolved,
    /// A control-plane action was refused (not allowed, conflicting, unknown target).
    #[serde(rename = "control.refused")]
    Refused,
    /// A control-plane action failed because the store could not take the change (Redis
    /// down, out of memory, too slow); nothing was changed unless `details.error` is
    /// `timeout`. Recorded once the audit log takes writes again.
    #[serde(rename = "control.failed")]
    Failed,
    #[serde(rename = "decision.allow")]
    DecisionAllow,
    #[serde(rename = "decision.deny")]
    DecisionDeny,
    /// Decision events were dropped (queue full); `details.dropped` says how many.
    #[serde(rename = "audit.gap")]
    Gap,
    /// Old entries were exported and trimmed by retention.
    #[serde(rename = "audit.trimmed")]
    Trimmed,
}

impl AuditKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::GrantCreated => "grant.created",
            Self::GrantReplaced => "grant.replaced",
            Self::GrantRevoked => "grant.revoked",
            Self::RequestFiled => "request.filed",
            Self::RequestApproval => "request.approval",
            Self::RequestApproved => "request.approved",
            Self::RequestDenied => "request.denied",
            Self::RequestCancelled => "request.cancelled",
            Self::RequestExpired => "request.expired",
            Self::RequestEscalated => "request.escalated",
            Self::PolicyPut => "policy.put",
            Self::PolicyDeleted => "policy.deleted",
            Self::ManifestApplied => "manifest.applied",
            Self::IncidentResolved => "incident.resolved",
            Self::Refused => "control.refused",
            Self::Failed => "control.failed",
            Self::DecisionAllow => "decision.allow",
            Self::DecisionDeny => "decision.deny",
            Self::Gap => "audit.gap",
            Self::Trimmed => "audit.trimmed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(Value::String(s.to_string())).ok()
    }

    pub fn is_decision(self) -> bool {
        matches!(self, Self::DecisionAllow | Self::DecisionDeny)
    }
}

impl fmt::Display for AuditKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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

    pub fn details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    /// Details from a typed struct: the struct is the wire contract.
    pub fn typed_details<T: Serialize>(mut self, details: &T) -> Self {
        // Plain structs of strings and numbers always serialize; `Null` would be visible.
        self.details = serde_json::to_value(details).unwrap_or(Value::Null);
        self
    }

    /// The canonical JSON the chain hashes (field order is fixed by the struct).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}
