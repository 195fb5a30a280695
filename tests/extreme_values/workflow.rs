//! `PUT /v1/policies/{name}` (`max_ttl`, `pending_ttl`, `escalate_after`, `one_time_ttl`,
//! auto-approve `max_ttl`), `POST /v1/requests` (`ttl`) and its approval, `GET /v1/requests`
//! (`limit`), and `POST /v1/apply` (a manifest grant's `ttl` and `max_uses`).

use serde_json::{Value, json};

use crate::probe::*;

const JUST_UNDER: &str = "876599h59m59s999ms";

fn policy(name: &str, field: &str, value: &str) -> String {
    let mut doc = json!({
        "apiVersion": "jitgate.dev/v1alpha1", "kind": "AccessPolicy", "metadata": {"name": name},
        "spec": {
            "resources": [{"service": "orders", "methods": ["GET"], "paths": ["/orders/**"]}],
            "requesters": ["group:eng"], "approvers": ["group:leads"],
            "max_ttl": LONGEST, "pending_ttl": LONGEST, "escalate_after": JUST_UNDER,
            "escalate_to": ["group:sre"], "one_time_ttl": LONGEST,
            "auto_approve": [{"requesters": ["group:oncall"], "max_ttl": LONGEST}],
        }
    });
    let text = match field.split_once('.') {
        Some((rule, f)) => {
            doc["spec"][rule][0][f] = json!("PLACEHOLDER");
            doc.to_string()
        }
        None if !field.is_empty() => {
            doc["spec"][field] = json!("PLACEHOLDER");
            doc.to_string()
        }
        None => doc.to_string(),
    };
    // Spliced in as text, so a value JSON cannot hold (`1e309`) goes through as sent.
    text.replace("\"PLACEHOLDER\"", value)
}

fn request(ttl: &str) -> String {
    json!({"resources": [{"service": "orders", "methods": ["GET"], "paths": ["/orders/7"]}], "ttl": ttl, "reason": "INC-7"}).to_string()
}

#[tokio::test]
async fn policies_and_requests_take_the_longest_durations_and_refuse_one_step_past() {
    let p = Probe::start().await;
    let doc = p.ok("PUT", "/v1/policies/longest", Some(&policy("longest", "", ""))).await;
    let spec = &doc["spec"];
    for (field, want) in [("max_ttl", LONGEST), ("pending_ttl", LONGEST), ("one_time_ttl", LONGEST)]
    {
        assert_eq!(spec[field], json!(want), "{doc}");
    }
    assert_eq!(spec["escalate_after"], json!(JUST_UNDER), "{doc}");
    let back = p.ok("GET", "/v1/policies/longest", None).await;
    assert_eq!(back["spec"]["pending_ttl"], json!(LONGEST), "{back}");

    // A request for the longest TTL: pending for the longest time, then approved for it.
    let alice = p.j.token("alice", &["eng"]);
    let (status, filed) = p.send("POST", "/v1/requests", &alice, Some(&request(LONGEST))).await;
    assert_eq!(status, 201, "{filed}");
    assert_eq!(span_ms(&filed, "created_at", "expires_at"), LONGEST_MS, "{filed}");
    assert_eq!(span_ms(&filed, "created_at", "escalate_at"), LONGEST_MS - 1, "{filed}");
    let id = filed["id"].as_str().unwrap();
    let lead = p.j.token("lee", &["leads"]);
    let approve = format!("/v1/requests/{id}/approve");
    let (status, approved) = p.send("POST", &approve, &lead, Some("{}")).await;
    assert_eq!(status, 200, "{approved}");
    assert_eq!(span_ms(&approved["grant"], "created_at", "expires_at"), LONGEST_MS, "{approved}");
    let read = p.ok("GET", &format!("/v1/requests/{id}"), None).await;
    assert_eq!(
        (read["ttl"].as_str(), read["status"].as_str()),
        (Some(LONGEST_HOURS), Some("approved"))
    );
    for limit in ["1", "500"] {
        let listed = p.ok("GET", &format!("/v1/requests?status=all&limit={limit}"), None).await;
        assert_eq!(listed["requests"].as_array().map(Vec::len), Some(1), "{listed}");
    }

    let before = p.settled().await;
    refusals(&p, &alice).await;
    assert_eq!(p.settled().await, before, "a refused call wrote something");
    p.still_healthy().await;
}

