//! The audit chain in memory, with the Redis log's semantics (cursors `<ms>-<seq>`, trimming
//! with a start marker), for unit tests and the in-memory stores.

use std::sync::Mutex;

use async_trait::async_trait;

use super::StoreError;
use crate::audit::chain::entry_hash;
use crate::audit::{AuditEntry, AuditError, AuditEvent, AuditLog, Head, Stored, parse_cursor};
use jitgate_core::time::{Clock, SystemClock};

#[derive(Default)]
struct Inner {
    entries: Vec<Stored>,
    head: Head,
    last_ms: i64,
}

#[derive(Default)]
pub struct MemoryAuditLog {
    inner: Mutex<Inner>,
}

// === impl MemoryAuditLog ===

impl MemoryAuditLog {
    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Inner>, AuditError> {
        self.inner
            .lock()
            .map_err(|_| StoreError::Unavailable("audit log lock poisoned".into()).into())
    }

    /// Appends synchronously (the in-memory stores call this with their change).
    pub fn push(&self, event: &AuditEvent) -> Result<u64, AuditError> {
        let mut inner = self.lock()?;
        let ms = SystemClock.now().as_millis().max(inner.last_ms);
        inner.last_ms = ms;
        let seq = inner.head.seq + 1;
        let json = event.to_json();
        let hash = entry_hash(&inner.head.hash, seq, &json);
        let entry =
            AuditEntry { seq, prev: inner.head.hash.clone(), hash: hash.clone(), event: json };
        let recorded_at = jitgate_core::time::Timestamp::from_millis(ms);
        inner.entries.push(Stored { cursor: format!("{ms}-{seq}"), recorded_at, entry });
        inner.head.seq = seq;
        inner.head.hash = hash;
        Ok(seq)
    }

    /// Every event kept, oldest first (tests).
    pub fn events(&self) -> Vec<AuditEvent> {
        self.lock()
            .map(|i| {
                i.entries.iter().filter_map(|s| serde_json::from_str(&s.entry.event).ok()).collect()
            })
            .unwrap_or_default()
    }
}

fn key(cursor: &str) -> (u64, u64) {
    parse_cursor(cursor).unwrap_or((0, 0))
}

#[async_trait]
impl AuditLog for MemoryAuditLog {
    async fn append(&self, events: &[AuditEvent]) -> Result<u64, AuditError> {
        let mut last = self.lock()?.head.seq;
        for e in events {
            last = self.push(e)?;
        }
        Ok(last)
    }

    async fn head(&self) -> Result<Head, AuditError> {
        Ok(self.lock()?.head.clone())
    }

    async fn read(&self, after: Option<&str>, limit: usize) -> Result<Vec<Stored>, AuditError> {
        let inner = self.lock()?;
        let from = after.map(key);
        Ok(inner
            .entries
            .iter()
            .filter(|s| from.is_none_or(|f| key(&s.cursor) > f))
            .take(limit)
            .cloned()
            .collect())
    }

    async fn read_back(
        &self,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Stored>, AuditError> {
        let inner = self.lock()?;
        let to = before.map(key);
        Ok(inner
            .entries
            .iter()
            .rev()
            .filter(|s| to.is_none_or(|t| key(&s.cursor) < t))
            .take(limit)
            .cloned()
            .collect())
    }

    async fn relay_outboxes(&self) -> Result<usize, AuditError> {
        Ok(0)
    }

    async fn trim(&self, through: &Stored) -> Result<u64, AuditError> {
        let mut inner = self.lock()?;
        let Some(pos) = inner.entries.iter().position(|s| s == through) else {
            return Err(AuditError::Corrupt(format!(
                "entry {} is no longer at {}: refusing to trim",
                through.entry.seq, through.cursor
            )));
        };
        inner.entries.drain(..=pos);
        inner.head.start_seq = through.entry.seq;
        inner.head.start_hash = through.entry.hash.clone();
        Ok(u64::try_from(pos + 1).unwrap_or(u64::MAX))
    }
}
