//! Path patterns in grants: exact segments, `*` for exactly one non-empty segment, and a final
//! `**` for any remaining segments (including none). Patterns are written decoded, so
//! `/files/my file` matches the request `/files/my%20file`.
//!
//! The text form escapes what would otherwise be syntax: a literal `*` in a segment is written
//! `%2A` and a literal `%` is written `%25` (no other `%` sequence is accepted). A pattern built
//! from a request path ([`PathPattern::exact`]) escapes its segments, so its text always parses
//! back to the same literal segments: `DELETE /datasets/%2A` is the one call on the segment `*`,
//! never the wildcard `/datasets/*`.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::path::RequestPath;

/// Longest pattern accepted, in bytes.
pub const MAX_PATTERN_LEN: usize = 1024;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Segment {
    Literal(String),
    One,
    Rest,
}

/// A compiled path pattern.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PathPattern {
    raw: String,
    segments: Vec<Segment>,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    #[error("path pattern `{0}` must start with `/`")]
    NotAbsolute(String),
    #[error("path pattern `{0}` has an empty segment (`//`)")]
    EmptySegment(String),
    #[error("path pattern `{0}`: `**` is only allowed as the last segment")]
    RestNotLast(String),
    #[error("path pattern `{0}`: `*` must be a whole segment (`/a/*`, not `/a/b*`)")]
    PartialWildcard(String),
    #[error("path pattern `{0}` contains `{1}`: write paths decoded and without `?`, `#` or `;`")]
    Forbidden(String, char),
    #[error(
        "path pattern `{0}` has a `%` that is not `%2A` or `%25`: write paths decoded; `%2A` is a literal `*` and `%25` a literal `%`"
    )]
    BadEscape(String),
    #[error("path pattern `{0}` contains a dot segment (`.` or `..`)")]
    DotSegment(String),
    #[error("path pattern is longer than {MAX_PATTERN_LEN} bytes")]
    TooLong,
}

// === impl PathPattern ===

impl PathPattern {
    pub fn parse(raw: &str) -> Result<Self, PatternError> {
        let owned = || raw.to_string();
        if raw.len() > MAX_PATTERN_LEN {
            return Err(PatternError::TooLong);
        }
        let Some(body) = raw.strip_prefix('/') else {
            return Err(PatternError::NotAbsolute(owned()));
        };
        if let Some(c) = raw.chars().find(|c| matches!(c, '?' | '#' | ';' | '\\') || c.is_control())
        {
            return Err(PatternError::Forbidden(owned(), c));
        }
        let mut parts = body.split('/').peekable();
        let mut segments = Vec::new();
        while let Some(part) = parts.next() {
            let last = parts.peek().is_none();
            let seg = match part {
                "**" if last => Segment::Rest,
                "**" => return Err(PatternError::RestNotLast(owned())),
                "*" => Segment::One,
                "" if !last => return Err(PatternError::EmptySegment(owned())),
                p if p.contains('*') => return Err(PatternError::PartialWildcard(owned())),
                p => match unescape(p) {
                    Some(l) if l == "." || l == ".." => {
                        return Err(PatternError::DotSegment(owned()));
                    }
                    Some(l) => Segment::Literal(l),
                    None => return Err(PatternError::BadEscape(owned())),
                },
            };
            segments.push(seg);
        }
        Ok(Self { raw: raw.to_string(), segments })
    }

    /// An exact pattern for one request path (used in request hints and one-time approvals).
    /// Each segment is escaped, so the text parses back to exactly these literal segments.
    pub fn exact(path: &RequestPath) -> Self {
        let segments = path.segments().iter().map(|s| Segment::Literal(s.clone())).collect();
        let escaped: Vec<Cow<'_, str>> =
            path.segments().iter().map(|s| escape_segment(s)).collect();
        let raw = format!("/{}", escaped.join("/"));
        Self { raw, segments }
    }

    pub fn as_str(&self) -> &str {
        &self.raw
    }

    pub fn matches(&self, path: &RequestPath) -> bool {
        let mut request = path.segments().iter();
        for seg in &self.segments {
            match seg {
                Segment::Rest => return true,
                Segment::One => match request.next() {
                    Some(s) if !s.is_empty() => {}
                    _ => return false,
                },
                Segment::Literal(lit) => match request.next() {
                    Some(s) if s == lit => {}
                    _ => return false,
                },
            }
        }
        request.next().is_none()
    }

    /// True when some path is matched by both patterns.
    pub fn overlaps(&self, other: &PathPattern) -> bool {
        let (mut a, mut b) = (self.segments.iter(), other.segments.iter());
        loop {
            match (a.next(), b.next()) {
                (Some(Segment::Rest), _) | (_, Some(Segment::Rest)) | (None, None) => return true,
                (None, Some(_)) | (Some(_), None) => return false,
                (Some(Segment::Literal(x)), Some(Segment::Literal(y))) if x != y => return false,
                (Some(Segment::One), Some(Segment::Literal(l)))
                | (Some(Segment::Literal(l)), Some(Segment::One))
                    if l.is_empty() =>
                {
                    return false;
                }
                _ => {}
            }
        }
    }

    /// The literal segments before the first wildcard: every path this pattern matches starts
    /// with them.
    pub fn literal_prefix(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().map_while(|s| match s {
            Segment::Literal(l) => Some(l.as_str()),
            Segment::One | Segment::Rest => None,
        })
    }

    /// True when the pattern matches exactly one path (no wildcards).
    pub fn is_exact(&self) -> bool {
        self.segments.iter().all(|s| matches!(s, Segment::Literal(_)))
    }

    /// True when every path this pattern matches is also matched by `other`.
    pub fn is_within(&self, other: &PathPattern) -> bool {
        let mut mine = self.segments.iter();
        for theirs in &other.segments {
            match (theirs, mine.next()) {
                (Segment::Rest, _) => return true,
                (_, None) | (_, Some(Segment::Rest)) => return false,
                (Segment::One, Some(Segment::One)) => {}
                (Segment::One, Some(Segment::Literal(l))) if !l.is_empty() => {}
                (Segment::Literal(a), Some(Segment::Literal(b))) if a == b => {}
                _ => return false,
            }
        }
        mine.next().is_none()
    }
}

/// The text of one literal segment in a pattern: `*` becomes `%2A` and `%` becomes `%25`, so
/// the text never reads as a wildcard. Every writer of pattern text from a literal calls this.
pub fn escape_segment(literal: &str) -> Cow<'_, str> {
    if !literal.contains(['*', '%']) {
        return Cow::Borrowed(literal);
    }
    let mut out = String::with_capacity(literal.len().saturating_add(4));
    for c in literal.chars() {
        match c {
            '*' => out.push_str("%2A"),
            '%' => out.push_str("%25"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// The literal a segment's text stands for; `None` for a `%` that is not `%2A` or `%25`
/// (upper case only, so each literal has one text form).
fn unescape(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some((before, after)) = rest.split_once('%') {
        out.push_str(before);
        out.push(match after.get(..2)? {
            "2A" => '*',
            "25" => '%',
            _ => return None,
        });
        rest = after.get(2..)?;
    }
    out.push_str(rest);
    Some(out)
}

impl fmt::Display for PathPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl FromStr for PathPattern {
    type Err = PatternError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for PathPattern {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.raw)
    }
}

impl<'de> Deserialize<'de> for PathPattern {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
#[path = "pattern_tests.rs"]
mod tests;
