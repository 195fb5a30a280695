//! Validation of policy documents: one pass, every error, each naming its field.

use std::time::Duration;

use regex::RegexBuilder;

use super::policy::{self, AccessPolicy, AutoRule, EventKind, PolicyDocument, ttl_field};
use crate::grant::{Principal, Scope, ScopeWire};

pub(super) fn validate_policy(doc: PolicyDocument) -> Result<AccessPolicy, Vec<String>> {
    let mut errors = Vec::new();
    if doc.api_version != policy::API_VERSION {
        errors.push(format!(
            "apiVersion: expected `{}`, got `{}`",
            policy::API_VERSION,
            doc.api_version
        ));
    }
    if doc.kind != policy::KIND {
        errors.push(format!("kind: expected `{}`, got `{}`", policy::KIND, doc.kind));
    }
    if let Err(e) = check_name(&doc.metadata.name) {
        errors.push(format!("metadata.name: {e}"));
    }
    let s = &doc.spec;
    let resources = scopes(&s.resources, "spec.resources", &mut errors);
    if s.resources.is_empty() {
        errors.push("spec.resources: at least one resource is required".into());
    }
    let requesters = principals(&s.requesters, "spec.requesters", &mut errors);
    if s.requesters.is_empty() {
        errors.push("spec.requesters: say who may ask, e.g. [\"group:eng\"]".into());
    }
    let approvers = principals(&s.approvers, "spec.approvers", &mut errors);
    let escalate_to = principals(&s.escalate_to, "spec.escalate_to", &mut errors);
    if !(1..=10).contains(&s.min_approvals) {
        errors.push("spec.min_approvals: must be between 1 and 10".into());
    }
    if s.approvers.is_empty() && s.auto_approve.is_empty() {
        errors.push(
            "spec.approvers: nobody could ever approve; list approvers or add auto_approve rules"
                .into(),
        );
    }
    let max_ttl = ttl_field(&s.max_ttl, "spec.max_ttl", &mut errors);
    let pending_ttl = ttl_field(&s.pending_ttl, "spec.pending_ttl", &mut errors);
    let escalate_after =
        s.escalate_after.as_ref().map(|e| ttl_field(e, "spec.escalate_after", &mut errors));
    if escalate_after.is_some_and(|e| e >= pending_ttl) {
        errors.push("spec.escalate_after: must be shorter than spec.pending_ttl".into());
    }
    let one_time_ttl = ttl_field(&s.one_time_ttl, "spec.one_time_ttl", &mut errors);
    let reason_pattern = s.reason.pattern.as_ref().and_then(|p| {
        RegexBuilder::new(p)
            .size_limit(1 << 16)
            .build()
            .map_err(|e| {
                errors.push(format!("spec.reason.pattern: not a valid regular expression: {e}"))
            })
            .ok()
    });
    let auto_approve = auto_rules(&doc, max_ttl, &mut errors);
    let one_time_actions = scopes(&s.one_time_actions, "spec.one_time_actions", &mut errors);
    for (i, a) in one_time_actions.iter().enumerate() {
        if !resources.iter().any(|r| a.overlaps(r)) {
            errors.push(format!("spec.one_time_actions[{i}]: lies outside spec.resources, so it could never be requested"));
        }
    }
    for (i, t) in s.notify.iter().enumerate() {
        if t.redacted {
            errors.push(format!("spec.notify[{i}].redacted: only reads by non-admins carry it; write the target with its `webhook` URL instead"));
        } else if !(t.webhook.starts_with("http://") || t.webhook.starts_with("https://")) {
            errors.push(format!("spec.notify[{i}].webhook: must be an http:// or https:// URL"));
        }
        for e in t.events.iter().filter(|e| EventKind::parse(e).is_none()) {
            errors.push(format!(
                "spec.notify[{i}].events: unknown event `{e}`; use {}",
                EventKind::names()
            ));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(AccessPolicy {
        name: doc.metadata.name.clone(),
        resources,
        requesters,
        approvers,
        min_approvals: s.min_approvals,
        max_ttl,
        pending_ttl,
        escalate_after,
        escalate_to,
        reason_required: s.reason.required,
        reason_pattern,
        auto_approve,
        one_time_actions,
        one_time_ttl,
        file_one_time_requests: s.file_one_time_requests,
        allow_standing: s.allow_standing,
        notify: s.notify.clone(),
        document: doc,
    })
}

fn auto_rules(doc: &PolicyDocument, max_ttl: Duration, errors: &mut Vec<String>) -> Vec<AutoRule> {
    let mut out = Vec::new();
    for (i, r) in doc.spec.auto_approve.iter().enumerate() {
        let at = format!("spec.auto_approve[{i}]");
        let rule_ttl = ttl_field(&r.max_ttl, &format!("{at}.max_ttl"), errors);
        if rule_ttl > max_ttl {
            errors.push(format!("{at}.max_ttl: above spec.max_ttl"));
        }
        let methods: Vec<String> = r.methods.iter().map(|m| m.to_ascii_uppercase()).collect();
        if methods.iter().any(|m| m.is_empty() || !m.bytes().all(|b| b.is_ascii_uppercase())) {
            errors.push(format!("{at}.methods: use HTTP methods like `GET`"));
        }
        let id = match &r.name {
            Some(n) => format!("{}/{n}", doc.metadata.name),
            None => format!("{}/auto_approve[{i}]", doc.metadata.name),
        };
        let requesters = principals(&r.requesters, &format!("{at}.requesters"), errors);
        out.push(AutoRule { id, requesters, methods, max_ttl: rule_ttl, incident: r.incident });
    }
    out
}

fn scopes(wire: &[ScopeWire], at: &str, errors: &mut Vec<String>) -> Vec<Scope> {
    let mut out = Vec::new();
    for (i, w) in wire.iter().enumerate() {
        match Scope::from_wire(w.clone()) {
            Ok(s) => out.push(s),
            Err(es) => errors.extend(es.into_iter().map(|e| format!("{at}[{i}].{e}"))),
        }
    }
    out
}

fn principals(raw: &[String], at: &str, errors: &mut Vec<String>) -> Vec<Principal> {
    let mut out = Vec::new();
    for (i, p) in raw.iter().enumerate() {
        match p.parse() {
            Ok(p) => out.push(p),
            Err(e) => errors.push(format!("{at}[{i}]: {e}")),
        }
    }
    out
}

/// Names are DNS labels: lower-case letters, digits and `-`, 1 to 63 characters.
pub fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(format!("`{name}` is not a name: use 1-63 lower-case letters, digits and `-`"))
    }
}
