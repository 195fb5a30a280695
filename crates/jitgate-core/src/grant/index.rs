//! DOMAIN, pure: one principal's grants, indexed by service and literal path prefix, so a Check
//! looks only at the grants that could cover its path instead of scanning all of them.
//!
//! A path pattern whose leading literal segments are `/a/b` (then `*`, `**` or the end) can only
//! match paths that start with `/a/b`. Each pattern is filed under its service and that literal
//! prefix in a small trie; a lookup walks the trie along the request's segments and collects
//! every grant filed on the way. The index only narrows: every grant it returns is still checked
//! in full by the engine, and a grant it leaves out cannot cover the call.

use std::collections::HashMap;

use super::{GrantRule, RequestPath};

/// Below this many grants a scan is as fast as the index and needs no memory.
pub const INDEX_MIN_GRANTS: usize = 16;

/// A principal's grants with their index.
#[derive(Debug, Default)]
pub struct IndexedGrants {
    grants: Vec<GrantRule>,
    index: Option<HashMap<String, Node>>,
}

#[derive(Debug, Default)]
struct Node {
    /// Grants with a pattern whose literal prefix ends here (indices into `grants`).
    here: Vec<u32>,
    children: HashMap<Box<str>, Node>,
}

/// The grants that could cover one call.
pub enum Candidates<'a> {
    All(std::slice::Iter<'a, GrantRule>),
    Indexed { grants: &'a [GrantRule], picks: std::vec::IntoIter<u32> },
}

// === impl IndexedGrants ===

impl IndexedGrants {
    pub fn new(grants: Vec<GrantRule>) -> Self {
        let index = (grants.len() >= INDEX_MIN_GRANTS).then(|| build(&grants));
        Self { grants, index }
    }

    pub fn grants(&self) -> &[GrantRule] {
        &self.grants
    }

    /// Every grant that could cover `path` on `service` (a superset of those that do).
    pub fn candidates(&self, service: &str, path: &RequestPath) -> Candidates<'_> {
        let Some(index) = &self.index else {
            return Candidates::All(self.grants.iter());
        };
        let mut picks = Vec::new();
        if let Some(mut node) = index.get(service) {
            picks.extend_from_slice(&node.here);
            for segment in path.segments() {
                match node.children.get(segment.as_str()) {
                    Some(next) => node = next,
                    None => break,
                }
                picks.extend_from_slice(&node.here);
            }
        }
        // A grant with several matching patterns is filed more than once.
        picks.sort_unstable();
        picks.dedup();
        Candidates::Indexed { grants: &self.grants, picks: picks.into_iter() }
    }
}

fn build(grants: &[GrantRule]) -> HashMap<String, Node> {
    let mut services: HashMap<String, Node> = HashMap::new();
    for (i, grant) in grants.iter().enumerate() {
        let Ok(i) = u32::try_from(i) else { break };
        for scope in grant.resources() {
            let root = services.entry(scope.service.clone()).or_default();
            for pattern in &scope.paths {
                let mut node = &mut *root;
                for literal in pattern.literal_prefix() {
                    node = node.children.entry(literal.into()).or_default();
                }
                if node.here.last() != Some(&i) {
                    node.here.push(i);
                }
            }
        }
    }
    services
}

// === impl Candidates ===

impl<'a> Iterator for Candidates<'a> {
    type Item = &'a GrantRule;

    fn next(&mut self) -> Option<&'a GrantRule> {
        match self {
            Self::All(it) => it.next(),
            Self::Indexed { grants, picks } => {
                picks.next().and_then(|i| grants.get(usize::try_from(i).ok()?))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grant::fixtures::{mk_grant, mk_scope};
    use crate::grant::{AsGrantView, Grant};
    use crate::time::Timestamp;

    fn grant_for(id: &str, service: &str, paths: &[&str]) -> GrantRule {
        let g: Grant = mk_grant(
            id,
            "user:alice",
            mk_scope(service, &["GET"], paths),
            Timestamp::from_millis(1 << 40),
        );
        GrantRule::from(&g)
    }

    fn path(p: &str) -> RequestPath {
        RequestPath::parse(p).unwrap()
    }

    fn ids<'a>(c: Candidates<'a>) -> Vec<&'a str> {
        let mut v: Vec<&str> = c.map(|g| g.id()).collect();
        v.sort_unstable();
        v
    }

    fn many(patterns: &[(&str, &str, &str)]) -> IndexedGrants {
        let mut grants: Vec<GrantRule> = patterns
            .iter()
            .map(|(id, service, pattern)| grant_for(id, service, &[pattern]))
            .collect();
        // Pad past the threshold with grants on another service.
        for i in grants.len()..INDEX_MIN_GRANTS {
            grants.push(grant_for(&format!("pad{i}"), "other", &["/x/**"]));
        }
        IndexedGrants::new(grants)
    }

    #[test]
    fn small_sets_are_scanned_whole() {
        let set = IndexedGrants::new(vec![grant_for("a", "svc", &["/a/**"])]);
        assert_eq!(ids(set.candidates("other", &path("/zzz"))), ["a"]);
    }

    #[test]
    fn lookups_find_every_pattern_on_the_prefix_chain() {
        let set = many(&[
            ("root", "svc", "/**"),
            ("one", "svc", "/*/items"),
            ("people", "svc", "/people/**"),
            ("p1", "svc", "/people/1/**"),
            ("p2", "svc", "/people/2/**"),
            ("p1x", "svc", "/people/1/x"),
            ("star", "svc", "/people/*/notes"),
            ("other-svc", "billing", "/people/**"),
        ]);
        assert_eq!(
            ids(set.candidates("svc", &path("/people/1/x"))),
            ["one", "p1", "p1x", "people", "root", "star"]
        );
        assert_eq!(ids(set.candidates("svc", &path("/orders"))), ["one", "root"]);
        assert_eq!(ids(set.candidates("billing", &path("/people/9"))), ["other-svc"]);
        assert!(ids(set.candidates("nothing", &path("/people/1"))).is_empty());
    }

    #[test]
    fn the_index_never_drops_a_grant_that_covers_the_call() {
        let patterns = [
            "/**", "/a", "/a/", "/a/**", "/a/*", "/a/*/c", "/a/b", "/a/b/**", "/*", "/*/**",
            "/a/b/c", "/b/**", "/", "/a/b/", "/*/b",
        ];
        let rows: Vec<(String, &str)> =
            patterns.iter().enumerate().map(|(i, p)| (format!("g{i}"), *p)).collect();
        let triples: Vec<(&str, &str, &str)> =
            rows.iter().map(|(id, p)| (id.as_str(), "svc", *p)).collect();
        let set = many(&triples);
        for request in ["/", "/a", "/a/", "/a/b", "/a/b/", "/a/b/c", "/a/x/c", "/b", "/b/c", "/c/b"]
        {
            let request = path(request);
            let covering: Vec<&str> = {
                let mut v: Vec<&str> = set
                    .grants()
                    .iter()
                    .filter(|g| g.view().covers("svc", "GET", &request))
                    .map(|g| g.id())
                    .collect();
                v.sort_unstable();
                v
            };
            let found = ids(set.candidates("svc", &request));
            for id in &covering {
                assert!(found.contains(id), "{request:?}: {id} covers the call but was not found");
            }
        }
    }
}
