//! DOMAIN, pure: the query string of a call in the one form a one-time grant binds to.
//!
//! The form is RFC 3986's syntax-based normalization and nothing more: percent-encodings of
//! unreserved characters are decoded (`%41` → `A`), every other percent-encoding is written in
//! upper case (`%2f` → `%2F`), and bytes that may not appear raw in a query are encoded. Order,
//! duplicates, `+`, `&`, `;` and `=` are kept exactly as sent, so two queries have the same
//! form only when no upstream can read them differently. The empty form means "no query"
//! (`/a` and `/a?` are one call).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::percent::{is_unreserved, push_escaped};

/// Longest query a scope binds to, in bytes of its normal form.
pub const MAX_QUERY_LEN: usize = 2048;

/// A query string in normal form (without the leading `?`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Query(String);

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("the query string is longer than {MAX_QUERY_LEN} bytes once normalized")]
    TooLong,
}

// === impl Query ===

impl Query {
    /// The normal form of `raw` (a query as sent, without the `?`).
    pub fn normalize(raw: &str) -> Result<Self, QueryError> {
        let mut out = String::with_capacity(raw.len());
        let mut rest = raw.as_bytes();
        while let Some((&b, tail)) = rest.split_first() {
            rest = tail;
            let escaped = (b == b'%').then(|| hex_pair(rest.get(..2))).flatten();
            match escaped {
                Some(v) if is_unreserved(v) => out.push(char::from(v)),
                Some(v) => push_escaped(&mut out, v),
                None if b != b'%' && is_raw_ok(b) => out.push(char::from(b)),
                None => push_escaped(&mut out, b),
            }
            if escaped.is_some() {
                rest = rest.get(2..).unwrap_or_default();
            }
            if out.len() > MAX_QUERY_LEN {
                return Err(QueryError::TooLong);
            }
        }
        Ok(Self(out))
    }

    /// The normal form, without the `?`; empty for no query.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// True when the query sent with a call (raw, without the `?`) has this normal form.
    pub fn matches_raw(&self, raw: Option<&str>) -> bool {
        Self::normalize(raw.unwrap_or("")).is_ok_and(|q| q == *self)
    }
}

fn hex_pair(pair: Option<&[u8]>) -> Option<u8> {
    let pair = std::str::from_utf8(pair?).ok()?;
    u8::from_str_radix(pair, 16).ok().filter(|_| pair.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// RFC 3986 `query` characters other than `%`: unreserved, sub-delims, `:`, `@`, `/`, `?`.
fn is_raw_ok(b: u8) -> bool {
    is_unreserved(b) || b"!$&'()*+,;=:@/?".contains(&b)
}

impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Query {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Query {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::normalize(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(raw: &str) -> String {
        Query::normalize(raw).unwrap().0
    }

    #[test]
    fn normal_form_decodes_only_unreserved_and_keeps_delimiters() {
        let table = [
            ("", ""),
            ("a=1&b=2", "a=1&b=2"),
            ("b=2&a=1", "b=2&a=1"),
            ("a=%41%7e", "a=A~"),
            ("a=%2f", "a=%2F"),
            ("a=%26", "a=%26"),
            ("a=1&a=1", "a=1&a=1"),
            ("a=+", "a=+"),
            ("a=%20", "a=%20"),
            ("a= b", "a=%20b"),
            ("x=1;_method=GET", "x=1;_method=GET"),
            ("a=%zz", "a=%25zz"),
            ("a=%", "a=%25"),
            ("a=%4", "a=%254"),
            ("a=é", "a=%C3%A9"),
            ("a[]=1", "a%5B%5D=1"),
            ("q=#x", "q=%23x"),
        ];
        for (raw, want) in table {
            assert_eq!(norm(raw), want, "{raw}");
            assert_eq!(norm(want), want, "normal form of {raw} is stable");
        }
    }

    #[test]
    fn queries_an_upstream_could_read_differently_stay_different() {
        for (a, b) in
            [("a=1&b=2", "a=1;b=2"), ("a=1", "a=1&purge=all"), ("a=%26", "a=&"), ("", "a")]
        {
            assert_ne!(norm(a), norm(b), "{a} vs {b}");
        }
        assert!(Query::default().matches_raw(None));
        assert!(Query::default().matches_raw(Some("")));
        assert!(!Query::default().matches_raw(Some("purge=all")));
    }

    #[test]
    fn long_queries_are_refused() {
        assert!(Query::normalize(&"a".repeat(MAX_QUERY_LEN)).is_ok());
        assert_eq!(Query::normalize(&"a".repeat(MAX_QUERY_LEN + 1)), Err(QueryError::TooLong));
        assert_eq!(Query::normalize(&" ".repeat(MAX_QUERY_LEN / 2)), Err(QueryError::TooLong));
    }
}
