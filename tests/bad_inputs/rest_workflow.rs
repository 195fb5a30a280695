//! REST cases on a live access request (SECURITY.md rows 47–48): approving one's own request,
//! deciding without being an approver, reading another's request, broken decision bodies,
//! double decisions; and deciding after the policy changed (row 60): replaced approvers, a
//! narrowed policy, a deleted one. Exactly two grants may come out of it: the control
//! approvals'.

use serde_json::{Value, json};

use crate::common::Jitgate;
use crate::report::Tally;

const POLICY: &str = r#"{"apiVersion": "jitgate.dev/v1alpha1", "kind": "AccessPolicy", "metadata": {"name": "orders-read"}, "spec": {"resources": [{"service": "orders", "methods": ["GET"], "paths": ["/orders/**"]}], "requesters": ["group:eng"], "approvers": ["group:leads"], "max_ttl": "1h"}}"#;

/// (name, method, path, caller's token, body, status, error code).
type WorkflowCase<'a> = (&'a str, &'a str, String, &'a str, &'a [u8], u16, &'a str);

async fn send(j: &Jitgate, method: &str, path: &str, token: &str, body: &[u8]) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let resp = reqwest::Client::new()
        .request(method, format!("{}{path}", j.base()))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, serde_json::from_str(&resp.text().await.unwrap_or_default()).unwrap_or_default())
}

/// Runs the workflow cases into `tally`; returns how many grants the API may now hold.
pub async fn run(j: &Jitgate, tally: &mut Tally) -> usize {
    let admin = j.admin_token();
    let (status, _) = send(j, "PUT", "/v1/policies/orders-read", &admin, POLICY.as_bytes()).await;
    assert_eq!(status, 201, "policy setup");
    let alice = j.token("alice", &["eng"]);
    let bob = j.token("bob", &["leads"]);
    let carol = j.token("carol", &["eng"]);
    let body = json!({"resources": [{"service": "orders", "methods": ["GET"], "paths": ["/orders/**"]}], "ttl": "20m", "reason": "INC-7"});
    let (status, r) = send(j, "POST", "/v1/requests", &alice, body.to_string().as_bytes()).await;
    assert_eq!((status, r["status"].as_str()), (201, Some("pending")), "request setup: {r}");
    let id = r["id"].as_str().unwrap().to_string();
    let at = |action: &str| format!("/v1/requests/{id}/{action}");
    let one = format!("/v1/requests/{id}");
    let cases: Vec<WorkflowCase> = vec![
        ("requester approves own request", "POST", at("approve"), &alice, b"{}", 403, "forbidden"),
        // Someone who may not see the request does not learn that it exists.
        ("non-approver approves", "POST", at("approve"), &carol, b"{}", 404, "not_found"),
        ("non-party reads the request (IDOR)", "GET", one.clone(), &carol, b"", 404, "not_found"),
        ("non-party cancels the request", "POST", at("cancel"), &carol, b"", 404, "not_found"),
        (
            "approver cancels someone else's request",
            "POST",
            at("cancel"),
            &bob,
            b"",
            403,
            "forbidden",
        ),
        (
            "approve with broken JSON",
            "POST",
            at("approve"),
            &bob,
            b"{\"comment\":",
            400,
            "invalid_request",
        ),
        (
            "approve with a numeric comment",
            "POST",
            at("approve"),
            &bob,
            b"{\"comment\": 5}",
            400,
            "invalid_request",
        ),
        (
            "approve with an unknown field",
            "POST",
            at("approve"),
            &bob,
            b"{\"ttl\": \"24h\"}",
            400,
            "invalid_request",
        ),
        (
            "approve with trailing data",
            "POST",
            at("approve"),
            &bob,
            b"{}{\"ttl\": \"24h\"}",
            400,
            "invalid_request",
        ),
        // Regression: serde read `[]` as a struct, so this denied the request.
        ("deny with a list body", "POST", at("deny"), &bob, b"[]", 400, "invalid_request"),
        (
            "deny with a list holding a comment",
            "POST",
            at("deny"),
            &bob,
            b"[\"no\"]",
            400,
            "invalid_request",
        ),
        (
            "control: approver approves",
            "POST",
            at("approve"),
            &bob,
            b"{\"comment\": \"ok\"}",
            200,
            "",
        ),
        ("approve twice", "POST", at("approve"), &bob, b"{}", 409, "conflict"),
        ("deny after approval", "POST", at("deny"), &bob, b"{}", 409, "conflict"),
        ("cancel after approval", "POST", at("cancel"), &alice, b"", 409, "conflict"),
    ];
    run_cases(j, tally, &cases).await;
    1 + policy_changes(j, tally).await
}

