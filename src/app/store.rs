//! Store wiring: Redis settings and topology from the configuration, the grant cache's
//! settings, revocation re-assertion after a failover, and the readiness watch on the store.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tonic_health::server::HealthReporter;

use crate::config::{Config, RedisMode};
use crate::health::Readiness;
use crate::store::reassert::Reasserter;
use crate::store::{CacheSettings, GrantStore, RedisSettings, RedisStore, Topology};

pub(super) fn redis_settings(c: &Config) -> RedisSettings {
    RedisSettings {
        url: c.redis.url.clone(),
        key_prefix: c.redis.key_prefix.clone(),
        op_timeout: c.redis.op_timeout.as_duration(),
        connect_timeout: c.redis.connect_timeout.as_duration(),
    }
}

/// Re-asserts revocations a Redis failover lost (`redis.reassert_interval`, `0s` = off).
pub(super) fn spawn_reasserter(
    config: &Config,
    store: Arc<RedisStore>,
    audit: Arc<dyn crate::audit::AuditLog>,
    tracker: &TaskTracker,
    cancel: &CancellationToken,
) {
    let interval = config.redis.reassert_interval.as_duration();
    if interval.is_zero() {
        tracing::warn!(
            "Revocation re-assertion is off (`redis.reassert_interval: 0s`): a Redis failover can bring revoked grants back"
        );
        return;
    }
    let window = config.grants.max_ttl.as_duration();
    let task = Reasserter { store, audit, window };
    tracker.spawn(task.run(interval, cancel.clone()));
}

pub(super) fn topology(c: &Config) -> Topology {
    match c.redis.mode {
        RedisMode::Standalone => Topology::Standalone,
        RedisMode::Cluster => Topology::Cluster { nodes: c.redis.nodes.clone() },
        RedisMode::Sentinel => Topology::Sentinel {
            sentinels: c.redis.sentinels.clone(),
            master_name: c.redis.master_name.clone(),
        },
    }
}

pub(super) fn cache_settings(c: &Config) -> CacheSettings {
    CacheSettings {
        staleness_bound: c.cache.staleness_bound.as_duration(),
        poll_interval: c.cache.poll_interval.as_duration(),
        max_principals: c.cache.max_principals,
        entry_ttl: c.cache.entry_ttl.as_duration(),
        pubsub: c.cache.pubsub,
    }
}

/// Pings the store every [`super::cadence::STORE_WATCH_EVERY`] and reflects the result in readiness and gRPC health.
pub(super) async fn watch_store(
    store: Arc<dyn GrantStore>,
    readiness: Arc<Readiness>,
    reporter: HealthReporter,
    cancel: CancellationToken,
) {
    loop {
        let ok = store.ping().await.is_ok();
        if readiness.set_store_ok(ok) {
            tracing::info!(store.reachable = ok, "Grant store reachability changed");
        }
        super::set_serving(&reporter, readiness.is_ready()).await;
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(super::cadence::STORE_WATCH_EVERY) => {}
        }
    }
}
