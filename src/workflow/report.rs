//! APPLICATION: the access report (`GET /v1/reports/access`, `jitgate report access`). Pages
//! back through the audit log over the window (newest first, so a scan cut at its limit still
//! covers the most recent use), reads the live grants with their usage ledgers and the
//! policies, and hands everything to the pure [`crate::report`]. Readable by `admins` and
//! `audit.readers`, like the audit log it is built from.

// Reached by what callers send: no arithmetic that can overflow, no indexing that can go out
// of bounds, no `panic!` (SECURITY row 64). Checked by clippy, so a regression fails the build.
#![deny(clippy::arithmetic_side_effects, clippy::indexing_slicing, clippy::panic)]

use std::collections::HashMap;
use std::sync::Arc;

use futures_util::StreamExt;
use serde_json::Value;

use super::{Admins, WorkflowError};
use crate::access::{AccessPolicy, PolicySet};
use crate::audit::query::LATE_MARGIN;
use crate::audit::{AuditError, AuditLog};
use crate::decision::Caller;
use crate::grant::{Grant, Principal};
use crate::report::{AccessReport, GrantUse, Scan, SuggestOptions, Tally, Window};
use crate::store::{GrantStore, PolicyStore, StoreError};
use crate::time::{Clock, Timestamp, Ttl, parse_time};

/// Most audit entries one report reads; past it the report says how far back it got.
pub const SCAN_LIMIT: u64 = 1_000_000;

/// The window a report covers when `since` is not given.
pub const DEFAULT_SINCE: &str = "7d";

/// The query parameters `GET /v1/reports/access` accepts.
pub const PARAMS: [&str; 4] = ["since", "until", "grant_ttl", "approvers"];

/// A parsed report query.
#[derive(Clone, Debug)]
pub struct ReportQuery {
    pub window: Window,
    pub options: SuggestOptions,
}

impl ReportQuery {
    /// From query parameters; every bad one is reported. `since`/`until` take RFC 3339 times
    /// or durations back from `now` (`7d`); `approvers` is comma-separated principals.
    pub fn from_params(q: &HashMap<String, String>, now: Timestamp) -> Result<Self, Vec<String>> {
        let mut errors = Vec::new();
        for key in q.keys().filter(|k| !PARAMS.contains(&k.as_str())) {
            errors.push(format!("unknown query parameter `{key}`: use {}", PARAMS.join(", ")));
        }
        let mut time = |name: &str, default: Option<&str>| {
            let Some(raw) = q.get(name).map(String::as_str).or(default) else { return Some(now) };
            parse_time(raw, now).map_err(|e| errors.push(format!("{name}: {e}"))).ok()
        };
        let (since, until) = (time("since", Some(DEFAULT_SINCE)), time("until", None));
        let (since, until) = (since.unwrap_or(now), until.unwrap_or(now));
        if since >= until && errors.is_empty() {
            errors.push("since: must be before `until`".into());
        }
        let grant_ttl = q.get("grant_ttl").cloned();
        if let Some(Err(e)) = grant_ttl.as_deref().map(Ttl::parse) {
            errors.push(format!("grant_ttl: {e}"));
        }
        let approvers: Vec<String> = q
            .get("approvers")
            .map(|a| {
                a.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect()
            })
            .unwrap_or_default();
        for a in &approvers {
            if let Err(e) = a.parse::<Principal>() {
                errors.push(format!("approvers: {e}"));
            }
        }
        let options = SuggestOptions { approvers, grant_ttl };
        if errors.is_empty() {
            Ok(Self { window: Window { since, until }, options })
        } else {
            Err(errors)
        }
    }
}

pub struct ReportService {
    log: Arc<dyn AuditLog>,
    grants: Arc<dyn GrantStore>,
    policies: Arc<dyn PolicyStore>,
    clock: Arc<dyn Clock>,
    admins: Admins,
    readers: Admins,
    /// Approvers of suggested policies when the query names none (the configured admins).
    approvers: Vec<String>,
}

// === impl ReportService ===

