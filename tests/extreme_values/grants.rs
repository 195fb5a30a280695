//! `POST /v1/grants` (`ttl`, `max_uses`) and `GET /v1/grants?expiring_within=`.

use serde_json::{Value, json};

use crate::probe::*;

fn grant(ttl: Value, max_uses: &str) -> String {
    let body = json!({"subject": "user:alice", "resources": [{"service": "orders", "methods": ["GET"], "paths": ["/orders/**"]}], "ttl": ttl, "reason": "INC-1"});
    // Spliced in as text: `1e309` and `18446744073709551616` are no JSON value serde can hold.
    let text = body.to_string();
    match max_uses {
        "" => text,
        n => format!("{},\"max_uses\":{n}}}", text.trim_end_matches('}')),
    }
}

#[tokio::test]
async fn grants_take_the_longest_ttl_and_the_most_uses_and_refuse_one_step_past() {
    let p = Probe::start().await;
    // Valid extremes. The shortest TTL is gone in a millisecond: its answer shows it.
    let short = p.ok("POST", "/v1/grants", Some(&grant(json!("1ms"), ""))).await;
    assert_eq!(span_ms(&short, "created_at", "expires_at"), 1, "{short}");
    // The longest TTL (written either way) with the most and the fewest uses, read back.
    for (ttl, uses) in [(LONGEST, "4294967295"), (LONGEST_HOURS, "1"), (LONGEST, "null")] {
        let made = p.ok("POST", "/v1/grants", Some(&grant(json!(ttl), uses))).await;
        let id = made["id"].as_str().unwrap();
        let back = p.ok("GET", &format!("/v1/grants/{id}"), None).await;
        assert_eq!(span_ms(&back, "created_at", "expires_at"), LONGEST_MS, "{ttl}: {back}");
        assert_eq!(back["max_uses"].as_u64(), uses.parse::<u64>().ok(), "{back}");
    }
    let listed = p.ok("GET", &format!("/v1/grants?expiring_within={LONGEST}"), None).await;
    assert_eq!(listed["grants"].as_array().map(Vec::len), Some(3), "{listed}");
    let far = p.ok("GET", "/v1/grants", None).await;
    let longest = far["grants"].as_array().unwrap().iter().find(|g| g["max_uses"] == 4294967295u64);
    let secs = longest.and_then(|g| g["expires_in_seconds"].as_u64()).unwrap_or(0);
    assert!((3_155_759_000..=3_155_760_000).contains(&secs), "{secs}");

    let before = p.settled().await;
    let post = ("POST", "/v1/grants");
    for ttl in BAD_DURATIONS {
        p.refused(post, &p.admin, Some(&grant(json!(ttl), "")), "ttl", TTL_RANGE).await;
    }
    p.refused(post, &p.admin, Some(&grant(json!("1500us"), "")), "ttl", "millisecond").await;
    p.refused(post, &p.admin, Some(&grant(json!("0s"), "")), "ttl", "above zero").await;
    p.refused(post, &p.admin, Some(&grant(json!("-1h"), "")), "ttl", "not a duration").await;
    p.refused(post, &p.admin, Some(&grant(json!(3600), "")), "ttl", "string").await;
    for raw in ["1e309", "18446744073709551616"] {
        let body = grant(json!("1h"), "").replace("\"1h\"", raw);
        p.refused(post, &p.admin, Some(&body), "ttl", "").await;
    }
    p.refused(post, &p.admin, Some(&grant(json!("1h"), "0")), "max_uses", "at least 1").await;
    for uses in ["4294967296", "18446744073709551615", "-1", "1.5", "\"7\""] {
        let body = grant(json!("1h"), uses);
        p.refused(post, &p.admin, Some(&body), "max_uses", "from 1 to 4294967295").await;
    }
    p.refused(post, &p.admin, Some(&grant(json!("1h"), "1e309")), "max_uses", "").await;
    let list = |q: &str| format!("/v1/grants?expiring_within={q}");
    for q in [TOO_LONG, "99999999999999999999s"] {
        p.refused(("GET", &list(q)), &p.admin, None, "expiring_within", TTL_RANGE).await;
    }
    assert_eq!(p.settled().await, before, "a refused call wrote something");
    p.still_healthy().await;
}
