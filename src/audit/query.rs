//! Finding entries: [`AuditFilter`] (who, what, which grant or request, when, which kinds)
//! and [`query`], which pages through the log in either direction. Filters read the event
//! JSON loosely, so entries written by a newer jitgate (unknown kinds or fields) still match
//! on the fields they share.

// Reached by what callers send: no arithmetic that can overflow, no indexing that can go out
// of bounds, no `panic!` (SECURITY row 64). Checked by clippy, so a regression fails the build.
#![deny(clippy::arithmetic_side_effects, clippy::indexing_slicing, clippy::panic)]

use std::collections::HashMap;
use std::time::Duration;

use serde_json::Value;

use super::{AuditError, AuditLog, Stored};
use crate::time::{Timestamp, parse_time};

/// Entries reach the log shortly after their event happened (batching, relays); time
/// filters look this far past their bounds in the log and then filter on the event's `at`.
pub const LATE_MARGIN: Duration = Duration::from_secs(300);

/// How many entries one query reads at most before handing back a cursor.
pub const SCAN_LIMIT: usize = 50_000;

/// The query parameters every interface accepts.
pub const PARAMS: [&str; 11] = [
    "principal",
    "service",
    "grant",
    "request",
    "decision",
    "kind",
    "since",
    "until",
    "limit",
    "cursor",
    "order",
];

/// Which entries a query keeps. Empty fields keep everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// The event's subject or actor.
    pub principal: Option<String>,
    pub service: Option<String>,
    pub grant: Option<String>,
    pub request: Option<String>,
    pub decision: Option<String>,
    /// Kinds, or kind families written as `grant.*`.
    pub kinds: Vec<String>,
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
}

/// Oldest first (export, tail) or newest first (looking back).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Order {
    Asc,
    #[default]
    Desc,
}

/// A parsed query: filter, page size, where to continue, direction.
#[derive(Clone, Debug, Default)]
pub struct AuditQuery {
    pub filter: AuditFilter,
    pub limit: usize,
    pub cursor: Option<String>,
    pub order: Order,
}

/// One page of results; `next` continues the same query.
#[derive(Clone, Debug)]
pub struct AuditPage {
    pub entries: Vec<Stored>,
    pub next: Option<String>,
}

impl AuditQuery {
    /// From query-string parameters; every bad one is reported. `since`/`until` take RFC 3339
    /// times or durations back from `now` (`1h`).
    pub fn from_params(q: &HashMap<String, String>, now: Timestamp) -> Result<Self, Vec<String>> {
        let mut errors = Vec::new();
        for key in q.keys().filter(|k| !PARAMS.contains(&k.as_str())) {
            errors.push(format!("unknown query parameter `{key}`: use {}", PARAMS.join(", ")));
        }
        let mut time = |name: &str| {
            q.get(name).and_then(|raw| match parse_time(raw, now) {
                Ok(t) => Some(t),
                Err(e) => {
                    errors.push(format!("{name}: {e}"));
                    None
                }
            })
        };
        let (since, until) = (time("since"), time("until"));
        let kinds = q
            .get("kind")
            .map(|k| k.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from))
            .into_iter()
            .flatten()
            .collect();
        let limit = match q.get("limit").map(|l| l.parse::<usize>()) {
            None => 100,
            Some(Ok(n)) if (1..=10_000).contains(&n) => n,
            Some(_) => {
                let got = q.get("limit").map(String::as_str).unwrap_or_default();
                errors.push(format!("limit: `{got}` is not a whole number from 1 to 10000"));
                100
            }
        };
        let order = match q.get("order").map(String::as_str) {
            None | Some("desc") => Order::Desc,
            Some("asc") => Order::Asc,
            Some(o) => {
                errors.push(format!("order: `{o}` is neither `asc` nor `desc`"));
                Order::Desc
            }
        };
        if let Some(c) = q.get("cursor").filter(|c| super::parse_cursor(c).is_none()) {
            errors.push(format!("cursor: `{c}` is not a cursor this server handed out"));
        }
        let filter = AuditFilter {
            principal: q.get("principal").cloned(),
            service: q.get("service").cloned(),
            grant: q.get("grant").cloned(),
            request: q.get("request").cloned(),
            decision: q.get("decision").cloned(),
            kinds,
            since,
            until,
        };
        let query = Self { filter, limit, cursor: q.get("cursor").cloned(), order };
        if errors.is_empty() { Ok(query) } else { Err(errors) }
    }
}

// === impl AuditFilter ===

impl AuditFilter {
    pub fn keeps(&self, event: &Value) -> bool {
        let field = |name: &str| event.get(name).and_then(Value::as_str);
        let is = |want: &Option<String>, name: &str| {
            want.as_deref().is_none_or(|w| field(name) == Some(w))
        };
        let principal = self
            .principal
            .as_deref()
            .is_none_or(|p| field("subject") == Some(p) || field("actor") == Some(p));
        let kind = self.kinds.is_empty()
            || field("kind").is_some_and(|k| self.kinds.iter().any(|want| kind_matches(want, k)));
        let at = field("at").and_then(|a| Timestamp::parse_rfc3339(a).ok());
        let since = self.since.is_none_or(|s| at.is_some_and(|a| a >= s));
        let until = self.until.is_none_or(|u| at.is_some_and(|a| a <= u));
        principal
            && kind
            && since
            && until
            && is(&self.service, "service")
            && is(&self.grant, "grant_id")
            && is(&self.request, "request_id")
            && is(&self.decision, "decision_id")
    }
}

