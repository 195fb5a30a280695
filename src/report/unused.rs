//! DOMAIN, pure: grants and policies nobody used in the report's window.
//!
//! A grant is unused when its usage ledger shows no use since the window started. A policy is
//! unused when no event in the window names it (no request filed under it, no grant issued
//! by it), no grant issued under it was used, and no standing grant it allows was used.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::Window;
use crate::access::PolicySet;
use crate::grant::{Grant, GrantSource, Principal, Scope};
use crate::time::Timestamp;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnusedGrant {
    pub id: String,
    pub subject: String,
    pub source: GrantSource,
    pub resources: Vec<Scope>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub standing: bool,
    /// The last use ever recorded (before the window), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<Timestamp>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnusedPolicy {
    pub name: String,
    pub resources: Vec<Scope>,
    pub requesters: Vec<Principal>,
    pub allow_standing: bool,
}

/// A live grant and its last use (the later of its usage ledger and its own record).
pub type GrantUse = (Grant, Option<Timestamp>);

fn used_in(last: Option<Timestamp>, window: Window) -> bool {
    last.is_some_and(|t| t >= window.since)
}

/// Live grants without a use in the window, oldest first.
pub fn grants(live: &[GrantUse], window: Window) -> Vec<UnusedGrant> {
    let mut out: Vec<UnusedGrant> = live
        .iter()
        .filter(|(_, last)| !used_in(*last, window))
        .map(|(g, last)| UnusedGrant {
            id: g.id.to_string(),
            subject: g.subject.to_string(),
            source: g.source,
            resources: g.resources.clone(),
            created_at: g.created_at,
            expires_at: g.expires_at,
            standing: g.standing,
            last_used_at: *last,
        })
        .collect();
    out.sort_by(|a, b| a.created_at.cmp(&b.created_at).then_with(|| a.id.cmp(&b.id)));
    out
}

/// Policies with no sign of use in the window, by name.
pub fn policies(
    set: &PolicySet,
    live: &[GrantUse],
    named: &BTreeSet<String>,
    window: Window,
) -> Vec<UnusedPolicy> {
    let used: Vec<&Grant> =
        live.iter().filter(|(_, last)| used_in(*last, window)).map(|(g, _)| g).collect();
    let mut out: Vec<UnusedPolicy> = set
        .iter()
        .filter(|p| {
            let issued = used.iter().any(|g| g.policy.as_deref() == Some(p.name.as_str()));
            let standing = p.allow_standing
                && used.iter().any(|g| {
                    g.standing
                        && p.covers(&g.resources)
                        && p.may_request(std::slice::from_ref(&g.subject))
                });
            !named.contains(&p.name) && !issued && !standing
        })
        .map(|p| UnusedPolicy {
            name: p.name.clone(),
            resources: p.resources.clone(),
            requesters: p.requesters.clone(),
            allow_standing: p.allow_standing,
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}
