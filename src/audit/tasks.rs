//! The audit log's background work: relaying outboxes left behind by a crash, writing signed
//! checkpoints outside Redis, and retention (export, then trim).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::checkpoint::Checkpoint;
use super::event::details::Trimmed;
use super::export::EntryLine;
use super::{AuditError, AuditEvent, AuditKind, AuditLog, Stored};
use crate::metrics::Metrics;
use crate::time::{Clock, Timestamp};

/// Runs `f` every `every` until cancelled.
async fn every<F, Fut>(every: Duration, cancel: CancellationToken, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        f().await;
    }
}

/// Relays stranded outbox events into the chain, now and then every `interval`.
pub async fn relay_loop(
    log: Arc<dyn AuditLog>,
    interval: Duration,
    metrics: Arc<Metrics>,
    cancel: CancellationToken,
) {
    let relay = || async {
        match log.relay_outboxes().await {
            Ok(0) => {}
            Ok(n) => {
                metrics.audit_relayed.inc_by(u64::try_from(n).unwrap_or(0));
                tracing::warn!(
                    relayed = n,
                    "Relayed audit events a crashed writer left in outboxes"
                );
            }
            Err(e) => tracing::debug!(error = %e, "Audit outbox relay failed; retrying next tick"),
        }
    };
    relay().await;
    every(interval, cancel, relay).await;
}

/// Writes signed checkpoints of the chain's head to the logs and, optionally, a file.
pub struct Checkpointer {
    log: Arc<dyn AuditLog>,
    key: Vec<u8>,
    file: Option<PathBuf>,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
    last: Mutex<u64>,
}

impl Checkpointer {
    pub fn new(
        log: Arc<dyn AuditLog>,
        key: Vec<u8>,
        file: Option<PathBuf>,
        clock: Arc<dyn Clock>,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self { log, key, file, clock, metrics, last: Mutex::new(0) }
    }

    /// Checkpoints the head unless it was already checkpointed. Returns the token written.
    pub async fn write_once(&self) -> Option<String> {
        let head = match self.log.head().await {
            Ok(h) => h,
            Err(e) => {
                Metrics::count_result(&self.metrics.audit_checkpoints, "error");
                tracing::warn!(error = %e, "Audit checkpoint skipped: the log is unreachable");
                return None;
            }
        };
        let unchanged = self.last.lock().map(|l| *l == head.seq).unwrap_or(false);
        if head.seq == 0 || unchanged {
            return None;
        }
        let token =
            Checkpoint { seq: head.seq, hash: head.hash, at: self.clock.now() }.sign(&self.key);
        tracing::info!(audit.seq = head.seq, checkpoint = %token, "Audit checkpoint");
        if let Some(path) = &self.file
            && let Err(e) = append_line(path, &token)
        {
            Metrics::count_result(&self.metrics.audit_checkpoints, "error");
            tracing::error!(error = %e, file = %path.display(), "Could not write the audit checkpoint file");
            return Some(token);
        }
        if let Ok(mut l) = self.last.lock() {
            *l = head.seq;
        }
        Metrics::count_result(&self.metrics.audit_checkpoints, "ok");
        Some(token)
    }

    pub async fn run(self: Arc<Self>, interval: Duration, cancel: CancellationToken) {
        every(interval, cancel, || async {
            self.write_once().await;
        })
        .await;
    }
}

fn append_line(path: &Path, line: &str) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    writeln!(f, "{line}")?;
    f.sync_data()
}

/// Exports entries older than the retention to a file, then trims them from the log and
/// records an `audit.trimmed` event (which `audit verify` needs to accept the new start).
pub struct Retention {
    pub log: Arc<dyn AuditLog>,
    pub retention: Duration,
    pub export_dir: PathBuf,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<Metrics>,
}

/// Most entries one retention run exports and trims.
const TRIM_MAX: usize = 200_000;

impl Retention {
    /// One pass; returns how many entries were trimmed.
    pub async fn trim_once(&self) -> Result<u64, AuditError> {
        let cutoff = self.clock.now().saturating_sub(self.retention);
        let old = self.expired_entries(cutoff).await?;
        let (Some(first), Some(last)) = (old.first(), old.last()) else { return Ok(0) };
        let name = format!("audit-{:020}-{:020}.jsonl", first.entry.seq, last.entry.seq);
        let path = self.export_dir.join(&name);
        export(&path, &old).map_err(|e| {
            AuditError::Corrupt(format!("export to {} failed: {e}", path.display()))
        })?;
        let trimmed = self.log.trim(last).await?;
        let event = AuditEvent::new(AuditKind::Trimmed, self.clock.now()).details(&Trimmed {
            through_seq: last.entry.seq,
            through_hash: last.entry.hash.clone(),
            count: trimmed,
            exported_to: name.to_string(),
        });
        self.log.append(&[event]).await?;
        self.metrics.audit_trimmed.inc_by(trimmed);
        tracing::info!(audit.through_seq = last.entry.seq, count = trimmed, export = %path.display(), "Audit entries exported and trimmed");
        Ok(trimmed)
    }

    async fn expired_entries(&self, cutoff: Timestamp) -> Result<Vec<Stored>, AuditError> {
        let mut out: Vec<Stored> = Vec::new();
        loop {
            let after = out.last().map(|s| s.cursor.clone());
            let page = self.log.read(after.as_deref(), 1000).await?;
            let full = page.len() == 1000;
            for s in page {
                if s.recorded_at >= cutoff || out.len() >= TRIM_MAX {
                    return Ok(out);
                }
                out.push(s);
            }
            if !full {
                return Ok(out);
            }
        }
    }

    pub async fn run(self, interval: Duration, cancel: CancellationToken) {
        let this = &self;
        every(interval, cancel, || async move {
            if let Err(e) = this.trim_once().await {
                tracing::warn!(error = %e, "Audit retention failed; nothing was trimmed");
            }
        })
        .await;
    }
}

/// Writes an export atomically: a temporary file, synced, then renamed into place.
pub fn export(path: &Path, entries: &[Stored]) -> std::io::Result<()> {
    let tmp = path.with_extension("jsonl.tmp");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
        for s in entries {
            let line = EntryLine::from_stored(s).map_err(std::io::Error::other)?;
            writeln!(f, "{}", line.to_line())?;
        }
        f.flush()?;
        f.get_ref().sync_all()?;
    }
    std::fs::rename(&tmp, path)
}
