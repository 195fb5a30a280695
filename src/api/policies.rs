//! `/v1/policies`: admins put and delete access policies; every authenticated caller may read
//! them, and only admins see where notifications go (`spec.notify[].webhook`). The body is the
//! policy document (`apiVersion`, `kind`, `metadata`, `spec`) as JSON, or YAML with
//! `content-type: application/yaml`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jitgate_api_types::{PolicyDeleted, PolicyList};

use super::ApiState;
use super::error::ApiError;
use super::extract::{Auth, json_body};
use crate::access::PolicyDocument;
use crate::store::PutOutcome;

const EXAMPLE: &str = r#"{"apiVersion": "jitgate.dev/v1alpha1", "kind": "AccessPolicy", "metadata": {"name": "orders-read"}, "spec": {"resources": [{"service": "orders", "methods": ["GET"], "paths": ["/orders/**"]}], "requesters": ["group:eng"], "approvers": ["group:leads"], "max_ttl": "1h"}}"#;

fn parse(headers: &HeaderMap, body: &[u8]) -> Result<PolicyDocument, ApiError> {
    let yaml = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.contains("yaml"));
    if !yaml {
        return json_body(body, EXAMPLE);
    }
    let text =
        std::str::from_utf8(body).map_err(|_| ApiError::bad_body("the YAML body is not UTF-8"))?;
    serde_saphyr::from_str(text)
        .map_err(|e| ApiError::bad_body(format!("the YAML body is not a policy: {e}")))
}

pub async fn put(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let doc = parse(&headers, &body)?;
    let (outcome, policy) = state.policies.put(&caller, &name, doc).await?;
    let status = if outcome == PutOutcome::Created { StatusCode::CREATED } else { StatusCode::OK };
    let label = match outcome {
        PutOutcome::Created => "created",
        PutOutcome::Updated => "updated",
        PutOutcome::Unchanged => "unchanged",
    };
    Ok((status, [("x-jitgate-outcome", label)], Json(policy.document)).into_response())
}

pub async fn get(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Path(name): Path<String>,
) -> Result<Json<PolicyDocument>, ApiError> {
    Ok(Json(state.policies.get(&caller, &name).await?))
}

pub async fn list(
    State(state): State<ApiState>,
    Auth(caller): Auth,
) -> Result<Json<PolicyList>, ApiError> {
    Ok(Json(PolicyList { policies: state.policies.list(&caller).await? }))
}

pub async fn delete(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Path(name): Path<String>,
) -> Result<Json<PolicyDeleted>, ApiError> {
    state.policies.delete(&caller, &name).await?;
    Ok(Json(PolicyDeleted { deleted: name }))
}
