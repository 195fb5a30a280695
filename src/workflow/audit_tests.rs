//! A failed approval (the store refuses writes, as Redis does when out of memory) is audited
//! as `control.failed` once the log takes writes again, and changes nothing meanwhile.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;

use crate::access::{AccessRequest, PolicyDocument, RequestId, RequestStatus};
use crate::audit::{AuditError, AuditEvent, AuditKind, AuditLog, Head, Stored};
use crate::decision::Caller;
use crate::grant::{Principal, Scope, ScopeWire};
use crate::metrics::Metrics;
use crate::store::{
    Filed, GrantStore, IndexPosition, MemoryAuditLog, MemoryPolicies, MemoryRequests, MemoryStore,
    OpenKey, PendingLimits, Quarantined, RequestIndex, RequestStore, StoreError, Versioned,
};
use crate::time::{SystemClock, Timestamp};
use crate::workflow::{Admins, GrantService, NewRequest, PolicyService, RequestService};
use crate::workflow::{NoEvents, WorkflowError};

const OOM: &str = "OOM command not allowed when used memory > 'maxmemory'.";

/// Redis out of memory: while `full`, every write (requests, audit) fails; reads work.
#[derive(Default)]
struct Full(AtomicBool);

impl Full {
    fn check(&self) -> Result<(), StoreError> {
        if self.0.load(Ordering::SeqCst) {
            Err(StoreError::OutOfMemory(OOM.into()))
        } else {
            Ok(())
        }
    }
}

struct FullRequests(MemoryRequests, Arc<Full>);

#[async_trait]
impl RequestStore for FullRequests {
    async fn create(
        &self,
        r: &AccessRequest,
        retention: Duration,
        e: &AuditEvent,
        limits: PendingLimits,
    ) -> Result<Filed, StoreError> {
        self.1.check()?;
        self.0.create(r, retention, e, limits).await
    }
    async fn get(&self, id: &RequestId) -> Result<Option<Versioned<AccessRequest>>, StoreError> {
        self.0.get(id).await
    }
    async fn update(
        &self,
        r: &AccessRequest,
        version: u64,
        e: Option<&AuditEvent>,
    ) -> Result<bool, StoreError> {
        self.1.check()?;
        self.0.update(r, version, e).await
    }
    async fn pending(&self) -> Result<Vec<RequestId>, StoreError> {
        self.0.pending().await
    }
    async fn due(&self, now: Timestamp) -> Result<Vec<RequestId>, StoreError> {
        self.0.due(now).await
    }
    async fn page(
        &self,
        index: RequestIndex<'_>,
        after: Option<&IndexPosition>,
        count: usize,
    ) -> Result<Vec<IndexPosition>, StoreError> {
        self.0.page(index, after, count).await
    }
    async fn index_pending(&self, r: &AccessRequest) -> Result<(), StoreError> {
        self.0.index_pending(r).await
    }
    async fn claim_open(
        &self,
        key: &OpenKey,
        id: &RequestId,
        until: Timestamp,
    ) -> Result<Option<RequestId>, StoreError> {
        self.1.check()?;
        self.0.claim_open(key, id, until).await
    }
    async fn release_open(&self, key: &OpenKey) -> Result<(), StoreError> {
        self.0.release_open(key).await
    }
    async fn count_auto_filed(
        &self,
        requester: &crate::grant::Principal,
        minute: i64,
    ) -> Result<u64, StoreError> {
        self.0.count_auto_filed(requester, minute).await
    }
    async fn quarantine(
        &self,
        id: &RequestId,
        why: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        self.0.quarantine(id, why, now).await
    }
    async fn quarantined(&self) -> Result<Vec<Quarantined>, StoreError> {
        self.0.quarantined().await
    }
    async fn quarantined_record(&self, id: &RequestId) -> Result<Option<String>, StoreError> {
        self.0.quarantined_record(id).await
    }
    async fn delete_quarantined(&self, id: &RequestId) -> Result<bool, StoreError> {
        self.0.delete_quarantined(id).await
    }
}

struct FullLog(Arc<MemoryAuditLog>, Arc<Full>);

