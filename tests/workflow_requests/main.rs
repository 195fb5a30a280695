//! The request workflow over the in-memory stores with an injected clock: policies, filing,
//! approvals, expiry, escalation, one-time filing, incidents and the events they publish; and
//! pending requests after their policy changed ([`policy_changes`]).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod policy_changes;

use std::sync::Arc;
use std::time::Duration;

use jitgate::access::PolicyDocument;
use jitgate::decision::{Caller, CheckInput};
use jitgate::grant::fixtures::{ManualClock, mk_caller as caller, mk_scope as scope};
use jitgate::grant::{GrantStatus, RequestPath};
use jitgate::metrics::Metrics;
use jitgate::store::{GrantStore, MemoryAuditLog, MemoryPolicies, MemoryRequests, MemoryStore};
use jitgate::time::{Clock, Timestamp};
use jitgate::workflow::{
    Admins, EventKind, GrantService, LIST_LIMIT, NewRequest, PolicyService, RecordedEvents,
    RequestFilter, RequestService, WorkflowError,
};

const POLICY: &str = r#"
apiVersion: jitgate.dev/v1alpha1
kind: AccessPolicy
metadata: { name: orders }
spec:
  resources: [{ service: orders, methods: ["*"], paths: ["/orders/**"] }, { service: billing, methods: [DELETE], paths: ["/datasets/*"] }]
  requesters: ["group:eng", "group:oncall"]
  approvers: ["group:leads"]
  min_approvals: 2
  max_ttl: 1h
  pending_ttl: 15m
  escalate_after: 10m
  escalate_to: ["group:managers"]
  reason: { required: true, pattern: "^INC-[0-9]+" }
  auto_approve:
    - { name: oncall, requesters: ["group:oncall"], max_ttl: 1h }
  one_time_actions: [{ service: billing, methods: [DELETE], paths: ["/datasets/*"] }]
  file_one_time_requests: true
  notify: [{ webhook: "http://127.0.0.1:1/hook" }]
"#;

struct World {
    clock: Arc<ManualClock>,
    grants: Arc<GrantService>,
    policies: Arc<PolicyService>,
    requests: Arc<RequestService>,
    events: Arc<RecordedEvents>,
    store: Arc<MemoryStore>,
    audit: Arc<MemoryAuditLog>,
}

fn root() -> Caller {
    caller("user:root", &["platform"])
}

async fn world() -> World {
    let clock = Arc::new(ManualClock::at(jitgate::time::SystemClock.now()));
    let metrics = Arc::new(Metrics::new());
    let admins = Admins::new(vec!["group:platform".parse().unwrap()]);
    let events = Arc::new(RecordedEvents::default());
    let store = Arc::new(MemoryStore::with_clock(Box::new(SharedClock(clock.clone()))));
    let grants = Arc::new(
        GrantService::new(
            store.clone(),
            clock.clone(),
            admins.clone(),
            Duration::from_secs(8 * 3600),
            metrics.clone(),
        )
        .with_events(events.clone()),
    );
    let audit = Arc::new(MemoryAuditLog::default());
    let policies =
        Arc::new(PolicyService::new(Arc::new(MemoryPolicies::default()), admins.clone()));
    let doc: PolicyDocument = serde_saphyr::from_str(POLICY).unwrap();
    policies.put(&root(), "orders", doc).await.unwrap();
    let requests = Arc::new(RequestService::new(
        Arc::new(MemoryRequests::with_audit(audit.clone())),
        policies.clone(),
        grants.clone(),
        events.clone(),
        clock.clone(),
        admins,
        metrics,
        Duration::from_secs(7 * 86400),
    ));
    World { clock, grants, policies, requests, events, store, audit }
}

struct SharedClock(Arc<ManualClock>);
impl Clock for SharedClock {
    fn now(&self) -> Timestamp {
        self.0.now()
    }
}

fn new_request(minutes: u64) -> NewRequest {
    NewRequest {
        resources: vec![scope("orders", &["GET"], &["/orders/**"])],
        ttl: Duration::from_secs(minutes * 60),
        reason: "INC-4312 latency".into(),
        incident: Some("INC-4312".into()),
    }
}

