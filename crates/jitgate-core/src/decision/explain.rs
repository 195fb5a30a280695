//! DOMAIN, pure: why the engine decides what it decides. [`explain`] runs the same
//! [`super::evaluate`] and, for every grant that names one of the caller's principals, says
//! whether it covers the call and, if not, the first reason it does not.

use serde::{Deserialize, Serialize};

use super::{Caller, CheckInput, Decision, evaluate};
use crate::grant::{Grant, GrantStatus, Principal, Scope};
use crate::time::Timestamp;

crate::named_enum! {
    /// Why one grant does or does not allow the call.
    pub enum Fit {
        /// It covers the call and is live.
        Allows = "allows",
        /// None of its resources is for this service.
        WrongService = "wrong_service",
        /// A resource for this service and path exists, but not for this method.
        WrongMethod = "wrong_method",
        /// A resource for this service and method exists, but no path pattern matches.
        WrongPath = "wrong_path",
        /// It covers the call but has expired.
        Expired = "expired",
        /// It covers the call but was revoked.
        Revoked = "revoked",
        /// It covers the call but its `max_uses` are spent.
        UsedUp = "used_up",
        /// It covers the call, but the call is a one-time action and this grant is standing.
        NotOneTime = "not_one_time",
    }
}

/// One grant and how it fits the call.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Considered {
    pub grant: Grant,
    pub fit: Fit,
    pub detail: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DecisionView {
    pub allowed: bool,
    /// The HTTP status Envoy would answer with.
    pub status: u16,
    /// The deny reason code, or `allowed`.
    pub reason: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grant_id: Option<String>,
}

/// Whether (and how) the subject could request the call.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum RequestOutlook {
    NotCovered {
        message: String,
    },
    NotEligible {
        message: String,
    },
    Requestable {
        policy: String,
        approvers: Vec<Principal>,
        min_approvals: u32,
        max_ttl: String,
        one_time: bool,
        auto_approve_rules: Vec<String>,
    },
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Explanation {
    pub subject: Principal,
    pub principals: Vec<Principal>,
    pub call: String,
    pub one_time_action: bool,
    pub decision: DecisionView,
    pub considered: Vec<Considered>,
    pub request: RequestOutlook,
}

/// Decides like the Check path and says why, grant by grant.
pub fn explain(
    grants: &[Grant],
    caller: &Caller,
    input: &CheckInput,
    now: Timestamp,
) -> (Decision, Vec<Considered>) {
    let decision = evaluate(grants, caller, input, now);
    let considered = grants
        .iter()
        .filter(|g| caller.holds(&g.subject))
        .map(|g| consider(g, input, now))
        .collect();
    (decision, considered)
}

fn consider(g: &Grant, input: &CheckInput, now: Timestamp) -> Considered {
    let (fit, detail) = match scope_fit(&g.resources, input) {
        Some(miss) => miss,
        None => match g.status(now) {
            GrantStatus::Revoked => {
                let by = g.revoked.as_ref().map(|r| format!(" by {} at {}", r.by, r.at)).unwrap_or_default();
                (Fit::Revoked, format!("covers the call but was revoked{by}"))
            }
            GrantStatus::Expired => (Fit::Expired, format!("covers the call but expired at {}", g.expires_at)),
            GrantStatus::Exhausted => (
                Fit::UsedUp,
                format!("covers the call but used {} of {} allowed uses", g.uses, g.max_uses.unwrap_or(0)),
            ),
            GrantStatus::Active if input.one_time && g.max_uses.is_none() => (
                Fit::NotOneTime,
                "covers the call, but this action needs a one-time approval and the grant is standing".into(),
            ),
            GrantStatus::Active => (Fit::Allows, format!("covers the call until {}", g.expires_at)),
        },
    };
    Considered { grant: g.clone(), fit, detail }
}

