//! Workflow invariants, driven through the real services over the in-memory stores: a
//! one-time request filed at call time binds exactly that call (method, literal path, query),
//! its grant covers nothing its approver did not see, and no grant leaves its policy.

use std::sync::Arc;
use std::time::Duration;

use jitgate::access::PolicyDocument;
use jitgate::decision::{Caller, CheckInput};
use jitgate::grant::fixtures::mk_caller;
use jitgate::grant::{Grant, Query, RequestPath, Scope};
use jitgate::metrics::Metrics;
use jitgate::store::{MemoryPolicies, MemoryRequests, MemoryStore};
use jitgate::time::SystemClock;
use jitgate::workflow::{
    Admins, GrantService, NewRequest, PolicyService, RecordedEvents, RequestService,
};
use proptest::prelude::*;

use crate::generate::*;

const POLICY: &str = r#"
apiVersion: jitgate.dev/v1alpha1
kind: AccessPolicy
metadata: { name: billing }
spec:
  resources:
    - { service: billing, methods: [DELETE, GET], paths: ["/datasets/**"] }
    - { service: orders, methods: [GET, POST], paths: ["/orders/*", "/orders/*/items/**"] }
  requesters: ["group:eng"]
  approvers: ["group:leads"]
  max_ttl: 1h
  reason: { required: false }
  one_time_actions: [{ service: billing, methods: [DELETE], paths: ["/datasets/**"] }]
  file_one_time_requests: true
"#;

fn caller(subject: &str, group: &str) -> Caller {
    mk_caller(subject, &[group])
}

struct World {
    requests: RequestService,
    grants: Arc<GrantService>,
    policy: Arc<jitgate::access::AccessPolicy>,
}

async fn world() -> World {
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
    let doc: PolicyDocument = serde_saphyr::from_str(POLICY).unwrap();
    policies.put(&caller("user:root", "platform"), "billing", doc).await.unwrap();
    let policy = policies.current().get("billing").unwrap().clone();
    let events = Arc::new(RecordedEvents::default());
    let requests = RequestService::new(
        Arc::new(MemoryRequests::default()),
        policies,
        grants.clone(),
        events,
        clock,
        admins,
        metrics,
        Duration::from_secs(86400),
    );
    World { requests, grants, policy }
}

fn run<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
}

/// Approves `id` as a lead and answers the grant it made.
async fn approve(w: &World, id: &jitgate::access::RequestId) -> Grant {
    let r = w.requests.approve(&caller("user:lead", "leads"), id, None).await.unwrap();
    let grant_id = r.grant_id.unwrap();
    w.grants.store().get(&grant_id).await.unwrap().unwrap()
}

/// Scopes around the policy's resources: mostly inside, some wider, some one-time calls.
fn near_policy() -> impl Strategy<Value = jitgate::grant::ScopeWire> {
    let prefix = prop::sample::select(vec![
        ("billing", "/datasets"),
        ("orders", "/orders"),
        ("orders", "/orders/7/items"),
    ]);
    let method = prop::sample::select(vec!["GET", "DELETE", "POST", "*"]);
    (prefix, method, pattern(), prop::option::of(raw_query())).prop_map(
        |((service, prefix), method, tail, query)| jitgate::grant::ScopeWire {
            service: service.into(),
            methods: vec![method.into()],
            paths: vec![format!("{prefix}{}", if tail == "/" { "" } else { tail.as_str() })],
            query,
        },
    )
}

fn target(segments: &[String], query: &Option<String>) -> String {
    let mut t = format!("/datasets{}", encode_path(segments));
    if let Some(q) = query {
        t.push('?');
        t.push_str(q);
    }
    t
}

proptest! {
    #![proptest_config(crate::generate::config(96))]

    #[test]
    fn a_one_time_grant_covers_exactly_the_call_that_filed_it(
        segments in prop::collection::vec(call_literal(), 1..4),
        query in prop::option::of(raw_query()),
        others in prop::collection::vec((prop::collection::vec(call_literal(), 1..4), prop::option::of(raw_query()), prop::sample::select(vec!["DELETE", "GET"])), 8),
    ) {
        run(async {
            let w = world().await;
            let alice = caller("user:alice", "eng");
            let called = RequestPath::parse(&target(&segments, &query)).unwrap();
            let input = CheckInput { service: "billing".into(), method: "DELETE".into(), path: called.clone(), one_time: true };
            let filed = w.requests.file_one_time(&alice, &input, "d").await.unwrap().unwrap();
            // What the approver sees is one call: this method, this literal path, this query.
            let [shown] = filed.resources.as_slice() else { panic!("{:?}", filed.resources) };
            prop_assert!(shown.is_single_call());
            prop_assert!(w.policy.covers(std::slice::from_ref(shown)));
            prop_assert!(shown.matches("billing", "DELETE", &called));
            let grant = approve(&w, &filed.id).await;
            prop_assert_eq!(&grant.resources, &filed.resources, "the grant is what was shown");
            prop_assert_eq!(grant.max_uses, Some(1));
            for (segs, q, method) in &others {
                let other = RequestPath::parse(&target(segs, q)).unwrap();
                let same_call = *method == "DELETE"
                    && other.segments() == called.segments()
                    && Query::normalize(q.as_deref().unwrap_or("")).ok() == Query::normalize(query.as_deref().unwrap_or("")).ok();
                prop_assert_eq!(grant.covers("billing", method, &other), same_call, "{} {}", method, other);
            }
            // The same path with an extra query parameter is another call.
            let extra = format!("{}{}purge=all", target(&segments, &query), if query.is_some() { "&" } else { "?" });
            prop_assert!(!grant.covers("billing", "DELETE", &RequestPath::parse(&extra).unwrap()));
            Ok(())
        })?;
    }

    #[test]
    fn an_approved_grant_never_exceeds_the_request_or_the_policy(wires in prop::collection::vec(near_policy(), 1..3)) {
        run(async {
            let w = world().await;
            let Ok(resources) = wires.into_iter().map(Scope::from_wire).collect::<Result<Vec<_>, _>>() else { return Ok(()) };
            let new = NewRequest { resources, ttl: Duration::from_secs(600), reason: String::new(), incident: None };
            let Ok(filed) = w.requests.create(&caller("user:alice", "eng"), new).await else { return Ok(()) };
            prop_assert!(w.policy.covers(&filed.resources), "filed outside the policy: {:?}", filed.resources);
            if filed.one_time {
                prop_assert!(matches!(filed.resources.as_slice(), [s] if s.is_single_call()));
            }
            let grant = approve(&w, &filed.id).await;
            prop_assert_eq!(&grant.resources, &filed.resources);
            prop_assert!(w.policy.covers(&grant.resources));
            Ok(())
        })?;
    }
}
