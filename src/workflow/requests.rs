//! Access request use cases: file (judged by policy, maybe auto-approved), read, list,
//! approve, deny, cancel. Writes are compare-and-set on the request's version, retried a few
//! times, so concurrent approvers, cancels and the sweeper never lose or double an update.
//! Pending requests are read and decided under their policy as it is now
//! ([`super::request_terms`]).

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use super::events::{Event, EventKind, EventSink};
use super::policies::PolicyService;
use super::{Admins, GrantService, WorkflowError};
use crate::access::{
    AccessRequest, Assessment, Draft, Refusal, RequestError, RequestId, RequestStatus, assess,
    describe,
};
use crate::audit::{AuditKind, record};
use crate::decision::Caller;
use crate::grant::{GrantId, Scope, limits};
use crate::metrics::{Metrics, ResultLabels};
use crate::store::{Filed, PendingLimits, RequestStore, Versioned};
use crate::time::{Clock, Ttl};

/// How often a compare-and-set is retried before giving up with a conflict.
pub(super) const CAS_ATTEMPTS: usize = 8;

/// A request as asked for.
#[derive(Clone, Debug)]
pub struct NewRequest {
    pub resources: Vec<Scope>,
    pub ttl: Duration,
    pub reason: String,
    pub incident: Option<String>,
}

/// The budgets of one caller (SECURITY row 63): how many requests may wait at once, per
/// requester and per policy, and how many one-time requests denied Checks may file per minute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestLimits {
    pub pending: PendingLimits,
    pub one_time_per_minute: u32,
}

impl Default for RequestLimits {
    /// No limits (unit tests); the server takes `requests.*` from its configuration.
    fn default() -> Self {
        Self { pending: PendingLimits::default(), one_time_per_minute: 0 }
    }
}

pub struct RequestService {
    pub(super) store: Arc<dyn RequestStore>,
    pub(super) policies: Arc<PolicyService>,
    pub(super) grants: Arc<GrantService>,
    pub(super) events: Arc<dyn EventSink>,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) admins: Admins,
    pub(super) metrics: Arc<Metrics>,
    pub(super) retention: Duration,
    /// The policy generation whose pending requests were last reconciled.
    pub(super) reconciled: AtomicU64,
    /// Records readers found undecodable, for the sweeper to move aside.
    pub(super) corrupt: super::quarantine::Found,
    pub(super) limits: RequestLimits,
    /// Where refusals of request decisions are recorded (shared with the grant service).
    pub(super) audit: Arc<super::audit::ControlAudit>,
}

// === impl RequestService ===

