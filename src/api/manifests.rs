//! `POST /v1/apply` (manifests, admins) and `POST /v1/explain` (why a call would be allowed or
//! denied now).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::ApiState;
use super::error::ApiError;
use super::extract::{Auth, json_body};
use crate::grant::Principal;
use crate::manifest::{self, Source};
use crate::workflow::explain::{ExplainQuery, explain as run_explain};
use crate::workflow::{ApplyError, ApplyOptions};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplyBody {
    pub documents: Vec<ApplyDocument>,
    #[serde(default)]
    pub dry_run: bool,
    #[serde(default)]
    pub prune: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplyDocument {
    #[serde(default)]
    pub source: Source,
    pub manifest: Value,
}

pub async fn apply(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let body: ApplyBody = json_body(
        &body,
        r#"{"documents": [{"manifest": {"apiVersion": "jitgate.dev/v1alpha1", "kind": "Grant", ...}}], "dry_run": true}"#,
    )?;
    let mut manifests = Vec::new();
    let mut errors = Vec::new();
    for (i, d) in body.documents.into_iter().enumerate() {
        let source = if d.source.file.is_empty() {
            Source { file: "request".into(), doc: i + 1, line: 0 }
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
        Ok(report) => Ok(Json(json!(report))),
        Err(ApplyError::Invalid(e)) => {
            Err(ApiError::invalid(e.iter().map(ToString::to_string).collect()))
        }
        Err(ApplyError::Workflow(e)) => Err(e.into()),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExplainBody {
    pub subject: String,
    #[serde(default)]
    pub groups: Vec<String>,
    pub service: String,
    pub method: String,
    pub path: String,
}

pub async fn explain(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let body: ExplainBody = json_body(
        &body,
        r#"{"subject": "user:alice", "groups": ["eng"], "service": "orders", "method": "DELETE", "path": "/orders/7"}"#,
    )?;
    let mut errors = Vec::new();
    let subject =
        body.subject.parse::<Principal>().map_err(|e| errors.push(format!("subject: {e}"))).ok();
    let mut groups = Vec::new();
    for (i, g) in body.groups.iter().enumerate() {
        match Principal::group(g.trim_start_matches("group:")) {
            Ok(p) => groups.push(p),
            Err(e) => errors.push(format!("groups[{i}]: {e}")),
        }
    }
    let Some(subject) = subject.filter(|_| errors.is_empty()) else {
        return Err(ApiError::invalid(errors));
    };
    let query = if state.grants.is_admin(&caller) {
        ExplainQuery {
            subject,
            groups,
            service: body.service,
            method: body.method,
            path: body.path,
        }
    } else if caller.subject == subject {
        // People may explain their own calls, with the groups their token proves.
        let groups = caller.principals.iter().filter(|p| p.kind() == "group").cloned().collect();
        ExplainQuery {
            subject,
            groups,
            service: body.service,
            method: body.method,
            path: body.path,
        }
    } else {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "{} may only explain its own calls; admins may explain anyone's",
                caller.subject
            ),
        ));
    };
    let policies = state.policies.current();
    let explanation =
        run_explain(state.grants.store().as_ref(), &policies, &query, state.clock.now()).await?;
    Ok(Json(json!(explanation)))
}
