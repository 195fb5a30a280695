//! The one configuration: a YAML file (`--config` / `JITGATE_CONFIG`), every scalar
//! overridable by a `JITGATE_*` environment variable (`redis.url` → `JITGATE_REDIS_URL`),
//! unknown keys rejected, and every problem reported at once ([`load`]).
//!
//! The structs do not use `deny_unknown_fields` because that stops at the first unknown key;
//! the loader collects every unknown key instead (with `serde_ignored`) and rejects them all.

mod audit;
mod control;
mod identity;
mod load;
mod validate;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::mode::{Mode, Modes};
use crate::time::Ttl;

pub use audit::{AnonymousAudit, AuditConfig, CheckpointConfig, DecisionAudit};
pub use control::{
    ControlPlaneConfig, GrpcAdminConfig, IncidentsConfig, NotificationsConfig, RequestsConfig,
    UiConfig,
};
pub use load::{ConfigError, load, load_str, override_names, unknown_overrides};

/// Largest `audit.queue_size` and `notifications.queue_size`: the queues grow as they fill,
/// but a channel past a few quintillion entries cannot be made at all.
const MAX_QUEUE: usize = 10_000_000;

/// jitgate's configuration. Every field has a default suitable for a laptop.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// `enforce` (answer Envoy with the decision) or `shadow` (record the decision, answer
    /// allow) for every service without an entry in `service_modes`.
    pub mode: Mode,
    /// Per-service modes, by the service name grants use (`context_extensions.service`).
    pub service_modes: BTreeMap<String, Mode>,
    /// Listen addresses.
    pub listen: Listen,
    /// The Redis that holds grants.
    pub redis: RedisConfig,
    /// Who can call: trusted token issuers and claim rules.
    pub identity: IdentityConfig,
    /// Principals allowed to create and revoke grants directly (`group:platform`, `user:root`).
    pub admins: Vec<String>,
    /// Limits on grants.
    pub grants: GrantsConfig,
    /// The in-process grant cache.
    pub cache: CacheConfig,
    /// The Check path.
    pub check: CheckConfig,
    /// Logging.
    pub log: LogConfig,
    /// Shutdown behaviour.
    pub shutdown: ShutdownConfig,
    /// Access requests.
    pub requests: RequestsConfig,
    /// Webhook notifications.
    pub notifications: NotificationsConfig,
    /// Incident tools.
    pub incidents: IncidentsConfig,
    /// The gRPC admin API on the gRPC port.
    pub grpc_admin: GrpcAdminConfig,
    /// The audit log.
    pub audit: AuditConfig,
    /// The web page for requesters, approvers and SREs (`/ui/`).
    pub ui: UiConfig,
    /// The runtime the REST API and the web page run on, apart from the Check workers.
    pub control_plane: ControlPlaneConfig,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct Listen {
    /// gRPC: Envoy's `Authorization/Check` and `grpc.health.v1.Health`.
    pub grpc: SocketAddr,
    /// HTTP: the REST API, `/healthz`, `/readyz`, `/metrics`.
    pub http: SocketAddr,
    /// Also serve gRPC on this Unix domain socket (for a sidecar Envoy sharing a volume).
    pub grpc_unix: Option<PathBuf>,
}

impl Config {
    /// The enforcement modes, as the Check path uses them.
    pub fn modes(&self) -> Modes {
        Modes::new(self.mode, self.service_modes.clone())
    }
}

