use std::time::Duration;

use super::*;
use crate::decision::Caller;
use crate::grant::Scope;
use crate::time::{Timestamp, Ttl};

pub(super) const EXAMPLE: &str = r#"
apiVersion: jitgate.dev/v1alpha1
kind: AccessPolicy
metadata: { name: orders-read }
spec:
  resources: [{ service: orders, methods: [GET, HEAD, DELETE], paths: ["/orders/**"] }, { service: billing, methods: ["*"], paths: ["/datasets/**"] }]
  requesters: ["group:eng", "group:oncall"]
  approvers: ["group:leads"]
  min_approvals: 1
  max_ttl: 1h
  pending_ttl: 15m
  escalate_after: 10m
  escalate_to: ["group:managers"]
  reason: { required: true, pattern: "^INC-[0-9]+" }
  auto_approve:
    - { requesters: ["group:oncall"], max_ttl: 1h, incident: true }
    - { methods: [GET, HEAD], max_ttl: 30m }
  one_time_actions: [{ service: billing, methods: [DELETE], paths: ["/datasets/*"] }]
  notify: [{ webhook: "http://127.0.0.1:9000/hook", format: json }]
"#;

pub(super) const NOW: Timestamp = Timestamp::from_millis(1_900_000_000_000);

pub(super) fn doc(yaml: &str) -> PolicyDocument {
    serde_saphyr::from_str(yaml).unwrap()
}

pub(super) fn set() -> PolicySet {
    PolicySet::new(vec![AccessPolicy::from_document(doc(EXAMPLE)).unwrap()])
}

pub(super) use crate::grant::fixtures::mk_caller as caller;

pub(super) use crate::grant::fixtures::mk_scope as scope;

pub(super) fn draft<'a>(
    c: &'a Caller,
    resources: &'a [Scope],
    ttl_min: u64,
    reason: &'a str,
    incident: Option<&'a str>,
) -> Draft<'a> {
    Draft { requester: c, resources, ttl: Duration::from_secs(ttl_min * 60), reason, incident }
}

#[test]
fn the_documented_policy_validates() {
    let p = AccessPolicy::from_document(doc(EXAMPLE)).unwrap();
    assert_eq!(p.name, "orders-read");
    assert_eq!(p.auto_approve[1].id, "orders-read/auto_approve[1]");
    assert_eq!(p.max_ttl, Duration::from_secs(3600));
}

#[test]
fn policy_errors_are_all_reported_with_their_field() {
    let bad = EXAMPLE
        .replace("orders-read", "Orders_Read")
        .replace("max_ttl: 1h\n", "max_ttl: soon\n")
        .replace("\"group:leads\"", "\"leads\"")
        .replace("^INC-[0-9]+", "(unclosed")
        .replace("escalate_after: 10m", "escalate_after: 20m")
        .replace("format: json", "format: json, events: [sent]");
    let errors = AccessPolicy::from_document(doc(&bad)).unwrap_err();
    let all = errors.join("\n");
    for expected in [
        "metadata.name",
        "spec.max_ttl",
        "spec.approvers[0]",
        "spec.reason.pattern",
        "spec.escalate_after",
        "unknown event `sent`",
    ] {
        assert!(all.contains(expected), "missing {expected} in:\n{all}");
    }
}

#[test]
fn resources_no_policy_covers_cannot_be_requested() {
    let c = caller("user:alice", &["eng"]);
    let r = [scope("payments", &["GET"], &["/x"])];
    assert!(matches!(
        assess(&set(), &draft(&c, &r, 10, "INC-1", None)),
        Err(Refusal::NotCovered(_))
    ));
    let r = [scope("orders", &["POST"], &["/orders/1"])];
    assert!(matches!(
        assess(&set(), &draft(&c, &r, 10, "INC-1", None)),
        Err(Refusal::NotCovered(_))
    ));
}

#[test]
fn only_listed_requesters_may_ask() {
    let c = caller("user:eve", &["sales"]);
    let r = [scope("orders", &["GET"], &["/orders/1"])];
    let Err(Refusal::NotEligible(msg)) = assess(&set(), &draft(&c, &r, 10, "INC-1", None)) else {
        panic!()
    };
    assert!(msg.contains("user:eve") && msg.contains("orders-read"), "{msg}");
}

#[test]
fn ttl_and_reason_rules_are_enforced() {
    let c = caller("user:alice", &["eng"]);
    let r = [scope("orders", &["DELETE"], &["/orders/1"])];
    let Err(Refusal::Invalid(errs)) = assess(&set(), &draft(&c, &r, 90, "fixing stuff", None))
    else {
        panic!()
    };
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert!(errs[0].contains("above the maximum of 1h"));
    assert!(errs[1].contains("does not match `^INC-[0-9]+`"));
    let Err(Refusal::Invalid(errs)) = assess(&set(), &draft(&c, &r, 10, "", None)) else {
        panic!()
    };
    assert!(errs[0].contains("requires a reason"));
}