#[async_trait]
impl AuditLog for FullLog {
    async fn append(&self, events: &[AuditEvent]) -> Result<u64, AuditError> {
        self.1.check()?;
        self.0.append(events).await
    }
    async fn head(&self) -> Result<Head, AuditError> {
        self.0.head().await
    }
    async fn read(&self, after: Option<&str>, limit: usize) -> Result<Vec<Stored>, AuditError> {
        self.0.read(after, limit).await
    }
    async fn read_back(
        &self,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Stored>, AuditError> {
        self.0.read_back(before, limit).await
    }
    async fn relay_outboxes(&self) -> Result<usize, AuditError> {
        self.0.relay_outboxes().await
    }
    async fn trim(&self, through: &Stored) -> Result<u64, AuditError> {
        self.0.trim(through).await
    }
}

fn mk_caller(subject: &str, groups: &[&str]) -> Caller {
    let subject: Principal = subject.parse().unwrap();
    let mut principals = vec![subject.clone()];
    principals.extend(groups.iter().map(|g| format!("group:{g}").parse().unwrap()));
    Caller { subject, principals }
}

const POLICY: &str = r#"
apiVersion: jitgate.dev/v1alpha1
kind: AccessPolicy
metadata: { name: orders }
spec:
  resources: [{ service: orders, methods: [GET], paths: ["/orders/**"] }]
  requesters: ["group:eng"]
  approvers: ["group:leads"]
  max_ttl: 1h
"#;

struct World {
    full: Arc<Full>,
    log: Arc<MemoryAuditLog>,
    store: Arc<MemoryStore>,
    grants: Arc<GrantService>,
    requests: RequestService,
}

async fn mk_world() -> World {
    let (full, log) = (Arc::new(Full::default()), Arc::new(MemoryAuditLog::default()));
    let metrics = Arc::new(Metrics::new());
    let admins = Admins::new(vec!["group:platform".parse().unwrap()]);
    let store = Arc::new(MemoryStore::new().with_audit(log.clone()));
    let grants = Arc::new(
        GrantService::new(
            store.clone(),
            Arc::new(SystemClock),
            admins.clone(),
            Duration::from_secs(3600),
            metrics.clone(),
        )
        .with_audit(Arc::new(FullLog(log.clone(), full.clone()))),
    );
    let policies =
        Arc::new(PolicyService::new(Arc::new(MemoryPolicies::default()), admins.clone()));
    let doc: PolicyDocument = serde_saphyr::from_str(POLICY).unwrap();
    policies.put(&mk_caller("user:root", &["platform"]), "orders", doc).await.unwrap();
    let requests = RequestService::new(
        Arc::new(FullRequests(MemoryRequests::with_audit(log.clone()), full.clone())),
        policies,
        grants.clone(),
        Arc::new(NoEvents),
        Arc::new(SystemClock),
        admins,
        metrics,
        Duration::from_secs(86400),
    );
    World { full, log, store, grants, requests }
}

fn mk_request() -> NewRequest {
    let scope = ScopeWire {
        service: "orders".into(),
        methods: vec!["GET".into()],
        paths: vec!["/orders/**".into()],
        query: None,
    };
    NewRequest {
        resources: vec![Scope::from_wire(scope).unwrap()],
        ttl: Duration::from_secs(600),
        reason: "INC-1".into(),
        incident: None,
    }
}

fn failed_events(log: &MemoryAuditLog) -> Vec<AuditEvent> {
    log.events().into_iter().filter(|e| e.kind == AuditKind::Failed).collect()
}

#[tokio::test]
async fn an_approval_the_store_refuses_is_audited_as_failed_once_the_log_is_back() {
    let w = mk_world().await;
    let alice = mk_caller("user:alice", &["eng"]);
    let lee = mk_caller("user:lee", &["leads"]);
    let r = w.requests.create(&alice, mk_request()).await.unwrap();

    w.full.0.store(true, Ordering::SeqCst);
    let err = w.requests.approve(&lee, &r.id, None).await.unwrap_err();
    assert!(matches!(err, WorkflowError::Unavailable(_)), "{err:?}");
    // Nothing changed: the request is still pending and no grant exists.
    let now = w.requests.get(&alice, &r.id).await.unwrap();
    assert_eq!(now.status, RequestStatus::Pending);
    let grant_id = crate::workflow::requests::grant_id_for(&r.id);
    assert!(w.store.get(&grant_id).await.unwrap().is_none());
    // The record of the failure cannot be written to a full log either: it waits.
    assert!(failed_events(&w.log).is_empty());
    assert_eq!(w.grants.audit().held_records(), 1);
    assert_eq!(w.grants.audit().flush_held().await, 0, "still full");

    w.full.0.store(false, Ordering::SeqCst);
    assert_eq!(w.grants.audit().flush_held().await, 1);
    assert_eq!(w.grants.audit().held_records(), 0);
    let failed = failed_events(&w.log);
    assert_eq!(failed.len(), 1, "{failed:?}");
    let e = &failed[0];
    assert_eq!(e.actor.as_deref(), Some("user:lee"));
    assert_eq!(e.request_id.as_deref(), Some(r.id.to_string().as_str()));
    assert_eq!(e.details["action"], "request.approve");
    assert_eq!(e.details["status"], "failed");
    assert_eq!(e.details["error"], "out_of_memory");
    assert!(e.reason.as_deref().is_some_and(|m| m.contains("OOM")), "{e:?}");

    // With memory back the same approval goes through and issues the grant.
    let approved = w.requests.approve(&lee, &r.id, None).await.unwrap();
    assert_eq!(approved.status, RequestStatus::Approved);
    assert!(w.store.get(&grant_id).await.unwrap().is_some());
}

#[tokio::test]
async fn held_records_keep_their_order_and_are_bounded() {
    let w = mk_world().await;
    let lee = mk_caller("user:lee", &["leads"]);
    w.full.0.store(true, Ordering::SeqCst);
    for i in 0..super::HELD_MAX + 5 {
        let e = crate::audit::record::refused(
            "request.approve",
            &lee.subject,
            Timestamp::from_millis(i as i64),
            "conflict",
            "x",
        );
        w.grants.audit().record(e).await;
    }
    assert_eq!(w.grants.audit().held_records(), super::HELD_MAX);
    w.full.0.store(false, Ordering::SeqCst);
    assert_eq!(w.grants.audit().flush_held().await, super::HELD_MAX);
    let at: Vec<i64> = w.log.events().iter().map(|e| e.at.as_millis()).collect();
    assert_eq!(at.first(), Some(&5), "the oldest are the ones dropped");
    assert!(at.windows(2).all(|p| p[0] < p[1]), "in the order they happened");
}
