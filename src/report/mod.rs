//! DOMAIN, pure: the access report. Reads decision events (as audit JSON) into a [`Tally`] of
//! would-be denies that shadow mode let through, then [`Tally::finish`] folds their paths into
//! patterns ([`fold`]), suggests the narrowest manifests that would allow exactly that use
//! ([`suggest`]), and lists grants and policies nobody used in the window ([`unused`]).
//!
//! Only shadowed denies count as use: the caller got in. A deny that was enforced is not use
//! (the caller never got in), so it is never turned into a suggestion. No I/O here: the
//! application layer pages through the audit log and the stores and hands the data in.

pub mod fold;
pub mod suggest;
pub mod unused;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::access::PolicySet;
use crate::audit::record::FoldedDenies;
use crate::grant::RequestPath;
use crate::time::Timestamp;
use fold::Seg;

pub use suggest::{SuggestOptions, Suggestion};
pub use unused::{GrantUse, UnusedGrant, UnusedPolicy};

/// Deny reasons a grant would have turned into an allow.
pub const GRANT_SHAPED: [&str; 4] = ["no_grant", "grant_expired", "grant_revoked", "grant_used_up"];

/// Most example paths kept per row.
const EXAMPLES: usize = 3;

/// The time window a report covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub since: Timestamp,
    pub until: Timestamp,
}

/// One principal's use of one service/method/pattern without a grant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnmetAccess {
    /// `None` for calls without a verified identity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    pub service: String,
    pub method: String,
    pub pattern: String,
    pub calls: u64,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    /// Would-be deny reasons and how often each was given.
    pub reasons: BTreeMap<String, u64>,
    /// A few of the paths called (examples, not all).
    pub examples: Vec<String>,
}

/// The whole report.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AccessReport {
    pub window: Window,
    /// Audit entries read.
    pub scanned: u64,
    /// The scan stopped at its limit: only entries from `covered_since` on were read.
    pub truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub covered_since: Option<Timestamp>,
    /// Shadowed would-be denies read, by reason.
    pub shadowed: BTreeMap<String, u64>,
    /// Verified principals that used access no grant gave them (what the suggestions cover).
    pub unmet: Vec<UnmetAccess>,
    /// One-time actions: each call needs its own approval, so nothing is suggested.
    pub one_time: Vec<UnmetAccess>,
    /// Calls without a valid identity (no token, bad token): no grant can fix these; the
    /// callers need tokens before enforcement starts.
    pub unauthenticated: Vec<UnmetAccess>,
    pub suggestions: Vec<Suggestion>,
    pub unused_grants: Vec<UnusedGrant>,
    pub unused_policies: Vec<UnusedPolicy>,
}

/// Calls of one (principal, service, method), by path shape: identifiers are folded as the
/// events arrive, so a week of `/orders/{id}` is one entry, not one per id.
#[derive(Debug, Default)]
struct Calls {
    shapes: BTreeMap<Vec<Seg>, PathCalls>,
}

#[derive(Debug)]
struct PathCalls {
    /// A few of the raw paths called.
    examples: Vec<String>,
    calls: u64,
    first: Timestamp,
    last: Timestamp,
    reasons: BTreeMap<String, u64>,
}

type Key = (Option<String>, String, String);

/// Decision events read so far. Feed it with [`Tally::add`], in any order.
#[derive(Debug, Default)]
pub struct Tally {
    unmet: BTreeMap<Key, Calls>,
    one_time: BTreeMap<Key, Calls>,
    anonymous: BTreeMap<Key, Calls>,
    shadowed: BTreeMap<String, u64>,
    /// Policies named by a request or grant event in the window.
    pub policies_named: BTreeSet<String>,
}

// === impl Tally ===

