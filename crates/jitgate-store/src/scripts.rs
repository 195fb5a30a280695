//! Lua scripts for the writes that must be atomic. Every script touches keys of one principal
//! only (one hash tag, hence one Cluster slot). Times are Unix milliseconds.
//!
//! The scripts that change what a Check may allow (CREATE, DROP, REVOKE) also announce the
//! change in the same atomic step: they bump the change counter and publish the notification
//! (`ANNOUNCE`), so a write can never land without its announcement. In a Redis Cluster the
//! counter lives in another slot than the principal's keys; there the script only publishes
//! and the caller bumps the counter right after ([`super::redis_announce`]).
//!
//! What a script answers is turned into an enum here, at the seam ([`CreateAnswer`], [`RevokeAnswer`]).

use super::StoreError;

/// The announcement helpers every announcing script starts with. An announcing script takes
/// the change counter as its last KEY (absent in a Redis Cluster) and the channel and the
/// message (a JSON object without its opening brace and without `epoch`) as its last two
/// ARGV. It calls `bump` once it knows it will write, before writing (a counter it cannot
/// bump stops it before any change), and `publish` last.
macro_rules! announce_lua {
    () => {
        r#"
local function bump(epoch_key)
  if epoch_key then return redis.call('INCR', epoch_key) end
  return nil
end
local function publish(channel, tail, epoch)
  local head = '{'
  if epoch then head = '{"epoch":' .. string.format('%d', epoch) .. ',' end
  redis.pcall('PUBLISH', channel, head .. tail)
end
"#
    };
}

/// KEYS: grant, index, revoked, history, history index, audit outbox[, change counter].
/// ARGV: id, expires_at, grant JSON, max_uses ('' = unlimited), now, history_until,
/// replace ('1' replaces an existing grant with this id; '0' refuses), now - history retention,
/// audit event JSON, channel, message. Answers [`CreateAnswer`].
pub const CREATE: &str = concat!(
    announce_lua!(),
    r"
if ARGV[7] == '1' then
  redis.call('DEL', KEYS[1], KEYS[3])
elseif redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[3]) == 1 then
  return 0
end
local epoch = bump(KEYS[7])
local fields = {'grant', ARGV[3], 'uses', 0, 'expires_at', ARGV[2]}
if ARGV[4] ~= '' then
  fields[#fields + 1] = 'max_uses'
  fields[#fields + 1] = ARGV[4]
end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
redis.call('DEL', KEYS[4])
redis.call('HSET', KEYS[4], unpack(fields))
redis.call('PEXPIREAT', KEYS[4], ARGV[6])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[5])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
if redis.call('PEXPIRETIME', KEYS[2]) < tonumber(ARGV[2]) then
  redis.call('PEXPIREAT', KEYS[2], ARGV[2])
end
redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', ARGV[8])
redis.call('ZADD', KEYS[5], ARGV[2], ARGV[1])
if redis.call('PEXPIRETIME', KEYS[5]) < tonumber(ARGV[6]) then
  redis.call('PEXPIREAT', KEYS[5], ARGV[6])
end
redis.call('RPUSH', KEYS[6], ARGV[9])
publish(ARGV[10], ARGV[11], epoch)
return 1
"
);

/// KEYS: grant, revoked, index[, change counter]. ARGV: id, channel, message. Removes a grant
/// whose manifest moved it to another principal (its history record stays).
pub const DROP: &str = concat!(
    announce_lua!(),
    r"
local epoch = bump(KEYS[4])
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[1])
publish(ARGV[2], ARGV[3], epoch)
return 1
"
);

