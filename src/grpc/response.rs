//! [`Verdict`] → CheckResponse. Every decision, allow or deny, is a normal CheckResponse (never
//! a gRPC error): Envoy treats errors as failures, which a misconfigured `failure_mode_allow`
//! would turn into allows.
//!
//! Shadow mode: a would-be deny is answered OK (see [`shadow_allowed`]); a real allow in a
//! shadowed service is answered as usual plus `x-jitgate-mode: shadow`.

use envoy_types::pb::envoy::config::core::v3::header_value_option::HeaderAppendAction;
use envoy_types::pb::envoy::config::core::v3::{HeaderValue, HeaderValueOption};
use envoy_types::pb::envoy::service::auth::v3::check_response::HttpResponse;
use envoy_types::pb::envoy::service::auth::v3::{
    CheckResponse, DeniedHttpResponse, OkHttpResponse,
};
use envoy_types::pb::envoy::r#type::v3::HttpStatus;
use envoy_types::pb::google::protobuf::{Struct, Value, value::Kind};
use envoy_types::pb::google::rpc;

use super::contract::{
    self, HEADER_DECISION_ID, HEADER_GRANT_EXPIRES, HEADER_GRANT_ID, HEADER_MODE, HEADER_SUBJECT,
    HEADER_WOULD_DENY,
};
use crate::authz::Verdict;
use crate::decision::{Allow, Decision, Deny, DenyReason, DenyStatus};

/// gRPC status codes used in CheckResponse.status.
const OK: i32 = 0;
const INVALID_ARGUMENT: i32 = 3;
const PERMISSION_DENIED: i32 = 7;
const RESOURCE_EXHAUSTED: i32 = 8;
const UNAVAILABLE: i32 = 14;
const UNAUTHENTICATED: i32 = 16;

/// Encodes a verdict. `request_url` is where callers file access requests.
pub fn encode(verdict: &Verdict, request_url: &str) -> CheckResponse {
    if let Some(deny) = verdict.shadowed() {
        return shadow_allowed(deny, verdict);
    }
    match &verdict.decision {
        Decision::Allow(allow) => allowed(allow, verdict),
        Decision::Deny(deny) => denied(deny, verdict, request_url),
    }
}

fn overwrite(key: &str, value: String) -> HeaderValueOption {
    HeaderValueOption {
        header: Some(HeaderValue { key: key.to_string(), value, ..Default::default() }),
        append_action: HeaderAppendAction::OverwriteIfExistsOrAdd as i32,
        ..Default::default()
    }
}

/// Client-sent `x-jitgate-*` headers to remove: all but those this answer overwrites.
fn to_remove(verdict: &Verdict, headers: &[HeaderValueOption]) -> Vec<String> {
    let ours =
        |name: &str| headers.iter().any(|h| h.header.as_ref().is_some_and(|v| v.key == name));
    verdict.remove_headers.iter().filter(|h| !ours(h)).cloned().collect()
}

fn allowed(allow: &Allow, verdict: &Verdict) -> CheckResponse {
    let mut headers = vec![
        overwrite(HEADER_SUBJECT, allow.subject.to_string()),
        overwrite(HEADER_GRANT_ID, allow.grant_id.to_string()),
        overwrite(HEADER_GRANT_EXPIRES, allow.expires_at.to_rfc3339()),
        overwrite(HEADER_DECISION_ID, verdict.decision_id.clone()),
    ];
    let subject = allow.subject.to_string();
    let mut fields = vec![
        ("decision_id", verdict.decision_id.as_str()),
        ("decision", "allow"),
        ("grant_id", allow.grant_id.as_str()),
        ("subject", subject.as_str()),
    ];
    if verdict.mode.is_shadow() {
        headers.push(overwrite(HEADER_MODE, verdict.mode.to_string()));
        fields.push(("mode", verdict.mode.as_str()));
    }
    let headers_to_remove = to_remove(verdict, &headers);
    let metadata = metadata(&fields);
    CheckResponse {
        status: Some(rpc::Status { code: OK, ..Default::default() }),
        http_response: Some(HttpResponse::OkResponse(OkHttpResponse {
            headers,
            headers_to_remove,
            // The client sees the decision id on allowed calls too (to quote in a support
            // ticket, or to find the call in the audit log).
            response_headers_to_add: vec![overwrite(
                HEADER_DECISION_ID,
                verdict.decision_id.clone(),
            )],
            ..Default::default()
        })),
        dynamic_metadata: Some(metadata),
    }
}

