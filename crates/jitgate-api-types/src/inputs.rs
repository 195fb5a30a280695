//! The bodies callers send: a grant to create, a request to file, a decision, a call to
//! explain. Unknown fields are refused, so a misspelt field is an error, not a silent default.
//! Validation (every problem at once, each prefixed by its field) is the application layer's:
//! `jitgate::workflow::inputs`.

use jitgate_core::grant::ScopeWire;
use serde::{Deserialize, Serialize};

/// `POST /v1/grants`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantInput {
    pub subject: String,
    pub resources: Vec<ScopeWire>,
    /// A duration: `15m`, `2h`.
    pub ttl: String,
    pub reason: String,
    /// How many calls the grant allows; absent or `null` for unlimited.
    #[serde(
        default,
        deserialize_with = "jitgate_core::grant::deserialize_max_uses",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_uses: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident: Option<String>,
}

/// `POST /v1/requests`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestInput {
    pub resources: Vec<ScopeWire>,
    pub ttl: String,
    #[serde(default)]
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident: Option<String>,
}

/// `POST /v1/requests/{id}/approve` and `/deny` (an empty body is no comment).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// `POST /v1/explain`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExplainInput {
    pub subject: String,
    #[serde(default)]
    pub groups: Vec<String>,
    pub service: String,
    pub method: String,
    pub path: String,
}
