//! Audit wiring: the Redis audit log, the decision recorder, the outbox relay, signed
//! checkpoints and retention.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::audit::AuditLog;
use crate::audit::tasks::{Checkpointer, Retention, relay_loop};
use crate::authz::{FoldLimits, Recorder, RecorderSettings};
use crate::config::Config;
use crate::metrics::Metrics;
use crate::store::{GrantStore, RedisAuditLog, RedisConn};
use crate::time::Clock;

pub(super) struct AuditWiring {
    pub log: Arc<dyn AuditLog>,
    pub recorder: Arc<Recorder>,
    /// Written once more after every other task stopped, so the last decisions are covered.
    pub checkpointer: Option<Arc<Checkpointer>>,
}

#[allow(clippy::too_many_arguments)]
pub(super) fn wire(
    config: &Config,
    env: &[(String, String)],
    redis: &RedisConn,
    store: Arc<dyn GrantStore>,
    clock: Arc<dyn Clock>,
    metrics: &Arc<Metrics>,
    tracker: &TaskTracker,
    cancel: &CancellationToken,
) -> AuditWiring {
    let a = &config.audit;
    let log: Arc<dyn AuditLog> = Arc::new(RedisAuditLog::new(redis.clone()));
    tracker.spawn(relay_loop(
        log.clone(),
        a.relay_interval.as_duration(),
        metrics.clone(),
        cancel.clone(),
    ));
    let settings = RecorderSettings {
        decisions: a.decisions,
        stdout: a.decision_log_stdout,
        queue_size: a.queue_size,
        batch_size: a.batch_size,
        flush_interval: a.flush_interval.as_duration(),
        fold: FoldLimits {
            path_max_bytes: a.path_max_bytes,
            anonymous_path_bytes: a.anonymous.path_bytes,
            window: a.anonymous.window.as_duration(),
            max_groups: a.anonymous.max_groups,
        },
    };
    let recorder =
        Recorder::spawn(settings, log.clone(), store, metrics.clone(), tracker, cancel.clone());
    let key = a
        .checkpoints
        .key_env
        .as_ref()
        .and_then(|var| env.iter().find(|(k, _)| k == var))
        .map(|(_, v)| v.as_bytes().to_vec());
    let checkpointer = match key {
        Some(key) => {
            let c = Arc::new(Checkpointer::new(
                log.clone(),
                key,
                a.checkpoints.file.clone(),
                clock.clone(),
                metrics.clone(),
            ));
            tracker.spawn(c.clone().run(a.checkpoints.interval.as_duration(), cancel.clone()));
            Some(c)
        }
        None => {
            tracing::warn!(
                "Audit checkpoints are off: set `audit.checkpoints.key_env` so a truncated audit tail can be detected"
            );
            None
        }
    };
    if let (Some(retention), Some(dir)) = (a.retention, &a.export_dir) {
        let r = Retention {
            log: log.clone(),
            retention: retention.as_duration(),
            export_dir: dir.clone(),
            clock,
            metrics: metrics.clone(),
        };
        tracker.spawn(r.run(a.trim_interval.as_duration(), cancel.clone()));
    }
    AuditWiring { log, recorder, checkpointer }
}
