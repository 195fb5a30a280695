//! Set-up and measurement helpers for `make bench`:
//!
//! - `tokens`: mint bench tokens (ES256, the test key) to a file, one per line;
//! - `seed`: write grants straight into Redis through jitgate's own store (the real write
//!   path: Lua, TTLs, indexes, audit record), many at a time;
//! - `revocations`: revoke through one replica's API and time how long another replica keeps
//!   allowing (polling its Check), over many revokes.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use futures_util::{StreamExt, stream};
use jitgate::audit::{AuditKind, record};
use jitgate::store::{GrantStore, RedisSettings, RedisStore};
use jitgate_bench::{check_request, grant, histogram, percentiles, signing_key, token};
use serde_json::json;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Mint tokens: subject `<prefix><i>` for i in 0..count (every token distinct).
    Tokens {
        #[arg(long)]
        count: usize,
        #[arg(long, default_value = "u")]
        prefix: String,
        /// Every token names `<prefix>` itself (distinct tokens, one caller).
        #[arg(long)]
        same_subject: bool,
        /// Groups every token carries (repeatable).
        #[arg(long = "group")]
        groups: Vec<String>,
        /// Seconds until expiry; negative for tokens that expired that long ago.
        #[arg(long, default_value_t = 3600, allow_negative_numbers = true)]
        ttl_secs: i64,
        #[arg(long)]
        out: PathBuf,
    },
    /// Write grants: `principals` subjects `<subject-prefix><i>`, `per-principal` grants each,
    /// grant k covering `GET /people/k/**` on `service` (k = 0 covers `/people/**`).
    Seed {
        #[arg(long, default_value = "redis://127.0.0.1:6379")]
        redis_url: String,
        #[arg(long)]
        principals: usize,
        #[arg(long, default_value_t = 1)]
        per_principal: usize,
        #[arg(long, default_value = "user:u")]
        subject_prefix: String,
        #[arg(long, default_value = "bench")]
        service: String,
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
    },
    /// Revoke `count` grants through `api` and time when `grpc` (another replica) denies.
    Revocations {
        /// The REST API of the replica that revokes.
        #[arg(long)]
        api: String,
        /// The Check port of the replica that must stop allowing.
        #[arg(long)]
        grpc: String,
        /// An admin token for `api`.
        #[arg(long)]
        admin_token: String,
        #[arg(long, default_value_t = 1000)]
        count: usize,
        /// Revocations measured at the same time.
        #[arg(long, default_value_t = 8)]
        parallel: usize,
        /// Give up on one revocation after this long.
        #[arg(long, default_value_t = 5.0)]
        timeout_secs: f64,
        #[arg(long, default_value = "rv")]
        prefix: String,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().cmd {
        Cmd::Tokens { count, prefix, same_subject, groups, ttl_secs, out } => {
            let key = signing_key()?;
            let groups: Vec<&str> = groups.iter().map(String::as_str).collect();
            let mut text = String::with_capacity(count * 520);
            for i in 0..count {
                let sub = if same_subject { prefix.clone() } else { format!("{prefix}{i}") };
                text.push_str(&token(&key, &sub, &groups, ttl_secs)?);
                text.push('\n');
            }
            std::fs::write(out, text)?;
        }
        Cmd::Seed {
            redis_url,
            principals,
            per_principal,
            subject_prefix,
            service,
            concurrency,
        } => {
            seed(&redis_url, principals, per_principal, &subject_prefix, &service, concurrency)
                .await?;
        }
        Cmd::Revocations { api, grpc, admin_token, count, parallel, timeout_secs, prefix } => {
            let r = Revoker {
                api,
                grpc,
                admin: admin_token,
                http: reqwest::Client::new(),
                timeout: Duration::from_secs_f64(timeout_secs),
                key: signing_key()?,
                prefix,
            };
            revocations(Arc::new(r), count, parallel).await?;
        }
    }
    Ok(())
}

