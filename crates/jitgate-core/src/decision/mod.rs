//! DOMAIN, pure: the decision engine. [`evaluate`] turns the caller, the grants that name any of
//! its principals, the request and an explicit `now` into a [`Decision`]. No I/O, no locks, no
//! clock of its own; every failure path is a [`Deny`] with a stable reason code.

pub mod explain;
pub mod input;
mod method_override;
mod reason;

use serde::{Deserialize, Serialize};

pub use reason::{DenyReason, DenyStatus};

use crate::grant::{AsGrantView, GrantId, GrantStatus, GrantView, Principal, RequestPath, Scope};
use crate::time::Timestamp;

/// The verified caller: its primary subject (the user, or the workload when there is no user)
/// and every principal it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub subject: Principal,
    pub principals: Vec<Principal>,
}

/// What is being asked for, already parsed and normalized.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckInput {
    pub service: String,
    pub method: String,
    pub path: RequestPath,
    /// A policy makes this call a one-time action: only grants with `max_uses` may allow it.
    pub one_time: bool,
}

/// The access a denied caller would need: exactly this call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissingAccess {
    pub service: String,
    pub method: String,
    pub path: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Allow {
    /// The caller.
    pub subject: Principal,
    pub grant_id: GrantId,
    /// The principal the grant names (the caller, or one of its groups).
    pub holder: Principal,
    pub expires_at: Timestamp,
    /// The grant has `max_uses`: a use must be consumed atomically before the call may pass.
    pub limited: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deny {
    pub reason: DenyReason,
    /// A human explanation; safe to show to the caller.
    pub detail: String,
    pub missing: Option<MissingAccess>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Allow(Allow),
    Deny(Deny),
}

// === impl Caller ===

impl Caller {
    pub fn holds(&self, p: &Principal) -> bool {
        self.principals.contains(p)
    }
}

// === impl CheckInput ===

impl CheckInput {
    pub fn missing(&self) -> MissingAccess {
        MissingAccess {
            service: self.service.clone(),
            method: self.method.clone(),
            path: self.path.as_str().to_string(),
        }
    }

    /// The scope of exactly this call: method, path and query string (one-time requests).
    /// `None` when the query is too long to bind to.
    pub fn exact_scope(&self) -> Option<Scope> {
        Scope::exact(&self.service, &self.method, &self.path)
    }

    /// The scope to prefill an access request with: this call's method and path (any query),
    /// or, for a one-time action, exactly this call.
    pub fn request_scope(&self) -> Scope {
        let path_only = || Scope::exact_path(&self.service, &self.method, &self.path);
        if self.one_time { self.exact_scope().unwrap_or_else(path_only) } else { path_only() }
    }
}

// === impl Deny ===

impl Deny {
    pub fn new(reason: DenyReason, detail: impl Into<String>) -> Self {
        Self { reason, detail: detail.into(), missing: None }
    }
}

impl From<Deny> for Decision {
    fn from(d: Deny) -> Self {
        Self::Deny(d)
    }
}

/// Decides one call. Grants that do not name one of the caller's principals are ignored, so a
/// bad lookup can never widen access. Among matching live grants, one without `max_uses` wins
/// (it needs no write), then the one that lives longest.
pub fn evaluate<'a, G: AsGrantView + 'a>(
    grants: impl IntoIterator<Item = &'a G>,
    caller: &Caller,
    input: &CheckInput,
    now: Timestamp,
) -> Decision {
    let mut best: Option<GrantView<'a>> = None;
    let (mut saw_expired, mut saw_used_up, mut saw_revoked) = (false, false, false);
    for grant in grants.into_iter().map(AsGrantView::view) {
        if !caller.holds(grant.holder) || !grant.covers(&input.service, &input.method, &input.path)
        {
            continue;
        }
        if input.one_time && grant.max_uses.is_none() {
            // Standing grants never cover a one-time action, however broad they are.
            continue;
        }
        match grant.status(now) {
            GrantStatus::Active if best.is_none_or(|b| preferred(&grant, &b)) => best = Some(grant),
            GrantStatus::Active => {}
            GrantStatus::Expired => saw_expired = true,
            GrantStatus::Exhausted => saw_used_up = true,
            GrantStatus::Revoked => saw_revoked = true,
        }
    }
    if let Some(g) = best {
        return Decision::Allow(Allow {
            subject: caller.subject.clone(),
            grant_id: g.grant_id(),
            holder: g.holder.clone(),
            expires_at: g.expires_at,
            limited: g.max_uses.is_some(),
        });
    }
    let (reason, why) = if saw_used_up {
        (DenyReason::GrantUsedUp, "the matching grant has no uses left")
    } else if saw_expired {
        (DenyReason::GrantExpired, "the matching grant has expired")
    } else if saw_revoked {
        (DenyReason::GrantRevoked, "the matching grant was revoked")
    } else if input.one_time {
        (DenyReason::ApprovalRequired, "this action needs a one-time approval for this exact call")
    } else {
        (DenyReason::NoGrant, "no live grant covers this call")
    };
    let detail = format!(
        "{} may not {} {} on service `{}`: {why}",
        caller.subject, input.method, input.path, input.service
    );
    Decision::Deny(Deny { reason, detail, missing: Some(input.missing()) })
}

fn preferred(candidate: &GrantView<'_>, current: &GrantView<'_>) -> bool {
    match (candidate.max_uses.is_none(), current.max_uses.is_none()) {
        (true, false) => true,
        (false, true) => false,
        _ => candidate.expires_at > current.expires_at,
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
