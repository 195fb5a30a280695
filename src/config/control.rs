//! The control plane's configuration sections: access requests and their budgets, webhook
//! notifications, incident tools, the gRPC admin API, the web page, and the runtime the REST
//! API and the page run on.

use serde::{Deserialize, Serialize};

use crate::time::Ttl;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct ControlPlaneConfig {
    /// Threads of the control-plane runtime (the REST API and the web page).
    pub threads: usize,
    /// The CPU niceness of those threads (0–19; Linux): above 0, Checks get the CPU first
    /// when both want it, so heavy control-plane work cannot slow the data plane.
    pub nice: i32,
}

impl Default for ControlPlaneConfig {
    fn default() -> Self {
        Self { threads: 2, nice: 10 }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct RequestsConfig {
    /// How long decided requests stay readable.
    pub retention: Ttl,
    /// How often pending requests are checked for expiry and escalation.
    pub sweep_interval: Ttl,
    /// Most requests one requester may have waiting for a decision (0: no limit).
    pub max_pending_per_requester: u32,
    /// Most requests waiting for a decision under one policy (0: no limit).
    pub max_pending_per_policy: u32,
    /// Most one-time requests jitgate files for one caller per minute from denied Checks
    /// (0: no limit).
    pub one_time_per_minute: u32,
}

impl Default for RequestsConfig {
    fn default() -> Self {
        Self {
            retention: Ttl::from_secs(7 * 24 * 3600),
            sweep_interval: Ttl::from_secs(1),
            max_pending_per_requester: 20,
            max_pending_per_policy: 1000,
            one_time_per_minute: 10,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct NotificationsConfig {
    /// Environment variable holding the HMAC secret that signs webhook deliveries (targets may
    /// name their own with `secret_env`). Without one, deliveries are not sent.
    pub signing_secret_env: Option<String>,
    /// Deadline for one delivery attempt.
    pub timeout: Ttl,
    /// Attempts per delivery, with exponential backoff between them.
    pub max_attempts: u32,
    /// The first backoff delay (doubled after each failure).
    pub retry_base: Ttl,
    /// Deliveries waiting to be sent; beyond this, new events are dropped and counted.
    pub queue_size: usize,
}

impl Default for NotificationsConfig {
    fn default() -> Self {
        Self {
            signing_secret_env: None,
            timeout: Ttl::from_secs(5),
            max_attempts: 5,
            retry_base: Ttl::from_millis(500),
            queue_size: 10_000,
        }
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct IncidentsConfig {
    /// Environment variable holding a shared token incident tools send as
    /// `Authorization: Bearer <token>` to `POST /v1/incidents/{id}/resolve`.
    pub resolve_token_env: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct GrpcAdminConfig {
    /// Serve `jitgate.admin.v1.AdminService` beside Check.
    pub enabled: bool,
    /// Serve gRPC reflection for the admin API and health (off by default, as in OPA).
    pub reflection: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct UiConfig {
    /// Serve the web page at `/ui/` on the HTTP port.
    pub enabled: bool,
    /// A header a trusted reverse proxy sets to the caller's bearer token (e.g.
    /// `x-forwarded-access-token`). That credential is ambient, so state-changing calls that
    /// use it must pass the CSRF check. `null`: the page's users paste a token.
    pub token_header: Option<String>,
}

impl Default for UiConfig {
    fn default() -> Self {
        Self { enabled: true, token_header: None }
    }
}

impl Default for GrpcAdminConfig {
    fn default() -> Self {
        Self { enabled: true, reflection: false }
    }
}
