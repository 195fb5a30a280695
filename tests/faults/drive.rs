//! The traffic driver and the fault table: Checks straight over gRPC or through Envoy, each
//! classified as allow or deny with its latency, tallies of unexpected allows, and the rows
//! every fault reports.

use std::io::Write;
use std::time::{Duration, Instant};

use envoy_types::pb::envoy::service::auth::v3::authorization_client::AuthorizationClient;
use envoy_types::pb::envoy::service::auth::v3::check_response::HttpResponse;
use tonic::transport::Channel;

use crate::common::jitgate::check_request;
use crate::common::{Envoy, Jitgate};

/// `JITGATE_FAULTS_LONG=1`: the long form (`make test-faults`).
pub fn long() -> bool {
    std::env::var("JITGATE_FAULTS_LONG").is_ok_and(|v| v == "1")
}

/// `short` in the default run, `long` in the long form.
pub fn size(short: usize, long_form: usize) -> usize {
    if long() { long_form } else { short }
}

/// One answer: allowed or not, the deny reason (or HTTP status through Envoy) and the latency.
#[derive(Clone, Debug)]
pub struct Answer {
    pub allowed: bool,
    pub reason: String,
    pub sent: Instant,
    pub took: Duration,
}

/// A gRPC client to one replica, reused across Checks.
#[derive(Clone)]
pub struct Direct {
    client: AuthorizationClient<Channel>,
}

impl Direct {
    pub async fn to(j: &Jitgate) -> Self {
        let channel = Channel::from_shared(format!("http://127.0.0.1:{}", j.grpc))
            .unwrap()
            .connect_timeout(Duration::from_secs(2))
            .connect_lazy();
        Self { client: AuthorizationClient::new(channel) }
    }

    /// `GET <path>` on `orders` as the bearer of `token`. A gRPC failure counts as a deny
    /// (`grpc_error`): Envoy would answer it with 503.
    pub async fn check(&self, token: &str, path: &str) -> Answer {
        let auth = format!("Bearer {token}");
        let req = check_request("GET", path, "orders", &[("authorization", &auth)]);
        let sent = Instant::now();
        let mut c = self.client.clone();
        let resp = tokio::time::timeout(Duration::from_secs(5), c.check(req)).await;
        let took = sent.elapsed();
        let (allowed, reason) = match resp {
            Ok(Ok(r)) => {
                let r = r.into_inner();
                let allowed = r.status.as_ref().map(|s| s.code) == Some(0);
                let reason = match &r.http_response {
                    Some(HttpResponse::DeniedResponse(d)) => {
                        serde_json::from_str::<serde_json::Value>(&d.body)
                            .ok()
                            .and_then(|v| v["reason"].as_str().map(str::to_string))
                            .unwrap_or_default()
                    }
                    _ => String::new(),
                };
                (allowed, reason)
            }
            Ok(Err(status)) => (false, format!("grpc_error:{}", status.code())),
            Err(_) => (false, "client_timeout".into()),
        };
        Answer { allowed, reason, sent, took }
    }
}

/// `GET <path>` through Envoy; allowed means the upstream answered 200.
pub async fn via_envoy(http: &reqwest::Client, envoy: &Envoy, token: &str, path: &str) -> Answer {
    get_url(http, &envoy.url(path), token).await
}

/// `GET url` with a bearer token; allowed means the upstream answered 200.
pub async fn get_url(http: &reqwest::Client, url: &str, token: &str) -> Answer {
    let sent = Instant::now();
    let resp = http.get(url).bearer_auth(token).send().await;
    let took = sent.elapsed();
    match resp {
        Ok(r) => {
            let status = r.status().as_u16();
            let _ = r.bytes().await;
            Answer { allowed: status == 200, reason: status.to_string(), sent, took }
        }
        Err(e) => Answer { allowed: false, reason: format!("client_error:{e}"), sent, took },
    }
}

/// Counts Checks with a known expected decision.
#[derive(Debug, Default)]
pub struct Tally {
    pub checked: usize,
    pub unexpected_allows: usize,
    pub max_deny: Duration,
    pub reasons: std::collections::BTreeMap<String, usize>,
}

