//! TRANSPORT: the web page for requesters, approvers and SREs at `/ui/` — hand-written
//! HTML, CSS and JavaScript modules built into the binary (no CDN, no separate front-end
//! server). The page only calls the `/v1` REST API, with the same tokens and the same
//! authorization as any other client; this module serves bytes and security headers and
//! knows nothing of grants or requests.
//!
//! Every asset answers with its content type, a strong `ETag` (SHA-256 of the bytes) with
//! `Cache-Control: no-cache` (so a new binary is picked up at once, and an unchanged asset
//! costs a `304`), and strict headers: a Content-Security-Policy allowing only this origin's
//! scripts, styles and API (no inline script, no external origin, no framing),
//! `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY`, `Referrer-Policy: no-referrer`.

use std::sync::LazyLock;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};

use super::ApiState;

/// The policy every page response carries.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; \
    form-action 'none'; frame-ancestors 'none'";

struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $type:expr) => {
        Asset { name: $name, content_type: $type, bytes: include_bytes!(concat!("assets/", $name)) }
    };
}

const JS: &str = "text/javascript; charset=utf-8";

static ASSETS: [Asset; 10] = [
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("style.css", "text/css; charset=utf-8"),
    asset!("app.js", JS),
    asset!("api.js", JS),
    asset!("dom.js", JS),
    asset!("mine.js", JS),
    asset!("request.js", JS),
    asset!("queue.js", JS),
    asset!("grants.js", JS),
    asset!("icon.svg", "image/svg+xml"),
];

/// `"<sha-256 prefix>"` of each asset, computed once.
static ETAGS: LazyLock<Vec<String>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|a| {
            let digest = Sha256::digest(a.bytes);
            format!("\"{}\"", crate::hex::encode(digest.get(..12).unwrap_or_default()))
        })
        .collect()
});

/// `/ui` and everything under it.
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/ui", get(|| async { Redirect::permanent("/ui/") }))
        .route("/ui/", get(|headers: HeaderMap| async move { serve("index.html", &headers) }))
        .route("/ui/{file}", get(|Path(file): Path<String>, headers: HeaderMap| async move {
            serve(&file, &headers)
        }))
}

fn serve(name: &str, headers: &HeaderMap) -> Response {
    let Some((asset, etag)) = ASSETS.iter().zip(ETAGS.iter()).find(|(a, _)| a.name == name) else {
        let body = "not found: the page lives at /ui/ (see the README, section \"The web page\")";
        return secured((StatusCode::NOT_FOUND, body).into_response());
    };
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut resp = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, asset.content_type)], asset.bytes).into_response()
    };
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    secured(resp)
}

/// Adds the page's security headers.
fn secured(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    h.insert("cross-origin-resource-policy", HeaderValue::from_static("same-origin"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_is_referenced_once_and_has_a_type() {
        let index = std::str::from_utf8(ASSETS[0].bytes).unwrap_or_default();
        assert!(index.contains("app.js") && index.contains("style.css"));
        assert_eq!(ETAGS.len(), ASSETS.len());
        assert!(ETAGS.iter().all(|e| e.len() == 26));
    }

    #[test]
    fn no_inline_script_or_external_origin() {
        for a in &ASSETS {
            let text = String::from_utf8_lossy(a.bytes);
            assert!(
                !text.contains("http://") && !text.contains("https://") || a.name == "icon.svg",
                "{} names an external origin",
                a.name
            );
            if a.name.ends_with(".html") {
                assert!(
                    !text.contains("<script>") && !text.contains("onclick="),
                    "{} has inline script",
                    a.name
                );
                assert!(!text.contains("style="), "{} has inline style", a.name);
            }
        }
    }
}
