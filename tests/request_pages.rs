//! Request lists page at the store (issue 16, SECURITY row 63): every listing — an approver's
//! queue, a requester's own, one requester's history, an admin's view — pages through with a
//! cursor and returns each visible request exactly once, in its order (pending lists soonest to
//! expire first, the others newest first), whatever the page size and however many requests
//! share a millisecond; a page reads at most `SCAN_LIMIT` records however few the caller may
//! see. The same checks run on the in-memory store and on a real redis-server.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use jitgate::access::{AccessRequest, PolicyDocument, RequestStatus};
use jitgate::decision::Caller;
use jitgate::grant::fixtures::{ManualClock, mk_caller as caller, mk_scope};
use jitgate::metrics::Metrics;
use jitgate::store::{
    MemoryPolicies, MemoryRequests, MemoryStore, RedisConn, RedisRequests, RedisSettings,
    RequestStore,
};
use jitgate::time::{Clock, SystemClock};
use jitgate::workflow::request_list::SCAN_LIMIT;
use jitgate::workflow::{
    Admins, GrantService, LIST_LIMIT, ListCursor, NewRequest, NoEvents, PolicyService,
    RequestFilter, RequestService,
};

use common::RedisServer;

fn policy(name: &str, approvers: &str) -> PolicyDocument {
    serde_saphyr::from_str(&format!(
        r#"
apiVersion: jitgate.dev/v1alpha1
kind: AccessPolicy
metadata: {{ name: {name} }}
spec:
  resources: [{{ service: {name}, methods: [GET], paths: ["/**"] }}]
  requesters: ["group:eng"]
  approvers: ["{approvers}"]
  max_ttl: 1h
  pending_ttl: 1h
"#
    ))
    .unwrap()
}

fn ask(service: &str, path: &str) -> NewRequest {
    NewRequest {
        resources: vec![mk_scope(service, &["GET"], &[path])],
        ttl: Duration::from_secs(600),
        reason: "INC-1".into(),
        incident: None,
    }
}

struct World {
    clock: Arc<ManualClock>,
    requests: Arc<RequestService>,
}

async fn world(store: Arc<dyn RequestStore>) -> World {
    let clock = Arc::new(ManualClock::at(SystemClock.now()));
    let metrics = Arc::new(Metrics::new());
    let admins = Admins::new(vec!["group:platform".parse().unwrap()]);
    let grants = Arc::new(GrantService::new(
        Arc::new(MemoryStore::new()),
        clock.clone(),
        admins.clone(),
        Duration::from_secs(8 * 3600),
        metrics.clone(),
    ));
    let policies =
        Arc::new(PolicyService::new(Arc::new(MemoryPolicies::default()), admins.clone()));
    let root = caller("user:root", &["platform"]);
    policies.put(&root, "orders", policy("orders", "group:leads")).await.unwrap();
    policies.put(&root, "billing", policy("billing", "group:finance")).await.unwrap();
    let requests = Arc::new(RequestService::new(
        store,
        policies,
        grants,
        Arc::new(NoEvents),
        clock.clone(),
        admins,
        metrics,
        Duration::from_secs(7 * 86400),
    ));
    World { clock, requests }
}

/// Files requests from three requesters under two policies: runs of them in one millisecond
/// (the clock stands still), then a step; some are decided, so lists by status differ.
async fn fill(w: &World) {
    let lead = caller("user:lee", &["leads"]);
    for step in 0..6 {
        for (n, who) in ["alice", "bob", "carol"].iter().enumerate() {
            let service = if n == 2 { "billing" } else { "orders" };
            let r = w
                .requests
                .create(
                    &caller(&format!("user:{who}"), &["eng"]),
                    ask(service, &format!("/{step}")),
                )
                .await
                .unwrap();
            if step % 3 == 0 && service == "orders" {
                w.requests.approve(&lead, &r.id, None).await.unwrap();
            }
        }
        // Half the steps leave the clock where it is: ties across steps too.
        if step % 2 == 1 {
            w.clock.advance(Duration::from_secs(1));
        }
    }
}

/// Every page of a listing, `size` at a time, until `next` is `None`.
async fn pages(w: &World, who: &Caller, filter: &RequestFilter, size: usize) -> Vec<AccessRequest> {
    let (mut out, mut cursor): (Vec<AccessRequest>, Option<ListCursor>) = (Vec::new(), None);
    for _ in 0..1000 {
        let page = w.requests.list(who, filter, cursor.as_ref(), size).await.unwrap();
        assert!(page.requests.len() <= size, "a page holds at most its size");
        out.extend(page.requests);
        match page.next {
            None => return out,
            Some(next) => {
                // The cursor survives the trip through text, as clients send it back.
                cursor = Some(next.to_string().parse().unwrap());
            }
        }
    }
    panic!("paging did not end");
}

