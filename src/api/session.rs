//! Where a REST caller's credential comes from, and the CSRF rule for ambient credentials.
//!
//! A token sent in `Authorization: Bearer` is explicit: a browser never attaches it on its own,
//! so no cross-site page can make a victim's browser send it. A token a trusted reverse proxy
//! puts in a header (`ui.token_header`, e.g. `x-forwarded-access-token` from an OAuth proxy)
//! is *ambient*: the proxy adds it to every request the browser sends, including one forged by
//! another site. A state-changing call carried by an ambient token is therefore accepted only
//! with the page's custom header ([`CSRF_HEADER`], which a cross-site form cannot send and a
//! cross-site `fetch` cannot send without a CORS preflight jitgate never answers) **and** a
//! same-origin `Sec-Fetch-Site` or `Origin`. Reads (`GET`, `HEAD`) need neither.
//!
//! This module knows HTTP headers and nothing of grants or requests.

use axum::http::{HeaderMap, HeaderName, Method, StatusCode, header};

use super::error::ApiError;
use crate::identity::{TokenError, bearer_token};

/// The custom header the page sends on every call.
pub const CSRF_HEADER: &str = "x-jitgate-csrf";

/// How the web page signs callers in, from the `ui` configuration.
#[derive(Clone, Debug, Default)]
pub struct UiSettings {
    /// Serve `/ui/`.
    pub enabled: bool,
    /// The header a trusted reverse proxy sets to the caller's token (ambient credential).
    pub token_header: Option<HeaderName>,
    /// Origins accepted on state-changing ambient calls besides the request's own `Host`
    /// (the origin of `check.public_url`, when set).
    pub origins: Vec<String>,
}

pub use jitgate_api_types::session::TokenSource;

// === impl UiSettings ===

impl UiSettings {
    /// Builds the settings; `public_url` is `check.public_url`.
    pub fn new(enabled: bool, token_header: Option<&str>, public_url: Option<&str>) -> Self {
        let token_header = token_header
            .and_then(|h| HeaderName::from_bytes(h.trim().to_ascii_lowercase().as_bytes()).ok());
        let origins = public_url.and_then(origin_of).into_iter().collect();
        Self { enabled, token_header, origins }
    }

    /// The caller's token and where it came from; the CSRF rule is applied to ambient ones.
    pub fn token(
        &self,
        method: &Method,
        headers: &HeaderMap,
    ) -> Result<(String, TokenSource), ApiError> {
        let explicit = header_token(headers, &header::AUTHORIZATION)?;
        let proxy_is_authorization =
            self.token_header.as_ref().is_some_and(|h| *h == header::AUTHORIZATION);
        if let Some(t) = explicit {
            if proxy_is_authorization {
                self.check_csrf(method, headers)?;
                return Ok((t, TokenSource::ProxyHeader));
            }
            return Ok((t, TokenSource::Authorization));
        }
        let Some(name) = &self.token_header else {
            return Err(ApiError::unauthenticated(&TokenError::Missing));
        };
        let Some(t) = header_token(headers, name)? else {
            return Err(ApiError::unauthenticated(&TokenError::Missing));
        };
        self.check_csrf(method, headers)?;
        Ok((t, TokenSource::ProxyHeader))
    }

    /// Refuses a state-changing call unless it carries [`CSRF_HEADER`] and comes from this
    /// origin (`Sec-Fetch-Site: same-origin`, or an `Origin` that is this host or an allowed one).
    pub fn check_csrf(&self, method: &Method, headers: &HeaderMap) -> Result<(), ApiError> {
        if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
            return Ok(());
        }
        let custom = headers.get(CSRF_HEADER).is_some_and(|v| !v.as_bytes().is_empty());
        if !custom {
            return Err(csrf_refused(format!("the `{CSRF_HEADER}` header is missing")));
        }
        let text = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
        if let Some(site) = text("sec-fetch-site") {
            return if site == "same-origin" {
                Ok(())
            } else {
                Err(csrf_refused(format!("`Sec-Fetch-Site` is `{site}`, not `same-origin`")))
            };
        }
        let Some(origin) = text("origin") else {
            return Err(csrf_refused("neither `Origin` nor `Sec-Fetch-Site` was sent".into()));
        };
        let host = text("host").unwrap_or("");
        let own = [format!("http://{host}"), format!("https://{host}")];
        if (!host.is_empty() && own.iter().any(|o| o == origin))
            || self.origins.iter().any(|o| o == origin)
        {
            Ok(())
        } else {
            Err(csrf_refused(format!("`Origin` `{origin}` is not this site")))
        }
    }
}

/// The token in `name` (`Bearer <t>`, or the bare token a proxy may send); one value only.
fn header_token(headers: &HeaderMap, name: &HeaderName) -> Result<Option<String>, ApiError> {
    let mut values = Vec::new();
    for v in headers.get_all(name) {
        values.push(v.to_str().map_err(|_| ApiError::unauthenticated(&TokenError::NotBearer))?);
    }
    if *name != header::AUTHORIZATION
        && let [one] = values.as_slice()
        && !one.trim().contains(' ')
        && !one.trim().is_empty()
    {
        return Ok(Some(one.trim().to_string()));
    }
    bearer_token(&values).map_err(|e| ApiError::unauthenticated(&e))
}

fn csrf_refused(why: String) -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "csrf_refused",
        format!(
            "refused a state-changing call made with the reverse proxy's ambient credential: {why}; \
             the jitgate page sends `{CSRF_HEADER}: 1` from its own origin, other clients should \
             send `Authorization: Bearer <token>` instead"
        ),
    )
}

/// `https://host:port` of a URL, without path.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split('/').next().filter(|h| !h.is_empty())?;
    Some(format!("{scheme}://{host}"))
}

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;
