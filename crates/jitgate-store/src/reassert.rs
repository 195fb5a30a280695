//! Re-asserting revocations after Redis failed over (or restarted empty).
//!
//! Redis replicates asynchronously, so a Sentinel or Cluster failover can promote a replica
//! that never received a revocation the old master had acknowledged: the grant is back. This
//! task notices that the masters changed (their `run_id` or cluster node ids, see
//! [`RedisConn::fingerprint`]; looked at every 100 ms while operations fail) and then
//! re-applies every revocation it can find whose grant is live again (after mere operation
//! errors with the same masters, from the journal only):
//!
//! - `grant.revoked` events in the audit stream from the last `window` (no grant lives longer:
//!   `grants.max_ttl`). In a cluster the stream's `{audit}` slot usually lives on another master
//!   than the grant, so the record survives the failover that lost the revocation.
//! - the [`Journal`] of revocations this replica acknowledged itself, kept in memory until
//!   each grant expires. With one master (Sentinel) the stream is lost together with the
//!   revocation, replication being one ordered stream; the journal is what is left.
//!
//! A re-asserted revocation keeps its original time, author and reason, is written with a new
//! `grant.revoked` audit event marked `"reasserted": true`, and is announced like any change.
//! A grant created after the revocation (a manifest re-applied it) is left alone.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use jitgate_core::audit::details::Reasserted;
use tokio_util::sync::CancellationToken;

use super::StoreError;
use super::redis::RedisStore;
use super::redis_conn::RedisConn;
use crate::audit::{AuditEvent, AuditKind, AuditLog};
use jitgate_core::grant::{GrantId, Principal, Revocation};
use jitgate_core::time::{Clock, SystemClock, Timestamp};

/// Revocations remembered per replica at most (oldest dropped first).
const JOURNAL_CAP: usize = 10_000;

/// Audit entries read per pass at most (decisions share the stream).
const MAX_READ: usize = 50_000;

const PAGE: usize = 1_000;

/// How soon to look again while Redis is unreachable.
const OUTAGE_RETRY: Duration = Duration::from_millis(100);

/// A revocation to re-assert.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revoked {
    pub principal: Principal,
    pub id: GrantId,
    pub revocation: Revocation,
    /// The grant's expiry: after it, nothing is left to re-assert.
    pub until: Timestamp,
}

/// The revocations this replica acknowledged, until their grants expire.
#[derive(Default)]
pub struct Journal {
    entries: Mutex<Vec<Revoked>>,
}

// === impl Journal ===

impl Journal {
    /// Remembers a revocation (once per grant: a repeated revoke replaces the entry).
    pub fn record(&self, r: Revoked) {
        let Ok(mut e) = self.entries.lock() else { return };
        e.retain(|old| old.id != r.id);
        if e.len() >= JOURNAL_CAP {
            e.remove(0);
        }
        e.push(r);
    }

    /// The entries whose grants have not expired (expired ones are dropped).
    pub fn live(&self, now: Timestamp) -> Vec<Revoked> {
        let Ok(mut e) = self.entries.lock() else { return Vec::new() };
        e.retain(|r| r.until > now);
        e.clone()
    }
}

// === impl RedisStore ===

impl RedisStore {
    /// Re-applies one revocation if its grant is live again. Returns whether it did.
    pub async fn reassert(&self, r: &Revoked) -> Result<bool, StoreError> {
        self.writable()?;
        let k = self.redis.keys();
        let Some(live) = self.read_hash(k.grant(&r.principal, &r.id)).await? else {
            return Ok(false);
        };
        if live.created_at > r.revocation.at {
            return Ok(false);
        }
        let json =
            serde_json::to_string(&r.revocation).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut event = AuditEvent::new(AuditKind::GrantRevoked, r.revocation.at)
            .actor(&r.revocation.by)
            .subject(&r.principal)
            .grant(&r.id)
            .details(&Reasserted { reasserted: true });
        event.reason = r.revocation.reason.clone();
        let outcome = self.revoke_script(&r.principal, &r.id, json, event.to_json()).await?;
        if outcome != super::scripts::RevokeAnswer::Revoked {
            return Ok(false);
        }
        self.relay(&r.principal).await;
        Ok(true)
    }

    /// Bumps the change counter so every replica drops its cache (a failover may have rolled
    /// the counter back to a value a replica already applied).
    pub async fn bump_epoch(&self) -> Result<(), StoreError> {
        let mut c = self.redis.handle();
        let _: u64 = self
            .redis
            .run("epoch_incr", redis::AsyncCommands::incr(&mut c, self.redis.keys().epoch(), 1))
            .await?;
        Ok(())
    }
}

/// Why a pass runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pass {
    /// This replica just started: it may have missed a failover (journal empty, audit read).
    Startup,
    /// The masters changed (failover, restart): journal and audit window, then an epoch bump.
    MastersChanged,
    /// Operations failed since the last look, same masters: the journal only (cheap).
    AfterErrors,
}

/// The background task: watch for failovers, re-assert after them.
pub struct Reasserter {
    pub store: Arc<RedisStore>,
    pub audit: Arc<dyn AuditLog>,
    /// How far back the audit stream is read (the longest a grant lives).
    pub window: Duration,
}

// === impl Reasserter ===

