//! Watching jitgate through a Redis failover: a background prober that sends Checks without
//! pause and tallies what came back, so a test can assert "no allow that should not have
//! happened" and measure how long Checks failed closed.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use envoy_types::pb::envoy::service::auth::v3::CheckResponse;
use envoy_types::pb::envoy::service::auth::v3::check_response::HttpResponse;
use tokio::task::JoinHandle;

use super::Jitgate;
use super::jitgate::check_request;

/// What one Check answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    /// A deny with this HTTP status (403 no grant / revoked, 503 store unavailable).
    Deny(i32),
}

pub fn verdict(resp: &CheckResponse) -> Verdict {
    if resp.status.as_ref().map(|s| s.code) == Some(0) {
        return Verdict::Allow;
    }
    match &resp.http_response {
        Some(HttpResponse::DeniedResponse(d)) => {
            Verdict::Deny(d.status.as_ref().map_or(0, |s| s.code))
        }
        _ => Verdict::Deny(0),
    }
}

/// A Check of `GET path` on service `orders` with `token`.
pub async fn check(j: &Jitgate, token: &str, path: &str) -> Verdict {
    let auth = format!("Bearer {token}");
    verdict(&j.check(check_request("GET", path, "orders", &[("authorization", &auth)])).await)
}

/// The tally of one prober.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    pub checks: u64,
    pub allows: u64,
    pub denies_503: u64,
    pub denies_other: u64,
    /// First and last time a Check failed closed (503), from the prober's start.
    pub first_503: Option<Duration>,
    pub last_503: Option<Duration>,
    /// First and last allow, from the prober's start.
    pub first_allow: Option<Duration>,
    pub last_allow: Option<Duration>,
}

pub struct Prober {
    stop: Arc<AtomicBool>,
    task: JoinHandle<Tally>,
}

impl Prober {
    /// Checks `path` for `token` against every replica in turn until stopped.
    pub fn start(replicas: Vec<(u16, String)>, token: String, path: &'static str) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let task = tokio::spawn(async move {
            let started = Instant::now();
            let mut t = Tally::default();
            let clients = replicas;
            while !flag.load(Ordering::Relaxed) {
                for (grpc, _) in &clients {
                    let v = check_port(*grpc, &token, path).await;
                    t.checks += 1;
                    match v {
                        Verdict::Allow => {
                            t.allows += 1;
                            t.first_allow.get_or_insert(started.elapsed());
                            t.last_allow = Some(started.elapsed());
                        }
                        Verdict::Deny(503) => {
                            t.denies_503 += 1;
                            t.first_503.get_or_insert(started.elapsed());
                            t.last_503 = Some(started.elapsed());
                        }
                        Verdict::Deny(_) => t.denies_other += 1,
                    }
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            t
        });
        Self { stop, task }
    }

    pub async fn stop(self) -> Tally {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.expect("prober")
    }
}

async fn check_port(grpc: u16, token: &str, path: &str) -> Verdict {
    use envoy_types::pb::envoy::service::auth::v3::authorization_client::AuthorizationClient;
    let auth = format!("Bearer {token}");
    let Ok(mut client) = AuthorizationClient::connect(format!("http://127.0.0.1:{grpc}")).await
    else {
        return Verdict::Deny(0);
    };
    match client.check(check_request("GET", path, "orders", &[("authorization", &auth)])).await {
        Ok(r) => verdict(&r.into_inner()),
        Err(_) => Verdict::Deny(0),
    }
}

/// The replicas a prober talks to.
pub fn replicas(js: &[&Jitgate]) -> Vec<(u16, String)> {
    js.iter().map(|j| (j.grpc, j.base())).collect()
}
