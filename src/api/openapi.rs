//! `GET /openapi.json`: the hand-written OpenAPI 3.1 document of the REST API
//! (`src/api/openapi.json`), with `info.version` filled in from the crate's version.
//! `tests/openapi.rs` keeps it true: every operation routed, every README row documented,
//! real answers matching the schemas. It knows nothing of the handlers themselves.

use std::sync::LazyLock;

use axum::http::header;
use axum::response::{IntoResponse, Response};

/// The document as written, with a `{{CARGO_PKG_VERSION}}` placeholder for `info.version`.
pub const TEMPLATE: &str = include_str!("openapi.json");

static DOCUMENT: LazyLock<String> =
    LazyLock::new(|| TEMPLATE.replace("{{CARGO_PKG_VERSION}}", env!("CARGO_PKG_VERSION")));

/// The document as served.
pub fn document() -> &'static str {
    &DOCUMENT
}

pub async fn serve() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], document()).into_response()
}
