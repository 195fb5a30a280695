//! The Redis [`GrantStore`]: Lua for every atomic write, a TTL on every grant key, a history
//! record kept for a while after expiry, and change announcements made by the write scripts
//! themselves ([`super::redis_announce`]). Reads are in [`super::redis_read`]. Key layout: see
//! [`super::keys`].

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;
use redis::AsyncCommands;

use super::audit_log::RedisAuditLog;
use super::reassert::{Journal, Revoked};
use super::redis_announce::{ChangeKind, parse_change};
use super::redis_conn::{RedisConn, RedisSettings};
use super::scripts::{self, ConsumeAnswer, CreateAnswer};
use super::{
    ChangeStream, GrantStore, GrantUsage, RevokeOutcome, StoreError, UsageDelta, UseOutcome,
};
use crate::audit::AuditEvent;
use jitgate_core::grant::{Grant, GrantId, Principal, Revocation};
use jitgate_core::time::Timestamp;
use jitgate_metrics::Metrics;

/// How long grant history is kept after expiry unless configured.
pub const DEFAULT_HISTORY: Duration = Duration::from_secs(24 * 3600);

pub(super) struct Scripts {
    pub(super) create: redis::Script,
    pub(super) drop: redis::Script,
    pub(super) touch_subject: redis::Script,
    pub(super) touch_set: redis::Script,
    pub(super) live: redis::Script,
    pub(super) revoke: redis::Script,
    pub(super) consume: redis::Script,
    pub(super) usage: redis::Script,
}

