//! One stack per category (redis-server, jitgate, the echoing upstream, Envoy with the shipped
//! front-proxy config) and raw HTTP/1.1 helpers that send exactly the bytes a case holds.

use std::time::Duration;

use serde_json::Value;

use crate::common::{Envoy, Jitgate, RedisServer, Upstream, raw_http};

pub struct Stack {
    /// Held so redis-server lives as long as the stack.
    _redis: RedisServer,
    pub jitgate: Jitgate,
    pub upstream: Upstream,
    pub envoy: Envoy,
}

impl Stack {
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// A stack whose jitgate sees extra environment (configuration overrides).
    pub async fn start_with(env: &[(&str, &str)]) -> Self {
        let redis = RedisServer::start().await;
        let jitgate = Jitgate::start_with(&redis.url(), env, true).await;
        let upstream = Upstream::start().await;
        let envoy = Envoy::start(jitgate.grpc, upstream.port).await;
        Self { _redis: redis, jitgate, upstream, envoy }
    }

    /// Sends raw bytes to Envoy's listener; the first response's status and JSON body.
    pub async fn send(&self, request: &[u8]) -> Reply {
        let (status, text) = raw_http(self.envoy.port, request).await;
        let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        let json = serde_json::from_str(body).unwrap_or(Value::Null);
        Reply { status, json }
    }

    /// Sends raw bytes and reads until Envoy closes the connection (or 3 s pass): every
    /// response status seen, for pipelined and smuggling cases.
    pub async fn send_all(&self, request: &[u8]) -> Vec<u16> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream =
            tokio::net::TcpStream::connect(("127.0.0.1", self.envoy.port)).await.expect("connect");
        let _ = stream.write_all(request).await;
        let mut buf = Vec::new();
        let read = async {
            let mut chunk = [0u8; 8192];
            while let Ok(n) = stream.read(&mut chunk).await {
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(3), read).await;
        statuses(&String::from_utf8_lossy(&buf))
    }

    /// The upstream's request count once it has stopped moving (forwarding is asynchronous).
    pub async fn settled_hits(&self) -> usize {
        let mut last = self.upstream.hits();
        for _ in 0..10 {
            tokio::time::sleep(Duration::from_millis(30)).await;
            let now = self.upstream.hits();
            if now == last {
                return now;
            }
            last = now;
        }
        last
    }
}

/// Status codes of every `HTTP/1.x NNN` status line in a byte stream of responses.
fn statuses(text: &str) -> Vec<u16> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("HTTP/1.") {
        let line = &rest[i..];
        if let Some(code) = line.get(9..12).and_then(|c| c.parse().ok())
            && line.as_bytes().get(8) == Some(&b' ')
        {
            out.push(code);
        }
        rest = &rest[i + 7..];
    }
    out
}

/// One response from Envoy.
pub struct Reply {
    pub status: u16,
    /// The JSON body (jitgate's deny, or the upstream's echo), `Null` when not JSON.
    pub json: Value,
}

impl Reply {
    pub fn reason(&self) -> &str {
        self.json["reason"].as_str().unwrap_or("")
    }

    /// Every value the upstream received for header `name`.
    pub fn upstream_header(&self, name: &str) -> Vec<String> {
        self.json["headers"][name]
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
            .unwrap_or_default()
    }
}

/// A raw HTTP/1.1 request: `METHOD TARGET HTTP/1.1`, `Host`, the given header lines (raw bytes,
/// so non-UTF-8 and odd spacing survive), `Connection: close`, and an optional body.
pub fn request(method: &str, target: &str, headers: &[(&str, &[u8])], body: &[u8]) -> Vec<u8> {
    let mut req = format!("{method} {target} HTTP/1.1\r\nHost: example.test\r\n").into_bytes();
    for (k, v) in headers {
        req.extend_from_slice(k.as_bytes());
        req.extend_from_slice(b": ");
        req.extend_from_slice(v);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"Connection: close\r\n");
    if !body.is_empty() {
        req.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    }
    req.extend_from_slice(b"\r\n");
    req.extend_from_slice(body);
    req
}

/// `Authorization: Bearer <token>` as a header pair value.
pub fn bearer(token: &str) -> Vec<u8> {
    format!("Bearer {token}").into_bytes()
}