async fn seed(
    url: &str,
    principals: usize,
    per_principal: usize,
    prefix: &str,
    service: &str,
    concurrency: usize,
) -> anyhow::Result<()> {
    let settings = RedisSettings {
        url: url.into(),
        key_prefix: "jitgate".into(),
        op_timeout: Duration::from_secs(10),
        connect_timeout: Duration::from_secs(2),
    };
    let store = Arc::new(RedisStore::new(&settings, Arc::new(jitgate::metrics::Metrics::new()))?);
    let started = Instant::now();
    let jobs = (0..principals).flat_map(|p| (0..per_principal).map(move |k| (p, k)));
    let results: Vec<anyhow::Result<()>> = stream::iter(jobs)
        .map(|(p, k)| {
            let store = store.clone();
            async move {
                let g = grant(&format!("{prefix}{p}"), k, service)?;
                let event = record::grant_issued(&g, AuditKind::GrantCreated);
                store.create(&g, &event).await.map_err(|e| anyhow::anyhow!("{e}"))
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let failed = results.iter().filter(|r| r.is_err()).count();
    if let Some(Err(e)) = results.iter().find(|r| r.is_err()) {
        anyhow::bail!("{failed} of {} grants failed, e.g.: {e}", results.len());
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{}",
        json!({"grants": results.len(), "seconds": secs, "per_second": results.len() as f64 / secs})
    );
    Ok(())
}

struct Revoker {
    api: String,
    grpc: String,
    admin: String,
    http: reqwest::Client,
    timeout: Duration,
    key: jsonwebtoken::EncodingKey,
    prefix: String,
}

impl Revoker {
    /// Creates a grant, sees it allowed on the other replica, revokes it, and returns how long
    /// the other replica kept allowing after the revoke was acknowledged (µs).
    async fn one(&self, i: usize) -> anyhow::Result<u64> {
        use envoy_types::pb::envoy::service::auth::v3::authorization_client::AuthorizationClient;
        let sub = format!("{}{i}", self.prefix);
        let body = json!({"subject": format!("user:{sub}"), "resources": [{"service": "bench", "methods": ["GET"], "paths": ["/people/**"]}], "ttl": "1h", "reason": "bench"});
        let created: serde_json::Value = self
            .http
            .post(format!("{}/v1/grants", self.api))
            .bearer_auth(&self.admin)
            .json(&body)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let id = created["id"].as_str().unwrap_or_default().to_string();
        let tok = token(&self.key, &sub, &[], 3600)?;
        let req = check_request("GET", "/people/1", "bench", Some(&tok));
        let mut client = AuthorizationClient::connect(format!("http://{}", self.grpc)).await?;
        let allowed = |r: &envoy_types::pb::envoy::service::auth::v3::CheckResponse| {
            r.status.as_ref().is_some_and(|s| s.code == 0)
        };
        let warm = Instant::now();
        while !allowed(client.check(req.clone()).await?.get_ref()) {
            anyhow::ensure!(
                warm.elapsed() < self.timeout,
                "grant {id} never allowed on the other replica"
            );
        }
        self.http
            .delete(format!("{}/v1/grants/{id}", self.api))
            .bearer_auth(&self.admin)
            .send()
            .await?
            .error_for_status()?;
        let acked = Instant::now();
        loop {
            if !allowed(client.check(req.clone()).await?.get_ref()) {
                return Ok(u64::try_from(acked.elapsed().as_micros()).unwrap_or(u64::MAX));
            }
            anyhow::ensure!(
                acked.elapsed() < self.timeout,
                "grant {id} still allowed after {:?}",
                self.timeout
            );
        }
    }
}

async fn revocations(r: Arc<Revoker>, count: usize, parallel: usize) -> anyhow::Result<()> {
    let mut h = histogram()?;
    let results: Vec<anyhow::Result<u64>> = stream::iter(0..count)
        .map(|i| {
            let r = r.clone();
            async move { r.one(i).await }
        })
        .buffer_unordered(parallel.max(1))
        .collect()
        .await;
    let mut failures = Vec::new();
    for res in results {
        match res {
            Ok(us) => h.saturating_record(us.max(1)),
            Err(e) => failures.push(e.to_string()),
        }
    }
    let mut out = json!({"revocations": h.len(), "failures": failures.len(), "first_failure": failures.first()});
    if let (Some(o), Some(p)) = (out.as_object_mut(), percentiles(&h).as_object()) {
        o.extend(p.clone());
    }
    println!("{out}");
    Ok(())
}
