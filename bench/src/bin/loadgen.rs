//! A decision-aware gRPC load generator for `Authorization/Check`, straight at an ext_authz
//! server (no Envoy). A fixed number of requests (or a time bound, whichever ends first),
//! `--concurrency` in flight over `--connections` HTTP/2 connections, an HDR histogram of
//! latencies, and every answer checked against `--expect` (h2load cannot: it counts
//! `grpc-status` errors as successes). Prints one JSON object.
//!
//! `--flood N` sends N distinct valid-looking tokens made on the fly (see `jitgate_bench::flood`)
//! instead of a token file, and counts the answers by HTTP status.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use envoy_types::pb::envoy::service::auth::v3::authorization_client::AuthorizationClient;
use envoy_types::pb::envoy::service::auth::v3::{CheckRequest, CheckResponse};
use jitgate_bench::flood::{FloodMix, flood_token};
use jitgate_bench::{check_request, histogram, percentiles, signing_key};
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
    /// Any denied response (never an allow).
    Deny,
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
    /// Send this many distinct flood tokens (made on the fly) instead of `--tokens`.
    #[arg(long)]
    flood: Option<u64>,
    /// With `--flood`: every n-th token is validly signed for a subject with no grant.
    #[arg(long, default_value_t = 10)]
    flood_signed_every: u64,
    /// With `--flood`: every n-th token names an unknown `kid`.
    #[arg(long, default_value_t = 10)]
    flood_unknown_kid_every: u64,
}

/// Where each request comes from: a prepared list used round-robin, or flood tokens.
enum Source {
    List(Arc<[CheckRequest]>),
    Flood { key: jsonwebtoken::EncodingKey, mix: FloodMix, now: i64, path: String, service: String },
}

// === impl Source ===

impl Source {
    fn get(&self, i: u64) -> anyhow::Result<CheckRequest> {
        match self {
            Self::List(list) => Ok(list[usize::try_from(i).unwrap_or(0) % list.len()].clone()),
            Self::Flood { key, mix, now, path, service } => {
                let token = flood_token(key, *mix, i, *now)?;
                Ok(check_request("GET", path, service, Some(&token)))
            }
        }
    }
}

/// The HTTP status Envoy would answer with: 200 for an allow, the denied response's status.
fn http_status(r: &CheckResponse) -> i32 {
    use envoy_types::pb::envoy::service::auth::v3::check_response::HttpResponse;
    match &r.http_response {
        Some(HttpResponse::DeniedResponse(d)) => d.status.as_ref().map_or(0, |s| s.code),
        _ if r.status.as_ref().is_some_and(|s| s.code == 0) => 200,
        _ => 0,
    }
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
        Expect::Deny => code != 0,
        Expect::Any => true,
    }
}

struct Shared {
    next: AtomicU64,
    source: Arc<Source>,
    expect: Expect,
    deadline: Instant,
    limit: u64,
}

/// What one in-flight slot saw: latencies, wrong answers, transport errors, answers by status.
struct Tally {
    h: hdrhistogram::Histogram<u64>,
    unexpected: u64,
    errors: u64,
    statuses: std::collections::BTreeMap<i32, u64>,
}

/// One in-flight slot: sends until the shared budget or the deadline runs out.
async fn worker(
    mut client: AuthorizationClient<Channel>,
    shared: Arc<Shared>,
) -> anyhow::Result<Tally> {
    let mut t = Tally { h: histogram()?, unexpected: 0, errors: 0, statuses: Default::default() };
    loop {
        let i = shared.next.fetch_add(1, Ordering::Relaxed);
        if i >= shared.limit || Instant::now() >= shared.deadline {
            return Ok(t);
        }
        let req = shared.source.get(i)?;
        let started = Instant::now();
        match client.check(req).await {
            Ok(resp) => {
                let us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
                t.h.saturating_record(us.max(1));
                *t.statuses.entry(http_status(resp.get_ref())).or_default() += 1;
                if !verdict_ok(shared.expect, resp.get_ref()) {
                    t.unexpected += 1;
                }
            }
            Err(_) => t.errors += 1,
        }
    }
}

async fn run(
    args: &Args,
    channels: &[Channel],
    source: Arc<Source>,
    limit: u64,
    deadline: Instant,
) -> anyhow::Result<serde_json::Value> {
    let shared =
        Arc::new(Shared { next: AtomicU64::new(0), source, expect: args.expect, deadline, limit });
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..args.concurrency {
        let client = AuthorizationClient::new(channels[i % channels.len()].clone())
            .max_decoding_message_size(4 << 20);
        tasks.push(tokio::spawn(worker(client, shared.clone())));
    }
    let mut total = histogram()?;
    let (mut unexpected, mut errors) = (0, 0);
    let mut statuses = std::collections::BTreeMap::<String, u64>::new();
    for t in tasks {
        let t = t.await??;
        total.add(&t.h)?;
        unexpected += t.unexpected;
        errors += t.errors;
        for (code, n) in t.statuses {
            *statuses.entry(code.to_string()).or_default() += n;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let done = total.len();
    let mut out = json!({
        "requests": done,
        "errors": errors,
        "unexpected": unexpected,
        "seconds": elapsed,
        "rps": done as f64 / elapsed,
        "statuses": statuses,
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
    let source = Arc::new(match args.flood {
        Some(_) => Source::Flood {
            key: signing_key()?,
            mix: FloodMix {
                signed_every: args.flood_signed_every,
                unknown_kid_every: args.flood_unknown_kid_every,
            },
            now: i64::try_from(jsonwebtoken::get_current_timestamp())?,
            path: args.path.clone(),
            service: args.service.clone(),
        },
        None => Source::List(
            tokens
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
                .collect(),
        ),
    });
    let limit = args.flood.unwrap_or(args.requests);
    let mut channels = Vec::new();
    for _ in 0..args.connections.max(1) {
        channels.push(connect(&args.target).await?);
    }
    let deadline = Instant::now() + Duration::from_secs_f64(args.max_seconds);
    if args.warmup > 0 {
        run(&args, &channels, source.clone(), args.warmup, deadline).await?;
    }
    let out = run(&args, &channels, source, limit, deadline).await?;
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
