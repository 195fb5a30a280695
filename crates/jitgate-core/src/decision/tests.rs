use super::*;
use crate::grant::fixtures::{mk_grant, mk_scope};
use crate::grant::{Grant, Revocation};

const NOW: Timestamp = Timestamp::from_millis(1_800_000_000_000);

fn mk_caller(subject: &str, groups: &[&str]) -> Caller {
    let subject: Principal = subject.parse().unwrap();
    let mut principals = vec![subject.clone()];
    principals.extend(groups.iter().map(|g| g.parse().unwrap()));
    Caller { subject, principals }
}

fn mk_input(service: &str, method: &str, path: &str) -> CheckInput {
    CheckInput {
        service: service.into(),
        method: method.into(),
        path: RequestPath::parse(path).unwrap(),
        one_time: false,
    }
}

fn later(ms: i64) -> Timestamp {
    Timestamp::from_millis(NOW.as_millis() + ms)
}

fn orders_get() -> Scope {
    mk_scope("orders", &["GET"], &["/orders/**"])
}

fn reason(d: &Decision) -> Option<DenyReason> {
    match d {
        Decision::Allow(_) => None,
        Decision::Deny(d) => Some(d.reason),
    }
}

#[test]
fn live_grant_allows_and_names_the_grant() {
    let g = mk_grant("g1", "user:alice", orders_get(), later(60_000));
    let d =
        evaluate(&[g], &mk_caller("user:alice", &[]), &mk_input("orders", "GET", "/orders/7"), NOW);
    let Decision::Allow(a) = d else { panic!("expected allow, got {d:?}") };
    assert_eq!(a.grant_id.as_str(), "g1");
    assert_eq!(a.subject.to_string(), "user:alice");
    assert_eq!(a.expires_at, later(60_000));
    assert!(!a.limited);
}

#[test]
fn expiry_edge_is_exact_to_the_millisecond() {
    let g = mk_grant("g1", "user:alice", orders_get(), NOW);
    let caller = mk_caller("user:alice", &[]);
    let input = mk_input("orders", "GET", "/orders/7");
    let at = |t| evaluate(std::slice::from_ref(&g), &caller, &input, t);
    assert_eq!(reason(&at(later(-1))), None, "1 ms before expiry allows");
    assert_eq!(reason(&at(NOW)), Some(DenyReason::GrantExpired), "at expiry denies");
    assert_eq!(reason(&at(later(1))), Some(DenyReason::GrantExpired), "1 ms after denies");
}

#[test]
fn grant_to_a_group_applies_to_its_members() {
    let g = mk_grant("g1", "group:oncall", orders_get(), later(1000));
    let input = mk_input("orders", "GET", "/orders/7");
    let member = mk_caller("user:bob", &["group:oncall"]);
    let outsider = mk_caller("user:eve", &["group:eng"]);
    assert_eq!(reason(&evaluate(std::slice::from_ref(&g), &member, &input, NOW)), None);
    let d = evaluate(&[g], &outsider, &input, NOW);
    assert_eq!(reason(&d), Some(DenyReason::NoGrant));
}

