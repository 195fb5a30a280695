//! Serialize → parse round-trips of every stored or sent domain type (SECURITY row 57).

use std::time::Duration;

use jitgate::access::{
    AccessPolicy, AccessRequest, CancelCause, Cancellation, PolicyDocument, RequestId,
    RequestStatus, Verdict,
};
use jitgate::grant::{
    Grant, GrantId, GrantSource, MAX_PATTERN_LEN, PathPattern, Principal, Query, RequestPath,
    Revocation, Scope, ScopeWire,
};
use jitgate::time::{Timestamp, Ttl};
use proptest::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::generate::*;

fn json<T: Serialize + DeserializeOwned>(v: &T) -> T {
    serde_json::from_str(&serde_json::to_string(v).unwrap()).unwrap()
}

fn yaml<T: Serialize + DeserializeOwned>(v: &T) -> T {
    serde_saphyr::from_str(&serde_saphyr::to_string(v).unwrap()).unwrap()
}

proptest! {
    #![proptest_config(crate::generate::config(256))]

    #[test]
    fn a_pattern_text_parses_to_its_segments_and_writes_back_the_same((segs, rest) in pattern_parts()) {
        let text = pattern_text(&segs, rest);
        prop_assume!(text.len() <= MAX_PATTERN_LEN);
        let p = PathPattern::parse(&text).unwrap();
        prop_assert_eq!(p.as_str(), text.as_str());
        prop_assert_eq!(&PathPattern::parse(&p.to_string()).unwrap(), &p);
        prop_assert_eq!(&json(&p), &p);
        prop_assert_eq!(p.is_exact(), !rest && segs.iter().all(|s| matches!(s, Seg::Lit(_))));
        // `/` is the one empty literal segment.
        let root = [""];
        let literals: Vec<&str> = if segs.is_empty() && !rest { root.to_vec() } else { segs.iter().map_while(|s| match s {
            Seg::Lit(l) => Some(l.as_str()),
            Seg::One => None,
        }).collect() };
        prop_assert_eq!(p.literal_prefix().collect::<Vec<_>>(), literals);
    }

    #[test]
    fn an_exact_pattern_is_one_literal_path_after_a_round_trip(segments in prop::collection::vec(call_literal(), 1..6)) {
        let path = RequestPath::parse(&encode_path(&segments)).unwrap();
        let exact = PathPattern::exact(&path);
        let back = PathPattern::parse(exact.as_str()).unwrap();
        prop_assert_eq!(&back, &exact);
        prop_assert!(back.is_exact());
        prop_assert!(back.matches(&path));
        prop_assert_eq!(back.literal_prefix().collect::<Vec<_>>(), segments.iter().map(String::as_str).collect::<Vec<_>>());
        // One other segment in any place is another path: never matched.
        for i in 0..segments.len() {
            let mut other = segments.clone();
            other[i].push('x');
            prop_assert!(!back.matches(&RequestPath::parse(&encode_path(&other)).unwrap()));
        }
    }

    #[test]
    fn a_query_normal_form_is_stable_and_round_trips(raw in raw_query()) {
        let q = Query::normalize(&raw).unwrap();
        prop_assert_eq!(&Query::normalize(q.as_str()).unwrap(), &q);
        prop_assert_eq!(&json(&q), &q);
        prop_assert!(q.matches_raw(Some(&raw)));
    }

    #[test]
    fn a_scope_round_trips_through_json_yaml_and_its_wire_form(wire in scope_wire()) {
        let scope = Scope::from_wire(wire).unwrap();
        prop_assert_eq!(&json(&scope), &scope);
        prop_assert_eq!(&yaml(&scope), &scope);
        prop_assert_eq!(&Scope::from_wire(ScopeWire::from(scope.clone())).unwrap(), &scope);
    }

    #[test]
    fn a_principal_round_trips(text in principal_text()) {
        let p: Principal = text.parse().unwrap();
        prop_assert_eq!(p.to_string(), text);
        prop_assert_eq!(&p.to_string().parse::<Principal>().unwrap(), &p);
        prop_assert_eq!(&json(&p), &p);
    }

    #[test]
    fn a_timestamp_and_a_ttl_round_trip(t in timestamp(), ms in 1u64..(100 * 365 * 86_400_000)) {
        prop_assert_eq!(Timestamp::parse_rfc3339(&t.to_rfc3339()).unwrap(), t);
        let ttl = Ttl::from_millis(ms);
        prop_assert_eq!(Ttl::parse(&ttl.to_string()).unwrap(), ttl);
        prop_assert_eq!(json(&ttl), ttl);
    }

    #[test]
    fn a_grant_round_trips(g in grant()) {
        prop_assert_eq!(&json(&g), &g);
        prop_assert_eq!(&yaml(&g), &g);
    }

    #[test]
    fn an_access_request_round_trips(r in access_request()) {
        prop_assert_eq!(&json(&r), &r);
    }

    #[test]
    fn a_policy_document_round_trips_and_compiles_the_same(doc in policy_document()) {
        let policy = AccessPolicy::from_document(doc.clone()).unwrap();
        prop_assert_eq!(&policy.document, &doc);
        for text in [serde_json::to_string(&doc).unwrap(), serde_saphyr::to_string(&doc).unwrap()] {
            let back: PolicyDocument = serde_saphyr::from_str(&text).unwrap();
            prop_assert_eq!(&back, &doc);
            let again = AccessPolicy::from_document(back).unwrap();
            prop_assert_eq!(&again.resources, &policy.resources);
            prop_assert_eq!(&again.one_time_actions, &policy.one_time_actions);
            prop_assert_eq!(&again.requesters, &policy.requesters);
        }
    }

    #[test]
    fn a_grant_manifest_round_trips_through_yaml(doc in grant_document()) {
        let text = serde_saphyr::to_string(&doc).unwrap();
        let value: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
        let source = jitgate::manifest::Source { file: "p.yaml".into(), doc: 1, line: 1 };
        let m = jitgate::manifest::parse_value(source, value, Some(&text)).unwrap();
        let jitgate::manifest::Object::Grant(g) = m.object else { panic!("not a grant") };
        prop_assert_eq!(&g.spec, &doc.spec);
        let scopes: Vec<Scope> = doc.spec.resources.iter().cloned().map(|w| Scope::from_wire(w).unwrap()).collect();
        prop_assert_eq!(&g.resources, &scopes);
    }
}