#[tokio::test]
async fn two_distinct_approvers_then_the_grant_clock_starts() {
    let w = world().await;
    let alice = caller("user:alice", &["eng"]);
    let r = w.requests.create(&alice, new_request(30)).await.unwrap();
    assert_eq!(r.status.to_string(), "pending");
    assert_eq!(w.events.kinds(), [EventKind::Requested]);
    // Self-approval is refused even for a requester who is also a lead.
    let alice_lead = caller("user:alice", &["eng", "leads"]);
    assert!(matches!(
        w.requests.approve(&alice_lead, &r.id, None).await,
        Err(WorkflowError::Forbidden(_))
    ));
    let bob = caller("user:bob", &["leads"]);
    let r1 = w.requests.approve(&bob, &r.id, Some("ok".into())).await.unwrap();
    assert_eq!((r1.status.to_string(), r1.approvals.len()), ("pending".into(), 1));
    assert!(
        matches!(w.requests.approve(&bob, &r.id, None).await, Err(WorkflowError::Conflict(_))),
        "each approver counts once"
    );
    w.clock.advance(Duration::from_secs(120));
    let r2 = w.requests.approve(&caller("user:carol", &["leads"]), &r.id, None).await.unwrap();
    assert_eq!(r2.status.to_string(), "approved");
    let grant = w.store.get(r2.grant_id.as_ref().unwrap()).await.unwrap().unwrap();
    assert_eq!(grant.created_at, w.clock.now(), "the grant's clock starts at the last approval");
    assert_eq!(grant.expires_at, w.clock.now().saturating_add(Duration::from_secs(1800)));
    assert_eq!(grant.approved_by.len(), 2);
    assert_eq!(grant.policy.as_deref(), Some("orders"));
    assert_eq!(w.events.kinds(), [EventKind::Requested, EventKind::Approved]);
}

#[tokio::test]
async fn oncall_requests_are_auto_approved_and_record_the_rule() {
    let w = world().await;
    let r = w.requests.create(&caller("user:dave", &["oncall"]), new_request(60)).await.unwrap();
    assert_eq!(r.status.to_string(), "approved");
    assert_eq!(r.auto_approved_by.as_deref(), Some("orders/oncall"));
    let g = w.store.get(r.grant_id.as_ref().unwrap()).await.unwrap().unwrap();
    assert_eq!(g.auto_approved_by.as_deref(), Some("orders/oncall"));
    assert_eq!(g.incident.as_deref(), Some("INC-4312"));
}

#[tokio::test]
async fn refusals_say_why() {
    let w = world().await;
    let eve = caller("user:eve", &["sales"]);
    let err = w.requests.create(&eve, new_request(30)).await.unwrap_err();
    assert!(
        matches!(err, WorkflowError::Forbidden(ref m) if m.contains("not among the requesters")),
        "{err:?}"
    );
    let alice = caller("user:alice", &["eng"]);
    let mut uncovered = new_request(30);
    uncovered.resources = vec![scope("payments", &["GET"], &["/x"])];
    let err = w.requests.create(&alice, uncovered).await.unwrap_err();
    assert!(
        matches!(err, WorkflowError::Forbidden(ref m) if m.contains("no access policy covers")),
        "{err:?}"
    );
    let mut bad = new_request(90);
    bad.reason = "because".into();
    let WorkflowError::Invalid(errs) = w.requests.create(&alice, bad).await.unwrap_err() else {
        panic!()
    };
    assert_eq!(errs.len(), 2, "{errs:?}");
}

#[tokio::test]
async fn pending_requests_expire_once_and_cannot_then_be_approved() {
    let w = world().await;
    let r = w.requests.create(&caller("user:alice", &["eng"]), new_request(30)).await.unwrap();
    w.clock.advance(Duration::from_secs(10 * 60));
    assert_eq!(w.requests.sweep().await.unwrap(), 1, "escalated at 10m");
    assert_eq!(w.requests.sweep().await.unwrap(), 0, "escalation happens once");
    let seen = w.requests.get(&caller("user:mona", &["managers"]), &r.id).await.unwrap();
    assert!(seen.escalated, "escalate_to may now see and decide it");
    w.clock.advance(Duration::from_secs(5 * 60));
    assert_eq!(w.requests.sweep().await.unwrap(), 1, "expired at 15m");
    let err = w.requests.approve(&caller("user:bob", &["leads"]), &r.id, None).await.unwrap_err();
    assert!(matches!(err, WorkflowError::Conflict(ref m) if m.contains("expired")), "{err:?}");
    assert_eq!(w.events.kinds(), [EventKind::Requested, EventKind::Escalated, EventKind::Expired]);
}