#[test]
fn decision_table() {
    let g = |scope| vec![mk_grant("g1", "user:alice", scope, later(1000))];
    let alice = mk_caller("user:alice", &[]);
    // (grants, service, method, path, expected deny reason or None for allow)
    type Row = (Vec<Grant>, &'static str, &'static str, &'static str, Option<DenyReason>);
    let table: Vec<Row> = vec![
        (g(orders_get()), "orders", "GET", "/orders", None),
        (g(orders_get()), "orders", "POST", "/orders/7", Some(DenyReason::NoGrant)),
        (g(orders_get()), "orders", "get", "/orders/7", Some(DenyReason::NoGrant)),
        (g(orders_get()), "billing", "GET", "/orders/7", Some(DenyReason::NoGrant)),
        (g(orders_get()), "orders", "GET", "/admin", Some(DenyReason::NoGrant)),
        (g(mk_scope("orders", &["*"], &["/orders/*"])), "orders", "DELETE", "/orders/7", None),
        (
            g(mk_scope("orders", &["*"], &["/orders/*"])),
            "orders",
            "DELETE",
            "/orders/7/x",
            Some(DenyReason::NoGrant),
        ),
        (vec![], "orders", "GET", "/orders/7", Some(DenyReason::NoGrant)),
    ];
    for (grants, service, method, path, want) in table {
        let d = evaluate(&grants, &alice, &mk_input(service, method, path), NOW);
        assert_eq!(reason(&d), want, "{method} {path} on {service}");
    }
}

#[test]
fn grants_for_other_principals_never_apply() {
    // A store bug returning someone else's grant must not allow.
    let g = mk_grant("g1", "user:mallory", orders_get(), later(1000));
    let d =
        evaluate(&[g], &mk_caller("user:alice", &[]), &mk_input("orders", "GET", "/orders/7"), NOW);
    assert_eq!(reason(&d), Some(DenyReason::NoGrant));
}

#[test]
fn revoked_and_used_up_grants_deny_with_their_reason() {
    let input = mk_input("orders", "GET", "/orders/7");
    let alice = mk_caller("user:alice", &[]);
    let mut revoked = mk_grant("g1", "user:alice", orders_get(), later(1000));
    revoked.revoked = Some(Revocation { at: NOW, by: "user:admin".parse().unwrap(), reason: None });
    assert_eq!(reason(&evaluate(&[revoked], &alice, &input, NOW)), Some(DenyReason::GrantRevoked));
    let mut used = mk_grant("g2", "user:alice", orders_get(), later(1000));
    used.max_uses = Some(1);
    used.uses = 1;
    assert_eq!(reason(&evaluate(&[used], &alice, &input, NOW)), Some(DenyReason::GrantUsedUp));
}

#[test]
fn unlimited_grant_is_preferred_over_a_limited_one() {
    let mut limited = mk_grant("limited", "user:alice", orders_get(), later(9000));
    limited.max_uses = Some(1);
    let unlimited = mk_grant("unlimited", "user:alice", orders_get(), later(1000));
    let d = evaluate(
        &[limited.clone(), unlimited],
        &mk_caller("user:alice", &[]),
        &mk_input("orders", "GET", "/orders/1"),
        NOW,
    );
    let Decision::Allow(a) = d else { panic!() };
    assert_eq!(a.grant_id.as_str(), "unlimited");
    let d = evaluate(
        &[limited],
        &mk_caller("user:alice", &[]),
        &mk_input("orders", "GET", "/orders/1"),
        NOW,
    );
    let Decision::Allow(a) = d else { panic!() };
    assert!(a.limited);
}

#[test]
fn one_time_actions_are_only_allowed_by_limited_grants() {
    let broad = mk_grant("broad", "user:alice", mk_scope("billing", &["*"], &["/**"]), later(9000));
    let mut input = mk_input("billing", "DELETE", "/datasets/7");
    input.one_time = true;
    let alice = mk_caller("user:alice", &[]);
    let d = evaluate(std::slice::from_ref(&broad), &alice, &input, NOW);
    assert_eq!(reason(&d), Some(DenyReason::ApprovalRequired));
    let mut once = mk_grant(
        "once",
        "user:alice",
        mk_scope("billing", &["DELETE"], &["/datasets/7"]),
        later(300),
    );
    once.max_uses = Some(1);
    let Decision::Allow(a) = evaluate(&[broad, once], &alice, &input, NOW) else { panic!() };
    assert_eq!((a.grant_id.as_str(), a.limited), ("once", true));
}

#[test]
fn deny_names_the_missing_scope() {
    let d = evaluate(
        &[] as &[Grant],
        &mk_caller("user:alice", &[]),
        &mk_input("orders", "DELETE", "/orders/7?x=1"),
        NOW,
    );
    let Decision::Deny(deny) = d else { panic!() };
    let missing = deny.missing.unwrap();
    assert_eq!(
        (missing.service.as_str(), missing.method.as_str(), missing.path.as_str()),
        ("orders", "DELETE", "/orders/7")
    );
    assert!(deny.detail.contains("user:alice may not DELETE /orders/7"), "{}", deny.detail);
}

#[test]
fn every_reason_has_a_distinct_stable_code() {
    let codes: std::collections::HashSet<_> = DenyReason::ALL.iter().map(|r| r.code()).collect();
    assert_eq!(codes.len(), DenyReason::ALL.len());
    assert_eq!(DenyReason::NoGrant.status().http_code(), 403);
    assert_eq!(DenyReason::TokenMissing.status().http_code(), 401);
    assert_eq!(DenyReason::StoreUnavailable.status().http_code(), 503);
}
