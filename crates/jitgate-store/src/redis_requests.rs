//! Access requests in Redis. Each request is a hash (`json`, `version`) written by a
//! compare-and-set Lua script that also keeps the pending, escalation and recent indexes and
//! records the audit event, all in one step: every request key shares the `{requests}` hash
//! tag, so the scripts stay atomic in a Redis Cluster.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use async_trait::async_trait;
use redis::AsyncCommands;

use super::StoreError;
use super::audit_log::RedisAuditLog;
use super::corrupt::RecordKind;
use super::redis_conn::RedisConn;
use super::request_scripts::{CAS, CREATE, CreateAnswer, INDEX_PENDING, QUARANTINE};
use super::requests::{
    Filed, IndexPosition, OpenKey, PendingLimits, Quarantined, RequestIndex, RequestStore,
    Versioned,
};
use crate::audit::AuditEvent;
use jitgate_core::access::{AccessRequest, RequestId, RequestStatus};
use jitgate_core::time::Timestamp;

pub struct RedisRequests {
    redis: RedisConn,
    cas: redis::Script,
    create: redis::Script,
    quarantine: redis::Script,
    index_pending: redis::Script,
    audit: RedisAuditLog,
}

impl RedisRequests {
    pub fn new(redis: RedisConn) -> Self {
        let audit = RedisAuditLog::new(redis.clone());
        Self {
            redis,
            cas: redis::Script::new(CAS),
            create: redis::Script::new(CREATE),
            quarantine: redis::Script::new(QUARANTINE),
            index_pending: redis::Script::new(INDEX_PENDING),
            audit,
        }
    }

    async fn relay(&self) {
        if let Err(e) = self.audit.relay(&self.redis.keys().requests_outbox()).await {
            tracing::warn!(error = %e, "Audit relay failed; the periodic relay will retry");
        }
    }
}

/// The request and version of one stored hash; the error says what is wrong with it.
fn decode(
    json: Option<String>,
    version: Option<String>,
) -> Result<Versioned<AccessRequest>, String> {
    let json = json.ok_or("no `json` field")?;
    let version = version
        .ok_or("no `version` field")?
        .parse()
        .map_err(|e| format!("`version` is not a number: {e}"))?;
    let value = serde_json::from_str(&json).map_err(|e| format!("`json`: {e}"))?;
    Ok(Versioned { value, version })
}

