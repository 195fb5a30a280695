//! A decision-aware gRPC load generator for `Authorization/Check`, straight at an ext_authz
//! server (no Envoy). A fixed number of requests (or a time bound, whichever ends first),
//! `--concurrency` in flight over `--connections` HTTP/2 connections, an HDR histogram of
//! latencies, and every answer checked against `--expect` (h2load cannot: it counts
//! `grpc-status` errors as successes). Prints one JSON object.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use envoy_types::pb::envoy::service::auth::v3::authorization_client::AuthorizationClient;
use envoy_types::pb::envoy::service::auth::v3::{CheckRequest, CheckResponse};
use jitgate_bench::{check_request, histogram, percentiles};
use serde_json::json;
use tonic::transport::Channel;

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Expect {
    /// gRPC status OK.
    Allow,
    /// A denied response with HTTP 401.
    Unauthenticated,
    /// A denied response with HTTP 403.
    Forbidden,
    /// Any answer (no check).
    Any,
}

#[derive(Parser)]
struct Args {
    /// The ext_authz server: `127.0.0.1:9191`, or `unix:/path/to/socket`.
    #[arg(long)]
    target: String,
    /// Requests to send in all.
    #[arg(long, default_value_t = 100_000)]
    requests: u64,
    /// Stop after this many seconds even if requests remain.
    #[arg(long, default_value_t = 30.0)]
    max_seconds: f64,
    /// Requests in flight.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// HTTP/2 connections the requests spread over.
    #[arg(long, default_value_t = 1)]
    connections: usize,
    /// Requests sent first and not measured.
    #[arg(long, default_value_t = 1000)]
    warmup: u64,
    /// A file of tokens, one per line, used round-robin (default: no token).
    #[arg(long)]
    tokens: Option<std::path::PathBuf>,
    #[arg(long, default_value = "GET")]
    method: String,
    /// Path; `{i}` is replaced by the request's token index.
    #[arg(long, default_value = "/people/1")]
    path: String,
    #[arg(long, default_value = "bench")]
    service: String,
    #[arg(long, value_enum, default_value = "allow")]
    expect: Expect,
}

fn verdict_ok(expect: Expect, r: &CheckResponse) -> bool {
    use envoy_types::pb::envoy::service::auth::v3::check_response::HttpResponse;
    let code = r.status.as_ref().map_or(-1, |s| s.code);
    let http = match &r.http_response {
        Some(HttpResponse::DeniedResponse(d)) => d.status.as_ref().map_or(0, |s| s.code),
        _ => 200,
    };
    match expect {
        Expect::Allow => code == 0,
        Expect::Unauthenticated => code != 0 && http == 401,
        Expect::Forbidden => code != 0 && http == 403,
        Expect::Any => true,
    }
}

struct Shared {
    next: AtomicU64,
    requests: Arc<[CheckRequest]>,
    expect: Expect,
    deadline: Instant,
    limit: u64,
}

/// One in-flight slot: sends until the shared budget or the deadline runs out.
async fn worker(
    mut client: AuthorizationClient<Channel>,
    shared: Arc<Shared>,
) -> anyhow::Result<(hdrhistogram::Histogram<u64>, u64, u64)> {
    let mut h = histogram()?;
    let (mut unexpected, mut errors) = (0u64, 0u64);
    loop {
        let i = shared.next.fetch_add(1, Ordering::Relaxed);
        if i >= shared.limit || Instant::now() >= shared.deadline {
            return Ok((h, unexpected, errors));
        }
        let req = shared.requests[usize::try_from(i).unwrap_or(0) % shared.requests.len()].clone();
        let started = Instant::now();
        match client.check(req).await {
            Ok(resp) => {
                let us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
                h.saturating_record(us.max(1));
                if !verdict_ok(shared.expect, resp.get_ref()) {
                    unexpected += 1;
                }
            }
            Err(_) => errors += 1,
        }
    }
}

async fn run(
    args: &Args,
    channels: &[Channel],
    requests: Arc<[CheckRequest]>,
    limit: u64,
    deadline: Instant,
) -> anyhow::Result<serde_json::Value> {
    let shared = Arc::new(Shared {
        next: AtomicU64::new(0),
        requests,
        expect: args.expect,
        deadline,
        limit,
    });
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..args.concurrency {
        let client = AuthorizationClient::new(channels[i % channels.len()].clone())
            .max_decoding_message_size(4 << 20);
        tasks.push(tokio::spawn(worker(client, shared.clone())));
    }
    let mut total = histogram()?;
    let (mut unexpected, mut errors) = (0, 0);
    for t in tasks {
        let (h, u, e) = t.await??;
        total.add(&h)?;
        unexpected += u;
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let done = total.len();
    let mut out = json!({
        "requests": done,
        "errors": errors,
        "unexpected": unexpected,
        "seconds": elapsed,
        "rps": done as f64 / elapsed,
    });
    if let (Some(o), Some(p)) = (out.as_object_mut(), percentiles(&total).as_object()) {
        o.extend(p.clone());
    }
    Ok(out)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let tokens: Vec<Option<String>> = match &args.tokens {
        Some(p) => std::fs::read_to_string(p)?
            .lines()
            .filter(|l| !l.is_empty())
            .map(|l| Some(l.to_string()))
            .collect(),
        None => vec![None],
    };
    anyhow::ensure!(!tokens.is_empty(), "the token file is empty");
    let requests: Arc<[CheckRequest]> = tokens
        .iter()
        .enumerate()
        .map(|(i, t)| {
            check_request(
                &args.method,
                &args.path.replace("{i}", &i.to_string()),
                &args.service,
                t.as_deref(),
            )
        })
        .collect();
    let mut channels = Vec::new();
    for _ in 0..args.connections.max(1) {
        channels.push(connect(&args.target).await?);
    }
    let deadline = Instant::now() + Duration::from_secs_f64(args.max_seconds);
    if args.warmup > 0 {
        run(&args, &channels, requests.clone(), args.warmup, deadline).await?;
    }
    let out = run(&args, &channels, requests, args.requests, deadline).await?;
    println!("{out}");
    Ok(())
}

/// One HTTP/2 connection to `target`: a TCP address, or a Unix domain socket as `unix:PATH`.
async fn connect(target: &str) -> anyhow::Result<Channel> {
    let Some(path) = target.strip_prefix("unix:") else {
        return Ok(Channel::from_shared(format!("http://{target}"))?
            .tcp_nodelay(true)
            .connect()
            .await?);
    };
    let path = std::path::PathBuf::from(path);
    // The URI is only a placeholder: the connector dials the socket.
    let channel = tonic::transport::Endpoint::try_from("http://[::1]:50051")?
        .connect_with_connector(tower::service_fn(move |_| {
            let path = path.clone();
            async move {
                Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(
                    tokio::net::UnixStream::connect(path).await?,
                ))
            }
        }))
        .await?;
    Ok(channel)
}