#[test]
fn auto_approve_rules_apply_in_order() {
    let eng = caller("user:alice", &["eng"]);
    let read = [scope("orders", &["GET"], &["/orders/**"])];
    let a = assess(&set(), &draft(&eng, &read, 30, "INC-1", None)).unwrap();
    assert_eq!(a.auto_rule.as_deref(), Some("orders-read/auto_approve[1]"));
    let a = assess(&set(), &draft(&eng, &read, 45, "INC-1", None)).unwrap();
    assert_eq!(a.auto_rule, None, "read-only is only auto-approved up to 30m");
    let delete = [scope("orders", &["DELETE"], &["/orders/1"])];
    assert_eq!(assess(&set(), &draft(&eng, &delete, 10, "INC-1", None)).unwrap().auto_rule, None);
    let oncall = caller("user:bob", &["oncall"]);
    let a = assess(&set(), &draft(&oncall, &delete, 60, "INC-1", Some("INC-1"))).unwrap();
    assert_eq!(a.auto_rule.as_deref(), Some("orders-read/auto_approve[0]"));
    let a = assess(&set(), &draft(&oncall, &delete, 60, "INC-1", None)).unwrap();
    assert_eq!(a.auto_rule, None, "the on-call rule needs an incident");
}

/// What explaining offers and what filing decides come from one rule: the policy explain
/// names is the one filing picks (when the request is within its limits), and the auto-approve
/// rules explain lists are exactly those whose requesters and methods fit, whatever the TTL.
#[test]
fn explaining_and_filing_pick_policies_and_rules_by_the_same_rule() {
    let set = set();
    let orders = [scope("orders", &["GET"], &["/orders/7"])];
    let delete = [scope("orders", &["DELETE"], &["/orders/7"])];
    let any = [scope("billing", &["*"], &["/datasets/a/b"])];
    let oncall = caller("user:bob", &["oncall"]);
    let eng = caller("user:alice", &["eng"]);
    let stranger = caller("user:eve", &[]);

    let first = eligible(&set, &eng, &orders).unwrap();
    let filed = assess(&set, &draft(&eng, &orders, 10, "INC-1 look", None)).unwrap();
    assert_eq!(first[0].name, filed.policy.name);
    assert!(matches!(eligible(&set, &stranger, &orders), Err(Ineligible::NotEligible(_))));
    let nowhere = [scope("payroll", &["GET"], &["/x"])];
    assert!(matches!(eligible(&set, &eng, &nowhere), Err(Ineligible::NotCovered(_))));

    let fits = |c: &Caller, r: &[Scope]| -> Vec<String> {
        let p = &eligible(&set, c, r).unwrap()[0];
        p.auto_approve.iter().filter(|rule| rule_fits(rule, c, r)).map(|r| r.id.clone()).collect()
    };
    // The on-call rule names requesters, the read rule methods: a GET by on-call fits both,
    // a DELETE only the on-call one, "any method" never fits a rule that names methods.
    assert_eq!(fits(&oncall, &orders).len(), 2);
    assert_eq!(fits(&oncall, &delete).len(), 1);
    assert_eq!(fits(&eng, &delete).len(), 0);
    assert_eq!(fits(&eng, &any).len(), 0);
    assert_eq!(fits(&oncall, &any).len(), 1, "a rule naming no methods fits any method");
    // Filing approves by the first rule that fits and whose TTL and incident conditions hold.
    let auto = assess(&set, &draft(&eng, &orders, 10, "INC-1 look", None)).unwrap().auto_rule;
    assert_eq!(auto.as_deref(), fits(&eng, &orders).first().map(String::as_str));
}

#[test]
fn one_time_actions_must_be_requested_one_call_at_a_time() {
    let c = caller("user:alice", &["oncall"]);
    let exact = [scope("billing", &["DELETE"], &["/datasets/42"])];
    let a = assess(&set(), &draft(&c, &exact, 60, "INC-7", Some("INC-7"))).unwrap();
    assert!(a.one_time);
    assert_eq!(
        (a.max_uses, a.grant_ttl, a.auto_rule),
        (Some(1), Duration::from_secs(300), None),
        "never auto-approved"
    );
    for wide in [
        scope("billing", &["DELETE"], &["/datasets/*"]),
        scope("billing", &["*"], &["/datasets/42"]),
    ] {
        let Err(Refusal::Invalid(errs)) =
            assess(&set(), &draft(&c, std::slice::from_ref(&wide), 5, "INC-7", None))
        else {
            panic!("{wide}")
        };
        assert!(errs[0].contains("one-time approval for each call"), "{errs:?}");
    }
    let p = set();
    let path = crate::grant::RequestPath::parse("/datasets/42").unwrap();
    assert!(p.one_time_policy("billing", "DELETE", &path).is_some());
    assert!(p.one_time_policy("billing", "GET", &path).is_none());
}

