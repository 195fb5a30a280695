//! Request records that cannot be decoded (SECURITY row 62). Readers skip them (the store
//! counts and logs each) and note them here; the sweeper then moves each one aside to the
//! quarantine, out of the pending, escalation and recent indexes, so no list, page or
//! background task stops at it again. `jitgate quarantine` lists, shows and deletes them.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::requests::RequestService;
use crate::access::{AccessRequest, RequestId};
use crate::store::{StoreError, Versioned};

/// At most this many found records wait for the sweeper (more are found again later).
const MAX_FOUND: usize = 1024;

/// Undecodable requests readers met since the last sweep, with why.
#[derive(Default)]
pub struct Found(Mutex<BTreeMap<RequestId, String>>);

impl Found {
    fn note(&self, id: RequestId, why: String) {
        if let Ok(mut found) = self.0.lock()
            && found.len() < MAX_FOUND
        {
            found.insert(id, why);
        }
    }

    fn take(&self) -> BTreeMap<RequestId, String> {
        self.0.lock().map(|mut f| std::mem::take(&mut *f)).unwrap_or_default()
    }
}

// === impl RequestService ===

impl RequestService {
    /// A reader met request `id` and could not decode it.
    pub(super) fn found_corrupt(&self, id: RequestId, why: String) {
        self.corrupt.note(id, why);
    }

    /// Moves aside every request readers found undecodable; returns how many it moved.
    pub(super) async fn quarantine_found(&self) -> Result<usize, StoreError> {
        let mut moved = 0;
        for (id, why) in self.corrupt.take() {
            moved += usize::from(self.quarantine(&id, &why).await?);
        }
        Ok(moved)
    }

    /// Reads request `id` for a background task: an undecodable record is moved aside at once
    /// and answered as gone, so the task goes on with the others.
    pub(super) async fn load_or_quarantine(
        &self,
        id: &RequestId,
    ) -> Result<Option<Versioned<AccessRequest>>, StoreError> {
        match self.store.get(id).await {
            Err(StoreError::Corrupt(why)) => {
                self.quarantine(id, &why).await?;
                Ok(None)
            }
            read => read,
        }
    }

    /// Moves the record of request `id` aside (it could not be decoded: `why`).
    pub(super) async fn quarantine(&self, id: &RequestId, why: &str) -> Result<bool, StoreError> {
        let moved = self.store.quarantine(id, why, self.clock.now()).await?;
        if moved {
            tracing::warn!(request.id = %id, error = why, "Undecodable access request moved to the quarantine (`jitgate quarantine show {id}`)");
        }
        Ok(moved)
    }
}
