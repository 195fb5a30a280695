//! CheckRequest (proto) → [`CheckAttributes`]. Reads only what decisions need. Raw header
//! values (`encode_raw_headers: true` in Envoy) are preferred, so duplicate `authorization`
//! headers and non-UTF-8 bytes stay visible and can be refused.

use envoy_types::pb::envoy::service::auth::v3::CheckRequest;

use crate::authz::{CheckAttributes, METHOD_OVERRIDE_HEADERS};
use crate::decision::{Deny, DenyReason};

/// Extracts the attributes, or a deny when the request has no HTTP attributes at all.
pub fn attributes(req: &CheckRequest) -> Result<CheckAttributes, Deny> {
    let missing =
        || Deny::new(DenyReason::BadRequest, "the CheckRequest has no HTTP request attributes");
    let attrs = req.attributes.as_ref().ok_or_else(missing)?;
    let http = attrs.request.as_ref().and_then(|r| r.http.as_ref()).ok_or_else(missing)?;
    let mut out = CheckAttributes {
        method: http.method.clone(),
        path: http.path.clone(),
        host: http.host.clone(),
        service: attrs.context_extensions.get("service").cloned(),
        workload: attrs.source.as_ref().map(|s| s.principal.clone()).filter(|p| !p.is_empty()),
        ..Default::default()
    };
    match http.header_map.as_ref().filter(|m| !m.headers.is_empty()) {
        Some(map) => {
            for h in &map.headers {
                note_header(&mut out, &h.key, || {
                    if h.raw_value.is_empty() {
                        Some(h.value.clone())
                    } else {
                        String::from_utf8(h.raw_value.clone()).ok()
                    }
                });
            }
        }
        None => {
            for (k, v) in &http.headers {
                note_header(&mut out, k, || Some(v.clone()));
            }
        }
    }
    Ok(out)
}

/// Looks at one header; its value is only copied when it is the credential. Envoy sends header
/// names in lower case, but nothing here relies on it.
fn note_header(out: &mut CheckAttributes, key: &str, value: impl FnOnce() -> Option<String>) {
    if key.eq_ignore_ascii_case("authorization") {
        match value() {
            Some(v) => out.authorization.push(v),
            None => out.invalid_header = true,
        }
    } else if METHOD_OVERRIDE_HEADERS.iter().any(|h| key.eq_ignore_ascii_case(h)) {
        out.method_override = true;
    } else if key
        .as_bytes()
        .get(..PREFIX.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(PREFIX.as_bytes()))
    {
        let key = key.to_ascii_lowercase();
        if !out.client_jitgate_headers.contains(&key) {
            out.client_jitgate_headers.push(key);
        }
    }
}

const PREFIX: &str = "x-jitgate-";