pub(super) fn mk_request(min_approvals: u32) -> AccessRequest {
    AccessRequest {
        id: RequestId::generate(),
        requester: "user:alice".parse().unwrap(),
        resources: vec![scope("orders", &["GET"], &["/orders/1"])],
        ttl: Ttl::from_secs(600),
        reason: "INC-1".into(),
        incident: None,
        policy: "orders-read".into(),
        status: RequestStatus::Pending,
        created_at: NOW,
        expires_at: NOW.saturating_add(Duration::from_secs(900)),
        escalate_at: Some(NOW.saturating_add(Duration::from_secs(600))),
        escalated: false,
        approvers: vec!["group:leads".parse().unwrap()],
        escalate_to: vec!["group:managers".parse().unwrap()],
        min_approvals,
        approvals: vec![],
        denied: None,
        decided_at: None,
        one_time: false,
        grant_ttl: Ttl::from_secs(600),
        max_uses: None,
        auto_approved_by: None,
        grant_id: None,
        cancellation: None,
    }
}

#[test]
fn the_requester_can_never_approve_even_as_an_approver() {
    let mut r = mk_request(1);
    let alice_lead = caller("user:alice", &["leads"]);
    assert_eq!(
        r.approve(&alice_lead, NOW, None),
        Err(RequestError::SelfApproval("user:alice".parse().unwrap()))
    );
    assert!(matches!(r.deny(&alice_lead, NOW, None), Err(RequestError::SelfApproval(_))));
    assert_eq!(r.status, RequestStatus::Pending);
}

#[test]
fn two_distinct_approvers_are_needed_when_asked() {
    let mut r = mk_request(2);
    let bob = caller("user:bob", &["leads"]);
    assert_eq!(
        r.approve(&bob, NOW, Some("ok".into())),
        Ok(Approval::Recorded { have: 1, need: 2 })
    );
    assert_eq!(r.approve(&bob, NOW, None), Err(RequestError::AlreadyApproved(bob.subject.clone())));
    assert!(matches!(
        r.approve(&caller("user:eve", &["eng"]), NOW, None),
        Err(RequestError::NotApprover(..))
    ));
    assert_eq!(r.approve(&caller("user:carol", &["leads"]), NOW, None), Ok(Approval::Complete));
    assert_eq!((r.status, r.decided_at), (RequestStatus::Approved, Some(NOW)));
    assert!(matches!(
        r.approve(&caller("user:dan", &["leads"]), NOW, None),
        Err(RequestError::NotPending(_, RequestStatus::Approved))
    ));
}

#[test]
fn expired_denied_and_cancelled_requests_cannot_be_approved() {
    let bob = caller("user:bob", &["leads"]);
    let mut r = mk_request(1);
    let late = r.expires_at;
    assert_eq!(r.status_at(late), RequestStatus::Expired);
    assert!(matches!(
        r.approve(&bob, late, None),
        Err(RequestError::NotPending(_, RequestStatus::Expired))
    ));
    assert!(r.expire(late) && !r.expire(late));
    let mut r = mk_request(1);
    r.deny(&bob, NOW, Some("no".into())).unwrap();
    assert!(matches!(
        r.approve(&bob, NOW, None),
        Err(RequestError::NotPending(_, RequestStatus::Denied))
    ));
    let mut r = mk_request(1);
    assert!(matches!(r.cancel(&bob, NOW), Err(RequestError::NotRequester(_))));
    r.cancel(&caller("user:alice", &[]), NOW).unwrap();
    assert!(matches!(
        r.approve(&bob, NOW, None),
        Err(RequestError::NotPending(_, RequestStatus::Cancelled))
    ));
}

#[test]
fn escalation_happens_once_and_widens_the_approvers() {
    let mut r = mk_request(1);
    let manager = caller("user:mona", &["managers"]);
    assert!(matches!(r.approve(&manager, NOW, None), Err(RequestError::NotApprover(..))));
    let later = NOW.saturating_add(Duration::from_secs(600));
    assert!(!r.escalate(NOW));
    assert!(r.escalate(later));
    assert!(!r.escalate(later), "escalates once");
    assert_eq!(r.current_approvers().len(), 2);
    assert_eq!(r.approve(&manager, later, None), Ok(Approval::Complete));
}
