//! Every answer body round-trips through JSON (what the server writes is what the CLI reads),
//! and a body's added fields never repeat one of the embedded domain object's: one `status`,
//! the status at the moment of the answer.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use jitgate_api_types::{GrantBody, GrantList, GrantWithUsage, RequestBody, RequestList};
use jitgate_core::access::{AccessRequest, RequestId, RequestStatus, Verdict};
use jitgate_core::decision::Caller;
use jitgate_core::grant::fixtures::{mk_grant, mk_scope};
use jitgate_core::grant::{GrantStatus, GrantUsage, Principal};
use jitgate_core::time::{Timestamp, Ttl};
use proptest::prelude::*;

const NOW: Timestamp = Timestamp::from_millis(1_780_000_000_000);

fn p(s: &str) -> Principal {
    s.parse().unwrap()
}

fn request(expires_in_s: i64, approvals: usize) -> AccessRequest {
    let created = NOW.saturating_sub(Duration::from_secs(60));
    let expires_at = Timestamp::from_millis(NOW.as_millis() + expires_in_s * 1000);
    AccessRequest {
        id: RequestId::generate(),
        requester: p("user:alice"),
        resources: vec![mk_scope("orders", &["GET"], &["/orders/**"])],
        ttl: Ttl::from_secs(600),
        reason: "INC-1".into(),
        incident: None,
        policy: "orders-read".into(),
        status: RequestStatus::Pending,
        created_at: created,
        expires_at,
        escalate_at: None,
        escalated: false,
        approvers: vec![p("group:leads")],
        escalate_to: vec![],
        min_approvals: 2,
        approvals: (0..approvals)
            .map(|i| Verdict { by: p(&format!("user:lead{i}")), at: created, comment: None })
            .collect(),
        denied: None,
        decided_at: None,
        one_time: false,
        grant_ttl: Ttl::from_secs(600),
        max_uses: None,
        auto_approved_by: None,
        grant_id: None,
        cancellation: None,
    }
}

/// How many times `"key":` appears at any depth of `json`.
fn keys(json: &str, key: &str) -> usize {
    json.matches(&format!("\"{key}\":")).count()
}

proptest! {
    #[test]
    fn a_grant_body_round_trips_and_shows_its_status_at_the_answer(
        left_s in -3_600i64..86_400,
        uses in 0u64..50,
        max_uses in proptest::option::of(1u32..60),
    ) {
        let expires_at = Timestamp::from_millis(NOW.as_millis() + left_s * 1000);
        let mut grant = mk_grant("g-1", "user:alice", mk_scope("orders", &["GET"], &["/orders/*"]), expires_at);
        grant.uses = uses;
        grant.max_uses = max_uses;
        let body = GrantBody::at(grant.clone(), NOW);
        prop_assert_eq!(body.status, grant.status(NOW));
        prop_assert_eq!(body.expires_in_seconds, u64::try_from(left_s.max(0)).unwrap());
        if left_s <= 0 {
            prop_assert_ne!(body.status, GrantStatus::Active);
        }
        let json = serde_json::to_string(&body).unwrap();
        prop_assert_eq!(keys(&json, "status"), 1);
        prop_assert_eq!(&serde_json::from_str::<GrantBody>(&json).unwrap(), &body);

        let usage = GrantUsage::of(&grant, vec!["/orders/1".into()], false);
        let detail = GrantWithUsage { grant: body.clone(), usage };
        let json = serde_json::to_string(&detail).unwrap();
        prop_assert_eq!(&serde_json::from_str::<GrantWithUsage>(&json).unwrap(), &detail);
        let list = GrantList { grants: vec![body.clone(), body] };
        let json = serde_json::to_string(&list).unwrap();
        prop_assert_eq!(serde_json::from_str::<GrantList>(&json).unwrap(), list);
    }

    #[test]
    fn a_request_body_round_trips_with_one_status_the_one_now(
        expires_in_s in -600i64..3_600,
        approvals in 0usize..3,
        as_approver in any::<bool>(),
    ) {
        let r = request(expires_in_s, approvals);
        let caller = if as_approver {
            Caller { subject: p("user:bob"), principals: vec![p("user:bob"), p("group:leads")] }
        } else {
            Caller { subject: p("user:eve"), principals: vec![p("user:eve")] }
        };
        let body = RequestBody::at(&r, &caller, NOW);
        let now_status = r.status_at(NOW);
        prop_assert_eq!(body.request.status, now_status);
        let pending = now_status == RequestStatus::Pending;
        prop_assert_eq!(body.expires_in_seconds.is_some(), pending);
        prop_assert_eq!(body.approvals_needed, pending.then(|| 2u32.saturating_sub(approvals as u32)));
        prop_assert_eq!(body.can_approve, pending && as_approver);
        prop_assert!(!body.approved_by_you);
        let json = serde_json::to_string(&body).unwrap();
        prop_assert_eq!(keys(&json, "status"), 1);
        let back: RequestBody = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(&back, &body);
        let page = RequestList { requests: vec![body], next: Some("1780000000000.x".into()) };
        let json = serde_json::to_string(&page).unwrap();
        prop_assert_eq!(serde_json::from_str::<RequestList>(&json).unwrap(), page);
    }
}

#[test]
fn an_unknown_field_in_a_body_sent_is_refused_by_name() {
    let err = serde_json::from_str::<jitgate_api_types::RequestInput>(
        r#"{"resources": [], "ttl": "1h", "reasn": "typo"}"#,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("unknown field `reasn`"), "{err}");
    let err = serde_json::from_str::<jitgate_api_types::DecisionBody>(r#"{"coment": "x"}"#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown field `coment`"), "{err}");
}

#[test]
fn a_deny_body_reads_back_as_the_next_step_it_offers() {
    use jitgate_api_types::{DenyBody, FiledRequest, NextStep, RequestHint, RequestInput};
    let hint = NextStep::Hint(RequestHint {
        method: "POST".into(),
        url: "https://jit.example.com/v1/requests".into(),
        ui: "https://jit.example.com/ui/#/request".into(),
        body: RequestInput {
            resources: vec![jitgate_core::grant::ScopeWire {
                service: "orders".into(),
                methods: vec!["GET".into()],
                paths: vec!["/orders/7".into()],
                query: None,
            }],
            ttl: "15m".into(),
            reason: String::new(),
            incident: None,
        },
        cli: "jitgate request create ...".into(),
    });
    let filed = NextStep::Filed(FiledRequest {
        id: RequestId::generate(),
        status: RequestStatus::Pending,
        url: "u".into(),
        ui: "ui".into(),
        approvers: vec![p("group:leads")],
        expires_at: NOW,
    });
    for request in [hint, filed] {
        let body = DenyBody {
            error: "forbidden".into(),
            reason: "no_grant".into(),
            message: "no grant".into(),
            decision_id: "d-1".into(),
            missing: None,
            request_id: None,
            request: Some(request),
        };
        let json = serde_json::to_string(&body).unwrap();
        assert_eq!(serde_json::from_str::<DenyBody>(&json).unwrap(), body, "{json}");
    }
}
