//! `--redis-url`: read-only access straight to Redis, for when the API is down. Uses only read
//! commands (no scripts), so a read-only Redis ACL user is enough.

use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use super::client::CliError;
use super::exit;
use crate::access::{AccessPolicy, PolicySet};
use crate::metrics::Metrics;
use crate::store::{PolicyStore, RedisConn, RedisPolicies, RedisSettings, RedisStore};

#[derive(Debug, Clone, Args)]
pub struct DirectOpts {
    /// Read straight from Redis (read-only) instead of the API, e.g. `redis://127.0.0.1:6379`.
    #[arg(long)]
    pub redis_url: Option<String>,
    /// The key prefix jitgate uses (`redis.key_prefix`).
    #[arg(long, default_value = "jitgate")]
    pub key_prefix: String,
}

/// Read-only stores over `--redis-url`.
pub struct Direct {
    pub grants: RedisStore,
    pub policies: RedisPolicies,
    pub conn: RedisConn,
}

impl Direct {
    pub fn open(url: &str, prefix: &str) -> Result<Self, CliError> {
        let settings = RedisSettings {
            url: url.to_string(),
            key_prefix: prefix.to_string(),
            op_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(3),
        };
        let conn = RedisConn::connect(&settings, Arc::new(Metrics::new()))
            .map_err(|e| CliError::new(exit::USAGE, format!("--redis-url: {e}")))?;
        Ok(Self {
            grants: RedisStore::with_conn(conn.clone()).read_only(),
            policies: RedisPolicies::new(conn.clone()),
            conn,
        })
    }

    /// The policies stored in Redis, compiled (invalid ones skipped).
    pub async fn policy_set(&self) -> Result<PolicySet, CliError> {
        let docs = self.policies.list().await.map_err(unavailable)?.docs;
        Ok(PolicySet::new(
            docs.into_iter().filter_map(|d| AccessPolicy::from_document(d).ok()).collect(),
        ))
    }
}

pub fn unavailable(e: impl std::fmt::Display) -> CliError {
    CliError::new(exit::UNAVAILABLE, format!("cannot read Redis: {e}"))
}
