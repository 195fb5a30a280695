//! APPLICATION: the OPA-style decision log on stdout (`audit.decision_log_stdout`), one line
//! per Check, whole path included: it is the operator's log pipeline, not the audit chain.

use std::io::Write;

use serde_json::json;

use super::recorder::DecisionRecord;
use crate::audit::AuditKind;

/// One line per decision, shaped like OPA's decision log so existing pipelines parse it.
pub(super) fn print(batch: &[DecisionRecord]) {
    let mut out = std::io::stdout().lock();
    for r in batch {
        let e = &r.event;
        let line = json!({
            "type": "jitgate.dev/decision_log",
            "decision_id": e.decision_id,
            "timestamp": e.at,
            "input": {
                "principal": e.subject,
                "service": e.service,
                "method": e.method,
                "path": e.path,
            },
            "result": {
                "allowed": e.kind == AuditKind::DecisionAllow,
                "reason": e.reason,
                "grant_id": e.grant_id,
            },
            // `shadow`: the result is the would-be decision; Envoy was told allow.
            "mode": r.mode,
            "metrics": { "timer_check_us": e.details.get("took_us") },
            "labels": { "app": "jitgate", "version": env!("CARGO_PKG_VERSION") },
        });
        // stdout gone (closed pipe): nothing sensible to do but stop printing this batch.
        if writeln!(out, "{line}").is_err() {
            return;
        }
    }
    let _ = out.flush();
}
