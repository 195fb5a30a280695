use std::time::Duration;

use super::{FoldLimits, Folder, Offered};
use crate::audit::record::FoldedDenies;
use crate::audit::{AuditEvent, AuditKind};
use crate::decision::DenyReason;
use crate::mode::Mode;
use crate::time::Timestamp;

const LIMITS: FoldLimits = FoldLimits {
    path_max_bytes: 64,
    anonymous_path_bytes: 16,
    window: Duration::from_secs(10),
    max_groups: 3,
};

fn t(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms.saturating_add(1_000_000))
}

fn mk_deny(id: &str, at: i64, path: &str, subject: Option<&str>) -> AuditEvent {
    let mut e = AuditEvent::with_id(AuditKind::DecisionDeny, t(at), id.into());
    e.decision_id = Some(id.into());
    e.subject = subject.map(String::from);
    (e.service, e.method, e.path) = (Some("orders".into()), Some("GET".into()), Some(path.into()));
    e.reason("token_missing")
}

fn sha256_hex(s: &str) -> String {
    use sha2::{Digest, Sha256};
    crate::hex::encode(&Sha256::digest(s.as_bytes()))
}

fn folded(e: &AuditEvent) -> FoldedDenies {
    serde_json::from_value(e.details.clone()).unwrap()
}

fn offer_anonymous(f: &mut Folder, id: &str, at: i64, path: &str) -> Offered {
    f.offer(mk_deny(id, at, path, None), Mode::Enforce, Some(DenyReason::TokenMissing), t(at))
}

#[test]
fn identified_decisions_pass_with_long_paths_cut_and_digested() {
    let mut f = Folder::new(LIMITS);
    let long = format!("/orders/{}", "x".repeat(100));
    let e = mk_deny("d1", 0, &long, Some("user:alice"));
    let Offered::Pass(e) = f.offer(e, Mode::Enforce, Some(DenyReason::NoGrant), t(0)) else {
        panic!("an identified caller's deny is its own record")
    };
    assert_eq!(e.path.as_deref(), Some(&long[..64]));
    assert_eq!(e.path_sha256, Some(sha256_hex(&long)));
    assert_eq!(e.path_bytes, Some(long.len() as u64));
    assert_eq!(e.decision_id.as_deref(), Some("d1"));

    let short = mk_deny("d2", 0, "/orders/1", Some("user:alice"));
    let Offered::Pass(e) = f.offer(short, Mode::Enforce, None, t(0)) else { panic!() };
    assert_eq!((e.path.as_deref(), e.path_sha256), (Some("/orders/1"), None));
    assert!(!f.due(t(60_000)), "nothing was folded, so no window is open");
}

#[test]
fn repeated_anonymous_denies_become_one_counted_record_with_a_cut_path() {
    let mut f = Folder::new(LIMITS);
    // `é` (2 bytes) straddles byte 16: the cut keeps whole characters.
    let long = "/orders/aaaaaaaé/and/more/and/more";
    for (i, at) in [5, 1, 9, 3].iter().enumerate() {
        let offered = offer_anonymous(&mut f, &format!("d{i}"), *at, long);
        assert_eq!(offered, Offered::Folded { reason: DenyReason::TokenMissing, overflow: false });
    }
    assert!(!f.due(t(9_999)) && f.due(t(10_005)), "the window opens at the first fold");
    let closed = f.close();
    assert_eq!((closed.events.len(), closed.denies), (1, 4));
    let e = &closed.events[0];
    assert_eq!(e.kind, AuditKind::DecisionDeny);
    assert_eq!(e.path.as_deref(), Some("/orders/aaaaaaa"));
    assert_eq!(e.path_sha256, Some(sha256_hex(long)));
    assert_eq!(e.path_bytes, Some(long.len() as u64));
    assert_eq!((e.subject.as_deref(), e.reason.as_deref()), (None, Some("token_missing")));
    assert_eq!((e.at, e.decision_id.as_deref()), (t(1), Some("d1")), "the first by time");
    let d = folded(e);
    assert_eq!((d.count, d.last_at, d.last_decision_id.as_str()), (4, t(9), "d2"));
    assert_eq!((d.mode, d.overflow), (Mode::Enforce, false));
    assert!(!f.due(t(1_000_000)) && f.close().events.is_empty(), "closing starts afresh");
}