async fn refusals(p: &Probe, alice: &str) {
    let put = ("PUT", "/v1/policies/bad");
    for field in
        ["max_ttl", "pending_ttl", "escalate_after", "one_time_ttl", "auto_approve.max_ttl"]
    {
        let at = format!("spec.{}", field.replace('.', "[0]."));
        for bad in BAD_DURATIONS {
            let body = policy("bad", field, &json!(bad).to_string());
            p.refused(put, &p.admin, Some(&body), &at, TTL_RANGE).await;
        }
        for (bad, says) in [("\"0s\"", "above zero"), ("\"-1m\"", "not a duration"), ("1e309", "")]
        {
            p.refused(put, &p.admin, Some(&policy("bad", field, bad)), &at, says).await;
        }
    }
    let late = policy("bad", "escalate_after", &json!(LONGEST).to_string());
    p.refused(put, &p.admin, Some(&late), "spec.escalate_after", "shorter than").await;
    let post = ("POST", "/v1/requests");
    for bad in BAD_DURATIONS {
        p.refused(post, alice, Some(&request(bad)), "ttl", TTL_RANGE).await;
    }
    p.refused(post, alice, Some(&request("0s")), "ttl", "above zero").await;
    let huge = request("1h").replace("\"1h\"", "1e309");
    p.refused(post, alice, Some(&huge), "ttl", "").await;
    for limit in ["0", "501", "-1", "18446744073709551616", "1e309", ""] {
        let list = format!("/v1/requests?limit={limit}");
        p.refused(("GET", &list), &p.admin, None, "limit", "from 1 to 500").await;
    }
    apply_refusals(p).await;
}

fn manifest(ttl: &str, max_uses: &str) -> String {
    let doc = json!({"documents": [{"manifest": {
        "apiVersion": "jitgate.dev/v1alpha1", "kind": "Grant", "metadata": {"name": "ci"},
        "spec": {"subject": "service:ci", "resources": [{"service": "orders", "methods": ["GET"], "paths": ["/orders/**"]}],
            "ttl": "TTL", "max_uses": "USES", "reason": "CI deploys orders"}}}]});
    doc.to_string().replace("\"TTL\"", ttl).replace("\"USES\"", max_uses)
}

async fn apply_refusals(p: &Probe) {
    let post = ("POST", "/v1/apply");
    for bad in BAD_DURATIONS {
        let body = manifest(&json!(bad).to_string(), "1");
        p.refused(post, &p.admin, Some(&body), "spec.ttl", TTL_RANGE).await;
    }
    for uses in ["0", "4294967296", "-1"] {
        let body = manifest(&json!(LONGEST).to_string(), uses);
        p.refused(post, &p.admin, Some(&body), "spec.max_uses", "").await;
    }
}

#[tokio::test]
async fn a_manifest_grant_takes_the_longest_ttl_and_the_most_uses() {
    let p = Probe::start().await;
    let body = manifest(&json!(LONGEST).to_string(), "4294967295");
    let dry = format!("{{\"dry_run\":true,{}", body.trim_start_matches('{'));
    let plan: Value = p.ok("POST", "/v1/apply", Some(&dry)).await;
    assert_eq!(p.written().await[0], 0, "a dry run wrote a grant: {plan}");
    p.ok("POST", "/v1/apply", Some(&body)).await;
    let g = p.ok("GET", "/v1/grants/manifest-ci", None).await;
    assert_eq!(span_ms(&g, "created_at", "expires_at"), LONGEST_MS, "{g}");
    assert_eq!(g["max_uses"].as_u64(), Some(u64::from(u32::MAX)), "{g}");
    p.still_healthy().await;
}
