//! Test harness: real redis-server, real jitgate processes, real Envoy and a small upstream,
//! each on a free loopback port chosen at run time, each stopped by its own handle.

#![allow(dead_code, unused_imports, clippy::unwrap_used, clippy::expect_used)]

pub mod cluster;
pub mod envoy;
pub mod failover;
pub mod fault_proxy;
pub mod jitgate;
pub mod otlp;
pub mod redis;
pub mod router;
pub mod sentinel;
pub mod upstream;
pub mod webhook;

use std::net::TcpListener;
use std::time::{Duration, Instant};

pub use envoy::Envoy;
pub use jitgate::Jitgate;
pub use redis::RedisServer;
pub use upstream::Upstream;

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free port")
}

/// `n` distinct loopback ports that were free a moment ago (held open together while chosen,
/// so they cannot repeat).
pub fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> =
        (0..n).map(|_| TcpListener::bind("127.0.0.1:0").expect("no free port")).collect();
    listeners.iter().map(|l| l.local_addr().expect("addr").port()).collect()
}

/// Polls `f` until it returns true or `timeout` passes.
pub async fn wait_until<F, Fut>(timeout: Duration, mut f: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if f().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

/// Sends a signal to a process we started.
pub fn signal(pid: u32, sig: &str) {
    let status =
        std::process::Command::new("kill").arg(format!("-{sig}")).arg(pid.to_string()).status();
    assert!(status.is_ok_and(|s| s.success()), "kill -{sig} {pid} failed");
}

/// The path of a fixture file.
pub fn fixture(rel: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(rel)
}

/// A file in the repository.
pub fn repo_file(rel: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Sends raw bytes as an HTTP/1.1 request (no client-side path normalization) and returns the
/// status code and the whole response (headers and a `Content-Length` body).
pub async fn raw_http(port: u16, request: &[u8]) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    stream.write_all(request).await.expect("write");
    let mut buf = Vec::new();
    let read = async {
        let mut chunk = [0u8; 8192];
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
            if response_complete(&buf) {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(10), read).await;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, text)
}

fn response_complete(buf: &[u8]) -> bool {
    let text = String::from_utf8_lossy(buf);
    let Some((head, body)) = text.split_once("\r\n\r\n") else { return false };
    let length = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_string())
        })
        .and_then(|v| v.parse::<usize>().ok());
    length.is_some_and(|n| body.len() >= n)
}

/// A GET with the given path and extra header lines, as raw HTTP/1.1.
pub fn raw_get(path: &str, headers: &[(&str, &str)]) -> Vec<u8> {
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.into_bytes()
}

/// The resident memory of process `pid`, in KiB (0 when it cannot be read).
pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Redis's `used_memory` (bytes), from `INFO memory`.
pub async fn used_memory(c: &mut ::redis::aio::MultiplexedConnection) -> u64 {
    let info: String = ::redis::cmd("INFO").arg("memory").query_async(c).await.unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap()
}
