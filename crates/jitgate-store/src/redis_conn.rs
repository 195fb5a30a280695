//! One Redis connection shared by every Redis-backed store: a reconnecting multiplexed
//! connection (standalone, Redis Cluster or through Sentinel: [`super::redis_handle`]), the key
//! builder, and [`RedisConn::run`], which puts every operation under the configured deadline
//! and records its latency and errors.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use redis::AsyncConnectionConfig;
use redis::aio::{ConnectionManager, ConnectionManagerConfig, MultiplexedConnection};
use redis::cluster::ClusterClient;
use redis::sentinel::{SentinelClient, SentinelServerType};
use tracing::Instrument;

use super::StoreError;
use super::keys::Keys;
use super::redis_handle::{Lazy, RedisHandle};
use jitgate_metrics::Metrics;

/// Which Redis deployment to talk to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Topology {
    /// One server at [`RedisSettings::url`].
    Standalone,
    /// Redis Cluster, found through these seed nodes.
    Cluster { nodes: Vec<String> },
    /// The master the Sentinels know as `master_name`.
    Sentinel { sentinels: Vec<String>, master_name: String },
}

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
    /// Standalone: the server; cluster: a client per seed; sentinel: none (asked each time).
    clients: Vec<redis::Client>,
    sentinel: Option<Arc<tokio::sync::Mutex<SentinelClient>>>,
    topology: Topology,
    conn: RedisHandle,
    keys: Keys,
    op_timeout: Duration,
    metrics: Arc<Metrics>,
    corrupt: super::corrupt::CorruptRecords,
    /// Failed operations so far (the re-assertion task watches it for outages).
    failures: Arc<AtomicU64>,
}

// === impl RedisConn ===

impl RedisConn {
    /// Connects lazily to a standalone Redis at `settings.url`: jitgate starts (and denies
    /// with 503) while Redis is still down.
    pub fn connect(settings: &RedisSettings, metrics: Arc<Metrics>) -> Result<Self, StoreError> {
        Self::connect_to(&Topology::Standalone, settings, metrics)
    }

    /// Connects lazily to `topology`.
    pub fn connect_to(
        topology: &Topology,
        settings: &RedisSettings,
        metrics: Arc<Metrics>,
    ) -> Result<Self, StoreError> {
        let (clients, sentinel, conn) = match topology {
            Topology::Standalone => standalone(settings)?,
            Topology::Cluster { nodes } => cluster(nodes, settings)?,
            Topology::Sentinel { sentinels, master_name } => {
                through_sentinel(sentinels, master_name, settings)?
            }
        };
        let keys = Keys::new(&settings.key_prefix).map_err(StoreError::Unavailable)?;
        Ok(Self {
            clients,
            sentinel,
            topology: topology.clone(),
            conn,
            keys,
            op_timeout: settings.op_timeout,
            corrupt: super::corrupt::CorruptRecords::new(metrics.clone()),
            metrics,
            failures: Arc::new(AtomicU64::new(0)),
        })
    }

    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// Where readers report records they cannot decode.
    pub fn corrupt(&self) -> &super::corrupt::CorruptRecords {
        &self.corrupt
    }

    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// A handle to the shared connection (cheap to clone).
    pub fn handle(&self) -> RedisHandle {
        self.conn.clone()
    }