fn scopes() -> impl Strategy<Value = Vec<Scope>> {
    prop::collection::vec(scope_wire().prop_map(|w| Scope::from_wire(w).unwrap()), 1..3)
}

fn principal() -> impl Strategy<Value = Principal> {
    principal_text().prop_map(|t| t.parse().unwrap())
}

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(any::<char>(), 0..20).prop_map(|c| c.into_iter().collect())
}

prop_compose! {
    fn grant()(
        id in "[a-z0-9._:-]{1,40}",
        subject in principal(),
        resources in scopes(),
        (created_at, expires_at, used) in (timestamp(), timestamp(), prop::option::of(timestamp())),
        approved_by in prop::collection::vec(principal(), 0..3),
        reason in text(),
        (max_uses, uses) in (prop::option::of(1u32..10), 0u64..20),
        source in prop::sample::select(vec![GrantSource::Api, GrantSource::Request, GrantSource::Manifest]),
        extra in (prop::option::of("[a-z0-9-]{1,36}"), prop::option::of("INC-[0-9]{1,4}"), prop::option::of("[a-z]{1,8}")),
        revoked in prop::option::of((timestamp(), principal(), prop::option::of(text()))),
        standing in any::<bool>(),
    ) -> Grant {
        let mut g = Grant::new(GrantId::parse(&id).unwrap(), subject, resources, "user:admin".parse().unwrap(), reason, created_at, expires_at);
        g.approved_by = approved_by;
        (g.max_uses, g.uses, g.first_used_at, g.last_used_at) = (max_uses, uses, used, used);
        g.source = source;
        let (request_id, incident, policy) = extra;
        g.request_id = request_id.map(|id| RequestId::parse(&id).unwrap());
        (g.incident, g.policy) = (incident, policy);
        g.revoked = revoked.map(|(at, by, reason)| Revocation { at, by, reason });
        g.standing = standing;
        g
    }
}

