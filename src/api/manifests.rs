//! `POST /v1/apply` (manifests, admins) and `POST /v1/explain` (why a call would be allowed or
//! denied now).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use jitgate_api_types::{ApplyInput, ApplyReport, ExplainAnswer};

use super::ApiState;
use super::error::ApiError;
use super::extract::{Auth, json_body};

use crate::manifest::{self, Source};
use crate::workflow::explain::explain as run_explain;
use crate::workflow::inputs::{self, ExplainInput};
use crate::workflow::{ApplyError, ApplyOptions};

pub async fn apply(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    body: Bytes,
) -> Result<Json<ApplyReport>, ApiError> {
    let body: ApplyInput = json_body(
        &body,
        r#"{"documents": [{"manifest": {"apiVersion": "jitgate.dev/v1alpha1", "kind": "Grant", ...}}], "dry_run": true}"#,
    )?;
    let mut manifests = Vec::new();
    let mut errors = Vec::new();
    for (i, d) in body.documents.into_iter().enumerate() {
        let source = if d.source.file.is_empty() {
            Source { file: "request".into(), doc: i.saturating_add(1), line: 0 }
        } else {
            d.source
        };
        match manifest::parse_value(source, d.manifest, None) {
            Ok(m) => manifests.push(m),
            Err(e) => errors.extend(e),
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors.iter().map(ToString::to_string).collect()));
    }
    let opts = ApplyOptions { dry_run: body.dry_run, prune: body.prune };
    match state.apply.apply(&caller, manifests, opts).await {
        Ok(report) => Ok(Json(report)),
        Err(ApplyError::Invalid(e)) => {
            Err(ApiError::invalid(e.iter().map(ToString::to_string).collect()))
        }
        Err(ApplyError::Workflow(e)) => Err(e.into()),
    }
}

pub async fn explain(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    body: Bytes,
) -> Result<Json<ExplainAnswer>, ApiError> {
    let body: ExplainInput = json_body(
        &body,
        r#"{"subject": "user:alice", "groups": ["eng"], "service": "orders", "method": "DELETE", "path": "/orders/7"}"#,
    )?;
    let mut query = inputs::explain_query(body).map_err(ApiError::invalid)?;
    if !state.grants.is_admin(&caller) {
        if caller.subject != query.subject {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!(
                    "{} may only explain its own calls; admins may explain anyone's",
                    caller.subject
                ),
            ));
        }
        // People may explain their own calls, with the groups their token proves.
        query.groups = caller.principals.iter().filter(|p| p.kind() == "group").cloned().collect();
    }
    let policies = state.policies.current();
    let explanation =
        run_explain(state.grants.store().as_ref(), &policies, &query, state.clock.now()).await?;
    // In shadow mode the decision is what jitgate records; Envoy is told allow.
    let mode = state.modes.for_service(Some(&query.service));
    Ok(Json(ExplainAnswer { explanation, mode }))
}
