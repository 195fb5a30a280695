use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::*;
use crate::access::{AccessPolicy, PolicyDocument};
use crate::grant::{Grant, GrantId, Principal, RequestPath, Scope};
use crate::manifest::{Object, Source, parse_value};

const T0: i64 = 1_800_000_000_000;

fn at(offset_s: i64) -> Timestamp {
    Timestamp::from_millis(T0 + offset_s * 1000)
}

fn window() -> Window {
    Window { since: at(0), until: at(3600) }
}

/// A decision event as the audit log stores it.
fn deny(
    subject: Option<&str>,
    method: &str,
    service: &str,
    path: &str,
    reason: &str,
    mode: &str,
) -> Value {
    let mut e = json!({"kind": "decision.deny", "at": at(10).to_rfc3339(), "service": service,
        "method": method, "path": path, "reason": reason, "details": {"mode": mode, "took_us": 3}});
    if let Some(s) = subject {
        e["subject"] = json!(s);
    }
    e
}

fn tally(events: &[Value], policies: &PolicySet) -> Tally {
    let mut t = Tally::default();
    for e in events {
        t.add(e, window(), policies);
    }
    t
}

fn report(events: &[Value], policies: &PolicySet, live: &[GrantUse]) -> AccessReport {
    let scan = Scan { window: window(), scanned: events.len() as u64, covered_since: None };
    let opts = SuggestOptions { approvers: vec!["group:platform".into()], grant_ttl: None };
    tally(events, policies).finish(scan, policies, live, &opts)
}

/// The grants a report's suggestions would create, as validated scopes.
fn suggested_scopes(r: &AccessReport) -> Vec<(String, Vec<Scope>)> {
    r.suggestions
        .iter()
        .map(|s| {
            let v = serde_json::to_value(&s.grant).unwrap();
            let Object::Grant(g) = parse_value(Source::default(), v, None).unwrap().object else {
                panic!("not a grant")
            };
            (g.subject.to_string(), g.resources.clone())
        })
        .collect()
}

fn allowed(
    scopes: &[(String, Vec<Scope>)],
    who: &str,
    service: &str,
    method: &str,
    path: &str,
) -> bool {
    let p = RequestPath::parse(path).unwrap();
    scopes.iter().any(|(s, res)| s == who && res.iter().any(|r| r.matches(service, method, &p)))
}

#[test]
fn only_shadowed_grant_shaped_denies_of_verified_callers_become_suggestions() {
    let events = [
        deny(Some("user:alice"), "GET", "orders", "/orders/7", "no_grant", "shadow"),
        deny(Some("user:alice"), "GET", "orders", "/orders/8", "grant_expired", "shadow"),
        deny(Some("user:alice"), "POST", "orders", "/orders", "no_grant", "shadow"),
        deny(Some("user:bob"), "GET", "orders", "/admin", "no_grant", "enforce"),
        deny(None, "GET", "orders", "/orders/9", "token_missing", "shadow"),
        deny(Some("user:carol"), "GET", "orders", "/orders/1", "store_unavailable", "shadow"),
    ];
    let r = report(&events, &PolicySet::default(), &[]);
    let rows: Vec<(Option<&str>, &str, &str, u64)> = r
        .unmet
        .iter()
        .map(|u| (u.principal.as_deref(), u.method.as_str(), u.pattern.as_str(), u.calls))
        .collect();
    assert_eq!(
        rows,
        [(Some("user:alice"), "GET", "/orders/*", 2), (Some("user:alice"), "POST", "/orders", 1)]
    );
    assert_eq!(r.unauthenticated.len(), 1);
    assert_eq!(r.unauthenticated[0].reasons["token_missing"], 1);
    assert_eq!(r.shadowed.values().sum::<u64>(), 5, "the enforced deny is not use");
    assert_eq!(r.suggestions.len(), 1);
    let s = &r.suggestions[0];
    assert_eq!((s.principal.as_str(), s.calls), ("user:alice", 3));
    assert_eq!(s.grant.metadata.name, "report-user-alice-orders");
    assert!(s.grant.spec.standing && s.policy.as_ref().unwrap().spec.allow_standing);
}