#[tokio::test]
async fn cancel_and_deny_end_a_request() {
    let w = world().await;
    let alice = caller("user:alice", &["eng"]);
    let r = w.requests.create(&alice, new_request(30)).await.unwrap();
    assert!(matches!(
        w.requests.cancel(&caller("user:bob", &["leads"]), &r.id).await,
        Err(WorkflowError::Forbidden(_))
    ));
    assert_eq!(w.requests.cancel(&alice, &r.id).await.unwrap().status.to_string(), "cancelled");
    let r = w.requests.create(&alice, new_request(30)).await.unwrap();
    let d = w
        .requests
        .deny(&caller("user:bob", &["leads"]), &r.id, Some("not now".into()))
        .await
        .unwrap();
    assert_eq!(d.denied.unwrap().comment.as_deref(), Some("not now"));
    assert!(matches!(w.requests.cancel(&alice, &r.id).await, Err(WorkflowError::Conflict(_))));
}

#[tokio::test]
async fn listing_shows_approvers_what_they_may_decide_and_requesters_their_own() {
    let w = world().await;
    let alice = caller("user:alice", &["eng"]);
    w.requests.create(&alice, new_request(30)).await.unwrap();
    let pending = RequestFilter {
        status: Some(jitgate::access::RequestStatus::Pending),
        ..RequestFilter::default()
    };
    let count = async |who: &Caller| {
        w.requests.list(who, &pending, None, LIST_LIMIT).await.unwrap().requests.len()
    };
    assert_eq!(count(&caller("user:bob", &["leads"])).await, 1);
    assert_eq!(count(&alice).await, 1);
    assert_eq!(count(&caller("user:eve", &["sales"])).await, 0);
    assert!(
        w.requests
            .get(
                &caller("user:eve", &["sales"]),
                &w.requests.list(&alice, &pending, None, LIST_LIMIT).await.unwrap().requests[0].id
            )
            .await
            .is_err()
    );
}

#[tokio::test]
async fn one_time_calls_file_one_request_however_often_they_are_retried() {
    let w = world().await;
    let alice = caller("user:alice", &["eng"]);
    let input = CheckInput {
        service: "billing".into(),
        method: "DELETE".into(),
        path: RequestPath::parse("/datasets/7").unwrap(),
        one_time: true,
    };
    let first = w.requests.file_one_time(&alice, &input, "d1").await.unwrap().unwrap();
    let again = w.requests.file_one_time(&alice, &input, "d2").await.unwrap().unwrap();
    assert_eq!(first.id, again.id, "retries find the same pending request");
    assert!(first.one_time && first.max_uses == Some(1));
    let other = CheckInput { path: RequestPath::parse("/datasets/8").unwrap(), ..input.clone() };
    assert_ne!(w.requests.file_one_time(&alice, &other, "d3").await.unwrap().unwrap().id, first.id);
    let not_one_time = CheckInput {
        service: "orders".into(),
        method: "GET".into(),
        path: RequestPath::parse("/orders/1").unwrap(),
        one_time: false,
    };
    assert!(w.requests.file_one_time(&alice, &not_one_time, "d4").await.unwrap().is_none());
    // Approved twice over: a 5-minute grant for exactly that call, usable once.
    w.requests.approve(&caller("user:bob", &["leads"]), &first.id, None).await.unwrap();
    let done =
        w.requests.approve(&caller("user:carol", &["leads"]), &first.id, None).await.unwrap();
    let g = w.store.get(done.grant_id.as_ref().unwrap()).await.unwrap().unwrap();
    assert_eq!(
        (g.max_uses, g.expires_at),
        (Some(1), w.clock.now().saturating_add(Duration::from_secs(300)))
    );
    // Once decided, the same call files a fresh request.
    let next = w.requests.file_one_time(&alice, &input, "d5").await.unwrap().unwrap();
    assert_ne!(next.id, first.id);
}

#[tokio::test]
async fn resolving_an_incident_revokes_its_grants_and_announces_it() {
    let w = world().await;
    let r = w.requests.create(&caller("user:dave", &["oncall"]), new_request(60)).await.unwrap();
    let mut other = new_request(60);
    other.incident = Some("INC-9".into());
    let r9 = w.requests.create(&caller("user:erin", &["oncall"]), other).await.unwrap();
    let revoked =
        w.grants.resolve_incident(&"service:pagerduty".parse().unwrap(), "INC-4312").await.unwrap();
    assert_eq!(revoked.len(), 1);
    assert_eq!(revoked[0].id, r.grant_id.clone().unwrap());
    let g = w.store.get(r.grant_id.as_ref().unwrap()).await.unwrap().unwrap();
    assert_eq!(g.status(w.clock.now()), GrantStatus::Revoked);
    let g9 = w.store.get(r9.grant_id.as_ref().unwrap()).await.unwrap().unwrap();
    assert_eq!(g9.status(w.clock.now()), GrantStatus::Active, "other incidents keep their grants");
    assert!(w.events.kinds().contains(&EventKind::Revoked));
}
