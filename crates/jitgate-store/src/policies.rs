//! Where access policies live: [`PolicyStore`], in Redis (shared by every replica) or in memory.
//! Policies are configuration, not grants: they carry no TTL. Every change bumps a counter
//! that replicas poll to reload their compiled policy set.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use redis::AsyncCommands;

use super::StoreError;
use super::audit_log::RedisAuditLog;
use super::corrupt::RecordKind;
use super::memory_audit::MemoryAuditLog;
use super::redis_conn::RedisConn;
use crate::audit::AuditEvent;
use jitgate_core::access::PolicyDocument;

/// What a put did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PutOutcome {
    Created,
    Updated,
    Unchanged,
}

#[async_trait]
pub trait PolicyStore: Send + Sync + 'static {
    /// Creates or replaces the policy named in `doc.metadata.name`; a change records `event`.
    async fn put(&self, doc: &PolicyDocument, event: &AuditEvent)
    -> Result<PutOutcome, StoreError>;
    async fn get(&self, name: &str) -> Result<Option<PolicyDocument>, StoreError>;
    /// Every stored policy; one that cannot be decoded is counted, logged and named in
    /// [`StoredPolicies::unreadable`] instead of failing the list.
    async fn list(&self) -> Result<StoredPolicies, StoreError>;
    /// True when a policy was deleted (and `event` recorded).
    async fn delete(&self, name: &str, event: &AuditEvent) -> Result<bool, StoreError>;
    /// The change counter: any put or delete that changed something increases it.
    async fn version(&self) -> Result<u64, StoreError>;
}

/// The stored policies, and the names of those that could not be decoded.
#[derive(Clone, Debug, Default)]
pub struct StoredPolicies {
    pub docs: Vec<PolicyDocument>,
    pub unreadable: Vec<String>,
}

impl StoredPolicies {
    fn from_raw<'a>(
        raw: impl Iterator<Item = (&'a String, &'a String)>,
        mut corrupt: impl FnMut(&str, &str),
    ) -> Self {
        let mut out = Self::default();
        for (name, json) in raw {
            match serde_json::from_str(json) {
                Ok(doc) => out.docs.push(doc),
                Err(e) => {
                    corrupt(name, &e.to_string());
                    out.unreadable.push(name.clone());
                }
            }
        }
        out
    }
}

fn encode(doc: &PolicyDocument) -> Result<String, StoreError> {
    serde_json::to_string(doc).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn decode(name: &str, json: &str) -> Result<PolicyDocument, StoreError> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("policy `{name}`: {e}")))
}

/// Documents by name, and the change counter.
type PolicyMap = (BTreeMap<String, String>, u64);

/// Policies in a map.
#[derive(Default)]
pub struct MemoryPolicies {
    inner: Mutex<PolicyMap>,
    audit: Arc<MemoryAuditLog>,
}

impl MemoryPolicies {
    /// Records audit events in `audit` (shared with the other in-memory stores).
    pub fn with_audit(audit: Arc<MemoryAuditLog>) -> Self {
        Self { inner: Mutex::default(), audit }
    }

    fn record(&self, event: &AuditEvent) -> Result<(), StoreError> {
        self.audit.push(event).map(|_| ()).map_err(|e| StoreError::Unavailable(e.to_string()))
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, PolicyMap>, StoreError> {
        self.inner.lock().map_err(|_| StoreError::Unavailable("policy map lock poisoned".into()))
    }
}

#[async_trait]
impl PolicyStore for MemoryPolicies {
    async fn put(
        &self,
        doc: &PolicyDocument,
        event: &AuditEvent,
    ) -> Result<PutOutcome, StoreError> {
        let json = encode(doc)?;
        let mut inner = self.lock()?;
        let outcome = match inner.0.get(&doc.metadata.name) {
            None => PutOutcome::Created,
            Some(old) if *old == json => PutOutcome::Unchanged,
            Some(_) => PutOutcome::Updated,
        };
        if outcome != PutOutcome::Unchanged {
            self.record(event)?;
            inner.0.insert(doc.metadata.name.clone(), json);
            inner.1 += 1;
        }
        Ok(outcome)
    }

    async fn get(&self, name: &str) -> Result<Option<PolicyDocument>, StoreError> {
        self.lock()?.0.get(name).map(|j| decode(name, j)).transpose()
    }

    async fn list(&self) -> Result<StoredPolicies, StoreError> {
        Ok(StoredPolicies::from_raw(self.lock()?.0.iter(), |_, _| {}))
    }

