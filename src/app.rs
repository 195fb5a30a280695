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
use crate::notify::{NotifySettings, WebhookNotifier};
use crate::store::{
    CacheSettings, GrantCache, GrantStore, RedisConn, RedisPolicies, RedisRequests, RedisSettings,
    RedisStore, invalidate,
};
use crate::time::{Clock, SystemClock};
use crate::workflow::{
    Admins, ApplyService, EventSink, GrantService, PolicyService, RequestService, sweeper,
};

/// Runs the server until SIGTERM or Ctrl-C.
pub async fn run(config: Config, env: Vec<(String, String)>) -> anyhow::Result<()> {
    let cancel = CancellationToken::new();
    let tracker = TaskTracker::new();
    let wired = wire(&config, &env, &tracker, &cancel).await?;

    let readiness = wired.state.readiness.clone();
    let (reporter, health_service) = tonic_health::server::health_reporter();
    set_serving(&reporter, false).await;
    tracker.spawn(watch_store(
        wired.store.clone(),
        readiness.clone(),
        reporter.clone(),
        cancel.clone(),
    ));

    let grpc_listener = TcpListener::bind(config.listen.grpc).await.with_context(|| {
        format!("cannot listen for gRPC on {} (`listen.grpc`)", config.listen.grpc)
    })?;
    let http_listener = TcpListener::bind(config.listen.http).await.with_context(|| {
        format!("cannot listen for HTTP on {} (`listen.http`)", config.listen.http)
    })?;
    let admin = config.grpc_admin.enabled.then(|| grpc::admin::AdminApi::new(wired.state.clone()));
    let services = grpc::GrpcServices {
        check: wired.check,
        health: health_service,
        admin,
        reflection: config.grpc_admin.reflection,
        max_request_bytes: config.check.max_request_bytes,
    };
    let grpc_task =
        tokio::spawn(grpc::serve(grpc_listener, services, cancel.clone().cancelled_owned()));
    let router = api::router(wired.state);
    let http_task =
        tokio::spawn(api::serve(http_listener, router, cancel.clone().cancelled_owned()));
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

/// Everything the servers need, built from the configuration.
struct Wired {
    store: Arc<dyn GrantStore>,
    check: CheckService,
    state: ApiState,
}

async fn wire(
    config: &Config,
    env: &[(String, String)],
    tracker: &TaskTracker,
    cancel: &CancellationToken,
) -> anyhow::Result<Wired> {
    let metrics = Arc::new(Metrics::new());
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let redis = RedisConn::connect(&redis_settings(config), metrics.clone())?;
    let store: Arc<dyn GrantStore> = Arc::new(
        RedisStore::with_conn(redis.clone())
            .with_history(config.grants.history_retention.as_duration()),
    );
    let authenticator = Arc::new(authenticator(config, env, tracker, cancel, &metrics).await?);
    let cache = Arc::new(GrantCache::new(store.clone(), cache_settings(config), metrics.clone()));
    invalidate::spawn(cache.clone(), metrics.clone(), tracker, cancel.clone());
    let admins = Admins::new(
        config.admins.iter().map(|a| Principal::from_str(a)).collect::<Result<Vec<_>, _>>()?,
    );

    let policies =
        Arc::new(PolicyService::new(Arc::new(RedisPolicies::new(redis.clone())), admins.clone()));
    if let Err(e) = policies.reload().await {
        tracing::warn!(error = %e, "Policies not loaded yet (Redis unreachable); retrying in the background");
    }
    tracker.spawn(refresh_policies(policies.clone(), cancel.clone()));
    let events: Arc<dyn EventSink> = Arc::new(
        WebhookNotifier::spawn(
            notify_settings(config, env),
            policies.handle(),
            metrics.clone(),
            tracker,
            cancel.clone(),
        )
        .map_err(anyhow::Error::msg)?,
    );
    let grants = Arc::new(
        GrantService::new(
            store.clone(),
            clock.clone(),
            admins.clone(),
            config.grants.max_ttl.as_duration(),
            metrics.clone(),
        )
        .with_local_cache(cache.clone())
        .with_events(events.clone()),
    );
    let requests = Arc::new(RequestService::new(
        Arc::new(RedisRequests::new(redis)),
        policies.clone(),
        grants.clone(),
        events,
        clock.clone(),
        admins.clone(),
        metrics.clone(),
        config.requests.retention.as_duration(),
    ));
    let admins_for_apply = admins;
    tracker.spawn(sweeper::run(
        requests.clone(),
        config.requests.sweep_interval.as_duration(),
        cancel.clone(),
    ));

    let authorizer = Authorizer::new(
        authenticator.clone(),
        cache,
        clock.clone(),
        metrics.clone(),
        config.check.deadline.as_duration(),
        config.log.allows,
    )
    .with_workflow(policies.handle(), requests.clone());
    let public_url =
        config.check.public_url.clone().unwrap_or_else(|| format!("http://{}", config.listen.http));
    let check = CheckService::new(Arc::new(authorizer), metrics.clone(), &public_url);
    let incident_token = secret(env, config.incidents.resolve_token_env.as_ref())
        .map(|s| String::from_utf8_lossy(&s).into_owned());
    let apply = Arc::new(ApplyService::new(
        grants.clone(),
        policies.clone(),
        clock.clone(),
        admins_for_apply,
    ));
    let state = ApiState {
        grants,
        policies,
        requests,
        apply,
        incident_token,
        authenticator,
        clock,
        metrics,
        readiness: Arc::new(Readiness::default()),
    };
    Ok(Wired { store, check, state })
}

fn secret(env: &[(String, String)], var: Option<&String>) -> Option<Vec<u8>> {
    let var = var?;
    env.iter().find(|(k, _)| k == var).map(|(_, v)| v.as_bytes().to_vec())
}

fn notify_settings(c: &Config, env: &[(String, String)]) -> NotifySettings {
    let n = &c.notifications;
    // Per-target secrets are looked up by name at delivery; keep every variable that could be one.
    let secrets = env.iter().map(|(k, v)| (k.clone(), v.as_bytes().to_vec())).collect();
    NotifySettings {
        default_secret: secret(env, n.signing_secret_env.as_ref()),
        secrets,
        timeout: n.timeout.as_duration(),
        max_attempts: n.max_attempts,
        retry_base: n.retry_base.as_duration(),
        queue_size: n.queue_size,
        max_in_flight: 32,
    }
}

/// Reloads policies when another replica changed them (every second).
async fn refresh_policies(policies: Arc<PolicyService>, cancel: CancellationToken) {
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
        match policies.refresh().await {
            Ok(true) => tracing::info!(policies = policies.current().len(), "Policies reloaded"),
            Ok(false) => {}
            Err(e) => tracing::debug!(error = %e, "Policy refresh failed; keeping the current set"),
        }
    }
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
