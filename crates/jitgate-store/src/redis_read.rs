//! Reads of the Redis grant store. The Check path uses one Lua round trip per principal; a
//! read-only store (SRE tooling with `--redis-url`, possibly a read-only ACL user) uses plain
//! `ZRANGEBYSCORE` + `HGETALL` instead, so it never needs script permissions.

use std::collections::HashMap;

use redis::AsyncCommands;

use super::StoreError;
use super::corrupt::{RecordKind, skip_corrupt};
use super::redis::RedisStore;
use jitgate_core::grant::{Grant, GrantId, Principal};
use jitgate_core::time::Timestamp;

// === impl RedisStore ===

impl RedisStore {
    pub(super) async fn owner(&self, id: &GrantId) -> Result<Option<Principal>, StoreError> {
        let mut c = self.redis.handle();
        let raw: Option<String> =
            self.redis.run("owner", c.get(self.redis.keys().owner(id))).await?;
        raw.map(|s| s.parse().map_err(|e| StoreError::Corrupt(format!("owner of `{id}`: {e}"))))
            .transpose()
    }

    /// One grant hash; an undecodable one is counted and answered as [`StoreError::Corrupt`]
    /// (lists skip it with [`skip_corrupt`]).
    pub(super) async fn read_hash(&self, key: String) -> Result<Option<Grant>, StoreError> {
        let mut c = self.redis.handle();
        let read = c.hgetall(&key);
        self.redis
            .read_record("get", RecordKind::Grant, &key, read, |fields: HashMap<String, String>| {
                if fields.is_empty() { Ok(None) } else { decode(&fields).map(Some) }
            })
            .await
    }

    pub(super) async fn read_get(&self, id: &GrantId) -> Result<Option<Grant>, StoreError> {
        let Some(p) = self.owner(id).await? else { return Ok(None) };
        let k = self.redis.keys();
        if let Some(g) = self.read_hash(k.grant(&p, id)).await? {
            return Ok(Some(g));
        }
        self.read_hash(k.revoked(&p, id)).await
    }

    pub(super) async fn read_live(
        &self,
        principal: &Principal,
        now: Timestamp,
    ) -> Result<Vec<Grant>, StoreError> {
        if self.read_only {
            return self.read_plain(principal, now).await;
        }
        let k = self.redis.keys();
        let mut inv = self.scripts.live.prepare_invoke();
        inv.key(k.index(principal)).arg(now.as_millis());
        inv.arg(k.grant_prefix(principal)).arg(k.revoked_prefix(principal));
        let flat: Vec<String> =
            self.redis.run("live", inv.invoke_async(&mut self.redis.handle())).await?;
        let mut out = Vec::with_capacity(flat.len() / 5);
        for t in flat.chunks_exact(5) {
            let mut fields = HashMap::from([
                ("grant".to_string(), t[1].clone()),
                ("uses".to_string(), t[2].clone()),
            ]);
            fields.insert("last_used_at".into(), t[3].clone());
            if !t[4].is_empty() {
                fields.insert("revoked".into(), t[4].clone());
            }
            // An undecodable grant allows nothing: it is skipped (and counted), and the
            // principal's other grants still answer.
            match decode(&fields) {
                Ok(g) if &g.subject == principal => out.push(g),
                Ok(_) => {}
                Err(why) => {
                    let _ = self.redis.corrupt().found(RecordKind::Grant, &t[0], &why);
                }
            }
        }
        Ok(out)
    }

    /// The same answer as the Lua lookup, from plain read commands.
    async fn read_plain(
        &self,
        principal: &Principal,
        now: Timestamp,
    ) -> Result<Vec<Grant>, StoreError> {
        let k = self.redis.keys();
        let mut c = self.redis.handle();
        let min = format!("({}", now.as_millis());
        let ids: Vec<String> =
            self.redis.run("live", c.zrangebyscore(k.index(principal), min, "+inf")).await?;
        let mut out = Vec::new();
        for id in ids.iter().filter_map(|s| GrantId::parse(s).ok()) {
            let live = skip_corrupt(self.read_hash(k.grant(principal, &id)).await)?;
            let found = match live {
                Some(g) => Some(g),
                None => skip_corrupt(self.read_hash(k.revoked(principal, &id)).await)?,
            };
            out.extend(found.filter(|g| &g.subject == principal));
        }
        Ok(out)
    }

    /// Grants that expired within the history retention (revoked or not).
    pub(super) async fn read_recent(
        &self,
        principal: &Principal,
        now: Timestamp,
    ) -> Result<Vec<Grant>, StoreError> {
        let k = self.redis.keys();
        let mut c = self.redis.handle();
        let ids: Vec<String> = self
            .redis
            .run("history", c.zrangebyscore(k.history_index(principal), "-inf", now.as_millis()))
            .await?;
        let mut out = Vec::new();
        for id in ids.iter().filter_map(|s| GrantId::parse(s).ok()) {
            out.extend(
                skip_corrupt(self.read_hash(k.history(principal, &id)).await)?
                    .filter(|g| &g.subject == principal),
            );
        }
        Ok(out)
    }

    pub(super) async fn read_list(
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
            out.extend(self.read_live(s, now).await?.into_iter().filter(|g| g.revoked.is_none()));
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    pub(super) async fn read_incident(
        &self,
        incident: &str,
        now: Timestamp,
    ) -> Result<Vec<GrantId>, StoreError> {
        let mut c = self.redis.handle();
        let raw: Vec<String> =
            self.redis.run("incident", c.smembers(self.redis.keys().incident(incident))).await?;
        let mut out = Vec::new();
        for id in raw.iter().filter_map(|s| GrantId::parse(s).ok()) {
            if skip_corrupt(self.read_get(&id).await)?.is_some_and(|g| g.is_live(now)) {
                out.push(id);
            }
        }
        out.sort();
        Ok(out)
    }
}

/// Rebuilds a grant from its hash fields (the JSON document plus the mutable counters); the
/// error says what is wrong with them.
fn decode(fields: &HashMap<String, String>) -> Result<Grant, String> {
    let json = fields.get("grant").ok_or("grant hash without `grant` field")?;
    let mut grant: Grant = serde_json::from_str(json).map_err(|e| format!("grant JSON: {e}"))?;
    grant.uses = fields.get("uses").and_then(|u| u.parse().ok()).unwrap_or(0);
    let time = |name: &str| {
        fields
            .get(name)
            .filter(|s| !s.is_empty())
            .and_then(|s| s.parse().ok())
            .map(Timestamp::from_millis)
    };
    grant.last_used_at = time("last_used_at");
    grant.first_used_at = time("first_used_at");
    if let Some(r) = fields.get("revoked") {
        grant.revoked = Some(serde_json::from_str(r).map_err(|e| format!("revocation: {e}"))?);
    }
    Ok(grant)
}
