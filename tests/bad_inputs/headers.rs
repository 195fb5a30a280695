//! Header corpus (SECURITY.md rows 15–18, 21, 24) through the real Envoy, for a caller granted
//! `GET /orders/*` on `orders`: client `x-jitgate-*` copies, Envoy-internal and forwarding
//! headers, method overrides, underscores, Host/authority confusion, sizes and bytes. Allows
//! are only right when the upstream saw exactly jitgate's identity headers, once each.

use serde_json::Value;

use crate::report::Tally;
use crate::stack::{Reply, Stack};

/// (name, raw request, expected status, extra check on the upstream's view of an allow).
pub type Case = (&'static str, Vec<u8>, u16, Option<fn(&Reply) -> bool>);

/// The identity headers reached the upstream once each, with jitgate's values.
fn identity_intact(r: &Reply, grant_id: &str) -> bool {
    let one = |k: &str| r.upstream_header(k);
    one("x-jitgate-subject") == ["user:alice"]
        && one("x-jitgate-grant-id") == [grant_id]
        && one("x-jitgate-grant-expires").len() == 1
        && one("x-jitgate-decision-id").len() == 1
        && r.json["headers"]
            .as_object()
            .is_some_and(|h| h.keys().filter(|k| k.starts_with("x-jitgate-")).count() == 4)
}

#[tokio::test]
async fn header_corpus_never_forges_identity_or_widens_scope() {
    let s = Stack::start().await;
    let grant = s.jitgate.grant("user:alice", "orders", &["GET"], &["/orders/*"], "30m").await;
    let token = s.jitgate.token("alice", &[]);
    let mut tally = Tally::new("headers");
    let mut allowed = 0;
    for (name, req, want, check) in crate::header_cases::cases(&token) {
        let reply = s.send(&req).await;
        let intact = reply.status != 200 || identity_intact(&reply, &grant);
        let extra = reply.status != 200 || check.is_none_or(|f| f(&reply));
        allowed += usize::from(reply.status == 200);
        let ok = reply.status == want && intact && extra;
        let leak = reply.status == 200 && (want != 200 || !intact);
        let seen: Value = reply.json["headers"].clone();
        let detail = format!(
            "{} `{}` (want {want}), identity intact {intact}, check {extra}; upstream saw {seen:.300}",
            reply.status,
            reply.reason()
        );
        tally.record(name, ok, leak, &detail);
    }
    let hits = s.settled_hits().await;
    tally.require("upstream requests", hits == allowed, &format!("{hits} != {allowed} allows"));
    tally.finish(40);
}
