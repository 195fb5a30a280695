//! The Redis [`GrantStore`]: a reconnecting multiplexed connection, Lua for atomic writes,
//! a TTL on every grant key, and change announcements (INCR the epoch, then PUBLISH).
//! Key layout: see [`super::keys`].

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use futures_util::StreamExt;
use redis::AsyncCommands;

use super::redis_conn::{RedisConn, RedisSettings};
use super::scripts;
use super::{Change, ChangeStream, GrantStore, RevokeOutcome, StoreError, UseOutcome};
use crate::grant::{Grant, GrantId, Principal, Revocation};
use crate::metrics::Metrics;
use crate::time::Timestamp;

struct Scripts {
    create: redis::Script,
    touch_subject: redis::Script,
    touch_set: redis::Script,
    live: redis::Script,
    revoke: redis::Script,
    consume: redis::Script,
}

/// Grants in Redis.
pub struct RedisStore {
    redis: RedisConn,
    scripts: Scripts,
}

// === impl RedisStore ===

impl RedisStore {
    /// Connects lazily: jitgate starts (and denies with 503) while Redis is still down.
    pub fn new(settings: &RedisSettings, metrics: Arc<Metrics>) -> Result<Self, StoreError> {
        Ok(Self::with_conn(RedisConn::connect(settings, metrics)?))
    }

    pub fn with_conn(redis: RedisConn) -> Self {
        let scripts = Scripts {
            create: redis::Script::new(scripts::CREATE),
            touch_subject: redis::Script::new(scripts::TOUCH_SUBJECT),
            touch_set: redis::Script::new(scripts::TOUCH_SET),
            live: redis::Script::new(scripts::LIVE),
            revoke: redis::Script::new(scripts::REVOKE),
            consume: redis::Script::new(scripts::CONSUME),
        };
        Self { redis, scripts }
    }

    /// The shared connection, for the other Redis-backed stores.
    pub fn conn(&self) -> &RedisConn {
        &self.redis
    }

    /// Bumps the change counter, then tells subscribers whose grants changed.
    async fn announce(&self, principal: &Principal) -> Result<(), StoreError> {
        let mut c = self.redis.handle();
        let epoch: u64 = self.redis.run("epoch_incr", c.incr(self.redis.keys().epoch(), 1)).await?;
        let msg =
            serde_json::json!({"epoch": epoch, "principal": principal.to_string()}).to_string();
        let _: i64 =
            self.redis.run("publish", c.publish(self.redis.keys().changes_channel(), msg)).await?;
        Ok(())
    }

    async fn owner(&self, id: &GrantId) -> Result<Option<Principal>, StoreError> {
        let mut c = self.redis.handle();
        let raw: Option<String> =
            self.redis.run("owner", c.get(self.redis.keys().owner(id))).await?;
        raw.map(|s| s.parse().map_err(|e| StoreError::Corrupt(format!("owner of `{id}`: {e}"))))
            .transpose()
    }

    async fn read_hash(&self, key: String) -> Result<Option<Grant>, StoreError> {
        let mut c = self.redis.handle();
        let fields: HashMap<String, String> = self.redis.run("get", c.hgetall(&key)).await?;
        if fields.is_empty() {
            return Ok(None);
        }
        decode(
            fields.get("grant").map(String::as_str),
            fields.get("uses").map(String::as_str),
            fields.get("last_used_at").map(String::as_str),
            fields.get("revoked").map(String::as_str),
        )
        .map(Some)
    }
}

/// Rebuilds a grant from its hash fields (the JSON document plus the mutable counters).
fn decode(
    json: Option<&str>,
    uses: Option<&str>,
    last_used: Option<&str>,
    revoked: Option<&str>,
) -> Result<Grant, StoreError> {
    let json =
        json.ok_or_else(|| StoreError::Corrupt("grant hash without `grant` field".into()))?;
    let mut grant: Grant =
        serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("grant JSON: {e}")))?;
    grant.uses = uses.and_then(|u| u.parse().ok()).unwrap_or(0);
    grant.last_used_at = last_used
        .filter(|s| !s.is_empty())
        .and_then(|s| s.parse().ok())
        .map(Timestamp::from_millis);
    if let Some(r) = revoked {
        grant.revoked = Some(
            serde_json::from_str(r).map_err(|e| StoreError::Corrupt(format!("revocation: {e}")))?,
        );
    }
    Ok(grant)
}

