//! DOMAIN, pure: the audit event each change records, built from the domain objects so every
//! interface (REST, gRPC, CLI, manifests, the sweeper) records the same thing.

use sha2::{Digest, Sha256};

use super::event::details::{ControlOutcome, GrantIssued, PolicyDigest, RequestChanged};
pub use super::event::details::{DecisionDetails, FoldedDenies};
use super::event::{AuditEvent, AuditKind};
use crate::access::AccessRequest;
use crate::decision::{Allow, CheckInput, Decision};
use crate::grant::{Grant, GrantId, Principal, Revocation};
use crate::mode::Mode;
use crate::time::Timestamp;

/// `grant.created` (or `grant.replaced` by a manifest): the whole grant as issued.
pub fn grant_issued(g: &Grant, kind: AuditKind) -> AuditEvent {
    let mut e = AuditEvent::new(kind, g.created_at)
        .actor(&g.created_by)
        .subject(&g.subject)
        .grant(&g.id)
        .reason(&g.reason)
        .details(&GrantIssued {
            resources: g.resources.clone(),
            expires_at: g.expires_at,
            max_uses: g.max_uses,
            source: g.source,
            approved_by: g.approved_by.clone(),
            auto_approved_by: g.auto_approved_by.clone(),
            standing: g.standing,
            manifest_hash: g.manifest_hash.clone(),
        });
    e.request_id = g.request_id.as_ref().map(ToString::to_string);
    e.policy = g.policy.clone();
    e.incident = g.incident.clone();
    e
}

/// `grant.revoked`; the store fills in the subject.
pub fn grant_revoked(id: &GrantId, r: &Revocation, incident: Option<&str>) -> AuditEvent {
    let mut e = AuditEvent::new(AuditKind::GrantRevoked, r.at).actor(&r.by).grant(id);
    e.reason = r.reason.clone();
    e.incident = incident.map(String::from);
    e
}

/// A request transition. `actor` is `None` when the clock did it (expiry, escalation).
pub fn request_changed(
    kind: AuditKind,
    r: &AccessRequest,
    actor: Option<&Principal>,
    at: Timestamp,
    comment: Option<&str>,
) -> AuditEvent {
    let mut e = AuditEvent::new(kind, at)
        .subject(&r.requester)
        .request(&r.id)
        .policy(&r.policy)
        .details(&request_details(r, comment));
    e.actor = actor.map(ToString::to_string);
    e.grant_id = r.grant_id.as_ref().map(ToString::to_string);
    e.incident = r.incident.clone();
    if kind == AuditKind::RequestFiled {
        e.reason = Some(r.reason.clone());
    }
    e
}

/// `request.cancelled` by jitgate itself (no actor): the policy the request was filed under was
/// deleted or no longer accepts it. `details.cause` (`policy_deleted`, `policy_changed`) and
/// `details.problems` say why, `reason` in one line.
pub fn request_cancelled_by_policy(
    r: &AccessRequest,
    cancellation: &crate::access::Cancellation,
    at: Timestamp,
) -> AuditEvent {
    let mut e = request_changed(AuditKind::RequestCancelled, r, None, at, None);
    let details = RequestChanged {
        cause: Some(cancellation.cause),
        problems: cancellation.problems.clone(),
        ..request_details(r, None)
    };
    e.reason = Some(cancellation.summary());
    e.details(&details)
}

fn request_details(r: &AccessRequest, comment: Option<&str>) -> RequestChanged {
    RequestChanged {
        status: r.status,
        resources: r.resources.clone(),
        ttl: r.grant_ttl,
        approvals: r.approvals.len(),
        min_approvals: r.min_approvals,
        one_time: r.one_time,
        auto_approved_by: r.auto_approved_by.clone(),
        comment: comment.map(String::from),
        cause: None,
        problems: Vec::new(),
    }
}

/// `policy.put` with a digest of the stored document, or `policy.deleted`.
pub fn policy_changed(
    kind: AuditKind,
    name: &str,
    by: &Principal,
    at: Timestamp,
    doc_json: Option<&str>,
) -> AuditEvent {
    let e = AuditEvent::new(kind, at).actor(by).policy(name);
    match doc_json {
        Some(doc) => {
            e.details(&PolicyDigest { sha256: crate::hex::encode(&Sha256::digest(doc.as_bytes())) })
        }
        None => e,
    }
}

/// One decision, with the facts an auditor asks for and nothing secret (no token).
/// `subject` is the verified caller, when verification got that far. The event holds the
/// real (would-be) decision; `details.mode` says whether Envoy was told it (`enforce`) or
/// told allow (`shadow`).
pub fn decision(
    decision: &Decision,
    decision_id: &str,
    subject: Option<&Principal>,
    input: Option<&CheckInput>,
    at: Timestamp,
    took_us: u64,
    mode: Mode,
) -> AuditEvent {
    let id = || decision_id.to_string();
    let mut e = match decision {
        Decision::Allow(Allow { subject, grant_id, .. }) => {
            AuditEvent::with_id(AuditKind::DecisionAllow, at, id()).subject(subject).grant(grant_id)
        }
        Decision::Deny(d) => {
            let mut e =
                AuditEvent::with_id(AuditKind::DecisionDeny, at, id()).reason(d.reason.code());
            e.subject = subject.map(ToString::to_string);
            e
        }
    };
    e.decision_id = Some(id());
    if let Some(i) = input {
        e.service = Some(i.service.clone());
        e.method = Some(i.method.clone());
        e.path = Some(i.path.as_str().to_string());
    }
    e.details(&DecisionDetails { mode, took_us })
}

/// Keeps at most `max` bytes of the event's path, cut on a character boundary; a cut path
/// gets `path_sha256` and `path_bytes` of the whole, so it can still be matched. Every
/// decision record's path goes through here.
pub fn cut_path(e: &mut AuditEvent, max: usize) {
    let Some(path) = e.path.as_mut() else { return };
    if path.len() <= max {
        return;
    }
    // Cut before: the digest and length already describe the whole path.
    if e.path_sha256.is_none() {
        e.path_sha256 = Some(crate::hex::encode(&Sha256::digest(path.as_bytes())));
        e.path_bytes = Some(u64::try_from(path.len()).unwrap_or(u64::MAX));
    }
    let mut cut = path.floor_char_boundary(max);
    // Never end inside a `%XX` escape: the cut path stays a path prefix that parses.
    if let Some(i) = path[..cut].rfind('%').filter(|i| cut - i < 3) {
        cut = i;
    }
    path.truncate(cut);
}

/// `control.refused`: who tried what on which object, and why it was refused.
pub fn refused(action: &str, by: &Principal, at: Timestamp, status: &str, why: &str) -> AuditEvent {
    AuditEvent::new(AuditKind::Refused, at).actor(by).reason(why).details(&ControlOutcome {
        action: action.into(),
        status: status.into(),
        error: None,
    })
}

/// `control.failed`: who tried what, and why the store could not take it. `error` is
/// `unavailable`, `out_of_memory` or `timeout` (after a timeout the change may still have
/// landed).
pub fn failed(action: &str, by: &Principal, at: Timestamp, error: &str, why: &str) -> AuditEvent {
    AuditEvent::new(AuditKind::Failed, at).actor(by).reason(why).details(&ControlOutcome {
        action: action.into(),
        status: "failed".into(),
        error: Some(error.into()),
    })
}