async fn check_paging(w: &World) {
    let pending = Some(RequestStatus::Pending);
    let cases = [
        (
            "lee's queue",
            caller("user:lee", &["leads"]),
            RequestFilter { status: pending, decidable: true, ..Default::default() },
        ),
        ("lee, all statuses", caller("user:lee", &["leads"]), RequestFilter::default()),
        (
            "alice's own",
            caller("user:alice", &["eng"]),
            RequestFilter { mine: true, ..Default::default() },
        ),
        (
            "alice's pending",
            caller("user:alice", &["eng"]),
            RequestFilter { status: pending, mine: true, ..Default::default() },
        ),
        (
            "bob's history, by lee",
            caller("user:lee", &["leads"]),
            RequestFilter { requester: Some("user:bob".parse().unwrap()), ..Default::default() },
        ),
        (
            "finance's queue",
            caller("user:fay", &["finance"]),
            RequestFilter { status: pending, ..Default::default() },
        ),
        (
            "admin, pending",
            caller("user:root", &["platform"]),
            RequestFilter { status: pending, ..Default::default() },
        ),
        (
            "admin, approved",
            caller("user:root", &["platform"]),
            RequestFilter { status: Some(RequestStatus::Approved), ..Default::default() },
        ),
        ("a stranger", caller("user:eve", &["sales"]), RequestFilter::default()),
    ];
    let now = w.clock.now();
    for (what, who, filter) in &cases {
        let whole = w.requests.list(who, filter, None, LIST_LIMIT).await.unwrap();
        assert!(whole.next.is_none(), "{what}: everything fits one page");
        let ids: Vec<_> = whole.requests.iter().map(|r| r.id.clone()).collect();
        let unique: HashSet<_> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len(), "{what}: no request twice");
        // The order: soonest to expire first for pending lists, newest first otherwise.
        let ordered = whole.requests.windows(2).all(|p| {
            if filter.status == pending || filter.decidable {
                (p[0].expires_at, &p[0].id) < (p[1].expires_at, &p[1].id)
            } else {
                (p[0].created_at, &p[0].id) > (p[1].created_at, &p[1].id)
            }
        });
        assert!(ordered, "{what}: in order");
        for r in &whole.requests {
            let visible = who.holds(&r.requester)
                || r.is_approver(who)
                || who.principals.iter().any(|p| p.to_string() == "group:platform");
            assert!(visible, "{what}: {} is not the caller's to see", r.id);
            assert!(filter.status.is_none_or(|s| r.status_at(now) == s), "{what}: status");
        }
        for size in [1, 2, 3, 7] {
            let paged: Vec<_> =
                pages(w, who, filter, size).await.into_iter().map(|r| r.id).collect();
            assert_eq!(paged, ids, "{what}: pages of {size} give the same list");
        }
    }
    // What the cases expect to see, so none of them passes by seeing nothing.
    let count = async |who: &Caller, filter: RequestFilter| {
        w.requests.list(who, &filter, None, LIST_LIMIT).await.unwrap().requests.len()
    };
    let lee = caller("user:lee", &["leads"]);
    let queue = RequestFilter { status: pending, decidable: true, ..Default::default() };
    assert_eq!(count(&lee, queue).await, 8, "4 of alice's and bob's 6 each wait");
    assert_eq!(count(&lee, RequestFilter::default()).await, 12, "lee sees all of orders");
    assert_eq!(count(&caller("user:eve", &["sales"]), RequestFilter::default()).await, 0);
    assert_eq!(count(&caller("user:root", &["platform"]), RequestFilter::default()).await, 18);
}

#[tokio::test]
async fn lists_page_through_every_request_once_in_memory() {
    let w = world(Arc::new(MemoryRequests::default())).await;
    fill(&w).await;
    check_paging(&w).await;
}

#[tokio::test]
async fn lists_page_through_every_request_once_in_redis() {
    let redis = RedisServer::start().await;
    let settings = RedisSettings {
        url: redis.url(),
        key_prefix: "jitgate".into(),
        op_timeout: Duration::from_secs(2),
        connect_timeout: Duration::from_secs(1),
    };
    let conn = RedisConn::connect(&settings, Arc::new(Metrics::new())).unwrap();
    let w = world(Arc::new(RedisRequests::new(conn))).await;
    fill(&w).await;
    check_paging(&w).await;
}

