//! The smaller answers: who the caller is (`/v1/me`), policies listed and deleted, an
//! incident resolved, a call explained, the audit chain's ends.

use jitgate_core::access::PolicyDocument;
use jitgate_core::decision::explain::Explanation;
use jitgate_core::grant::{GrantId, Principal};
use jitgate_core::mode::Mode;
use serde::{Deserialize, Serialize};

/// `GET /v1/me`: who the caller is, what the page should offer them, where the token came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    pub subject: Principal,
    pub principals: Vec<Principal>,
    pub admin: bool,
    pub audit_reader: bool,
    pub token_source: TokenSource,
}

jitgate_core::named_enum! {
    /// Where the token of a call came from.
    pub enum TokenSource {
        /// `Authorization: Bearer` sent by the client itself.
        Authorization = "authorization",
        /// The reverse proxy's header (`ui.token_header`): ambient, CSRF-checked.
        ProxyHeader = "proxy_header",
    }
}

/// `GET /v1/policies`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PolicyList {
    pub policies: Vec<PolicyDocument>,
}

/// `DELETE /v1/policies/{name}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyDeleted {
    pub deleted: String,
}

/// `POST /v1/incidents/{id}/resolve`: every grant tied to the incident, revoked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentResolution {
    pub incident: String,
    pub resolved_by: Principal,
    pub revoked: Vec<GrantId>,
    pub count: usize,
}

/// `POST /v1/explain`: the explanation, and the mode of the call's service (in shadow mode
/// the decision is what jitgate records; Envoy is told allow).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ExplainAnswer {
    #[serde(flatten)]
    pub explanation: Explanation,
    pub mode: Mode,
}

/// `GET /v1/audit/head`: the chain's first kept and last written entries.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditHead {
    pub seq: u64,
    pub hash: String,
    pub start_seq: u64,
    pub start_hash: String,
}
