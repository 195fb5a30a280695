//! Request extraction with errors users can act on: the verified caller from the bearer
//! token, and JSON bodies whose errors name the field (`resources[0].methods: ...`).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use serde::de::DeserializeOwned;

use super::ApiState;
use super::error::ApiError;
use crate::decision::Caller;
use crate::identity::{TokenError, bearer_token};

/// The verified caller of a REST request.
pub struct Auth(pub Caller);

impl FromRequestParts<ApiState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        authenticate(state, &parts.headers).await.map(Auth)
    }
}

/// Verifies the bearer token in `headers`.
pub async fn authenticate(state: &ApiState, headers: &HeaderMap) -> Result<Caller, ApiError> {
    let mut values = Vec::new();
    for v in headers.get_all(header::AUTHORIZATION) {
        values.push(v.to_str().map_err(|_| ApiError::unauthenticated(&TokenError::NotBearer))?);
    }
    let token = bearer_token(&values).map_err(|e| ApiError::unauthenticated(&e))?;
    let Some(token) = token else { return Err(ApiError::unauthenticated(&TokenError::Missing)) };
    state
        .authenticator
        .caller(Some(&token), None, state.clock.now())
        .await
        .map_err(|e| ApiError::unauthenticated(&e))
}

/// Parses a JSON body; `example` is shown when the body is empty.
pub fn json_body<T: DeserializeOwned>(bytes: &[u8], example: &str) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_body(format!(
            "the request body is empty: send a JSON object like {example}"
        )));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            ApiError::bad_body(format!("the request body is not valid JSON: {inner}"))
        } else if path == "." {
            ApiError::bad_body(format!("{inner}"))
        } else {
            ApiError::bad_body(format!("{path}: {inner}"))
        }
    })
}