impl Tally {
    /// Records an answer; `may_allow` says whether an allow is acceptable at that moment.
    pub fn record(&mut self, a: &Answer, may_allow: bool) {
        self.checked += 1;
        if a.allowed {
            if !may_allow {
                self.unexpected_allows += 1;
                eprintln!("UNEXPECTED ALLOW: {a:?}");
            }
        } else {
            self.max_deny = self.max_deny.max(a.took);
            *self.reasons.entry(a.reason.clone()).or_default() += 1;
        }
    }

    pub fn reasons(&self) -> String {
        self.reasons.iter().map(|(k, v)| format!("{k}×{v}")).collect::<Vec<_>>().join(" ")
    }
}

/// Polls `probe` until it allows (or `limit` passes); the time from `since` to that allow.
pub async fn recovery<F, Fut>(since: Instant, limit: Duration, probe: F) -> Option<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Answer>,
{
    recovery_until(since, limit, probe, |a| a.allowed).await
}

/// Polls `probe` until an answer satisfies `done`; the time from `since` to that answer.
pub async fn recovery_until<F, Fut>(
    since: Instant,
    limit: Duration,
    mut probe: F,
    done: impl Fn(&Answer) -> bool,
) -> Option<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Answer>,
{
    while since.elapsed() < limit {
        if done(&probe().await) {
            return Some(since.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    None
}

/// One line of the fault table.
pub struct Row<'a> {
    pub row: &'a str,
    pub fault: &'a str,
    pub tally: &'a Tally,
    pub recovery: Option<Duration>,
    pub note: String,
}

/// Prints the row and appends it to `$JITGATE_FAULTS_REPORT` when set.
pub fn report(r: Row<'_>) {
    let recovery = r.recovery.map_or_else(|| "-".into(), |d| format!("{} ms", d.as_millis()));
    let form = if long() { "long" } else { "short" };
    let line = format!(
        "{}\t{}\t{}\t{}\t{}\t{}\t{}",
        r.row, r.fault, r.tally.checked, r.tally.unexpected_allows, recovery, r.note, form
    );
    eprintln!("FAULT\t{line}");
    if let Ok(path) = std::env::var("JITGATE_FAULTS_REPORT")
        && let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(path)
    {
        let _ = writeln!(f, "{line}");
    }
}

/// Milliseconds, for notes.
pub fn ms(d: Duration) -> String {
    format!("{} ms", d.as_millis())
}

/// One stream of Checks with a known expectation: allows are acceptable only for Checks sent
/// before `allow_until` (never when `None`).
pub struct Probe {
    pub via: Direct,
    pub token: String,
    pub allow_until: Option<Instant>,
}

impl Probe {
    pub fn new(via: &Direct, token: &str, allow_until: Option<Instant>) -> Self {
        Self { via: via.clone(), token: token.to_string(), allow_until }
    }
}

/// Runs every probe in rounds (all probes of a round concurrently, ~10 ms apart) for `length`,
/// tallying; returns, per probe, when its last allowed Check was sent.
pub async fn run(probes: &[Probe], length: Duration, tally: &mut Tally) -> Vec<Option<Instant>> {
    let started = Instant::now();
    let mut last = vec![None; probes.len()];
    while started.elapsed() < length {
        let round = probes.iter().map(|p| p.via.check(&p.token, "/orders/7"));
        let answers = futures_util::future::join_all(round).await;
        for ((p, a), last) in probes.iter().zip(&answers).zip(&mut last) {
            tally.record(a, p.allow_until.is_some_and(|u| a.sent < u));
            if a.allowed {
                *last = Some(a.sent);
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    last
}

/// How long after `since` the last allow in `last` was sent ("-" when none was).
pub fn after(since: Instant, last: &[Option<Instant>]) -> String {
    match last.iter().flatten().max() {
        Some(t) if *t >= since => ms(*t - since),
        Some(_) => "none after".into(),
        None => "none".into(),
    }
}
