//! APPLICATION: one Check from attributes to a [`Verdict`]. Parses the request, verifies the
//! caller, reads grants through the cache, runs the pure engine, and consumes a use when the
//! winning grant is limited. Every failure on the way is a deny; a deadline and a panic guard
//! wrap the whole thing, so nothing here can turn into an allow by accident.
//!
//! Shadow mode ([`crate::mode`]) is applied here, after deciding: the [`Verdict`] keeps the
//! real (would-be) decision, which is logged, counted and audited as in `enforce`, and carries
//! the mode so the transport answers allow. A call let through by shadow never consumes a
//! grant use (only real allows do) and never files a one-time request. Only calls whose route
//! names the service can be shadowed ([`Modes::for_route`]): one whose service comes from
//! `Host` is enforced, since the client picked that service.

// Reached by what callers send: no arithmetic that can overflow, no indexing that can go out
// of bounds, no `panic!` (SECURITY row 64). Checked by clippy, so a regression fails the build.
#![deny(clippy::arithmetic_side_effects, clippy::indexing_slicing, clippy::panic)]

mod decision_log;
mod fold;
/// Envoy's attributes to a Check input: pure parsing, in the domain crate.
pub use crate::decision::input;
mod log;
pub mod recorder;
mod usage;

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use futures_util::FutureExt;
use prometheus_client::metrics::counter::Counter;

use crate::access::{AccessRequest, OneTimeFiler, PolicySet};
use crate::decision::{Caller, CheckInput, Decision, Deny, DenyReason, DenyStatus, evaluate};
use crate::grant::{GrantRule, Principal};
use crate::identity::{Authenticator, bearer_token};
use crate::metrics::{DecisionLabels, Metrics};
use crate::mode::{Mode, Modes};
use crate::store::{GrantCache, UseOutcome};
use crate::time::{Clock, Timestamp};

pub use fold::FoldLimits;
pub use input::{CheckAttributes, METHOD_OVERRIDE_HEADERS};
pub use recorder::{DecisionRecord, Recorder, RecorderSettings};
pub use usage::UsageHit;

/// The outcome of one Check, ready for a transport to encode.
#[derive(Clone, Debug)]
pub struct Verdict {
    pub decision: Decision,
    pub decision_id: String,
    /// The parsed request, when parsing got that far (used for request hints).
    pub input: Option<CheckInput>,
    /// Client-sent `x-jitgate-*` headers to strip before forwarding.
    pub remove_headers: Vec<String>,
    /// The pending one-time request filed (or found) for this exact call.
    pub filed: Option<AccessRequest>,
    /// How the decision is answered: in shadow mode a deny is let through.
    pub mode: Mode,
    /// The verified caller, when verification got that far (never a claimed identity).
    pub subject: Option<Principal>,
}

// === impl Verdict ===

impl Verdict {
    /// The would-be deny that shadow mode lets through, if this is one.
    pub fn shadowed(&self) -> Option<&Deny> {
        match &self.decision {
            Decision::Deny(d) if self.mode.is_shadow() => Some(d),
            _ => None,
        }
    }
}

/// What deciding produced, before recording.
struct Outcome {
    decision: Decision,
    input: Option<CheckInput>,
    /// The verified caller, once verification got that far.
    subject: Option<Principal>,
    filed: Option<AccessRequest>,
}

impl From<Deny> for Outcome {
    fn from(d: Deny) -> Self {
        Self { decision: d.into(), input: None, subject: None, filed: None }
    }
}

/// Decides Checks.
pub struct Authorizer {
    authenticator: Arc<Authenticator>,
    cache: Arc<GrantCache>,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
    deadline: Duration,
    log_allows: bool,
    policies: Arc<ArcSwap<PolicySet>>,
    requests: Option<Arc<dyn OneTimeFiler>>,
    recorder: Option<Arc<Recorder>>,
    /// `jitgate_decisions_total{decision="allow"}`, resolved once for the hot path.
    allows: Counter,
    shed_log: log::ShedLog,
    modes: Modes,
}

// === impl Authorizer ===

