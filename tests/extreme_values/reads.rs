//! `GET /v1/audit` (`since`, `until`, `limit`, `cursor`, both orders) and
//! `GET /v1/reports/access` (`since`, `until`, `grant_ttl`).

use crate::probe::*;

const FIRST_INSTANT: &str = "1970-01-01T00:00:00Z";
/// The largest cursor a client may send (both parts at `u64::MAX` is refused: no entry).
const LAST_CURSOR: &str = "18446744073709551615-18446744073709551614";

#[tokio::test]
async fn the_audit_log_and_the_report_take_the_widest_windows_and_refuse_past_them() {
    let p = Probe::start().await;
    // Something to find: one grant, so the log holds a `grant.created`.
    let grant = r#"{"subject": "user:alice", "resources": [{"service": "orders", "methods": ["GET"], "paths": ["/orders/**"]}], "ttl": "1h", "reason": "INC-1"}"#;
    p.ok("POST", "/v1/grants", Some(grant)).await;
    let before = p.settled().await;
    let found = |v: &serde_json::Value| v["entries"].as_array().map_or(0, Vec::len);
    for order in ["asc", "desc"] {
        for q in [
            format!("since={FIRST_INSTANT}&until={LAST_INSTANT}"),
            format!("since={LONGEST}&limit=10000"),
            format!("since={LONGEST_HOURS}&until={LAST_INSTANT}&limit=1"),
            "until=100y".to_string(),
        ] {
            let v = p.ok("GET", &format!("/v1/audit?order={order}&{q}"), None).await;
            // Nothing was recorded before 1970; a page of one holds one.
            let ok = match found(&v) {
                0 => q == "until=100y",
                1 => q != "until=100y",
                _ => !q.ends_with("limit=1") && q != "until=100y",
            };
            assert!(ok, "{order} {q}: {v}");
        }
        for cursor in [LAST_CURSOR, "0-1", "1-0"] {
            p.ok("GET", &format!("/v1/audit?order={order}&cursor={cursor}"), None).await;
        }
    }
    for q in [
        format!("since={FIRST_INSTANT}&until={LAST_INSTANT}"),
        format!("since={LONGEST}"),
        format!("since={FIRST_INSTANT}&until=1970-01-01T00:00:00.001Z&grant_ttl={LONGEST}"),
    ] {
        p.ok("GET", &format!("/v1/reports/access?{q}"), None).await;
    }

    for name in ["since", "until"] {
        for bad in ["10000-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "9999-12-31T24:00:00Z"] {
            let audit = format!("/v1/audit?{name}={bad}");
            p.refused(("GET", &audit), &p.admin, None, name, TIME_RANGE).await;
            let report = format!("/v1/reports/access?{name}={bad}");
            p.refused(("GET", &report), &p.admin, None, name, TIME_RANGE).await;
        }
        for bad in BAD_DURATIONS {
            let audit = format!("/v1/audit?{name}={}", bad.replace(' ', "%20"));
            p.refused(("GET", &audit), &p.admin, None, name, TTL_RANGE).await;
            let report = format!("/v1/reports/access?{name}={}", bad.replace(' ', "%20"));
            p.refused(("GET", &report), &p.admin, None, name, TTL_RANGE).await;
        }
    }
    for limit in ["0", "10001", "-1", "18446744073709551616", "1e309", ""] {
        let audit = format!("/v1/audit?limit={limit}");
        p.refused(("GET", &audit), &p.admin, None, "limit", "from 1 to 10000").await;
    }
    for cursor in [
        "0-0",
        "18446744073709551615-18446744073709551615",
        "18446744073709551616-0",
        "-1-0",
        "1e309-0",
    ] {
        let audit = format!("/v1/audit?cursor={cursor}");
        p.refused(("GET", &audit), &p.admin, None, "cursor", cursor).await;
    }
    let report = format!("/v1/reports/access?grant_ttl={TOO_LONG}");
    p.refused(("GET", &report), &p.admin, None, "grant_ttl", TTL_RANGE).await;
    let report = format!("/v1/reports/access?since={LAST_INSTANT}&until={FIRST_INSTANT}");
    p.refused(("GET", &report), &p.admin, None, "since", "before").await;
    assert_eq!(p.settled().await, before, "a read wrote something");
    p.still_healthy().await;
}
