//! Issue 16 / SECURITY rows 53 and 63: one hostile caller does not degrade everybody else.
//!
//! A real jitgate on a real redis-server. A second user ("victor") does what users do: Checks
//! against his grant, lists his requests, files one and has it approved. We measure his
//! latencies in quiet phases and in noisy phases, alternated so the machine's own noise falls on
//! both, while a hostile user keeps filing the largest requests the budgets allow (64 KiB
//! bodies, 20 pending, then 429s) and listing them, and an anonymous flood sends Checks with
//! 8 KiB paths. Victor's p99 of each operation stays within 2× of the quiet run (each compared
//! at no less than a small floor, so a sub-millisecond quiet p99 does not make the ratio a coin
//! toss on a shared 2-core machine); jitgate's RSS and Redis memory stay within stated bounds.
//!
//! Latency on a shared 2-core machine, with a debug build and the rest of the suite running
//! beside it, is noise-prone, so `make test` asserts the ratios at `JITGATE_NOISY_MAX_RATIO`
//! (default 5: the regression this guards against was 7–20×) with floors for a debug build,
//! and `make soak` (`make soak-noisy`) runs ten rounds (`JITGATE_NOISY_ROUNDS`) against the
//! release server (`JITGATE_SERVER_BIN`) at the 2×, with floors of 1.5 ms for Checks
//! and 5 ms for approvals (`JITGATE_NOISY_FLOORS_MS`). The figures, raw ratios included, are
//! printed for the README.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::jitgate::check_request;
use common::{Jitgate, RedisServer, rss_kib, used_memory};
use envoy_types::pb::envoy::service::auth::v3::authorization_client::AuthorizationClient;
use serde_json::{Value, json};
use tonic::transport::Channel;

/// Checks, listings and file-and-approve cycles victor runs per phase.
const CHECKS: usize = 150;
const LISTINGS: usize = 15;
const APPROVALS: usize = 3;
/// The anonymous flood: tasks, and the pause between one task's Checks (about 200/s).
const FLOOD_TASKS: usize = 2;
const FLOOD_PAUSE: Duration = Duration::from_millis(10);
/// The hostile user's pace: a largest-allowed request, then a listing of his own, every 25 ms
/// (item 2 of the issue filed 151 such requests and listed them in parallel).
const HOSTILE_PAUSE: Duration = Duration::from_millis(25);

/// p99s below these are compared as these (ms): Checks, listings, approvals.
const FLOORS_MS: [f64; 3] = [3.0, 10.0, 25.0];
/// Bounds on growth over the whole run.
const MAX_RSS_GROWTH_KIB: u64 = 64 * 1024;
const MAX_REDIS_GROWTH: u64 = 16 * 1024 * 1024;

fn policy() -> Value {
    json!({"apiVersion": "jitgate.dev/v1alpha1", "kind": "AccessPolicy",
        "metadata": {"name": "orders"},
        "spec": {
            "resources": [{"service": "orders", "methods": ["GET"], "paths": ["/**"]}],
            "requesters": ["group:eng"], "approvers": ["group:leads"], "max_ttl": "1h"}})
}

fn ask(paths: Vec<String>) -> Value {
    json!({"resources": [{"service": "orders", "methods": ["GET"], "paths": paths}], "ttl": "10m", "reason": "INC-1"})
}

fn p99_ms(samples: &mut [Duration]) -> f64 {
    samples.sort();
    let i = (samples.len() * 99).div_ceil(100).saturating_sub(1);
    samples[i.min(samples.len() - 1)].as_secs_f64() * 1000.0
}

/// Victor's latencies in one phase: Checks, listings, approvals.
#[derive(Default)]
struct Samples([Vec<Duration>; 3]);

async fn victor_phase(j: &Jitgate, grpc: &mut AuthorizationClient<Channel>, out: &mut Samples) {
    let victor = j.token("victor", &["eng"]);
    let bearer = format!("Bearer {victor}");
    for i in 0..CHECKS {
        let req = check_request(
            "GET",
            &format!("/orders/{i}"),
            "orders",
            &[("authorization", bearer.as_str())],
        );
        let t = Instant::now();
        let resp = grpc.check(req).await.unwrap().into_inner();
        out.0[0].push(t.elapsed());
        assert_eq!(resp.status.map(|s| s.code), Some(0), "victor's Check must be allowed");
    }
    for _ in 0..LISTINGS {
        let t = Instant::now();
        let (s, v) = j.call("GET", "/v1/requests?mine=true", Some(&victor), None).await;
        out.0[1].push(t.elapsed());
        assert_eq!(s, 200, "{v}");
    }
    let lead = j.token("lee", &["leads"]);
    for _ in 0..APPROVALS {
        let (s, v) =
            j.call("POST", "/v1/requests", Some(&victor), Some(ask(vec!["/v".into()]))).await;
        assert_eq!(s, 201, "victor files: {v}");
        let id = v["id"].as_str().unwrap();
        let t = Instant::now();
        let (s, v) = j.call("POST", &format!("/v1/requests/{id}/approve"), Some(&lead), None).await;
        out.0[2].push(t.elapsed());
        assert_eq!(s, 200, "approval: {v}");
    }
}