impl Authorizer {
    pub fn new(
        authenticator: Arc<Authenticator>,
        cache: Arc<GrantCache>,
        clock: Arc<dyn Clock>,
        metrics: Arc<Metrics>,
        deadline: Duration,
        log_allows: bool,
    ) -> Self {
        let policies = Arc::new(ArcSwap::from_pointee(PolicySet::default()));
        let allow = DecisionLabels { decision: "allow", reason: "grant" };
        let allows = metrics.decisions.get_or_create(&allow).clone();
        Self {
            allows,
            authenticator,
            cache,
            clock,
            metrics,
            deadline,
            log_allows,
            policies,
            requests: None,
            recorder: None,
            modes: Modes::default(),
            shed_log: log::ShedLog::default(),
        }
    }

    /// Answers in the configured modes (default: enforce everywhere).
    pub fn with_modes(mut self, modes: Modes) -> Self {
        self.modes = modes;
        self
    }

    /// Sends every decision to the audit log, the usage ledger and the decision log.
    pub fn with_recorder(mut self, recorder: Arc<Recorder>) -> Self {
        self.recorder = Some(recorder);
        self
    }

    /// Lets policies mark one-time actions and file their requests automatically.
    pub fn with_one_time_filing(
        mut self,
        policies: Arc<ArcSwap<PolicySet>>,
        requests: Arc<dyn OneTimeFiler>,
    ) -> Self {
        self.policies = policies;
        self.requests = Some(requests);
        self
    }

