//! SECURITY row 60: a pending request is decided under its policy as it is now. Replaced
//! approvers can no longer decide and the new ones can; a request whose policy was deleted or
//! no longer covers it cannot be approved and is cancelled, with an audit record saying why —
//! when someone tries to approve it, and by the sweep that follows every policy change.

use jitgate::access::{AccessRequest, PolicyDocument, RequestStatus};
use jitgate::audit::AuditKind;
use jitgate::store::GrantStore;
use jitgate::workflow::{LIST_LIMIT, RequestFilter, WorkflowError};

use super::{POLICY, World, caller, new_request, root, world};

async fn put_policy(w: &World, yaml: &str) {
    let doc: PolicyDocument = serde_saphyr::from_str(yaml).unwrap();
    w.policies.put(&root(), "orders", doc).await.unwrap();
}

/// The policy with other approvers (`group:security`), one approval enough.
fn replaced_approvers() -> String {
    POLICY
        .replace(r#"approvers: ["group:leads"]"#, r#"approvers: ["group:security"]"#)
        .replace("min_approvals: 2", "min_approvals: 1")
}

async fn pending(w: &World) -> AccessRequest {
    let r = w.requests.create(&caller("user:alice", &["eng"]), new_request(30)).await.unwrap();
    assert_eq!(r.status, RequestStatus::Pending);
    r
}

/// The id the grant of `r` would have.
fn grant_of(r: &AccessRequest) -> jitgate::grant::GrantId {
    jitgate::workflow::requests::grant_id_for(&r.id)
}

/// The `request.cancelled` record jitgate wrote for `r`, if any.
fn cancellation_record(w: &World, r: &AccessRequest) -> Option<jitgate::audit::AuditEvent> {
    w.audit.events().into_iter().find(|e| {
        e.kind == AuditKind::RequestCancelled && e.request_id.as_deref() == Some(r.id.as_str())
    })
}

#[tokio::test]
async fn old_approvers_are_refused_once_the_approvers_are_replaced() {
    let w = world().await;
    let r = pending(&w).await;
    put_policy(&w, &replaced_approvers()).await;
    for lead in ["user:bob", "user:carol"] {
        let err = w.requests.approve(&caller(lead, &["leads"]), &r.id, None).await.unwrap_err();
        assert!(matches!(err, WorkflowError::NotFound(_)), "{lead}: {err:?}");
        let err = w.requests.deny(&caller(lead, &["leads"]), &r.id, None).await.unwrap_err();
        assert!(matches!(err, WorkflowError::NotFound(_)), "{lead} denies: {err:?}");
    }
    let now = w.requests.get(&caller("user:alice", &["eng"]), &r.id).await.unwrap();
    assert_eq!((now.status, now.approvals.len()), (RequestStatus::Pending, 0));
    assert_eq!(now.current_approvers(), ["group:security".parse().unwrap()]);
    assert!(w.store.get(&grant_of(&r)).await.unwrap().is_none(), "no grant");
}

#[tokio::test]
async fn new_approvers_decide_under_the_current_policy() {
    let w = world().await;
    let r = pending(&w).await;
    put_policy(&w, &replaced_approvers()).await;
    let sam = caller("user:sam", &["security"]);
    let queue = RequestFilter { status: Some(RequestStatus::Pending), ..RequestFilter::default() };
    let listed = w.requests.list(&sam, &queue, None, LIST_LIMIT).await.unwrap().requests;
    assert_eq!(listed.iter().map(|l| &l.id).collect::<Vec<_>>(), [&r.id], "in sam's queue");
    assert_eq!(listed[0].min_approvals, 1);
    // One approval is enough now (the policy asks for one instead of two).
    let done = w.requests.approve(&sam, &r.id, None).await.unwrap();
    assert_eq!(done.status, RequestStatus::Approved);
    let grant = w.store.get(done.grant_id.as_ref().unwrap()).await.unwrap().unwrap();
    assert_eq!(grant.approved_by, [sam.subject]);
}

#[tokio::test]
async fn a_deleted_policys_pending_requests_are_cancelled_and_audited() {
    let w = world().await;
    let (first, second) = (pending(&w).await, pending(&w).await);
    w.policies.delete(&root(), "orders").await.unwrap();
    // Approving is refused, and cancels the request.
    let bob = caller("user:bob", &["leads"]);
    let err = w.requests.approve(&bob, &first.id, None).await.unwrap_err();
    assert!(
        matches!(err, WorkflowError::Conflict(ref m) if m.contains("`orders` was deleted") && m.contains("cancelled")),
        "{err:?}"
    );
    // The sweep after the change cancels the other one.
    assert_eq!(w.requests.sweep().await.unwrap(), 1, "the second request");
    let alice = caller("user:alice", &["eng"]);
    for r in [&first, &second] {
        let now = w.requests.get(&alice, &r.id).await.unwrap();
        assert_eq!(now.status, RequestStatus::Cancelled);
        let why = now.cancellation.as_ref().expect("the cancellation is recorded on the request");
        assert_eq!(serde_json::to_value(why.cause).unwrap(), "policy_deleted");
        let record = cancellation_record(&w, r).expect("a request.cancelled audit record");
        assert_eq!((record.actor.as_deref(), record.policy.as_deref()), (None, Some("orders")));
        assert_eq!(record.details["cause"], "policy_deleted", "{record:?}");
        assert!(record.reason.as_deref().unwrap_or_default().contains("was deleted"));
    }
    assert_eq!(w.requests.sweep().await.unwrap(), 0, "each is cancelled once");
    assert!(w.store.get(&grant_of(&first)).await.unwrap().is_none(), "no grant");
}

#[tokio::test]
async fn a_policy_that_no_longer_covers_a_request_refuses_it() {
    let w = world().await;
    let r = pending(&w).await;
    put_policy(&w, &POLICY.replace(r#"paths: ["/orders/**"]"#, r#"paths: ["/orders/public"]"#))
        .await;
    let err = w.requests.approve(&caller("user:bob", &["leads"]), &r.id, None).await.unwrap_err();
    assert!(
        matches!(err, WorkflowError::Conflict(ref m) if m.contains("no longer covers")),
        "{err:?}"
    );
    let now = w.requests.get(&caller("user:alice", &["eng"]), &r.id).await.unwrap();
    assert_eq!(now.status, RequestStatus::Cancelled);
    let record = cancellation_record(&w, &r).expect("a request.cancelled audit record");
    assert_eq!(record.details["cause"], "policy_changed", "{record:?}");
    assert!(w.store.get(&grant_of(&r)).await.unwrap().is_none(), "no grant");
}
