//! TRANSPORT: the gRPC server on `:9191` — `envoy.service.auth.v3.Authorization/Check` and
//! `grpc.health.v1.Health`. Converts protos to [`CheckAttributes`] and [`Verdict`]s back;
//! decides nothing itself.

pub mod admin;
mod contract;
mod request;
mod response;

use std::sync::Arc;
use std::time::Instant;

use envoy_types::pb::envoy::service::auth::v3::authorization_server::{
    Authorization, AuthorizationServer,
};
use envoy_types::pb::envoy::service::auth::v3::{CheckRequest, CheckResponse};
use tokio::net::TcpListener;
use tonic::{Request, Response, Status};

use crate::authz::{Authorizer, CheckAttributes, Verdict};
use crate::metrics::{GrpcLabels, GrpcMethodLabels, Metrics};

pub use contract::{
    HEADER_DECISION_ID, HEADER_GRANT_EXPIRES, HEADER_GRANT_ID, HEADER_SUBJECT, deny_body,
};

/// The ext_authz service.
pub struct CheckService {
    authorizer: Arc<Authorizer>,
    metrics: Arc<Metrics>,
    request_url: String,
}

// === impl CheckService ===

impl CheckService {
    /// `public_url` is the REST API's base URL as callers see it (for request hints).
    pub fn new(authorizer: Arc<Authorizer>, metrics: Arc<Metrics>, public_url: &str) -> Self {
        let request_url = format!("{}/v1/requests", public_url.trim_end_matches('/'));
        Self { authorizer, metrics, request_url }
    }
}

#[tonic::async_trait]
impl Authorization for CheckService {
    async fn check(
        &self,
        request: Request<CheckRequest>,
    ) -> Result<Response<CheckResponse>, Status> {
        let started = Instant::now();
        let response = match request::attributes(request.get_ref()) {
            Ok(attrs) => {
                let verdict: Verdict = self.authorizer.check(attrs).await;
                response::encode(&verdict, &self.request_url)
            }
            Err(deny) => {
                let verdict = self.authorizer.reject(deny, &CheckAttributes::default());
                response::encode(&verdict, &self.request_url)
            }
        };
        let method = GrpcMethodLabels {
            grpc_type: "unary",
            grpc_service: "envoy.service.auth.v3.Authorization",
            grpc_method: "Check",
        };
        self.metrics.grpc_duration.get_or_create(&method).observe(started.elapsed().as_secs_f64());
        let handled = GrpcLabels {
            grpc_type: method.grpc_type,
            grpc_service: method.grpc_service,
            grpc_method: method.grpc_method,
            grpc_code: "OK",
        };
        self.metrics.grpc_handled.get_or_create(&handled).inc();
        Ok(Response::new(response))
    }
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

/// Serves Check, Health and (optionally) the admin API on `listener` until `shutdown` resolves.
pub async fn serve<H: tonic_health::pb::health_server::Health>(
    listener: TcpListener,
    services: GrpcServices<H>,
    shutdown: impl std::future::Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error> {
    let authz = AuthorizationServer::new(services.check)
        .max_decoding_message_size(services.max_request_bytes);
    // A Check answer is a few hundred bytes: never hold it back waiting for a delayed ACK.
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
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
    tonic::transport::Server::builder()
        .add_service(services.health)
        .add_service(authz)
        .add_optional_service(services.admin.map(admin::AdminApi::server))
        .add_optional_service(reflection)
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await
}