/// Grants in Redis.
pub struct RedisStore {
    pub(super) redis: RedisConn,
    pub(super) scripts: Scripts,
    pub(super) history: Duration,
    /// Read-only stores (SRE tooling) never write and read without Lua.
    pub(super) read_only: bool,
    pub(super) audit: RedisAuditLog,
    /// Revocations acknowledged here, for re-assertion after a failover ([`super::reassert`]).
    pub(super) journal: Journal,
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
            drop: redis::Script::new(scripts::DROP),
            touch_subject: redis::Script::new(scripts::TOUCH_SUBJECT),
            touch_set: redis::Script::new(scripts::TOUCH_SET),
            live: redis::Script::new(scripts::LIVE),
            revoke: redis::Script::new(scripts::REVOKE),
            consume: redis::Script::new(scripts::CONSUME),
            usage: redis::Script::new(scripts::USAGE),
        };
        let audit = RedisAuditLog::new(redis.clone());
        let journal = Journal::default();
        Self { redis, scripts, history: DEFAULT_HISTORY, read_only: false, audit, journal }
    }

    /// How long history records outlive their grant.
    pub fn with_history(mut self, history: Duration) -> Self {
        self.history = history;
        self
    }

    /// A store that only reads, with plain commands (works with a read-only Redis ACL user).
    pub fn read_only(mut self) -> Self {
        self.read_only = true;
        self
    }

    /// The shared connection, for the other Redis-backed stores.
    pub fn conn(&self) -> &RedisConn {
        &self.redis
    }

    /// The revocations this store acknowledged (until their grants expire).
    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    pub(super) fn writable(&self) -> Result<(), StoreError> {
        if self.read_only {
            Err(StoreError::Unavailable("this store was opened read-only".into()))
        } else {
            Ok(())
        }
    }

    /// Relays the audit event a change just left in its principal's outbox. A failure here
    /// leaves the event in the outbox for the periodic relay: the change stands.
    pub(super) async fn relay(&self, principal: &Principal) {
        let outbox = self.redis.keys().grant_outbox(principal);
        if let Err(e) = self.audit.relay(&outbox).await {
            tracing::warn!(error = %e, "Audit relay failed; the periodic relay will retry");
        }
    }

    /// Runs the REVOKE script (which announces the change itself, except for the change
    /// counter in a Redis Cluster: bumped here, right after).
    pub(super) async fn revoke_script(
        &self,
        p: &Principal,
        id: &GrantId,
        revocation_json: String,
        event_json: String,
    ) -> Result<scripts::RevokeAnswer, StoreError> {
        let k = self.redis.keys();
        let mut inv = self.scripts.revoke.prepare_invoke();
        inv.key(k.grant(p, id)).key(k.revoked(p, id)).key(k.history(p, id));
        inv.key(k.grant_outbox(p)).arg(revocation_json).arg(event_json);
        self.announcing(&mut inv, p, ChangeKind::Revoke)?;
        let code: i64 =
            self.redis.run("revoke", inv.invoke_async(&mut self.redis.handle())).await?;
        let outcome = scripts::RevokeAnswer::try_from(code)?;
        if outcome != scripts::RevokeAnswer::NotFound {
            self.after_script(p, ChangeKind::Revoke).await?;
        }
        Ok(outcome)
    }

    /// Writes a grant, its audit event and its owner, subject and incident indexes; `replace`
    /// upserts by id.
    async fn write(
        &self,
        grant: &Grant,
        replace: bool,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        self.writable()?;
        let (k, p, exp) = (self.redis.keys(), &grant.subject, grant.expires_at.as_millis());
        let json = serde_json::to_string(grant).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut c = self.redis.handle();
        let mut owner = redis::cmd("SET");
        owner.arg(k.owner(&grant.id)).arg(p.to_string());
        if !replace {
            owner.arg("NX");
        }
        owner.arg("PXAT").arg(exp);
        let set: Option<String> = self.redis.run("create", owner.query_async(&mut c)).await?;
        if set.is_none() {
            return Err(StoreError::Conflict(grant.id.to_string()));
        }
        let now = grant.created_at.as_millis();
        let history = i64::try_from(self.history.as_millis()).unwrap_or(i64::MAX);
        let mut inv = self.scripts.create.prepare_invoke();
        inv.key(k.grant(p, &grant.id)).key(k.index(p)).key(k.revoked(p, &grant.id));
        inv.key(k.history(p, &grant.id)).key(k.history_index(p)).key(k.grant_outbox(p));
        inv.arg(grant.id.as_str())
            .arg(exp)
            .arg(json)
            .arg(grant.max_uses.map(|m| m.to_string()).unwrap_or_default());
        inv.arg(now)
            .arg(exp.saturating_add(history))
            .arg(if replace { "1" } else { "0" })
            .arg(now.saturating_sub(history))
            .arg(event.to_json());
        self.announcing(&mut inv, p, ChangeKind::Grant)?;
        let code: i64 = self.redis.run("create", inv.invoke_async(&mut c)).await?;
        if CreateAnswer::try_from(code)? == CreateAnswer::Exists {
            return Err(StoreError::Conflict(grant.id.to_string()));
        }
        self.after_script(p, ChangeKind::Grant).await?;
        let mut touch = self.scripts.touch_subject.prepare_invoke();
        touch.key(k.subjects()).arg(exp).arg(p.to_string()).arg(now);
        let _: i64 = self.redis.run("create", touch.invoke_async(&mut c)).await?;
        self.relay(p).await;
        if let Some(incident) = &grant.incident {
            let mut add = self.scripts.touch_set.prepare_invoke();
            add.key(k.incident(incident)).arg(grant.id.as_str()).arg(exp);
            let _: i64 = self.redis.run("create", add.invoke_async(&mut c)).await?;
        }
        Ok(())
    }
}

#[async_trait]
impl GrantStore for RedisStore {
    async fn create(&self, grant: &Grant, event: &AuditEvent) -> Result<(), StoreError> {
        self.write(grant, false, event).await
    }

