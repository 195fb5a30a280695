//! `GET /v1/reports/access`: which principals used which service/method/route patterns without
//! a grant while in shadow mode, suggested manifests covering exactly that use, and grants and
//! policies nobody used (admins and `audit.readers`, like `/v1/audit`).

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};

use super::ApiState;
use super::error::ApiError;
use super::extract::Auth;
use crate::report::AccessReport;
use crate::workflow::ReportQuery;

pub async fn access(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<AccessReport>, ApiError> {
    let q = ReportQuery::from_params(&params, state.clock.now()).map_err(ApiError::invalid)?;
    Ok(Json(state.reports.access(&caller, q).await?))
}
