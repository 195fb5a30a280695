//! The request path as grants see it: Envoy's normalized `:path`, without the query string,
//! split into percent-decoded segments. Anything that could make two different resources look
//! alike (encoded slashes, dot segments, `;` parameters, double encoding, control bytes,
//! look-alike slashes) is refused here, so matching never has to think about it.

use std::fmt;

/// A request path that is safe to match: decoded segments, no dot segments, no ambiguity.
/// The query string is kept as sent beside it (one-time grants bind to it), never matched by
/// path patterns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestPath {
    /// The path part exactly as received, then the query string as sent (with its `?`).
    raw: String,
    /// Where the path part of `raw` ends.
    path_len: usize,
    /// Percent-decoded segments; `/` is `[""]`, `/a/` is `["a", ""]`.
    segments: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("the path is empty or does not start with `/`")]
    NotAbsolute,
    #[error("the path contains `{0}`, which jitgate refuses because it can hide another path")]
    Refused(&'static str),
    #[error("the path contains a bad percent-encoding")]
    BadEncoding,
    #[error("the path is longer than {0} bytes")]
    TooLong(usize),
}

/// Longest path accepted (Envoy's default header limit is 60 KiB; real paths are far shorter).
pub const MAX_PATH_LEN: usize = 8192;

/// Longest path with its query string accepted (Envoy's default header limit).
pub const MAX_PATH_AND_QUERY_LEN: usize = 60 * 1024;

// === impl RequestPath ===

impl RequestPath {
    /// Parses the `:path` Envoy reports (which may still carry `?query`).
    pub fn parse(path_and_query: &str) -> Result<Self, PathError> {
        let raw = path_and_query.split_once('?').map_or(path_and_query, |(p, _)| p);
        if path_and_query.len() > MAX_PATH_AND_QUERY_LEN {
            return Err(PathError::TooLong(MAX_PATH_AND_QUERY_LEN));
        }
        if raw.len() > MAX_PATH_LEN {
            return Err(PathError::TooLong(MAX_PATH_LEN));
        }
        let Some(body) = raw.strip_prefix('/') else {
            return Err(PathError::NotAbsolute);
        };
        check_raw(raw)?;
        let mut segments = Vec::new();
        let mut parts = body.split('/').peekable();
        while let Some(part) = parts.next() {
            let last = parts.peek().is_none();
            if part.is_empty() && !last {
                return Err(PathError::Refused("//"));
            }
            segments.push(decode_segment(part)?);
        }
        Ok(Self { raw: path_and_query.to_string(), path_len: raw.len(), segments })
    }

    /// The path part as received, without the query string.
    pub fn as_str(&self) -> &str {
        self.raw.get(..self.path_len).unwrap_or_default()
    }

    /// The query string as sent, without its `?`; `None` when the call had no `?`.
    pub fn query(&self) -> Option<&str> {
        self.raw.get(self.path_len..).and_then(|q| q.strip_prefix('?'))
    }

    pub fn segments(&self) -> &[String] {
        &self.segments
    }
}

impl fmt::Display for RequestPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn check_raw(raw: &str) -> Result<(), PathError> {
    for b in raw.bytes() {
        match b {
            b'#' => return Err(PathError::Refused("#")),
            b';' => return Err(PathError::Refused(";")),
            b'\\' => return Err(PathError::Refused("\\")),
            0..=0x20 | 0x7f => return Err(PathError::Refused("a control byte or space")),
            0x80..=0xff => return Err(PathError::Refused("a raw non-ASCII byte")),
            _ => {}
        }
    }
    Ok(())
}

/// Percent-decodes one segment and refuses anything that could change the path's shape.
fn decode_segment(part: &str) -> Result<String, PathError> {
    let mut out = Vec::with_capacity(part.len());
    let mut rest = part.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        rest = tail;
        if b != b'%' {
            out.push(b);
            continue;
        }
        // Two hex digits: `from_str_radix` alone would also take `+1`.
        let (hex, tail) = rest.split_at_checked(2).ok_or(PathError::BadEncoding)?;
        let hex = std::str::from_utf8(hex).map_err(|_| PathError::BadEncoding)?;
        if !hex.bytes().all(|d| d.is_ascii_hexdigit()) {
            return Err(PathError::BadEncoding);
        }
        out.push(u8::from_str_radix(hex, 16).map_err(|_| PathError::BadEncoding)?);
        rest = tail;
    }
    let decoded = String::from_utf8(out).map_err(|_| PathError::BadEncoding)?;
    for c in decoded.chars() {
        match c {
            '/' => return Err(PathError::Refused("an encoded `/`")),
            '\\' => return Err(PathError::Refused("an encoded `\\`")),
            '%' => return Err(PathError::Refused("a double-encoded `%`")),
            ';' | '#' | '?' => return Err(PathError::Refused("an encoded `;`, `#` or `?`")),
            c if c.is_control() => return Err(PathError::Refused("an encoded control byte")),
            _ => {}
        }
    }
    // Look-alikes of `.`, `/` and friends (`‥`, `％`, `∕`) and invisible characters.
    super::lookalike::check(&decoded).map_err(|l| PathError::Refused(l.describe()))?;
    if decoded == "." || decoded == ".." {
        return Err(PathError::Refused("a dot segment"));
    }
    Ok(decoded)
}

#[cfg(test)]
#[path = "path_tests.rs"]
mod tests;
