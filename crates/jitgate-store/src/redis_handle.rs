//! The one connection seam every Redis-backed store goes through: [`RedisHandle`] implements
//! `redis::aio::ConnectionLike` over a standalone `ConnectionManager`, a Redis Cluster
//! connection or a Sentinel-found master, so the stores' commands and scripts are the same in
//! every mode. Scripts work unchanged on a cluster: `EVALSHA` is routed by its first key and a
//! `NOSCRIPT` answer makes `Script::invoke_async` send `SCRIPT LOAD` (routed to every node).
//!
//! Cluster and Sentinel connections are opened on first use, in a task of their own (so an
//! operation's deadline never abandons a half-done connect), and a Sentinel master's
//! connection is dropped on the first I/O error, timeout or `READONLY` answer, so the next
//! operation asks the Sentinels again and follows a failover.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use arc_swap::ArcSwapOption;
use redis::aio::{ConnectionLike, ConnectionManager, MultiplexedConnection};
use redis::cluster_async::ClusterConnection;
use redis::{
    Cmd, ErrorKind, Pipeline, RedisError, RedisFuture, RedisResult, ServerErrorKind, Value,
};

type Connect<C> =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = RedisResult<C>> + Send>> + Send + Sync>;

/// A handle to the shared connection (cheap to clone).
#[derive(Clone)]
pub enum RedisHandle {
    Standalone(ConnectionManager),
    Cluster(Lazy<ClusterConnection>),
    Sentinel(Lazy<MultiplexedConnection>),
}

/// A connection opened on first use and reopened after it was dropped.
pub struct Lazy<C> {
    current: Arc<ArcSwapOption<C>>,
    gate: Arc<tokio::sync::Mutex<()>>,
    connect: Connect<C>,
    /// Drop the connection after errors that mean "wrong or dead server" (Sentinel mode).
    forget_on_error: bool,
}

impl<C> Clone for Lazy<C> {
    fn clone(&self) -> Self {
        Self {
            current: self.current.clone(),
            gate: self.gate.clone(),
            connect: self.connect.clone(),
            forget_on_error: self.forget_on_error,
        }
    }
}

// === impl Lazy ===

impl<C: Clone + Send + Sync + 'static> Lazy<C> {
    pub fn new<F, Fut>(connect: F, forget_on_error: bool) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = RedisResult<C>> + Send + 'static,
    {
        let connect: Connect<C> = Arc::new(move || Box::pin(connect()));
        Self {
            current: Arc::new(ArcSwapOption::empty()),
            gate: Arc::new(tokio::sync::Mutex::new(())),
            connect,
            forget_on_error,
        }
    }

    /// The open connection, or a new one (one connect at a time; it finishes even if the
    /// caller gives up waiting).
    pub async fn get(&self) -> RedisResult<C> {
        if let Some(c) = self.current.load_full() {
            return Ok((*c).clone());
        }
        let this = self.clone();
        let task = tokio::spawn(async move {
            let _gate = this.gate.lock().await;
            if let Some(c) = this.current.load_full() {
                return Ok((*c).clone());
            }
            let conn = (this.connect)().await?;
            this.current.store(Some(Arc::new(conn.clone())));
            Ok(conn)
        });
        task.await
            .map_err(|e| RedisError::from((ErrorKind::Io, "connect task failed", e.to_string())))?
    }

    /// Forgets the connection so the next operation connects again.
    pub fn forget(&self) {
        self.current.store(None);
    }

    fn after<T>(&self, result: &RedisResult<T>) {
        if let Err(e) = result
            && self.forget_on_error
            && means_wrong_server(e)
        {
            tracing::debug!(error = %e, "Dropping the Redis connection; the next operation reconnects");
            self.forget();
        }
    }
}

/// Errors after which the server we talk to is gone or no longer the master.
fn means_wrong_server(e: &RedisError) -> bool {
    e.is_io_error()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || e.is_timeout()
        || matches!(
            e.kind(),
            ErrorKind::Server(ServerErrorKind::ReadOnly | ServerErrorKind::MasterDown)
        )
}

// === impl RedisHandle ===

impl RedisHandle {
    pub fn mode(&self) -> &'static str {
        match self {
            Self::Standalone(_) => "standalone",
            Self::Cluster(_) => "cluster",
            Self::Sentinel(_) => "sentinel",
        }
    }
}

impl ConnectionLike for RedisHandle {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Standalone(c) => c.req_packed_command(cmd),
            Self::Cluster(lazy) => Box::pin(async move {
                let mut c = lazy.get().await?;
                let r = c.req_packed_command(cmd).await;
                lazy.after(&r);
                r
            }),
            Self::Sentinel(lazy) => Box::pin(async move {
                let mut c = lazy.get().await?;
                let r = c.req_packed_command(cmd).await;
                lazy.after(&r);
                r
            }),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Standalone(c) => c.req_packed_commands(pipeline, offset, count),
            Self::Cluster(lazy) => Box::pin(async move {
                let mut c = lazy.get().await?;
                let r = c.req_packed_commands(pipeline, offset, count).await;
                lazy.after(&r);
                r
            }),
            Self::Sentinel(lazy) => Box::pin(async move {
                let mut c = lazy.get().await?;
                let r = c.req_packed_commands(pipeline, offset, count).await;
                lazy.after(&r);
                r
            }),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Standalone(c) => c.get_db(),
            Self::Cluster(_) | Self::Sentinel(_) => 0,
        }
    }
}
