//! The Lua scripts behind [`super::RedisRequests`]: each request write and its indexes (and
//! its audit event, through the outbox) change in one atomic step on the request's slot.

/// KEYS: request, pending, escalations, outbox, the requester's pending, the policy's
/// pending. ARGV: expected version, JSON, id, still pending ('1'), escalation still due ('1'),
/// audit event JSON ('' = none). Returns 1 when written.
pub(super) const CAS: &str = r"
if redis.call('HGET', KEYS[1], 'version') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'json', ARGV[2], 'version', tonumber(ARGV[1]) + 1)
if ARGV[4] ~= '1' then
  redis.call('ZREM', KEYS[2], ARGV[3])
  redis.call('ZREM', KEYS[5], ARGV[3])
  redis.call('ZREM', KEYS[6], ARGV[3])
end
if ARGV[5] ~= '1' then redis.call('ZREM', KEYS[3], ARGV[3]) end
if ARGV[6] ~= '' then redis.call('RPUSH', KEYS[4], ARGV[6]) end
return 1
";

/// KEYS: request, recent, pending, escalations, outbox, the requester's pending, the policy's
/// pending, the requester's recent. ARGV: JSON, keep until (ms), id, created at (ms), drop recent before (ms), pending
/// ('1'), expires at (ms), escalate at (ms, '' = never), audit event JSON, most pending per
/// requester, most pending per policy ('0' = no limit). Returns 1 when created, 0 when the id
/// exists, -1 when the requester's budget is spent, -2 when the policy's is.
pub(super) const CREATE: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if ARGV[6] == '1' then
  local function full(key, limit)
    redis.call('ZREMRANGEBYSCORE', key, '-inf', ARGV[4])
    return tonumber(limit) > 0 and redis.call('ZCARD', key) >= tonumber(limit)
  end
  if full(KEYS[6], ARGV[10]) then return -1 end
  if full(KEYS[7], ARGV[11]) then return -2 end
end
redis.call('HSET', KEYS[1], 'json', ARGV[1], 'version', 1)
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[5])
redis.call('ZADD', KEYS[8], ARGV[4], ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[8], '-inf', ARGV[5])
if redis.call('PEXPIRETIME', KEYS[8]) < tonumber(ARGV[2]) then redis.call('PEXPIREAT', KEYS[8], ARGV[2]) end
if ARGV[6] == '1' then
  redis.call('ZADD', KEYS[3], ARGV[7], ARGV[3])
  if ARGV[8] ~= '' then redis.call('ZADD', KEYS[4], ARGV[8], ARGV[3]) end
  for _, key in ipairs({KEYS[6], KEYS[7]}) do
    redis.call('ZADD', key, ARGV[7], ARGV[3])
    if redis.call('PEXPIRETIME', key) < tonumber(ARGV[7]) then
      redis.call('PEXPIREAT', key, ARGV[7])
    end
  end
end
redis.call('RPUSH', KEYS[5], ARGV[9])
return 1
";

/// KEYS: pending, the requester's pending, the policy's pending, the requester's recent.
/// ARGV: id, expires at (ms), filed at (ms). Indexes a request only while it is still pending.
pub(super) const INDEX_PENDING: &str = r"
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
for _, key in ipairs({KEYS[2], KEYS[3]}) do
  redis.call('ZADD', key, 'NX', ARGV[2], ARGV[1])
  if redis.call('PEXPIRETIME', key) < tonumber(ARGV[2]) then redis.call('PEXPIREAT', key, ARGV[2]) end
end
redis.call('ZADD', KEYS[4], 'NX', ARGV[3], ARGV[1])
if redis.call('PEXPIRETIME', KEYS[4]) < tonumber(ARGV[2]) then redis.call('PEXPIREAT', KEYS[4], ARGV[2]) end
return 1
";

/// KEYS: request, its quarantine key, pending, escalations, recent, quarantine index,
/// quarantine reasons. ARGV: id, now (ms), reason. Returns 1 when moved. `RENAME` keeps the
/// record's type, value and expiry.
pub(super) const QUARANTINE: &str = r"
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('ZREM', KEYS[5], ARGV[1])
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('RENAME', KEYS[1], KEYS[2])
redis.call('ZADD', KEYS[6], ARGV[2], ARGV[1])
redis.call('HSET', KEYS[7], ARGV[1], ARGV[3])
return 1
";

/// What [`CREATE`] answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum CreateAnswer {
    /// Stored, with its indexes and audit event.
    Created,
    /// A request with this id exists: nothing was written.
    Exists,
    /// The requester already has as many pending requests as allowed.
    RequesterFull,
    /// The policy already has as many pending requests as allowed.
    PolicyFull,
}

impl TryFrom<i64> for CreateAnswer {
    type Error = super::StoreError;
    fn try_from(code: i64) -> Result<Self, super::StoreError> {
        match code {
            1 => Ok(Self::Created),
            0 => Ok(Self::Exists),
            -1 => Ok(Self::RequesterFull),
            -2 => Ok(Self::PolicyFull),
            other => Err(super::scripts::unknown("request CREATE", other)),
        }
    }
}