    async fn delete(&self, name: &str, event: &AuditEvent) -> Result<bool, StoreError> {
        let mut inner = self.lock()?;
        if !inner.0.contains_key(name) {
            return Ok(false);
        }
        self.record(event)?;
        inner.0.remove(name);
        inner.1 += 1;
        Ok(true)
    }

    async fn version(&self) -> Result<u64, StoreError> {
        Ok(self.lock()?.1)
    }
}

/// KEYS: policies, epoch, audit outbox. ARGV: name, JSON, audit event JSON.
/// Returns 0 unchanged, 1 created, 2 updated.
const PUT: &str = r"
local old = redis.call('HGET', KEYS[1], ARGV[1])
if old == ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('INCR', KEYS[2])
redis.call('RPUSH', KEYS[3], ARGV[3])
if old then return 2 end
return 1
";

/// KEYS: policies, epoch, audit outbox. ARGV: name, audit event JSON. Returns 1 when deleted.
const DELETE: &str = r"
if redis.call('HDEL', KEYS[1], ARGV[1]) == 1 then
  redis.call('INCR', KEYS[2])
  redis.call('RPUSH', KEYS[3], ARGV[2])
  return 1
end
return 0
";

/// Policies in one Redis hash; the hash and its counter share the `{policies}` hash tag, so the
/// scripts that write both stay atomic in a Redis Cluster.
pub struct RedisPolicies {
    redis: RedisConn,
    put: redis::Script,
    delete: redis::Script,
    audit: RedisAuditLog,
}

impl RedisPolicies {
    pub fn new(redis: RedisConn) -> Self {
        let audit = RedisAuditLog::new(redis.clone());
        Self { redis, put: redis::Script::new(PUT), delete: redis::Script::new(DELETE), audit }
    }

    async fn relay(&self) {
        if let Err(e) = self.audit.relay(&self.redis.keys().policies_outbox()).await {
            tracing::warn!(error = %e, "Audit relay failed; the periodic relay will retry");
        }
    }
}

#[async_trait]
impl PolicyStore for RedisPolicies {
    async fn put(
        &self,
        doc: &PolicyDocument,
        event: &AuditEvent,
    ) -> Result<PutOutcome, StoreError> {
        let k = self.redis.keys();
        let mut inv = self.put.prepare_invoke();
        inv.key(k.policies()).key(k.policy_epoch()).key(k.policies_outbox());
        inv.arg(&doc.metadata.name).arg(encode(doc)?).arg(event.to_json());
        let n: i64 =
            self.redis.run("policy_put", inv.invoke_async(&mut self.redis.handle())).await?;
        if n != 0 {
            self.relay().await;
        }
        match n {
            0 => Ok(PutOutcome::Unchanged),
            1 => Ok(PutOutcome::Created),
            2 => Ok(PutOutcome::Updated),
            other => Err(super::scripts::unknown("policy PUT", other)),
        }
    }

    async fn get(&self, name: &str) -> Result<Option<PolicyDocument>, StoreError> {
        let mut c = self.redis.handle();
        let raw: Option<String> =
            self.redis.run("policy_get", c.hget(self.redis.keys().policies(), name)).await?;
        raw.map(|j| decode(name, &j)).transpose()
    }

    async fn list(&self) -> Result<StoredPolicies, StoreError> {
        let mut c = self.redis.handle();
        let key = self.redis.keys().policies();
        let all: BTreeMap<String, String> = self.redis.run("policy_list", c.hgetall(&key)).await?;
        Ok(StoredPolicies::from_raw(all.iter(), |name, why| {
            let _ = self.redis.corrupt().found(
                RecordKind::Policy,
                &format!("{key} field `{name}`"),
                why,
            );
        }))
    }

    async fn delete(&self, name: &str, event: &AuditEvent) -> Result<bool, StoreError> {
        let k = self.redis.keys();
        let mut inv = self.delete.prepare_invoke();
        inv.key(k.policies()).key(k.policy_epoch()).key(k.policies_outbox());
        inv.arg(name).arg(event.to_json());
        let n: i64 =
            self.redis.run("policy_delete", inv.invoke_async(&mut self.redis.handle())).await?;
        if n == 1 {
            self.relay().await;
        }
        Ok(n == 1)
    }

    async fn version(&self) -> Result<u64, StoreError> {
        let mut c = self.redis.handle();
        let v: Option<u64> =
            self.redis.run("policy_version", c.get(self.redis.keys().policy_epoch())).await?;
        Ok(v.unwrap_or(0))
    }
}
