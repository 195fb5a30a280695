//! DOMAIN, pure: the hash chain. Entry `n` stores `prev` (entry `n-1`'s hash) and
//! `hash = hex(SHA-1(prev + "\n" + n + "\n" + event JSON))`; the first entry's `prev` is
//! `genesis`. Redis computes the same hash in Lua (`redis.sha1hex`) so a change and its record
//! are written in one step. SHA-1 here only links entries (a forger would need a second
//! preimage); authenticity comes from the HMAC-SHA256-signed checkpoints kept outside Redis.

use serde::{Deserialize, Serialize};
use sha1::{Digest, Sha1};

/// `prev` of the first entry ever written.
pub const GENESIS: &str = "genesis";

/// One stored entry of the chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub seq: u64,
    pub prev: String,
    pub hash: String,
    /// The event's JSON exactly as hashed.
    pub event: String,
}

pub fn entry_hash(prev: &str, seq: u64, event: &str) -> String {
    let mut h = Sha1::new();
    h.update(prev.as_bytes());
    h.update(b"\n");
    h.update(seq.to_string().as_bytes());
    h.update(b"\n");
    h.update(event.as_bytes());
    jitgate_core::hex::encode(&h.finalize())
}

/// The first problem found while walking the chain.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    #[error("entry {seq}: its hash does not match its content (edited?)")]
    Edited { seq: u64 },
    #[error("entry {seq}: `prev` does not match entry {}'s hash (reordered or replaced?)", seq - 1)]
    Unlinked { seq: u64 },
    #[error("entries {after}..{next}: sequence gap (entries deleted?)")]
    Gap { after: u64, next: u64 },
    #[error("entry {seq}: sequence goes backwards (reordered?)")]
    Backwards { seq: u64 },
}

/// Walks entries in stored order, checking each against the previous one. `start` is the
/// expected `(seq - 1, hash)` before the first entry (`(0, GENESIS)` for an untrimmed log).
pub fn walk(entries: &[AuditEntry], start: (u64, &str)) -> Result<(u64, String), ChainError> {
    let (mut last_seq, mut last_hash) = (start.0, start.1.to_string());
    for e in entries {
        if e.seq <= last_seq {
            return Err(ChainError::Backwards { seq: e.seq });
        }
        if e.seq != last_seq + 1 {
            return Err(ChainError::Gap { after: last_seq, next: e.seq });
        }
        if e.prev != last_hash {
            return Err(ChainError::Unlinked { seq: e.seq });
        }
        if entry_hash(&e.prev, e.seq, &e.event) != e.hash {
            return Err(ChainError::Edited { seq: e.seq });
        }
        last_seq = e.seq;
        last_hash = e.hash.clone();
    }
    Ok((last_seq, last_hash))
}

/// Builds entries the way the store does (for tests and the in-memory log).
pub fn link(events: &[String], start: (u64, &str)) -> Vec<AuditEntry> {
    let (mut seq, mut prev) = (start.0, start.1.to_string());
    events
        .iter()
        .map(|ev| {
            seq += 1;
            let hash = entry_hash(&prev, seq, ev);
            let e = AuditEntry { seq, prev: prev.clone(), hash: hash.clone(), event: ev.clone() };
            prev = hash;
            e
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: usize) -> Vec<AuditEntry> {
        link(&(0..n).map(|i| format!("{{\"n\":{i}}}")).collect::<Vec<_>>(), (0, GENESIS))
    }

    #[test]
    fn an_intact_chain_walks_to_its_head() {
        let c = chain(5);
        assert_eq!(walk(&c, (0, GENESIS)), Ok((5, c[4].hash.clone())));
        assert_eq!(walk(&c[2..], (2, &c[1].hash)), Ok((5, c[4].hash.clone())));
    }

    #[test]
    fn every_kind_of_tampering_is_named() {
        let mut edited = chain(5);
        edited[2].event = "{\"n\":99}".into();
        assert_eq!(walk(&edited, (0, GENESIS)), Err(ChainError::Edited { seq: 3 }));
        let mut deleted = chain(5);
        deleted.remove(2);
        assert_eq!(walk(&deleted, (0, GENESIS)), Err(ChainError::Gap { after: 2, next: 4 }));
        let mut swapped = chain(5);
        let (a, b) = (swapped[1].event.clone(), swapped[2].event.clone());
        swapped[1].event = b;
        swapped[2].event = a;
        assert_eq!(walk(&swapped, (0, GENESIS)), Err(ChainError::Edited { seq: 2 }));
        let mut relinked = chain(5);
        relinked[3].prev = "0".repeat(40);
        assert_eq!(walk(&relinked, (0, GENESIS)), Err(ChainError::Unlinked { seq: 4 }));
    }

    #[test]
    fn matches_the_lua_formula() {
        // redis.sha1hex("genesis\n1\n{}") — computed independently with `sha1sum`.
        assert_eq!(entry_hash(GENESIS, 1, "{}"), "d2974941a68c6bb5e7c69b428202349991fd7fce");
    }
}
