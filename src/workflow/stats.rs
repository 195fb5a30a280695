//! Gauges counted from the store now and then (not on every change, so every replica reports
//! the shared truth): live grants by source, and requests waiting for a decision.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{GrantService, RequestService};
use crate::metrics::{Metrics, SourceLabels};

/// Counts once; errors leave the previous values in place.
pub async fn count(grants: &GrantService, requests: &RequestService, metrics: &Metrics) {
    match grants.store().list(None, grants.now()).await {
        Ok(live) => {
            let mut by: HashMap<&'static str, i64> =
                HashMap::from([("api", 0), ("request", 0), ("manifest", 0)]);
            for g in &live {
                *by.entry(g.source.as_str()).or_default() += 1;
            }
            for (source, n) in by {
                metrics.active_grants.get_or_create(&SourceLabels { source }).set(n);
            }
        }
        Err(e) => tracing::debug!(error = %e, "Counting live grants failed"),
    }
    match requests.pending_count().await {
        Ok(n) => {
            metrics.pending_requests.set(i64::try_from(n).unwrap_or(i64::MAX));
        }
        Err(e) => tracing::debug!(error = %e, "Counting pending requests failed"),
    }
}

pub async fn run(
    grants: Arc<GrantService>,
    requests: Arc<RequestService>,
    metrics: Arc<Metrics>,
    every: Duration,
    cancel: CancellationToken,
) {
    loop {
        count(&grants, &requests, &metrics).await;
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}
