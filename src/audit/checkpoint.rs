//! DOMAIN, pure: signed checkpoints. A checkpoint vouches that the chain had entry `seq` with
//! hash `hash` at time `at`; it is signed with HMAC-SHA256 under a key Redis never sees, and
//! written outside Redis (a file, the logs). Whoever can rewrite Redis can cut the chain's
//! tail and fix up the head, but cannot forge a checkpoint for the entries it removed.
//!
//! The form is one token with no quotes or spaces, so it survives any log pipeline and can be
//! grepped back out of text or JSON logs alike:
//!
//! ```text
//! jcp1.<seq>.<hash>.<at, Unix ms>.<hex HMAC-SHA256 over "jitgate-audit-checkpoint\n<seq>\n<hash>\n<at>">
//! ```

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::time::Timestamp;

const TAG: &str = "jcp1.";

/// Keys shorter than this are refused.
pub const MIN_KEY_BYTES: usize = 32;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    pub seq: u64,
    pub hash: String,
    pub at: Timestamp,
}

/// A checkpoint as found in text, with its signature not yet checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedCheckpoint {
    pub checkpoint: Checkpoint,
    pub sig: String,
    /// 1-based line it was found on.
    pub line: usize,
}

fn mac(key: &[u8], c: &Checkpoint) -> Hmac<Sha256> {
    let mut m = Hmac::<Sha256>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC-SHA256 takes keys of any length"));
    let msg = format!("jitgate-audit-checkpoint\n{}\n{}\n{}", c.seq, c.hash, c.at.as_millis());
    m.update(msg.as_bytes());
    m
}

// === impl Checkpoint ===

impl Checkpoint {
    /// The signed token.
    pub fn sign(&self, key: &[u8]) -> String {
        let sig = crate::hex::encode(&mac(key, self).finalize().into_bytes());
        format!("{TAG}{}.{}.{}.{sig}", self.seq, self.hash, self.at.as_millis())
    }
}

impl SignedCheckpoint {
    /// True when the signature is valid under `key` (compared in constant time).
    pub fn verifies(&self, key: &[u8]) -> bool {
        crate::hex::decode(&self.sig)
            .is_some_and(|sig| mac(key, &self.checkpoint).verify_slice(&sig).is_ok())
    }
}

/// Every checkpoint token in `text` (a checkpoint file, or logs), in order.
pub fn scan(text: &str) -> Vec<SignedCheckpoint> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let mut rest = line;
        while let Some(at) = rest.find(TAG) {
            let token = &rest[at + TAG.len()..];
            let end = token
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.'))
                .unwrap_or(token.len());
            if let Some(c) = parse(&token[..end], i + 1) {
                out.push(c);
            }
            rest = &token[end..];
        }
    }
    out
}

fn parse(token: &str, line: usize) -> Option<SignedCheckpoint> {
    let mut parts = token.split('.');
    let seq = parts.next()?.parse().ok()?;
    let hash = parts.next()?.to_string();
    let at = Timestamp::from_millis(parts.next()?.parse().ok()?);
    let sig = parts.next()?.to_string();
    let well_formed = parts.next().is_none()
        && hash.len() == 40
        && hash.chars().all(|c| c.is_ascii_hexdigit())
        && sig.len() == 64;
    well_formed.then_some(SignedCheckpoint { checkpoint: Checkpoint { seq, hash, at }, sig, line })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cp(seq: u64) -> Checkpoint {
        Checkpoint { seq, hash: "ab".repeat(20), at: Timestamp::from_millis(1_700_000_000_000) }
    }

    #[test]
    fn tokens_are_found_in_plain_and_json_log_lines() {
        let key = b"test-key-test-key-test-key-test-key";
        let (a, b) = (cp(7).sign(key), cp(9).sign(key));
        let text = format!(
            "{a}\n2026-11-25T10:00:00Z INFO Audit checkpoint checkpoint={b}\n{{\"msg\":\"x\",\"checkpoint\":\"{a}\"}}\nnoise jcp1.1.2.3\n"
        );
        let found = scan(&text);
        assert_eq!(found.len(), 3);
        assert_eq!(found[1].checkpoint, cp(9));
        assert_eq!(found[1].line, 2);
        assert!(found.iter().all(|c| c.verifies(key)));
    }

    #[test]
    fn a_forged_or_altered_checkpoint_does_not_verify() {
        let key = b"test-key-test-key-test-key-test-key";
        let token = cp(7).sign(key);
        let mut found = scan(&token).remove(0);
        assert!(!found.verifies(b"another-key-another-key-another-key"));
        found.checkpoint.seq = 8;
        assert!(!found.verifies(key));
    }
}
