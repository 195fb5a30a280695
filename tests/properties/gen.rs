//! Strategies for the domain's text forms: literal path segments that contain `*`, `%`, spaces
//! and non-ASCII letters, patterns, queries, principals, scopes and timestamps in range.

use jitgate::grant::{PathPattern, ScopeWire, escape_segment};
use jitgate::time::Timestamp;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::Config;

/// `cases` cases (or `PROPTEST_CASES`), without failure files: a failing case prints its
/// minimal input, which belongs in a unit test.
pub fn config(cases: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(cases);
    Config { cases, failure_persistence: None, ..Config::default() }
}

/// Pieces a literal segment is made of: the syntax characters a pattern must escape, and
/// characters that are legal but unusual in a path.
const PIECES: &[&str] = &[
    "a",
    "b",
    "z",
    "0",
    "7",
    "-",
    "_",
    "~",
    "+",
    ".",
    "*",
    "**",
    "%",
    " ",
    "é",
    "日",
    "ß",
    "$",
    "(",
    ")",
    "'",
    "!",
    ",",
    "=",
    "@",
    ":",
    "datasets",
    "customers-prod",
];

/// A decoded literal segment (never `.` or `..`, never empty).
pub fn literal() -> impl Strategy<Value = String> {
    prop::collection::vec(select(PIECES), 1..6)
        .prop_map(|p| p.concat())
        .prop_filter("dot segments are no literals", |s| s != "." && s != "..")
}

/// A literal a request path can carry once decoded (a decoded `%` is refused as double
/// encoding; `*` and `**` are fine).
pub fn call_literal() -> impl Strategy<Value = String> {
    literal().prop_filter("no decoded `%` in a call", |s| !s.contains('%'))
}

/// One segment of a pattern, before it is written as text.
#[derive(Clone, Debug)]
pub enum Seg {
    Lit(String),
    One,
}

/// A pattern as segments plus whether it ends in `**`.
pub fn pattern_parts() -> impl Strategy<Value = (Vec<Seg>, bool)> {
    let seg = prop_oneof![3 => literal().prop_map(Seg::Lit), 1 => Just(Seg::One)];
    (prop::collection::vec(seg, 0..6), any::<bool>())
}

/// The text of a pattern, every literal escaped.
pub fn pattern_text(segs: &[Seg], rest: bool) -> String {
    let mut parts: Vec<String> = segs
        .iter()
        .map(|s| match s {
            Seg::Lit(l) => escape_segment(l).into_owned(),
            Seg::One => "*".into(),
        })
        .collect();
    if rest {
        parts.push("**".into());
    }
    format!("/{}", parts.join("/"))
}

pub fn pattern() -> impl Strategy<Value = String> {
    pattern_parts()
        .prop_map(|(s, r)| pattern_text(&s, r))
        .prop_filter("fits the length limit", |t| PathPattern::parse(t).is_ok())
}

/// A call's path as a client would send it: each byte of each literal percent-encoded unless
/// it is unreserved.
pub fn encode_path(segments: &[String]) -> String {
    let enc: Vec<String> = segments.iter().map(|s| encode(s)).collect();
    format!("/{}", enc.join("/"))
}

pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A raw query string as a client might send it.
pub fn raw_query() -> impl Strategy<Value = String> {
    let piece = select(
        &[
            "a", "b", "=", "&", ";", "+", "%41", "%2f", "%2F", "%26", "%zz", "%", " ", "é", "[]",
            "_method", "purge", "all", "1", "?", "/", "#", "%00",
        ][..],
    );
    prop::collection::vec(piece, 0..10).prop_map(|p| p.concat())
}

pub fn service() -> impl Strategy<Value = String> {
    select(&["orders", "billing", "a.b-c_d", "x"][..]).prop_map(str::to_string)
}

pub fn methods() -> impl Strategy<Value = Vec<String>> {
    prop_oneof![
        1 => Just(vec!["*".to_string()]),
        4 => prop::sample::subsequence(vec!["GET", "POST", "DELETE", "PUT", "PATCH"], 1..3)
            .prop_map(|m| m.into_iter().map(str::to_string).collect()),
    ]
}

pub fn scope_wire() -> impl Strategy<Value = ScopeWire> {
    (service(), methods(), prop::collection::vec(pattern(), 1..3), prop::option::of(raw_query()))
        .prop_map(|(service, methods, paths, query)| ScopeWire { service, methods, paths, query })
}

/// A principal as text: `kind:id` with ids that contain `:`, `/`, spaces and unicode.
pub fn principal_text() -> impl Strategy<Value = String> {
    let id = prop::collection::vec(
        select(&["alice", "bob", ":", "/", " x", "é", "日", "@", "-"][..]),
        1..5,
    )
    .prop_map(|p| p.concat())
    .prop_filter("no surrounding whitespace", |s| s.trim() == s);
    (select(&["user", "group", "service"][..]), id).prop_map(|(k, id)| format!("{k}:{id}"))
}

/// Any instant RFC 3339 can write: year 1970 to 9999, to the millisecond.
pub fn timestamp() -> impl Strategy<Value = Timestamp> {
    (0i64..=253_402_300_799_999).prop_map(Timestamp::from_millis)
}
