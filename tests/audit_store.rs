//! The audit log's storage against a real redis-server (and the in-memory log where the
//! behaviour must match): the outbox relay, retention with export, and checkpoints.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use jitgate::audit::checkpoint::scan;
use jitgate::audit::export::parse_lines;
use jitgate::audit::tasks::{Checkpointer, Retention};
use jitgate::audit::verify::Verifier;
use jitgate::audit::{AuditEvent, AuditKind, AuditLog};
use jitgate::metrics::Metrics;
use jitgate::store::{MemoryAuditLog, RedisAuditLog, RedisConn, RedisSettings};
use jitgate::time::{Clock, SystemClock, Timestamp};

use common::RedisServer;

fn conn(server: &RedisServer) -> RedisConn {
    let settings = RedisSettings {
        url: server.url(),
        key_prefix: "jitgate".into(),
        op_timeout: Duration::from_secs(2),
        connect_timeout: Duration::from_secs(1),
    };
    RedisConn::connect(&settings, Arc::new(Metrics::new())).unwrap()
}

fn event(n: u64) -> AuditEvent {
    AuditEvent::new(AuditKind::RequestFiled, SystemClock.now())
        .subject("user:alice")
        .details(&serde_json::json!({ "n": n }))
}

async fn all(log: &dyn AuditLog) -> Vec<jitgate::audit::Stored> {
    log.read(None, 10_000).await.unwrap()
}

#[tokio::test]
async fn a_stranded_outbox_is_relayed_once_even_when_relayed_twice() {
    let server = RedisServer::start().await;
    let log = RedisAuditLog::new(conn(&server));
    let mut c = server.client().await;
    let outbox = "jitgate:{user:alice}:audit-outbox";
    let (a, b) = (event(1).to_json(), event(2).to_json());
    // A writer changed something and died before relaying its event.
    let _: () = redis::cmd("RPUSH").arg(outbox).arg(&a).arg(&b).query_async(&mut c).await.unwrap();
    assert_eq!(log.relay_outboxes().await.unwrap(), 2);
    // Another died after appending but before clearing its outbox: the copy is not appended again.
    let _: () = redis::cmd("RPUSH").arg(outbox).arg(&a).query_async(&mut c).await.unwrap();
    log.relay_outboxes().await.unwrap();
    let entries = all(&log).await;
    let events: Vec<&str> = entries.iter().map(|s| s.entry.event.as_str()).collect();
    assert_eq!(events, [a.as_str(), b.as_str()]);
    let left: i64 = redis::cmd("LLEN").arg(outbox).query_async(&mut c).await.unwrap();
    assert_eq!(left, 0);
    assert_eq!(log.head().await.unwrap().seq, 2);
}

/// A clock two hours ahead, so everything written now is past a one-hour retention.
struct Later;
impl Clock for Later {
    fn now(&self) -> Timestamp {
        SystemClock.now().saturating_add(Duration::from_secs(7200))
    }
}

async fn retention_round_trip(log: Arc<dyn AuditLog>) {
    log.append(&(1..=5).map(event).collect::<Vec<_>>()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let r = Retention {
        log: log.clone(),
        retention: Duration::from_secs(3600),
        export_dir: dir.path().to_path_buf(),
        clock: Arc::new(Later),
        metrics: Arc::new(Metrics::new()),
    };
    assert_eq!(r.trim_once().await.unwrap(), 5);
    // The log now holds only the trim record, and starts after entry 5.
    let head = log.head().await.unwrap();
    assert_eq!((head.seq, head.start_seq), (6, 5));
    let kept = all(log.as_ref()).await;
    assert_eq!(kept.len(), 1);
    assert!(kept[0].entry.event.contains("audit.trimmed"));
    let mut v = Verifier::for_log(head, Vec::new(), b"").unwrap();
    for s in &kept {
        v.feed(s).unwrap();
    }
    v.finish().unwrap();
    // The export holds the five entries, verifiable on their own.
    let file = std::fs::read_dir(dir.path()).unwrap().next().unwrap().unwrap().path();
    assert!(file.file_name().unwrap().to_string_lossy().starts_with("audit-"));
    let exported = parse_lines(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(exported.len(), 5);
    let mut v = Verifier::for_export(&exported[0], Vec::new(), b"").unwrap();
    for s in &exported {
        v.feed(s).unwrap();
    }
    assert_eq!(v.finish().unwrap().last, 5);
    // A later pass trims the first trim record too; its own record keeps the chain provable.
    assert_eq!(r.trim_once().await.unwrap(), 1);
    let head = log.head().await.unwrap();
    assert_eq!((head.seq, head.start_seq), (7, 6));
    let mut v = Verifier::for_log(head, Vec::new(), b"").unwrap();
    for s in &all(log.as_ref()).await {
        v.feed(s).unwrap();
    }
    v.finish().unwrap();
}

#[tokio::test]
async fn retention_exports_then_trims_and_the_chain_still_verifies_in_redis() {
    let server = RedisServer::start().await;
    retention_round_trip(Arc::new(RedisAuditLog::new(conn(&server)))).await;
}

#[tokio::test]
async fn retention_exports_then_trims_and_the_chain_still_verifies_in_memory() {
    retention_round_trip(Arc::new(MemoryAuditLog::default())).await;
}

#[tokio::test]
async fn trimming_refuses_an_entry_that_is_no_longer_where_it_was() {
    let server = RedisServer::start().await;
    let log = RedisAuditLog::new(conn(&server));
    log.append(&[event(1), event(2)]).await.unwrap();
    let entries = all(&log).await;
    let mut moved = entries[0].clone();
    moved.entry.hash = "0".repeat(40);
    assert!(log.trim(&moved).await.is_err());
    assert_eq!(all(&log).await.len(), 2, "nothing was trimmed");
}

#[tokio::test]
async fn checkpoints_are_written_once_per_new_head_and_verify_under_the_key() {
    let log: Arc<dyn AuditLog> = Arc::new(MemoryAuditLog::default());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("checkpoints.log");
    let key = b"checkpoint-key-checkpoint-key-checkpoint-key".to_vec();
    let c = Checkpointer::new(
        log.clone(),
        key.clone(),
        Some(file.clone()),
        Arc::new(SystemClock),
        Arc::new(Metrics::new()),
    );
    assert_eq!(c.write_once().await, None, "an empty log has nothing to vouch for");
    log.append(&[event(1)]).await.unwrap();
    assert!(c.write_once().await.is_some());
    assert_eq!(c.write_once().await, None, "same head, no new checkpoint");
    log.append(&[event(2)]).await.unwrap();
    assert!(c.write_once().await.is_some());
    let found = scan(&std::fs::read_to_string(&file).unwrap());
    assert_eq!(found.iter().map(|c| c.checkpoint.seq).collect::<Vec<_>>(), [1, 2]);
    assert!(found.iter().all(|c| c.verifies(&key)));
}
