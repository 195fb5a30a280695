//! APPLICATION: what a Check leaves behind, written off the hot path. The Check hands one
//! [`DecisionRecord`] to a bounded queue and returns; a background task batches the queue
//! into the audit chain, folds allowed uses into each grant's usage ledger, and prints the
//! OPA-style decision log line. When the queue is full the record is dropped, counted and
//! logged, and the next batch starts with an `audit.gap` event saying how many went missing.
//!
//! Before a batch is appended, [`fold`](super::fold) bounds what each decision costs: an
//! identified caller's decision keeps its own record (its path cut to `audit.path_max_bytes`);
//! denies of callers jitgate could not identify are counted into a few records per window.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::decision_log;
use super::fold::{FoldLimits, Folder, Offered};
use super::usage::{self, UsageHit};
use crate::audit::event::details::Gap;
use crate::audit::{AuditEvent, AuditKind, AuditLog};
use crate::config::DecisionAudit;
use crate::decision::DenyReason;
use crate::metrics::{Metrics, ReasonLabels};
use crate::mode::Mode;
use crate::store::GrantStore;
use crate::time::{Clock, SystemClock, Timestamp};

/// What one Check leaves behind.
#[derive(Clone, Debug)]
pub struct DecisionRecord {
    /// The decision event, with the whole path (the writer cuts it).
    pub event: AuditEvent,
    /// How Envoy was answered.
    pub mode: Mode,
    /// The deny's reason; `None` for an allow.
    pub deny: Option<DenyReason>,
    pub usage: Option<UsageHit>,
}

#[derive(Clone, Debug)]
pub struct RecorderSettings {
    pub decisions: DecisionAudit,
    pub stdout: bool,
    pub queue_size: usize,
    pub batch_size: usize,
    pub flush_interval: Duration,
    pub fold: FoldLimits,
}

/// The hot-path end of the queue.
pub struct Recorder {
    tx: mpsc::Sender<DecisionRecord>,
    dropped: Arc<AtomicU64>,
    metrics: Arc<Metrics>,
    /// Wakes the writer once a batch is waiting (it does not wake for every record).
    batch_ready: Arc<Notify>,
    batch_size: usize,
}

// === impl Recorder ===

impl Recorder {
    /// Starts the writer task; it drains the queue when `cancel` fires, then stops.
    pub fn spawn(
        settings: RecorderSettings,
        log: Arc<dyn AuditLog>,
        store: Arc<dyn GrantStore>,
        metrics: Arc<Metrics>,
        tracker: &TaskTracker,
        cancel: CancellationToken,
    ) -> Arc<Self> {
        let (tx, rx) = mpsc::channel(settings.queue_size);
        let dropped = Arc::new(AtomicU64::new(0));
        let batch_ready = Arc::new(Notify::new());
        let batch_size = settings.batch_size.max(1);
        let writer = Writer {
            folder: Folder::new(settings.fold),
            settings,
            log,
            store,
            metrics: metrics.clone(),
            dropped: dropped.clone(),
            gap_since: None,
        };
        tracker.spawn(writer.run(rx, batch_ready.clone(), cancel));
        Arc::new(Self { tx, dropped, metrics, batch_ready, batch_size })
    }

    /// Queues a record without waiting. Never fails the Check.
    pub fn record(&self, record: DecisionRecord) {
        match self.tx.try_send(record) {
            Ok(()) => {
                let depth = self.tx.max_capacity().saturating_sub(self.tx.capacity());
                self.metrics.audit_queue_depth.set(i64::try_from(depth).unwrap_or(i64::MAX));
                if depth >= self.batch_size {
                    self.batch_ready.notify_one();
                }
            }
            Err(_) => {
                let n = self.dropped.fetch_add(1, Ordering::Relaxed).saturating_add(1);
                self.metrics
                    .audit_dropped
                    .get_or_create(&ReasonLabels { reason: "queue_full" })
                    .inc();
                if n.is_power_of_two() {
                    tracing::warn!(
                        dropped = n,
                        "Audit queue full: decision records dropped; a gap will be recorded"
                    );
                }
            }
        }
    }
}

/// The task end of the queue.
struct Writer {
    settings: RecorderSettings,
    log: Arc<dyn AuditLog>,
    store: Arc<dyn GrantStore>,
    metrics: Arc<Metrics>,
    dropped: Arc<AtomicU64>,
    /// When the first record of the current unrecorded gap went missing.
    gap_since: Option<Timestamp>,
    folder: Folder,
}

