//! `/v1/audit`: query the audit log (admins and `audit.readers`), newest first by default,
//! with the same filters as `jitgate audit query`; `/v1/audit/head` for the chain's ends.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use jitgate_api_types::AuditHead;

use super::ApiState;
use super::error::ApiError;
use super::extract::Auth;
use crate::audit::export::{EntryLine, PageBody};
use crate::audit::query::AuditQuery;

pub async fn query(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<PageBody>, ApiError> {
    let q = AuditQuery::from_params(&params, state.clock.now()).map_err(ApiError::invalid)?;
    let page = state.audit.query(&caller, &q).await?;
    let entries =
        page.entries.iter().map(EntryLine::from_stored).collect::<Result<Vec<_>, _>>().map_err(
            |e| {
                tracing::error!(error = %e, "Unreadable audit entry");
                ApiError::new(
                    axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                    "corrupt_entry",
                    "an audit entry could not be read; run `jitgate audit verify`",
                )
            },
        )?;
    Ok(Json(PageBody { entries, next: page.next }))
}

pub async fn head(
    State(state): State<ApiState>,
    Auth(caller): Auth,
) -> Result<Json<AuditHead>, ApiError> {
    let h = state.audit.head(&caller).await?;
    Ok(Json(AuditHead {
        seq: h.seq,
        hash: h.hash,
        start_seq: h.start_seq,
        start_hash: h.start_hash,
    }))
}
