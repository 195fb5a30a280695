//! Wiring for `jitgate serve`: builds the store, cache, key sources, authorizer and servers
//! from the configuration, runs them, and shuts everything down through one cancellation
//! token (report NOT_SERVING, drain, stop listeners, stop background tasks).

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tonic_health::server::HealthReporter;

use crate::api::{self, ApiState};
use crate::authz::Authorizer;
use crate::config::{Config, IssuerConfig};
use crate::grant::Principal;
use crate::grpc::{self, CheckService};
use crate::health::Readiness;
use crate::identity::{
    Authenticator, Issuer, IssuerRules, JwksLocation, JwksSettings, JwksSource, KeySet, KeySource,
    StaticKeys, TokenCacheSettings, TokenRules,
};
use crate::metrics::Metrics;
use crate::store::{CacheSettings, GrantCache, GrantStore, RedisSettings, RedisStore, invalidate};
use crate::time::{Clock, SystemClock};
use crate::workflow::GrantService;

/// Runs the server until SIGTERM or Ctrl-C.
pub async fn run(config: Config, env: Vec<(String, String)>) -> anyhow::Result<()> {
    let metrics = Arc::new(Metrics::new());
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let cancel = CancellationToken::new();
    let tracker = TaskTracker::new();

    let store: Arc<dyn GrantStore> =
        Arc::new(RedisStore::new(&redis_settings(&config), metrics.clone())?);
    let authenticator = Arc::new(authenticator(&config, &env, &tracker, &cancel, &metrics).await?);
    let cache = Arc::new(GrantCache::new(store.clone(), cache_settings(&config), metrics.clone()));
    invalidate::spawn(cache.clone(), metrics.clone(), &tracker, cancel.clone());
    let authorizer = Arc::new(Authorizer::new(
        authenticator.clone(),
        cache.clone(),
        clock.clone(),
        metrics.clone(),
        config.check.deadline.as_duration(),
        config.log.allows,
    ));
    let admins =
        config.admins.iter().map(|a| Principal::from_str(a)).collect::<Result<Vec<_>, _>>()?;
    let grants = Arc::new(
        GrantService::new(
            store.clone(),
            clock.clone(),
            crate::workflow::Admins::new(admins),
            config.grants.max_ttl.as_duration(),
            metrics.clone(),
        )
        .with_local_cache(cache),
    );

    let readiness = Arc::new(Readiness::default());
    let (reporter, health_service) = tonic_health::server::health_reporter();
    set_serving(&reporter, false).await;
    tracker.spawn(watch_store(store.clone(), readiness.clone(), reporter.clone(), cancel.clone()));

    let grpc_listener = TcpListener::bind(config.listen.grpc).await.with_context(|| {
        format!("cannot listen for gRPC on {} (`listen.grpc`)", config.listen.grpc)
    })?;
    let http_listener = TcpListener::bind(config.listen.http).await.with_context(|| {
        format!("cannot listen for HTTP on {} (`listen.http`)", config.listen.http)
    })?;
    let public_url =
        config.check.public_url.clone().unwrap_or_else(|| format!("http://{}", config.listen.http));
    let check = CheckService::new(authorizer, metrics.clone(), &public_url);
    let state = ApiState { grants, authenticator, clock, metrics, readiness: readiness.clone() };

    let grpc_task = tokio::spawn(grpc::serve(
        grpc_listener,
        check,
        health_service,
        config.check.max_request_bytes,
        cancel.clone().cancelled_owned(),
    ));
    let http_task = tokio::spawn(api::serve(
        http_listener,
        api::router(state),
        cancel.clone().cancelled_owned(),
    ));
    tracing::info!(listen.grpc = %config.listen.grpc, listen.http = %config.listen.http, "jitgate serving");

    shutdown_signal().await;
    tracing::info!(drain = ?config.shutdown.drain.as_duration(), "Shutting down: reporting NOT_SERVING, then draining");
    readiness.start_draining();
    set_serving(&reporter, false).await;
    tokio::time::sleep(config.shutdown.drain.as_duration()).await;
    cancel.cancel();
    tracker.close();
    tracker.wait().await;
    grpc_task.await?.context("gRPC server failed")?;
    http_task.await?.context("HTTP server failed")?;
    tracing::info!("jitgate stopped");
    Ok(())
}

fn redis_settings(c: &Config) -> RedisSettings {
    RedisSettings {
        url: c.redis.url.clone(),
        key_prefix: c.redis.key_prefix.clone(),
        op_timeout: c.redis.op_timeout.as_duration(),
        connect_timeout: c.redis.connect_timeout.as_duration(),
    }
}

fn cache_settings(c: &Config) -> CacheSettings {
    CacheSettings {
        staleness_bound: c.cache.staleness_bound.as_duration(),
        poll_interval: c.cache.poll_interval.as_duration(),
        max_principals: c.cache.max_principals,
        entry_ttl: c.cache.entry_ttl.as_duration(),
        pubsub: c.cache.pubsub,
    }
}

async fn set_serving(reporter: &HealthReporter, serving: bool) {
    let status = if serving {
        tonic_health::ServingStatus::Serving
    } else {
        tonic_health::ServingStatus::NotServing
    };
    reporter.set_service_status("", status).await;
    reporter.set_service_status("envoy.service.auth.v3.Authorization", status).await;
}

/// Pings the store every 500 ms and reflects the result in readiness and gRPC health.
async fn watch_store(
    store: Arc<dyn GrantStore>,
    readiness: Arc<Readiness>,
    reporter: HealthReporter,
    cancel: CancellationToken,
) {
    loop {
        let ok = store.ping().await.is_ok();
        if readiness.set_store_ok(ok) {
            tracing::info!(store.reachable = ok, "Grant store reachability changed");
        }
        set_serving(&reporter, readiness.is_ready()).await;
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
    }
}

async fn authenticator(
    c: &Config,
    env: &[(String, String)],
    tracker: &TaskTracker,
    cancel: &CancellationToken,
    metrics: &Arc<Metrics>,
) -> anyhow::Result<Authenticator> {
    let mut issuers = Vec::new();
    for ic in &c.identity.issuers {
        let keys = key_source(c, ic, env).await?;
        if keys.refreshes() {
            tracker.spawn(refresh_keys(
                keys.clone(),
                c.identity.jwks_refresh_interval.as_duration(),
                metrics.clone(),
                cancel.clone(),
            ));
        }
        let rules = IssuerRules {
            issuer: ic.issuer.clone(),
            audiences: ic.audiences.clone(),
            algorithms: algorithms(ic)?,
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
    Ok(Authenticator::new(issuers, rules, cache))
}

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

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
