//! DOMAIN, pure: which policy governs a new access request, and what it decides — refused,
//! pending with named approvers, or approved by an auto-approve rule.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use super::policy::{AccessPolicy, AutoRule};
use crate::decision::Caller;
use crate::grant::{Methods, RequestPath, Scope};
use crate::time::Ttl;

/// Every stored policy, sorted by name, swapped as a whole when any changes.
#[derive(Clone, Debug, Default)]
pub struct PolicySet {
    policies: Vec<Arc<AccessPolicy>>,
    /// Stored policies that could not be decoded or no longer validate: they cover nothing,
    /// and requests filed under them wait (neither decided nor cancelled) until fixed.
    unreadable: BTreeSet<String>,
}

/// A request as asked, before any policy looked at it.
#[derive(Clone, Copy, Debug)]
pub struct Draft<'a> {
    pub requester: &'a Caller,
    pub resources: &'a [Scope],
    pub ttl: Duration,
    pub reason: &'a str,
    pub incident: Option<&'a str>,
}

/// Why a request cannot be filed (or, by [`reassess`], approved any more).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No policy covers the resources (403).
    NotCovered(String),
    /// Policies cover them, but the requester is not among their requesters (403).
    NotEligible(String),
    /// The request breaks the governing policy's rules (400); one message per problem.
    Invalid(Vec<String>),
    /// The policy a pending request was filed under no longer exists ([`reassess`] only).
    PolicyGone(String),
}

/// What the governing policy decided about a request.
#[derive(Clone, Debug)]
pub struct Assessment {
    pub policy: Arc<AccessPolicy>,
    /// Set when an auto-approve rule approves the request (the rule's id).
    pub auto_rule: Option<String>,
    /// The request is for a single call of a one-time action.
    pub one_time: bool,
    /// The resources the request holds, as the policy judged them (a one-time call with its
    /// query string bound); what its approvers see and what its grant covers.
    pub resources: Vec<Scope>,
    pub grant_ttl: Duration,
    pub max_uses: Option<u32>,
}

// === impl PolicySet ===

impl PolicySet {
    pub fn new(mut policies: Vec<AccessPolicy>) -> Self {
        policies.sort_by(|a, b| a.name.cmp(&b.name));
        Self { policies: policies.into_iter().map(Arc::new).collect(), unreadable: BTreeSet::new() }
    }

    /// The same set, knowing that the stored policies `names` could not be read.
    pub fn with_unreadable(mut self, names: impl IntoIterator<Item = String>) -> Self {
        self.unreadable.extend(names);
        self
    }

    /// Whether policy `name` is stored but could not be read (see [`Self::with_unreadable`]).
    pub fn is_unreadable(&self, name: &str) -> bool {
        self.unreadable.contains(name)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<AccessPolicy>> {
        self.policies.iter()
    }

    pub fn get(&self, name: &str) -> Option<&Arc<AccessPolicy>> {
        self.policies.iter().find(|p| p.name == name)
    }

    pub fn len(&self) -> usize {
        self.policies.len()
    }

    pub fn is_empty(&self) -> bool {
        self.policies.is_empty()
    }

    /// The policy that makes this call a one-time action, if any.
    pub fn one_time_policy(
        &self,
        service: &str,
        method: &str,
        path: &RequestPath,
    ) -> Option<&Arc<AccessPolicy>> {
        self.policies
            .iter()
            .find(|p| p.one_time_actions.iter().any(|a| a.matches(service, method, path)))
    }
}

/// Why no policy can govern a request: none covers its resources, or none of those that do
/// lists the requester. Each message names the resources (and the policies) involved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ineligible {
    NotCovered(String),
    NotEligible(String),
}

impl From<Ineligible> for Refusal {
    fn from(i: Ineligible) -> Self {
        match i {
            Ineligible::NotCovered(m) => Self::NotCovered(m),
            Ineligible::NotEligible(m) => Self::NotEligible(m),
        }
    }
}

/// The policies that could govern `requester`'s request for `resources`: those that cover every
/// resource and list the requester, by name (never empty). The one rule behind filing
/// ([`assess`]) and explaining what a caller could request.
pub fn eligible<'a>(
    set: &'a PolicySet,
    requester: &Caller,
    resources: &[Scope],
) -> Result<Vec<&'a Arc<AccessPolicy>>, Ineligible> {
    let covering: Vec<&Arc<AccessPolicy>> = set.iter().filter(|p| p.covers(resources)).collect();
    let described = describe(resources);
    if covering.is_empty() {
        return Err(Ineligible::NotCovered(format!(
            "no access policy covers {described}, so it cannot be requested; ask a platform admin to add one"
        )));
    }
    let eligible: Vec<&Arc<AccessPolicy>> =
        covering.iter().copied().filter(|p| p.may_request(&requester.principals)).collect();
    if eligible.is_empty() {
        let names: Vec<&str> = covering.iter().map(|p| p.name.as_str()).collect();
        return Err(Ineligible::NotEligible(format!(
            "{} is not among the requesters of the policies covering {described} ({})",
            requester.subject,
            names.join(", ")
        )));
    }
    Ok(eligible)
}

/// Picks the governing policy and applies its rules. Among the policies that cover every
/// requested resource and list the requester ([`eligible`]), the first (by name) that accepts
/// wins; otherwise the first one's objections are reported.
pub fn assess(set: &PolicySet, draft: &Draft<'_>) -> Result<Assessment, Refusal> {
    let mut first_error = None;
    for policy in eligible(set, draft.requester, draft.resources)? {
        match apply(policy, draft) {
            Ok(a) => return Ok(a),
            Err(errors) => {
                first_error.get_or_insert(errors);
            }
        }
    }
    Err(Refusal::Invalid(first_error.unwrap_or_default()))
}

