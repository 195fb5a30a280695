//! Access requests in Redis. Each request is a hash (`json`, `version`) written by a
//! compare-and-set Lua script; three sorted sets index pending requests, escalations and
//! recent requests. Index updates follow the request write and are advisory: readers always
//! trust the request itself.

use std::time::Duration;

use async_trait::async_trait;
use redis::AsyncCommands;

use super::StoreError;
use super::redis_conn::RedisConn;
use super::requests::{OpenKey, RequestStore, Versioned};
use crate::access::{AccessRequest, RequestId, RequestStatus};
use crate::time::Timestamp;

/// KEYS: request. ARGV: expected version, JSON. Returns 1 when written.
const CAS: &str = r"
if redis.call('HGET', KEYS[1], 'version') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'json', ARGV[2], 'version', tonumber(ARGV[1]) + 1)
return 1
";

/// KEYS: request. ARGV: JSON, expire-at (ms). Returns 1 when created.
const CREATE: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'json', ARGV[1], 'version', 1)
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return 1
";

pub struct RedisRequests {
    redis: RedisConn,
    cas: redis::Script,
    create: redis::Script,
}

impl RedisRequests {
    pub fn new(redis: RedisConn) -> Self {
        Self { redis, cas: redis::Script::new(CAS), create: redis::Script::new(CREATE) }
    }

    /// Keeps the pending and escalation indexes in line with a request just written.
    async fn reindex(&self, r: &AccessRequest) -> Result<(), StoreError> {
        let k = self.redis.keys();
        let mut c = self.redis.handle();
        let id = r.id.as_str();
        if r.status != RequestStatus::Pending {
            let _: i64 = self.redis.run("request_index", c.zrem(k.requests_pending(), id)).await?;
        }
        if r.status != RequestStatus::Pending || r.escalated || r.escalate_at.is_none() {
            let _: i64 =
                self.redis.run("request_index", c.zrem(k.requests_escalations(), id)).await?;
        }
        Ok(())
    }
}

fn decode(json: &str) -> Result<AccessRequest, StoreError> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("request: {e}")))
}

fn encode(r: &AccessRequest) -> Result<String, StoreError> {
    serde_json::to_string(r).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn ids(raw: Vec<String>) -> Vec<RequestId> {
    raw.iter().filter_map(|s| RequestId::parse(s).ok()).collect()
}

#[async_trait]
impl RequestStore for RedisRequests {
    async fn create(&self, r: &AccessRequest, retention: Duration) -> Result<(), StoreError> {
        let k = self.redis.keys();
        let keep_until = r.created_at.saturating_add(retention).max(r.expires_at);
        let mut inv = self.create.prepare_invoke();
        inv.key(k.request(r.id.as_str())).arg(encode(r)?).arg(keep_until.as_millis());
        let created: i64 =
            self.redis.run("request_create", inv.invoke_async(&mut self.redis.handle())).await?;
        if created == 0 {
            return Err(StoreError::Conflict(r.id.to_string()));
        }
        let mut c = self.redis.handle();
        let id = r.id.as_str();
        let mut pipe = redis::pipe();
        pipe.zadd(k.requests_recent(), id, r.created_at.as_millis()).ignore();
        pipe.zrembyscore(
            k.requests_recent(),
            "-inf",
            r.created_at.saturating_sub(retention).as_millis(),
        )
        .ignore();
        if r.status == RequestStatus::Pending {
            pipe.zadd(k.requests_pending(), id, r.expires_at.as_millis()).ignore();
            if let Some(at) = r.escalate_at {
                pipe.zadd(k.requests_escalations(), id, at.as_millis()).ignore();
            }
        }
        let _: () = self.redis.run("request_create", pipe.query_async(&mut c)).await?;
        Ok(())
    }

    async fn get(&self, id: &RequestId) -> Result<Option<Versioned<AccessRequest>>, StoreError> {
        let mut c = self.redis.handle();
        let (json, version): (Option<String>, Option<u64>) = self
            .redis
            .run(
                "request_get",
                c.hmget(self.redis.keys().request(id.as_str()), &["json", "version"]),
            )
            .await?;
        match (json, version) {
            (Some(j), Some(v)) => Ok(Some(Versioned { value: decode(&j)?, version: v })),
            _ => Ok(None),
        }
    }

    async fn update(&self, r: &AccessRequest, version: u64) -> Result<bool, StoreError> {
        let mut inv = self.cas.prepare_invoke();
        inv.key(self.redis.keys().request(r.id.as_str())).arg(version).arg(encode(r)?);
        let written: i64 =
            self.redis.run("request_update", inv.invoke_async(&mut self.redis.handle())).await?;
        if written == 1 {
            self.reindex(r).await?;
        }
        Ok(written == 1)
    }

    async fn pending(&self) -> Result<Vec<RequestId>, StoreError> {
        let mut c = self.redis.handle();
        let raw: Vec<String> = self
            .redis
            .run("request_list", c.zrange(self.redis.keys().requests_pending(), 0, -1))
            .await?;
        Ok(ids(raw))
    }

    async fn due(&self, now: Timestamp) -> Result<Vec<RequestId>, StoreError> {
        let k = self.redis.keys();
        let mut c = self.redis.handle();
        let now = now.as_millis();
        let mut raw: Vec<String> = self
            .redis
            .run("request_due", c.zrangebyscore(k.requests_pending(), "-inf", now))
            .await?;
        let esc: Vec<String> = self
            .redis
            .run("request_due", c.zrangebyscore(k.requests_escalations(), "-inf", now))
            .await?;
        raw.extend(esc);
        raw.sort();
        raw.dedup();
        Ok(ids(raw))
    }

    async fn recent(&self, limit: usize) -> Result<Vec<RequestId>, StoreError> {
        let mut c = self.redis.handle();
        let stop = isize::try_from(limit).unwrap_or(isize::MAX).saturating_sub(1);
        let raw: Vec<String> = self
            .redis
            .run("request_list", c.zrevrange(self.redis.keys().requests_recent(), 0, stop))
            .await?;
        Ok(ids(raw))
    }

    async fn release_open(&self, key: &OpenKey) -> Result<(), StoreError> {
        let mut c = self.redis.handle();
        let k = self.redis.keys().open_request(&key.requester, &key.call);
        let _: i64 = self.redis.run("request_open", c.del(k)).await?;
        Ok(())
    }

    async fn claim_open(
        &self,
        key: &OpenKey,
        id: &RequestId,
        until: Timestamp,
    ) -> Result<Option<RequestId>, StoreError> {
        let mut c = self.redis.handle();
        let k = self.redis.keys().open_request(&key.requester, &key.call);
        let set: Option<String> = self
            .redis
            .run(
                "request_open",
                redis::cmd("SET")
                    .arg(&k)
                    .arg(id.as_str())
                    .arg("NX")
                    .arg("PXAT")
                    .arg(until.as_millis())
                    .query_async(&mut c),
            )
            .await?;
        if set.is_some() {
            return Ok(None);
        }
        let existing: Option<String> = self.redis.run("request_open", c.get(&k)).await?;
        Ok(existing.and_then(|e| RequestId::parse(&e).ok()))
    }
}