#[async_trait]
impl GrantStore for RedisStore {
    async fn create(&self, grant: &Grant) -> Result<(), StoreError> {
        let (p, exp) = (&grant.subject, grant.expires_at.as_millis());
        let json = serde_json::to_string(grant).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut c = self.redis.handle();
        let owner_set: Option<String> = self
            .redis
            .run(
                "create",
                redis::cmd("SET")
                    .arg(self.redis.keys().owner(&grant.id))
                    .arg(p.to_string())
                    .arg("NX")
                    .arg("PXAT")
                    .arg(exp)
                    .query_async(&mut c),
            )
            .await?;
        if owner_set.is_none() {
            return Err(StoreError::Conflict(grant.id.to_string()));
        }
        let max_uses = grant.max_uses.map(|m| m.to_string()).unwrap_or_default();
        let now = grant.created_at.as_millis();
        let mut inv = self.scripts.create.prepare_invoke();
        inv.key(self.redis.keys().grant(p, &grant.id)).key(self.redis.keys().index(p));
        inv.arg(grant.id.as_str()).arg(exp).arg(json).arg(max_uses).arg(now);
        let created: i64 = self.redis.run("create", inv.invoke_async(&mut c)).await?;
        if created == 0 {
            return Err(StoreError::Conflict(grant.id.to_string()));
        }
        let mut touch = self.scripts.touch_subject.prepare_invoke();
        touch.key(self.redis.keys().subjects()).arg(exp).arg(p.to_string()).arg(now);
        let _: i64 = self.redis.run("create", touch.invoke_async(&mut c)).await?;
        if let Some(incident) = &grant.incident {
            let mut add = self.scripts.touch_set.prepare_invoke();
            add.key(self.redis.keys().incident(incident)).arg(grant.id.as_str()).arg(exp);
            let _: i64 = self.redis.run("create", add.invoke_async(&mut c)).await?;
        }
        self.announce(p).await
    }

    async fn get(&self, id: &GrantId) -> Result<Option<Grant>, StoreError> {
        let Some(p) = self.owner(id).await? else { return Ok(None) };
        if let Some(g) = self.read_hash(self.redis.keys().grant(&p, id)).await? {
            return Ok(Some(g));
        }
        self.read_hash(self.redis.keys().revoked(&p, id)).await
    }

    async fn live_for(
        &self,
        principal: &Principal,
        now: Timestamp,
    ) -> Result<Vec<Grant>, StoreError> {
        let mut c = self.redis.handle();
        let mut inv = self.scripts.live.prepare_invoke();
        inv.key(self.redis.keys().index(principal)).arg(now.as_millis());
        inv.arg(self.redis.keys().grant_prefix(principal))
            .arg(self.redis.keys().revoked_prefix(principal));
        let flat: Vec<String> = self.redis.run("live", inv.invoke_async(&mut c)).await?;
        let mut out = Vec::with_capacity(flat.len() / 4);
        for t in flat.chunks_exact(4) {
            let revoked = Some(t[3].as_str()).filter(|r| !r.is_empty());
            let g = decode(Some(&t[0]), Some(&t[1]), Some(&t[2]), revoked)?;
            if &g.subject == principal {
                out.push(g);
            }
        }
        Ok(out)
    }