/// KEYS: subjects. ARGV: expires_at, principal, now. Records that `principal` holds a grant
/// until at least `expires_at`.
pub const TOUCH_SUBJECT: &str = r"
redis.call('ZADD', KEYS[1], 'GT', ARGV[1], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
if redis.call('PEXPIRETIME', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('PEXPIREAT', KEYS[1], ARGV[1])
end
return 1
";

/// KEYS: set. ARGV: member, expires_at (ms). Adds a member and keeps the set alive at least
/// until `expires_at`.
pub const TOUCH_SET: &str = r"
redis.call('SADD', KEYS[1], ARGV[1])
if redis.call('PEXPIRETIME', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('PEXPIREAT', KEYS[1], ARGV[2])
end
return 1
";

/// KEYS: index. ARGV: now, grant key prefix, revoked key prefix. Returns flat quintuples
/// (key, grant JSON, uses, last_used_at, revocation JSON or '') for every grant in the index
/// that expires after now, revoked ones included (so a deny can say "revoked"). A key of the
/// wrong type answers an empty grant JSON, so its reader skips it as corrupt rather than the
/// whole lookup failing.
pub const LIVE: &str = r"
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], '+inf')
local out = {}
local function read(key)
  local ok, h = pcall(redis.call, 'HMGET', key, 'grant', 'uses', 'last_used_at', 'revoked')
  if ok then return h end
  return {'', false, false, false}
end
for _, id in ipairs(ids) do
  local key = ARGV[2] .. id
  local h = read(key)
  if not h[1] then
    key = ARGV[3] .. id
    h = read(key)
  end
  if h[1] then
    out[#out + 1] = key
    out[#out + 1] = h[1]
    out[#out + 1] = h[2] or '0'
    out[#out + 1] = h[3] or ''
    out[#out + 1] = h[4] or ''
  end
end
return out
";

/// KEYS: grant, revoked, history, audit outbox[, change counter]. ARGV: revocation JSON, audit
/// event JSON, channel, message. Answers [`RevokeAnswer`]. RENAME keeps the TTL; the id stays in the
/// principal's index until it expires, so lookups can report the revocation. An already
/// revoked grant is announced again: the caller may be retrying because the answer to its
/// first call was lost, and nothing else would tell the replicas that still allow it.
pub const REVOKE: &str = concat!(
    announce_lua!(),
    r"
if redis.call('EXISTS', KEYS[1]) == 0 then
  if redis.call('EXISTS', KEYS[2]) == 1 then
    publish(ARGV[3], ARGV[4], bump(KEYS[5]))
    return 2
  end
  return 0
end
local epoch = bump(KEYS[5])
redis.call('RENAME', KEYS[1], KEYS[2])
redis.call('HSET', KEYS[2], 'revoked', ARGV[1])
if redis.call('EXISTS', KEYS[3]) == 1 then
  redis.call('HSET', KEYS[3], 'revoked', ARGV[1])
end
redis.call('RPUSH', KEYS[4], ARGV[2])
publish(ARGV[3], ARGV[4], epoch)
return 1
"
);

/// KEYS: grant, history. ARGV: now. Not announced: a limited grant is allowed only through
/// this script, so no cached copy can over-spend it. Returns the new use count, -1 used up, -2 gone,
/// -3 expired, -4 unlimited (nothing to consume).
pub const CONSUME: &str = r"
local v = redis.call('HMGET', KEYS[1], 'max_uses', 'uses', 'expires_at')
if not v[3] then return -2 end
if tonumber(v[3]) <= tonumber(ARGV[1]) then return -3 end
if not v[1] then return -4 end
local uses = tonumber(v[2])
if uses >= tonumber(v[1]) then return -1 end
for _, k in ipairs(KEYS) do
  if redis.call('EXISTS', k) == 1 then
    redis.call('HINCRBY', k, 'uses', 1)
    redis.call('HSET', k, 'last_used_at', ARGV[1])
    redis.call('HSETNX', k, 'first_used_at', ARGV[1])
  end
end
return uses + 1
";

/// KEYS: grant, revoked, history, paths. ARGV: uses to add ('0' for limited grants, whose
/// uses CONSUME counts exactly), first use, last use (ms), paths set expiry (ms), path cap,
/// then the paths used. Folds one replica's batch of uses into the grant's ledger.
pub const USAGE: &str = r"
local found = false
for i = 1, 3 do
  local k = KEYS[i]
  local v = redis.call('HMGET', k, 'grant', 'first_used_at', 'last_used_at')
  if v[1] then
    found = true
    if ARGV[1] ~= '0' then redis.call('HINCRBY', k, 'uses', ARGV[1]) end
    local first = not v[2] or tonumber(v[2]) > tonumber(ARGV[2])
    local last = not v[3] or tonumber(v[3]) < tonumber(ARGV[3])
    if first and last then
      redis.call('HSET', k, 'first_used_at', ARGV[2], 'last_used_at', ARGV[3])
    elseif first then
      redis.call('HSET', k, 'first_used_at', ARGV[2])
    elseif last then
      redis.call('HSET', k, 'last_used_at', ARGV[3])
    end
  end
end
if not found then return 0 end
if #ARGV >= 6 then
  local cap = tonumber(ARGV[5])
  local n = redis.call('SCARD', KEYS[4])
  for i = 6, #ARGV do
    if n >= cap then
      redis.call('SADD', KEYS[4], '…')
      break
    end
    n = n + redis.call('SADD', KEYS[4], ARGV[i])
  end
  redis.call('PEXPIREAT', KEYS[4], ARGV[4])
end
return 1
";

/// What [`CONSUME`] answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConsumeAnswer {
    /// One use taken; the grant's use count is now this.
    Used(u64),
    /// Every allowed use was taken before: nothing changed.
    UsedUp,
    /// No such grant (it expired from Redis, or never existed).
    Gone,
    /// The grant exists but its expiry has passed.
    Expired,
    /// The grant has no `max_uses`: there is nothing to consume.
    Unlimited,
}

impl TryFrom<i64> for ConsumeAnswer {
    type Error = StoreError;
    fn try_from(code: i64) -> Result<Self, StoreError> {
        match code {
            -1 => Ok(Self::UsedUp),
            -2 => Ok(Self::Gone),
            -3 => Ok(Self::Expired),
            -4 => Ok(Self::Unlimited),
            n if n > 0 => Ok(Self::Used(n.unsigned_abs())),
            other => Err(unknown("CONSUME", other)),
        }
    }
}

/// What [`CREATE`] answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CreateAnswer {
    /// Written, with its audit event, and announced.
    Written,
    /// A grant with this id exists (and `replace` was off): nothing was written.
    Exists,
}

impl TryFrom<i64> for CreateAnswer {
    type Error = StoreError;
    fn try_from(code: i64) -> Result<Self, StoreError> {
        match code {
            1 => Ok(Self::Written),
            0 => Ok(Self::Exists),
            other => Err(unknown("CREATE", other)),
        }
    }
}

/// What [`REVOKE`] answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RevokeAnswer {
    /// Revoked now, with its audit event, and announced.
    Revoked,
    /// It was revoked before; announced again.
    AlreadyRevoked,
    /// No such grant (expired, or never existed).
    NotFound,
}

impl TryFrom<i64> for RevokeAnswer {
    type Error = StoreError;
    fn try_from(code: i64) -> Result<Self, StoreError> {
        match code {
            1 => Ok(Self::Revoked),
            2 => Ok(Self::AlreadyRevoked),
            0 => Ok(Self::NotFound),
            other => Err(unknown("REVOKE", other)),
        }
    }
}

pub(super) fn unknown(script: &str, code: i64) -> StoreError {
    StoreError::Corrupt(format!(
        "the {script} script answered `{code}`, which this version does not know: are two jitgate versions sharing one Redis key prefix?"
    ))
}
