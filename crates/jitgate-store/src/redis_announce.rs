//! Change announcements of the Redis store: the change counter (`epoch`) and the notification
//! on the changes channel, both made inside the write script itself ([`super::scripts`]) so
//! that no write can land unannounced, whatever happens to the connection afterwards.
//!
//! In a Redis Cluster the counter lives in its own slot, which a script writing one
//! principal's keys cannot reach: there the script publishes the notification (atomically
//! with the write) and [`RedisStore::after_script`] bumps the counter and publishes again,
//! right after. If that step is lost, the retried call announces again (a repeated revoke
//! does, see [`super::scripts::REVOKE`]).
//!
//! This module knows the message's wire shape; it does not know what a cache does with it.

use redis::{AsyncCommands, ScriptInvocation};
use serde::{Deserialize, Serialize};

use super::redis::RedisStore;
use super::redis_conn::Topology;
use super::{Change, StoreError};
use jitgate_core::grant::Principal;
use jitgate_core::time::{Clock, SystemClock, Timestamp};

/// What changed for a principal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// A grant was created, replaced or removed.
    Grant,
    /// A grant was revoked (receivers measure how long the news took).
    Revoke,
}

/// The notification on the changes channel:
/// `{"epoch": 7, "principal": "user:alice", "kind": "revoke", "at": 1767225600000}`.
/// `epoch` is absent when the counter could not be bumped in the same step (Redis Cluster).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Announcement {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    epoch: Option<u64>,
    principal: String,
    kind: ChangeKind,
    /// When the announcing replica sent it (Unix milliseconds, its own clock).
    at: i64,
}

// === impl RedisStore ===

impl RedisStore {
    /// Whether write scripts can bump the change counter themselves: everywhere but in a
    /// Redis Cluster, where the counter's slot differs from the principal's.
    fn script_bumps_epoch(&self) -> bool {
        !matches!(self.redis.topology(), Topology::Cluster { .. })
    }

    /// Adds what an announcing script needs after its own KEYS and ARGV: the change counter
    /// (when the script may reach it), the channel and the message without `epoch`.
    pub(super) fn announcing(
        &self,
        inv: &mut ScriptInvocation<'_>,
        principal: &Principal,
        kind: ChangeKind,
    ) -> Result<(), StoreError> {
        let k = self.redis.keys();
        if self.script_bumps_epoch() {
            inv.key(k.epoch());
        }
        let message =
            Announcement { epoch: None, principal: principal.to_string(), kind, at: now() };
        let json =
            serde_json::to_string(&message).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        // The script writes the opening brace (and `"epoch": n,` after it).
        let tail = json.strip_prefix('{').unwrap_or(&json).to_string();
        inv.arg(k.changes_channel()).arg(tail);
        Ok(())
    }

    /// After an announcing script: nothing left to do, except in a Redis Cluster, where the
    /// change counter is bumped (and announced with its value) now.
    pub(super) async fn after_script(
        &self,
        principal: &Principal,
        kind: ChangeKind,
    ) -> Result<(), StoreError> {
        if self.script_bumps_epoch() { Ok(()) } else { self.announce(principal, kind).await }
    }

    /// Bumps the change counter, then tells subscribers whose grants changed (and when, so
    /// they can measure how long the news took). For changes made outside a script.
    pub(super) async fn announce(
        &self,
        principal: &Principal,
        kind: ChangeKind,
    ) -> Result<(), StoreError> {
        let mut c = self.redis.handle();
        let epoch: u64 = self.redis.run("epoch_incr", c.incr(self.redis.keys().epoch(), 1)).await?;
        let message =
            Announcement { epoch: Some(epoch), principal: principal.to_string(), kind, at: now() };
        let json =
            serde_json::to_string(&message).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let _: i64 =
            self.redis.run("publish", c.publish(self.redis.keys().changes_channel(), json)).await?;
        Ok(())
    }
}

fn now() -> i64 {
    SystemClock.now().as_millis()
}

/// A notification as the cache reads it; `None` for a message it cannot read.
pub(super) fn parse_change(payload: &str) -> Option<Change> {
    let m: Announcement = serde_json::from_str(payload).ok()?;
    Some(Change {
        epoch: m.epoch,
        principal: m.principal.parse().ok(),
        revoked_at: (m.kind == ChangeKind::Revoke).then(|| Timestamp::from_millis(m.at)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announcements_round_trip_with_and_without_their_epoch() {
        let alice: Principal = "user:alice".parse().unwrap();
        for epoch in [Some(7), None] {
            let m = Announcement {
                epoch,
                principal: alice.to_string(),
                kind: ChangeKind::Revoke,
                at: 42,
            };
            let json = serde_json::to_string(&m).unwrap();
            let change = parse_change(&json).unwrap();
            assert_eq!(change.epoch, epoch);
            assert_eq!(change.principal.as_ref(), Some(&alice));
            assert_eq!(change.revoked_at, Some(Timestamp::from_millis(42)));
        }
    }

    #[test]
    fn the_message_a_script_completes_is_the_one_receivers_read() {
        let m = Announcement {
            epoch: None,
            principal: "group:on-call".into(),
            kind: ChangeKind::Grant,
            at: 1,
        };
        let json = serde_json::to_string(&m).unwrap();
        // What the Lua `publish` helper sends: `{"epoch":<n>,` then the tail.
        let sent = format!("{{\"epoch\":12,{}", json.strip_prefix('{').unwrap());
        let change = parse_change(&sent).unwrap();
        assert_eq!((change.epoch, change.revoked_at), (Some(12), None));
        assert_eq!(change.principal, "group:on-call".parse().ok());
    }
}
