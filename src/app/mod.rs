//! Wiring for `jitgate serve`: builds the store, cache, key sources, authorizer and servers
//! from the configuration, runs them, and shuts everything down through one cancellation
//! token (report NOT_SERVING, drain, stop listeners, stop background tasks).

mod audit;
mod identity;
mod listen;
mod store;

use listen::{bind_unix, shutdown_signal};
use store::{cache_settings, redis_settings, spawn_reasserter, topology, watch_store};

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tonic_health::server::HealthReporter;

use crate::api::{self, ApiState, UiSettings};
use crate::authz::Authorizer;
use crate::config::{Config, ControlPlaneConfig};
use crate::grant::Principal;
use crate::grpc::{self, CheckService};
use crate::health::Readiness;
use crate::metrics::Metrics;
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
    let unix_listener = config.listen.grpc_unix.as_deref().map(bind_unix).transpose()?;
    let admin = config.grpc_admin.enabled.then(|| {
        let s = &wired.state;
        grpc::admin::AdminApi::new(grpc::admin::AdminServices {
            grants: s.grants.clone(),
            requests: s.requests.clone(),
            policies: s.policies.clone(),
            authenticator: s.authenticator.clone(),
            clock: s.clock.clone(),
        })
    });
    let services = grpc::GrpcServices {
        check: wired.check,
        health: health_service,
        admin,
        reflection: config.grpc_admin.reflection,
        max_request_bytes: config.check.max_request_bytes,
    };
    let listeners = grpc::GrpcListeners { tcp: grpc_listener, unix: unix_listener };
    let grpc_task = tokio::spawn(grpc::serve(listeners, services, cancel.clone()));
    let router = api::router(wired.state);
    // The control plane (REST API, web page) runs on a runtime of its own
    // (`control_plane.threads`, at lower CPU priority than the Check workers): a
    // caller's large listing or body uses those (at most `api::fair::PER_CALLER` of them at
    // once), never the Check workers.
    let control = ControlPlane::start(&config.control_plane)?;
    let http_listener = http_listener.into_std().context("HTTP listener")?;
    let shutdown = cancel.clone().cancelled_owned();
    let http_task = control.spawn(async move {
        api::serve(TcpListener::from_std(http_listener)?, router, shutdown).await
    });
    tracing::info!(
        listen.grpc = %config.listen.grpc,
        listen.grpc_unix = config.listen.grpc_unix.as_ref().map(|p| p.display().to_string()),
        listen.http = %config.listen.http,
        "jitgate serving"
    );

    shutdown_signal().await;
    tracing::info!(drain = ?config.shutdown.drain.as_duration(), "Shutting down: reporting NOT_SERVING, then draining");
    readiness.start_draining();
    set_serving(&reporter, false).await;
    tokio::time::sleep(config.shutdown.drain.as_duration()).await;
    cancel.cancel();
    tracker.close();
    tracker.wait().await;
    if let Some(c) = wired.checkpointer {
        c.write_once().await;
    }
    grpc_task.await?.context("gRPC server failed")?;
    if let Some(path) = &config.listen.grpc_unix {
        let _ = std::fs::remove_file(path);
    }
    http_task.await?.context("HTTP server failed")?;
    tracing::info!("jitgate stopped");
    Ok(())
}

/// The runtime the REST API runs on (SECURITY row 63: one caller's control-plane work, however
/// heavy, cannot hold up Checks on their workers). Shut down in the background when dropped, so
/// dropping it inside the main runtime is safe.
struct ControlPlane(Option<tokio::runtime::Runtime>);

impl ControlPlane {
    fn start(config: &ControlPlaneConfig) -> anyhow::Result<Self> {
        let nice = config.nice;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(config.threads)
            .thread_name("jitgate-api")
            // Lower CPU priority than the Check workers: when both want the CPU, Checks get it.
            .on_thread_start(move || crate::priority::lower_priority(nice))
            .enable_all()
            .build()
            .context("cannot start the control-plane runtime")?;
        Ok(Self(Some(rt)))
    }

