//! APPLICATION: what a Check leaves behind, written off the hot path. The Check hands one
//! [`DecisionRecord`] to a bounded queue and returns; a background task batches the queue
//! into the audit chain, folds allowed uses into each grant's usage ledger, and prints the
//! OPA-style decision log line. When the queue is full the record is dropped, counted and
//! logged, and the next batch starts with an `audit.gap` event saying how many went missing.

use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::json;
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::audit::{AuditEvent, AuditKind, AuditLog};
use crate::config::DecisionAudit;
use crate::grant::{GrantId, Principal};
use crate::metrics::{Metrics, ReasonLabels};
use crate::store::{GrantStore, UsageDelta};
use crate::time::{Clock, SystemClock, Timestamp};

/// One allowed use, for the usage ledger.
#[derive(Clone, Debug)]
pub struct UsageHit {
    pub grant: GrantId,
    pub subject: Principal,
    pub expires_at: Timestamp,
    pub limited: bool,
    pub path: String,
}

/// What one Check leaves behind.
#[derive(Clone, Debug)]
pub struct DecisionRecord {
    pub event: AuditEvent,
    pub usage: Option<UsageHit>,
}

#[derive(Clone, Debug)]
pub struct RecorderSettings {
    pub decisions: DecisionAudit,
    pub stdout: bool,
    pub queue_size: usize,
    pub batch_size: usize,
    pub flush_interval: Duration,
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
                self.flush(batch, rx.len()).await;
            }
        }
        rx.close();
        let mut rest = Vec::new();
        while rx.recv_many(&mut rest, size).await > 0 {}
        self.flush(rest, 0).await;
    }

    async fn flush(&mut self, batch: Vec<DecisionRecord>, waiting: usize) {
        self.metrics.audit_queue_depth.set(i64::try_from(waiting).unwrap_or(i64::MAX));
        if self.settings.stdout && !batch.is_empty() {
            print_decision_log(&batch);
        }
        self.write_usage(&batch).await;
        let mut events: Vec<AuditEvent> = batch
            .into_iter()
            .map(|r| r.event)
            .filter(|e| match self.settings.decisions {
                DecisionAudit::All => true,
                DecisionAudit::Denies => e.kind == AuditKind::DecisionDeny,
                DecisionAudit::None => false,
            })
            .collect();
        let now = SystemClock.now();
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
                // Every decision in this batch joins the gap; the next append records it.
                let lost = n.saturating_sub(u64::from(dropped > 0));
                self.dropped.fetch_add(lost.saturating_add(dropped), Ordering::Relaxed);
                self.gap_since.get_or_insert(now);
                Metrics::count_result(&self.metrics.audit_appends, "error");
                self.metrics
                    .audit_dropped
                    .get_or_create(&ReasonLabels { reason: "log_unavailable" })
                    .inc_by(lost);
                tracing::warn!(error = %e, lost, "Audit append failed; the gap will be recorded");
            }
        }
    }

    fn gap_event(&self, dropped: u64, now: Timestamp) -> AuditEvent {
        let since = self.gap_since.unwrap_or(now);
        AuditEvent::new(AuditKind::Gap, now).details(json!({
            "dropped": dropped,
            "since": since,
            "until": now,
        }))
    }

    async fn write_usage(&self, batch: &[DecisionRecord]) {
        let mut by_grant: HashMap<&GrantId, (UsageDelta, BTreeSet<&str>)> = HashMap::new();
        for r in batch {
            let Some(hit) = &r.usage else { continue };
            let at = r.event.at;
            let (d, paths) = by_grant.entry(&hit.grant).or_insert_with(|| {
                let d = UsageDelta {
                    grant: hit.grant.clone(),
                    subject: hit.subject.clone(),
                    expires_at: hit.expires_at,
                    limited: hit.limited,
                    uses: 0,
                    first: at,
                    last: at,
                    paths: Vec::new(),
                };
                (d, BTreeSet::new())
            });
            d.uses = d.uses.saturating_add(1);
            d.first = d.first.min(at);
            d.last = d.last.max(at);
            paths.insert(&hit.path);
        }
        if by_grant.is_empty() {
            return;
        }
        let deltas: Vec<UsageDelta> = by_grant
            .into_values()
            .map(|(mut d, paths)| {
                d.paths = paths.into_iter().map(String::from).collect();
                d
            })
            .collect();
        let result = self.store.record_usage(&deltas).await;
        Metrics::count_result(
            &self.metrics.usage_flushes,
            if result.is_ok() { "ok" } else { "error" },
        );
        if let Err(e) = result {
            tracing::warn!(error = %e, grants = deltas.len(), "Usage ledger update failed; these uses are not in it");
        }
    }
}

/// One line per decision, shaped like OPA's decision log so existing pipelines parse it.
fn print_decision_log(batch: &[DecisionRecord]) {
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
            "mode": e.details.get("mode"),
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
