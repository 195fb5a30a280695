//! APPLICATION: the OPA-style decision log on stdout (`audit.decision_log_stdout`), one line
//! per Check, whole path included: it is the operator's log pipeline, not the audit chain.

use std::io::Write;

use serde::{Deserialize, Serialize};

use super::recorder::DecisionRecord;
use crate::audit::AuditKind;
use crate::audit::record::DecisionDetails;
use crate::mode::Mode;
use crate::time::Timestamp;

/// One decision-log line, shaped like OPA's decision log so existing pipelines parse it.
#[derive(Serialize)]
struct Line<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    decision_id: Option<&'a str>,
    timestamp: Timestamp,
    input: Input<'a>,
    result: Outcome<'a>,
    /// `shadow`: the result is the would-be decision; Envoy was told allow.
    mode: Mode,
    metrics: Timings,
    labels: Labels,
}

#[derive(Serialize)]
struct Input<'a> {
    principal: Option<&'a str>,
    service: Option<&'a str>,
    method: Option<&'a str>,
    path: Option<&'a str>,
}

#[derive(Serialize)]
struct Outcome<'a> {
    allowed: bool,
    reason: Option<&'a str>,
    grant_id: Option<&'a str>,
}

#[derive(Serialize)]
struct Timings {
    timer_check_us: Option<u64>,
}

#[derive(Serialize)]
struct Labels {
    app: &'static str,
    version: &'static str,
}

/// One line per decision.
pub(super) fn print(batch: &[DecisionRecord]) {
    let mut out = std::io::stdout().lock();
    for r in batch {
        let e = &r.event;
        let took_us = DecisionDetails::deserialize(&e.details).ok().map(|d| d.took_us);
        let line = Line {
            kind: "jitgate.dev/decision_log",
            decision_id: e.decision_id.as_deref(),
            timestamp: e.at,
            input: Input {
                principal: e.subject.as_deref(),
                service: e.service.as_deref(),
                method: e.method.as_deref(),
                path: e.path.as_deref(),
            },
            result: Outcome {
                allowed: e.kind == AuditKind::DecisionAllow,
                reason: e.reason.as_deref(),
                grant_id: e.grant_id.as_deref(),
            },
            mode: r.mode,
            metrics: Timings { timer_check_us: took_us },
            labels: Labels { app: "jitgate", version: env!("CARGO_PKG_VERSION") },
        };
        let Ok(line) = serde_json::to_string(&line) else { continue };
        // stdout gone (closed pipe): nothing sensible to do but stop printing this batch.
        if writeln!(out, "{line}").is_err() {
            return;
        }
    }
    let _ = out.flush();
}
