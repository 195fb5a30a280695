//! The audit log's seam: the [`AuditLog`] trait the stores implement (Redis Streams, memory),
//! what it reads and writes ([`Stored`] entries of the hash [`chain`], its [`Head`]) and its
//! errors. The typed events are the domain's (`jitgate_core::audit`); what jitgate does with
//! the log (checkpoints, verification, queries, exports) is `jitgate::audit`'s.

pub mod chain;

use async_trait::async_trait;
use jitgate_core::time::Timestamp;

use crate::StoreError;
pub use chain::{AuditEntry, ChainError, GENESIS};
pub use jitgate_core::audit::{AuditEvent, AuditKind};

/// Why the audit log could not be read or written.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuditError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the audit log holds an unreadable entry: {0}")]
    Corrupt(String),
}

/// The chain's two ends: the last entry written, and where the kept entries start (the
/// entry before the first kept one; `(0, genesis)` until retention trims anything).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Head {
    pub seq: u64,
    pub hash: String,
    pub start_seq: u64,
    pub start_hash: String,
}

impl Default for Head {
    fn default() -> Self {
        Self { seq: 0, hash: GENESIS.into(), start_seq: 0, start_hash: GENESIS.into() }
    }
}

/// An entry as stored: its position in the log (`cursor`, for paging), when the log
/// recorded it, and the chained entry itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stored {
    pub cursor: String,
    pub recorded_at: Timestamp,
    pub entry: AuditEntry,
}

/// The audit log. Appends are atomic and ordered; reads page through entries in the order
/// they were written.
#[async_trait]
pub trait AuditLog: Send + Sync + 'static {
    /// Appends events to the chain, in order; returns the sequence number of the last one.
    async fn append(&self, events: &[AuditEvent]) -> Result<u64, AuditError>;

    async fn head(&self) -> Result<Head, AuditError>;

    /// Up to `limit` entries after `after` (exclusive; `None` = from the first kept entry).
    async fn read(&self, after: Option<&str>, limit: usize) -> Result<Vec<Stored>, AuditError>;

    /// Up to `limit` entries before `before` (exclusive; `None` = from the newest), newest
    /// first.
    async fn read_back(
        &self,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Stored>, AuditError>;

    /// A cursor that `read` continues from so that entries recorded at or after `at` follow
    /// (`0-0`, before every entry, for `at` at or before the epoch: a negative stream id is
    /// refused by Redis).
    fn cursor_at(&self, at: Timestamp) -> String {
        match u64::try_from(at.as_millis()) {
            Ok(ms) if ms > 0 => format!("{}-{}", ms.saturating_sub(1), u64::MAX),
            _ => BEFORE_ALL.into(),
        }
    }

    /// Moves events that control-plane writes left in their outboxes into the chain (after
    /// a crash between a change and its relay). Returns how many were moved.
    async fn relay_outboxes(&self) -> Result<usize, AuditError>;

    /// Drops every entry up to and including `through` (retention, after export) and records
    /// where the kept chain now starts. Refuses if `through` no longer matches the log.
    async fn trim(&self, through: &Stored) -> Result<u64, AuditError>;
}

/// The position before every entry (no entry has this id). Reading on from it reads from the
/// first entry; reading back from it reads nothing.
pub const BEFORE_ALL: &str = "0-0";

/// Parses a stream-style cursor `<ms>-<n>` (what [`Stored::cursor`] holds).
pub fn parse_cursor(raw: &str) -> Option<(u64, u64)> {
    let (ms, n) = raw.split_once('-')?;
    let id = (ms.parse().ok()?, n.parse().ok()?);
    // No entry has either id, and Redis refuses a range that starts after the last possible
    // one or ends before the first (`0-0` answered 503 instead of 400).
    (id != (0, 0) && id != (u64::MAX, u64::MAX)).then_some(id)
}
