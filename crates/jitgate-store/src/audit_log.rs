//! The audit chain in Redis: a stream (`<prefix>:{audit}:log`, fields `seq`, `prev`, `hash`,
//! `event`) and its head (`<prefix>:{audit}:head`), appended by one Lua script that computes
//! each hash with `redis.sha1hex`, so concurrent writers on every replica extend one chain.
//!
//! Control-plane writes put their event in an outbox list in their own hash slot, in the same
//! Lua script as the change (a Redis Cluster script may only touch one slot, and the chain
//! lives in another). The writer then relays the outbox into the chain at once; should it
//! die in between, [`RedisAuditLog::relay_outboxes`] (run periodically) finishes the job. A
//! set of relayed event ids makes a relay that runs twice append once.

use std::collections::HashMap;

use async_trait::async_trait;
use redis::AsyncCommands;

use super::StoreError;
use super::corrupt::RecordKind;
use super::redis_conn::RedisConn;
use crate::audit::{
    AuditEntry, AuditError, AuditEvent, AuditLog, BEFORE_ALL, Head, Stored, parse_cursor,
};
use jitgate_core::time::{Clock, SystemClock, Timestamp};

/// KEYS: log, head, relayed ids. ARGV: now (ms), then (event id or '', event JSON) pairs.
/// Appends the events not relayed before; returns the last sequence number.
const APPEND: &str = r"
local head = redis.call('HMGET', KEYS[2], 'seq', 'hash')
local seq = tonumber(head[1] or '0')
local prev = head[2] or 'genesis'
local added = 0
for i = 2, #ARGV, 2 do
  local id, ev = ARGV[i], ARGV[i + 1]
  if id == '' or not redis.call('ZSCORE', KEYS[3], id) then
    seq = seq + 1
    local s = string.format('%d', seq)
    local h = redis.sha1hex(prev .. '\n' .. s .. '\n' .. ev)
    redis.call('XADD', KEYS[1], '*', 'seq', s, 'prev', prev, 'hash', h, 'event', ev)
    prev = h
    added = added + 1
    if id ~= '' then redis.call('ZADD', KEYS[3], ARGV[1], id) end
  end
end
if added > 0 then redis.call('HSET', KEYS[2], 'seq', string.format('%d', seq), 'hash', prev) end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', tonumber(ARGV[1]) - 86400000)
return seq
";

/// KEYS: log, head. ARGV: stream id, seq, hash of the last entry to drop, the id just after
/// it. Returns how many entries were dropped, or -1 when that entry is not as expected.
const TRIM: &str = r"
local e = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
if #e ~= 1 then return -1 end
local f = e[1][2]
local seq, hash
for i = 1, #f, 2 do
  if f[i] == 'seq' then seq = f[i + 1] elseif f[i] == 'hash' then hash = f[i + 1] end
end
if seq ~= ARGV[2] or hash ~= ARGV[3] then return -1 end
local n = redis.call('XTRIM', KEYS[1], 'MINID', ARGV[4])
redis.call('HSET', KEYS[2], 'start_seq', ARGV[2], 'start_hash', ARGV[3])
return n
";

/// Events relayed per call.
const RELAY_BATCH: isize = 100;

/// The Redis audit log.
#[derive(Clone)]
pub struct RedisAuditLog {
    redis: RedisConn,
    append: redis::Script,
    trim: redis::Script,
}

#[derive(serde::Deserialize)]
struct EventId {
    id: String,
}

type RawEntry = (String, HashMap<String, String>);

// === impl RedisAuditLog ===

impl RedisAuditLog {
    pub fn new(redis: RedisConn) -> Self {
        Self { redis, append: redis::Script::new(APPEND), trim: redis::Script::new(TRIM) }
    }

    async fn append_raw(&self, pairs: &[(String, String)]) -> Result<u64, AuditError> {
        let k = self.redis.keys();
        let mut inv = self.append.prepare_invoke();
        inv.key(k.audit_log()).key(k.audit_head()).key(k.audit_relayed());
        inv.arg(SystemClock.now().as_millis());
        for (id, json) in pairs {
            inv.arg(id).arg(json);
        }
        Ok(self.redis.run("audit_append", inv.invoke_async(&mut self.redis.handle())).await?)
    }

    /// Moves the events waiting in one outbox into the chain; returns how many it moved.
    pub async fn relay(&self, outbox: &str) -> Result<usize, StoreError> {
        let mut moved = 0;
        loop {
            let mut c = self.redis.handle();
            let batch: Vec<String> =
                self.redis.run("audit_relay", c.lrange(outbox, 0, RELAY_BATCH - 1)).await?;
            if batch.is_empty() {
                return Ok(moved);
            }
            let pairs: Vec<(String, String)> = batch
                .iter()
                .map(|json| {
                    let id =
                        serde_json::from_str::<EventId>(json).map(|e| e.id).unwrap_or_default();
                    (id, json.clone())
                })
                .collect();
            self.append_raw(&pairs).await.map_err(|e| match e {
                AuditError::Store(s) => s,
                AuditError::Corrupt(m) => StoreError::Corrupt(m),
            })?;
            let mut pipe = redis::pipe();
            for json in &batch {
                pipe.lrem(outbox, 1, json).ignore();
            }
            let _: () = self.redis.run("audit_relay", pipe.query_async(&mut c)).await?;
            moved += batch.len();
            if batch.len() < RELAY_BATCH.unsigned_abs() {
                return Ok(moved);
            }
        }
    }