    /// Decides one call. Never fails: errors, timeouts and panics are denies.
    pub async fn check(&self, attrs: CheckAttributes) -> Verdict {
        let started = Instant::now();
        let decision_id = uuid::Uuid::new_v4().simple().to_string();
        let remove_headers = attrs.client_jitgate_headers.clone();
        let guarded = AssertUnwindSafe(self.decide(&attrs, &decision_id)).catch_unwind();
        let outcome = match tokio::time::timeout(self.deadline, guarded).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(_panic)) => {
                tracing::error!(authz.decision_id = %decision_id, "Check panicked; denying");
                Deny::new(DenyReason::InternalError, "jitgate hit an internal error").into()
            }
            Err(_) => {
                Deny::new(DenyReason::DeadlineExceeded, "the check did not finish in time").into()
            }
        };
        let mode = self.mode_of(&attrs);
        self.record(&outcome, &decision_id, &attrs, mode, started.elapsed());
        Verdict {
            decision: outcome.decision,
            decision_id,
            input: outcome.input,
            remove_headers,
            filed: outcome.filed,
            mode,
            subject: outcome.subject,
        }
    }

    /// A verdict for a request that could not even be read (recorded like any other).
    pub fn reject(&self, deny: Deny, attrs: &CheckAttributes) -> Verdict {
        let decision_id = uuid::Uuid::new_v4().simple().to_string();
        let outcome = Outcome::from(deny);
        let mode = self.mode_of(attrs);
        self.record(&outcome, &decision_id, attrs, mode, Duration::ZERO);
        let decision = outcome.decision;
        Verdict {
            decision,
            decision_id,
            input: None,
            remove_headers: Vec::new(),
            filed: None,
            mode,
            subject: None,
        }
    }

    /// The mode for this call: by the service its route names (also when parsing stopped
    /// early). A service taken from `Host` is never shadowed: the client would choose it.
    fn mode_of(&self, attrs: &CheckAttributes) -> Mode {
        self.modes.for_route(attrs.service.as_deref())
    }

    async fn decide(&self, attrs: &CheckAttributes, decision_id: &str) -> Outcome {
        let mut input = match input::parse(attrs) {
            Ok(i) => i,
            Err(d) => return d.into(),
        };
        input.one_time = self
            .policies
            .load()
            .one_time_policy(&input.service, &input.method, &input.path)
            .is_some();
        let caller = match self.caller(attrs).await {
            Ok(caller) => caller,
            Err(d) => {
                return Outcome {
                    decision: d.into(),
                    input: Some(input),
                    subject: None,
                    filed: None,
                };
            }
        };
        let decision = self.authorize(&caller, &input).await;
        // Shadow lets the call through: filing a request for an action already done would
        // only ask approvers about the past.
        let shadow = self.mode_of(attrs).is_shadow();
        let filed = match (&decision, &self.requests) {
            (Decision::Deny(d), Some(requests))
                if input.one_time && !shadow && d.reason.status() == DenyStatus::Forbidden =>
            {
                // Rare and large: boxed by the trait, so every other Check carries a small future.
                match requests.file(&caller, &input, decision_id).await {
                    Ok(filed) => filed,
                    Err(e) => {
                        tracing::warn!(error = %e, "Could not file the one-time request; the deny stands");
                        None
                    }
                }
            }
            _ => None,
        };
        Outcome { decision, input: Some(input), subject: Some(caller.subject), filed }
    }

    async fn caller(&self, attrs: &CheckAttributes) -> Result<Caller, Deny> {
        if attrs.invalid_header {
            return Err(Deny::new(
                DenyReason::TokenInvalid,
                "a credential header holds bytes that are not UTF-8",
            ));
        }
        let values: Vec<&str> = attrs.authorization.iter().map(String::as_str).collect();
        let bearer = bearer_token(&values).map_err(|e| e.to_deny())?;
        let now = self.clock.now();
        let caller =
            self.authenticator.caller(bearer.as_deref(), attrs.workload.as_deref(), now).await;
        let waiting = self.authenticator.verifications_waiting();
        self.metrics.verify_queue_depth.set(i64::try_from(waiting).unwrap_or(i64::MAX));
        caller.map_err(|e| e.to_deny())
    }

    async fn authorize(&self, caller: &Caller, input: &CheckInput) -> Decision {
        let now = self.clock.now();
        let set = match self.cache.grants_for(&caller.principals, now).await {
            Ok(set) => set,
            Err(e) => {
                tracing::warn!(error = %e, "Grant lookup failed; denying");
                return unavailable();
            }
        };
        let mut excluded: Vec<&GrantRule> = Vec::new();
        loop {
            let candidates = set
                .candidates(&input.service, &input.path)
                .filter(|g| !excluded.iter().any(|x| x.id() == g.id()));
            let decision = evaluate(candidates, caller, input, now);
            let allow = match &decision {
                Decision::Allow(allow) => allow,
                Decision::Deny(deny)
                    if !excluded.is_empty() && deny.reason == DenyReason::NoGrant =>
                {
                    // The only matching grants were spent by concurrent calls.
                    let detail = format!(
                        "{} may not {} {} on service `{}`: the matching grant has no uses left",
                        caller.subject, input.method, input.path, input.service
                    );
                    return Deny {
                        reason: DenyReason::GrantUsedUp,
                        detail,
                        missing: deny.missing.clone(),
                    }
                    .into();
                }
                Decision::Deny(_) => return decision,
            };
            if !allow.limited {
                return decision;
            }
            let found = set
                .candidates(&input.service, &input.path)
                .find(|g| g.id() == allow.grant_id.as_str());
            let Some(grant) = found else {
                return unavailable();
            };
            match self.consume(grant, now).await {
                Ok(true) => return decision,
                Ok(false) => excluded.push(grant),
                Err(d) => return d.into(),
            }
        }
    }

    /// Consumes one use; `Ok(false)` when the grant turned out spent or gone.
    async fn consume(&self, grant: &GrantRule, now: Timestamp) -> Result<bool, Deny> {
        let store = self.cache.store();
        let outcome =
            store.consume_use(grant.holder(), &grant.grant_id(), now).await.map_err(|e| {
                tracing::warn!(error = %e, "Consuming a grant use failed; denying");
                Deny::new(DenyReason::StoreUnavailable, "the grant store is unavailable")
            })?;
        let (ok, label) = match outcome {
            UseOutcome::Used { .. } => (true, "used"),
            UseOutcome::UsedUp => (false, "used_up"),
            UseOutcome::Gone => (false, "gone"),
        };
        Metrics::count_result(&self.metrics.uses_consumed, label);
        Ok(ok)
    }
}

fn unavailable() -> Decision {
    Deny::new(
        DenyReason::StoreUnavailable,
        "the grant store is unavailable and nothing fresh is cached",
    )
    .into()
}