impl Default for Listen {
    fn default() -> Self {
        Self {
            grpc: SocketAddr::from(([127, 0, 0, 1], 9191)),
            http: SocketAddr::from(([127, 0, 0, 1], 8080)),
            grpc_unix: None,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct RedisConfig {
    /// `standalone` (one Redis at `url`), `cluster` (Redis Cluster, seeds in `nodes`) or
    /// `sentinel` (the master `master_name` found through `sentinels`).
    pub mode: RedisMode,
    /// `redis://[user:password@]host:port[/db]` (or `rediss://` for TLS); standalone mode.
    pub url: String,
    /// Cluster mode: seed nodes (`redis://host:port`); one reachable seed is enough.
    pub nodes: Vec<String>,
    /// Sentinel mode: the Sentinels (`redis://host:port`), asked in order.
    pub sentinels: Vec<String>,
    /// Sentinel mode: the name the Sentinels monitor the master under.
    pub master_name: String,
    /// How often to check whether Redis failed over (or restarted) and, if so, re-assert the
    /// revocations recorded before it; `0s` turns re-assertion off.
    pub reassert_interval: Ttl,
    /// Prefix of every key and channel jitgate writes.
    pub key_prefix: String,
    /// Deadline for one Redis operation.
    pub op_timeout: Ttl,
    /// Deadline for opening a connection.
    pub connect_timeout: Ttl,
}

impl Default for RedisConfig {
    fn default() -> Self {
        Self {
            mode: RedisMode::Standalone,
            url: "redis://127.0.0.1:6379".into(),
            nodes: Vec::new(),
            sentinels: Vec::new(),
            master_name: String::new(),
            reassert_interval: Ttl::from_secs(1),
            key_prefix: "jitgate".into(),
            op_timeout: Ttl::from_millis(100),
            connect_timeout: Ttl::from_secs(1),
        }
    }
}

/// How jitgate reaches Redis.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RedisMode {
    /// One Redis server (`redis.url`).
    #[default]
    Standalone,
    /// Redis Cluster (`redis.nodes`).
    Cluster,
    /// A master found through Redis Sentinel (`redis.sentinels`, `redis.master_name`).
    Sentinel,
}

impl RedisMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Standalone => "standalone",
            Self::Cluster => "cluster",
            Self::Sentinel => "sentinel",
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct IdentityConfig {
    /// Trusted token issuers.
    pub issuers: Vec<IssuerConfig>,
    /// The `name` of the issuer whose principals are plain (`user:<sub>`, `group:<name>`);
    /// every other issuer's carry its name (`user:<name>/<sub>`). Unset: the sole issuer when
    /// there is one; with several, none (every token principal then carries its issuer's name).
    pub default_issuer: Option<String>,
    /// The claim holding the caller's groups (array of strings, or one space-separated string).
    pub groups_claim: String,
    /// Clock skew allowed on `exp`/`nbf`/`iat` (at most 30s).
    pub leeway: Ttl,
    /// Tokens whose lifetime (`exp - iat`, or `exp - now`) exceeds this are refused.
    pub max_token_lifetime: Ttl,
    /// Most verified tokens cached.
    pub token_cache_size: u64,
    /// Longest a verified token is trusted before its signature is checked again.
    pub token_cache_ttl: Ttl,
    /// How often JWKS URLs and files are reloaded.
    pub jwks_refresh_interval: Ttl,
    /// An unknown `kid` triggers a reload at most this often.
    pub jwks_min_refetch_interval: Ttl,
    /// How long the last good keys are used while the issuer is unreachable.
    pub jwks_stale_limit: Ttl,
    /// Deadline for fetching a JWKS.
    pub jwks_timeout: Ttl,
    /// Threads checking signatures of tokens not in the cache, at a lower CPU priority than
    /// the Checks; 0 = half the CPUs (at least 1).
    pub verify_threads: usize,
    /// Signature checks that may wait for those threads; one more is shed (`overloaded`, 503).
    pub verify_queue: usize,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        Self {
            issuers: Vec::new(),
            default_issuer: None,
            groups_claim: "groups".into(),
            leeway: Ttl::from_secs(30),
            max_token_lifetime: Ttl::from_secs(24 * 3600),
            token_cache_size: 100_000,
            token_cache_ttl: Ttl::from_secs(60),
            jwks_refresh_interval: Ttl::from_secs(300),
            jwks_min_refetch_interval: Ttl::from_secs(30),
            jwks_stale_limit: Ttl::from_secs(24 * 3600),
            jwks_timeout: Ttl::from_secs(5),
            verify_threads: 0,
            verify_queue: 256,
        }
    }
}

/// One trusted issuer. Exactly one of `jwks_url`, `jwks_file`, `hs256_secret_env` is set.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct IssuerConfig {
    /// A short name (lowercase letters, digits, `-`) that this issuer's principals carry
    /// (`user:<name>/<sub>`) unless it is the default issuer. Required when several issuers
    /// are trusted.
    pub name: Option<String>,
    /// The exact `iss` claim value.
    pub issuer: String,
    /// Accepted `aud` values (a token needs one of them).
    pub audiences: Vec<String>,
    /// JWKS over HTTPS (or HTTP on loopback).
    pub jwks_url: Option<String>,
    /// JWKS from a local file.
    pub jwks_file: Option<PathBuf>,
    /// Name of an environment variable holding an HS256 secret (development only).
    pub hs256_secret_env: Option<String>,
    /// Pinned algorithms (`RS256`, `ES256`, `EdDSA`, ...). Empty: each JWK's own `alg`.
    pub algorithms: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct GrantsConfig {
    /// Longest TTL any grant may have.
    pub max_ttl: Ttl,
    /// How long a grant's history record is kept after it expires (for `explain`).
    pub history_retention: Ttl,
}

impl Default for GrantsConfig {
    fn default() -> Self {
        Self { max_ttl: Ttl::from_secs(24 * 3600), history_retention: Ttl::from_secs(24 * 3600) }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct CacheConfig {
    /// No cached allow is served unless the change counter was confirmed within this time.
    pub staleness_bound: Ttl,
    /// How often the change counter is polled.
    pub poll_interval: Ttl,
    /// Most principals whose grants are cached.
    pub max_principals: u64,
    /// Longest one principal's grants stay cached, changes or not.
    pub entry_ttl: Ttl,
    /// Subscribe to change notifications (set false for Redis proxies without pub/sub).
    pub pubsub: bool,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            staleness_bound: Ttl::from_secs(1),
            poll_interval: Ttl::from_millis(250),
            max_principals: 100_000,
            entry_ttl: Ttl::from_secs(300),
            pubsub: true,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct CheckConfig {
    /// A Check that takes longer is answered with a 503 deny (keep it under Envoy's timeout).
    pub deadline: Ttl,
    /// Largest CheckRequest accepted, in bytes.
    pub max_request_bytes: usize,
    /// Base URL of the REST API as callers reach it, used in deny bodies' request hints.
    pub public_url: Option<String>,
}

impl Default for CheckConfig {
    fn default() -> Self {
        Self { deadline: Ttl::from_millis(200), max_request_bytes: 256 * 1024, public_url: None }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct LogConfig {
    /// `text` or `json`.
    pub format: String,
    /// Log one line per allowed Check at info level (denies are always logged).
    pub allows: bool,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self { format: "text".into(), allows: false }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct ShutdownConfig {
    /// After SIGTERM, report NOT_SERVING for this long before closing listeners.
    pub drain: Ttl,
}

impl Default for ShutdownConfig {
    fn default() -> Self {
        Self { drain: Ttl::from_secs(2) }
    }
}
