//! The decision contract's stable names and the JSON body of a deny, as documented in the
//! README: `{"error", "reason", "message", "decision_id", "missing", "request"}`.

use jitgate_api_types::{DenyBody, FiledRequest, NextStep, RequestHint, RequestInput};

use crate::access::AccessRequest;
use crate::decision::{CheckInput, Deny, DenyStatus};
use crate::grant::ScopeWire;

pub const HEADER_SUBJECT: &str = "x-jitgate-subject";
pub const HEADER_GRANT_ID: &str = "x-jitgate-grant-id";
pub const HEADER_GRANT_EXPIRES: &str = "x-jitgate-grant-expires";
pub const HEADER_DECISION_ID: &str = "x-jitgate-decision-id";
pub const HEADER_REQUEST_ID: &str = "x-jitgate-request-id";
/// `shadow` on calls answered in shadow mode (absent in `enforce`).
pub const HEADER_MODE: &str = "x-jitgate-mode";
/// The deny reason code of a call that shadow mode let through.
pub const HEADER_WOULD_DENY: &str = "x-jitgate-would-deny";

/// The TTL prefilled in request hints.
pub const HINT_TTL: &str = "15m";

/// The JSON body of a deny. Forbidden denies carry a ready-made access request for exactly
/// the call that was refused, or the pending request jitgate filed for it.
pub fn deny_body(
    deny: &Deny,
    decision_id: &str,
    input: Option<&CheckInput>,
    request_url: &str,
    filed: Option<&AccessRequest>,
) -> String {
    let status = deny.reason.status();
    let request = match (filed, input) {
        (Some(r), _) => Some(NextStep::Filed(FiledRequest {
            id: r.id.clone(),
            status: r.status,
            url: format!("{request_url}/{}", r.id),
            ui: crate::links::request_page(public_base(request_url), r.id.as_str()),
            approvers: r.current_approvers(),
            expires_at: r.expires_at,
        })),
        (None, Some(input)) if status == DenyStatus::Forbidden => {
            Some(NextStep::Hint(request_hint(input, request_url)))
        }
        (None, _) => None,
    };
    let body = DenyBody {
        error: status.error().into(),
        reason: deny.reason.code().into(),
        message: deny.detail.clone(),
        decision_id: decision_id.into(),
        missing: deny.missing.clone(),
        request_id: filed.map(|r| r.id.clone()),
        request,
    };
    serde_json::to_string(&body).unwrap_or_default()
}

fn request_hint(input: &CheckInput, request_url: &str) -> RequestHint {
    let scope = input.request_scope();
    let path = scope.paths.first().map(|p| p.as_str().to_string()).unwrap_or_default();
    let ui = crate::links::request_form(
        public_base(request_url),
        &scope.service,
        &input.method,
        &path,
        HINT_TTL,
    );
    let query = scope
        .query
        .as_ref()
        .map(|q| format!(" --query '{}'", q.as_str().replace('\'', "'\\''")))
        .unwrap_or_default();
    let cli = format!(
        "jitgate request create --service {} --method {} --path '{}'{query} --ttl {HINT_TTL} --reason '<why>'",
        scope.service,
        input.method,
        path.replace('\'', "'\\''")
    );
    RequestHint {
        method: "POST".into(),
        url: request_url.into(),
        ui,
        body: RequestInput {
            resources: vec![ScopeWire::from(scope)],
            ttl: HINT_TTL.into(),
            reason: String::new(),
            incident: None,
        },
        cli,
    }
}

/// The public base URL (`check.public_url`) that `request_url` was built from.
fn public_base(request_url: &str) -> &str {
    request_url.strip_suffix("/v1/requests").unwrap_or(request_url)
}

/// `WWW-Authenticate` for 401s (RFC 6750).
pub fn www_authenticate(deny: &Deny) -> String {
    let description: String =
        deny.detail.chars().filter(|c| *c != '"' && *c != '\\' && !c.is_control()).collect();
    if deny.reason == crate::decision::DenyReason::TokenMissing {
        r#"Bearer realm="jitgate""#.to_string()
    } else {
        format!(
            r#"Bearer realm="jitgate", error="invalid_token", error_description="{description}""#
        )
    }
}
