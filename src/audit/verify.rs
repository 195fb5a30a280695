//! DOMAIN, pure: what `jitgate audit verify` checks, fed one entry at a time so a log of any
//! size verifies in constant memory.
//!
//! 1. the chain: every entry's hash matches its content and links to the one before, with
//!    no gaps in the sequence (edits, deletions, reordering);
//! 2. the ends: the last entry is the one the head records (a cut tail), and a log that starts
//!    after entry 0 has an `audit.trimmed` entry saying retention cut it there (a cut start);
//! 3. the checkpoints: each is correctly signed, and the entry it vouches for is present with
//!    the hash it vouches for (a cut tail with a rewritten head, or a rewritten history).
//!
//! Verification stops at the first problem and names the entry.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::chain::{ChainError, entry_hash};
use super::checkpoint::SignedCheckpoint;
use super::event::details::Trimmed;
use super::{Head, Stored};

/// The first problem found.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("{error} (cursor {cursor})")]
    Chain { error: ChainError, cursor: String },
    #[error(
        "the log ends at entry {last} but its head records entry {head}: entries after {last} were deleted (tail truncated)"
    )]
    HeadAhead { last: u64, head: u64 },
    #[error("entry {last} is past the head's entry {head}: the head was rewritten")]
    HeadBehind { last: u64, head: u64 },
    #[error("entry {seq}: its hash differs from the one the head records")]
    HeadHash { seq: u64 },
    #[error(
        "the log starts after entry {start}, but no `audit.trimmed` entry records a trim there: entries up to {start} were deleted"
    )]
    StartUnrecorded { start: u64 },
    #[error(
        "checkpoint on line {line} has a bad signature (forged, or verified with the wrong key)"
    )]
    CheckpointSignature { line: usize },
    #[error("entry {seq}: differs from what the checkpoint signed at {at} vouches for (rewritten)")]
    CheckpointHash { seq: u64, at: String },
    #[error(
        "a checkpoint signed at {at} vouches for entry {seq}, but the log ends at entry {last}: entries {}..={seq} were removed (tail truncated)",
        last + 1
    )]
    Truncated { seq: u64, last: u64, at: String },
}

/// What a verification covered.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub entries: u64,
    pub first: Option<u64>,
    pub last: u64,
    pub last_hash: String,
    pub checkpoints_checked: usize,
    /// Checkpoints for entries trimmed by retention (nothing left to compare with).
    pub checkpoints_trimmed: usize,
}

/// Walks entries in stored order.
pub struct Verifier {
    start: (u64, String),
    last: (u64, String),
    head: Option<Head>,
    /// Signed checkpoints not yet matched, by the entry they vouch for.
    pending: BTreeMap<u64, Vec<SignedCheckpoint>>,
    trims: Vec<(u64, String)>,
    report: Report,
}

// === impl Verifier ===

impl Verifier {
    /// Verifies a live log against its head. Checkpoint signatures are checked here, first.
    pub fn for_log(
        head: Head,
        checkpoints: Vec<SignedCheckpoint>,
        key: &[u8],
    ) -> Result<Self, Problem> {
        let start = (head.start_seq, head.start_hash.clone());
        let mut v = Self::new(start, checkpoints, key)?;
        v.head = Some(head);
        Ok(v)
    }

    /// Verifies an export: it starts wherever its first entry says it starts.
    pub fn for_export(
        first: &Stored,
        checkpoints: Vec<SignedCheckpoint>,
        key: &[u8],
    ) -> Result<Self, Problem> {
        let start = (first.entry.seq.saturating_sub(1), first.entry.prev.clone());
        Self::new(start, checkpoints, key)
    }

    fn new(
        start: (u64, String),
        checkpoints: Vec<SignedCheckpoint>,
        key: &[u8],
    ) -> Result<Self, Problem> {
        let mut report = Report { last: start.0, last_hash: start.1.clone(), ..Report::default() };
        let mut pending: BTreeMap<u64, Vec<SignedCheckpoint>> = BTreeMap::new();
        for c in checkpoints {
            if !c.verifies(key) {
                return Err(Problem::CheckpointSignature { line: c.line });
            }
            let seq = c.checkpoint.seq;
            if seq < start.0 {
                report.checkpoints_trimmed += 1;
            } else if seq == start.0 {
                check_hash(&c, &start.1)?;
                report.checkpoints_checked += 1;
            } else {
                pending.entry(seq).or_default().push(c);
            }
        }
        Ok(Self { last: start.clone(), start, head: None, pending, trims: Vec::new(), report })
    }

    /// Checks the next entry.
    pub fn feed(&mut self, s: &Stored) -> Result<(), Problem> {
        let e = &s.entry;
        let chain = |error| Problem::Chain { error, cursor: s.cursor.clone() };
        if e.seq <= self.last.0 {
            return Err(chain(ChainError::Backwards { seq: e.seq }));
        }
        if e.seq != self.last.0 + 1 {
            return Err(chain(ChainError::Gap { after: self.last.0, next: e.seq }));
        }
        if e.prev != self.last.1 {
            return Err(chain(ChainError::Unlinked { seq: e.seq }));
        }
        if entry_hash(&e.prev, e.seq, &e.event) != e.hash {
            return Err(chain(ChainError::Edited { seq: e.seq }));
        }
        for c in self.pending.remove(&e.seq).unwrap_or_default() {
            check_hash(&c, &e.hash)?;
            self.report.checkpoints_checked += 1;
        }
        if let Some(t) = trimmed_through(&e.event) {
            self.trims.push(t);
        }
        self.last = (e.seq, e.hash.clone());
        self.report.entries += 1;
        self.report.first.get_or_insert(e.seq);
        Ok(())
    }

    /// Checks the ends and the checkpoints past the last entry.
    pub fn finish(mut self) -> Result<Report, Problem> {
        let (last, last_hash) = self.last.clone();
        if let Some(head) = &self.head {
            if head.seq > last {
                return Err(Problem::HeadAhead { last, head: head.seq });
            }
            if head.seq < last {
                return Err(Problem::HeadBehind { last, head: head.seq });
            }
            if head.hash != last_hash {
                return Err(Problem::HeadHash { seq: last });
            }
            let (start, start_hash) = &self.start;
            if *start > 0 && !self.trims.iter().any(|(s, h)| s == start && h == start_hash) {
                return Err(Problem::StartUnrecorded { start: *start });
            }
        }
        if let Some((seq, cs)) = self.pending.pop_first() {
            let at = cs.first().map(|c| c.checkpoint.at.to_string()).unwrap_or_default();
            return Err(Problem::Truncated { seq, last, at });
        }
        self.report.last = last;
        self.report.last_hash = last_hash;
        Ok(self.report)
    }
}

fn check_hash(c: &SignedCheckpoint, hash: &str) -> Result<(), Problem> {
    if c.checkpoint.hash == hash {
        Ok(())
    } else {
        Err(Problem::CheckpointHash { seq: c.checkpoint.seq, at: c.checkpoint.at.to_string() })
    }
}

/// `(through_seq, through_hash)` of an `audit.trimmed` event.
fn trimmed_through(event: &str) -> Option<(u64, String)> {
    if !event.contains("\"audit.trimmed\"") {
        return None;
    }
    let v: Value = serde_json::from_str(event).ok()?;
    (v.get("kind")?.as_str()? == "audit.trimmed").then_some(())?;
    let d = Trimmed::deserialize(v.get("details")?).ok()?;
    Some((d.through_seq, d.through_hash))
}

#[cfg(test)]
#[path = "verify_tests.rs"]
mod tests;
