//! One-time calls (SECURITY rows 51 and 58) through the real Envoy: a caller tries a one-time
//! action, jitgate files the request for exactly that call, a lead approves what the API shows,
//! and then every near miss (another dataset, the wildcard the encoded `*` would spell, another
//! query string) must be denied while the approved call passes once. Also the 403 request hint
//! of a call with an encoded `*`: it must ask for that literal path.

use serde_json::{Value, json};

use crate::report::Tally;
use crate::stack::{Stack, bearer, request};

const POLICY: &str = r#"{"apiVersion": "jitgate.dev/v1alpha1", "kind": "AccessPolicy", "metadata": {"name": "billing"},
  "spec": {"resources": [{"service": "billing", "methods": ["DELETE"], "paths": ["/datasets/*"]},
                         {"service": "orders", "methods": ["GET"], "paths": ["/orders/*"]}],
           "requesters": ["group:eng"], "approvers": ["group:leads"], "max_ttl": "1h",
           "one_time_actions": [{"service": "billing", "methods": ["DELETE"], "paths": ["/datasets/*"]}],
           "file_one_time_requests": true}}"#;

/// (name, the call that files the request, the path and query the approver must see, calls
/// that must stay denied once it is approved).
type Case = (&'static str, &'static str, (&'static str, &'static str), &'static [&'static str]);

const CASES: &[Case] = &[
    (
        "encoded `*` (row 51)",
        "/datasets/%2A",
        ("/datasets/%2A", ""),
        &["/datasets/customers-prod", "/datasets/a", "/datasets/%2A%2A", "/datasets/%2A?x=1"],
    ),
    (
        "encoded `**` (row 51)",
        "/datasets/%2a%2A",
        ("/datasets/%2A%2A", ""),
        &["/datasets/customers-prod", "/datasets/%2A", "/datasets/x%2A"],
    ),
    (
        "`*` inside a segment (row 51)",
        "/datasets/a%2Ab",
        ("/datasets/a%2Ab", ""),
        &["/datasets/ab", "/datasets/aXb", "/datasets/%2A"],
    ),
    (
        "no query, then a query (row 58)",
        "/datasets/q",
        ("/datasets/q", ""),
        &[
            "/datasets/q?purge=all&cascade=true",
            "/datasets/q?purge=all",
            "/datasets/q?x",
            "/datasets/q?_=1",
            "/datasets/qq",
        ],
    ),
    (
        "a query, then others (row 58)",
        "/datasets/r?dry_run=%74rue",
        ("/datasets/r", "dry_run=true"),
        &[
            "/datasets/r",
            "/datasets/r?dry_run=false",
            "/datasets/r?dry_run=true&purge=1",
            "/datasets/r?purge=1&dry_run=true",
            "/datasets/r?dry_run=true;purge=1",
            "/datasets/r?dry_run=true&dry_run=false",
            "/datasets/r?dry_run=%2574rue",
        ],
    ),
    (
        "an encoded `*` in path and query (rows 51, 58)",
        "/datasets/%2A?id=%2A",
        ("/datasets/%2A", "id=%2A"),
        &["/datasets/x?id=%2A", "/datasets/%2A?id=x", "/datasets/%2A?id=*", "/datasets/%2A"],
    ),
];

#[tokio::test]
async fn one_time_calls_approve_exactly_the_call_shown() {
    // One caller files dozens of one-time requests here on purpose; the budgets this passes
    // (`requests.one_time_per_minute`, `requests.max_pending_per_requester`) are proven in
    // `tests/budgets.rs`.
    let budgets_off = [
        ("JITGATE_REQUESTS_ONE_TIME_PER_MINUTE", "0"),
        ("JITGATE_REQUESTS_MAX_PENDING_PER_REQUESTER", "0"),
    ];
    let s = Stack::start_with(&budgets_off).await;
    let j = &s.jitgate;
    let policy: Value = serde_json::from_str(POLICY).unwrap();
    let (status, _) =
        j.call("PUT", "/v1/policies/billing", Some(&j.admin_token()), Some(policy)).await;
    assert_eq!(status, 201, "policy setup");
    let alice = bearer(&j.token("alice", &["eng"]));
    let lead = j.token("bob", &["leads"]);
    let (s, alice) = (&s, &alice);
    let send = move |target: &str| {
        let req = request("DELETE", target, &[("Authorization", alice)], b"");
        async move { s.send(&req).await }
    };
    let mut tally = Tally::new("one-time calls");
    let mut allowed = 0;
    for (name, call, (path, query), probes) in CASES {
        let filed = send(call).await;
        let id = filed.json["request_id"].as_str().unwrap_or_default().to_string();
        let (_, stored) = j.call("GET", &format!("/v1/requests/{id}"), Some(&lead), None).await;
        let shown = &stored["resources"][0];
        let ok = filed.status == 403
            && filed.reason() == "approval_required"
            && shown["paths"] == json!([path])
            && shown["query"] == json!(query);
        tally.record(
            name,
            ok,
            filed.status == 200,
            &format!("filed {call}: {} {shown}", filed.status),
        );
        let (status, _) =
            j.call("POST", &format!("/v1/requests/{id}/approve"), Some(&lead), None).await;
        tally.require(name, status == 200, &format!("approve answered {status}"));
        for probe in *probes {
            let reply = send(probe).await;
            allowed += usize::from(reply.status == 200);
            let detail =
                format!("{probe} after approving {call}: {} `{}`", reply.status, reply.reason());
            tally.record(name, reply.status == 403, reply.status == 200, &detail);
        }
        let once = send(call).await;
        allowed += usize::from(once.status == 200);
        let upstream = once.json["path"].as_str().unwrap_or_default();
        let ok = once.status == 200 && upstream.eq_ignore_ascii_case(call);
        tally.record(
            name,
            ok,
            once.status == 200 && !ok,
            &format!("{call}: {} to {upstream}", once.status),
        );
        let twice = send(call).await;
        allowed += usize::from(twice.status == 200);
        tally.record(
            name,
            twice.status == 403,
            twice.status == 200,
            &format!("{call} again: {}", twice.status),
        );
    }
    hint_names_the_literal_path(s, &mut tally).await;
    let hits = s.settled_hits().await;
    tally.require("upstream requests", hits == allowed, &format!("{hits} != {allowed} allows"));
    tally.finish(30);
}

/// A 403 for `GET /orders/%2A` hands out a request for the literal `/orders/%2A`, not the
/// wildcard `/orders/*` (row 51).
async fn hint_names_the_literal_path(s: &Stack, tally: &mut Tally) {
    let carol = bearer(&s.jitgate.token("carol", &["eng"]));
    let reply =
        s.send(&request("GET", "/orders/%2A?page=2", &[("Authorization", &carol)], b"")).await;
    let hint = &reply.json["request"]["body"]["resources"][0];
    let ok = reply.status == 403 && hint["paths"] == json!(["/orders/%2A"]);
    tally.record(
        "403 hint for an encoded `*` (row 51)",
        ok,
        reply.status == 200,
        &format!("{hint}"),
    );
}
