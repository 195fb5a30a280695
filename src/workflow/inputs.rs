//! The inputs of the control-plane use cases as transports receive them (REST JSON, gRPC
//! messages), and their one validation point: every problem is reported at once, each
//! prefixed by its field.

// Reached by what callers send: no arithmetic that can overflow, no indexing that can go out
// of bounds, no `panic!` (SECURITY row 64). Checked by clippy, so a regression fails the build.
#![deny(clippy::arithmetic_side_effects, clippy::indexing_slicing, clippy::panic)]

use super::explain::ExplainQuery;
use super::grants::{GrantService, NewGrant};
use super::requests::NewRequest;
use crate::grant::{Principal, Scope, ScopeWire};
use crate::time::Ttl;

pub use jitgate_api_types::inputs::{DecisionBody, ExplainInput, GrantInput, RequestInput};

/// Validates a grant to create against the grant limits `grants` enforces.
pub fn new_grant(input: GrantInput, grants: &GrantService) -> Result<NewGrant, Vec<String>> {
    let mut errors = Vec::new();
    let subject =
        input.subject.parse::<Principal>().map_err(|e| errors.push(format!("subject: {e}"))).ok();
    let resources = resources(input.resources, &mut errors);
    let ttl = Ttl::parse(&input.ttl)
        .map_err(|e| errors.push(format!("ttl: {e}")))
        .ok()
        .map(Ttl::as_duration);
    errors.extend(grants.limit_errors(ttl, &input.reason, input.max_uses));
    let incident = incident(input.incident, &mut errors);
    match (subject, ttl) {
        (Some(subject), Some(ttl)) if errors.is_empty() => Ok(NewGrant {
            subject,
            resources,
            ttl,
            reason: input.reason,
            max_uses: input.max_uses,
            incident,
        }),
        _ => Err(errors),
    }
}

/// Validates a request to file (its policy's limits are checked when it is filed).
pub fn new_request(input: RequestInput) -> Result<NewRequest, Vec<String>> {
    let mut errors = Vec::new();
    let resources = resources(input.resources, &mut errors);
    let ttl = Ttl::parse(&input.ttl).map_err(|e| errors.push(format!("ttl: {e}"))).ok();
    let incident = incident(input.incident, &mut errors);
    match ttl {
        Some(ttl) if errors.is_empty() => {
            Ok(NewRequest { resources, ttl: ttl.as_duration(), reason: input.reason, incident })
        }
        _ => Err(errors),
    }
}

/// Validates a call to explain.
pub fn explain_query(input: ExplainInput) -> Result<ExplainQuery, Vec<String>> {
    let mut errors = Vec::new();
    let subject =
        input.subject.parse::<Principal>().map_err(|e| errors.push(format!("subject: {e}"))).ok();
    let mut groups = Vec::new();
    for (i, g) in input.groups.iter().enumerate() {
        match Principal::group(g.trim_start_matches("group:")) {
            Ok(p) => groups.push(p),
            Err(e) => errors.push(format!("groups[{i}]: {e}")),
        }
    }
    match subject {
        Some(subject) if errors.is_empty() => Ok(ExplainQuery {
            subject,
            groups,
            service: input.service,
            method: input.method,
            path: input.path,
        }),
        _ => Err(errors),
    }
}

/// Validates each resource scope, naming the index of each bad one.
fn resources(wire: Vec<ScopeWire>, errors: &mut Vec<String>) -> Vec<Scope> {
    if wire.is_empty() {
        errors.push("resources: at least one resource is required, e.g. {\"service\": \"orders\", \"methods\": [\"GET\"], \"paths\": [\"/orders/**\"]}".into());
    }
    let over = crate::grant::check_budget("resources", &wire);
    if !over.is_empty() {
        errors.extend(over);
        return Vec::new();
    }
    let mut out = Vec::with_capacity(wire.len());
    for (i, w) in wire.into_iter().enumerate() {
        match Scope::from_wire(w) {
            Ok(s) => out.push(s),
            Err(es) => errors.extend(es.into_iter().map(|e| format!("resources[{i}].{e}"))),
        }
    }
    out
}

fn incident(raw: Option<String>, errors: &mut Vec<String>) -> Option<String> {
    let id = raw.filter(|i| !i.is_empty())?;
    if let Err(e) = check_incident(&id) {
        errors.push(format!("incident: {e}"));
    }
    Some(id)
}

/// Incident ids are short tokens from incident tools (`INC-4312`, `PD-Q1W2E3`).
pub fn check_incident(id: &str) -> Result<(), String> {
    let ok =
        id.len() <= 128 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(format!("`{id}` is not an incident id: use letters, digits, `.`, `_`, `:` and `-`"))
    }
}