#[tokio::test]
async fn a_page_reads_a_bounded_number_of_records_however_few_are_visible() {
    // Runs with the strangers' requests a millisecond apart, then all in one millisecond.
    for same_millisecond in [false, true] {
        let w = world(Arc::new(MemoryRequests::default())).await;
        // Many requests lee may not see, newer than the one he may.
        let alice = caller("user:alice", &["eng"]);
        let mine = w.requests.create(&alice, ask("orders", "/a")).await.unwrap();
        w.clock.advance(Duration::from_secs(1));
        let mut hidden = Vec::new();
        for n in 0..SCAN_LIMIT + 10 {
            let who = caller(&format!("user:u{n}"), &["eng"]);
            hidden.push(w.requests.create(&who, ask("billing", "/b")).await.unwrap().id);
            if !same_millisecond {
                w.clock.advance(Duration::from_millis(1));
            }
        }
        let lee = caller("user:lee", &["leads"]);
        let all = RequestFilter::default();
        let (mut seen, mut cursor, mut pages) = (Vec::new(), None::<ListCursor>, 0);
        loop {
            let page = w.requests.list(&lee, &all, cursor.as_ref(), 10).await.unwrap();
            pages += 1;
            assert!(pages <= 5, "paging ends");
            seen.extend(page.requests.into_iter().map(|r| r.id));
            let Some(next) = page.next else { break };
            // A cursor never names a request the caller may not see.
            let text = next.to_string();
            assert!(
                !hidden.iter().any(|id| text.contains(id.as_str())),
                "{text} names a stranger's request"
            );
            cursor = Some(next);
        }
        assert!(pages >= 2, "the first page stopped at its read budget");
        assert_eq!(seen, std::slice::from_ref(&mine.id), "lee sees exactly alice's request");
    }
}

#[test]
fn a_cursor_that_is_not_one_says_what_to_send() {
    for bad in ["", "12", "x.y", "12.not an id", "1.2.3", ".0190c2a1-8f7e-7cc0-8a64-6a4f7e7b1c2d"] {
        let e = bad.parse::<ListCursor>().unwrap_err();
        assert!(e.contains("pass the `next` value"), "{bad}: {e}");
    }
}

/// The same through a real jitgate on a real redis-server, as clients page: the REST API
/// following `next`, the command line with a page size smaller than the list, a bad cursor.
#[tokio::test]
async fn the_api_and_the_cli_page_through_a_queue() {
    use serde_json::{Value, json};
    let redis = RedisServer::start().await;
    let j = common::Jitgate::start(&redis.url()).await;
    let doc = json!({"apiVersion": "jitgate.dev/v1alpha1", "kind": "AccessPolicy",
        "metadata": {"name": "orders"},
        "spec": {"resources": [{"service": "orders", "methods": ["GET"], "paths": ["/**"]}],
            "requesters": ["group:eng"], "approvers": ["group:leads"], "max_ttl": "1h"}});
    let (s, v) = j.call("PUT", "/v1/policies/orders", Some(&j.admin_token()), Some(doc)).await;
    assert_eq!(s, 201, "{v}");
    for (who, path) in [("u1", "/1"), ("u2", "/2"), ("u3", "/3"), ("u1", "/4"), ("u2", "/5")] {
        let body = json!({"resources": [{"service": "orders", "methods": ["GET"], "paths": [path]}], "ttl": "10m", "reason": "INC-1"});
        let (s, v) =
            j.call("POST", "/v1/requests", Some(&j.token(who, &["eng"])), Some(body)).await;
        assert_eq!(s, 201, "{v}");
    }
    let lead = j.token("lee", &["leads"]);
    let ids = |v: &Value| -> Vec<String> {
        v["requests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let queue = "/v1/requests?status=pending&decidable=true";
    let (s, whole) = j.call("GET", queue, Some(&lead), None).await;
    assert_eq!(s, 200, "{whole}");
    assert_eq!(ids(&whole).len(), 5, "{whole}");
    assert!(whole["next"].is_null(), "{whole}");
    let (mut paged, mut next) = (Vec::new(), None::<String>);
    for _ in 0..10 {
        let url = match &next {
            None => format!("{queue}&limit=2"),
            Some(c) => format!("{queue}&limit=2&cursor={c}"),
        };
        let (s, v) = j.call("GET", &url, Some(&lead), None).await;
        assert_eq!(s, 200, "{v}");
        paged.extend(ids(&v));
        next = v["next"].as_str().map(str::to_owned);
        if next.is_none() {
            break;
        }
    }
    assert_eq!(paged, ids(&whole), "pages of 2 give the whole queue, in order, once");
    // A stranger sees none of them, however he pages.
    let (_, v) =
        j.call("GET", "/v1/requests?limit=2", Some(&j.token("eve", &["sales"])), None).await;
    assert_eq!(ids(&v), Vec::<String>::new(), "{v}");
    // A cursor that is not one is refused, saying what to send.
    let (s, v) = j.call("GET", &format!("{queue}&cursor=nope"), Some(&lead), None).await;
    assert_eq!(s, 400, "{v}");
    assert!(v.to_string().contains("pass the `next` value"), "{v}");
    // The command line pages the server a page at a time up to --limit, and says where to go on.
    let mut cli =
        j.cli_command(&["request", "list", "--status", "pending", "--limit", "3", "-o", "json"]);
    cli.env("JITGATE_TOKEN", &lead);
    let out = cli.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(ids(&v), ids(&whole)[..3], "{v}");
    assert!(v["next"].is_string(), "{v}");
}
