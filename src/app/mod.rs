//! Wiring for `jitgate serve`: builds the store, cache, key sources, authorizer and servers
//! from the configuration, runs them, and shuts everything down through one cancellation
//! token (report NOT_SERVING, drain, stop listeners, stop background tasks).

mod audit;
mod cadence;
mod identity;
mod listen;
mod store;
mod wire;

use listen::{bind_unix, shutdown_signal};
use store::watch_store;
use wire::wire;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tonic_health::server::HealthReporter;

use crate::api;
use crate::config::{Config, ControlPlaneConfig};
use crate::grpc;

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

async fn set_serving(reporter: &HealthReporter, serving: bool) {
    let status = if serving {
        tonic_health::ServingStatus::Serving
    } else {
        tonic_health::ServingStatus::NotServing
    };
    reporter.set_service_status("", status).await;
    reporter.set_service_status("envoy.service.auth.v3.Authorization", status).await;
}
