//! `GET /v1/me`: who the caller is and what the page should offer them (admin tools, the
//! audit trail), and where their token came from.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, Method};
use jitgate_api_types::Me;

use super::ApiState;
use super::error::ApiError;
use super::extract::authenticate;

pub async fn me(State(state): State<ApiState>, headers: HeaderMap) -> Result<Json<Me>, ApiError> {
    let (caller, source) = authenticate(&state, &Method::GET, &headers).await?;
    Ok(Json(Me {
        admin: state.grants.is_admin(&caller),
        audit_reader: state.audit.may_read(&caller),
        token_source: source,
        subject: caller.subject,
        principals: caller.principals,
    }))
}
