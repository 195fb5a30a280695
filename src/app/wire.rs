//! Builds everything `jitgate serve` runs from the configuration, in dependency order: the
//! Redis connection and stores, identity, the audit log, the grant cache, the application
//! services, their background loops, and the Check path. Each step is one function; the
//! loops' cadences are named in [`super::cadence`].

use std::str::FromStr;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::audit::AuditWiring;
use super::cadence;
use super::store::{cache_settings, redis_settings, spawn_reasserter, topology};
use crate::api::{ApiState, UiSettings};
use crate::authz::Authorizer;
use crate::config::Config;
use crate::grant::Principal;
use crate::grpc::CheckService;
use crate::health::Readiness;
use crate::metrics::Metrics;
use crate::mode::Modes;
use crate::notify::{NotifySettings, WebhookNotifier};
use crate::store::{
    GrantCache, GrantStore, PendingLimits, RedisConn, RedisPolicies, RedisRequests, RedisStore,
    invalidate,
};
use crate::time::{Clock, SystemClock};
use crate::workflow::{
    Admins, ApplyService, AuditReader, EventSink, GrantService, PolicyService, ReportService,
    RequestLimits, RequestService, stats, sweeper,
};

/// Everything the servers need, built from the configuration.
pub(super) struct Wired {
    pub store: Arc<dyn GrantStore>,
    pub check: CheckService,
    pub state: ApiState,
    pub checkpointer: Option<Arc<crate::audit::tasks::Checkpointer>>,
}

/// What every step shares: the configuration, the environment (secrets), the clock, the
/// metrics, and where background tasks run and how they are stopped.
struct Ctx<'a> {
    config: &'a Config,
    env: &'a [(String, String)],
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
    tracker: &'a TaskTracker,
    cancel: &'a CancellationToken,
}

/// The application services the transports call.
struct Services {
    grants: Arc<GrantService>,
    policies: Arc<PolicyService>,
    requests: Arc<RequestService>,
    reports: Arc<ReportService>,
    admins: Admins,
}

pub(super) async fn wire(
    config: &Config,
    env: &[(String, String)],
    tracker: &TaskTracker,
    cancel: &CancellationToken,
) -> anyhow::Result<Wired> {
    let metrics = Arc::new(Metrics::new());
    let cx = Ctx { config, env, clock: Arc::new(SystemClock), metrics, tracker, cancel };
    let redis =
        RedisConn::connect_to(&topology(config), &redis_settings(config), cx.metrics.clone())?;
    let redis_store = Arc::new(
        RedisStore::with_conn(redis.clone())
            .with_history(config.grants.history_retention.as_duration()),
    );
    let store: Arc<dyn GrantStore> = redis_store.clone();
    let authenticator =
        Arc::new(super::identity::authenticator(config, env, tracker, cancel, &cx.metrics).await?);
    let audit = super::audit::wire(
        config,
        env,
        &redis,
        store.clone(),
        cx.clock.clone(),
        &cx.metrics,
        tracker,
        cancel,
    );
    spawn_reasserter(config, redis_store, audit.log.clone(), tracker, cancel);
    let cache =
        Arc::new(GrantCache::new(store.clone(), cache_settings(config), cx.metrics.clone()));
    invalidate::spawn(cache.clone(), cx.metrics.clone(), tracker, cancel.clone());

    let readers = readers(config)?;
    let services = services(&cx, &redis, &store, &cache, &audit, &readers).await?;
    background(&cx, &services);
    let modes = config.modes();
    announce_modes(&modes, &cx.metrics);
    let authorizer = Authorizer::new(
        authenticator.clone(),
        cache,
        cx.clock.clone(),
        cx.metrics.clone(),
        config.check.deadline.as_duration(),
        config.log.allows,
    )
    .with_one_time_filing(services.policies.handle(), services.requests.clone())
    .with_recorder(audit.recorder.clone())
    .with_modes(modes.clone());
    let public_url =
        config.check.public_url.clone().unwrap_or_else(|| format!("http://{}", config.listen.http));
    let check = CheckService::new(Arc::new(authorizer), cx.metrics.clone(), &public_url);
    let incident_token = secret(env, config.incidents.resolve_token_env.as_ref())
        .map(|s| String::from_utf8_lossy(&s).into_owned());
    let Services { grants, policies, requests, reports, admins } = services;
    let apply = Arc::new(ApplyService::new(
        grants.clone(),
        policies.clone(),
        cx.clock.clone(),
        admins.clone(),
    ));
    let audit_reader = AuditReader::new(audit.log.clone(), admins, readers);
    let state = ApiState {
        grants,
        policies,
        requests,
        apply,
        incident_token,
        authenticator,
        clock: cx.clock,
        metrics: cx.metrics,
        readiness: Arc::new(Readiness::default()),
        audit: Arc::new(audit_reader),
        ui: UiSettings::new(
            config.ui.enabled,
            config.ui.token_header.as_deref(),
            config.check.public_url.as_deref(),
        ),
        modes: Arc::new(modes),
        reports,
    };
    Ok(Wired { store, check, state, checkpointer: audit.checkpointer })
}