    /// How many operations failed since start (an outage or failover shows as a rise).
    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    /// A pub/sub connection. Classic `PUBLISH` reaches every node of a cluster and every
    /// replica, so any reachable node will do: the first seed that answers, or the master the
    /// Sentinels name now.
    pub async fn pubsub(&self) -> redis::RedisResult<redis::aio::PubSub> {
        if let Some(sentinel) = &self.sentinel {
            let client = sentinel.lock().await.async_get_client().await?;
            return client.get_async_pubsub().await;
        }
        let mut last = None;
        for client in &self.clients {
            match client.get_async_pubsub().await {
                Ok(p) => return Ok(p),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            redis::RedisError::from((redis::ErrorKind::InvalidClientConfig, "no redis node"))
        }))
    }

    /// Runs one operation under the deadline, recording latency and errors.
    pub async fn run<T>(
        &self,
        op: &'static str,
        fut: impl Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, StoreError> {
        let started = Instant::now();
        let span = jitgate_metrics::span!(
            "redis",
            otel.kind = "client",
            db.system = "redis",
            db.operation = op
        );
        let result = match tokio::time::timeout(self.op_timeout, fut).instrument(span).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) if e.code() == Some("OOM") => Err(StoreError::OutOfMemory(e.to_string())),
            // A key of the wrong type (written by hand or by something else) is a bad record,
            // not an outage: its readers skip it.
            Ok(Err(e)) if e.code() == Some("WRONGTYPE") => Err(StoreError::Corrupt(e.to_string())),
            Ok(Err(e)) => Err(StoreError::Unavailable(e.to_string())),
            Err(_) => Err(StoreError::Timeout(self.op_timeout)),
        };
        self.metrics.observe_store(op, started.elapsed(), result.is_ok());
        if result.as_ref().is_err_and(|e| !matches!(e, StoreError::Corrupt(_))) {
            self.failures.fetch_add(1, Ordering::Relaxed);
        }
        result
    }
    /// Reads one stored record (`key`, of `kind`) with `fut` and decodes the reply with
    /// `decode` (`Ok(None)`: no such record). A key of the wrong type, or a reply `decode`
    /// refuses, is counted and logged once ([`super::corrupt::CorruptRecords`]) and answered
    /// as [`StoreError::Corrupt`], which lists skip.
    pub async fn read_record<R, T>(
        &self,
        op: &'static str,
        kind: super::corrupt::RecordKind,
        key: &str,
        fut: impl Future<Output = redis::RedisResult<R>>,
        decode: impl FnOnce(R) -> Result<Option<T>, String>,
    ) -> Result<Option<T>, StoreError> {
        let reply = match self.run(op, fut).await {
            Ok(reply) => reply,
            Err(StoreError::Corrupt(why)) => return Err(self.corrupt.found(kind, key, &why)),
            Err(e) => return Err(e),
        };
        decode(reply).map_err(|why| self.corrupt.found(kind, key, &why))
    }
}

/// The clients for pub/sub, the Sentinel client (Sentinel mode) and the shared connection.
type Opened = (Vec<redis::Client>, Option<Arc<tokio::sync::Mutex<SentinelClient>>>, RedisHandle);

fn bad(what: &str, e: redis::RedisError) -> StoreError {
    StoreError::Unavailable(format!("{what}: {e}"))
}

fn standalone(settings: &RedisSettings) -> Result<Opened, StoreError> {
    let client = redis::Client::open(settings.url.as_str()).map_err(|e| bad("bad redis url", e))?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(settings.connect_timeout))
        .set_response_timeout(Some(settings.op_timeout))
        .set_number_of_retries(1)
        .set_min_delay(Duration::from_millis(20))
        .set_max_delay(Duration::from_millis(500));
    let conn = ConnectionManager::new_lazy_with_config(client.clone(), config)
        .map_err(|e| StoreError::Unavailable(e.to_string()))?;
    Ok((vec![client], None, RedisHandle::Standalone(conn)))
}

/// The cluster client keeps its slot map fresh itself (`MOVED`, failed nodes), so the
/// connection is kept once open.
fn cluster(nodes: &[String], settings: &RedisSettings) -> Result<Opened, StoreError> {
    let clients = nodes
        .iter()
        .map(|n| redis::Client::open(n.as_str()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad("bad redis node url", e))?;
    let cluster = ClusterClient::builder(nodes.to_vec())
        .connection_timeout(settings.connect_timeout)
        .response_timeout(settings.op_timeout)
        .retries(2)
        .min_retry_wait(10)
        .max_retry_wait(200)
        .build()
        .map_err(|e| bad("bad redis cluster nodes", e))?;
    let lazy = Lazy::new(
        move || {
            let cluster = cluster.clone();
            async move { cluster.get_async_connection().await }
        },
        false,
    );
    Ok((clients, None, RedisHandle::Cluster(lazy)))
}

/// A master found through the Sentinels, found again after the connection is dropped.
fn through_sentinel(
    sentinels: &[String],
    master_name: &str,
    settings: &RedisSettings,
) -> Result<Opened, StoreError> {
    let client = SentinelClient::build(
        sentinels.to_vec(),
        master_name.to_string(),
        None,
        SentinelServerType::Master,
    )
    .map_err(|e| bad("bad redis sentinels", e))?;
    let sentinel = Arc::new(tokio::sync::Mutex::new(client));
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(settings.connect_timeout))
        .set_response_timeout(Some(settings.op_timeout));
    let s = sentinel.clone();
    let lazy = Lazy::new(
        move || {
            let (s, config) = (s.clone(), config.clone());
            async move { master(&s, &config).await }
        },
        true,
    );
    Ok((Vec::new(), Some(sentinel), RedisHandle::Sentinel(lazy)))
}

/// A connection to the master the Sentinels name (checked to call itself master).
async fn master(
    sentinel: &tokio::sync::Mutex<SentinelClient>,
    config: &AsyncConnectionConfig,
) -> redis::RedisResult<MultiplexedConnection> {
    let client = sentinel.lock().await.async_get_client().await?;
    client.get_multiplexed_async_connection_with_config(config).await
}
