//! Series whose label values are known up front, created at zero.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;

use super::{
    DecisionLabels, GrpcLabels, KindLabels, Metrics, OpLabels, ReasonLabels, ResultLabels,
    SourceLabels,
};

impl Metrics {
    /// Creates the series whose label values are known up front, at zero, so they are
    /// scraped from the start (a `rate()` or an alert on a series that appears already at 1
    /// misses that first increment).
    pub(super) fn init_series(&self) {
        use jitgate_core::decision::DenyReason;
        let _ =
            self.decisions.get_or_create(&DecisionLabels { decision: "allow", reason: "grant" });
        for r in DenyReason::ALL {
            let _ = self
                .decisions
                .get_or_create(&DecisionLabels { decision: "deny", reason: r.code() });
            let _ = self.shadowed.get_or_create(&ReasonLabels { reason: r.code() });
            let _ = self.audit_folded.get_or_create(&ReasonLabels { reason: r.code() });
        }
        self.set_modes(&jitgate_core::mode::Modes::default());
        let results: [(&Family<ResultLabels, Counter>, &[&'static str]); 9] = [
            (&self.cache_lookups, &["hit", "miss", "bypass"]),
            (&self.epoch_polls, &["ok", "error"]),
            (&self.jwks_refreshes, &["ok", "error"]),
            (&self.uses_consumed, &["used", "used_up", "gone"]),
            (&self.notifications, &["delivered", "retried", "failed", "dropped", "unsigned"]),
            (
                &self.requests,
                &[
                    "filed",
                    "auto_approved",
                    "approved",
                    "denied",
                    "cancelled",
                    "expired",
                    "escalated",
                    "refused",
                ],
            ),
            (&self.audit_appends, &["ok", "error"]),
            (&self.audit_checkpoints, &["ok", "error"]),
            (&self.usage_flushes, &["ok", "error"]),
        ];
        for (family, values) in results {
            for result in values {
                let _ = family.get_or_create(&ResultLabels { result });
            }
        }
        for reason in ["queue_full", "log_unavailable"] {
            let _ = self.audit_dropped.get_or_create(&ReasonLabels { reason });
        }
        for source in ["api", "request", "manifest"] {
            let _ = self.grants_created.get_or_create(&SourceLabels { source });
            let _ = self.active_grants.get_or_create(&SourceLabels { source });
        }
        for source in ["pubsub", "pubsub_gap", "poll", "local", "resync"] {
            let _ = self.cache_invalidations.get_or_create(&SourceLabels { source });
        }
        for kind in super::RECORD_KINDS {
            let _ = self.store_corrupt.get_or_create(&KindLabels { kind });
        }
        for op in ["live", "get", "create", "revoke", "consume", "epoch", "ping"] {
            let _ = self.store_errors.get_or_create(&OpLabels { op });
        }
        let check = GrpcLabels {
            grpc_type: "unary",
            grpc_service: "envoy.service.auth.v3.Authorization",
            grpc_method: "Check",
            grpc_code: "OK",
        };
        let _ = self.grpc_handled.get_or_create(&check);
    }
}
