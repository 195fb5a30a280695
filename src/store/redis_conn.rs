//! One Redis connection shared by every Redis-backed store: a reconnecting multiplexed
//! connection, the key builder, and [`RedisConn::run`], which puts every operation under
//! the configured deadline and records its latency and errors.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tracing::Instrument;

use super::StoreError;
use super::keys::Keys;
use crate::metrics::Metrics;

/// How to reach Redis.
#[derive(Clone, Debug)]
pub struct RedisSettings {
    pub url: String,
    pub key_prefix: String,
    /// Deadline for one operation; a hung Redis turns into an error this fast.
    pub op_timeout: Duration,
    pub connect_timeout: Duration,
}

#[derive(Clone)]
pub struct RedisConn {
    client: redis::Client,
    conn: ConnectionManager,
    keys: Keys,
    op_timeout: Duration,
    metrics: Arc<Metrics>,
}

// === impl RedisConn ===

impl RedisConn {
    /// Connects lazily: jitgate starts (and denies with 503) while Redis is still down.
    pub fn connect(settings: &RedisSettings, metrics: Arc<Metrics>) -> Result<Self, StoreError> {
        let client = redis::Client::open(settings.url.as_str())
            .map_err(|e| StoreError::Unavailable(format!("bad redis url: {e}")))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(settings.connect_timeout))
            .set_response_timeout(Some(settings.op_timeout))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(20))
            .set_max_delay(Duration::from_millis(500));
        let conn = ConnectionManager::new_lazy_with_config(client.clone(), config)
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let keys = Keys::new(&settings.key_prefix).map_err(StoreError::Unavailable)?;
        Ok(Self { client, conn, keys, op_timeout: settings.op_timeout, metrics })
    }

    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    pub fn client(&self) -> &redis::Client {
        &self.client
    }

    /// A handle to the shared connection (cheap to clone).
    pub fn handle(&self) -> ConnectionManager {
        self.conn.clone()
    }

    /// Runs one operation under the deadline, recording latency and errors.
    pub async fn run<T>(
        &self,
        op: &'static str,
        fut: impl Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, StoreError> {
        let started = Instant::now();
        let span =
            crate::span!("redis", otel.kind = "client", db.system = "redis", db.operation = op);
        let result = match tokio::time::timeout(self.op_timeout, fut).instrument(span).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(StoreError::Unavailable(e.to_string())),
            Err(_) => Err(StoreError::Timeout(self.op_timeout)),
        };
        self.metrics.observe_store(op, started.elapsed(), result.is_ok());
        result
    }
}