prop_compose! {
    fn access_request()(
        requester in principal(),
        resources in scopes(),
        ttl in 1u64..86_400_000,
        reason in text(),
        status in prop::sample::select(vec![RequestStatus::Pending, RequestStatus::Approved, RequestStatus::Denied, RequestStatus::Expired, RequestStatus::Cancelled]),
        (created_at, expires_at) in (timestamp(), timestamp()),
        approvers in prop::collection::vec(principal(), 1..3),
        approvals in prop::collection::vec((principal(), timestamp(), prop::option::of(text())), 0..3),
        one_time in any::<bool>(),
        cancellation in prop::option::of((any::<bool>(), prop::collection::vec(text(), 0..3))),
    ) -> AccessRequest {
        AccessRequest {
            id: RequestId::generate(),
            requester,
            resources,
            ttl: Ttl::from_millis(ttl),
            reason,
            incident: None,
            policy: "p".into(),
            status,
            created_at,
            expires_at,
            escalate_at: Some(expires_at),
            escalated: one_time,
            approvers: approvers.clone(),
            escalate_to: approvers,
            min_approvals: 1,
            approvals: approvals.into_iter().map(|(by, at, comment)| Verdict { by, at, comment }).collect(),
            denied: None,
            decided_at: Some(created_at),
            one_time,
            grant_ttl: Ttl::from_millis(ttl),
            max_uses: one_time.then_some(1),
            auto_approved_by: None,
            grant_id: Some(GrantId::generate()),
            cancellation: cancellation.map(|(deleted, problems)| Cancellation {
                cause: if deleted { CancelCause::PolicyDeleted } else { CancelCause::PolicyChanged },
                problems,
            }),
        }
    }
}

fn policy_document() -> impl Strategy<Value = PolicyDocument> {
    (
        prop::collection::vec(scope_wire(), 1..3),
        prop::collection::vec(principal_text(), 1..3),
        1u64..86_400,
    )
        .prop_map(|(resources, people, secs)| {
            let ttl = Ttl::from_duration(Duration::from_secs(secs)).to_string();
            let one_time = resources.first().cloned().into_iter().collect::<Vec<_>>();
            let doc = serde_json::json!({
                "apiVersion": "jitgate.dev/v1alpha1", "kind": "AccessPolicy",
                "metadata": {"name": "p"},
                "spec": {"resources": resources, "requesters": people, "approvers": ["group:leads"],
                         "max_ttl": ttl, "pending_ttl": ttl, "one_time_actions": one_time}});
            serde_json::from_value(doc).unwrap()
        })
}

fn grant_document() -> impl Strategy<Value = jitgate::manifest::GrantDocument> {
    (principal_text(), prop::collection::vec(scope_wire(), 1..3), 1u64..86_400, text())
        .prop_filter("a reason is required", |(.., r)| !r.trim().is_empty() && !r.chars().any(char::is_control))
        .prop_map(|(subject, resources, secs, reason)| {
            let ttl = Ttl::from_duration(Duration::from_secs(secs)).to_string();
            serde_json::from_value(serde_json::json!({
                "apiVersion": "jitgate.dev/v1alpha1", "kind": "Grant", "metadata": {"name": "g"},
                "spec": {"subject": subject, "resources": resources, "ttl": ttl, "reason": reason}})).unwrap()
        })
}