    async fn list(
        &self,
        subject: Option<&Principal>,
        now: Timestamp,
    ) -> Result<Vec<Grant>, StoreError> {
        let subjects: Vec<Principal> = match subject {
            Some(s) => vec![s.clone()],
            None => {
                let mut c = self.redis.handle();
                let min = format!("({}", now.as_millis());
                let raw: Vec<String> = self
                    .redis
                    .run("list", c.zrangebyscore(self.redis.keys().subjects(), min, "+inf"))
                    .await?;
                raw.iter().filter_map(|s| s.parse().ok()).collect()
            }
        };
        let mut out = Vec::new();
        for s in &subjects {
            out.extend(self.live_for(s, now).await?.into_iter().filter(|g| g.revoked.is_none()));
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    async fn revoke(
        &self,
        id: &GrantId,
        revocation: Revocation,
    ) -> Result<RevokeOutcome, StoreError> {
        let Some(p) = self.owner(id).await? else { return Ok(RevokeOutcome::NotFound) };
        let json =
            serde_json::to_string(&revocation).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut c = self.redis.handle();
        let mut inv = self.scripts.revoke.prepare_invoke();
        inv.key(self.redis.keys().grant(&p, id)).key(self.redis.keys().revoked(&p, id)).arg(json);
        let outcome: i64 = self.redis.run("revoke", inv.invoke_async(&mut c)).await?;
        let stored = self.read_hash(self.redis.keys().revoked(&p, id)).await?;
        match (outcome, stored) {
            (1, Some(g)) => {
                self.announce(&p).await?;
                Ok(RevokeOutcome::Revoked(Box::new(g)))
            }
            (2, Some(g)) => Ok(RevokeOutcome::AlreadyRevoked(Box::new(g))),
            _ => Ok(RevokeOutcome::NotFound),
        }
    }

    async fn consume_use(&self, grant: &Grant, now: Timestamp) -> Result<UseOutcome, StoreError> {
        let mut c = self.redis.handle();
        let mut inv = self.scripts.consume.prepare_invoke();
        inv.key(self.redis.keys().grant(&grant.subject, &grant.id)).arg(now.as_millis());
        let n: i64 = self.redis.run("consume", inv.invoke_async(&mut c)).await?;
        Ok(match n {
            -1 => UseOutcome::UsedUp,
            -2 | -3 => UseOutcome::Gone,
            -4 => UseOutcome::Used { uses: 0 },
            n => UseOutcome::Used { uses: u64::try_from(n).unwrap_or(0) },
        })
    }

    async fn by_incident(
        &self,
        incident: &str,
        now: Timestamp,
    ) -> Result<Vec<GrantId>, StoreError> {
        let mut c = self.redis.handle();
        let raw: Vec<String> =
            self.redis.run("incident", c.smembers(self.redis.keys().incident(incident))).await?;
        let mut out = Vec::new();
        for id in raw.iter().filter_map(|s| GrantId::parse(s).ok()) {
            if self.get(&id).await?.is_some_and(|g| g.is_live(now)) {
                out.push(id);
            }
        }
        out.sort();
        Ok(out)
    }

    async fn epoch(&self) -> Result<u64, StoreError> {
        let mut c = self.redis.handle();
        let v: Option<u64> = self.redis.run("epoch", c.get(self.redis.keys().epoch())).await?;
        Ok(v.unwrap_or(0))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let mut c = self.redis.handle();
        let _: String = self.redis.run("ping", redis::cmd("PING").query_async(&mut c)).await?;
        Ok(())
    }

    async fn changes(&self) -> Result<ChangeStream, StoreError> {
        let channel = self.redis.keys().changes_channel();
        let subscribe = async {
            let mut pubsub = self.redis.client().get_async_pubsub().await?;
            pubsub.subscribe(&channel).await?;
            Ok(pubsub)
        };
        let pubsub = self.redis.run("subscribe", subscribe).await?;
        let stream = pubsub.into_on_message().filter_map(|msg| async move {
            let payload: String = msg.get_payload().ok()?;
            parse_change(&payload)
        });
        Ok(Box::pin(stream))
    }
}

fn parse_change(payload: &str) -> Option<Change> {
    let v: serde_json::Value = serde_json::from_str(payload).ok()?;
    let epoch = v.get("epoch")?.as_u64()?;
    let principal = v.get("principal").and_then(|p| p.as_str()).and_then(|p| p.parse().ok());
    Some(Change { epoch, principal })
}