    async fn put_managed(&self, grant: &Grant, event: &AuditEvent) -> Result<(), StoreError> {
        self.writable()?;
        if let Some(previous) = self.owner(&grant.id).await?
            && previous != grant.subject
        {
            let k = self.redis.keys();
            let mut inv = self.scripts.drop.prepare_invoke();
            inv.key(k.grant(&previous, &grant.id))
                .key(k.revoked(&previous, &grant.id))
                .key(k.index(&previous));
            inv.arg(grant.id.as_str());
            self.announcing(&mut inv, &previous, ChangeKind::Grant)?;
            let _: i64 =
                self.redis.run("create", inv.invoke_async(&mut self.redis.handle())).await?;
            self.after_script(&previous, ChangeKind::Grant).await?;
        }
        self.write(grant, true, event).await
    }

    async fn get(&self, id: &GrantId) -> Result<Option<Grant>, StoreError> {
        self.read_get(id).await
    }

    async fn live_for(
        &self,
        principal: &Principal,
        now: Timestamp,
    ) -> Result<Vec<Grant>, StoreError> {
        self.read_live(principal, now).await
    }

    async fn recent_for(
        &self,
        principal: &Principal,
        now: Timestamp,
    ) -> Result<Vec<Grant>, StoreError> {
        self.read_recent(principal, now).await
    }

    async fn list(
        &self,
        subject: Option<&Principal>,
        now: Timestamp,
    ) -> Result<Vec<Grant>, StoreError> {
        self.read_list(subject, now).await
    }

    async fn revoke(
        &self,
        id: &GrantId,
        revocation: Revocation,
        event: &AuditEvent,
    ) -> Result<RevokeOutcome, StoreError> {
        self.writable()?;
        let Some(p) = self.owner(id).await? else { return Ok(RevokeOutcome::NotFound) };
        let json =
            serde_json::to_string(&revocation).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let event = event.clone().subject(&p).to_json();
        let outcome = self.revoke_script(&p, id, json, event).await?;
        if outcome == scripts::RevokeAnswer::Revoked {
            self.relay(&p).await;
        }
        // The script has announced the change already (a repeated revoke announces again);
        // only a failure to read the result back remains possible, and a retry recovers it.
        let stored = match outcome {
            scripts::RevokeAnswer::NotFound => None,
            _ => self.read_hash(self.redis.keys().revoked(&p, id)).await?,
        };
        let Some(g) = stored else { return Ok(RevokeOutcome::NotFound) };
        self.journal.record(Revoked {
            principal: p.clone(),
            id: id.clone(),
            revocation: g.revoked.clone().unwrap_or(revocation),
            until: g.expires_at,
        });
        Ok(match outcome {
            scripts::RevokeAnswer::Revoked => RevokeOutcome::Revoked(Box::new(g)),
            _ => RevokeOutcome::AlreadyRevoked(Box::new(g)),
        })
    }

    async fn consume_use(
        &self,
        holder: &Principal,
        id: &GrantId,
        now: Timestamp,
    ) -> Result<UseOutcome, StoreError> {
        self.writable()?;
        let k = self.redis.keys();
        let mut inv = self.scripts.consume.prepare_invoke();
        inv.key(k.grant(holder, id)).key(k.history(holder, id)).arg(now.as_millis());
        let n: i64 = self.redis.run("consume", inv.invoke_async(&mut self.redis.handle())).await?;
        Ok(match ConsumeAnswer::try_from(n)? {
            ConsumeAnswer::UsedUp => UseOutcome::UsedUp,
            ConsumeAnswer::Gone | ConsumeAnswer::Expired => UseOutcome::Gone,
            ConsumeAnswer::Unlimited => UseOutcome::Used { uses: 0 },
            ConsumeAnswer::Used(uses) => UseOutcome::Used { uses },
        })
    }

    async fn record_usage(&self, usage: &[UsageDelta]) -> Result<(), StoreError> {
        self.writable()?;
        self.write_usage(usage).await
    }

    async fn usage(&self, grant: &Grant) -> Result<GrantUsage, StoreError> {
        self.read_usage(grant).await
    }

    async fn by_incident(
        &self,
        incident: &str,
        now: Timestamp,
    ) -> Result<Vec<GrantId>, StoreError> {
        self.read_incident(incident, now).await
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
            let mut pubsub = self.redis.pubsub().await?;
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
