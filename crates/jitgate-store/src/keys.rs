//! Every Redis key and channel jitgate uses, built here and only here.
//!
//! ```text
//! <prefix>:{<principal>}:grant:<id>    HASH  grant JSON, uses, max_uses, expires_at, last_used_at
//!                                            PEXPIREAT = the grant's expires_at
//! <prefix>:{<principal>}:revoked:<id>  HASH  the same, plus `revoked`; keeps the original expiry
//! <prefix>:{<principal>}:grants        ZSET  grant id → expires_at (ms), revoked ones included;
//!                                            expires with its last grant
//! <prefix>:{<principal>}:history:<id>  HASH  a copy of the grant (uses, revocation), kept for
//!                                            `grants.history_retention` after its expiry
//!                                            (what `explain` shows as "expired")
//! <prefix>:{<principal>}:history       ZSET  grant id → expires_at (ms); expires with its last record
//! <prefix>:{<principal>}:paths:<id>    SET   distinct paths the grant was used on (capped,
//!                                            `…` marks the cap); expires with the history
//! <prefix>:grant-owner:<id>            STRING the grant's principal; expires with the grant
//! <prefix>:subjects                    ZSET  principal → latest expires_at (ms); expires with it
//! <prefix>:epoch                       STRING change counter, INCR by every grant write script
//!                                            (in a Redis Cluster: right after it; no TTL)
//! <prefix>:changes                     pub/sub channel: {"epoch": n, "principal": "user:alice",
//!                                            "kind": "grant"|"revoke", "at": ms}, published by
//!                                            the write script (without `epoch` in a Cluster)
//! <prefix>:incident:{<id>}             SET   grant ids tied to an incident; expires with the last
//! <prefix>:{policies}                  HASH  policy name → policy document (JSON)
//! <prefix>:{policies}:epoch            STRING change counter of the policies (no TTL)
//! <prefix>:{requests}:request:<id>       HASH  request JSON, version; expires after the retention
//! <prefix>:{requests}:pending            ZSET  pending request id → its expiry (ms)
//! <prefix>:{requests}:escalations        ZSET  pending request id → its escalation time (ms)
//! <prefix>:{requests}:recent             ZSET  request id → created_at (ms), trimmed to the retention
//! <prefix>:{<principal>}:open-request:<call>  STRING id of the pending one-time request for
//!                                            one exact call (dedupes retries); expires with it
//! <prefix>:{audit}:log                  STREAM the audit chain: seq, prev, hash, event (JSON)
//! <prefix>:{audit}:head                 HASH  seq, hash of the last entry; start_seq, start_hash
//!                                            of the entry before the first kept one
//! <prefix>:{audit}:relayed              ZSET  ids of control-plane events already in the chain
//!                                            → relay time (ms); kept one day
//! <prefix>:{<slot>}:audit-outbox         LIST  control-plane events written with their change,
//!                                            waiting to be relayed into the chain (`<slot>` is a
//!                                            principal, `requests` or `policies`)
//! ```
//!
//! The `{<principal>}` hash tag puts one principal's keys in one Redis Cluster slot, so the
//! multi-key Lua scripts that write them stay atomic in a cluster.

use jitgate_core::grant::{GrantId, Principal};

/// Builds keys under one prefix.
#[derive(Clone, Debug)]
pub struct Keys {
    prefix: String,
}

// === impl Keys ===