fn policy(name: &str, approvers: &str, paths: &str) -> String {
    json!({"apiVersion": "jitgate.dev/v1alpha1", "kind": "AccessPolicy", "metadata": {"name": name}, "spec": {
        "resources": [{"service": "orders", "methods": ["POST"], "paths": [paths]}],
        "requesters": ["group:eng"], "approvers": [approvers], "max_ttl": "1h"}})
    .to_string()
}

/// Files a pending POST request as alice (under whichever policy covers it); returns its id.
async fn file(j: &Jitgate, alice: &str, path: &str) -> String {
    let body = json!({"resources": [{"service": "orders", "methods": ["POST"], "paths": [path]}], "ttl": "20m", "reason": "INC-60"});
    let (status, r) = send(j, "POST", "/v1/requests", alice, body.to_string().as_bytes()).await;
    assert_eq!((status, r["status"].as_str()), (201, Some("pending")), "request setup: {r}");
    r["id"].as_str().unwrap().to_string()
}

/// Row 60: decisions are made under the policy as it is now. Returns the grants it made (1).
async fn policy_changes(j: &Jitgate, tally: &mut Tally) -> usize {
    let admin = j.admin_token();
    let (alice, bob, sam) =
        (j.token("alice", &["eng"]), j.token("bob", &["leads"]), j.token("sam", &["security"]));
    let put = |name: &'static str, doc: String| {
        let admin = admin.clone();
        async move {
            let (status, v) =
                send(j, "PUT", &format!("/v1/policies/{name}"), &admin, doc.as_bytes()).await;
            assert!(status == 200 || status == 201, "policy setup: {status} {v}");
        }
    };
    put("orders-write", policy("orders-write", "group:leads", "/orders/**")).await;
    put("orders-export", policy("orders-export", "group:leads", "/exports/**")).await;
    let (w0, w1) = (file(j, &alice, "/orders/**").await, file(j, &alice, "/orders/7").await);
    let x1 = file(j, &alice, "/exports/**").await;
    let approve = |id: &str| format!("/v1/requests/{id}/approve");
    put("orders-write", policy("orders-write", "group:security", "/orders/**")).await;
    let mut cases: Vec<WorkflowCase> = vec![
        ("replaced approver approves", "POST", approve(&w1), &bob, b"{}", 404, "not_found"),
        (
            "replaced approver denies",
            "POST",
            approve(&w1).replace("approve", "deny"),
            &bob,
            b"{}",
            404,
            "not_found",
        ),
        ("control: the new approver approves", "POST", approve(&w0), &sam, b"{}", 200, ""),
    ];
    run_cases(j, tally, &cases).await;
    put("orders-write", policy("orders-write", "group:security", "/orders/public")).await;
    j.call("DELETE", "/v1/policies/orders-export", Some(&admin), None).await;
    cases = vec![
        (
            "approve after the policy stopped covering it",
            "POST",
            approve(&w1),
            &sam,
            b"{}",
            409,
            "conflict",
        ),
        (
            "approve after the policy was deleted",
            "POST",
            approve(&x1),
            &bob,
            b"{}",
            409,
            "conflict",
        ),
    ];
    run_cases(j, tally, &cases).await;
    for (id, cause) in [(&w1, "policy_changed"), (&x1, "policy_deleted")] {
        let (_, r) = send(j, "GET", &format!("/v1/requests/{id}"), &admin, b"").await;
        let cancelled = r["status"] == "cancelled" && r["cancellation"]["cause"] == cause;
        tally.require(&format!("{cause}: request cancelled"), cancelled, &format!("{r}"));
        let audited = audited_cancellation(j, &admin, id, cause).await;
        tally.require(&format!("{cause}: cancellation audited"), audited, id);
    }
    1
}

async fn run_cases(j: &Jitgate, tally: &mut Tally, cases: &[WorkflowCase<'_>]) {
    for (name, method, path, token, body, want, code) in cases {
        let (status, v) = send(j, method, path, token, body).await;
        let got = v["error"].as_str().unwrap_or("");
        let ok = status == *want && got == *code;
        let leak = (200..300).contains(&status) && *want != status;
        tally.record(name, ok, leak, &format!("{status} `{got}` (want {want} `{code}`)"));
    }
}

/// Whether the audit log holds the `request.cancelled` record of `id` with `cause` (the
/// relay into the chain runs in the background: looked for up to 5 s).
async fn audited_cancellation(j: &Jitgate, admin: &str, id: &str, cause: &str) -> bool {
    for _ in 0..100 {
        let (_, a) = send(j, "GET", "/v1/audit?kind=request.cancelled", admin, b"").await;
        let found = a["entries"].as_array().is_some_and(|es| {
            es.iter()
                .any(|e| e["event"]["request_id"] == id && e["event"]["details"]["cause"] == cause)
        });
        if found {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    false
}
