//! What a decided Check leaves behind on the hot path: the log line, the decision counters
//! (`jitgate_decisions_total` counts the would-be decision in every mode; shadowed denies
//! also count in `jitgate_shadowed_denies_total`), and one [`DecisionRecord`] for the
//! background recorder. Shed Checks (`overloaded`) come by the thousand when they come, so
//! they are logged as one summary line a second ([`ShedLog`]), not a line each.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use super::{Authorizer, DecisionRecord, Outcome, UsageHit};
use crate::audit::record;
use crate::authz::CheckAttributes;
use crate::decision::{Allow, Decision, Deny, DenyReason};
use crate::metrics::{DecisionLabels, ReasonLabels};
use crate::mode::Mode;

impl Authorizer {
    pub(super) fn record(
        &self,
        outcome: &Outcome,
        id: &str,
        attrs: &CheckAttributes,
        mode: Mode,
        took: Duration,
    ) {
        self.metrics.check_duration.observe(took.as_secs_f64());
        match &outcome.decision {
            Decision::Allow(Allow { subject, grant_id, .. }) => {
                if self.log_allows {
                    tracing::info!(authz.decision_id = %id, authz.subject = %subject, authz.grant_id = %grant_id, http.method = %attrs.method, http.path = %attrs.path, "Request allowed");
                }
                self.allows.inc();
            }
            Decision::Deny(d) if mode.is_shadow() => {
                tracing::info!(authz.decision_id = %id, authz.reason = d.reason.code(), authz.detail = %d.detail, authz.mode = "shadow", http.method = %attrs.method, http.path = %attrs.path, "Request would be denied; let through in shadow mode");
                self.count_deny(d);
                let labels = ReasonLabels { reason: d.reason.code() };
                self.metrics.shadowed.get_or_create(&labels).inc();
            }
            Decision::Deny(d) if d.reason == DenyReason::Overloaded => {
                self.shed_log.note(self.clock.now().as_secs());
                self.count_deny(d);
            }
            Decision::Deny(d) => {
                tracing::info!(authz.decision_id = %id, authz.reason = d.reason.code(), authz.detail = %d.detail, http.method = %attrs.method, http.path = %attrs.path, "Request denied");
                self.count_deny(d);
            }
        }
        if let Some(recorder) = &self.recorder {
            recorder.record(self.decision_record(outcome, id, mode, took));
        }
    }

    fn count_deny(&self, d: &Deny) {
        let labels = DecisionLabels { decision: "deny", reason: d.reason.code() };
        self.metrics.decisions.get_or_create(&labels).inc();
    }

    fn decision_record(
        &self,
        outcome: &Outcome,
        id: &str,
        mode: Mode,
        took: Duration,
    ) -> DecisionRecord {
        let input = outcome.input.as_ref();
        let took_us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        let event = record::decision(
            &outcome.decision,
            id,
            outcome.subject.as_ref(),
            input,
            self.clock.now(),
            took_us,
            mode,
        );
        let usage = match (&outcome.decision, input) {
            (Decision::Allow(a), Some(i)) => Some(UsageHit {
                grant: a.grant_id.clone(),
                subject: a.holder.clone(),
                expires_at: a.expires_at,
                limited: a.limited,
                path: i.path.as_str().to_string(),
            }),
            _ => None,
        };
        let deny = match &outcome.decision {
            Decision::Deny(d) => Some(d.reason),
            Decision::Allow(_) => None,
        };
        DecisionRecord { event, mode, deny, usage }
    }
}

/// Counts shed Checks and logs them once a second: `Shedding load: N Checks shed`.
#[derive(Default)]
pub(super) struct ShedLog {
    count: AtomicU64,
    /// The second (Unix time) of the last summary line.
    logged: AtomicI64,
}

// === impl ShedLog ===

impl ShedLog {
    /// Counts one shed Check at `now_s`; returns the count logged, when this call logged.
    pub(super) fn note(&self, now_s: i64) -> Option<u64> {
        self.count.fetch_add(1, Ordering::Relaxed);
        let last = self.logged.load(Ordering::Relaxed);
        if now_s <= last
            || self
                .logged
                .compare_exchange(last, now_s, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return None;
        }
        let shed = self.count.swap(0, Ordering::Relaxed);
        tracing::warn!(
            authz.shed = shed,
            authz.reason = DenyReason::Overloaded.code(),
            "Shedding load: {shed} Checks shed since the last line (signature checks queued to `identity.verify_queue`); see jitgate_verify_queue_depth"
        );
        Some(shed)
    }
}

#[cfg(test)]
mod tests {
    use super::ShedLog;

    #[test]
    fn shed_checks_are_summarised_once_a_second() {
        let log = ShedLog::default();
        assert_eq!(log.note(100), Some(1), "the first shed Check is logged at once");
        assert_eq!(log.note(100), None);
        assert_eq!(log.note(100), None);
        assert_eq!(log.note(101), Some(3), "the next second's line counts everything since");
        assert_eq!(log.note(101), None);
        assert_eq!(log.note(99), None, "a clock that steps back does not log again");
        assert_eq!(log.note(105), Some(3));
    }
}
