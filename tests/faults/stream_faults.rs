//! Row 44: a grant expires while streams it let in are still open. ext_authz checks only at
//! request start, so the shipped front proxy (`envoy/front-proxy.yaml`, unchanged) bounds every
//! stream with the connection manager's `max_stream_duration`. Two streams open on a 1-s grant
//! against an upstream that would stream for the bound plus 10 s: a download (the request
//! complete, the answer streaming) and an upload whose body never ends while the answer
//! streams (the shape of a bidirectional H2/gRPC stream, which the route timeout, counted from
//! the end of the request, never bounds). Data delivered after the bound is access the expired
//! grant no longer gives.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::{Envoy, Jitgate, RedisServer, repo_file};
use crate::drive::{Answer, Row, Tally, ms, report, via_envoy};

/// Data may still be in flight this long after the bound.
const TOLERANCE: Duration = Duration::from_millis(250);

/// `common_http_protocol_options.max_stream_duration` of the shipped front proxy.
fn shipped_bound() -> Duration {
    let text = std::fs::read_to_string(repo_file("envoy/front-proxy.yaml")).unwrap();
    let cfg: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
    let hcm = &cfg["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0];
    let raw = hcm["typed_config"]["common_http_protocol_options"]["max_stream_duration"]
        .as_str()
        .expect("envoy/front-proxy.yaml sets no max_stream_duration");
    let secs: f64 = raw.strip_suffix('s').and_then(|s| s.parse().ok()).expect("a `<n>s` value");
    Duration::from_secs_f64(secs)
}

/// An upstream whose every response is a chunk every 100 ms for `length`; it never reads the
/// request body.
async fn streaming_upstream(length: Duration) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let chunks = u32::try_from(length.as_millis() / 100).unwrap();
    let app = axum::Router::new().fallback(move || async move {
        let body = futures_util::stream::unfold(0u32, move |i| async move {
            if i >= chunks {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            Some((Ok::<_, std::io::Error>(format!("chunk {i}\n")), i + 1))
        });
        axum::body::Body::from_stream(body)
    });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    port
}

/// What one stream saw, timed from when it was opened.
#[derive(Debug, Default)]
struct Seen {
    status: u16,
    /// When each read with response body bytes arrived.
    data: Vec<Duration>,
    /// When the connection closed (EOF or reset), if within the wait.
    closed: Option<Duration>,
    /// Whether the response ended with its last chunk (`0\r\n\r\n`), i.e. was not cut.
    complete: bool,
}

/// Opens one raw HTTP/1.1 stream through Envoy; with `upload`, a chunked request body that
/// sends a byte every second and never ends. Reads until the connection closes or `wait` ends.
async fn open_stream(port: u16, token: &str, upload: bool, wait: Duration) -> Seen {
    let mut conn = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let started = Instant::now();
    let head = if upload {
        format!(
            "POST /orders/feed HTTP/1.1\r\nHost: example.test\r\nAuthorization: Bearer {token}\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n"
        )
    } else {
        format!(
            "GET /orders/feed HTTP/1.1\r\nHost: example.test\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
        )
    };
    conn.write_all(head.as_bytes()).await.unwrap();
    let (mut rx, mut tx) = conn.into_split();
    // The write half stays open either way: closing it is a half-close Envoy answers by
    // closing the connection.
    let uploader = tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            if upload && tx.write_all(b"1\r\nx\r\n").await.is_err() {
                return;
            }
        }
    });
    let mut seen = Seen::default();
    let mut buf = Vec::new();
    let mut header_end = None;
    let mut chunk = [0u8; 8192];
    while started.elapsed() < wait {
        let left = wait.saturating_sub(started.elapsed());
        match tokio::time::timeout(left, rx.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => {
                buf.extend_from_slice(&chunk[..n]);
                match header_end {
                    None => {
                        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            header_end = Some(i + 4);
                            let text = String::from_utf8_lossy(&buf[..i]);
                            seen.status = text
                                .split_whitespace()
                                .nth(1)
                                .and_then(|s| s.parse().ok())
                                .unwrap_or(0);
                            if buf.len() > i + 4 {
                                seen.data.push(started.elapsed());
                            }
                        }
                    }
                    Some(_) => seen.data.push(started.elapsed()),
                }
            }
            Ok(_) => {
                seen.closed = Some(started.elapsed());
                break;
            }
            Err(_) => break,
        }
    }
    uploader.abort();
    seen.complete = buf.ends_with(b"\r\n0\r\n\r\n");
    seen
}

fn describe(name: &str, s: &Seen) -> String {
    format!(
        "{name}: {} chunks, last {} after opening, {}",
        s.data.len(),
        s.data.last().map_or("-".into(), |d| ms(*d)),
        match (s.closed, s.complete) {
            (_, true) => "ran to its end (not cut)".to_string(),
            (Some(c), false) => format!("cut at {}", ms(c)),
            (None, false) => "still open when the test stopped waiting".to_string(),
        }
    )
}

#[tokio::test]
async fn streams_outliving_their_grant_are_cut_by_the_shipped_max_stream_duration() {
    let bound = shipped_bound();
    let redis = RedisServer::start().await;
    let j = Jitgate::start(&redis.url()).await;
    let upstream = streaming_upstream(bound + Duration::from_secs(10)).await;
    let envoy = Envoy::start(j.grpc, upstream).await;
    j.grant("user:alice", "orders", &["GET", "POST"], &["/orders/**"], "1s").await;
    let alice = j.token("alice", &[]);
    let wait = bound + Duration::from_secs(12);
    let (download, upload) = tokio::join!(
        open_stream(envoy.port, &alice, false, wait),
        open_stream(envoy.port, &alice, true, wait)
    );
    let mut tally = Tally::default();
    for s in [&download, &upload] {
        for at in &s.data {
            let a =
                Answer { allowed: true, reason: String::new(), sent: Instant::now(), took: *at };
            tally.record(&a, *at <= bound + TOLERANCE);
        }
    }
    // A new request after expiry is refused.
    let http = reqwest::Client::new();
    let again = via_envoy(&http, &envoy, &alice, "/orders/feed").await;
    tally.record(&again, false);
    let note = format!(
        "grant 1 s, shipped max_stream_duration {}, upstream streaming {}: {}; {}; next request {}",
        ms(bound),
        ms(bound + Duration::from_secs(10)),
        describe("download", &download),
        describe("upload + download", &upload),
        again.reason
    );
    report(Row {
        row: "44",
        fault: "grant expiry while streams are open",
        tally: &tally,
        recovery: None,
        note,
    });
    assert_eq!((download.status, upload.status), (200, 200), "both allowed while the grant lived");
    assert!(download.data.len() > 5 && upload.data.len() > 5, "{download:?} {upload:?}");
    assert_eq!(tally.unexpected_allows, 0, "data after the bound, or a new request allowed");
    for (name, s) in [("download", &download), ("upload", &upload)] {
        assert!(!s.complete, "the {name} stream ran to its end: {s:?}");
        // The data stops at the bound (the tally); Envoy then closes the connection within
        // its `delayed_close_timeout` (1 s by default).
        let closed = s.closed.unwrap_or_else(|| panic!("the {name} stream was not closed"));
        assert!(closed <= bound + Duration::from_secs(2), "{name} closed at {closed:?}");
    }
    // The upload is bounded by max_stream_duration alone (nothing else would cut it): its data
    // flows until about the bound, so calls shorter than the bound are not cut either.
    let last = upload.data.last().copied().unwrap_or_default();
    assert!(last + Duration::from_secs(1) >= bound, "the upload was cut early, at {last:?}");
}