/// The hostile user and the anonymous flood, until `stop`, on `rt`: a runtime of their own
/// whose threads run at the lowest CPU priority. On this one machine they stand for clients on
/// other machines, so victor's client never waits behind the attackers' own work and what he
/// feels is jitgate's (and Redis') doing.
fn attack(
    rt: &tokio::runtime::Runtime,
    j: &Jitgate,
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = Vec::new();
    let mallory = j.token("mallory", &["eng"]);
    let base = j.base();
    let (stop2, sent2) = (stop.clone(), sent.clone());
    tasks.push(rt.spawn(async move {
        let client = reqwest::Client::new();
        // Just under the 64 KiB body limit: 60 paths of ~1 KB.
        let paths: Vec<String> = (0..60).map(|i| format!("/{i}/{}", "p".repeat(1000))).collect();
        let body = serde_json::to_vec(&ask(paths)).unwrap();
        while !stop2.load(Ordering::Relaxed) {
            let _ = client
                .post(format!("{base}/v1/requests"))
                .bearer_auth(&mallory)
                .header("content-type", "application/json")
                .body(body.clone())
                .send()
                .await;
            let _ = client
                .get(format!("{base}/v1/requests?status=pending&mine=true"))
                .bearer_auth(&mallory)
                .send()
                .await;
            sent2.fetch_add(2, Ordering::Relaxed);
            tokio::time::sleep(HOSTILE_PAUSE).await;
        }
    }));
    for t in 0..FLOOD_TASKS {
        let (stop, sent) = (stop.clone(), sent.clone());
        let url = format!("http://127.0.0.1:{}", j.grpc);
        tasks.push(rt.spawn(async move {
            let mut grpc = AuthorizationClient::connect(url).await.unwrap();
            let mut n = 0u64;
            let tail = "a".repeat(8 * 1024 - 32);
            while !stop.load(Ordering::Relaxed) {
                let path = format!("/{t}/{n}/{tail}");
                let _ = grpc.check(check_request("GET", &path, "orders", &[])).await;
                sent.fetch_add(1, Ordering::Relaxed);
                n += 1;
                tokio::time::sleep(FLOOD_PAUSE).await;
            }
        }));
    }
    tasks
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_caller_does_not_slow_the_others() {
    let rounds: usize =
        std::env::var("JITGATE_NOISY_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(3);
    let max_ratio: f64 =
        std::env::var("JITGATE_NOISY_MAX_RATIO").ok().and_then(|r| r.parse().ok()).unwrap_or(5.0);
    let floors: Vec<f64> = std::env::var("JITGATE_NOISY_FLOORS_MS")
        .ok()
        .map(|f| f.split(',').map(|n| n.trim().parse().expect("JITGATE_NOISY_FLOORS_MS")).collect())
        .unwrap_or_else(|| FLOORS_MS.to_vec());
    assert_eq!(
        floors.len(),
        3,
        "JITGATE_NOISY_FLOORS_MS: three numbers (Check, listing, approval)"
    );
    let redis = RedisServer::start().await;
    let j = Jitgate::start(&redis.url()).await;
    let (s, v) = j.call("PUT", "/v1/policies/orders", Some(&j.admin_token()), Some(policy())).await;
    assert_eq!(s, 201, "{v}");
    j.grant("user:victor", "orders", &["GET"], &["/orders/**"], "1h").await;
    let mut grpc =
        AuthorizationClient::connect(format!("http://127.0.0.1:{}", j.grpc)).await.unwrap();
    let mut c =
        redis::Client::open(redis.url()).unwrap().get_multiplexed_async_connection().await.unwrap();
    // The hostile user starts at his budget: every request he files from here on is one too many.
    let mallory = j.token("mallory", &["eng"]);
    for i in 0..20 {
        // The largest request the limits allow: 60 paths of ~1 KB, just under 64 KiB.
        let paths = (0..60).map(|p| format!("/{i}/{p}/{}", "m".repeat(1000))).collect();
        let (s, v) = j.call("POST", "/v1/requests", Some(&mallory), Some(ask(paths))).await;
        assert_eq!(s, 201, "{v}");
    }
    // Warm up (token and grant caches, connections), then take the baselines.
    victor_phase(&j, &mut grpc, &mut Samples::default()).await;
    let (rss_before, redis_before) = (rss_kib(j.pid()), used_memory(&mut c).await);
    let (mut quiet, mut noisy) = (Samples::default(), Samples::default());
    let sent = Arc::new(AtomicU64::new(0));
    let attackers = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("attacker")
        .on_thread_start(|| {
            // Raising one's own nice value needs no privilege.
            let _ = rustix::process::setpriority_process(Some(rustix::thread::gettid()), 19);
        })
        .enable_all()
        .build()
        .unwrap();
    for _ in 0..rounds {
        victor_phase(&j, &mut grpc, &mut quiet).await;
        let stop = Arc::new(AtomicBool::new(false));
        let tasks = attack(&attackers, &j, stop.clone(), sent.clone());
        tokio::time::sleep(Duration::from_millis(300)).await;
        victor_phase(&j, &mut grpc, &mut noisy).await;
        stop.store(true, Ordering::Relaxed);
        for t in tasks {
            t.await.unwrap();
        }
    }
    attackers.shutdown_background();
    let (rss_after, redis_after) = (rss_kib(j.pid()), used_memory(&mut c).await);
    let mut report = Vec::new();
    let mut over = Vec::new();
    for (i, what) in ["Check", "listing", "approval"].iter().enumerate() {
        let q = p99_ms(&mut quiet.0[i]);
        let n = p99_ms(&mut noisy.0[i]);
        let ratio = n / q.max(floors[i]);
        report.push(format!(
            "{what}: quiet p99 {q:.2} ms, noisy p99 {n:.2} ms, raw ratio {:.2}, ratio {ratio:.2} (floor {} ms)",
            n / q,
            floors[i]
        ));
        if ratio > max_ratio {
            over.push(what.to_string());
        }
    }
    let rss_growth = rss_after.saturating_sub(rss_before);
    let redis_growth = redis_after.saturating_sub(redis_before);
    report.push(format!(
        "{rounds} rounds, {} hostile calls; jitgate RSS {rss_before} → {rss_after} KiB (+{rss_growth}), Redis used_memory +{redis_growth} B",
        sent.load(Ordering::Relaxed)
    ));
    let report = report.join("\n");
    println!("noisy neighbour:\n{report}");
    assert!(over.is_empty(), "{over:?} slowed more than {max_ratio}x:\n{report}");
    assert!(rss_growth <= MAX_RSS_GROWTH_KIB, "jitgate RSS grew too much:\n{report}");
    assert!(redis_growth <= MAX_REDIS_GROWTH, "Redis grew too much:\n{report}");
    // Mallory's budget held: at most 20 of his requests wait.
    let (_, v) = j.call("GET", "/v1/requests?status=pending", Some(&j.admin_token()), None).await;
    let mallorys = v["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["requester"] == "user:mallory")
        .count();
    assert_eq!(mallorys, 20, "the per-requester budget");
}

/// The control plane's threads run at `control_plane.nice` (10 by default) above the Check
/// workers, so under contention Checks get the CPU first; `0` keeps them level.
#[tokio::test]
async fn the_control_plane_runs_below_the_check_workers() {
    let redis = RedisServer::start().await;
    for (env, expected) in [(None, 10), (Some("0"), 0)] {
        let j = match env {
            None => Jitgate::start(&redis.url()).await,
            Some(n) => {
                Jitgate::start_with(&redis.url(), &[("JITGATE_CONTROL_PLANE_NICE", n)], true).await
            }
        };
        let mut seen = Vec::new();
        for task in std::fs::read_dir(format!("/proc/{}/task", j.pid())).unwrap() {
            let dir = task.unwrap().path();
            let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
            let stat = std::fs::read_to_string(dir.join("stat")).unwrap_or_default();
            // Field 19 is the niceness; fields are counted after the `(comm)` one.
            let nice: i32 =
                stat.rsplit_once(") ").unwrap().1.split(' ').nth(16).unwrap().parse().unwrap();
            seen.push((comm.trim().to_owned(), nice));
        }
        let api: Vec<_> = seen.iter().filter(|(c, _)| c == "jitgate-api").collect();
        assert!(!api.is_empty(), "{seen:?}");
        assert!(api.iter().all(|(_, n)| *n == expected), "control plane at {expected}: {seen:?}");
        let workers: Vec<_> = seen.iter().filter(|(c, _)| c == "tokio-rt-worker").collect();
        assert!(!workers.is_empty() && workers.iter().all(|(_, n)| *n == 0), "{seen:?}");
    }
}