impl ReportService {
    pub fn new(
        log: Arc<dyn AuditLog>,
        grants: Arc<dyn GrantStore>,
        policies: Arc<dyn PolicyStore>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            log,
            grants,
            policies,
            clock,
            admins: Admins::default(),
            readers: Admins::default(),
            approvers: Vec::new(),
        }
    }

    /// Who may read reports (admins and audit readers), and the default approvers.
    pub fn with_access(mut self, admins: Admins, readers: Admins, approvers: Vec<String>) -> Self {
        self.admins = admins;
        self.readers = readers;
        self.approvers = approvers;
        self
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// The report, for a caller allowed to read the audit log.
    pub async fn access(
        &self,
        caller: &Caller,
        q: ReportQuery,
    ) -> Result<AccessReport, WorkflowError> {
        if !(self.admins.includes(caller) || self.readers.includes(caller)) {
            return Err(WorkflowError::Forbidden(format!(
                "{} may not read access reports: only `admins` and `audit.readers` may",
                caller.subject
            )));
        }
        self.build(q).await
    }

    /// The report, unchecked (for `--redis-url`, where Redis access is the authority).
    pub async fn build(&self, mut q: ReportQuery) -> Result<AccessReport, WorkflowError> {
        if q.options.approvers.is_empty() {
            q.options.approvers = self.approvers.clone();
        }
        let policies = self.policy_set().await?;
        let (tally, scan) = self.scan(q.window, &policies).await?;
        let live = self.live_grants().await?;
        Ok(tally.finish(scan, &policies, &live, &q.options))
    }

    async fn policy_set(&self) -> Result<PolicySet, WorkflowError> {
        let docs = self.policies.list().await?.docs;
        Ok(PolicySet::new(
            docs.into_iter().filter_map(|d| AccessPolicy::from_document(d).ok()).collect(),
        ))
    }

    /// Reads entries newest first until the window's start (or [`SCAN_LIMIT`]).
    async fn scan(
        &self,
        window: Window,
        policies: &PolicySet,
    ) -> Result<(Tally, Scan), WorkflowError> {
        const CHUNK: usize = 1000;
        let mut tally = Tally::default();
        let mut scan = Scan { window, scanned: 0, covered_since: None };
        let stop_before = window.since.saturating_sub(LATE_MARGIN);
        let mut before = (window.until.saturating_add(LATE_MARGIN) < self.clock.now())
            .then(|| self.log.cursor_at(window.until.saturating_add(LATE_MARGIN)));
        loop {
            let chunk = self.log.read_back(before.as_deref(), CHUNK).await.map_err(unavailable)?;
            let exhausted = chunk.len() < CHUNK;
            for stored in chunk {
                if stored.recorded_at < stop_before {
                    return Ok((tally, scan));
                }
                scan.scanned = scan.scanned.saturating_add(1);
                let event: Value = serde_json::from_str(&stored.entry.event).unwrap_or(Value::Null);
                tally.add(&event, window, policies);
                if scan.scanned >= SCAN_LIMIT {
                    scan.covered_since = Some(stored.recorded_at);
                    return Ok((tally, scan));
                }
                before = Some(stored.cursor);
            }
            if exhausted {
                return Ok((tally, scan));
            }
        }
    }

    /// Live grants and when each was last used (ledgers read 16 at a time).
    async fn live_grants(&self) -> Result<Vec<GrantUse>, WorkflowError> {
        let live = self.grants.list(None, self.clock.now()).await?;
        let store = &self.grants;
        let reads = futures_util::stream::iter(live)
            .map(|g: Grant| async move {
                let usage = store.usage(&g).await?;
                let last = g.last_used_at.max(usage.last_used_at);
                Ok::<_, StoreError>((g, last))
            })
            .buffer_unordered(16)
            .collect::<Vec<_>>()
            .await;
        Ok(reads.into_iter().collect::<Result<Vec<_>, _>>()?)
    }
}

fn unavailable(e: AuditError) -> WorkflowError {
    match e {
        AuditError::Store(s) => WorkflowError::Unavailable(s),
        AuditError::Corrupt(m) => WorkflowError::Unavailable(StoreError::Corrupt(m)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn the_window_defaults_to_the_last_seven_days() {
        let now = Timestamp::from_millis(1_800_000_000_000);
        let q = ReportQuery::from_params(&params(&[]), now).unwrap();
        let week = std::time::Duration::from_secs(7 * 24 * 3600);
        assert_eq!(q.window, Window { since: now.saturating_sub(week), until: now });
        assert!(q.options.grant_ttl.is_none() && q.options.approvers.is_empty());
        let q = ReportQuery::from_params(
            &params(&[
                ("since", "2h"),
                ("until", "1h"),
                ("grant_ttl", "8h"),
                ("approvers", "group:a, user:b"),
            ]),
            now,
        )
        .unwrap();
        assert_eq!(q.options.approvers, ["group:a", "user:b"]);
        assert_eq!(q.options.grant_ttl.as_deref(), Some("8h"));
    }

    #[test]
    fn every_bad_parameter_is_reported() {
        let now = Timestamp::from_millis(1_800_000_000_000);
        type Case<'a> = (&'a [(&'a str, &'a str)], &'a [&'a str]);
        let cases: &[Case] = &[
            (&[("since", "lately")], &["since: `lately` is neither"]),
            (&[("since", "1h"), ("until", "2h")], &["since: must be before `until`"]),
            (
                &[("grant_ttl", "soon"), ("approvers", "alice")],
                &["grant_ttl: `soon`", "approvers: "],
            ),
            (&[("service", "orders")], &["unknown query parameter `service`"]),
        ];
        for (input, want) in cases {
            let errors = ReportQuery::from_params(&params(input), now).unwrap_err();
            assert_eq!(errors.len(), want.len(), "{errors:?}");
            for (e, w) in errors.iter().zip(want.iter()) {
                assert!(e.starts_with(w), "{e} does not start with {w}");
            }
        }
    }
}
