//! The two background tasks that keep the grant cache honest: a poll of the change counter
//! (bounds staleness even when notifications are lost) and a pub/sub subscriber (makes
//! revocations visible in milliseconds). Both stop on the shared cancellation token.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::GrantCache;
use jitgate_metrics::Metrics;

/// Starts the poller and, when enabled, the subscriber.
pub fn spawn(
    cache: Arc<GrantCache>,
    metrics: Arc<Metrics>,
    tracker: &TaskTracker,
    cancel: CancellationToken,
) {
    tracker.spawn(poll_epoch(cache.clone(), metrics.clone(), cancel.clone()));
    if cache.settings().pubsub {
        tracker.spawn(subscribe(cache, metrics, cancel));
    }
}

async fn poll_epoch(cache: Arc<GrantCache>, metrics: Arc<Metrics>, cancel: CancellationToken) {
    let mut tick = tokio::time::interval(cache.settings().poll_interval);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut healthy = true;
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tick.tick() => {}
        }
        let started = Instant::now();
        match cache.store().epoch().await {
            Ok(epoch) => {
                if !healthy {
                    // The store may have restarted empty, failed over or been restored while
                    // unreachable, and its change counter may even have come back to the value
                    // this replica last saw: nothing cached before the outage is trusted.
                    cache.resync();
                    tracing::info!("Grant store reachable again; cache resynchronised");
                    healthy = true;
                }
                cache.apply_poll(epoch, started);
                Metrics::count_result(&metrics.epoch_polls, "ok");
            }
            Err(e) => {
                Metrics::count_result(&metrics.epoch_polls, "error");
                if !cache.is_confirmed() {
                    metrics.cache_confirmed.set(0);
                }
                if healthy {
                    tracing::warn!(error = %e, "Change counter poll failed; cached allows stop at the staleness bound");
                    healthy = false;
                }
            }
        }
    }
}

async fn subscribe(cache: Arc<GrantCache>, metrics: Arc<Metrics>, cancel: CancellationToken) {
    let mut backoff = Duration::from_millis(100);
    loop {
        let attempt = tokio::select! {
            _ = cancel.cancelled() => return,
            r = cache.store().changes() => r,
        };
        match attempt {
            Ok(mut stream) => {
                cache.resync();
                backoff = Duration::from_millis(100);
                tracing::debug!("Subscribed to grant change notifications");
                loop {
                    tokio::select! {
                        _ = cancel.cancelled() => return,
                        msg = stream.next() => match msg {
                            Some(change) => {
                                cache.apply_change(&change);
                                observe_propagation(&metrics, &change);
                            }
                            None => break,
                        },
                    }
                }
                tracing::warn!("Grant change subscription lost; polling continues, resubscribing");
            }
            Err(e) => tracing::debug!(error = %e, "Cannot subscribe to grant changes yet"),
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

/// How long a revocation took to reach this replica (wall clocks of two replicas: a rough
/// figure, clamped at zero).
fn observe_propagation(metrics: &Metrics, change: &super::Change) {
    if let Some(at) = change.revoked_at {
        let now = jitgate_core::time::Clock::now(&jitgate_core::time::SystemClock);
        let ms = now.as_millis().saturating_sub(at.as_millis()).max(0);
        metrics.revocation_propagation.observe(ms as f64 / 1000.0);
    }
}
