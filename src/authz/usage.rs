//! APPLICATION: the usage ledger's share of a batch: allowed uses summed per grant (count,
//! first and last use, distinct paths) and written in one store call.

use std::collections::{BTreeSet, HashMap};

use super::recorder::DecisionRecord;
use crate::grant::{GrantId, Principal};
use crate::metrics::Metrics;
use crate::store::{GrantStore, UsageDelta};
use crate::time::Timestamp;

/// One allowed use, for the usage ledger.
#[derive(Clone, Debug)]
pub struct UsageHit {
    pub grant: GrantId,
    pub subject: Principal,
    pub expires_at: Timestamp,
    pub limited: bool,
    pub path: String,
}

/// Folds the batch's allowed uses into each grant's usage ledger. A failure is logged and
/// counted; those uses are then missing from the ledger (never from the audit chain).
pub(super) async fn write(store: &dyn GrantStore, metrics: &Metrics, batch: &[DecisionRecord]) {
    let mut by_grant: HashMap<&GrantId, (UsageDelta, BTreeSet<&str>)> = HashMap::new();
    for r in batch {
        let Some(hit) = &r.usage else { continue };
        let at = r.event.at;
        let (d, paths) = by_grant.entry(&hit.grant).or_insert_with(|| {
            let d = UsageDelta {
                grant: hit.grant.clone(),
                subject: hit.subject.clone(),
                expires_at: hit.expires_at,
                limited: hit.limited,
                uses: 0,
                first: at,
                last: at,
                paths: Vec::new(),
            };
            (d, BTreeSet::new())
        });
        d.uses = d.uses.saturating_add(1);
        d.first = d.first.min(at);
        d.last = d.last.max(at);
        paths.insert(&hit.path);
    }
    if by_grant.is_empty() {
        return;
    }
    let deltas: Vec<UsageDelta> = by_grant
        .into_values()
        .map(|(mut d, paths)| {
            d.paths = paths.into_iter().map(String::from).collect();
            d
        })
        .collect();
    let result = store.record_usage(&deltas).await;
    Metrics::count_result(&metrics.usage_flushes, if result.is_ok() { "ok" } else { "error" });
    if let Err(e) = result {
        tracing::warn!(error = %e, grants = deltas.len(), "Usage ledger update failed; these uses are not in it");
    }
}
