//! DOMAIN: access policies. A policy says who may request which resources, who approves and
//! how many approvals are needed, which requests approve themselves, which actions need a
//! one-time approval per call, and where notifications go. [`PolicyDocument`] is the
//! Kubernetes-style wire shape; [`AccessPolicy::from_document`] is the one validation point.

use std::slice;
use std::time::Duration;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::grant::{Principal, Scope, ScopeWire};
use crate::time::Ttl;

pub const API_VERSION: &str = "jitgate.dev/v1alpha1";
pub const KIND: &str = "AccessPolicy";

crate::named_enum! {
    /// What a notification target may subscribe to: something that happened to a request or
    /// a grant governed by a policy.
    pub enum EventKind {
        Requested = "requested",
        Approved = "approved",
        Denied = "denied",
        Expired = "expired",
        Escalated = "escalated",
        Revoked = "revoked",
    }
}

/// `apiVersion`/`kind`/`metadata`/`spec`, as in YAML manifests and the REST body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyDocument {
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    pub kind: String,
    pub metadata: Metadata,
    pub spec: PolicySpec,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metadata {
    pub name: String,
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub labels: std::collections::BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub annotations: std::collections::BTreeMap<String, String>,
}

fn one() -> u32 {
    1
}
fn yes() -> bool {
    true
}
fn hour() -> String {
    "1h".into()
}
fn five_minutes() -> String {
    "5m".into()
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySpec {
    pub resources: Vec<ScopeWire>,
    pub requesters: Vec<String>,
    #[serde(default)]
    pub approvers: Vec<String>,
    #[serde(default = "one")]
    pub min_approvals: u32,
    pub max_ttl: String,
    #[serde(default = "hour")]
    pub pending_ttl: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalate_after: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub escalate_to: Vec<String>,
    #[serde(default)]
    pub reason: ReasonSpec,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub auto_approve: Vec<AutoApproveSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub one_time_actions: Vec<ScopeWire>,
    #[serde(default = "five_minutes")]
    pub one_time_ttl: String,
    #[serde(default)]
    pub file_one_time_requests: bool,
    /// Manifests may declare `standing: true` grants for this policy's requesters.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_standing: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notify: Vec<NotifySpec>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReasonSpec {
    #[serde(default = "yes")]
    pub required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
}

impl Default for ReasonSpec {
    fn default() -> Self {
        Self { required: true, pattern: None }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoApproveSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requesters: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub methods: Vec<String>,
    pub max_ttl: String,
    /// Only when the request names an incident.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub incident: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifySpec {
    /// Where deliveries are POSTed. Often a bearer secret (a Slack incoming webhook), so only
    /// admins read it back ([`PolicyDocument::redact_notify_targets`]). Required in writes.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub webhook: String,
    #[serde(default)]
    pub format: NotifyFormat,
    /// Events to send ([`EventKind`] names); empty means all of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<String>,
    /// Environment variable holding this target's signing secret (else the global one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_env: Option<String>,
    /// Set on reads by non-admins, in place of `webhook` and `secret_env`; refused in writes.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub redacted: bool,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotifyFormat {
    #[default]
    Json,
    Slack,
}

// === impl PolicyDocument ===

impl PolicyDocument {
    /// What a reader who is not an admin sees: that the policy notifies, in which format and
    /// on which events, but not where (`webhook`) or with which secret (`secret_env`).
    pub fn redact_notify_targets(mut self) -> Self {
        for t in &mut self.spec.notify {
            t.webhook.clear();
            t.secret_env = None;
            t.redacted = true;
        }
        self
    }
}

/// A validated auto-approve rule.
#[derive(Clone, Debug)]
pub struct AutoRule {
    /// `<policy>/<name>` or `<policy>/auto_approve[<i>]`, recorded on grants it approves.
    pub id: String,
    pub requesters: Vec<Principal>,
    pub methods: Vec<String>,
    pub max_ttl: Duration,
    pub incident: bool,
}

/// A validated policy.
#[derive(Clone, Debug)]
pub struct AccessPolicy {
    pub name: String,
    pub resources: Vec<Scope>,
    pub requesters: Vec<Principal>,
    pub approvers: Vec<Principal>,
    pub min_approvals: u32,
    pub max_ttl: Duration,
    pub pending_ttl: Duration,
    pub escalate_after: Option<Duration>,
    pub escalate_to: Vec<Principal>,
    pub reason_required: bool,
    pub reason_pattern: Option<Regex>,
    pub auto_approve: Vec<AutoRule>,
    pub one_time_actions: Vec<Scope>,
    pub one_time_ttl: Duration,
    pub file_one_time_requests: bool,
    pub allow_standing: bool,
    pub notify: Vec<NotifySpec>,
    /// The document it was built from (what `GET /v1/policies/{name}` returns).
    pub document: PolicyDocument,
}

// === impl AccessPolicy ===

impl AccessPolicy {
    /// Validates a document; every problem is returned, each prefixed by its field path.
    pub fn from_document(doc: PolicyDocument) -> Result<Self, Vec<String>> {
        super::validate::validate_policy(doc)
    }

    /// True when `caller` holds one of the requester principals.
    pub fn may_request(&self, principals: &[Principal]) -> bool {
        self.requesters.iter().any(|r| principals.contains(r))
    }

    /// True when `principals` hold an approver (or escalation approver) of this policy: the
    /// policy's pending requests belong in their queue.
    pub fn may_approve(&self, principals: &[Principal]) -> bool {
        self.approvers.iter().chain(&self.escalate_to).any(|a| principals.contains(a))
    }

    /// True when every requested scope lies inside one of the policy's resources.
    pub fn covers(&self, scopes: &[Scope]) -> bool {
        scopes.iter().all(|s| self.resources.iter().any(|r| s.is_within(r)))
    }

    /// The one-time action this call hits, if any.
    pub fn one_time_action(&self, scope: &Scope) -> Option<&Scope> {
        self.one_time_actions.iter().find(|a| scope.overlaps(a))
    }

    /// The one rule for a one-time request, whoever files it: exactly one call (one method,
    /// one exact path, one query string), inside the one-time action it hits and inside the
    /// policy's resources. Answers the action, or what is wrong.
    pub fn one_time_call(&self, scope: &Scope) -> Result<&Scope, String> {
        let Some(action) = self.one_time_action(scope) else {
            return Err(format!("{scope} is no one-time action of policy `{}`", self.name));
        };
        if scope.is_single_call() && scope.is_within(action) && self.covers(slice::from_ref(scope))
        {
            return Ok(action);
        }
        Err(format!(
            "resources: {} on `{}` needs a one-time approval for each call; request exactly one method, one exact path and its query string (e.g. `{}`)",
            action.methods,
            action.service,
            action.paths.first().map(|p| p.as_str().replace('*', "<id>")).unwrap_or_default()
        ))
    }

    pub fn notify_targets(&self, event: &str) -> impl Iterator<Item = &NotifySpec> {
        self.notify
            .iter()
            .filter(move |t| t.events.is_empty() || t.events.iter().any(|e| e == event))
    }
}

/// Parses a TTL field, recording an error under `at`.
pub(crate) fn ttl_field(raw: &str, at: &str, errors: &mut Vec<String>) -> Duration {
    match Ttl::parse(raw) {
        Ok(t) if !t.as_duration().is_zero() => t.as_duration(),
        Ok(_) => {
            errors.push(format!("{at}: must be above zero"));
            Duration::ZERO
        }
        Err(e) => {
            errors.push(format!("{at}: {e}"));
            Duration::ZERO
        }
    }
}
