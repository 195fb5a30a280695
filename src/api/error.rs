//! The one error type of the REST API and its JSON shape:
//! `{"error": "<code>", "message": "<what went wrong and what to do>", "details": [...]}`.
//! Internal errors are logged, never echoed.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jitgate_api_types::ErrorBody;

use crate::identity::TokenError;
use crate::workflow::WorkflowError;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Vec<String>,
    www_authenticate: Option<String>,
}

// === impl ApiError ===

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), details: Vec::new(), www_authenticate: None }
    }

    pub fn invalid(details: Vec<String>) -> Self {
        let message = match details.as_slice() {
            [one] => one.clone(),
            _ => format!("the request has {} problems: see `details`", details.len()),
        };
        Self { details, ..Self::new(StatusCode::BAD_REQUEST, "invalid_request", message) }
    }

    pub fn bad_body(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn unauthenticated(e: &TokenError) -> Self {
        // Not the token's fault: no challenge.
        match e {
            TokenError::Overloaded => {
                return Self::new(StatusCode::SERVICE_UNAVAILABLE, "overloaded", e.to_string());
            }
            TokenError::VerifierFailed => {
                return Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string());
            }
            _ => {}
        }
        let challenge = match e {
            TokenError::Missing => r#"Bearer realm="jitgate""#.to_string(),
            _ => {
                format!(r#"Bearer realm="jitgate", error="invalid_token", error_description="{e}""#)
            }
        };
        let status = if matches!(e, TokenError::KeysUnavailable) {
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            StatusCode::UNAUTHORIZED
        };
        Self {
            www_authenticate: Some(challenge),
            ..Self::new(status, "unauthenticated", e.to_string())
        }
    }
}

impl From<WorkflowError> for ApiError {
    fn from(e: WorkflowError) -> Self {
        match e {
            WorkflowError::Forbidden(m) => Self::new(StatusCode::FORBIDDEN, "forbidden", m),
            WorkflowError::Invalid(details) => Self::invalid(details),
            WorkflowError::NotFound(m) => Self::not_found(m),
            WorkflowError::Conflict(m) => Self::new(StatusCode::CONFLICT, "conflict", m),
            WorkflowError::TooMany(m) => {
                Self::new(StatusCode::TOO_MANY_REQUESTS, "too_many_requests", m)
            }
            WorkflowError::Unavailable(inner) => {
                tracing::warn!(error = %inner, "Control-plane request failed on the store");
                let message = WorkflowError::unavailable_message(&inner);
                Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.code.to_string(),
            message: self.message,
            details: self.details,
        };
        let mut resp = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if let Some(challenge) = self.www_authenticate.and_then(|c| HeaderValue::from_str(&c).ok())
        {
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, challenge);
        }
        resp
    }
}