/// Judges a pending request again under the current version of the policy named `name` (the
/// one it was filed under), by the rules [`assess`] applies at filing: the policy must still
/// exist and cover every resource, and the request must keep within its limits (TTL, one-time
/// actions). The answer carries the terms the request is now decided by (approvers, approvals
/// needed, the grant's TTL and uses).
///
/// Two filing rules are not judged again: eligibility (the groups that made the requester
/// eligible came from their token at filing, and are not known now) and the reason rules (the
/// reason was accepted when it was given; jitgate files one-time requests with its own).
pub fn reassess(set: &PolicySet, name: &str, draft: &Draft<'_>) -> Result<Assessment, Refusal> {
    let Some(policy) = set.get(name) else {
        return Err(Refusal::PolicyGone(format!("policy `{name}` was deleted")));
    };
    if !policy.covers(draft.resources) {
        return Err(Refusal::NotCovered(format!(
            "policy `{name}` no longer covers {}",
            describe(draft.resources)
        )));
    }
    let mut errors = Vec::new();
    ttl_limit(policy, draft, &mut errors);
    let resources = one_time(policy, draft.resources, &mut errors);
    if !errors.is_empty() {
        return Err(Refusal::Invalid(errors));
    }
    Ok(terms(policy, draft, resources, None))
}

fn apply(policy: &Arc<AccessPolicy>, draft: &Draft<'_>) -> Result<Assessment, Vec<String>> {
    let mut errors = Vec::new();
    let name = &policy.name;
    ttl_limit(policy, draft, &mut errors);
    let reason = draft.reason.trim();
    if policy.reason_required && reason.is_empty() {
        errors.push(format!("reason: policy `{name}` requires a reason"));
    }
    if let Some(re) = &policy.reason_pattern
        && !reason.is_empty()
        && !re.is_match(reason)
    {
        errors.push(format!(
            "reason: `{reason}` does not match `{}` required by policy `{name}`",
            re.as_str()
        ));
    }
    let resources = one_time(policy, draft.resources, &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    let auto_rule = if resources.is_some() { None } else { auto_rule(policy, draft) };
    Ok(terms(policy, draft, resources, auto_rule))
}

fn ttl_limit(policy: &AccessPolicy, draft: &Draft<'_>, errors: &mut Vec<String>) {
    if draft.ttl > policy.max_ttl {
        errors.push(format!(
            "ttl: {} is above the maximum of {} set by policy `{}`",
            Ttl::from_duration(draft.ttl),
            Ttl::from_duration(policy.max_ttl),
            policy.name
        ));
    }
}

/// What an accepted request is granted: a one-time action (`bound`: its one call, query
/// bound) gets one use for at most the policy's `one_time_ttl`.
fn terms(
    policy: &Arc<AccessPolicy>,
    draft: &Draft<'_>,
    bound: Option<Vec<Scope>>,
    auto_rule: Option<String>,
) -> Assessment {
    let one_time = bound.is_some();
    let (grant_ttl, max_uses) =
        if one_time { (draft.ttl.min(policy.one_time_ttl), Some(1)) } else { (draft.ttl, None) };
    let resources = bound.unwrap_or_else(|| draft.resources.to_vec());
    Assessment { policy: policy.clone(), auto_rule, one_time, resources, grant_ttl, max_uses }
}

/// A request touching a one-time action must be exactly one call of it: the resources it
/// then holds (its query string bound), or `None` when it touches no one-time action.
fn one_time(
    policy: &AccessPolicy,
    resources: &[Scope],
    errors: &mut Vec<String>,
) -> Option<Vec<Scope>> {
    let touches = resources.iter().find(|r| policy.one_time_action(r).is_some())?;
    let bound = match resources {
        [only] => only.with_bound_query(),
        _ => touches.with_bound_query(),
    };
    match policy.one_time_call(&bound) {
        Ok(_) if resources.len() == 1 => {}
        Ok(_) => errors.push(format!(
            "resources: a one-time action is requested one call at a time, alone; {} came with {} other resource(s)",
            describe(std::slice::from_ref(touches)),
            resources.len() - 1
        )),
        Err(e) => errors.push(e),
    }
    Some(vec![bound])
}

fn auto_rule(policy: &AccessPolicy, draft: &Draft<'_>) -> Option<String> {
    policy
        .auto_approve
        .iter()
        .find(|rule| {
            rule_fits(rule, draft.requester, draft.resources)
                && (!rule.incident || draft.incident.is_some())
                && draft.ttl <= rule.max_ttl
        })
        .map(|rule| rule.id.clone())
}

/// Whether auto-approve `rule` fits who asks (`requester` holds one of its requesters, or it
/// names none) and what for (every resource's methods among its methods, or it names none;
/// "any method" never fits a rule that names methods). Its TTL and incident conditions are
/// the request's, judged by [`assess`].
pub fn rule_fits(rule: &AutoRule, requester: &Caller, resources: &[Scope]) -> bool {
    let holds = rule.requesters.is_empty() || rule.requesters.iter().any(|p| requester.holds(p));
    let methods_ok = rule.methods.is_empty()
        || resources.iter().all(|r| match &r.methods {
            Methods::Any => false,
            Methods::Only(ms) => ms.iter().all(|m| rule.methods.contains(m)),
        });
    holds && methods_ok
}

/// `orders GET /orders/7` (and so on) for messages.
pub fn describe(scopes: &[Scope]) -> String {
    scopes.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ")
}
