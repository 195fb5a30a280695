//! `/v1/grants`: create (admins), list, get, revoke.

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::ApiState;
use super::error::ApiError;
use super::extract::{Auth, json_body};
use crate::grant::{GrantId, Principal, Scope, ScopeWire};
use crate::time::Ttl;
use crate::workflow::NewGrant;
use crate::workflow::grants::GrantFilter;

const CREATE_EXAMPLE: &str = r#"{"subject": "user:alice", "resources": [{"service": "orders", "methods": ["GET"], "paths": ["/orders/**"]}], "ttl": "15m", "reason": "INC-42"}"#;

/// The body of `POST /v1/grants`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateGrantBody {
    pub subject: String,
    pub resources: Vec<ScopeWire>,
    pub ttl: String,
    pub reason: String,
    #[serde(default)]
    pub max_uses: Option<u32>,
    #[serde(default)]
    pub incident: Option<String>,
}

pub use crate::workflow::grants::grant_view as grant_json;

/// Converts and validates a body, collecting every problem.
pub fn new_grant(body: CreateGrantBody, state: &ApiState) -> Result<NewGrant, ApiError> {
    let mut errors = Vec::new();
    let subject =
        body.subject.parse::<Principal>().map_err(|e| errors.push(format!("subject: {e}"))).ok();
    let resources = parse_resources(body.resources, &mut errors);
    let ttl = Ttl::parse(&body.ttl)
        .map_err(|e| errors.push(format!("ttl: {e}")))
        .ok()
        .map(Ttl::as_duration);
    errors.extend(state.grants.limit_errors(ttl, &body.reason, body.max_uses));
    let incident = body.incident.filter(|i| !i.is_empty());
    if let Some(i) = &incident
        && let Err(e) = check_incident(i)
    {
        errors.push(format!("incident: {e}"));
    }
    match (subject, ttl) {
        (Some(subject), Some(ttl)) if errors.is_empty() => Ok(NewGrant {
            subject,
            resources,
            ttl,
            reason: body.reason,
            max_uses: body.max_uses,
            incident,
        }),
        _ => Err(ApiError::invalid(errors)),
    }
}

/// Validates each resource scope, naming the index of each bad one.
pub fn parse_resources(wire: Vec<ScopeWire>, errors: &mut Vec<String>) -> Vec<Scope> {
    if wire.is_empty() {
        errors.push("resources: at least one resource is required, e.g. {\"service\": \"orders\", \"methods\": [\"GET\"], \"paths\": [\"/orders/**\"]}".into());
    }
    let mut out = Vec::with_capacity(wire.len());
    for (i, w) in wire.into_iter().enumerate() {
        match Scope::from_wire(w) {
            Ok(s) => out.push(s),
            Err(es) => errors.extend(es.into_iter().map(|e| format!("resources[{i}].{e}"))),
        }
    }
    out
}

/// Incident ids are short tokens from incident tools (`INC-4312`, `PD-Q1W2E3`).
pub fn check_incident(id: &str) -> Result<(), String> {
    let ok =
        id.len() <= 128 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(format!("`{id}` is not an incident id: use letters, digits, `.`, `_`, `:` and `-`"))
    }
}

pub async fn create(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body: CreateGrantBody = json_body(&body, CREATE_EXAMPLE)?;
    let new = new_grant(body, &state)?;
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

pub async fn get(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = GrantId::parse(&id).map_err(ApiError::not_found)?;
    let grant = state.grants.get(&caller, &id).await?;
    Ok(Json(grant_json(&grant, state.clock.now())))
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
