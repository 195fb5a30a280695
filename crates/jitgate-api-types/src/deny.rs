//! The JSON body of a deny, as Envoy hands it to the caller (documented in the README):
//! `{"error", "reason", "message", "decision_id", "missing", "request"}`. A forbidden call
//! carries what the caller needs next: the pending request jitgate filed for it, or a
//! ready-made request for exactly that call.

use jitgate_core::access::{RequestId, RequestStatus};
use jitgate_core::decision::MissingAccess;
use jitgate_core::grant::Principal;
use jitgate_core::time::Timestamp;
use serde::{Deserialize, Serialize};

use crate::inputs::RequestInput;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DenyBody {
    /// `bad_request`, `unauthenticated`, `forbidden`, `unavailable`.
    pub error: String,
    /// The stable deny reason code (`no_grant`, `token_expired`, ...).
    pub reason: String,
    pub message: String,
    pub decision_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing: Option<MissingAccess>,
    /// The request jitgate filed for this call (a one-time action), when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<RequestId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<NextStep>,
}

/// What a forbidden caller can do next.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum NextStep {
    /// jitgate filed a request for this one call: where it is and who can approve it.
    Filed(FiledRequest),
    /// A request for exactly this call, ready to send.
    Hint(RequestHint),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FiledRequest {
    pub id: RequestId,
    pub status: RequestStatus,
    /// The request in the REST API.
    pub url: String,
    /// The request's page.
    pub ui: String,
    pub approvers: Vec<Principal>,
    pub expires_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestHint {
    /// `POST`.
    pub method: String,
    /// `POST` [`RequestHint::body`] here (`/v1/requests`).
    pub url: String,
    /// The web page's request form, filled in.
    pub ui: String,
    pub body: RequestInput,
    /// The same request with the CLI.
    pub cli: String,
}