#[test]
fn a_spread_flood_costs_at_most_max_groups_plus_one_overflow_record_per_reason() {
    let mut f = Folder::new(LIMITS);
    let mut overflowed = 0;
    for i in 0..1000 {
        let (reason, mode) = match i % 4 {
            0 => (DenyReason::TokenMissing, Mode::Enforce),
            1 => (DenyReason::TokenInvalid, Mode::Enforce),
            2 => (DenyReason::TokenInvalid, Mode::Shadow),
            _ => (DenyReason::TokenExpired, Mode::Enforce),
        };
        let e = mk_deny(&format!("d{i}"), i, &format!("/orders/{i}"), None);
        match f.offer(e, mode, Some(reason), t(i)) {
            Offered::Folded { overflow, .. } => overflowed += usize::from(overflow),
            Offered::Pass(e) => panic!("an unidentified deny was recorded on its own: {e:?}"),
        }
    }
    let closed = f.close();
    assert_eq!(closed.denies, 1000);
    assert_eq!(overflowed, 1000 - LIMITS.max_groups);
    // 3 calls counted apart, then one overflow record per (mode, reason) seen after them.
    assert_eq!(closed.events.len(), LIMITS.max_groups + 4, "{:#?}", closed.events);
    let counts: u64 = closed.events.iter().map(|e| folded(e).count).sum();
    assert_eq!(counts, 1000);
    let overflow: Vec<&AuditEvent> = closed.events.iter().filter(|e| folded(e).overflow).collect();
    assert_eq!(overflow.len(), 4);
    for e in overflow {
        assert_eq!((&e.service, &e.method, &e.path, &e.path_sha256), (&None, &None, &None, &None));
    }
}

#[test]
fn modes_and_reasons_are_never_counted_together() {
    let mut f = Folder::new(LIMITS);
    let cases =
        [(Mode::Enforce, DenyReason::TokenMissing), (Mode::Shadow, DenyReason::TokenMissing)];
    for (i, (mode, reason)) in cases.into_iter().enumerate() {
        let e = mk_deny(&format!("d{i}"), 0, "/orders/1", None).reason(reason.code());
        f.offer(e, mode, Some(reason), t(0));
    }
    let e = mk_deny("d9", 0, "/orders/1", None).reason("token_invalid");
    f.offer(e, Mode::Enforce, Some(DenyReason::TokenInvalid), t(0));
    let closed = f.close();
    assert_eq!(closed.events.len(), 3);
    assert!(closed.events.iter().all(|e| folded(e).count == 1));
}

#[test]
fn folded_details_and_cut_events_round_trip() {
    let mut f = Folder::new(LIMITS);
    offer_anonymous(&mut f, "d1", 0, &format!("/orders/{}", "y".repeat(40)));
    let event = f.close().events.remove(0);
    let back: AuditEvent = serde_json::from_str(&event.to_json()).unwrap();
    assert_eq!(back, event);
    assert_eq!(back.to_json(), event.to_json(), "the hashed bytes are stable");
}

#[test]
fn a_cut_path_never_ends_inside_a_percent_escape() {
    let mut f = Folder::new(LIMITS);
    // The cut at byte 16 falls inside `%2A` (after `%2`, after `%`), or just after it.
    let cases = [
        ("/orders/abcdef%2Axyz", "/orders/abcdef"),
        ("/orders/abcdefg%2Axyz", "/orders/abcdefg"),
        ("/orders/abcde%2Axyz", "/orders/abcde%2A"),
    ];
    for (path, kept) in cases {
        offer_anonymous(&mut f, "d1", 0, path);
        let e = f.close().events.remove(0);
        assert_eq!(e.path.as_deref(), Some(kept), "{path}");
        assert_eq!(e.path_sha256, Some(sha256_hex(path)));
    }
}