impl RequestService {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        store: Arc<dyn RequestStore>,
        policies: Arc<PolicyService>,
        grants: Arc<GrantService>,
        events: Arc<dyn EventSink>,
        clock: Arc<dyn Clock>,
        admins: Admins,
        metrics: Arc<Metrics>,
        retention: Duration,
    ) -> Self {
        let reconciled = AtomicU64::new(0);
        let corrupt = super::quarantine::Found::default();
        let audit = grants.audit().clone();
        Self {
            audit,
            store,
            policies,
            grants,
            events,
            clock,
            admins,
            metrics,
            retention,
            reconciled,
            corrupt,
            limits: RequestLimits::default(),
        }
    }

    /// The same service with these budgets.
    pub fn with_limits(mut self, limits: RequestLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Files a request. Answers pending (with its approvers) or approved (with its grant).
    pub async fn create(
        &self,
        caller: &Caller,
        new: NewRequest,
    ) -> Result<AccessRequest, WorkflowError> {
        let set = self.policies.current();
        let draft = Draft {
            requester: caller,
            resources: &new.resources,
            ttl: new.ttl,
            reason: &new.reason,
            incident: new.incident.as_deref(),
        };
        let mut errors = Vec::new();
        // The reason's presence and form are the policy's to require (`reason.required`).
        let problems = [
            limits::ttl_problem(new.ttl, self.grants.max_ttl()).map(|p| format!("ttl: {p}")),
            limits::reason_problem(&new.reason, false).map(|p| format!("reason: {p}")),
        ];
        errors.extend(problems.into_iter().flatten());
        let assessment = match assess(&set, &draft) {
            Ok(a) => a,
            Err(Refusal::NotCovered(m) | Refusal::NotEligible(m) | Refusal::PolicyGone(m)) => {
                self.count("refused");
                return Err(WorkflowError::Forbidden(m));
            }
            Err(Refusal::Invalid(e)) => {
                errors.extend(e);
                self.count("refused");
                return Err(WorkflowError::Invalid(errors));
            }
        };
        if !errors.is_empty() {
            return Err(WorkflowError::Invalid(errors));
        }
        let request = self.build_for(caller, new, &assessment);
        self.file(request, assessment.auto_rule).await
    }

    pub(super) fn build_for(
        &self,
        caller: &Caller,
        new: NewRequest,
        a: &Assessment,
    ) -> AccessRequest {
        let now = self.clock.now();
        let p = &a.policy;
        AccessRequest {
            id: RequestId::generate(),
            requester: caller.subject.clone(),
            resources: a.resources.clone(),
            ttl: Ttl::from_duration(new.ttl),
            reason: new.reason,
            incident: new.incident,
            policy: p.name.clone(),
            status: RequestStatus::Pending,
            created_at: now,
            expires_at: now.saturating_add(p.pending_ttl),
            escalate_at: p.escalate_after.map(|d| now.saturating_add(d)),
            escalated: false,
            approvers: p.approvers.clone(),
            escalate_to: p.escalate_to.clone(),
            min_approvals: p.min_approvals,
            approvals: Vec::new(),
            denied: None,
            decided_at: None,
            one_time: a.one_time,
            grant_ttl: Ttl::from_duration(a.grant_ttl),
            max_uses: a.max_uses,
            auto_approved_by: None,
            grant_id: None,
            cancellation: None,
        }
    }

    /// Stores a built request; an auto-approved one gets its grant first.
    pub(super) async fn file(
        &self,
        mut request: AccessRequest,
        auto_rule: Option<String>,
    ) -> Result<AccessRequest, WorkflowError> {
        let now = self.clock.now();
        if let Some(rule) = auto_rule {
            request.auto_approve(rule, now);
            request.grant_id = Some(grant_id_for(&request.id));
            let event =
                record::request_changed(AuditKind::RequestApproved, &request, None, now, None);
            self.store.create(&request, self.retention, &event, self.limits.pending).await?;
            let grant = self.issue_grant(&request).await?;
            self.count("auto_approved");
            self.announce(EventKind::Approved, &request, None, Some(grant));
        } else {
            let event = record::request_changed(
                AuditKind::RequestFiled,
                &request,
                Some(&request.requester),
                now,
                None,
            );
            let filed =
                self.store.create(&request, self.retention, &event, self.limits.pending).await?;
            if let Some(e) = self.over_budget(&request, filed) {
                self.count("refused");
                return Err(e);
            }
            self.count("filed");
            self.announce(EventKind::Requested, &request, Some(request.requester.clone()), None);
        }
        tracing::info!(request.id = %request.id, request.requester = %request.requester, request.policy = %request.policy, request.status = %request.status, "Access request filed");
        Ok(request)
    }

    /// The error for a request the store refused because a pending budget was spent.
    fn over_budget(&self, r: &AccessRequest, filed: Filed) -> Option<WorkflowError> {
        let limits = self.limits.pending;
        let message = match filed {
            Filed::Stored => return None,
            Filed::RequesterFull => format!(
                "{} already has {} access requests waiting for a decision (the limit, `requests.max_pending_per_requester`): cancel one no longer needed (`jitgate request cancel <id>`) or wait for a decision",
                r.requester, limits.per_requester
            ),
            Filed::PolicyFull => format!(
                "policy `{}` already has {} access requests waiting for a decision (the limit, `requests.max_pending_per_policy`): ask its approvers to decide them, or retry later",
                r.policy, limits.per_policy
            ),
        };
        tracing::warn!(request.requester = %r.requester, request.policy = %r.policy, "Access request refused: {message}");
        Some(WorkflowError::TooMany(message))
    }

    /// A request the caller may see: the requester, its approvers, admins. Others get 404.
    pub async fn get(
        &self,
        caller: &Caller,
        id: &RequestId,
    ) -> Result<AccessRequest, WorkflowError> {
        let r = self.current_view(self.load(id).await?.value);
        if self.may_see(caller, &r) { Ok(r) } else { Err(not_found(id)) }
    }

    pub(super) fn may_see(&self, caller: &Caller, r: &AccessRequest) -> bool {
        caller.holds(&r.requester) || r.is_approver(caller) || self.admins.includes(caller)
    }

    /// How many requests wait for a decision (for the gauge).
    pub async fn pending_count(&self) -> Result<usize, WorkflowError> {
        Ok(self.store.pending().await?.len())
    }

    pub(super) async fn load(
        &self,
        id: &RequestId,
    ) -> Result<Versioned<AccessRequest>, WorkflowError> {
        self.store.get(id).await?.ok_or_else(|| not_found(id))
    }

    pub(super) fn announce(
        &self,
        kind: EventKind,
        r: &AccessRequest,
        actor: Option<crate::grant::Principal>,
        grant: Option<crate::grant::Grant>,
    ) {
        let who = actor.as_ref().map_or_else(|| "jitgate".to_string(), |a| a.to_string());
        let what = describe(&r.resources);
        let summary = match kind {
            EventKind::Requested => {
                format!("{} requests {what} for {}: {}", r.requester, r.ttl, r.reason)
            }
            EventKind::Approved if r.auto_approved_by.is_some() => format!(
                "{what} for {} auto-approved by rule {}",
                r.requester,
                r.auto_approved_by.as_deref().unwrap_or("")
            ),
            EventKind::Approved => {
                format!("{who} approved {what} for {} ({})", r.requester, r.grant_ttl)
            }
            EventKind::Denied => format!("{who} denied {what} for {}", r.requester),
            EventKind::Expired => {
                format!("the request of {} for {what} expired undecided", r.requester)
            }
            EventKind::Escalated => {
                format!("the request of {} for {what} is still pending: escalated", r.requester)
            }
            EventKind::Revoked => format!("{who} revoked {what} of {}", r.requester),
        };
        let mut e = Event::new(kind, &r.policy, self.clock.now(), summary);
        e.actor = actor;
        e.approvers =
            if r.status == RequestStatus::Pending { r.current_approvers() } else { Vec::new() };
        e.request = Some(r.clone());
        e.grant = grant;
        self.events.publish(e);
    }

    pub(super) fn count(&self, result: &'static str) {
        self.metrics.requests.get_or_create(&ResultLabels { result }).inc();
    }
}

/// The grant an approved request creates has an id derived from the request, so retries find it.
pub fn grant_id_for(id: &RequestId) -> GrantId {
    // Request ids are UUIDs, always valid grant id characters.
    GrantId::parse(&format!("req-{id}")).unwrap_or_else(|_| GrantId::generate())
}

pub(super) fn not_found(id: &RequestId) -> WorkflowError {
    WorkflowError::NotFound(format!("no request `{id}` (or it is not yours to see)"))
}

pub(super) fn busy(id: &RequestId) -> WorkflowError {
    WorkflowError::Conflict(format!("request `{id}` kept changing under us; retry"))
}

pub(super) fn refusal(e: RequestError) -> WorkflowError {
    match e {
        RequestError::SelfApproval(_)
        | RequestError::NotApprover(..)
        | RequestError::NotRequester(_) => WorkflowError::Forbidden(e.to_string()),
        RequestError::AlreadyApproved(_)
        | RequestError::NotPending(..)
        | RequestError::NotOneCall(_) => WorkflowError::Conflict(e.to_string()),
    }
}
