//! `/v1/requests`: file an access request, read and list them (the approver's queue and a
//! requester's history among the filters), approve, deny, cancel.

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use jitgate_api_types::{DecisionBody, GrantBody, RequestBody, RequestList};

use super::ApiState;
use super::error::ApiError;
use super::extract::{Auth, json_body};
use crate::access::{AccessRequest, RequestId};
use crate::decision::Caller;
use crate::grant::Principal;
use crate::workflow::inputs::{self, RequestInput};
use crate::workflow::{DEFAULT_PAGE, LIST_LIMIT, ListCursor, RequestFilter};

const EXAMPLE: &str = r#"{"resources": [{"service": "orders", "methods": ["GET"], "paths": ["/orders/**"]}], "ttl": "30m", "reason": "INC-4312 latency"}"#;

/// A request as the API shows `caller`, with the grant an approval made when it still exists.
async fn with_grant(state: &ApiState, caller: &Caller, r: &AccessRequest) -> RequestBody {
    let now = state.clock.now();
    let grant = match &r.grant_id {
        Some(id) => state.grants.store().get(id).await.ok().flatten(),
        None => None,
    };
    RequestBody::at(r, caller, now).with_grant(grant.map(|g| GrantBody::at(g, now)))
}

fn shown(state: &ApiState, caller: &Caller, r: &AccessRequest) -> RequestBody {
    RequestBody::at(r, caller, state.clock.now())
}

pub async fn create(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body: RequestInput = json_body(&body, EXAMPLE)?;
    let new = inputs::new_request(body).map_err(ApiError::invalid)?;
    let request = state.requests.create(&caller, new).await?;
    let location = format!("/v1/requests/{}", request.id);
    let view = with_grant(&state, &caller, &request).await;
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(view)).into_response())
}

const LIST_PARAMS: [&str; 6] = ["status", "mine", "decidable", "requester", "limit", "cursor"];

/// `GET /v1/requests?status=&mine=&decidable=&requester=&limit=&cursor=`: one page of what
/// the caller may see (pending lists soonest-to-expire first, others newest first), and the
/// cursor of the next page (`next`, null at the end). `decidable=true` keeps those the caller
/// may decide now (the approver's queue), `requester=` one requester's (an approver's view of
/// their history).
pub async fn list(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<RequestList>, ApiError> {
    let mut errors = Vec::new();
    for key in query.keys().filter(|k| !LIST_PARAMS.contains(&k.as_str())) {
        errors.push(format!("unknown query parameter `{key}`: use {}", LIST_PARAMS.join(", ")));
    }
    let status = match query.get("status").map(String::as_str) {
        None => None,
        Some(s) => RequestFilter::status_named(s).unwrap_or_else(|e| {
            errors.push(e);
            None
        }),
    };
    let mine = flag(&query, "mine", &mut errors);
    let decidable = flag(&query, "decidable", &mut errors);
    let requester = query.get("requester").and_then(|p| {
        p.parse::<Principal>().map_err(|e| errors.push(format!("requester: {e}"))).ok()
    });
    let limit = match query.get("limit") {
        None => DEFAULT_PAGE,
        Some(n) => {
            n.parse::<usize>().ok().filter(|n| (1..=LIST_LIMIT).contains(n)).unwrap_or_else(|| {
                errors.push(format!("limit: `{n}` must be a number from 1 to {LIST_LIMIT}"));
                LIST_LIMIT
            })
        }
    };
    let cursor = query.get("cursor").and_then(|c| {
        c.parse::<ListCursor>().map_err(|e| errors.push(format!("cursor: {e}"))).ok()
    });
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    let filter = RequestFilter { status, mine, requester, decidable };
    let page = state.requests.list(&caller, &filter, cursor.as_ref(), limit).await?;
    let requests = page.requests.iter().map(|r| shown(&state, &caller, r)).collect();
    Ok(Json(RequestList { requests, next: page.next.map(|c| c.to_string()) }))
}

fn flag(query: &HashMap<String, String>, key: &str, errors: &mut Vec<String>) -> bool {
    match query.get(key).map(String::as_str) {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            errors.push(format!("{key}: `{other}` must be `true` or `false`"));
            false
        }
    }
}

fn id(raw: &str) -> Result<RequestId, ApiError> {
    RequestId::parse(raw).map_err(ApiError::not_found)
}

pub async fn get(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Path(raw): Path<String>,
) -> Result<Json<RequestBody>, ApiError> {
    let r = state.requests.get(&caller, &id(&raw)?).await?;
    Ok(Json(with_grant(&state, &caller, &r).await))
}

fn decision(body: &[u8]) -> Result<DecisionBody, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(DecisionBody::default());
    }
    json_body(body, r#"{"comment": "looks fine"}"#)
}

pub async fn approve(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Path(raw): Path<String>,
    body: Bytes,
) -> Result<Json<RequestBody>, ApiError> {
    let comment = decision(&body)?.comment;
    let r = state.requests.approve(&caller, &id(&raw)?, comment).await?;
    Ok(Json(with_grant(&state, &caller, &r).await))
}

pub async fn deny(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Path(raw): Path<String>,
    body: Bytes,
) -> Result<Json<RequestBody>, ApiError> {
    let comment = decision(&body)?.comment;
    let r = state.requests.deny(&caller, &id(&raw)?, comment).await?;
    Ok(Json(shown(&state, &caller, &r)))
}

pub async fn cancel(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Path(raw): Path<String>,
) -> Result<Json<RequestBody>, ApiError> {
    let r = state.requests.cancel(&caller, &id(&raw)?).await?;
    Ok(Json(shown(&state, &caller, &r)))
}