#[test]
fn suggestions_allow_exactly_the_observed_use_and_nothing_more() {
    let events = [
        deny(Some("user:alice"), "GET", "orders", "/orders/7", "no_grant", "shadow"),
        deny(Some("user:alice"), "GET", "orders", "/orders/7/items", "no_grant", "shadow"),
        deny(
            Some("service:spiffe://c/ns/r/sa/x"),
            "GET",
            "billing",
            "/datasets/3",
            "no_grant",
            "shadow",
        ),
    ];
    let r = report(&events, &PolicySet::default(), &[]);
    let scopes = suggested_scopes(&r);
    let cases = [
        ("user:alice", "orders", "GET", "/orders/7", true),
        ("user:alice", "orders", "GET", "/orders/42", true),
        ("user:alice", "orders", "GET", "/orders/42/items", true),
        ("user:alice", "orders", "POST", "/orders/7", false),
        ("user:alice", "orders", "GET", "/orders", false),
        ("user:alice", "orders", "GET", "/orders/7/items/1", false),
        ("user:alice", "billing", "GET", "/orders/7", false),
        ("user:bob", "orders", "GET", "/orders/7", false),
        ("service:spiffe://c/ns/r/sa/x", "billing", "GET", "/datasets/9", true),
        ("service:spiffe://c/ns/r/sa/x", "billing", "DELETE", "/datasets/9", false),
    ];
    for (who, service, method, path, want) in cases {
        assert_eq!(
            allowed(&scopes, who, service, method, path),
            want,
            "{who} {method} {service}{path}"
        );
    }
    // Every suggested policy is a valid manifest that allows its standing grant.
    for s in &r.suggestions {
        let doc: PolicyDocument = s.policy.clone().unwrap();
        let p = AccessPolicy::from_document(doc).unwrap();
        let principal: Principal = s.principal.parse().unwrap();
        let grant_scopes =
            &suggested_scopes(&r).into_iter().find(|(w, _)| *w == s.principal).unwrap().1;
        assert!(p.allow_standing && p.covers(grant_scopes) && p.may_request(&[principal]));
    }
}

#[test]
fn methods_used_on_the_same_patterns_share_a_resource() {
    let events = [
        deny(Some("user:alice"), "GET", "orders", "/orders/1", "no_grant", "shadow"),
        deny(Some("user:alice"), "PUT", "orders", "/orders/2", "no_grant", "shadow"),
        deny(Some("user:alice"), "GET", "orders", "/orders/export", "no_grant", "shadow"),
    ];
    let r = report(&events, &PolicySet::default(), &[]);
    let resources = &r.suggestions[0].grant.spec.resources;
    let shaped: Vec<(Vec<String>, Vec<String>)> =
        resources.iter().map(|w| (w.methods.clone(), w.paths.clone())).collect();
    // `/orders/export` is covered by `/orders/*` for GET, so it is not listed twice.
    assert_eq!(
        shaped,
        [
            (vec!["GET".to_string()], vec!["/orders/export".to_string()]),
            (vec!["GET".to_string(), "PUT".to_string()], vec!["/orders/*".to_string()]),
        ]
    );
}

#[test]
fn one_time_actions_are_reported_but_never_suggested() {
    let doc: PolicyDocument = serde_json::from_value(json!({"apiVersion": "jitgate.dev/v1alpha1",
        "kind": "AccessPolicy", "metadata": {"name": "billing"}, "spec": {
        "resources": [{"service": "billing", "methods": ["DELETE"], "paths": ["/datasets/*"]}],
        "requesters": ["group:eng"], "approvers": ["group:leads"], "max_ttl": "1h",
        "one_time_actions": [{"service": "billing", "methods": ["DELETE"], "paths": ["/datasets/*"]}]}}))
    .unwrap();
    let set = PolicySet::new(vec![AccessPolicy::from_document(doc).unwrap()]);
    let events = [deny(
        Some("user:alice"),
        "DELETE",
        "billing",
        "/datasets/7",
        "approval_required",
        "shadow",
    )];
    let r = report(&events, &set, &[]);
    assert_eq!(r.one_time.len(), 1);
    assert!(r.unmet.is_empty() && r.suggestions.is_empty());
}