/// `None` when some resource covers the call; otherwise the closest miss.
fn scope_fit(resources: &[Scope], input: &CheckInput) -> Option<(Fit, String)> {
    if resources.iter().any(|r| r.matches(&input.service, &input.method, &input.path)) {
        return None;
    }
    let same_service: Vec<&Scope> =
        resources.iter().filter(|r| r.service == input.service).collect();
    if same_service.is_empty() {
        let services: Vec<&str> = resources.iter().map(|r| r.service.as_str()).collect();
        return Some((
            Fit::WrongService,
            format!("is for service {}, not `{}`", services.join(", "), input.service),
        ));
    }
    let path_ok = same_service.iter().find(|r| r.paths.iter().any(|p| p.matches(&input.path)));
    if let Some(r) = path_ok {
        return Some((
            Fit::WrongMethod,
            format!("allows {} on this path, not {}", r.methods, input.method),
        ));
    }
    let patterns: Vec<&str> =
        same_service.iter().flat_map(|r| r.paths.iter().map(|p| p.as_str())).collect();
    Some((
        Fit::WrongPath,
        format!("allows paths {}, which do not match {}", patterns.join(", "), input.path),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::DenyReason;
    use crate::grant::fixtures::{mk_grant, mk_scope};
    use crate::grant::{RequestPath, Revocation};

    const NOW: Timestamp = Timestamp::from_millis(1_900_000_000_000);

    fn mk(id: &str, methods: &[&str], paths: &[&str], service: &str) -> Grant {
        mk_grant(
            id,
            "user:alice",
            mk_scope(service, methods, paths),
            Timestamp::from_millis(NOW.as_millis() + 60_000),
        )
    }

    fn fits(grants: &[Grant]) -> Vec<Fit> {
        let caller = Caller {
            subject: "user:alice".parse().unwrap(),
            principals: vec!["user:alice".parse().unwrap()],
        };
        let input = CheckInput {
            service: "orders".into(),
            method: "DELETE".into(),
            path: RequestPath::parse("/orders/7").unwrap(),
            one_time: false,
        };
        explain(grants, &caller, &input, NOW).1.into_iter().map(|c| c.fit).collect()
    }

    #[test]
    fn each_grant_gets_its_first_reason() {
        let mut expired = mk("expired", &["DELETE"], &["/orders/*"], "orders");
        expired.expires_at = NOW;
        let mut revoked = mk("revoked", &["DELETE"], &["/orders/*"], "orders");
        revoked.revoked =
            Some(Revocation { at: NOW, by: "user:root".parse().unwrap(), reason: None });
        let mut used = mk("used", &["DELETE"], &["/orders/*"], "orders");
        used.max_uses = Some(1);
        used.uses = 1;
        let grants = [
            mk("ok", &["DELETE"], &["/orders/**"], "orders"),
            mk("method", &["GET"], &["/orders/**"], "orders"),
            mk("path", &["DELETE"], &["/invoices/*"], "orders"),
            mk("service", &["DELETE"], &["/orders/*"], "billing"),
            expired,
            revoked,
            used,
        ];
        assert_eq!(
            fits(&grants),
            [
                Fit::Allows,
                Fit::WrongMethod,
                Fit::WrongPath,
                Fit::WrongService,
                Fit::Expired,
                Fit::Revoked,
                Fit::UsedUp
            ]
        );
    }

    #[test]
    fn the_decision_is_the_engines() {
        let caller = Caller {
            subject: "user:alice".parse().unwrap(),
            principals: vec!["user:alice".parse().unwrap()],
        };
        let input = CheckInput {
            service: "orders".into(),
            method: "GET".into(),
            path: RequestPath::parse("/x").unwrap(),
            one_time: false,
        };
        let (d, considered) = explain(&[], &caller, &input, NOW);
        assert!(matches!(d, Decision::Deny(ref deny) if deny.reason == DenyReason::NoGrant));
        assert!(considered.is_empty());
    }
}