/// A would-be deny that shadow mode lets through. The upstream learns that jitgate is not
/// enforcing (`x-jitgate-mode: shadow`) and what it would have said (`x-jitgate-would-deny`);
/// `x-jitgate-subject` only when the caller was verified, never a claimed identity; no grant
/// headers, since no grant allowed the call. The client sees the same mode, reason and
/// decision id on the response, so a developer can fix the call before enforcement starts.
fn shadow_allowed(deny: &Deny, verdict: &Verdict) -> CheckResponse {
    let mut headers = vec![
        overwrite(HEADER_MODE, verdict.mode.to_string()),
        overwrite(HEADER_WOULD_DENY, deny.reason.code().to_string()),
        overwrite(HEADER_DECISION_ID, verdict.decision_id.clone()),
    ];
    let to_client = headers.clone();
    let subject = verdict.subject.as_ref().map(ToString::to_string);
    let mut fields = vec![
        ("decision_id", verdict.decision_id.as_str()),
        ("decision", "deny"),
        ("reason", deny.reason.code()),
        ("mode", verdict.mode.as_str()),
    ];
    if let Some(s) = &subject {
        headers.push(overwrite(HEADER_SUBJECT, s.clone()));
        fields.push(("subject", s.as_str()));
    }
    let headers_to_remove = to_remove(verdict, &headers);
    CheckResponse {
        status: Some(rpc::Status { code: OK, ..Default::default() }),
        http_response: Some(HttpResponse::OkResponse(OkHttpResponse {
            headers,
            headers_to_remove,
            response_headers_to_add: to_client,
            ..Default::default()
        })),
        dynamic_metadata: Some(metadata(&fields)),
    }
}

fn denied(deny: &Deny, verdict: &Verdict, request_url: &str) -> CheckResponse {
    let status = deny.reason.status();
    let body = contract::deny_body(
        deny,
        &verdict.decision_id,
        verdict.input.as_ref(),
        request_url,
        verdict.filed.as_ref(),
    );
    let mut headers = vec![
        overwrite("content-type", "application/json".into()),
        overwrite("cache-control", "no-store".into()),
        overwrite(HEADER_DECISION_ID, verdict.decision_id.clone()),
    ];
    if status == DenyStatus::Unauthenticated {
        headers.push(overwrite("www-authenticate", contract::www_authenticate(deny)));
    }
    if let Some(r) = &verdict.filed {
        headers.push(overwrite(contract::HEADER_REQUEST_ID, r.id.to_string()));
    }
    if status == DenyStatus::Unavailable {
        headers.push(overwrite("retry-after", "1".into()));
    }
    let code = match status {
        _ if deny.reason == DenyReason::Overloaded => RESOURCE_EXHAUSTED,
        DenyStatus::BadRequest => INVALID_ARGUMENT,
        DenyStatus::Unauthenticated => UNAUTHENTICATED,
        DenyStatus::Forbidden => PERMISSION_DENIED,
        DenyStatus::Unavailable => UNAVAILABLE,
    };
    let metadata = metadata(&[
        ("decision_id", verdict.decision_id.as_str()),
        ("decision", "deny"),
        ("reason", deny.reason.code()),
    ]);
    CheckResponse {
        status: Some(rpc::Status {
            code,
            message: deny.reason.code().to_string(),
            ..Default::default()
        }),
        http_response: Some(HttpResponse::DeniedResponse(DeniedHttpResponse {
            status: Some(HttpStatus { code: i32::from(status.http_code()) }),
            headers,
            body,
        })),
        dynamic_metadata: Some(metadata),
    }
}

fn metadata(fields: &[(&str, &str)]) -> Struct {
    Struct {
        fields: fields
            .iter()
            .map(|(k, v)| (k.to_string(), Value { kind: Some(Kind::StringValue(v.to_string())) }))
            .collect(),
    }
}