#[test]
fn grants_and_policies_without_use_in_the_window_are_listed() {
    let scope = |p: &str| {
        Scope::from_wire(crate::grant::ScopeWire {
            service: "orders".into(),
            methods: vec!["GET".into()],
            paths: vec![p.into()],
            query: None,
        })
        .unwrap()
    };
    let mk = |id: &str, subject: &str, policy: Option<&str>| {
        let mut g = Grant::new(
            GrantId::parse(id).unwrap(),
            subject.parse().unwrap(),
            vec![scope("/orders/**")],
            "user:root".parse().unwrap(),
            "x".into(),
            at(0),
            at(7200),
        );
        g.policy = policy.map(String::from);
        g
    };
    let live = vec![
        (mk("used", "user:alice", Some("orders")), Some(at(100))),
        (mk("stale", "user:bob", None), Some(Timestamp::from_millis(T0 - 1))),
        (mk("never", "user:carol", None), None),
    ];
    let policy = |name: &str| {
        let doc: PolicyDocument =
            serde_json::from_value(json!({"apiVersion": "jitgate.dev/v1alpha1",
            "kind": "AccessPolicy", "metadata": {"name": name}, "spec": {
            "resources": [{"service": "orders", "methods": ["GET"], "paths": ["/orders/**"]}],
            "requesters": ["group:eng"], "approvers": ["group:leads"], "max_ttl": "1h"}}))
            .unwrap();
        AccessPolicy::from_document(doc).unwrap()
    };
    let set = PolicySet::new(vec![policy("orders"), policy("requested"), policy("idle")]);
    let mut filed =
        json!({"kind": "request.filed", "at": at(5).to_rfc3339(), "policy": "requested"});
    filed["subject"] = json!("user:dave");
    let r = report(&[filed], &set, &live);
    let ids: BTreeSet<&str> = r.unused_grants.iter().map(|g| g.id.as_str()).collect();
    assert_eq!(ids, BTreeSet::from(["stale", "never"]));
    let names: Vec<&str> = r.unused_policies.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["idle"]);
}

#[test]
fn names_are_dns_labels_and_stay_unique_when_shortened() {
    assert_eq!(suggest::name("user:alice", "orders"), "report-user-alice-orders");
    let long = "service:spiffe://cluster.local/ns/reporting/sa/exporter-with-a-long-name";
    let (a, b) = (suggest::name(long, "orders"), suggest::name(&format!("{long}2"), "orders"));
    for n in [&a, &b] {
        assert!(crate::access::check_name(n).is_ok(), "{n}");
    }
    assert_ne!(a, b);
    assert_ne!(suggest::name("user:Alice", "x"), suggest::name("user:alice", "x"));
}

#[test]
fn a_thousand_ids_are_one_row_with_a_few_examples() {
    let events: Vec<Value> = (0..1000)
        .map(|i| {
            deny(Some("user:alice"), "GET", "orders", &format!("/orders/{i}"), "no_grant", "shadow")
        })
        .collect();
    let t = tally(&events, &PolicySet::default());
    assert_eq!(t.unmet.values().map(|c| c.shapes.len()).sum::<usize>(), 1, "folded on arrival");
    let r = report(&events, &PolicySet::default(), &[]);
    assert_eq!(r.unmet.len(), 1);
    assert_eq!((r.unmet[0].pattern.as_str(), r.unmet[0].calls), ("/orders/*", 1000));
    assert_eq!(r.unmet[0].examples, ["/orders/0", "/orders/1", "/orders/2"]);
}

#[test]
fn a_folded_record_counts_every_call_it_stands_for() {
    let mut folded = deny(None, "GET", "orders", "/orders/9", "token_missing", "shadow");
    folded["details"] = json!({"count": 40, "last_at": at(70).to_rfc3339(),
        "last_decision_id": "d40", "mode": "shadow"});
    let mut overflow = deny(None, "GET", "orders", "/orders/9", "token_invalid", "shadow");
    overflow["details"] = json!({"count": 7, "last_at": at(20).to_rfc3339(),
        "last_decision_id": "d7", "mode": "shadow", "overflow": true});
    for k in ["service", "method", "path"] {
        overflow.as_object_mut().unwrap().remove(k);
    }
    let events =
        [folded, overflow, deny(None, "GET", "orders", "/orders/9", "token_missing", "shadow")];
    let r = report(&events, &PolicySet::default(), &[]);
    assert_eq!(r.shadowed["token_missing"], 41);
    assert_eq!(r.shadowed["token_invalid"], 7, "an overflow record counts, without a row");
    assert_eq!(r.unauthenticated.len(), 1);
    let row = &r.unauthenticated[0];
    assert_eq!((row.calls, row.first_seen, row.last_seen), (41, at(10), at(70)));
}
