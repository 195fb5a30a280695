//! `explain`: the decision jitgate would make now for a subject and a call, grant by grant,
//! and which policy would let the subject request it. Used by `POST /v1/explain`, the gRPC
//! admin API and `jitgate explain --redis-url` (straight from Redis when the API is down).

use super::WorkflowError;
use crate::access::{Ineligible, PolicySet, describe, eligible, rule_fits};
use crate::decision::explain::explain as explain_grants;
pub use crate::decision::explain::{DecisionView, Explanation, RequestOutlook};
use crate::decision::input::{CheckAttributes, parse};
use crate::decision::{Caller, Decision};
use crate::grant::{Grant, Principal};
use crate::store::GrantStore;
use crate::time::Timestamp;

/// What to explain: a subject (plus the groups it is in) making one call.
#[derive(Clone, Debug)]
pub struct ExplainQuery {
    pub subject: Principal,
    pub groups: Vec<Principal>,
    pub service: String,
    pub method: String,
    pub path: String,
}

/// Explains one call against the grants in `store` and the policies in `policies`.
pub async fn explain(
    store: &dyn GrantStore,
    policies: &PolicySet,
    q: &ExplainQuery,
    now: Timestamp,
) -> Result<Explanation, WorkflowError> {
    let attrs = CheckAttributes {
        method: q.method.clone(),
        path: q.path.clone(),
        service: Some(q.service.clone()),
        ..Default::default()
    };
    let mut input = parse(&attrs).map_err(|d| WorkflowError::Invalid(vec![d.detail]))?;
    input.one_time = policies.one_time_policy(&input.service, &input.method, &input.path).is_some();
    let mut principals = vec![q.subject.clone()];
    principals.extend(q.groups.iter().cloned());
    let caller = Caller { subject: q.subject.clone(), principals };
    let mut grants: Vec<Grant> = Vec::new();
    for p in &caller.principals {
        for g in store.live_for(p, now).await?.into_iter().chain(store.recent_for(p, now).await?) {
            if !grants.iter().any(|x| x.id == g.id) {
                grants.push(g);
            }
        }
    }
    grants.sort_by_key(|g| std::cmp::Reverse(g.expires_at));
    let (decision, considered) = explain_grants(&grants, &caller, &input, now);
    let decision = match decision {
        Decision::Allow(a) => DecisionView {
            allowed: true,
            status: 200,
            reason: "allowed".into(),
            message: format!("allowed by grant `{}` until {}", a.grant_id, a.expires_at),
            grant_id: Some(a.grant_id.to_string()),
        },
        Decision::Deny(d) => DecisionView {
            allowed: false,
            status: d.reason.status().http_code(),
            reason: d.reason.code().into(),
            message: d.detail,
            grant_id: None,
        },
    };
    let scope = input.request_scope();
    Ok(Explanation {
        call: format!("{} {} on `{}`", input.method, input.path, input.service),
        one_time_action: input.one_time,
        request: outlook(policies, &caller, &scope),
        subject: caller.subject,
        principals: caller.principals,
        decision,
        considered,
    })
}

/// What `caller` could request for `scope`, by the rules filing applies ([`eligible`]): the
/// first policy that would govern it, who approves, and which auto-approve rules fit who asks
/// and what for (each with its own TTL and incident conditions, which depend on the request).
fn outlook(policies: &PolicySet, caller: &Caller, scope: &crate::grant::Scope) -> RequestOutlook {
    let scopes = std::slice::from_ref(scope);
    let policy = match eligible(policies, caller, scopes) {
        Ok(eligible) => match eligible.first() {
            Some(p) => std::sync::Arc::clone(p),
            None => return RequestOutlook::NotCovered { message: describe(scopes) },
        },
        Err(Ineligible::NotCovered(message)) => return RequestOutlook::NotCovered { message },
        Err(Ineligible::NotEligible(message)) => return RequestOutlook::NotEligible { message },
    };
    let one_time = policy.one_time_action(scope).is_some();
    let auto_approve_rules = if one_time {
        Vec::new()
    } else {
        policy
            .auto_approve
            .iter()
            .filter(|r| rule_fits(r, caller, scopes))
            .map(|r| {
                let incident = if r.incident { ", with an incident" } else { "" };
                format!("{} (up to {}{incident})", r.id, crate::time::Ttl::from_duration(r.max_ttl))
            })
            .collect()
    };
    RequestOutlook::Requestable {
        policy: policy.name.clone(),
        approvers: policy.approvers.clone(),
        min_approvals: policy.min_approvals,
        max_ttl: crate::time::Ttl::from_duration(policy.max_ttl).to_string(),
        one_time,
        auto_approve_rules,
    }
}