    async fn range(
        &self,
        cmd: &str,
        from: &str,
        to: &str,
        limit: usize,
    ) -> Result<Vec<Stored>, AuditError> {
        let mut c = self.redis.handle();
        let raw: Vec<RawEntry> = self
            .redis
            .run(
                "audit_read",
                redis::cmd(cmd)
                    .arg(self.redis.keys().audit_log())
                    .arg(from)
                    .arg(to)
                    .arg("COUNT")
                    .arg(limit)
                    .query_async(&mut c),
            )
            .await?;
        // An entry without its chain fields is skipped (counted, logged once): the page goes
        // on, and `jitgate audit verify` still reports the break it leaves in the chain.
        let key = self.redis.keys().audit_log();
        Ok(raw
            .into_iter()
            .filter_map(|entry| {
                let id = entry.0.clone();
                decode(entry)
                    .map_err(|e| {
                        self.redis.corrupt().found(
                            RecordKind::Audit,
                            &format!("{key} {id}"),
                            &e.to_string(),
                        )
                    })
                    .ok()
            })
            .collect())
    }
}

fn decode((id, mut f): RawEntry) -> Result<Stored, AuditError> {
    let bad = |what: &str| AuditError::Corrupt(format!("stream entry {id}: {what}"));
    let (ms, _) = parse_cursor(&id).ok_or_else(|| bad("unexpected id"))?;
    let seq = f.get("seq").and_then(|s| s.parse().ok()).ok_or_else(|| bad("no seq"))?;
    let entry = AuditEntry {
        seq,
        prev: f.remove("prev").ok_or_else(|| bad("no prev"))?,
        hash: f.remove("hash").ok_or_else(|| bad("no hash"))?,
        event: f.remove("event").ok_or_else(|| bad("no event"))?,
    };
    let recorded_at = Timestamp::from_millis(i64::try_from(ms).unwrap_or(i64::MAX));
    Ok(Stored { cursor: id, recorded_at, entry })
}

/// `(id` — the exclusive form of a stream id, or the open end.
fn after(cursor: Option<&str>, open: &str) -> String {
    cursor.map_or_else(|| open.to_string(), |c| format!("({c}"))
}

#[async_trait]
impl AuditLog for RedisAuditLog {
    async fn append(&self, events: &[AuditEvent]) -> Result<u64, AuditError> {
        if events.is_empty() {
            return Ok(self.head().await?.seq);
        }
        let pairs: Vec<(String, String)> =
            events.iter().map(|e| (String::new(), e.to_json())).collect();
        self.append_raw(&pairs).await
    }

    async fn head(&self) -> Result<Head, AuditError> {
        let mut c = self.redis.handle();
        let (seq, hash, start_seq, start_hash): (
            Option<u64>,
            Option<String>,
            Option<u64>,
            Option<String>,
        ) = self
            .redis
            .run(
                "audit_head",
                c.hmget(
                    self.redis.keys().audit_head(),
                    &["seq", "hash", "start_seq", "start_hash"],
                ),
            )
            .await?;
        let d = Head::default();
        Ok(Head {
            seq: seq.unwrap_or(d.seq),
            hash: hash.unwrap_or(d.hash),
            start_seq: start_seq.unwrap_or(d.start_seq),
            start_hash: start_hash.unwrap_or(d.start_hash),
        })
    }

    async fn read(&self, cursor: Option<&str>, limit: usize) -> Result<Vec<Stored>, AuditError> {
        self.range("XRANGE", &after(cursor, "-"), "+", limit).await
    }

    async fn read_back(
        &self,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Stored>, AuditError> {
        // Redis refuses the exclusive range before `0-0`; nothing lies there.
        if before == Some(BEFORE_ALL) {
            return Ok(Vec::new());
        }
        self.range("XREVRANGE", &after(before, "+"), "-", limit).await
    }

    async fn relay_outboxes(&self) -> Result<usize, AuditError> {
        let pattern = self.redis.keys().outbox_pattern();
        let keys = self.redis.scan_all("audit_relay", &pattern, "list").await?;
        let mut moved = 0;
        for key in keys {
            moved += self.relay(&key).await?;
        }
        Ok(moved)
    }

    async fn trim(&self, through: &Stored) -> Result<u64, AuditError> {
        let (ms, n) = parse_cursor(&through.cursor)
            .ok_or_else(|| AuditError::Corrupt(format!("bad cursor `{}`", through.cursor)))?;
        let next = match n.checked_add(1) {
            Some(n) => format!("{ms}-{n}"),
            None => format!("{}-0", ms.saturating_add(1)),
        };
        let k = self.redis.keys();
        let mut inv = self.trim.prepare_invoke();
        inv.key(k.audit_log()).key(k.audit_head());
        inv.arg(&through.cursor).arg(through.entry.seq).arg(&through.entry.hash).arg(next);
        let n: i64 =
            self.redis.run("audit_trim", inv.invoke_async(&mut self.redis.handle())).await?;
        u64::try_from(n).map_err(|_| {
            AuditError::Corrupt(format!(
                "entry {} is no longer at {}: refusing to trim",
                through.entry.seq, through.cursor
            ))
        })
    }
}
