//! What a decided Check leaves behind on the hot path: the log line, the decision counters
//! (`jitgate_decisions_total` counts the would-be decision in every mode; shadowed denies
//! also count in `jitgate_shadowed_denies_total`), and one [`DecisionRecord`] for the
//! background recorder.

use std::time::Duration;

use super::{Authorizer, DecisionRecord, Outcome, UsageHit};
use crate::audit::record;
use crate::authz::CheckAttributes;
use crate::decision::{Allow, Decision, Deny};
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
        DecisionRecord { event, usage }
    }
}
