//! The wire form of an entry, shared by `GET /v1/audit`, `jitgate audit export` and the
//! retention export files: one JSON object per line,
//! `{"seq", "prev", "hash", "recorded_at", "cursor", "event": {...}}`. The event is embedded
//! byte for byte as it was hashed, so anyone can re-verify an export offline.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::{AuditEntry, AuditError, Stored};
use crate::time::Timestamp;

#[derive(Debug, Serialize, Deserialize)]
pub struct EntryLine {
    pub seq: u64,
    pub prev: String,
    pub hash: String,
    pub recorded_at: Timestamp,
    pub cursor: String,
    pub event: Box<RawValue>,
}

// === impl EntryLine ===

impl EntryLine {
    pub fn from_stored(s: &Stored) -> Result<Self, AuditError> {
        let event = RawValue::from_string(s.entry.event.clone()).map_err(|e| {
            AuditError::Corrupt(format!("entry {}: event is not JSON: {e}", s.entry.seq))
        })?;
        Ok(Self {
            seq: s.entry.seq,
            prev: s.entry.prev.clone(),
            hash: s.entry.hash.clone(),
            recorded_at: s.recorded_at,
            cursor: s.cursor.clone(),
            event,
        })
    }

    pub fn to_stored(&self) -> Stored {
        Stored {
            cursor: self.cursor.clone(),
            recorded_at: self.recorded_at,
            entry: AuditEntry {
                seq: self.seq,
                prev: self.prev.clone(),
                hash: self.hash.clone(),
                event: self.event.get().to_string(),
            },
        }
    }

    /// One line of JSON (no trailing newline).
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// One page of `GET /v1/audit`, typed so entries keep their exact bytes both ways.
#[derive(Debug, Serialize, Deserialize)]
pub struct PageBody {
    pub entries: Vec<EntryLine>,
    pub next: Option<String>,
}

/// Parses an export (JSON lines, blank lines ignored); names the first bad line.
pub fn parse_lines(text: &str) -> Result<Vec<Stored>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str::<EntryLine>(l)
                .map(|e| e.to_stored())
                .map_err(|e| format!("line {}: not an audit entry: {e}", i + 1))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::chain::{GENESIS, link, walk};

    #[test]
    fn an_export_round_trips_byte_for_byte() {
        // Odd spacing and key order must survive: the hash covers the exact text.
        let events = vec![r#"{"b":1,  "a":"x"}"#.to_string(), r#"{"n":2.50}"#.to_string()];
        let stored: Vec<Stored> = link(&events, (0, GENESIS))
            .into_iter()
            .enumerate()
            .map(|(i, entry)| Stored {
                cursor: format!("1000-{i}"),
                recorded_at: Timestamp::from_millis(1000),
                entry,
            })
            .collect();
        let text: String =
            stored.iter().map(|s| EntryLine::from_stored(s).unwrap().to_line() + "\n").collect();
        let back = parse_lines(&text).unwrap();
        assert_eq!(back, stored);
        let entries: Vec<AuditEntry> = back.into_iter().map(|s| s.entry).collect();
        assert!(walk(&entries, (0, GENESIS)).is_ok());
        assert!(parse_lines("{\"seq\":1}\n").unwrap_err().starts_with("line 1:"));
    }
}
