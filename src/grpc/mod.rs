//! TRANSPORT: the gRPC server on `:9191` — `envoy.service.auth.v3.Authorization/Check` and
//! `grpc.health.v1.Health`. Converts protos to [`CheckAttributes`] and [`Verdict`]s back;
//! decides nothing itself.

// Reached by what callers send: no arithmetic that can overflow, no indexing that can go out
// of bounds, no `panic!` (SECURITY row 64). Checked by clippy, so a regression fails the build.
#![deny(clippy::arithmetic_side_effects, clippy::indexing_slicing, clippy::panic)]

pub mod admin;
mod contract;
mod request;
mod response;

use std::sync::Arc;
use std::time::Instant;

use tracing::Instrument;

use envoy_types::pb::envoy::service::auth::v3::authorization_server::{
    Authorization, AuthorizationServer,
};
use envoy_types::pb::envoy::service::auth::v3::{CheckRequest, CheckResponse};
use tokio::net::{TcpListener, UnixListener};
use tokio_stream::wrappers::UnixListenerStream;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use crate::authz::{Authorizer, CheckAttributes};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::histogram::Histogram;

use crate::metrics::{GrpcLabels, GrpcMethodLabels, Metrics};

pub use contract::{
    HEADER_DECISION_ID, HEADER_GRANT_EXPIRES, HEADER_GRANT_ID, HEADER_MODE, HEADER_SUBJECT,
    HEADER_WOULD_DENY, deny_body,
};

/// The ext_authz service.
pub struct CheckService {
    authorizer: Arc<Authorizer>,
    request_url: String,
    /// This method's series, resolved once instead of looked up by label on every Check.
    duration: Histogram,
    handled_ok: Counter,
}

// === impl CheckService ===

impl CheckService {
    /// `public_url` is the REST API's base URL as callers see it (for request hints).
    pub fn new(authorizer: Arc<Authorizer>, metrics: Arc<Metrics>, public_url: &str) -> Self {
        let request_url = format!("{}/v1/requests", public_url.trim_end_matches('/'));
        let method = GrpcMethodLabels {
            grpc_type: "unary",
            grpc_service: "envoy.service.auth.v3.Authorization",
            grpc_method: "Check",
        };
        let handled = GrpcLabels {
            grpc_type: method.grpc_type,
            grpc_service: method.grpc_service,
            grpc_method: method.grpc_method,
            grpc_code: "OK",
        };
        let duration = metrics.grpc_duration.get_or_create(&method).clone();
        let handled_ok = metrics.grpc_handled.get_or_create(&handled).clone();
        Self { authorizer, request_url, duration, handled_ok }
    }
}

#[tonic::async_trait]
impl Authorization for CheckService {
    async fn check(
        &self,
        request: Request<CheckRequest>,
    ) -> Result<Response<CheckResponse>, Status> {
        let started = Instant::now();
        let span = check_span(&request);
        let verdict = match request::attributes(request.get_ref()) {
            Ok(attrs) => self.authorizer.check(attrs).instrument(span.clone()).await,
            Err(deny) => self.authorizer.reject(deny, &CheckAttributes::default()),
        };
        if !span.is_none() {
            span.record("jitgate.decision_id", verdict.decision_id.as_str());
            let outcome = match &verdict.decision {
                crate::decision::Decision::Allow(_) => "allow",
                crate::decision::Decision::Deny(d) => d.reason.code(),
            };
            span.record("jitgate.decision", outcome);
        }
        let response = response::encode(&verdict, &self.request_url);
        self.duration.observe(started.elapsed().as_secs_f64());
        self.handled_ok.inc();
        Ok(Response::new(response))
    }
}

/// The Check's server span, a child of the trace context Envoy sends in the call's metadata
/// (or, failing that, the one the client sent in the HTTP request Envoy is asking about).
fn check_span(request: &Request<CheckRequest>) -> tracing::Span {
    let span = crate::telemetry::span!(
        "envoy.service.auth.v3.Authorization/Check",
        otel.kind = "server",
        rpc.system = "grpc",
        rpc.service = "envoy.service.auth.v3.Authorization",
        rpc.method = "Check",
        jitgate.decision = tracing::field::Empty,
        jitgate.decision_id = tracing::field::Empty,
    );
    #[cfg(feature = "otel")]
    if !span.is_none() {
        let metadata = request.metadata();
        let from_envoy = crate::telemetry::otel::set_parent(&span, |k| {
            metadata.get(k).and_then(|v| v.to_str().ok())
        });
        if !from_envoy {
            let headers = request
                .get_ref()
                .attributes
                .as_ref()
                .and_then(|a| a.request.as_ref())
                .and_then(|r| r.http.as_ref())
                .map(|h| &h.headers);
            if let Some(h) = headers {
                crate::telemetry::otel::set_parent(&span, |k| h.get(k).map(String::as_str));
            }
        }
    }
    #[cfg(not(feature = "otel"))]
    let _ = request;
    span
}

/// Everything served on the gRPC port.
pub struct GrpcServices<H> {
    pub check: CheckService,
    pub health: tonic_health::pb::health_server::HealthServer<H>,
    /// The admin API, when enabled.
    pub admin: Option<admin::AdminApi>,
    /// Serve gRPC reflection for the admin API and health.
    pub reflection: bool,
    pub max_request_bytes: usize,
}

/// Where the gRPC server listens: the TCP address, and optionally a Unix domain socket as well
/// (a sidecar Envoy in the same pod reaches jitgate through a shared volume without TCP).
pub struct GrpcListeners {
    pub tcp: TcpListener,
    pub unix: Option<UnixListener>,
}

/// Serves Check, Health and (optionally) the admin API on every listener until `shutdown` is
/// cancelled.
pub async fn serve<H: tonic_health::pb::health_server::Health>(
    listeners: GrpcListeners,
    services: GrpcServices<H>,
    shutdown: CancellationToken,
) -> Result<(), tonic::transport::Error> {
    let authz = AuthorizationServer::new(services.check)
        .max_decoding_message_size(services.max_request_bytes);
    // A Check answer is a few hundred bytes: never hold it back waiting for a delayed ACK.
    let tcp = tonic::transport::server::TcpIncoming::from(listeners.tcp).with_nodelay(Some(true));
    let reflection = if services.reflection {
        let built = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(admin::pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .build_v1();
        match built {
            Ok(r) => Some(r),
            Err(e) => {
                tracing::error!(error = %e, "gRPC reflection could not be built; serving without it");
                None
            }
        }
    } else {
        None
    };
    let router = tonic::transport::Server::builder()
        .add_service(services.health)
        .add_service(authz)
        .add_optional_service(services.admin.map(admin::AdminApi::server))
        .add_optional_service(reflection);
    let Some(unix) = listeners.unix else {
        return router.serve_with_incoming_shutdown(tcp, shutdown.cancelled_owned()).await;
    };
    let over_unix = router.clone().serve_with_incoming_shutdown(
        UnixListenerStream::new(unix),
        shutdown.clone().cancelled_owned(),
    );
    let over_tcp = router.serve_with_incoming_shutdown(tcp, shutdown.cancelled_owned());
    tokio::try_join!(over_tcp, over_unix).map(|_| ())
}
