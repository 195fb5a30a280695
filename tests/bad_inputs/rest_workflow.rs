//! REST cases on a live access request (SECURITY.md rows 47–48): approving one's own request,
//! deciding without being an approver, reading another's request, broken decision bodies,
//! double decisions. Exactly one grant may come out of it: the control approval's.

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
    for (name, method, path, token, body, want, code) in cases {
        let (status, v) = send(j, method, &path, token, body).await;
        let got = v["error"].as_str().unwrap_or("");
        let ok = status == want && got == code;
        let leak = (200..300).contains(&status) && want != status;
        tally.record(name, ok, leak, &format!("{status} `{got}` (want {want} `{code}`)"));
    }
    1
}
