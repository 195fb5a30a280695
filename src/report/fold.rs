//! DOMAIN, pure: folding observed request paths into the narrowest grant path patterns that
//! cover them. A segment that looks like an identifier (a number, a UUID, long hex, a long
//! opaque token, a date, an e-mail address) becomes `*`; every other segment stays literal.
//! Siblings merge only when many distinct literals share everything else
//! ([`SIBLING_THRESHOLD`]). Nothing ever folds into `**`: a pattern matches exactly as many
//! segments as the calls it was built from.

use std::collections::{BTreeMap, BTreeSet};

use crate::grant::{PathPattern, RequestPath};

/// Distinct literal values at one position (all else equal) from which the position becomes
/// `*`: `/users/alice` … `/users/erin` (five names) fold into `/users/*`; four stay literal.
pub const SIBLING_THRESHOLD: usize = 5;

/// Shortest hex run or opaque token treated as an identifier.
const MIN_TOKEN_LEN: usize = 16;

/// One segment of a folded pattern.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Seg {
    Literal(String),
    Any,
}

/// True when a decoded path segment looks like an identifier rather than a route name.
pub fn is_variable(seg: &str) -> bool {
    if seg.is_empty() {
        return false;
    }
    let has_digit = seg.bytes().any(|b| b.is_ascii_digit());
    let numeric_ish = has_digit && seg.bytes().all(|b| b.is_ascii_digit() || b"-_.:+".contains(&b));
    let hex = seg.len() >= MIN_TOKEN_LEN && seg.bytes().all(|b| b.is_ascii_hexdigit());
    let token = seg.len() >= MIN_TOKEN_LEN
        && has_digit
        && seg.bytes().any(|b| b.is_ascii_alphabetic())
        && seg.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.~=".contains(&b));
    numeric_ish || is_uuid(seg) || hex || token || seg.contains('@')
}

fn is_uuid(seg: &str) -> bool {
    let groups: Vec<&str> = seg.split('-').collect();
    groups.len() == 5
        && groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups.iter().all(|g| g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// True when `seg` can be written as a literal pattern segment (`*` and `%` are escaped by
/// [`render`]).
fn literal_ok(seg: &str) -> bool {
    seg != "."
        && seg != ".."
        && !seg.chars().any(|c| matches!(c, '?' | '#' | ';' | '\\' | '/') || c.is_control())
}

/// One request path's segments, identifiers folded to `*`.
pub fn fold_segments(path: &RequestPath) -> Vec<Seg> {
    path.segments()
        .iter()
        .map(|s| if is_variable(s) || !literal_ok(s) { Seg::Any } else { Seg::Literal(s.clone()) })
        .collect()
}

/// Folds every observed path of one (principal, service, method) into sorted, distinct
/// patterns that together match each of them.
pub fn fold_paths<'a>(paths: impl IntoIterator<Item = &'a RequestPath>) -> Vec<String> {
    let folded: BTreeSet<Vec<Seg>> = paths.into_iter().map(fold_segments).collect();
    let rendered: BTreeSet<String> = merge_siblings(folded).iter().map(|p| render(p)).collect();
    rendered.into_iter().collect()
}

/// Replaces a position by `*` where at least [`SIBLING_THRESHOLD`] distinct literals share
/// every other segment; repeats until nothing changes (each pass only widens, so it ends).
pub fn merge_siblings(mut paths: BTreeSet<Vec<Seg>>) -> BTreeSet<Vec<Seg>> {
    loop {
        let mut changed = false;
        let max_len = paths.iter().map(Vec::len).max().unwrap_or(0);
        for i in 0..max_len {
            let mut groups: BTreeMap<Vec<Seg>, BTreeSet<String>> = BTreeMap::new();
            for p in paths.iter().filter(|p| p.len() > i) {
                if let Seg::Literal(lit) = &p[i] {
                    let mut key = p.clone();
                    key[i] = Seg::Any;
                    groups.entry(key).or_default().insert(lit.clone());
                }
            }
            for (key, lits) in groups.into_iter().filter(|(_, l)| l.len() >= SIBLING_THRESHOLD) {
                paths.retain(|p| {
                    !(p.len() == key.len()
                        && p.iter().zip(&key).enumerate().all(|(j, (a, b))| j == i || a == b)
                        && matches!(&p[i], Seg::Literal(l) if lits.contains(l)))
                });
                paths.insert(key);
                changed = true;
            }
        }
        if !changed {
            return paths;
        }
    }
}

/// True when `wide` matches every path `narrow` matches (same length; `*` or equal).
pub fn covers(wide: &[Seg], narrow: &[Seg]) -> bool {
    wide.len() == narrow.len() && wide.iter().zip(narrow).all(|(w, n)| *w == Seg::Any || w == n)
}

/// `[orders, *]` → `/orders/*`.
pub fn render(segs: &[Seg]) -> String {
    let parts: Vec<std::borrow::Cow<'_, str>> = segs
        .iter()
        .map(|s| match s {
            Seg::Literal(l) => crate::grant::escape_segment(l),
            Seg::Any => "*".into(),
        })
        .collect();
    format!("/{}", parts.join("/"))
}

/// True when a rendered pattern is one grants accept (always, by construction; checked so a
/// bug shows as a skipped suggestion rather than an invalid manifest).
pub fn valid(pattern: &str) -> bool {
    PathPattern::parse(pattern).is_ok()
}

#[cfg(test)]
#[path = "fold_tests.rs"]
mod tests;
