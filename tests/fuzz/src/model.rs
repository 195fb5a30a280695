//! Reference models, written from the rules rather than from jitgate's code. Each answers the
//! question an oracle asks ("may this be allowed?") as simply as possible; where in doubt the
//! model says no, and a jitgate allow then crashes the target.

use envoy_types::pb::envoy::service::auth::v3::CheckRequest;

use crate::{GRANTS, World};

/// The decoded segments of a request target's path, or `None` when the path is one jitgate
/// must refuse (SECURITY.md promise 6: encoded slashes, dot segments, `;`, `#`, double
/// encoding, control bytes, raw non-ASCII, empty inner segments).
pub fn segments(target: &str) -> Option<Vec<String>> {
    let path = target.split('?').next()?;
    let body = path.strip_prefix('/')?;
    if path.len() > 8192 {
        return None;
    }
    if path.bytes().any(|b| b"#;\\".contains(&b) || b <= b' ' || b >= 0x7f) {
        return None;
    }
    let parts: Vec<&str> = body.split('/').collect();
    let mut out = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        if part.is_empty() && i + 1 != parts.len() {
            return None;
        }
        let decoded = percent_decode(part)?;
        let bad_char = |c: char| "/\\%;#?".contains(c) || c.is_control();
        if decoded.chars().any(bad_char) || decoded == "." || decoded == ".." {
            return None;
        }
        // Look-alikes of `/`, `\` and `.` (fullwidth and friends) never pass.
        if decoded
            .chars()
            .any(|c| "\u{FF0F}\u{2215}\u{2044}\u{29F8}\u{FF3C}\u{FE68}\u{FF0E}\u{2024}".contains(c))
        {
            return None;
        }
        out.push(decoded);
    }
    Some(out)
}

fn percent_decode(s: &str) -> Option<String> {
    let mut out = Vec::new();
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hi = (bytes.next()? as char).to_digit(16)?;
            let lo = (bytes.next()? as char).to_digit(16)?;
            out.push((hi * 16 + lo) as u8);
        } else {
            out.push(b);
        }
    }
    String::from_utf8(out).ok()
}

/// The literal a pattern segment's text stands for: `%2A` is `*`, `%25` is `%` (the only two
/// escapes patterns have).
pub fn unescape_literal(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("%2A") {
            out.push('*');
            rest = r;
        } else if let Some(r) = rest.strip_prefix("%25") {
            out.push('%');
            rest = r;
        } else {
            let c = rest.chars().next().unwrap_or_default();
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

/// A grant pattern (`/a/*/b/**`) against decoded segments: `*` is one non-empty segment,
/// a final `**` any rest (including nothing), anything else must be equal to the segment once
/// its escapes are undone.
pub fn pattern_matches(pattern: &str, segs: &[String]) -> bool {
    let Some(body) = pattern.strip_prefix('/') else { return false };
    let parts: Vec<&str> = body.split('/').collect();
    let mut i = 0;
    for (k, p) in parts.iter().enumerate() {
        if *p == "**" && k + 1 == parts.len() {
            return true;
        }
        let Some(seg) = segs.get(i) else { return false };
        let ok = if *p == "*" { !seg.is_empty() } else { *seg == unescape_literal(p) };
        if !ok {
            return false;
        }
        i += 1;
    }
    i == segs.len()
}

/// The Authorization values jitgate must look at: the raw header map when Envoy sent one
/// (`encode_raw_headers: true`), else the plain map. `None` when a value is not UTF-8.
fn authorization_values(req: &CheckRequest) -> Option<(Vec<String>, Vec<String>)> {
    let http = req.attributes.as_ref()?.request.as_ref()?.http.as_ref()?;
    let mut auth = Vec::new();
    let mut names = Vec::new();
    match http.header_map.as_ref().filter(|m| !m.headers.is_empty()) {
        Some(map) => {
            for h in &map.headers {
                names.push(h.key.to_ascii_lowercase());
                if h.key.eq_ignore_ascii_case("authorization") {
                    let v = if h.raw_value.is_empty() {
                        h.value.clone()
                    } else {
                        String::from_utf8(h.raw_value.clone()).ok()?
                    };
                    auth.push(v);
                }
            }
        }
        None => {
            for (k, v) in &http.headers {
                names.push(k.to_ascii_lowercase());
                if k.eq_ignore_ascii_case("authorization") {
                    auth.push(v.clone());
                }
            }
        }
    }
    Some((auth, names))
}

/// The one valid bearer token of a request (exactly one `Authorization` value, `Bearer`
/// in any case, then exactly one of the minted tokens).
fn bearer<'w>(world: &'w World, values: &[String]) -> Option<&'w crate::ValidToken> {
    let [one] = values else { return None };
    let one = one.trim();
    let (scheme, rest) = one.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    world.valid_token(rest.trim())
}