fn encode(r: &AccessRequest) -> Result<String, StoreError> {
    serde_json::to_string(r).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn ids(raw: Vec<String>) -> Vec<RequestId> {
    raw.iter().filter_map(|s| RequestId::parse(s).ok()).collect()
}

#[async_trait]
impl RequestStore for RedisRequests {
    async fn create(
        &self,
        r: &AccessRequest,
        retention: Duration,
        event: &AuditEvent,
        limits: PendingLimits,
    ) -> Result<Filed, StoreError> {
        let k = self.redis.keys();
        let keep_until = r.created_at.saturating_add(retention).max(r.expires_at);
        let pending = r.status == RequestStatus::Pending;
        let mut inv = self.create.prepare_invoke();
        inv.key(k.request(r.id.as_str()))
            .key(k.requests_recent())
            .key(k.requests_pending())
            .key(k.requests_escalations())
            .key(k.requests_outbox())
            .key(k.requests_pending_by_requester(&r.requester))
            .key(k.requests_pending_by_policy(&r.policy))
            .key(k.requests_recent_by_requester(&r.requester));
        inv.arg(encode(r)?)
            .arg(keep_until.as_millis())
            .arg(r.id.as_str())
            .arg(r.created_at.as_millis())
            .arg(r.created_at.saturating_sub(retention).as_millis())
            .arg(if pending { "1" } else { "0" })
            .arg(r.expires_at.as_millis())
            .arg(r.escalate_at.map(|t| t.as_millis().to_string()).unwrap_or_default())
            .arg(event.to_json())
            .arg(limits.per_requester)
            .arg(limits.per_policy);
        let created: i64 =
            self.redis.run("request_create", inv.invoke_async(&mut self.redis.handle())).await?;
        match CreateAnswer::try_from(created)? {
            CreateAnswer::Exists => return Err(StoreError::Conflict(r.id.to_string())),
            CreateAnswer::RequesterFull => return Ok(Filed::RequesterFull),
            CreateAnswer::PolicyFull => return Ok(Filed::PolicyFull),
            CreateAnswer::Created => {}
        }
        self.relay().await;
        Ok(Filed::Stored)
    }

    async fn get(&self, id: &RequestId) -> Result<Option<Versioned<AccessRequest>>, StoreError> {
        let mut c = self.redis.handle();
        let key = self.redis.keys().request(id.as_str());
        let read = c.hmget(&key, &["json", "version"]);
        self.redis
            .read_record("request_get", RecordKind::Request, &key, read, |fields| match fields {
                (None, None) => Ok(None),
                (json, version) => decode(json, version).map(Some),
            })
            .await
    }

    async fn update(
        &self,
        r: &AccessRequest,
        version: u64,
        event: Option<&AuditEvent>,
    ) -> Result<bool, StoreError> {
        let k = self.redis.keys();
        let pending = r.status == RequestStatus::Pending;
        let escalation_due = pending && !r.escalated && r.escalate_at.is_some();
        let mut inv = self.cas.prepare_invoke();
        inv.key(k.request(r.id.as_str()))
            .key(k.requests_pending())
            .key(k.requests_escalations())
            .key(k.requests_outbox())
            .key(k.requests_pending_by_requester(&r.requester))
            .key(k.requests_pending_by_policy(&r.policy));
        inv.arg(version)
            .arg(encode(r)?)
            .arg(r.id.as_str())
            .arg(if pending { "1" } else { "0" })
            .arg(if escalation_due { "1" } else { "0" })
            .arg(event.map(AuditEvent::to_json).unwrap_or_default());
        let written: i64 =
            self.redis.run("request_update", inv.invoke_async(&mut self.redis.handle())).await?;
        if written == 1 && event.is_some() {
            self.relay().await;
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

    async fn page(
        &self,
        index: RequestIndex<'_>,
        after: Option<&IndexPosition>,
        count: usize,
    ) -> Result<Vec<IndexPosition>, StoreError> {
        let k = self.redis.keys();
        let key = match index {
            RequestIndex::Recent => k.requests_recent(),
            RequestIndex::RecentOf(p) => k.requests_recent_by_requester(p),
            RequestIndex::Pending => k.requests_pending(),
            RequestIndex::PendingOf(p) => k.requests_pending_by_requester(p),
            RequestIndex::PendingFor(name) => k.requests_pending_by_policy(name),
        };
        let newest_first = index.newest_first();
        // Scores are inclusive bounds, so members sharing the cursor's score are read again
        // and skipped by id; a run of them longer than a batch takes another batch.
        let bound = after.map_or_else(
            || if newest_first { "+inf".to_owned() } else { "-inf".to_owned() },
            |a| a.score.to_string(),
        );
        let batch = isize::try_from(count.max(1)).unwrap_or(isize::MAX);
        let mut out = Vec::new();
        let mut offset: isize = 0;
        let mut c = self.redis.handle();
        loop {
            let raw: Vec<(String, f64)> = if newest_first {
                let q = c.zrevrangebyscore_limit_withscores(&key, &bound, "-inf", offset, batch);
                self.redis.run("request_list", q).await?
            } else {
                let q = c.zrangebyscore_limit_withscores(&key, &bound, "+inf", offset, batch);
                self.redis.run("request_list", q).await?
            };
            let full = raw.len() >= count.max(1);
            for (member, score) in raw {
                let Ok(id) = RequestId::parse(&member) else { continue };
                #[expect(
                    clippy::cast_possible_truncation,
                    reason = "scores are whole milliseconds"
                )]
                let here = IndexPosition { score: score as i64, id };
                if after.is_none_or(|a| here.is_after(a, newest_first)) {
                    out.push(here);
                }
            }
            if out.len() >= count || !full {
                break;
            }
            offset = offset.saturating_add(batch);
        }
        out.truncate(count);
        Ok(out)
    }

    async fn index_pending(&self, r: &AccessRequest) -> Result<(), StoreError> {
        let k = self.redis.keys();
        let mut inv = self.index_pending.prepare_invoke();
        inv.key(k.requests_pending())
            .key(k.requests_pending_by_requester(&r.requester))
            .key(k.requests_pending_by_policy(&r.policy))
            .key(k.requests_recent_by_requester(&r.requester));
        inv.arg(r.id.as_str()).arg(r.expires_at.as_millis()).arg(r.created_at.as_millis());
        let _: i64 =
            self.redis.run("request_index", inv.invoke_async(&mut self.redis.handle())).await?;
        Ok(())
    }

    async fn quarantine(
        &self,
        id: &RequestId,
        why: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let k = self.redis.keys();
        let mut inv = self.quarantine.prepare_invoke();
        inv.key(k.request(id.as_str()))
            .key(k.quarantined_request(id.as_str()))
            .key(k.requests_pending())
            .key(k.requests_escalations())
            .key(k.requests_recent())
            .key(k.requests_quarantine())
            .key(k.requests_quarantine_reasons());
        inv.arg(id.as_str()).arg(now.as_millis()).arg(why);
        let moved: i64 = self
            .redis
            .run("request_quarantine", inv.invoke_async(&mut self.redis.handle()))
            .await?;
        Ok(moved == 1)
    }

    async fn quarantined(&self) -> Result<Vec<Quarantined>, StoreError> {
        let k = self.redis.keys();
        let mut c = self.redis.handle();
        let ids: Vec<(String, i64)> = self
            .redis
            .run("request_quarantine", c.zrange_withscores(k.requests_quarantine(), 0, -1))
            .await?;
        let reasons: HashMap<String, String> = self
            .redis
            .run("request_quarantine", c.hgetall(k.requests_quarantine_reasons()))
            .await?;
        let mut out = Vec::with_capacity(ids.len());
        for (id, at) in ids {
            let exists: bool =
                self.redis.run("request_quarantine", c.exists(k.quarantined_request(&id))).await?;
            if !exists {
                // Its retention ran out: the index forgets it too.
                let _: i64 = self
                    .redis
                    .run("request_quarantine", c.zrem(k.requests_quarantine(), &id))
                    .await?;
                let _: i64 = self
                    .redis
                    .run("request_quarantine", c.hdel(k.requests_quarantine_reasons(), &id))
                    .await?;
                continue;
            }
            let reason = reasons.get(&id).cloned().unwrap_or_default();
            out.push(Quarantined { id, quarantined_at: Timestamp::from_millis(at), reason });
        }
        Ok(out)
    }

    async fn quarantined_record(&self, id: &RequestId) -> Result<Option<String>, StoreError> {
        let key = self.redis.keys().quarantined_request(id.as_str());
        let mut c = self.redis.handle();
        let kind: String = self
            .redis
            .run("request_quarantine", redis::cmd("TYPE").arg(&key).query_async(&mut c))
            .await?;
        Ok(match kind.as_str() {
            "none" => None,
            "hash" => {
                let fields: BTreeMap<String, String> =
                    self.redis.run("request_quarantine", c.hgetall(&key)).await?;
                Some(fields.iter().map(|(f, v)| format!("{f}: {v}\n")).collect())
            }
            "string" => {
                let v: String = self.redis.run("request_quarantine", c.get(&key)).await?;
                Some(format!("(string) {v}\n"))
            }
            other => Some(format!("(a Redis {other}, not a request hash)\n")),
        })
    }

    async fn delete_quarantined(&self, id: &RequestId) -> Result<bool, StoreError> {
        let k = self.redis.keys();
        let mut c = self.redis.handle();
        let mut pipe = redis::pipe();
        pipe.atomic()
            .del(k.quarantined_request(id.as_str()))
            .zrem(k.requests_quarantine(), id.as_str())
            .hdel(k.requests_quarantine_reasons(), id.as_str());
        let (deleted, _, _): (i64, i64, i64) =
            self.redis.run("request_quarantine", pipe.query_async(&mut c)).await?;
        Ok(deleted == 1)
    }

    async fn count_auto_filed(
        &self,
        requester: &jitgate_core::grant::Principal,
        minute: i64,
    ) -> Result<u64, StoreError> {
        let key = self.redis.keys().auto_filed(requester, minute);
        let mut pipe = redis::pipe();
        pipe.atomic().incr(&key, 1).expire(&key, 120).ignore();
        let mut c = self.redis.handle();
        let (n,): (u64,) = self.redis.run("request_budget", pipe.query_async(&mut c)).await?;
        Ok(n)
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
