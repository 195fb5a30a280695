//! The `audit` section: what decisions are recorded, the decision log on stdout, how the
//! batches flow, retention with export, and signed checkpoints.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::time::Ttl;

/// Which decisions enter the audit chain (control-plane changes always do).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionAudit {
    #[default]
    All,
    Denies,
    None,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct AuditConfig {
    /// Principals besides `admins` who may read the audit log (`group:security`).
    pub readers: Vec<String>,
    /// `all`, `denies` or `none`: which Check decisions are recorded in the chain.
    pub decisions: DecisionAudit,
    /// Print one JSON decision-log line per Check on stdout (OPA-style).
    pub decision_log_stdout: bool,
    /// Decision events waiting to be written; beyond this they are dropped, counted, and the
    /// drop is recorded as an `audit.gap` event.
    pub queue_size: usize,
    /// Most decision events per append.
    pub batch_size: usize,
    /// Longest a decision event waits before its batch is written.
    pub flush_interval: Ttl,
    /// How often outboxes left behind by a crash are relayed into the chain.
    pub relay_interval: Ttl,
    /// Entries older than this are exported and trimmed; unset keeps everything.
    pub retention: Option<Ttl>,
    /// Where trimmed entries are exported (JSON lines, one file per trim) before trimming.
    pub export_dir: Option<PathBuf>,
    /// How often retention runs.
    pub trim_interval: Ttl,
    pub checkpoints: CheckpointConfig,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            readers: Vec::new(),
            decisions: DecisionAudit::All,
            decision_log_stdout: false,
            queue_size: 10_000,
            batch_size: 500,
            flush_interval: Ttl::from_millis(200),
            relay_interval: Ttl::from_secs(10),
            retention: None,
            export_dir: None,
            trim_interval: Ttl::from_secs(3600),
            checkpoints: CheckpointConfig::default(),
        }
    }
}

/// Signed checkpoints of the chain's head, kept outside Redis.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct CheckpointConfig {
    /// Environment variable holding the HMAC-SHA256 key (at least 32 bytes). Unset: no
    /// checkpoints (and a warning at start-up).
    pub key_env: Option<String>,
    /// A file checkpoints are appended to. They are always logged too.
    pub file: Option<PathBuf>,
    /// How often a checkpoint is written (and once more at shutdown).
    pub interval: Ttl,
}

impl Default for CheckpointConfig {
    fn default() -> Self {
        Self { key_env: None, file: None, interval: Ttl::from_secs(60) }
    }
}

pub(super) fn validate(a: &AuditConfig, errors: &mut Vec<String>) {
    let mut check = |ok: bool, msg: &str| {
        if !ok {
            errors.push(msg.to_string());
        }
    };
    check(
        (1..=super::MAX_QUEUE).contains(&a.queue_size),
        "`audit.queue_size` must be between 1 and 10000000",
    );
    check((1..=10_000).contains(&a.batch_size), "`audit.batch_size` must be between 1 and 10000");
    check(!a.flush_interval.as_duration().is_zero(), "`audit.flush_interval` must be above zero");
    check(!a.relay_interval.as_duration().is_zero(), "`audit.relay_interval` must be above zero");
    check(!a.trim_interval.as_duration().is_zero(), "`audit.trim_interval` must be above zero");
    check(
        !a.checkpoints.interval.as_duration().is_zero(),
        "`audit.checkpoints.interval` must be above zero",
    );
    if let Some(r) = a.retention {
        check(
            r.as_duration() >= std::time::Duration::from_secs(3600),
            "`audit.retention` must be at least 1h",
        );
        check(
            a.export_dir.is_some(),
            "`audit.retention` needs `audit.export_dir`: entries are exported before they are trimmed",
        );
    }
    for (i, r) in a.readers.iter().enumerate() {
        if let Err(e) = r.parse::<crate::grant::Principal>() {
            check(false, &format!("`audit.readers[{i}]`: {e}"));
        }
    }
    if let Some(dir) = &a.export_dir {
        check(dir.is_dir(), "`audit.export_dir` must be an existing directory");
    }
}