/// Policies (loaded now if Redis answers, else in the background), webhook notifications,
/// grants, requests and the access report.
async fn services(
    cx: &Ctx<'_>,
    redis: &RedisConn,
    store: &Arc<dyn GrantStore>,
    cache: &Arc<GrantCache>,
    audit: &AuditWiring,
    readers: &Admins,
) -> anyhow::Result<Services> {
    let config = cx.config;
    let admins = Admins::new(
        config.admins.iter().map(|a| Principal::from_str(a)).collect::<Result<Vec<_>, _>>()?,
    );
    let policies = Arc::new(
        PolicyService::new(Arc::new(RedisPolicies::new(redis.clone())), admins.clone())
            .with_clock(cx.clock.clone()),
    );
    if let Err(e) = policies.reload().await {
        tracing::warn!(error = %e, "Policies not loaded yet (Redis unreachable); retrying in the background");
    }
    let events: Arc<dyn EventSink> = Arc::new(
        WebhookNotifier::spawn(
            notify_settings(config, cx.env),
            policies.handle(),
            cx.metrics.clone(),
            cx.tracker,
            cx.cancel.clone(),
        )
        .map_err(anyhow::Error::msg)?,
    );
    let grants = Arc::new(
        GrantService::new(
            store.clone(),
            cx.clock.clone(),
            admins.clone(),
            config.grants.max_ttl.as_duration(),
            cx.metrics.clone(),
        )
        .with_local_cache(cache.clone())
        .with_events(events.clone())
        .with_audit(audit.log.clone()),
    );
    let reports = Arc::new(
        ReportService::new(
            audit.log.clone(),
            store.clone(),
            Arc::new(RedisPolicies::new(redis.clone())),
            cx.clock.clone(),
        )
        .with_access(admins.clone(), readers.clone(), config.admins.clone()),
    );
    let requests = Arc::new(
        RequestService::new(
            Arc::new(RedisRequests::new(redis.clone())),
            policies.clone(),
            grants.clone(),
            events,
            cx.clock.clone(),
            admins.clone(),
            cx.metrics.clone(),
            config.requests.retention.as_duration(),
        )
        .with_limits(RequestLimits {
            pending: PendingLimits {
                per_requester: config.requests.max_pending_per_requester,
                per_policy: config.requests.max_pending_per_policy,
            },
            one_time_per_minute: config.requests.one_time_per_minute,
        }),
    );
    Ok(Services { grants, policies, requests, reports, admins })
}

/// The services' own loops: policy refresh, the request sweeper, audit writes held while the
/// log was down, and the active-grant gauges.
fn background(cx: &Ctx<'_>, s: &Services) {
    let (tracker, cancel) = (cx.tracker, cx.cancel);
    tracker.spawn(refresh_policies(s.policies.clone(), cancel.clone()));
    tracker.spawn(sweeper::run(
        s.requests.clone(),
        cx.config.requests.sweep_interval.as_duration(),
        cancel.clone(),
    ));
    tracker.spawn(crate::workflow::audit::retry_held(
        s.grants.audit().clone(),
        crate::workflow::audit::RETRY_EVERY,
        cancel.clone(),
    ));
    tracker.spawn(stats::run(
        s.grants.clone(),
        s.requests.clone(),
        cx.metrics.clone(),
        cadence::STATS_EVERY,
        cancel.clone(),
    ));
}

/// `jitgate_mode`, and a warning that cannot be missed when anything runs in shadow mode.
fn announce_modes(modes: &Modes, metrics: &Metrics) {
    metrics.set_modes(modes);
    if modes.any_shadow() {
        tracing::warn!(
            mode = %modes.default,
            shadow_services = ?modes.shadow_services(),
            "Shadow mode: Checks are decided and recorded as usual, but would-be denies are answered allow; nothing is enforced there. Only routes that set `context_extensions.service` are shadowed; calls whose service comes from `Host` are enforced"
        );
    }
}

/// `audit.readers`: who besides admins may read the audit log and access reports.
fn readers(config: &Config) -> anyhow::Result<Admins> {
    let parsed = config.audit.readers.iter().map(|a| Principal::from_str(a));
    Ok(Admins::new(parsed.collect::<Result<Vec<_>, _>>()?))
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
        max_in_flight: cadence::NOTIFY_IN_FLIGHT,
        public_url: c.check.public_url.clone().filter(|_| c.ui.enabled),
    }
}

/// Reloads policies when another replica changed them.
async fn refresh_policies(policies: Arc<PolicyService>, cancel: CancellationToken) {
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(cadence::POLICY_REFRESH_EVERY) => {}
        }
        match policies.refresh().await {
            Ok(true) => tracing::info!(policies = policies.current().len(), "Policies reloaded"),
            Ok(false) => {}
            Err(e) => tracing::debug!(error = %e, "Policy refresh failed; keeping the current set"),
        }
    }
}