impl Reasserter {
    pub async fn run(self, interval: Duration, cancel: CancellationToken) {
        let conn: RedisConn = self.store.conn().clone();
        let mut seen: Option<(String, u64)> = None;
        loop {
            let failures = conn.failures();
            // While Redis is down (or a pass failed), look again soon: the window in which a
            // lost revocation is honoured starts when Redis answers again.
            let mut next = interval.min(OUTAGE_RETRY);
            if let Ok(fp) = conn.fingerprint().await {
                let pass = match &seen {
                    None => Some(Pass::Startup),
                    Some((f, _)) if *f != fp => Some(Pass::MastersChanged),
                    Some((_, n)) if *n != failures => Some(Pass::AfterErrors),
                    Some(_) => None,
                };
                match pass {
                    None => next = interval,
                    Some(pass) => match self.pass(pass).await {
                        Ok(()) => {
                            seen = Some((fp, conn.failures()));
                            // Errors on a cluster master that is failing over do not change
                            // the fingerprint yet (other nodes answer): keep looking often.
                            if pass != Pass::AfterErrors {
                                next = interval;
                            }
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "Revocation re-assertion failed; retrying")
                        }
                    },
                }
            }
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(next) => {}
            }
        }
    }

    /// Re-asserts this replica's journal and, unless only operations failed, the audit
    /// window's revocations; after a change of masters, bumps the epoch so caches start over.
    pub async fn pass(&self, pass: Pass) -> Result<(), StoreError> {
        let now = SystemClock.now();
        let journal = self.store.journal().live(now);
        let mut reasserted = self.reassert_all(&journal).await?;
        let mut checked = journal.len();
        if pass != Pass::AfterErrors {
            let recorded = self.audit_revocations(now).await?;
            reasserted += self.reassert_all(&recorded).await?;
            checked += recorded.len();
        }
        if pass == Pass::MastersChanged {
            self.store.bump_epoch().await?;
            tracing::info!(checked, reasserted, "Redis masters changed; revocations re-asserted");
        }
        Ok(())
    }

    async fn reassert_all(&self, todo: &[Revoked]) -> Result<usize, StoreError> {
        let mut reasserted = 0;
        for r in todo {
            if self.store.reassert(r).await? {
                reasserted += 1;
                tracing::warn!(
                    grant.id = %r.id,
                    grant.subject = %r.principal,
                    "Revocation lost by Redis re-asserted"
                );
            }
        }
        Ok(reasserted)
    }

    /// `grant.revoked` events of the last `window`.
    async fn audit_revocations(&self, now: Timestamp) -> Result<Vec<Revoked>, StoreError> {
        let mut cursor = Some(self.audit.cursor_at(now.saturating_sub(self.window)));
        let mut out = Vec::new();
        let mut read = 0;
        while read < MAX_READ {
            let page = self.audit.read(cursor.as_deref(), PAGE).await.map_err(|e| match e {
                crate::audit::AuditError::Store(s) => s,
                crate::audit::AuditError::Corrupt(m) => StoreError::Corrupt(m),
            })?;
            let Some(last) = page.last() else { break };
            cursor = Some(last.cursor.clone());
            read += page.len();
            out.extend(page.iter().filter_map(|s| revoked(&s.entry.event, now, self.window)));
            if page.len() < PAGE {
                break;
            }
        }
        Ok(out)
    }
}

/// A `grant.revoked` event as a revocation to re-assert (`until` = the window's end, since
/// the event does not carry the grant's expiry; an expired grant is simply not found).
fn revoked(event_json: &str, now: Timestamp, window: Duration) -> Option<Revoked> {
    let e: AuditEvent = serde_json::from_str(event_json).ok()?;
    if e.kind != AuditKind::GrantRevoked {
        return None;
    }
    Some(Revoked {
        principal: e.subject.as_deref()?.parse().ok()?,
        id: GrantId::parse(e.grant_id.as_deref()?).ok()?,
        revocation: Revocation {
            at: e.at,
            by: e.actor.as_deref()?.parse().ok()?,
            reason: e.reason,
        },
        until: now.saturating_add(window),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mk_revoked(id: &str, until: i64) -> Revoked {
        Revoked {
            principal: "user:alice".parse().unwrap(),
            id: GrantId::parse(id).unwrap(),
            revocation: Revocation {
                at: Timestamp::from_millis(1),
                by: "user:root".parse().unwrap(),
                reason: None,
            },
            until: Timestamp::from_millis(until),
        }
    }

    #[test]
    fn journal_forgets_revocations_of_expired_grants() {
        let j = Journal::default();
        j.record(mk_revoked("g1", 100));
        j.record(mk_revoked("g2", 300));
        let live = j.live(Timestamp::from_millis(200));
        assert_eq!(live, vec![mk_revoked("g2", 300)]);
    }

    #[test]
    fn revoked_events_become_revocations_and_others_are_ignored() {
        let r = mk_revoked("g1", 0);
        let ev = AuditEvent::new(AuditKind::GrantRevoked, r.revocation.at)
            .actor(&r.revocation.by)
            .grant(&r.id)
            .subject("user:alice");
        let now = Timestamp::from_millis(1_000);
        let got = revoked(&ev.to_json(), now, Duration::from_secs(1)).unwrap();
        assert_eq!((got.principal, got.id, got.revocation), (r.principal, r.id, r.revocation));
        let other = AuditEvent::new(AuditKind::GrantCreated, now).subject("user:alice").grant("g1");
        assert!(revoked(&other.to_json(), now, Duration::from_secs(1)).is_none());
    }
}
