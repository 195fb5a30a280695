//! The usage ledger in Redis: each replica folds the uses it saw into the grant's record
//! (`uses`, `first_used_at`, `last_used_at`) and a capped set of the distinct paths used,
//! one Lua call per grant per flush (pipelined), atomically within the principal's slot.

use futures_util::StreamExt;
use redis::AsyncCommands;

use super::redis::RedisStore;
use super::{GrantUsage, StoreError, UsageDelta};
use jitgate_core::grant::Grant;

/// Distinct paths kept per grant; past it, `…` marks that more were used.
pub const PATH_CAP: usize = 100;

/// Usage writes in flight at once during a flush.
const USAGE_PIPELINE: usize = 32;

/// What marks a capped path set.
pub const TRUNCATED: &str = "…";

impl RedisStore {
    pub(super) async fn write_usage(&self, usage: &[UsageDelta]) -> Result<(), StoreError> {
        let k = self.redis.keys();
        let history = i64::try_from(self.history.as_millis()).unwrap_or(i64::MAX);
        // One script per grant (each stays in its principal's slot), pipelined on the
        // multiplexed connection instead of one round trip after another.
        let mut writes = Vec::with_capacity(usage.len());
        for u in usage {
            let (p, id) = (&u.subject, &u.grant);
            let mut inv = self.scripts.usage.prepare_invoke();
            inv.key(k.grant(p, id)).key(k.revoked(p, id)).key(k.history(p, id)).key(k.paths(p, id));
            inv.arg(if u.limited { 0 } else { u.uses })
                .arg(u.first.as_millis())
                .arg(u.last.as_millis())
                .arg(u.expires_at.as_millis().saturating_add(history))
                .arg(PATH_CAP);
            for path in &u.paths {
                inv.arg(path);
            }
            let mut c = self.redis.handle();
            writes.push(async move {
                let _: i64 = self.redis.run("usage", inv.invoke_async(&mut c)).await?;
                Ok::<(), StoreError>(())
            });
        }
        let results: Vec<_> =
            futures_util::stream::iter(writes).buffer_unordered(USAGE_PIPELINE).collect().await;
        results.into_iter().collect()
    }

    pub(super) async fn read_usage(&self, grant: &Grant) -> Result<GrantUsage, StoreError> {
        let key = self.redis.keys().paths(&grant.subject, &grant.id);
        let mut c = self.redis.handle();
        let mut paths: Vec<String> = self.redis.run("usage", c.smembers(key)).await?;
        let truncated = paths.iter().any(|p| p == TRUNCATED);
        paths.retain(|p| p != TRUNCATED);
        paths.sort();
        Ok(GrantUsage::of(grant, paths, truncated))
    }
}
