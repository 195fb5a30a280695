//! Identity wiring: token issuers and their key sources, refreshed in the background.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::{Config, IssuerConfig};
use crate::grant::Naming;
use crate::identity::{
    Authenticator, Issuer, IssuerRules, JwksLocation, JwksSettings, JwksSource, KeySet, KeySource,
    StaticKeys, TokenCacheSettings, TokenRules, Verifier, VerifierSettings,
};
use crate::metrics::Metrics;

pub(super) async fn authenticator(
    c: &Config,
    env: &[(String, String)],
    tracker: &TaskTracker,
    cancel: &CancellationToken,
    metrics: &Arc<Metrics>,
) -> anyhow::Result<Authenticator> {
    let namings = c.identity.namings().map_err(|e| anyhow::anyhow!(e.join("; ")))?;
    let mut issuers = Vec::new();
    for (ic, naming) in c.identity.issuers.iter().zip(namings) {
        let keys = key_source(c, ic, env).await?;
        if keys.refreshes() {
            tracker.spawn(refresh_keys(
                keys.clone(),
                c.identity.jwks_refresh_interval.as_duration(),
                metrics.clone(),
                cancel.clone(),
            ));
        }
        let form = match &naming {
            Naming::Default => "user:<sub>".to_string(),
            Naming::Qualified(name) => format!("user:{name}/<sub>"),
        };
        tracing::info!(issuer = %ic.issuer, principals = %form, "Issuer trusted");
        let rules = IssuerRules {
            issuer: ic.issuer.clone(),
            audiences: ic.audiences.clone(),
            algorithms: algorithms(ic)?,
            naming,
        };
        issuers.push(Issuer { rules, keys });
    }
    if issuers.is_empty() {
        tracing::warn!(
            "No token issuer is configured (`identity.issuers`): every bearer token will be refused"
        );
    }
    let rules = TokenRules {
        leeway: c.identity.leeway.as_duration(),
        max_lifetime: c.identity.max_token_lifetime.as_duration(),
        groups_claim: c.identity.groups_claim.clone(),
    };
    let cache = TokenCacheSettings {
        max_entries: c.identity.token_cache_size,
        ttl: c.identity.token_cache_ttl.as_duration(),
    };
    let verifier = Verifier::start(verifier_settings(c))
        .context("cannot start the signature verification threads")?;
    Ok(Authenticator::new(issuers, rules, cache).with_verifier(verifier))
}

/// The pool signatures are checked on: `verify_threads` (0 = half the CPUs, at least 1),
/// `nice` +10 so Checks of cached tokens win the CPU during a flood of new ones.
fn verifier_settings(c: &Config) -> VerifierSettings {
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    let threads = match c.identity.verify_threads {
        0 => (cpus / 2).max(1),
        n => n,
    };
    VerifierSettings { threads, queue: c.identity.verify_queue, nice: VERIFY_NICE }
}

/// How much lower the verification threads' priority is than the rest of jitgate.
const VERIFY_NICE: i32 = 10;

fn algorithms(ic: &IssuerConfig) -> anyhow::Result<Vec<jsonwebtoken::Algorithm>> {
    ic.algorithms
        .iter()
        .map(|a| {
            jsonwebtoken::Algorithm::from_str(a).with_context(|| format!("bad algorithm `{a}`"))
        })
        .collect()
}

async fn key_source(
    c: &Config,
    ic: &IssuerConfig,
    env: &[(String, String)],
) -> anyhow::Result<Arc<dyn KeySource>> {
    if let Some(var) = &ic.hs256_secret_env {
        let secret = env
            .iter()
            .find(|(k, _)| k == var)
            .map(|(_, v)| v.clone())
            .with_context(|| format!("`{var}` is not set"))?;
        tracing::warn!(issuer = %ic.issuer, "Issuer uses an HS256 shared secret: for development only");
        return Ok(Arc::new(StaticKeys::new(KeySet::hs256(secret.as_bytes()))));
    }
    let location = match (&ic.jwks_url, &ic.jwks_file) {
        (Some(url), _) => JwksLocation::Url(url.clone()),
        (None, Some(path)) => JwksLocation::File(path.clone()),
        (None, None) => bail!("issuer `{}` has no key source", ic.issuer),
    };
    let settings = JwksSettings {
        min_refetch_interval: c.identity.jwks_min_refetch_interval.as_duration(),
        stale_limit: c.identity.jwks_stale_limit.as_duration(),
        fetch_timeout: c.identity.jwks_timeout.as_duration(),
        max_bytes: 1024 * 1024,
        pinned: algorithms(ic)?,
    };
    let source = JwksSource::new(location.clone(), settings).map_err(anyhow::Error::msg)?;
    match (source.load().await, &location) {
        (Ok(n), _) => tracing::info!(issuer = %ic.issuer, jwks.keys = n, "Issuer keys loaded"),
        (Err(e), JwksLocation::File(_)) => bail!("issuer `{}`: {e}", ic.issuer),
        (Err(e), JwksLocation::Url(_)) => {
            tracing::warn!(issuer = %ic.issuer, error = %e, "Issuer keys unavailable at start; tokens are refused until they load");
        }
    }
    Ok(Arc::new(source))
}

async fn refresh_keys(
    source: Arc<dyn KeySource>,
    every: Duration,
    metrics: Arc<Metrics>,
    cancel: CancellationToken,
) {
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        let ok = source.refresh().await;
        Metrics::count_result(&metrics.jwks_refreshes, if ok { "ok" } else { "error" });
    }
}
