//! Stored records that cannot be decoded (SECURITY row 62). One bad record must never take a
//! list, a page or a background task down for everybody: readers skip it and answer with the
//! rest. Each one is counted (`jitgate_store_corrupt_records_total{kind}`) and logged once per
//! key per process, with the key, so an operator can find it; the request sweeper moves a bad
//! request aside to the quarantine (`jitgate quarantine list|show|delete`).
//!
//! Skipping is always fail-closed: a grant that cannot be read allows nothing, a policy that
//! cannot be read approves nothing (its pending requests wait, see
//! [`jitgate_core::access::PolicySet::is_unreadable`]).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use super::StoreError;
use jitgate_metrics::{KindLabels, Metrics};

/// Keys already logged; past this many, every further one is logged (the set is full).
const LOGGED_KEYS: usize = 1024;

/// What kind of stored record failed to decode (the metric's `kind` label).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RecordKind {
    Request,
    Grant,
    Policy,
    Audit,
}

impl RecordKind {
    pub const ALL: [Self; 4] = [Self::Request, Self::Grant, Self::Policy, Self::Audit];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Request => "request",
            Self::Grant => "grant",
            Self::Policy => "policy",
            Self::Audit => "audit",
        }
    }
}

/// Counts and logs undecodable records; shared by every store of one connection.
#[derive(Clone)]
pub struct CorruptRecords {
    metrics: Arc<Metrics>,
    logged: Arc<Mutex<HashSet<String>>>,
}

impl CorruptRecords {
    pub fn new(metrics: Arc<Metrics>) -> Self {
        Self { metrics, logged: Arc::default() }
    }

    /// Records that the record at `key` could not be decoded (`why`), and returns the error
    /// for whoever asked for that one record.
    pub fn found(&self, kind: RecordKind, key: &str, why: &str) -> StoreError {
        self.metrics.store_corrupt.get_or_create(&KindLabels { kind: kind.as_str() }).inc();
        if self.first_time(key) {
            tracing::error!(
                record.kind = kind.as_str(),
                record.key = key,
                error = why,
                "Stored record cannot be decoded: skipped by every reader; inspect it with \
                 `jitgate quarantine` (requests) or redis-cli, then fix or delete it"
            );
        }
        StoreError::Corrupt(format!("{} `{key}`: {why}", kind.as_str()))
    }

    fn first_time(&self, key: &str) -> bool {
        let Ok(mut logged) = self.logged.lock() else { return true };
        if logged.len() >= LOGGED_KEYS {
            return !logged.contains(key);
        }
        logged.insert(key.to_string())
    }
}

/// A read of one record among many: a corrupt one (already counted) becomes `None`, so the
/// list goes on; every other error still stops it.
pub fn skip_corrupt<T>(read: Result<Option<T>, StoreError>) -> Result<Option<T>, StoreError> {
    match read {
        Err(StoreError::Corrupt(_)) => Ok(None),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_match_the_metric_series() {
        let names: Vec<&str> = RecordKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(names, jitgate_metrics::RECORD_KINDS);
    }

    #[test]
    fn each_record_is_counted_every_time_and_logged_once() {
        let metrics = Arc::new(Metrics::new());
        let c = CorruptRecords::new(metrics.clone());
        assert!(c.first_time("a"));
        assert!(!c.first_time("a"));
        let e = c.found(RecordKind::Request, "jitgate:{requests}:request:x", "bad JSON");
        assert!(matches!(e, StoreError::Corrupt(ref m) if m.contains("request:x")), "{e}");
        let _ = c.found(RecordKind::Request, "jitgate:{requests}:request:x", "bad JSON");
        let text = metrics.encode();
        assert!(text.contains("jitgate_store_corrupt_records_total{kind=\"request\"} 2"), "{text}");
        assert!(text.contains("jitgate_store_corrupt_records_total{kind=\"grant\"} 0"), "{text}");
    }

    #[test]
    fn only_corrupt_reads_are_skipped() {
        assert_eq!(skip_corrupt::<u8>(Err(StoreError::Corrupt("x".into()))), Ok(None));
        assert_eq!(skip_corrupt(Ok(Some(1))), Ok(Some(1)));
        let down = StoreError::Unavailable("down".into());
        assert_eq!(skip_corrupt::<u8>(Err(down.clone())), Err(down));
    }
}
