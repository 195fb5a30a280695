//! The inputs of the control-plane use cases as transports receive them (REST JSON, gRPC
//! messages), and their one validation point: every problem is reported at once, each
//! prefixed by its field.

// Reached by what callers send: no arithmetic that can overflow, no indexing that can go out
// of bounds, no `panic!` (SECURITY row 64). Checked by clippy, so a regression fails the build.
#![deny(clippy::arithmetic_side_effects, clippy::indexing_slicing, clippy::panic)]

use serde::Deserialize;

use super::explain::ExplainQuery;
use super::grants::{GrantService, NewGrant};
use super::requests::NewRequest;
use crate::grant::{Principal, Scope, ScopeWire};
use crate::time::Ttl;

/// What creating a grant takes (the `POST /v1/grants` body).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantInput {
    pub subject: String,
    pub resources: Vec<ScopeWire>,
    pub ttl: String,
    pub reason: String,
    #[serde(default, deserialize_with = "crate::grant::deserialize_max_uses")]
    pub max_uses: Option<u32>,
    #[serde(default)]
    pub incident: Option<String>,
}

/// What filing a request takes (the `POST /v1/requests` body).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestInput {
    pub resources: Vec<ScopeWire>,
    pub ttl: String,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub incident: Option<String>,
}

/// What explaining takes (the `POST /v1/explain` body).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExplainInput {
    pub subject: String,
    #[serde(default)]
    pub groups: Vec<String>,
    pub service: String,
    pub method: String,
    pub path: String,
}

impl GrantInput {
    pub fn validate(self, grants: &GrantService) -> Result<NewGrant, Vec<String>> {
        let mut errors = Vec::new();
        let subject = self
            .subject
            .parse::<Principal>()
            .map_err(|e| errors.push(format!("subject: {e}")))
            .ok();
        let resources = resources(self.resources, &mut errors);
        let ttl = Ttl::parse(&self.ttl)
            .map_err(|e| errors.push(format!("ttl: {e}")))
            .ok()
            .map(Ttl::as_duration);
        errors.extend(grants.limit_errors(ttl, &self.reason, self.max_uses));
        let incident = incident(self.incident, &mut errors);
        match (subject, ttl) {
            (Some(subject), Some(ttl)) if errors.is_empty() => Ok(NewGrant {
                subject,
                resources,
                ttl,
                reason: self.reason,
                max_uses: self.max_uses,
                incident,
            }),
            _ => Err(errors),
        }
    }
}

impl RequestInput {
    pub fn validate(self) -> Result<NewRequest, Vec<String>> {
        let mut errors = Vec::new();
        let resources = resources(self.resources, &mut errors);
        let ttl = Ttl::parse(&self.ttl).map_err(|e| errors.push(format!("ttl: {e}"))).ok();
        let incident = incident(self.incident, &mut errors);
        match ttl {
            Some(ttl) if errors.is_empty() => {
                Ok(NewRequest { resources, ttl: ttl.as_duration(), reason: self.reason, incident })
            }
            _ => Err(errors),
        }
    }
}

impl ExplainInput {
    pub fn validate(self) -> Result<ExplainQuery, Vec<String>> {
        let mut errors = Vec::new();
        let subject = self
            .subject
            .parse::<Principal>()
            .map_err(|e| errors.push(format!("subject: {e}")))
            .ok();
        let mut groups = Vec::new();
        for (i, g) in self.groups.iter().enumerate() {
            match Principal::group(g.trim_start_matches("group:")) {
                Ok(p) => groups.push(p),
                Err(e) => errors.push(format!("groups[{i}]: {e}")),
            }
        }
        match subject {
            Some(subject) if errors.is_empty() => Ok(ExplainQuery {
                subject,
                groups,
                service: self.service,
                method: self.method,
                path: self.path,
            }),
            _ => Err(errors),
        }
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
