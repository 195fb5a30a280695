//! Path corpus (SECURITY.md rows 19–22) through the real Envoy, for a caller granted only
//! `GET /orders/*` on `orders`: every case states Envoy's answer; an allow is only right when
//! the upstream received a path inside the grant. The upstream's request count is checked.
//! Each target also goes straight to jitgate over gRPC, un-normalized: jitgate must refuse it
//! on its own unless the raw path is inside the grant.

use crate::common::jitgate::check_request;
use crate::report::Tally;
use crate::stack::{Stack, bearer, request};

/// (name, method, request target, expected status).
pub type Case = (&'static str, &'static str, String, u16);

/// True when `path` is inside `GET /orders/*`: split on `/` first, then each segment
/// percent-decoded once, the segments are exactly `orders` and one more that holds no `/`,
/// `\`, `;`, `%`, `#`, control byte or dot segment.
fn inside_grant(method: &str, path: &str) -> bool {
    let path = path.split('?').next().unwrap_or("");
    let Some(body) = path.strip_prefix('/') else { return false };
    let segments: Vec<String> = body.split('/').map(percent_decode).collect();
    let [service, item] = segments.as_slice() else { return false };
    method == "GET"
        && service == "orders"
        && !matches!(item.as_str(), "" | "." | "..")
        && !item.contains(['/', '\\', ';', '%', '#'])
        && !item.chars().any(char::is_control)
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (b[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn path_corpus_never_widens_a_grant() {
    let s = Stack::start().await;
    s.jitgate.grant("user:alice", "orders", &["GET"], &["/orders/*"], "30m").await;
    let token_text = s.jitgate.token("alice", &[]);
    let token = bearer(&token_text);
    let mut tally = Tally::new("paths");
    let mut allowed = 0;
    for (name, method, target, want) in crate::path_cases::cases() {
        let reply = s.send(&request(method, &target, &[("Authorization", &token)], b"")).await;
        let seen_method = reply.json["method"].as_str().unwrap_or("");
        let seen_path = reply.json["path"].as_str().unwrap_or("");
        let good_allow = reply.status == 200 && inside_grant(seen_method, seen_path);
        allowed += usize::from(reply.status == 200);
        // The same target straight over gRPC, without Envoy's normalization: jitgate itself
        // must refuse it unless the raw path is already inside the grant.
        let auth = format!("Bearer {token_text}");
        let direct = s
            .jitgate
            .check(check_request(method, &target, "orders", &[("authorization", &auth)]))
            .await;
        let direct_allow = direct.status.as_ref().is_some_and(|st| st.code == 0);
        let direct_ok = !direct_allow || inside_grant(method, &target);
        let ok = reply.status == want && (want != 200 || good_allow) && direct_ok;
        let leak = (reply.status == 200 && (want != 200 || !good_allow)) || !direct_ok;
        let detail = format!(
            "{method} {target:.80} → {} `{}` (want {want}); upstream saw {seen_method} {seen_path:.80}; direct gRPC allow {direct_allow}",
            reply.status,
            reply.reason()
        );
        tally.record(name, ok, leak, &detail);
    }
    let hits = s.settled_hits().await;
    tally.require("upstream requests", hits == allowed, &format!("{hits} != {allowed} allows"));
    let alive = s.send(&request("GET", "/healthz", &[], b"")).await.status == 200;
    tally.require("Envoy alive", alive, "healthz failed");
    tally.finish(80);
}