impl Tally {
    /// Reads one audit event (as stored JSON); anything outside `window` is ignored.
    pub fn add(&mut self, event: &Value, window: Window, policies: &PolicySet) {
        let field = |k: &str| event.get(k).and_then(Value::as_str);
        let Some(at) = field("at").and_then(|a| Timestamp::parse_rfc3339(a).ok()) else { return };
        if at < window.since || at > window.until {
            return;
        }
        // Requests filed or decided under a policy and grants it issued are use; editing it
        // (`policy.put`) is not.
        let kind = field("kind").unwrap_or_default();
        if let Some(p) = field("policy")
            && (kind.starts_with("request.") || kind.starts_with("grant."))
        {
            self.policies_named.insert(p.to_string());
        }
        let shadowed = event.get("details").and_then(|d| d.get("mode")).and_then(Value::as_str)
            == Some("shadow");
        if kind != "decision.deny" || !shadowed {
            return;
        }
        let reason = field("reason").unwrap_or("unknown").to_string();
        // A folded record (unidentified callers) stands for `details.count` calls.
        let folded = event.get("details").and_then(|d| FoldedDenies::deserialize(d).ok());
        let (count, last) = folded.map_or((1, at), |f| (f.count, f.last_at.max(at)));
        *self.shadowed.entry(reason.clone()).or_default() += count;
        let (Some(service), Some(method), Some(raw)) =
            (field("service"), field("method"), field("path"))
        else {
            return;
        };
        let Ok(path) = RequestPath::parse(raw) else { return };
        let subject = field("subject").map(String::from);
        let bucket = match subject {
            None => &mut self.anonymous,
            Some(_) if policies.one_time_policy(service, method, &path).is_some() => {
                &mut self.one_time
            }
            Some(_) if GRANT_SHAPED.contains(&reason.as_str()) => &mut self.unmet,
            Some(_) => return,
        };
        let key = (subject, service.to_string(), method.to_string());
        let calls = bucket.entry(key).or_default();
        let entry = calls.shapes.entry(fold::fold_segments(&path)).or_insert_with(|| PathCalls {
            examples: Vec::new(),
            calls: 0,
            first: at,
            last: at,
            reasons: BTreeMap::new(),
        });
        if entry.examples.len() < EXAMPLES && !entry.examples.iter().any(|e| e == path.as_str()) {
            entry.examples.push(path.as_str().to_string());
        }
        entry.calls += count;
        entry.first = entry.first.min(at);
        entry.last = entry.last.max(last);
        *entry.reasons.entry(reason).or_default() += count;
    }

    /// The shadowed would-be denies by reason.
    pub fn shadowed(&self) -> &BTreeMap<String, u64> {
        &self.shadowed
    }

    /// The report: rows folded into patterns (sorted by principal, service, method,
    /// pattern), suggestions for the unmet rows, and what went unused.
    pub fn finish(
        self,
        scan: Scan,
        policies: &PolicySet,
        live: &[GrantUse],
        opts: &SuggestOptions,
    ) -> AccessReport {
        let unmet = fold_rows(&self.unmet);
        let suggestions = suggest::suggest(&unmet, scan.window, opts);
        AccessReport {
            window: scan.window,
            scanned: scan.scanned,
            truncated: scan.covered_since.is_some(),
            covered_since: scan.covered_since,
            shadowed: self.shadowed,
            one_time: fold_rows(&self.one_time),
            unauthenticated: fold_rows(&self.anonymous),
            unmet,
            suggestions,
            unused_grants: unused::grants(live, scan.window),
            unused_policies: unused::policies(policies, live, &self.policies_named, scan.window),
        }
    }
}

/// How much of the audit log a report read.
#[derive(Clone, Copy, Debug)]
pub struct Scan {
    pub window: Window,
    pub scanned: u64,
    /// Set when the scan stopped at its limit: only entries from here on were read.
    pub covered_since: Option<Timestamp>,
}

fn fold_rows(groups: &BTreeMap<Key, Calls>) -> Vec<UnmetAccess> {
    let mut out = Vec::new();
    for ((principal, service, method), calls) in groups {
        let merged = fold::merge_siblings(calls.shapes.keys().cloned().collect());
        let mut rows: BTreeMap<String, UnmetAccess> = BTreeMap::new();
        for (shape, c) in &calls.shapes {
            // Each shape counts once, under the most specific merged pattern covering it.
            let best = merged
                .iter()
                .filter(|m| fold::covers(m, shape))
                .min_by_key(|m| m.iter().filter(|s| **s == Seg::Any).count());
            let Some(pattern) = best.map(|m| fold::render(m)) else { continue };
            if !fold::valid(&pattern) {
                continue;
            }
            let r = rows.entry(pattern.clone()).or_insert_with(|| UnmetAccess {
                principal: principal.clone(),
                service: service.clone(),
                method: method.clone(),
                pattern,
                calls: 0,
                first_seen: c.first,
                last_seen: c.last,
                reasons: BTreeMap::new(),
                examples: Vec::new(),
            });
            r.calls += c.calls;
            r.first_seen = r.first_seen.min(c.first);
            r.last_seen = r.last_seen.max(c.last);
            for (reason, n) in &c.reasons {
                *r.reasons.entry(reason.clone()).or_default() += n;
            }
            for e in &c.examples {
                if r.examples.len() < EXAMPLES {
                    r.examples.push(e.clone());
                }
            }
        }
        out.extend(rows.into_values());
    }
    out
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
