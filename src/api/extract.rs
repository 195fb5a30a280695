//! Request extraction with errors users can act on: the verified caller from the bearer
//! token (or the reverse proxy's header, CSRF-checked: see [`super::session`]), and JSON
//! bodies whose errors name the field (`resources[0].methods: ...`).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};
use serde::de::DeserializeOwned;

use super::ApiState;
use super::error::ApiError;
use super::session::TokenSource;
use crate::decision::Caller;

/// The verified caller of a REST request.
pub struct Auth(pub Caller);

impl FromRequestParts<ApiState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        authenticate(state, &parts.method, &parts.headers).await.map(|(c, _)| Auth(c))
    }
}

/// Verifies the caller's token: `Authorization: Bearer`, or the reverse proxy's header when
/// `ui.token_header` is set (then a state-changing `method` must pass the CSRF check).
pub async fn authenticate(
    state: &ApiState,
    method: &Method,
    headers: &HeaderMap,
) -> Result<(Caller, TokenSource), ApiError> {
    let (token, source) = state.ui.token(method, headers)?;
    let caller = state
        .authenticator
        .caller(Some(&token), None, state.clock.now())
        .await
        .map_err(|e| ApiError::unauthenticated(&e))?;
    Ok((caller, source))
}

/// Parses a JSON body; `example` is shown when the body is empty.
pub fn json_body<T: DeserializeOwned>(bytes: &[u8], example: &str) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_body(format!(
            "the request body is empty: send a JSON object like {example}"
        )));
    }
    // serde reads a struct from a JSON array too (`["user:alice", [...], "15m", "x"]`): the
    // API takes objects only, so field names are always explicit.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::bad_body(format!(
            "the request body must be a JSON object like {example}"
        )));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if (inner.is_syntax() || inner.is_eof()) && path == "." {
            ApiError::bad_body(format!("the request body is not valid JSON: {inner}"))
        } else if inner.is_syntax() || inner.is_eof() {
            // Also a number JSON cannot hold (`1e309`): name the field it was for.
            ApiError::bad_body(format!("{path}: the request body is not valid JSON: {inner}"))
        } else if path == "." {
            ApiError::bad_body(format!("{inner}"))
        } else {
            ApiError::bad_body(format!("{path}: {inner}"))
        }
    })?;
    // `{...}{...}` or `{...}}` must not be read as its first object: send exactly one value.
    de.end().map_err(|e| {
        ApiError::bad_body(format!("the request body has more after the JSON object: {e}"))
    })?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        name: String,
    }

    fn parse(bytes: &[u8]) -> Result<Body, String> {
        json_body::<Body>(bytes, "{}").map_err(|e| e.message)
    }

    #[test]
    fn one_json_object_is_read() {
        assert_eq!(parse(br#" {"name": "a"} "#).unwrap().name, "a");
    }

    #[test]
    fn arrays_trailing_data_and_empty_bodies_are_refused() {
        for bad in [&br#"["a"]"#[..], br#"{"name": "a"}}"#, br#"{"name": "a"}{"name": "b"}"#, b"  "]
        {
            assert!(parse(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        assert!(parse(br#"["a"]"#).unwrap_err().contains("must be a JSON object"));
        assert!(parse(br#"{"name": "a"} x"#).unwrap_err().contains("more after the JSON object"));
    }
}
