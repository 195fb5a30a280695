//! OpenTelemetry: a Check's span reaches an OTLP receiver started by the test, as a child of
//! the trace context that came with the call, with the Redis work as its children.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::jitgate::check_request;
use common::otlp::OtlpReceiver;
use common::{Jitgate, RedisServer, wait_until};
use envoy_types::pb::envoy::service::auth::v3::authorization_client::AuthorizationClient;

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT: &str = "00f067aa0ba902b7";

#[tokio::test]
async fn the_check_span_is_a_child_of_the_incoming_trace_context() {
    let receiver = OtlpReceiver::start().await;
    let redis = RedisServer::start().await;
    let endpoint = receiver.endpoint();
    let env = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ("OTEL_SERVICE_NAME", "jitgate-test"),
    ];
    let j = Jitgate::start_with(&redis.url(), &env, true).await;
    j.grant("user:alice", "orders", &["GET"], &["/orders/**"], "15m").await;
    let auth = format!("Bearer {}", j.token("alice", &[]));
    let mut client =
        AuthorizationClient::connect(format!("http://127.0.0.1:{}", j.grpc)).await.unwrap();
    let mut req = tonic::Request::new(check_request(
        "GET",
        "/orders/1",
        "orders",
        &[("authorization", &auth)],
    ));
    // What Envoy sends on the ext_authz call when it traces.
    req.metadata_mut().insert("traceparent", format!("00-{TRACE}-{PARENT}-01").parse().unwrap());
    let resp = client.check(req).await.unwrap().into_inner();
    assert_eq!(resp.status.unwrap().code, 0);

    let exported = wait_until(Duration::from_secs(10), || async {
        receiver.spans().iter().any(|s| s.name.ends_with("Authorization/Check"))
    })
    .await;
    assert!(exported, "no Check span reached the receiver; log:\n{}", j.log());
    let spans = receiver.spans();
    let check = spans.iter().find(|s| s.name.ends_with("Authorization/Check")).unwrap();
    assert_eq!(check.trace_id, TRACE);
    assert_eq!(check.parent_span_id, PARENT);
    assert!(check.service.contains("jitgate-test"), "{check:?}");
    let redis_children = wait_until(Duration::from_secs(5), || async {
        receiver.spans().iter().any(|s| s.name == "redis" && s.parent_span_id == check.span_id)
    })
    .await;
    assert!(redis_children, "no Redis span under the Check: {:?}", receiver.spans());
    let children: Vec<_> =
        receiver.spans().into_iter().filter(|s| s.parent_span_id == check.span_id).collect();
    assert!(children.iter().all(|s| s.trace_id == TRACE), "{children:?}");
}

#[tokio::test]
async fn without_an_otlp_endpoint_nothing_is_traced() {
    let redis = RedisServer::start().await;
    let j = Jitgate::start(&redis.url()).await;
    assert!(!j.log().contains("OpenTelemetry tracing on"), "{}", j.log());
}
