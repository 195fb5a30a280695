//! `/v1/grants`: create (admins), list, get, revoke.

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use jitgate_api_types::{GrantBody, GrantList, GrantWithUsage};

use super::ApiState;
use super::error::ApiError;
use super::extract::{Auth, json_body};
use crate::grant::GrantId;
use crate::workflow::grants::GrantFilter;
use crate::workflow::inputs::{self, GrantInput};

const CREATE_EXAMPLE: &str = r#"{"subject": "user:alice", "resources": [{"service": "orders", "methods": ["GET"], "paths": ["/orders/**"]}], "ttl": "15m", "reason": "INC-42"}"#;

pub async fn create(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body: GrantInput = json_body(&body, CREATE_EXAMPLE)?;
    let new = inputs::new_grant(body, &state.grants).map_err(ApiError::invalid)?;
    let grant = state.grants.create(&caller, new).await?;
    let location = format!("/v1/grants/{}", grant.id);
    let body = GrantBody::at(grant, state.clock.now());
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(body)).into_response())
}

pub async fn list(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<GrantList>, ApiError> {
    let filter = GrantFilter::from_query(&query).map_err(ApiError::invalid)?;
    let now = state.clock.now();
    let mut grants = state.grants.list(&caller, filter.subject.as_ref()).await?;
    grants.retain(|g| filter.keeps(g, now));
    let grants = grants.into_iter().map(|g| GrantBody::at(g, now)).collect();
    Ok(Json(GrantList { grants }))
}

pub async fn get(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<GrantWithUsage>, ApiError> {
    let id = GrantId::parse(&id).map_err(ApiError::not_found)?;
    let grant = state.grants.get(&caller, &id).await?;
    let usage = state.grants.usage(&grant).await?;
    Ok(Json(GrantWithUsage { grant: GrantBody::at(grant, state.clock.now()), usage }))
}

pub async fn revoke(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<GrantBody>, ApiError> {
    let id = GrantId::parse(&id).map_err(ApiError::not_found)?;
    let reason = query.get("reason").filter(|r| !r.is_empty()).cloned();
    let grant = state.grants.revoke(&caller, &id, reason).await?;
    Ok(Json(GrantBody::at(grant, state.clock.now())))
}
