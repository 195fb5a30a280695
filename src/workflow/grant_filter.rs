//! Which grants a listing shows ([`GrantFilter`], from query parameters). How a grant is shown
//! is the wire contract's `GrantBody`.

// Reached by what callers send: no arithmetic that can overflow, no indexing that can go out
// of bounds, no `panic!` (SECURITY row 64). Checked by clippy, so a regression fails the build.
#![deny(clippy::arithmetic_side_effects, clippy::indexing_slicing, clippy::panic)]

use std::time::Duration;

use crate::grant::{Grant, GrantSource, Principal};
use crate::time::{Timestamp, Ttl};

/// Which live grants a listing shows.
#[derive(Clone, Debug, Default)]
pub struct GrantFilter {
    pub subject: Option<Principal>,
    pub service: Option<String>,
    pub source: Option<GrantSource>,
    /// Only grants expiring within this long from now.
    pub expiring_within: Option<Duration>,
    /// Only grants never used (no use in their usage ledger).
    pub unused: bool,
}

impl GrantFilter {
    /// From query parameters `subject`, `service`, `source`, `expiring_within`; every bad one reported.
    pub fn from_query(q: &std::collections::HashMap<String, String>) -> Result<Self, Vec<String>> {
        let mut errors = Vec::new();
        let known = ["subject", "service", "source", "expiring_within", "unused"];
        for key in q.keys().filter(|k| !known.contains(&k.as_str())) {
            errors.push(format!("unknown query parameter `{key}`: use {}", known.join(", ")));
        }
        let mut f = Self { service: q.get("service").cloned(), ..Self::default() };
        if let Some(s) = q.get("subject") {
            f.subject =
                s.parse::<Principal>().map_err(|e| errors.push(format!("subject: {e}"))).ok();
        }
        if let Some(s) = q.get("source") {
            f.source = GrantSource::parse(s).or_else(|| {
                errors.push(format!("source: `{s}` is not one of {}", GrantSource::names()));
                None
            });
        }
        if let Some(d) = q.get("expiring_within") {
            f.expiring_within = Ttl::parse(d)
                .map_err(|e| errors.push(format!("expiring_within: {e}")))
                .ok()
                .map(Ttl::as_duration);
        }
        match q.get("unused").map(String::as_str) {
            None | Some("false") => {}
            Some("true") => f.unused = true,
            Some(other) => errors.push(format!("unused: `{other}` is neither `true` nor `false`")),
        }
        if errors.is_empty() { Ok(f) } else { Err(errors) }
    }

    pub fn keeps(&self, g: &Grant, now: Timestamp) -> bool {
        self.subject.as_ref().is_none_or(|s| &g.subject == s)
            && self.service.as_ref().is_none_or(|s| g.resources.iter().any(|r| &r.service == s))
            && self.source.is_none_or(|s| g.source == s)
            && self.expiring_within.is_none_or(|d| g.expires_at <= now.saturating_add(d))
            && (!self.unused || (g.uses == 0 && g.last_used_at.is_none()))
    }
}
