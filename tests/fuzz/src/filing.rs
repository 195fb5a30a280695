//! The filing path's world: the real request workflow over the in-memory stores, with one
//! policy whose `DELETE /datasets/**` on `billing` is a one-time action that jitgate files
//! requests for at call time; `user:alice` (group `eng`) may ask, `user:lead` approves.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use jitgate::access::PolicyDocument;
use jitgate::decision::Caller;
use jitgate::grant::Grant;
use jitgate::metrics::Metrics;
use jitgate::store::{MemoryPolicies, MemoryRequests, MemoryStore};
use jitgate::time::SystemClock;
use jitgate::workflow::{Admins, GrantService, PolicyService, RecordedEvents, RequestService};

pub struct FilingWorld {
    pub rt: tokio::runtime::Runtime,
    pub requests: RequestService,
    pub grants: Arc<GrantService>,
    pub policies: Arc<PolicyService>,
    pub requester: Caller,
    pub approver: Caller,
}

pub static FILING: LazyLock<FilingWorld> = LazyLock::new(FilingWorld::new);

fn caller(subject: &str, group: &str) -> Caller {
    let subject: jitgate::grant::Principal = subject.parse().unwrap();
    let principals = vec![subject.clone(), format!("group:{group}").parse().unwrap()];
    Caller { subject, principals }
}

// === impl FilingWorld ===

impl FilingWorld {
    fn new() -> Self {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let admins = Admins::new(vec!["group:platform".parse().unwrap()]);
        let metrics = Arc::new(Metrics::new());
        let clock = Arc::new(SystemClock);
        let grants = Arc::new(GrantService::new(
            Arc::new(MemoryStore::new()),
            clock.clone(),
            admins.clone(),
            Duration::from_secs(8 * 3600),
            metrics.clone(),
        ));
        let policies =
            Arc::new(PolicyService::new(Arc::new(MemoryPolicies::default()), admins.clone()));
        let doc: PolicyDocument = serde_json::from_value(serde_json::json!({
            "apiVersion": "jitgate.dev/v1alpha1", "kind": "AccessPolicy",
            "metadata": {"name": "billing"},
            "spec": {
                "resources": [{"service": "billing", "methods": ["DELETE", "GET"], "paths": ["/datasets/**"]}],
                "requesters": ["group:eng"], "approvers": ["group:leads"], "max_ttl": "1h",
                "reason": {"required": false},
                "one_time_actions": [{"service": "billing", "methods": ["DELETE"], "paths": ["/datasets/**"]}],
                "file_one_time_requests": true}}))
        .unwrap();
        rt.block_on(policies.put(&caller("user:root", "platform"), "billing", doc)).unwrap();
        let requests = RequestService::new(
            Arc::new(MemoryRequests::default()),
            policies.clone(),
            grants.clone(),
            Arc::new(RecordedEvents::default()),
            clock,
            admins,
            metrics,
            Duration::from_secs(3600),
        );
        let (requester, approver) = (caller("user:alice", "eng"), caller("user:lead", "leads"));
        Self { rt, requests, grants, policies, requester, approver }
    }

    /// Approves request `id` and answers the grant it made.
    pub fn approve(&self, id: &jitgate::access::RequestId) -> Grant {
        self.rt.block_on(async {
            let r = self.requests.approve(&self.approver, id, None).await.unwrap();
            let grant_id = r.grant_id.unwrap();
            self.grants.store().get(&grant_id).await.unwrap().unwrap()
        })
    }
}
