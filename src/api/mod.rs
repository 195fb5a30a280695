//! TRANSPORT: the REST API on `:8080` (axum) — `/v1/grants`, `/healthz`, `/readyz`,
//! `/metrics`, its OpenAPI document at `/openapi.json` ([`openapi`]) — and the web page at
//! `/ui/` ([`ui`]), which calls the same API. Handlers convert JSON to domain types and call
//! the workflow; every error is an [`ApiError`] with a JSON body.

// Reached by what callers send: no arithmetic that can overflow, no indexing that can go out
// of bounds, no `panic!` (SECURITY row 64). Checked by clippy, so a regression fails the build.
#![deny(clippy::arithmetic_side_effects, clippy::indexing_slicing, clippy::panic)]

pub mod audit;
pub mod error;
pub mod extract;
pub mod fair;
pub mod grants;
pub mod incidents;
pub mod manifests;
pub mod me;
pub mod openapi;
pub mod policies;
pub mod reports;
pub mod requests;
pub mod session;
pub mod ui;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use jitgate_api_types::health::{Health, HealthStatus};
use tokio::net::TcpListener;

use crate::health::Readiness;
use crate::identity::Authenticator;
use crate::metrics::{HttpLabels, Metrics};
use crate::mode::Modes;
use crate::time::Clock;
use crate::workflow::{
    ApplyService, AuditReader, GrantService, PolicyService, ReportService, RequestService,
};

pub use error::ApiError;
pub use session::UiSettings;

/// Largest request body accepted (policies, manifests to apply, explain).
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// Largest body of a grant or access request (SECURITY row 63: what one approver reads).
pub const MAX_GRANT_BODY_BYTES: usize = 64 * 1024;

/// Largest body of a decision on a request (approve, deny, cancel: a comment).
pub const MAX_DECISION_BODY_BYTES: usize = 16 * 1024;

/// The body limit of the route `route` (its matched path).
pub fn body_limit(route: &str) -> usize {
    match route {
        "/v1/grants" | "/v1/requests" => MAX_GRANT_BODY_BYTES,
        r if r.starts_with("/v1/requests/") => MAX_DECISION_BODY_BYTES,
        _ => MAX_BODY_BYTES,
    }
}

/// Everything handlers need, injected.
#[derive(Clone)]
pub struct ApiState {
    pub grants: Arc<GrantService>,
    pub policies: Arc<PolicyService>,
    pub requests: Arc<RequestService>,
    pub apply: Arc<ApplyService>,
    /// Shared token incident tools may send to resolve incidents.
    pub incident_token: Option<String>,
    pub authenticator: Arc<Authenticator>,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<Metrics>,
    pub readiness: Arc<Readiness>,
    pub audit: Arc<AuditReader>,
    /// The web page and how its callers sign in (`ui` in the configuration).
    pub ui: UiSettings,
    /// The enforcement modes, shown on `/healthz` and `/readyz` so nobody forgets shadow.
    pub modes: Arc<Modes>,
    /// The access report (`/v1/reports/access`).
    pub reports: Arc<ReportService>,
}

/// The whole HTTP surface, as a router tests can call with `oneshot`.
pub fn router(state: ApiState) -> Router {
    let pages = if state.ui.enabled { ui::routes() } else { Router::new() };
    let fair = fair::FairShare::new(state.ui.token_header.as_ref().map(|h| h.as_str().to_string()));
    Router::new()
        .merge(pages)
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi::serve))
        .route("/v1/me", get(me::me))
        .route(
            "/v1/grants",
            get(grants::list)
                .post(grants::create)
                .layer(DefaultBodyLimit::max(body_limit("/v1/grants"))),
        )
        .route("/v1/grants/{id}", get(grants::get).delete(grants::revoke))
        .route("/v1/policies", get(policies::list))
        .route(
            "/v1/policies/{name}",
            get(policies::get).put(policies::put).delete(policies::delete),
        )
        .route(
            "/v1/requests",
            get(requests::list)
                .post(requests::create)
                .layer(DefaultBodyLimit::max(body_limit("/v1/requests"))),
        )
        .route("/v1/requests/{id}", get(requests::get))
        .route(
            "/v1/requests/{id}/approve",
            post(requests::approve)
                .layer(DefaultBodyLimit::max(body_limit("/v1/requests/{id}/approve"))),
        )
        .route(
            "/v1/requests/{id}/deny",
            post(requests::deny).layer(DefaultBodyLimit::max(body_limit("/v1/requests/{id}/deny"))),
        )
        .route(
            "/v1/requests/{id}/cancel",
            post(requests::cancel)
                .layer(DefaultBodyLimit::max(body_limit("/v1/requests/{id}/cancel"))),
        )
        .route("/v1/incidents/{id}/resolve", post(incidents::resolve))
        .route("/v1/apply", post(manifests::apply))
        .route("/v1/audit", get(audit::query))
        .route("/v1/audit/head", get(audit::head))
        .route("/v1/reports/access", get(reports::access))
        .route("/v1/explain", post(manifests::explain))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(fair, fair::fair_share))
        .layer(middleware::from_fn(too_large_as_json))
        .layer(middleware::from_fn_with_state(state.clone(), count_requests))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// Serves until `shutdown` resolves, then lets in-flight requests finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    // Small JSON replies must not wait for delayed ACKs.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, router).with_graceful_shutdown(shutdown).await
}

async fn healthz(State(state): State<ApiState>) -> Json<Health> {
    Json(Health::new(HealthStatus::Ok, &state.modes))
}

async fn readyz(State(state): State<ApiState>) -> Response {
    if state.readiness.is_ready() {
        Json(Health::new(HealthStatus::Ready, &state.modes)).into_response()
    } else {
        let reasons = state.readiness.reasons().into_iter().map(String::from).collect();
        (StatusCode::SERVICE_UNAVAILABLE, Json(Health::not_ready(reasons, &state.modes)))
            .into_response()
    }
}

async fn metrics(State(state): State<ApiState>) -> Response {
    let content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    ([(header::CONTENT_TYPE, content_type)], state.metrics.encode()).into_response()
}

async fn not_found() -> ApiError {
    ApiError::not_found(
        "no such endpoint: see the README for the API (`/v1/grants`, `/v1/requests`, `/v1/policies`, `/v1/incidents`, `/v1/audit`, `/v1/reports/access`, `/v1/me`, `/ui/`, `/healthz`, `/readyz`, `/metrics`, `/openapi.json`)",
    )
}

/// axum answers a body over [`MAX_BODY_BYTES`] with plain text; the API promises JSON errors.
async fn too_large_as_json(req: Request, next: Next) -> Response {
    let limit = body_limit(req.extensions().get::<MatchedPath>().map_or("", |m| m.as_str()));
    let resp = next.run(req).await;
    let json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if resp.status() != StatusCode::PAYLOAD_TOO_LARGE || json {
        return resp;
    }
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("the request body is larger than {limit} bytes (this endpoint's limit): send less"),
    )
    .into_response()
}

async fn count_requests(State(state): State<ApiState>, req: Request, next: Next) -> Response {
    let route =
        req.extensions().get::<MatchedPath>().map_or("unmatched", |m| m.as_str()).to_string();
    let method = req.method().to_string();
    let resp = next.run(req).await;
    let labels = HttpLabels { method, route, status: resp.status().as_u16() };
    state.metrics.http_requests.get_or_create(&labels).inc();
    resp
}