impl Writer {
    /// Flushes full batches when the recorder says one is waiting, and whatever is queued at
    /// every tick; the writer never wakes per record.
    async fn run(
        mut self,
        mut rx: mpsc::Receiver<DecisionRecord>,
        batch_ready: Arc<Notify>,
        cancel: CancellationToken,
    ) {
        let size = self.settings.batch_size.max(1);
        let mut tick = tokio::time::interval(self.settings.flush_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let at_tick = tokio::select! {
                _ = cancel.cancelled() => break,
                _ = batch_ready.notified() => false,
                _ = tick.tick() => true,
            };
            // Whole batches whenever they wait; at a tick also the rest, and an empty flush
            // so a gap is recorded even when nothing else is.
            let mut first = true;
            loop {
                let waiting = rx.len();
                if waiting < size && !(at_tick && (waiting > 0 || first)) {
                    break;
                }
                first = false;
                let mut batch = Vec::with_capacity(waiting.min(size));
                if waiting > 0 {
                    rx.recv_many(&mut batch, size).await;
                }
                self.flush(batch, rx.len(), false).await;
            }
        }
        rx.close();
        let mut rest = Vec::new();
        while rx.recv_many(&mut rest, size).await > 0 {}
        self.flush(rest, 0, true).await;
    }

    /// Appends the batch's own records, plus the folded ones when their window is over (or
    /// this is the `last` flush).
    async fn flush(&mut self, batch: Vec<DecisionRecord>, waiting: usize, last: bool) {
        self.metrics.audit_queue_depth.set(i64::try_from(waiting).unwrap_or(i64::MAX));
        if self.settings.stdout && !batch.is_empty() {
            decision_log::print(&batch);
        }
        usage::write(self.store.as_ref(), &self.metrics, &batch).await;
        let now = SystemClock.now();
        let mut events = self.sort(batch, now);
        // Decisions this append stands for: what goes missing if it fails.
        let mut decisions = u64::try_from(events.len()).unwrap_or(u64::MAX);
        if last || self.folder.due(now) {
            let closed = self.folder.close();
            decisions = decisions.saturating_add(closed.denies);
            events.extend(closed.events);
        }
        let dropped = self.dropped.swap(0, Ordering::Relaxed);
        if dropped > 0 {
            self.gap_since.get_or_insert(now);
            events.insert(0, self.gap_event(dropped, now));
        }
        if events.is_empty() {
            return;
        }
        let n = u64::try_from(events.len()).unwrap_or(u64::MAX);
        match self.log.append(&events).await {
            Ok(_) => {
                self.gap_since = None;
                Metrics::count_result(&self.metrics.audit_appends, "ok");
                self.metrics.audit_events.inc_by(n);
            }
            Err(e) => {
                // Every decision in this append joins the gap; the next append records it.
                self.dropped.fetch_add(decisions.saturating_add(dropped), Ordering::Relaxed);
                self.gap_since.get_or_insert(now);
                Metrics::count_result(&self.metrics.audit_appends, "error");
                self.metrics
                    .audit_dropped
                    .get_or_create(&ReasonLabels { reason: "log_unavailable" })
                    .inc_by(decisions);
                tracing::warn!(error = %e, lost = decisions, "Audit append failed; the gap will be recorded");
            }
        }
    }

    /// The events of the batch that `audit.decisions` records and that keep their own
    /// record; unidentified denies are folded (and counted).
    fn sort(&mut self, batch: Vec<DecisionRecord>, now: Timestamp) -> Vec<AuditEvent> {
        let mut pass = Vec::with_capacity(batch.len());
        for r in batch {
            let recorded = match self.settings.decisions {
                DecisionAudit::All => true,
                DecisionAudit::Denies => r.deny.is_some(),
                DecisionAudit::None => false,
            };
            if !recorded {
                continue;
            }
            match self.folder.offer(r.event, r.mode, r.deny, now) {
                Offered::Pass(e) => pass.push(e),
                Offered::Folded { reason, overflow } => {
                    let labels = ReasonLabels { reason: reason.code() };
                    self.metrics.audit_folded.get_or_create(&labels).inc();
                    if overflow {
                        self.metrics.audit_fold_overflows.inc();
                    }
                }
            }
        }
        pass
    }

    fn gap_event(&self, dropped: u64, now: Timestamp) -> AuditEvent {
        let since = self.gap_since.unwrap_or(now);
        AuditEvent::new(AuditKind::Gap, now).details(&Gap { dropped, since, until: now })
    }
}

#[cfg(test)]
#[path = "recorder_tests.rs"]
mod tests;
