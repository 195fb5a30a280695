//! `POST /v1/incidents/{id}/resolve`: revokes every grant tied to an incident. Callable by an
//! admin with a JWT, or by an incident tool with the shared token from
//! `incidents.resolve_token_env` (compared in constant time), recorded as
//! `service:incident-webhook`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use jitgate_api_types::IncidentResolution;

use super::ApiState;
use super::error::ApiError;
use super::extract::authenticate;
use crate::grant::Principal;
use crate::workflow::inputs::check_incident;

/// The principal recorded for resolutions made with the shared token.
pub const WEBHOOK_PRINCIPAL: &str = "service:incident-webhook";

fn token_matches(headers: &HeaderMap, expected: Option<&str>) -> bool {
    let Some(expected) = expected else { return false };
    let Some(sent) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    let (a, b) = (sent.trim().as_bytes(), expected.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub async fn resolve(
    State(state): State<ApiState>,
    Path(incident): Path<String>,
    headers: HeaderMap,
) -> Result<Json<IncidentResolution>, ApiError> {
    check_incident(&incident).map_err(|e| ApiError::invalid(vec![format!("incident: {e}")]))?;
    let by: Principal = if token_matches(&headers, state.incident_token.as_deref()) {
        WEBHOOK_PRINCIPAL.parse().map_err(|_| {
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "bad principal")
        })?
    } else {
        let (caller, _) = authenticate(&state, &Method::POST, &headers).await?;
        if !state.grants.is_admin(&caller) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!(
                    "{} may not resolve incidents: only `admins` or the incident webhook token may",
                    caller.subject
                ),
            ));
        }
        caller.subject
    };
    let revoked = state.grants.resolve_incident(&by, &incident).await?;
    let revoked: Vec<_> = revoked.into_iter().map(|g| g.id).collect();
    let count = revoked.len();
    Ok(Json(IncidentResolution { incident, resolved_by: by, revoked, count }))
}
