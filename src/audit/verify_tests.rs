use serde_json::json;

use super::*;
use crate::audit::chain::{GENESIS, link};
use crate::audit::checkpoint::{Checkpoint, scan};
use crate::time::Timestamp;

const KEY: &[u8] = b"test-key-test-key-test-key-test-key";

fn stored(events: &[String]) -> Vec<Stored> {
    link(events, (0, GENESIS))
        .into_iter()
        .map(|entry| Stored {
            cursor: format!("{}-0", entry.seq),
            recorded_at: Timestamp::from_millis(1000),
            entry,
        })
        .collect()
}

fn log(n: usize) -> Vec<Stored> {
    stored(
        &(1..=n).map(|i| json!({"kind": "request.filed", "n": i}).to_string()).collect::<Vec<_>>(),
    )
}

fn head_of(entries: &[Stored]) -> Head {
    let last = entries.last().map(|s| (s.entry.seq, s.entry.hash.clone()));
    let (seq, hash) = last.unwrap_or((0, GENESIS.into()));
    Head { seq, hash, start_seq: 0, start_hash: GENESIS.into() }
}

fn checkpoint(entries: &[Stored], seq: u64) -> SignedCheckpoint {
    let s = &entries[usize::try_from(seq - 1).unwrap()];
    let c = Checkpoint { seq, hash: s.entry.hash.clone(), at: Timestamp::from_millis(5000) };
    scan(&c.sign(KEY)).remove(0)
}

fn verify(entries: &[Stored], head: Head, cps: Vec<SignedCheckpoint>) -> Result<Report, Problem> {
    let mut v = Verifier::for_log(head, cps, KEY)?;
    for s in entries {
        v.feed(s)?;
    }
    v.finish()
}

#[test]
fn an_intact_log_verifies_with_its_checkpoints() {
    let entries = log(6);
    let cps = vec![checkpoint(&entries, 3), checkpoint(&entries, 6)];
    let report = verify(&entries, head_of(&entries), cps).unwrap();
    assert_eq!((report.entries, report.first, report.last), (6, Some(1), 6));
    assert_eq!(report.checkpoints_checked, 2);
}

#[test]
fn a_cut_tail_is_caught_by_the_head_or_else_by_a_checkpoint() {
    let entries = log(6);
    let naive = verify(&entries[..4], head_of(&entries), vec![]).unwrap_err();
    assert_eq!(naive, Problem::HeadAhead { last: 4, head: 6 });
    let cps = vec![checkpoint(&entries, 5)];
    let careful = verify(&entries[..4], head_of(&entries[..4]), cps).unwrap_err();
    assert!(matches!(careful, Problem::Truncated { seq: 5, last: 4, .. }), "{careful:?}");
    assert!(careful.to_string().contains("entries 5..=5 were removed"));
}

#[test]
fn a_rewritten_history_is_caught_by_a_checkpoint() {
    let entries = log(4);
    let cps = vec![checkpoint(&entries, 2)];
    // A forger rebuilds a consistent chain with a different entry 2.
    let mut events: Vec<String> = entries.iter().map(|s| s.entry.event.clone()).collect();
    events[1] = json!({"kind": "request.filed", "n": 99}).to_string();
    let forged = stored(&events);
    let err = verify(&forged, head_of(&forged), cps).unwrap_err();
    assert!(matches!(err, Problem::CheckpointHash { seq: 2, .. }), "{err:?}");
}

#[test]
fn forged_checkpoints_are_refused() {
    let entries = log(2);
    let mut cp = checkpoint(&entries, 2);
    cp.sig = "0".repeat(64);
    cp.line = 4;
    assert_eq!(
        verify(&entries, head_of(&entries), vec![cp]).unwrap_err(),
        Problem::CheckpointSignature { line: 4 }
    );
}

#[test]
fn a_trimmed_start_needs_its_trim_record() {
    let mut events: Vec<String> =
        (1..=3).map(|i| json!({"kind": "request.filed", "n": i}).to_string()).collect();
    let all = stored(&events);
    let through = &all[1].entry;
    events.push(
        json!({"kind": "audit.trimmed", "details": {"through_seq": 2, "through_hash": through.hash}})
            .to_string(),
    );
    let all = stored(&events);
    let kept = &all[2..];
    let head = Head { start_seq: 2, start_hash: all[1].entry.hash.clone(), ..head_of(&all) };
    let cps = vec![checkpoint(&all, 1), checkpoint(&all, 2)];
    let report = verify(kept, head.clone(), cps).unwrap();
    assert_eq!((report.checkpoints_trimmed, report.checkpoints_checked), (1, 1));
    // Deleting one more entry from the start and moving the marker is caught.
    let head = Head { start_seq: 3, start_hash: all[2].entry.hash.clone(), ..head };
    assert_eq!(verify(&all[3..], head, vec![]).unwrap_err(), Problem::StartUnrecorded { start: 3 });
}

#[test]
fn an_export_verifies_from_its_own_first_entry() {
    let entries = log(5);
    let mut v = Verifier::for_export(&entries[2], vec![checkpoint(&entries, 4)], KEY).unwrap();
    for s in &entries[2..] {
        v.feed(s).unwrap();
    }
    let report = v.finish().unwrap();
    assert_eq!((report.first, report.last, report.checkpoints_checked), (Some(3), 5, 1));
}
