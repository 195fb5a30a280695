//! Row 44: a grant expires while a long response is streaming. ext_authz checks only at request
//! start, so the stream must be cut by the route's `max_stream_duration`. The shipped front proxy
//! has no streaming route; this runs it with `max_stream_duration` added to `/orders` and an
//! upstream that streams for 5 s.

use std::time::{Duration, Instant};

use crate::common::{Envoy, Jitgate, RedisServer};
use crate::drive::{Answer, Row, Tally, ms, report, via_envoy};

const MAX_STREAM: Duration = Duration::from_millis(1500);

/// An upstream whose every response is a chunk every 100 ms for 5 s.
async fn streaming_upstream() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = axum::Router::new().fallback(|| async {
        let chunks = futures_util::stream::unfold(0u32, |i| async move {
            if i >= 50 {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            Some((Ok::<_, std::io::Error>(format!("chunk {i}\n")), i + 1))
        });
        axum::body::Body::from_stream(chunks)
    });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    port
}

#[tokio::test]
async fn a_stream_outliving_its_grant_is_cut_at_max_stream_duration() {
    let redis = RedisServer::start().await;
    let j = Jitgate::start(&redis.url()).await;
    let upstream = streaming_upstream().await;
    let route = "- match: { prefix: \"/orders\" }\n                route: { cluster: upstream, timeout: 15s }";
    let bounded = format!(
        "- match: {{ prefix: \"/orders\" }}\n                route: {{ cluster: upstream, timeout: 15s, max_stream_duration: {{ max_stream_duration: {}s }} }}",
        MAX_STREAM.as_secs_f64()
    );
    let envoy = Envoy::start_edited(j.grpc, upstream, &[(route, &bounded)]).await;
    j.grant("user:alice", "orders", &["GET"], &["/orders/**"], "1s").await;
    let alice = j.token("alice", &[]);
    let http = reqwest::Client::new();
    let started = Instant::now();
    let resp = http.get(envoy.url("/orders/feed")).bearer_auth(&alice).send().await.unwrap();
    assert_eq!(resp.status(), 200, "allowed while the grant lives");
    let mut resp = resp;
    let mut tally = Tally::default();
    let mut last_chunk = Duration::ZERO;
    while let Ok(Ok(Some(_))) = tokio::time::timeout(Duration::from_secs(8), resp.chunk()).await {
        last_chunk = started.elapsed();
        // A chunk delivered past the stream limit is access the expired grant no longer gives.
        let a = Answer { allowed: true, reason: String::new(), sent: started, took: last_chunk };
        tally.record(&a, last_chunk <= MAX_STREAM + Duration::from_millis(250));
    }
    let ended = started.elapsed();
    // A new request after expiry is refused.
    let again = via_envoy(&http, &envoy, &alice, "/orders/feed").await;
    tally.record(&again, false);
    let note = format!(
        "grant 1 s, max_stream_duration {}: last chunk {} after the stream opened, closed at {} (it would have run 5 s); next request {}",
        ms(MAX_STREAM),
        ms(last_chunk),
        ms(ended),
        again.reason
    );
    report(Row {
        row: "44",
        fault: "grant expiry while a stream is open",
        tally: &tally,
        recovery: None,
        note,
    });
    assert_eq!(tally.unexpected_allows, 0);
    // No data after the limit (the tally); the close itself may be noticed a little later.
    assert!(ended < Duration::from_secs(4), "the stream was not cut: {ended:?}");
}