impl Keys {
    /// The prefix must be non-empty and free of `{`, `}` and whitespace.
    pub fn new(prefix: &str) -> Result<Self, String> {
        let ok = !prefix.is_empty()
            && !prefix.chars().any(|c| c == '{' || c == '}' || c.is_whitespace() || c.is_control());
        if ok {
            Ok(Self { prefix: prefix.to_string() })
        } else {
            Err(format!("redis key prefix `{prefix}` must be non-empty, without braces or spaces"))
        }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The hash tag for a principal; braces and `%` inside the id are escaped so the tag
    /// always spans the whole principal.
    fn tag(p: &Principal) -> String {
        format!("{{{}}}", escape(&p.to_string()))
    }

    pub fn grant(&self, p: &Principal, id: &GrantId) -> String {
        format!("{}:{}:grant:{id}", self.prefix, Self::tag(p))
    }

    /// The prefix of [`Keys::grant`] for a principal (scripts append the id).
    pub fn grant_prefix(&self, p: &Principal) -> String {
        format!("{}:{}:grant:", self.prefix, Self::tag(p))
    }

    /// The prefix of [`Keys::revoked`] for a principal (scripts append the id).
    pub fn revoked_prefix(&self, p: &Principal) -> String {
        format!("{}:{}:revoked:", self.prefix, Self::tag(p))
    }

    pub fn revoked(&self, p: &Principal, id: &GrantId) -> String {
        format!("{}:{}:revoked:{id}", self.prefix, Self::tag(p))
    }

    pub fn history(&self, p: &Principal, id: &GrantId) -> String {
        format!("{}:{}:history:{id}", self.prefix, Self::tag(p))
    }

    pub fn history_index(&self, p: &Principal) -> String {
        format!("{}:{}:history", self.prefix, Self::tag(p))
    }

    /// The distinct paths a grant was used on (its usage ledger).
    pub fn paths(&self, p: &Principal, id: &GrantId) -> String {
        format!("{}:{}:paths:{id}", self.prefix, Self::tag(p))
    }

    pub fn index(&self, p: &Principal) -> String {
        format!("{}:{}:grants", self.prefix, Self::tag(p))
    }

    pub fn owner(&self, id: &GrantId) -> String {
        format!("{}:grant-owner:{id}", self.prefix)
    }

    pub fn subjects(&self) -> String {
        format!("{}:subjects", self.prefix)
    }

    pub fn epoch(&self) -> String {
        format!("{}:epoch", self.prefix)
    }

    pub fn incident(&self, incident: &str) -> String {
        format!("{}:incident:{{{}}}", self.prefix, escape(incident))
    }

    pub fn policies(&self) -> String {
        format!("{}:{{policies}}", self.prefix)
    }

    pub fn policy_epoch(&self) -> String {
        format!("{}:{{policies}}:epoch", self.prefix)
    }

    pub fn request(&self, id: &str) -> String {
        format!("{}:{{requests}}:request:{}", self.prefix, escape(id))
    }

    pub fn requests_pending(&self) -> String {
        format!("{}:{{requests}}:pending", self.prefix)
    }

    pub fn requests_escalations(&self) -> String {
        format!("{}:{{requests}}:escalations", self.prefix)
    }

    pub fn requests_recent(&self) -> String {
        format!("{}:{{requests}}:recent", self.prefix)
    }

    /// One requester's pending requests: id → expiry (ms), for the per-requester budget.
    pub fn requests_pending_by_requester(&self, requester: &Principal) -> String {
        format!("{}:{{requests}}:pending:requester:{}", self.prefix, escape(&requester.to_string()))
    }

    /// One requester's requests of any status: id → filing time (ms), for their own list.
    pub fn requests_recent_by_requester(&self, requester: &Principal) -> String {
        format!("{}:{{requests}}:recent:requester:{}", self.prefix, escape(&requester.to_string()))
    }

    /// One policy's pending requests: id → expiry (ms), for the per-policy budget.
    pub fn requests_pending_by_policy(&self, policy: &str) -> String {
        format!("{}:{{requests}}:pending:policy:{}", self.prefix, escape(policy))
    }

    /// How many requests denied Checks filed for one requester in one minute.
    pub fn auto_filed(&self, requester: &Principal, minute: i64) -> String {
        format!("{}:{}:auto-filed:{minute}", self.prefix, Self::tag(requester))
    }

    /// Where the sweeper moves a request record it cannot decode (same slot as the request).
    pub fn quarantined_request(&self, id: &str) -> String {
        format!("{}:{{requests}}:quarantine:request:{}", self.prefix, escape(id))
    }

    /// The quarantine index: request ids by the time they were moved aside.
    pub fn requests_quarantine(&self) -> String {
        format!("{}:{{requests}}:quarantine", self.prefix)
    }

    /// Why each quarantined request was moved aside (a hash: id → reason).
    pub fn requests_quarantine_reasons(&self) -> String {
        format!("{}:{{requests}}:quarantine:why", self.prefix)
    }

    pub fn audit_log(&self) -> String {
        format!("{}:{{audit}}:log", self.prefix)
    }

    pub fn audit_head(&self) -> String {
        format!("{}:{{audit}}:head", self.prefix)
    }

    pub fn audit_relayed(&self) -> String {
        format!("{}:{{audit}}:relayed", self.prefix)
    }

    /// The outbox in a principal's slot (grant changes).
    pub fn grant_outbox(&self, p: &Principal) -> String {
        format!("{}:{}:audit-outbox", self.prefix, Self::tag(p))
    }

    pub fn requests_outbox(&self) -> String {
        format!("{}:{{requests}}:audit-outbox", self.prefix)
    }

    pub fn policies_outbox(&self) -> String {
        format!("{}:{{policies}}:audit-outbox", self.prefix)
    }

    /// A SCAN pattern matching every outbox (glob characters in the prefix escaped).
    pub fn outbox_pattern(&self) -> String {
        let mut p = String::new();
        for c in self.prefix.chars() {
            if matches!(c, '*' | '?' | '[' | ']' | '\\') {
                p.push('\\');
            }
            p.push(c);
        }
        format!("{p}:*:audit-outbox")
    }

    /// `call` is an opaque digest of one exact (service, method, path).
    pub fn open_request(&self, p: &Principal, call: &str) -> String {
        format!("{}:{}:open-request:{call}", self.prefix, Self::tag(p))
    }

    pub fn changes_channel(&self) -> String {
        format!("{}:changes", self.prefix)
    }
}

/// Escapes `%`, `{` and `}` so a value inside a hash tag cannot end it early.
fn escape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '%' => out.push_str("%25"),
            '{' => out.push_str("%7B"),
            '}' => out.push_str("%7D"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_principals_keys_share_a_hash_tag() {
        let k = Keys::new("jitgate").unwrap();
        let p: Principal = "user:alice".parse().unwrap();
        let id = GrantId::parse("g1").unwrap();
        assert_eq!(k.grant(&p, &id), "jitgate:{user:alice}:grant:g1");
        assert_eq!(k.revoked(&p, &id), "jitgate:{user:alice}:revoked:g1");
        assert_eq!(k.index(&p), "jitgate:{user:alice}:grants");
    }

    #[test]
    fn braces_in_ids_cannot_break_the_hash_tag() {
        let k = Keys::new("jitgate").unwrap();
        let p: Principal = "user:a}b{c%".parse().unwrap();
        assert_eq!(k.index(&p), "jitgate:{user:a%7Db%7Bc%25}:grants");
    }

    /// The KEYS of every Lua script, as its call site builds them, hash to one Cluster slot
    /// (a script whose keys span slots is refused with `CROSSSLOT`). Single-key commands on
    /// the global keys (owner, subjects, epoch, incidents) need no such care. The grant
    /// scripts also take the change counter (`epoch`) outside a cluster only: in a cluster it
    /// is left out of their KEYS and bumped right after (see `store::redis_announce`).
    #[test]
    fn every_scripts_keys_share_one_cluster_slot() {
        use redis::cluster_routing::Slot;
        let k = Keys::new("jit*gate").unwrap();
        let id = GrantId::parse("0192-abc").unwrap();
        for raw in ["user:alice", "group:on-call", "user:a}b{c%", "user:{x}"] {
            let p: Principal = raw.parse().unwrap();
            let groups: [(&str, Vec<String>); 9] = [
                (
                    "grant CREATE",
                    vec![
                        k.grant(&p, &id),
                        k.index(&p),
                        k.revoked(&p, &id),
                        k.history(&p, &id),
                        k.history_index(&p),
                        k.grant_outbox(&p),
                    ],
                ),
                ("grant DROP", vec![k.grant(&p, &id), k.revoked(&p, &id), k.index(&p)]),
                (
                    "grant LIVE (keys it builds from prefixes)",
                    vec![k.index(&p), k.grant_prefix(&p) + "x", k.revoked_prefix(&p) + "x"],
                ),
                (
                    "grant REVOKE",
                    vec![
                        k.grant(&p, &id),
                        k.revoked(&p, &id),
                        k.history(&p, &id),
                        k.grant_outbox(&p),
                    ],
                ),
                ("grant CONSUME", vec![k.grant(&p, &id), k.history(&p, &id)]),
                (
                    "grant USAGE",
                    vec![
                        k.grant(&p, &id),
                        k.revoked(&p, &id),
                        k.history(&p, &id),
                        k.paths(&p, &id),
                    ],
                ),
                (
                    "request CREATE/CAS",
                    vec![
                        k.request("r1"),
                        k.requests_recent(),
                        k.requests_pending(),
                        k.requests_escalations(),
                        k.requests_outbox(),
                        k.requests_pending_by_requester(&p),
                        k.requests_pending_by_policy("orders{x}"),
                        k.requests_recent_by_requester(&p),
                    ],
                ),
                (
                    "request QUARANTINE",
                    vec![
                        k.request("r1"),
                        k.quarantined_request("r1"),
                        k.requests_pending(),
                        k.requests_escalations(),
                        k.requests_recent(),
                        k.requests_quarantine(),
                        k.requests_quarantine_reasons(),
                    ],
                ),
                ("policy PUT/DELETE", vec![k.policies(), k.policy_epoch(), k.policies_outbox()]),
            ];
            for (script, keys) in groups {
                let first = Slot::for_key(&keys[0]);
                for key in &keys {
                    assert_eq!(
                        Slot::for_key(key),
                        first,
                        "{script}: `{key}` is in another slot than `{}`",
                        keys[0]
                    );
                }
            }
            let audit = [k.audit_log(), k.audit_head(), k.audit_relayed()];
            assert!(
                audit.iter().all(|key| Slot::for_key(key) == Slot::for_key(&audit[0])),
                "audit APPEND/TRIM"
            );
        }
    }

    #[test]
    fn bad_prefixes_are_refused() {
        assert!(Keys::new("").is_err());
        assert!(Keys::new("a{b}").is_err());
        assert!(Keys::new("a b").is_err());
    }
}
