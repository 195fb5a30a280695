//! Domain and workflow types → admin API messages (and the reverse for inputs).

use super::pb;
use crate::access::AccessRequest;
use crate::decision::Caller;
use crate::grant::{Grant, Scope, ScopeWire};
use crate::time::Timestamp;
use crate::workflow::explain::{Explanation, RequestOutlook};

pub fn resource(s: &Scope) -> pb::Resource {
    let w: ScopeWire = s.clone().into();
    pb::Resource { service: w.service, methods: w.methods, paths: w.paths, query: w.query }
}

pub fn scope_wire(r: pb::Resource) -> ScopeWire {
    ScopeWire { service: r.service, methods: r.methods, paths: r.paths, query: r.query }
}

fn ts(t: Option<Timestamp>) -> String {
    t.map(|t| t.to_rfc3339()).unwrap_or_default()
}

pub fn grant(g: &Grant, now: Timestamp) -> pb::Grant {
    pb::Grant {
        id: g.id.to_string(),
        subject: g.subject.to_string(),
        resources: g.resources.iter().map(resource).collect(),
        created_at: g.created_at.to_rfc3339(),
        expires_at: g.expires_at.to_rfc3339(),
        created_by: g.created_by.to_string(),
        approved_by: g.approved_by.iter().map(ToString::to_string).collect(),
        reason: g.reason.clone(),
        max_uses: g.max_uses,
        uses: g.uses,
        last_used_at: ts(g.last_used_at),
        source: g.source.to_string(),
        request_id: g.request_id.as_ref().map(ToString::to_string).unwrap_or_default(),
        incident: g.incident.clone().unwrap_or_default(),
        policy: g.policy.clone().unwrap_or_default(),
        auto_approved_by: g.auto_approved_by.clone().unwrap_or_default(),
        revoked: g.revoked.as_ref().map(|r| pb::Revocation {
            at: r.at.to_rfc3339(),
            by: r.by.to_string(),
            reason: r.reason.clone().unwrap_or_default(),
        }),
        standing: g.standing,
        status: g.status(now).to_string(),
    }
}

fn verdict(v: &crate::access::Verdict) -> pb::Verdict {
    pb::Verdict {
        by: v.by.to_string(),
        at: v.at.to_rfc3339(),
        comment: v.comment.clone().unwrap_or_default(),
    }
}

pub fn request(r: &AccessRequest, now: Timestamp) -> pb::AccessRequest {
    pb::AccessRequest {
        id: r.id.to_string(),
        requester: r.requester.to_string(),
        resources: r.resources.iter().map(resource).collect(),
        ttl: r.ttl.to_string(),
        reason: r.reason.clone(),
        incident: r.incident.clone().unwrap_or_default(),
        policy: r.policy.clone(),
        status: r.status_at(now).to_string(),
        created_at: r.created_at.to_rfc3339(),
        expires_at: r.expires_at.to_rfc3339(),
        current_approvers: r.current_approvers().iter().map(ToString::to_string).collect(),
        min_approvals: r.min_approvals,
        approvals: r.approvals.iter().map(verdict).collect(),
        denied: r.denied.as_ref().map(verdict),
        one_time: r.one_time,
        grant_id: r.grant_id.as_ref().map(ToString::to_string).unwrap_or_default(),
        auto_approved_by: r.auto_approved_by.clone().unwrap_or_default(),
        escalated: r.escalated,
    }
}

pub fn explanation(e: &Explanation, now: Timestamp) -> pb::ExplainResponse {
    let (outcome, policy, message) = match &e.request {
        RequestOutlook::NotCovered { message } => ("not_covered", String::new(), message.clone()),
        RequestOutlook::NotEligible { message } => ("not_eligible", String::new(), message.clone()),
        RequestOutlook::Requestable { policy, .. } => {
            ("requestable", policy.clone(), String::new())
        }
    };
    pb::ExplainResponse {
        allowed: e.decision.allowed,
        status: u32::from(e.decision.status),
        reason: e.decision.reason.clone(),
        message: e.decision.message.clone(),
        grant_id: e.decision.grant_id.clone().unwrap_or_default(),
        considered: e
            .considered
            .iter()
            .map(|c| pb::ConsideredGrant {
                grant: Some(grant(&c.grant, now)),
                fit: c.fit.to_string(),
                detail: c.detail.clone(),
            })
            .collect(),
        principals: e.principals.iter().map(ToString::to_string).collect(),
        one_time_action: e.one_time_action,
        request_outcome: outcome.into(),
        request_policy: policy,
        request_message: message,
    }
}

/// The caller's own groups (for people explaining their own calls).
pub fn groups(caller: &Caller) -> Vec<crate::grant::Principal> {
    caller.principals.iter().filter(|p| p.kind() == "group").cloned().collect()
}
