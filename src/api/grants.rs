//! `/v1/grants`: create (admins), list, get, revoke.

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::ApiState;
use super::error::ApiError;
use super::extract::{Auth, json_body};
use crate::grant::GrantId;
use crate::workflow::grants::GrantFilter;
use crate::workflow::inputs::GrantInput;

const CREATE_EXAMPLE: &str = r#"{"subject": "user:alice", "resources": [{"service": "orders", "methods": ["GET"], "paths": ["/orders/**"]}], "ttl": "15m", "reason": "INC-42"}"#;

pub use crate::workflow::grants::grant_view as grant_json;

pub async fn create(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body: GrantInput = json_body(&body, CREATE_EXAMPLE)?;
    let new = body.validate(&state.grants).map_err(ApiError::invalid)?;
    let grant = state.grants.create(&caller, new).await?;
    let location = format!("/v1/grants/{}", grant.id);
    let body = grant_json(&grant, state.clock.now());
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(body)).into_response())
}

pub async fn list(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let filter = GrantFilter::from_query(&query).map_err(ApiError::invalid)?;
    let now = state.clock.now();
    let mut grants = state.grants.list(&caller, filter.subject.as_ref()).await?;
    grants.retain(|g| filter.keeps(g, now));
    let items: Vec<Value> = grants.iter().map(|g| grant_json(g, now)).collect();
    Ok(Json(json!({ "grants": items })))
}

#[expect(
    clippy::indexing_slicing,
    reason = "adds keys to a JSON object built here: `IndexMut` inserts them, it cannot panic"
)]
pub async fn get(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = GrantId::parse(&id).map_err(ApiError::not_found)?;
    let grant = state.grants.get(&caller, &id).await?;
    let usage = state.grants.usage(&grant).await?;
    let mut body = grant_json(&grant, state.clock.now());
    body["usage"] = json!(usage);
    Ok(Json(body))
}

pub async fn revoke(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let id = GrantId::parse(&id).map_err(ApiError::not_found)?;
    let reason = query.get("reason").filter(|r| !r.is_empty()).cloned();
    let grant = state.grants.revoke(&caller, &id, reason).await?;
    Ok(Json(grant_json(&grant, state.clock.now())))
}
