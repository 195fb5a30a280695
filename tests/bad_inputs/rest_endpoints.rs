//! REST cases, continued: credentials, and the request, approval, revoke, policy, apply and
//! explain endpoints.

use serde_json::{Value, json};

use crate::rest::{Case, Who};
use crate::rest_cases::call;

const BAD: &str = "invalid_request";

pub fn auth_cases(good: &[u8]) -> Vec<Case> {
    let unauth = "unauthenticated";
    vec![
        call("no token", "POST", "/v1/grants", Who::Nobody, good, 401, unauth),
        call("forged token (guessed secret)", "POST", "/v1/grants", Who::Forged, good, 401, unauth),
        call("expired admin token", "POST", "/v1/grants", Who::Expired, good, 401, unauth),
        call(
            "alg none token",
            "POST",
            "/v1/grants",
            Who::Raw("Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJyb290In0."),
            good,
            401,
            unauth,
        ),
        call(
            "Basic credentials",
            "POST",
            "/v1/grants",
            Who::Raw("Basic cm9vdDpyb290"),
            good,
            401,
            unauth,
        ),
        call(
            "two tokens in one header",
            "POST",
            "/v1/grants",
            Who::Raw("Bearer a, Bearer b"),
            good,
            401,
            unauth,
        ),
        call("non-admin creates a grant", "POST", "/v1/grants", Who::Alice, good, 403, "forbidden"),
        call(
            "non-admin lists another's grants",
            "GET",
            "/v1/grants?subject=user:root",
            Who::Alice,
            b"",
            403,
            "forbidden",
        ),
    ]
}

pub fn other_endpoints() -> Vec<Case> {
    let req = |k: &str, v: Value| {
        let mut b = json!({"resources": [{"service": "orders", "methods": ["GET"], "paths": ["/orders/**"]}], "ttl": "20m", "reason": "INC-1"});
        b = crate::tokens::edit(b, k, v);
        b.to_string().into_bytes()
    };
    let policy = br#"{"apiVersion": "jitgate.dev/v1alpha1", "kind": "AccessPolicy", "metadata": {"name": "p"}, "spec": {"resources": [{"service": "orders", "methods": ["GET"], "paths": ["/orders/**"]}], "requesters": ["group:eng"], "approvers": ["group:leads"], "max_ttl": "-1h"}}"#;
    let bomb = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n";
    let huge_pending = String::from_utf8_lossy(policy)
        .replace(r#""max_ttl": "-1h""#, r#""max_ttl": "1h", "pending_ttl": "99999999999h""#);
    let id = "01a22bb4-c7c5-7734-8a81-367cdb2f4bfd";
    vec![
        call(
            "request: invalid JSON",
            "POST",
            "/v1/requests",
            Who::Alice,
            b"{\"resources\":",
            400,
            BAD,
        ),
        call(
            "request: negative ttl",
            "POST",
            "/v1/requests",
            Who::Alice,
            &req("ttl", json!("-1h")),
            400,
            BAD,
        ),
        call(
            "request: no resources",
            "POST",
            "/v1/requests",
            Who::Alice,
            &req("resources", json!([])),
            400,
            BAD,
        ),
        call(
            "request: unknown field",
            "POST",
            "/v1/requests",
            Who::Alice,
            &req("approved", json!(true)),
            400,
            BAD,
        ),
        call(
            "request: subject smuggled in",
            "POST",
            "/v1/requests",
            Who::Alice,
            &req("subject", json!("user:root")),
            400,
            BAD,
        ),
        call(
            "approve an unknown request",
            "POST",
            &format!("/v1/requests/{id}/approve"),
            Who::Admin,
            b"{}",
            404,
            "not_found",
        ),
        call(
            "approve a traversal id",
            "POST",
            "/v1/requests/..%2F..%2Fgrants/approve",
            Who::Admin,
            b"{}",
            404,
            "not_found",
        ),
        call(
            "approve with a broken body",
            "POST",
            &format!("/v1/requests/{id}/approve"),
            Who::Admin,
            b"{",
            400,
            BAD,
        ),
        call(
            "deny an unknown request",
            "POST",
            &format!("/v1/requests/{id}/deny"),
            Who::Admin,
            b"{}",
            404,
            "not_found",
        ),
        call(
            "cancel a garbage id",
            "POST",
            "/v1/requests/%00/cancel",
            Who::Alice,
            b"",
            404,
            "not_found",
        ),
        call(
            "revoke an unknown grant",
            "DELETE",
            &format!("/v1/grants/{id}"),
            Who::Admin,
            b"",
            404,
            "not_found",
        ),
        call(
            "revoke a traversal id",
            "DELETE",
            "/v1/grants/..%2Fpolicies",
            Who::Admin,
            b"",
            404,
            "not_found",
        ),
        call(
            "get a 10 KB grant id",
            "GET",
            &format!("/v1/grants/{}", "a".repeat(10_000)),
            Who::Admin,
            b"",
            404,
            "not_found",
        ),
        call("policy: invalid JSON", "PUT", "/v1/policies/p", Who::Admin, b"{]", 400, BAD),
        call("policy: negative max_ttl", "PUT", "/v1/policies/p", Who::Admin, policy, 400, BAD),
        // SECURITY row 64: a duration past the bound is refused where it enters, so no later
        // request under the policy formats a year past 9999 (it panicked).
        call(
            "policy: pending_ttl of 99999999999h (row 64)",
            "PUT",
            "/v1/policies/p",
            Who::Admin,
            huge_pending.as_bytes(),
            400,
            BAD,
        ),
        call(
            "report: since=99999999d (row 64)",
            "GET",
            "/v1/reports/access?since=99999999d",
            Who::Admin,
            b"",
            400,
            BAD,
        ),
        call(
            "audit: cursor 0-0 (row 64)",
            "GET",
            "/v1/audit?cursor=0-0",
            Who::Admin,
            b"",
            400,
            BAD,
        ),
        call(
            "request: ttl of 99999999999h (row 64)",
            "POST",
            "/v1/requests",
            Who::Alice,
            &req("ttl", json!("99999999999h")),
            400,
            BAD,
        ),
        call(
            "policy: as a non-admin",
            "PUT",
            "/v1/policies/p",
            Who::Alice,
            policy,
            403,
            "forbidden",
        ),
        (
            "policy: YAML alias bomb",
            "PUT",
            "/v1/policies/p".into(),
            Who::Admin,
            "application/yaml",
            bomb.as_bytes().to_vec(),
            400,
            BAD,
        ),
        (
            "policy: YAML not UTF-8",
            "PUT",
            "/v1/policies/p".into(),
            Who::Admin,
            "application/yaml",
            b"kind: \xff".to_vec(),
            400,
            BAD,
        ),
        call(
            "policy: kind Grant",
            "PUT",
            "/v1/policies/p",
            Who::Admin,
            &policy_kind(policy),
            400,
            BAD,
        ),
        call("apply: garbage", "POST", "/v1/apply", Who::Admin, b"{\"documents\": 5}", 400, BAD),
        call(
            "explain: bad subject",
            "POST",
            "/v1/explain",
            Who::Admin,
            br#"{"subject": "nobody", "service": "orders", "method": "GET", "path": "/"}"#,
            400,
            BAD,
        ),
        call("unknown endpoint", "POST", "/v1/grant", Who::Admin, b"{}", 404, "not_found"),
    ]
}

fn policy_kind(policy: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(policy)
        .replace("AccessPolicy", "Grant")
        .replace("-1h", "1h")
        .into_bytes()
}
