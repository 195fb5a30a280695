//! The `audit` section: what decisions are recorded, the decision log on stdout, how the
//! batches flow, what one decision may cost (cut paths, folded unidentified denies),
//! retention with export, and signed checkpoints.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::grant::MAX_PATH_LEN;
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
    /// A decision record keeps at most this many bytes of the path (the query string is never
    /// recorded), cut on a character boundary; a cut path comes with `path_sha256` and `path_bytes` of the whole.
    pub path_max_bytes: usize,
    /// Denies of callers jitgate could not identify (no token, a bad or expired one, a call
    /// refused before identity was checked): folded into counted records.
    pub anonymous: AnonymousAudit,
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
            path_max_bytes: 2048,
            anonymous: AnonymousAudit::default(),
            relay_interval: Ttl::from_secs(10),
            retention: None,
            export_dir: None,
            trim_interval: Ttl::from_secs(3600),
            checkpoints: CheckpointConfig::default(),
        }
    }
}

/// How denies of unidentified callers are recorded: per window, one `decision.deny` record
/// per mode, reason, service, method and path, with `details.count`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct AnonymousAudit {
    /// Bytes of the path such a record keeps (plus `path_sha256` of the whole when cut).
    pub path_bytes: usize,
    /// How long denies are counted before their records are written.
    pub window: Ttl,
    /// Distinct calls counted apart per window; beyond, one overflow record per reason.
    pub max_groups: usize,
}

impl Default for AnonymousAudit {
    fn default() -> Self {
        Self { path_bytes: 256, window: Ttl::from_secs(10), max_groups: 32 }
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
    validate_costs(a, &mut check);
    check(!a.relay_interval.as_duration().is_zero(), "`audit.relay_interval` must be above zero");
    check(!a.trim_interval.as_duration().is_zero(), "`audit.trim_interval` must be above zero");
    check(
        !a.checkpoints.interval.as_duration().is_zero(),
        "`audit.checkpoints.interval` must be above zero",
    );
    if let Some(r) = a.retention {
        check(
            r.as_duration() >= Duration::from_secs(3600),
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

/// The limits on what one decision may cost the audit log.
fn validate_costs(a: &AuditConfig, check: &mut impl FnMut(bool, &str)) {
    let n = &a.anonymous;
    check(
        (16..=1024).contains(&n.path_bytes),
        &format!(
            "`audit.anonymous.path_bytes` must be between 16 and 1024, got `{}`",
            n.path_bytes
        ),
    );
    check(
        (n.path_bytes..=MAX_PATH_LEN).contains(&a.path_max_bytes),
        &format!(
            "`audit.path_max_bytes` must be between `audit.anonymous.path_bytes` ({}) and {MAX_PATH_LEN}, got `{}`",
            n.path_bytes, a.path_max_bytes
        ),
    );
    let window = n.window.as_duration();
    check(
        !window.is_zero() && window <= Duration::from_secs(60),
        &format!(
            "`audit.anonymous.window` must be above zero and at most 60s (time queries look 5m past their bounds), got `{}`",
            n.window
        ),
    );
    check(
        (1..=10_000).contains(&n.max_groups),
        &format!(
            "`audit.anonymous.max_groups` must be between 1 and 10000, got `{}`",
            n.max_groups
        ),
    );
}
