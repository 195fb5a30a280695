//! A pending request judged again under its policy's current version ([`super::reassess`],
//! [`super::policy_change`]).

use std::time::Duration;

use super::tests::{EXAMPLE, NOW, caller, doc, draft, mk_request, scope, set};
use super::*;

fn changed(edit: impl Fn(&str) -> String) -> PolicySet {
    PolicySet::new(vec![AccessPolicy::from_document(doc(&edit(EXAMPLE))).unwrap()])
}

#[test]
fn a_pending_request_takes_the_current_approvers_and_thresholds() {
    let set = changed(|y| {
        y.replace(r#"approvers: ["group:leads"]"#, r#"approvers: ["group:security"]"#)
            .replace("min_approvals: 1", "min_approvals: 2")
    });
    let (alice, res) = (caller("user:alice", &[]), [scope("orders", &["GET"], &["/orders/1"])]);
    let terms = reassess(&set, "orders-read", &draft(&alice, &res, 10, "", None)).unwrap();
    let mut r = mk_request(1);
    r.adopt(&terms);
    assert_eq!((r.approvers.len(), r.min_approvals), (1, 2));
    let lead = caller("user:bob", &["leads"]);
    assert!(matches!(r.approve(&lead, NOW, None), Err(RequestError::NotApprover(..))));
    let sec = caller("user:sam", &["security"]);
    assert_eq!(r.approve(&sec, NOW, None), Ok(Approval::Recorded { have: 1, need: 2 }));
}

#[test]
fn a_deleted_or_narrowed_policy_no_longer_accepts_it() {
    let alice = caller("user:alice", &[]);
    let res = [scope("orders", &["GET"], &["/orders/1"])];
    let gone = reassess(&PolicySet::default(), "orders-read", &draft(&alice, &res, 10, "", None));
    let c = Cancellation::from_refusal(gone.unwrap_err());
    assert_eq!(c.cause, CancelCause::PolicyDeleted);
    assert!(c.summary().contains("`orders-read` was deleted"), "{c:?}");
    let narrowed =
        changed(|y| y.replace(r#"paths: ["/orders/**"]"#, r#"paths: ["/orders/public"]"#));
    let refused = reassess(&narrowed, "orders-read", &draft(&alice, &res, 10, "", None));
    let c = Cancellation::from_refusal(refused.unwrap_err());
    assert_eq!(c.cause, CancelCause::PolicyChanged);
    assert!(c.summary().contains("no longer covers"), "{c:?}");
    let shorter = changed(|y| y.replace("max_ttl: 1h", "max_ttl: 5m").replace("30m", "5m"));
    let refused = reassess(&shorter, "orders-read", &draft(&alice, &res, 10, "", None));
    assert!(matches!(refused, Err(Refusal::Invalid(ref e)) if e[0].contains("maximum of 5m")));
}

#[test]
fn the_reason_is_not_judged_again_and_a_cancelled_request_stays_cancelled() {
    // Filed before the pattern existed (or by jitgate, for a one-time action).
    let alice = caller("user:alice", &[]);
    let res = [scope("orders", &["GET"], &["/orders/1"])];
    assert!(reassess(&set(), "orders-read", &draft(&alice, &res, 10, "because", None)).is_ok());
    let mut r = mk_request(1);
    let c = Cancellation { cause: CancelCause::PolicyDeleted, problems: vec!["gone".into()] };
    r.cancel_for_policy(c.clone(), NOW).unwrap();
    assert_eq!((r.status, r.cancellation.as_ref()), (RequestStatus::Cancelled, Some(&c)));
    assert!(matches!(r.cancel_for_policy(c, NOW), Err(RequestError::NotPending(..))));
    let later = NOW.saturating_add(Duration::from_secs(1));
    assert!(matches!(
        r.approve(&caller("user:bob", &["leads"]), later, None),
        Err(RequestError::NotPending(_, RequestStatus::Cancelled))
    ));
}

#[test]
fn a_one_time_request_stays_one_use_when_its_action_is_no_longer_one_time() {
    let set = changed(|y| {
        y.replace(
            r#"one_time_actions: [{ service: billing, methods: [DELETE], paths: ["/datasets/*"] }]"#,
            "",
        )
    });
    let alice = caller("user:alice", &[]);
    let res = [scope("billing", &["DELETE"], &["/datasets/7"])];
    let terms = reassess(&set, "orders-read", &draft(&alice, &res, 5, "", None)).unwrap();
    assert_eq!((terms.one_time, terms.max_uses), (false, None));
    let mut r = mk_request(1);
    (r.resources, r.one_time, r.max_uses) = (res.to_vec(), true, Some(1));
    r.adopt(&terms);
    assert_eq!((r.one_time, r.max_uses), (true, Some(1)));
}
