//! The one error body of the REST API.

use serde::{Deserialize, Serialize};

/// `{"error": "<code>", "message": "<what went wrong and what to do>", "details": [...]}`.
/// `details` lists every problem of an invalid body or query, each prefixed by its field; it
/// is absent when there is only the message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// A stable code (`invalid_request`, `forbidden`, `not_found`, `unavailable`, ...).
    pub error: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
}