fn kind_matches(want: &str, kind: &str) -> bool {
    match want.strip_suffix(".*") {
        Some(family) => kind.split('.').next() == Some(family),
        None => want == kind,
    }
}

/// Runs one page of a query. Reads at most [`SCAN_LIMIT`] entries; a page may then come back
/// short (even empty) with a `next` cursor to continue from.
pub async fn query(log: &dyn AuditLog, q: &AuditQuery) -> Result<AuditPage, AuditError> {
    const CHUNK: usize = 500;
    let f = &q.filter;
    let mut cursor = q.cursor.clone().or_else(|| match q.order {
        Order::Asc => f.since.map(|s| log.cursor_at(s.saturating_sub(LATE_MARGIN))),
        Order::Desc => f.until.map(|u| log.cursor_at(u.saturating_add(LATE_MARGIN))),
    });
    let (mut out, mut scanned) = (Vec::new(), 0usize);
    loop {
        let chunk = match q.order {
            Order::Asc => log.read(cursor.as_deref(), CHUNK).await?,
            Order::Desc => log.read_back(cursor.as_deref(), CHUNK).await?,
        };
        let exhausted = chunk.len() < CHUNK;
        for stored in chunk {
            scanned = scanned.saturating_add(1);
            cursor = Some(stored.cursor.clone());
            if past_window(f, q.order, stored.recorded_at) {
                return Ok(AuditPage { entries: out, next: None });
            }
            let event: Value = serde_json::from_str(&stored.entry.event).unwrap_or(Value::Null);
            if f.keeps(&event) {
                out.push(stored);
                if out.len() == q.limit {
                    return Ok(AuditPage { entries: out, next: cursor });
                }
            }
        }
        if exhausted {
            return Ok(AuditPage { entries: out, next: None });
        }
        if scanned >= SCAN_LIMIT {
            return Ok(AuditPage { entries: out, next: cursor });
        }
    }
}

/// True once the scan has moved past the time window (plus the lateness margin).
fn past_window(f: &AuditFilter, order: Order, recorded: Timestamp) -> bool {
    match order {
        Order::Asc => f.until.is_some_and(|u| recorded > u.saturating_add(LATE_MARGIN)),
        Order::Desc => f.since.is_some_and(|s| recorded < s.saturating_sub(LATE_MARGIN)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn filters_match_subject_or_actor_and_kind_families() {
        let ev = json!({"kind": "grant.revoked", "actor": "user:bob", "subject": "user:alice",
            "grant_id": "g1", "at": "2026-11-25T10:00:00.000Z"});
        let f = |p: &str| AuditFilter { principal: Some(p.into()), ..AuditFilter::default() };
        assert!(f("user:bob").keeps(&ev));
        assert!(f("user:alice").keeps(&ev));
        assert!(!f("user:carol").keeps(&ev));
        let kinds = |k: &[&str]| AuditFilter {
            kinds: k.iter().map(|s| s.to_string()).collect(),
            ..AuditFilter::default()
        };
        assert!(kinds(&["grant.*"]).keeps(&ev));
        assert!(kinds(&["request.filed", "grant.revoked"]).keeps(&ev));
        assert!(!kinds(&["grant.created"]).keeps(&ev));
        assert!(!kinds(&["gra.*"]).keeps(&ev));
    }

    #[test]
    fn time_bounds_use_the_events_own_time() {
        let ev = json!({"kind": "request.filed", "at": "2026-11-25T10:00:00.000Z"});
        let t = |s: &str| Timestamp::parse_rfc3339(s).unwrap();
        let window = |a: &str, b: &str| AuditFilter {
            since: Some(t(a)),
            until: Some(t(b)),
            ..AuditFilter::default()
        };
        assert!(window("2026-11-25T09:00:00Z", "2026-11-25T10:00:00Z").keeps(&ev));
        assert!(!window("2026-11-25T10:00:01Z", "2026-11-25T11:00:00Z").keeps(&ev));
    }

    #[test]
    fn a_cursor_at_or_before_the_epoch_is_before_every_entry() {
        // A negative stream id (`-300001-...`) made Redis refuse `since=1970-01-01T00:00:00Z`.
        let log = crate::store::MemoryAuditLog::default();
        for ms in [i64::MIN, -300_000, 0] {
            assert_eq!(log.cursor_at(Timestamp::from_millis(ms)), super::super::BEFORE_ALL);
        }
        assert_eq!(log.cursor_at(Timestamp::from_millis(1)), format!("0-{}", u64::MAX));
        let last = log.cursor_at(Timestamp::from_millis(i64::MAX));
        assert!(super::super::parse_cursor(&last).is_some(), "{last}");
    }

    #[test]
    fn every_bad_parameter_is_reported() {
        let now = Timestamp::from_millis(1_000_000_000);
        let q: HashMap<String, String> = [
            ("since", "yesterday-ish"),
            ("limit", "0"),
            ("order", "up"),
            ("colour", "red"),
            ("cursor", "x"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let errors = AuditQuery::from_params(&q, now).unwrap_err();
        assert_eq!(errors.len(), 5, "{errors:?}");
        let ok: HashMap<String, String> = [
            ("since".to_string(), "1h".to_string()),
            ("kind".into(), "grant.*,request.filed".into()),
        ]
        .into_iter()
        .collect();
        let q = AuditQuery::from_params(&ok, now).unwrap();
        assert_eq!(q.filter.since, Some(now.saturating_sub(Duration::from_secs(3600))));
        assert_eq!(q.filter.kinds, vec!["grant.*", "request.filed"]);
        assert_eq!(q.order, Order::Desc);
    }
}