    fn spawn<F>(&self, task: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: std::future::Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match &self.0 {
            Some(rt) => rt.spawn(task),
            None => tokio::spawn(task),
        }
    }
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

/// Everything the servers need, built from the configuration.
struct Wired {
    store: Arc<dyn GrantStore>,
    check: CheckService,
    state: ApiState,
    checkpointer: Option<Arc<crate::audit::tasks::Checkpointer>>,
}

async fn wire(
    config: &Config,
    env: &[(String, String)],
    tracker: &TaskTracker,
    cancel: &CancellationToken,
) -> anyhow::Result<Wired> {
    let metrics = Arc::new(Metrics::new());
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let redis = RedisConn::connect_to(&topology(config), &redis_settings(config), metrics.clone())?;
    let redis_store = Arc::new(
        RedisStore::with_conn(redis.clone())
            .with_history(config.grants.history_retention.as_duration()),
    );
    let store: Arc<dyn GrantStore> = redis_store.clone();
    let authenticator =
        Arc::new(identity::authenticator(config, env, tracker, cancel, &metrics).await?);
    let audit =
        audit::wire(config, env, &redis, store.clone(), clock.clone(), &metrics, tracker, cancel);
    spawn_reasserter(config, redis_store, audit.log.clone(), tracker, cancel);
    let cache = Arc::new(GrantCache::new(store.clone(), cache_settings(config), metrics.clone()));
    invalidate::spawn(cache.clone(), metrics.clone(), tracker, cancel.clone());
    let admins = Admins::new(
        config.admins.iter().map(|a| Principal::from_str(a)).collect::<Result<Vec<_>, _>>()?,
    );

    let policies = Arc::new(
        PolicyService::new(Arc::new(RedisPolicies::new(redis.clone())), admins.clone())
            .with_clock(clock.clone()),
    );
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
        .with_events(events.clone())
        .with_audit(audit.log.clone()),
    );
    let reports = Arc::new(
        ReportService::new(
            audit.log.clone(),
            store.clone(),
            Arc::new(RedisPolicies::new(redis.clone())),
            clock.clone(),
        )
        .with_access(admins.clone(), readers(config)?, config.admins.clone()),
    );
    let requests = Arc::new(
        RequestService::new(
            Arc::new(RedisRequests::new(redis)),
            policies.clone(),
            grants.clone(),
            events,
            clock.clone(),
            admins.clone(),
            metrics.clone(),
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
    let admins_for_reader = admins.clone();
    let admins_for_apply = admins;
    let audit_readers = readers(config)?;
    tracker.spawn(sweeper::run(
        requests.clone(),
        config.requests.sweep_interval.as_duration(),
        cancel.clone(),
    ));
    tracker.spawn(crate::workflow::audit::retry_held(
        grants.clone(),
        crate::workflow::audit::RETRY_EVERY,
        cancel.clone(),
    ));
    tracker.spawn(stats::run(
        grants.clone(),
        requests.clone(),
        metrics.clone(),
        Duration::from_secs(15),
        cancel.clone(),
    ));

    let modes = config.modes();
    announce_modes(&modes, &metrics);
    let authorizer = Authorizer::new(
        authenticator.clone(),
        cache,
        clock.clone(),
        metrics.clone(),
        config.check.deadline.as_duration(),
        config.log.allows,
    )
    .with_one_time_filing(policies.handle(), requests.clone())
    .with_recorder(audit.recorder.clone())
    .with_modes(modes.clone());
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
        audit: Arc::new(AuditReader::new(audit.log.clone(), admins_for_reader, audit_readers)),
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

/// `jitgate_mode`, and a warning that cannot be missed when anything runs in shadow mode.
fn announce_modes(modes: &crate::mode::Modes, metrics: &Metrics) {
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
        max_in_flight: 32,
        public_url: c.check.public_url.clone().filter(|_| c.ui.enabled),
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

async fn set_serving(reporter: &HealthReporter, serving: bool) {
    let status = if serving {
        tonic_health::ServingStatus::Serving
    } else {
        tonic_health::ServingStatus::NotServing
    };
    reporter.set_service_status("", status).await;
    reporter.set_service_status("envoy.service.auth.v3.Authorization", status).await;
}
