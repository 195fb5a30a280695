use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::{DecisionRecord, Recorder, RecorderSettings};
use crate::audit::{AuditEvent, AuditKind, AuditLog, chain};
use crate::authz::FoldLimits;
use crate::config::DecisionAudit;
use crate::decision::DenyReason;
use crate::metrics::Metrics;
use crate::mode::Mode;
use crate::store::{MemoryAuditLog, MemoryStore};
use crate::time::{Clock, SystemClock};

fn mk_settings(window: Duration) -> RecorderSettings {
    RecorderSettings {
        decisions: DecisionAudit::All,
        stdout: false,
        queue_size: 4096,
        batch_size: 100,
        flush_interval: Duration::from_millis(10),
        fold: FoldLimits {
            path_max_bytes: 2048,
            anonymous_path_bytes: 256,
            window,
            max_groups: 32,
        },
    }
}

fn mk_record(i: usize, subject: Option<&str>, path: &str) -> DecisionRecord {
    let id = format!("d{i}");
    let mut event = AuditEvent::with_id(AuditKind::DecisionDeny, SystemClock.now(), id.clone())
        .reason(DenyReason::TokenMissing.code());
    event.decision_id = Some(id);
    event.subject = subject.map(String::from);
    (event.service, event.method) = (Some("orders".into()), Some("GET".into()));
    event.path = Some(path.into());
    DecisionRecord { event, mode: Mode::Enforce, deny: Some(DenyReason::TokenMissing), usage: None }
}

/// Records `records`, then shuts the writer down (which closes the open window).
async fn record_all(records: Vec<DecisionRecord>, window: Duration) -> Arc<MemoryAuditLog> {
    let log = Arc::new(MemoryAuditLog::default());
    let (tracker, cancel) = (TaskTracker::new(), CancellationToken::new());
    let recorder = Recorder::spawn(
        mk_settings(window),
        log.clone(),
        Arc::new(MemoryStore::new()),
        Arc::new(Metrics::new()),
        &tracker,
        cancel.clone(),
    );
    for r in records {
        recorder.record(r);
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    cancel.cancel();
    tracker.close();
    tracker.wait().await;
    log
}

#[tokio::test]
async fn an_anonymous_flood_is_written_as_a_few_counted_records_and_the_chain_links() {
    let path = format!("/orders/{}", "segment-".repeat(800));
    let mut records: Vec<DecisionRecord> = (0..1000).map(|i| mk_record(i, None, &path)).collect();
    records.extend((1000..1003).map(|i| mk_record(i, Some("user:alice"), &path)));
    let log = record_all(records, Duration::from_secs(60)).await;

    let events = log.events();
    let (alice, anonymous): (Vec<&AuditEvent>, Vec<&AuditEvent>) =
        events.iter().partition(|e| e.subject.is_some());
    assert_eq!(alice.len(), 3, "identified callers keep one record per decision");
    assert!(alice.iter().all(|e| e.path.as_ref().is_some_and(|p| p.len() == 2048)));
    assert_eq!(anonymous.len(), 1, "one window, one call: one record");
    assert_eq!(anonymous[0].details["count"], 1000);
    assert_eq!(anonymous[0].path.as_ref().map(String::len), Some(256));
    let bytes: usize = anonymous.iter().map(|e| e.to_json().len()).sum();
    assert!(bytes < 1000, "{bytes} bytes of events for 1000 anonymous calls");

    let stored = log.read(None, 10_000).await.unwrap();
    let entries: Vec<_> = stored.into_iter().map(|s| s.entry).collect();
    assert!(chain::walk(&entries, (0, chain::GENESIS)).is_ok());
}

#[tokio::test]
async fn a_closed_window_is_written_without_waiting_for_shutdown() {
    let log = Arc::new(MemoryAuditLog::default());
    let (tracker, cancel) = (TaskTracker::new(), CancellationToken::new());
    let recorder = Recorder::spawn(
        mk_settings(Duration::from_millis(100)),
        log.clone(),
        Arc::new(MemoryStore::new()),
        Arc::new(Metrics::new()),
        &tracker,
        cancel.clone(),
    );
    recorder.record(mk_record(1, None, "/orders/1"));
    recorder.record(mk_record(2, None, "/orders/1"));
    let mut written = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if let Some(e) = log.events().first() {
            assert_eq!(e.details["count"], 2);
            written = true;
            break;
        }
    }
    cancel.cancel();
    tracker.close();
    tracker.wait().await;
    assert!(written, "the folded record was not written after its window");
    assert_eq!(log.events().len(), 1, "nothing written twice");
}