/// The service the route names, else the `Host` without port or trailing dot, lower-cased.
fn service(req: &CheckRequest) -> Option<String> {
    let attrs = req.attributes.as_ref()?;
    if let Some(s) = attrs.context_extensions.get("service") {
        return Some(s.clone());
    }
    let host = &attrs.request.as_ref()?.http.as_ref()?.host;
    let host = match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host.as_str(),
    };
    Some(host.trim_end_matches('.').to_ascii_lowercase())
}

const OVERRIDES: [&str; 3] = ["x-http-method-override", "x-http-method", "x-method-override"];

fn overrides_method(target: &str, names: &[String]) -> bool {
    let query = target.split_once('?').map_or("", |(_, q)| q);
    let in_query = query.split('&').any(|kv| {
        let k = kv.split('=').next().unwrap_or("").to_ascii_lowercase();
        k == "_method" || k == "%5fmethod"
    });
    in_query || names.iter().any(|n| OVERRIDES.contains(&n.as_str()))
}

/// The subject (`user:alice`) the model allows this request for, or `None` if it must be
/// denied.
pub fn allowed_subject(world: &World, req: &CheckRequest) -> Option<String> {
    let http = req.attributes.as_ref()?.request.as_ref()?.http.as_ref()?;
    let (auth, names) = authorization_values(req)?;
    let token = bearer(world, &auth)?;
    if overrides_method(&http.path, &names) {
        return None;
    }
    let segs = segments(&http.path)?;
    let service = service(req)?;
    let mut principals = vec![format!("user:{}", token.sub)];
    principals.extend(token.groups.iter().map(|g| format!("group:{g}")));
    let covered = GRANTS.iter().filter(|g| g.live).any(|g| {
        principals.iter().any(|p| p == g.principal)
            && g.service == service
            && g.methods.iter().any(|m| *m == "*" || *m == http.method)
            && g.paths.iter().any(|p| pattern_matches(p, &segs))
    });
    covered.then(|| format!("user:{}", token.sub))
}

/// The claim rules a token signed with the right key must still pass (SECURITY.md "JWT rules"):
/// `iss`, `aud` (string or array holding ours), `sub` a string, `exp` an integer not past
/// (with leeway) and within the maximum lifetime, `nbf`/`iat` integers not in the future.
/// Returns the subject when the claims are acceptable.
pub fn claims_acceptable(payload: &[u8], now: i64) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(payload).ok()?;
    let obj = v.as_object()?;
    if obj.get("iss")?.as_str()? != crate::ISSUER {
        return None;
    }
    let aud_ok = match obj.get("aud")? {
        serde_json::Value::String(s) => s == crate::AUDIENCE,
        serde_json::Value::Array(a) => a.iter().any(|x| x.as_str() == Some(crate::AUDIENCE)),
        _ => false,
    };
    let sub = obj.get("sub")?.as_str()?.to_string();
    let exp = obj.get("exp")?.as_i64()?;
    // Two seconds of slack towards "acceptable": the model's clock and jitgate's read `now` at
    // slightly different moments, and only a clear violation is a finding.
    let leeway = crate::LEEWAY_SECS + 2;
    let max = crate::MAX_LIFETIME_SECS + 2;
    if !aud_ok || exp.saturating_add(leeway) < now || exp.saturating_sub(now) > max {
        return None;
    }
    for claim in ["nbf", "iat"] {
        if let Some(t) = obj.get(claim) {
            if t.as_i64()? > now.saturating_add(leeway) {
                return None;
            }
        }
    }
    if let Some(iat) = obj.get("iat").and_then(serde_json::Value::as_i64) {
        if exp.saturating_sub(iat) > max {
            return None;
        }
    }
    Some(sub)
}

/// A query string in RFC 3986 normal form, the way the model reads "the same query": each
/// `%XX` of an unreserved character decoded, every other `%XX` upper-cased, every byte outside
/// the query characters encoded; nothing reordered.
pub fn normal_query(raw: &str) -> String {
    const KEEP: &[u8] = b"-._~!$&'()*+,;=:@/?";
    let unreserved = |b: u8| b.is_ascii_alphanumeric() || b"-._~".contains(&b);
    let b = raw.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < b.len() {
        let hex = b.get(i + 1..i + 3).filter(|h| h.iter().all(u8::is_ascii_hexdigit));
        match (b[i], hex) {
            (b'%', Some(h)) => {
                let v = u8::from_str_radix(std::str::from_utf8(h).unwrap_or("00"), 16).unwrap_or(0);
                if unreserved(v) {
                    out.push(v as char);
                } else {
                    out.push_str(&format!("%{v:02X}"));
                }
                i += 3;
            }
            (c, _) if c != b'%' && (c.is_ascii_alphanumeric() || KEEP.contains(&c)) => {
                out.push(c as char);
                i += 1;
            }
            (c, _) => {
                out.push_str(&format!("%{c:02X}"));
                i += 1;
            }
        }
    }
    out
}
