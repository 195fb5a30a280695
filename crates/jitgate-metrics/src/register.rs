//! Every metric's name and help text (the README's metrics table documents the same).

use super::Metrics;

impl Metrics {
    pub(super) fn register(&mut self) {
        let r = &mut self.registry;
        r.register(
            "jitgate_decisions",
            "Check decisions by outcome and reason code",
            self.decisions.clone(),
        );
        r.register(
            "jitgate_shadowed_denies",
            "Would-be denies answered allow because their service is in shadow mode, by reason",
            self.shadowed.clone(),
        );
        r.register(
            "jitgate_mode",
            "1 on each service's enforcement mode (enforce, shadow); service `*` is the default",
            self.modes.clone(),
        );
        r.register(
            "jitgate_check_duration_seconds",
            "Time to answer one Check",
            self.check_duration.clone(),
        );
        r.register(
            "jitgate_grant_cache_lookups",
            "Grant cache lookups per principal (hit, miss, bypass)",
            self.cache_lookups.clone(),
        );
        r.register(
            "jitgate_grant_cache_invalidations",
            "Grant cache invalidations by source",
            self.cache_invalidations.clone(),
        );
        r.register(
            "jitgate_grant_cache_confirmed",
            "1 while the cache is confirmed fresh within the staleness bound",
            self.cache_confirmed.clone(),
        );
        r.register(
            "jitgate_epoch_polls",
            "Change-counter polls by result",
            self.epoch_polls.clone(),
        );
        r.register(
            "jitgate_store_errors",
            "Grant store errors by operation",
            self.store_errors.clone(),
        );
        r.register(
            "jitgate_store_op_duration_seconds",
            "Grant store operation latency",
            self.store_duration.clone(),
        );
        r.register(
            "jitgate_jwks_refreshes",
            "JWKS refreshes by result",
            self.jwks_refreshes.clone(),
        );
        r.register(
            "grpc_server_handled",
            "gRPC calls completed, by code",
            self.grpc_handled.clone(),
        );
        r.register("grpc_server_handling_seconds", "gRPC call latency", self.grpc_duration.clone());
        r.register(
            "jitgate_http_requests",
            "REST requests by route and status",
            self.http_requests.clone(),
        );
        r.register(
            "jitgate_grants_created",
            "Grants created by source",
            self.grants_created.clone(),
        );
        r.register("jitgate_grants_revoked", "Grants revoked", self.grants_revoked.clone());
        r.register(
            "jitgate_grant_uses",
            "Attempts to consume a use of a limited grant, by result",
            self.uses_consumed.clone(),
        );
        r.register(
            "jitgate_notifications",
            "Webhook deliveries by result (delivered, retried, failed, dropped, unsigned)",
            self.notifications.clone(),
        );
        r.register(
            "jitgate_requests",
            "Access request transitions by outcome",
            self.requests.clone(),
        );
    }

    pub(super) fn register_audit(&mut self) {
        let r = &mut self.registry;
        r.register(
            "jitgate_active_grants",
            "Live (unexpired, unrevoked) grants by source, counted periodically",
            self.active_grants.clone(),
        );
        r.register(
            "jitgate_pending_requests",
            "Access requests waiting for a decision, counted periodically",
            self.pending_requests.clone(),
        );
        r.register(
            "jitgate_revocation_propagation_seconds",
            "Time from a revocation in one replica to its invalidation here (pub/sub path)",
            self.revocation_propagation.clone(),
        );
        r.register(
            "jitgate_verify_queue_depth",
            "Signature checks waiting for the verification threads (beyond identity.verify_queue, Checks are shed)",
            self.verify_queue_depth.clone(),
        );
        r.register(
            "jitgate_audit_queue_depth",
            "Decision records waiting to be written to the audit log",
            self.audit_queue_depth.clone(),
        );
        r.register(
            "jitgate_audit_dropped",
            "Decision records dropped (queue_full, log_unavailable); each drop is recorded as a gap",
            self.audit_dropped.clone(),
        );
        r.register(
            "jitgate_audit_appends",
            "Batched appends of decision records by result",
            self.audit_appends.clone(),
        );
        r.register(
            "jitgate_audit_events",
            "Decision and gap events written to the audit chain",
            self.audit_events.clone(),
        );
        r.register(
            "jitgate_audit_folded",
            "Denies of unidentified callers counted into folded audit records, by deny reason",
            self.audit_folded.clone(),
        );
        r.register(
            "jitgate_audit_fold_overflows",
            "Folded denies counted in their reason's overflow record (the window held audit.anonymous.max_groups calls)",
            self.audit_fold_overflows.clone(),
        );
        r.register(
            "jitgate_audit_relayed",
            "Control-plane events relayed from outboxes by the periodic relay (after a crash)",
            self.audit_relayed.clone(),
        );
        r.register(
            "jitgate_audit_checkpoints",
            "Signed checkpoints written, by result",
            self.audit_checkpoints.clone(),
        );
        r.register(
            "jitgate_audit_trimmed",
            "Audit entries exported and trimmed by retention",
            self.audit_trimmed.clone(),
        );
        r.register(
            "jitgate_usage_ledger_flushes",
            "Usage ledger updates by result",
            self.usage_flushes.clone(),
        );
        r.register(
            "jitgate_store_corrupt_records",
            "Stored records that could not be decoded, by kind: skipped by readers (and the \
             sweeper moves requests aside to the quarantine)",
            self.store_corrupt.clone(),
        );
    }
}
