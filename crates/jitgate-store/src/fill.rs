//! Single-flight cache fills. Concurrent misses for one principal share one store read, and
//! that read runs to completion on its own task even when every Check waiting for it gave up at
//! its deadline, so a slow read (a principal with thousands of grants) is done once and cached
//! instead of being started, abandoned and started again by every Check.
//!
//! A flight is only joined by Checks that saw the same cache generation as the one that started
//! it: a Check that arrives after an invalidation (a revoke) never receives grants read before it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures_util::future::{BoxFuture, FutureExt, Shared};

use super::StoreError;
use jitgate_core::grant::{IndexedGrants, Principal};

pub(super) type FillResult = Result<Arc<IndexedGrants>, StoreError>;
type Flight = Shared<BoxFuture<'static, FillResult>>;

/// The reads in flight, by principal, with the cache generation each started in.
#[derive(Default)]
pub(super) struct Fills {
    inflight: Mutex<HashMap<Principal, (u64, Flight)>>,
}

// === impl Fills ===

impl Fills {
    /// Joins the read of `principal` started in `generation`, or starts `work` on a task.
    pub(super) fn join_or_start(
        self: &Arc<Self>,
        principal: &Principal,
        generation: u64,
        work: impl FnOnce() -> BoxFuture<'static, FillResult>,
    ) -> Flight {
        let Ok(mut inflight) = self.inflight.lock() else {
            // A poisoned map: read alone rather than fail.
            return work().shared();
        };
        if let Some((g, flight)) = inflight.get(principal)
            && *g == generation
        {
            return flight.clone();
        }
        let fills = self.clone();
        let key = principal.clone();
        let work = work();
        let task = tokio::spawn(async move {
            let result = work.await;
            fills.finish(&key, generation);
            result
        });
        let flight = async move {
            task.await.unwrap_or_else(|e| {
                Err(StoreError::Unavailable(format!("the grant read did not finish: {e}")))
            })
        }
        .boxed()
        .shared();
        inflight.insert(principal.clone(), (generation, flight.clone()));
        flight
    }

    fn finish(&self, principal: &Principal, generation: u64) {
        if let Ok(mut inflight) = self.inflight.lock()
            && inflight.get(principal).is_some_and(|(g, _)| *g == generation)
        {
            inflight.remove(principal);
        }
    }

    #[cfg(test)]
    pub(super) fn in_flight(&self) -> usize {
        self.inflight.lock().map(|m| m.len()).unwrap_or(0)
    }
}
