//! Prometheus metrics, in one explicit registry (no globals, so tests stay independent).
//! Labels are low-cardinality by rule: never a subject, grant id, token or raw path.
//! Names and help texts are in [`register`]; series known up front start at zero ([`series`]).

mod register;
mod series;
pub mod spans;

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DecisionLabels {
    pub decision: &'static str,
    pub reason: &'static str,
}

/// `jitgate_mode`: `service` is a configured service name (or `*`, the default for every
/// other service), so the label stays as small as the configuration.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ModeLabels {
    pub service: String,
    pub mode: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    pub result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    pub reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OpLabels {
    pub op: &'static str,
}

/// `jitgate_store_corrupt_records_total`: the kind of stored record (request, grant, policy,
/// audit), never its key.
/// The `kind` values of [`KindLabels`] (`jitgate_store::RecordKind` names the same).
pub const RECORD_KINDS: [&str; 4] = ["request", "grant", "policy", "audit"];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    pub kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceLabels {
    pub source: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct GrpcLabels {
    pub grpc_type: &'static str,
    pub grpc_service: &'static str,
    pub grpc_method: &'static str,
    pub grpc_code: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct GrpcMethodLabels {
    pub grpc_type: &'static str,
    pub grpc_service: &'static str,
    pub grpc_method: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    pub method: String,
    pub route: String,
    pub status: u16,
}

fn latency_histogram() -> Histogram {
    // 25 µs .. ~0.8 s: sub-millisecond resolution where checks live.
    Histogram::new(exponential_buckets(0.000_025, 2.0, 16))
}

/// Every metric jitgate exports.
pub struct Metrics {
    registry: Registry,
    pub decisions: Family<DecisionLabels, Counter>,
    pub shadowed: Family<ReasonLabels, Counter>,
    pub modes: Family<ModeLabels, Gauge>,
    pub check_duration: Histogram,
    pub cache_lookups: Family<ResultLabels, Counter>,
    pub cache_invalidations: Family<SourceLabels, Counter>,
    pub cache_confirmed: Gauge,
    pub epoch_polls: Family<ResultLabels, Counter>,
    pub store_errors: Family<OpLabels, Counter>,
    pub store_duration: Family<OpLabels, Histogram, fn() -> Histogram>,
    pub jwks_refreshes: Family<ResultLabels, Counter>,
    pub grpc_handled: Family<GrpcLabels, Counter>,
    pub grpc_duration: Family<GrpcMethodLabels, Histogram, fn() -> Histogram>,
    pub http_requests: Family<HttpLabels, Counter>,
    pub grants_created: Family<SourceLabels, Counter>,
    pub grants_revoked: Counter,
    pub uses_consumed: Family<ResultLabels, Counter>,
    pub notifications: Family<ResultLabels, Counter>,
    pub requests: Family<ResultLabels, Counter>,
    pub active_grants: Family<SourceLabels, Gauge>,
    pub pending_requests: Gauge,
    pub revocation_propagation: Histogram,
    pub audit_queue_depth: Gauge,
    pub verify_queue_depth: Gauge,
    pub audit_dropped: Family<ReasonLabels, Counter>,
    pub audit_appends: Family<ResultLabels, Counter>,
    pub audit_events: Counter,
    pub audit_folded: Family<ReasonLabels, Counter>,
    pub audit_fold_overflows: Counter,
    pub audit_relayed: Counter,
    pub audit_checkpoints: Family<ResultLabels, Counter>,
    pub audit_trimmed: Counter,
    pub usage_flushes: Family<ResultLabels, Counter>,
    pub store_corrupt: Family<KindLabels, Counter>,
}

// === impl Metrics ===

impl Metrics {
    pub fn new() -> Self {
        let mut m = Self {
            registry: Registry::default(),
            decisions: Family::default(),
            shadowed: Family::default(),
            modes: Family::default(),
            check_duration: latency_histogram(),
            cache_lookups: Family::default(),
            cache_invalidations: Family::default(),
            cache_confirmed: Gauge::default(),
            epoch_polls: Family::default(),
            store_errors: Family::default(),
            store_duration: Family::new_with_constructor(latency_histogram),
            jwks_refreshes: Family::default(),
            grpc_handled: Family::default(),
            grpc_duration: Family::new_with_constructor(latency_histogram),
            http_requests: Family::default(),
            grants_created: Family::default(),
            grants_revoked: Counter::default(),
            uses_consumed: Family::default(),
            notifications: Family::default(),
            requests: Family::default(),
            active_grants: Family::default(),
            pending_requests: Gauge::default(),
            // 100 µs .. ~3 s: pub/sub delivery across replicas.
            revocation_propagation: Histogram::new(exponential_buckets(0.000_1, 2.0, 15)),
            audit_queue_depth: Gauge::default(),
            verify_queue_depth: Gauge::default(),
            audit_dropped: Family::default(),
            audit_appends: Family::default(),
            audit_events: Counter::default(),
            audit_folded: Family::default(),
            audit_fold_overflows: Counter::default(),
            audit_relayed: Counter::default(),
            audit_checkpoints: Family::default(),
            audit_trimmed: Counter::default(),
            usage_flushes: Family::default(),
            store_corrupt: Family::default(),
        };
        m.register();
        m.register_audit();
        m.init_series();
        m
    }

    /// The Prometheus text exposition of every metric.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    /// Publishes the enforcement modes (`jitgate_mode`): 1 on each service's mode.
    pub fn set_modes(&self, modes: &jitgate_core::mode::Modes) {
        use jitgate_core::mode::Mode;
        let services = std::iter::once(("*", modes.default))
            .chain(modes.services.iter().map(|(s, m)| (s.as_str(), *m)));
        for (service, mode) in services {
            for m in [Mode::Enforce, Mode::Shadow] {
                let labels = ModeLabels { service: service.to_string(), mode: m.as_str() };
                self.modes.get_or_create(&labels).set(i64::from(m == mode));
            }
        }
    }

    pub fn observe_store(&self, op: &'static str, took: Duration, ok: bool) {
        self.store_duration.get_or_create(&OpLabels { op }).observe(took.as_secs_f64());
        if !ok {
            self.store_errors.get_or_create(&OpLabels { op }).inc();
        }
    }

    pub fn count_result(family: &Family<ResultLabels, Counter>, result: &'static str) {
        family.get_or_create(&ResultLabels { result }).inc();
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
