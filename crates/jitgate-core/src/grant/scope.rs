//! A resource scope: `{service, methods, paths}` and, for one exact call, the `query` it binds
//! to: the unit grants, requests and policies share.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::path::RequestPath;
use super::pattern::PathPattern;
use super::query::Query;

/// Longest service name accepted.
pub const MAX_SERVICE_LEN: usize = 253;

/// Most resources one grant or access request may hold (what one approver reads at once).
pub const MAX_RESOURCES: usize = 32;

/// Most path patterns one resource of a grant or access request may list.
pub const MAX_PATHS: usize = 64;

/// The size budget of the resources of one grant or access request, checked where they enter
/// (REST, CLI, manifests) before anything is parsed or stored: one message per problem,
/// prefixed by `field` (`resources`, `spec.resources`).
pub fn check_budget(field: &str, resources: &[ScopeWire]) -> Vec<String> {
    let mut errors = Vec::new();
    if resources.len() > MAX_RESOURCES {
        errors.push(format!(
            "{field}: at most {MAX_RESOURCES} resources per grant or request (got {}); split the access into several, or use wider patterns",
            resources.len()
        ));
    }
    for (i, r) in resources.iter().enumerate().take(MAX_RESOURCES) {
        if r.paths.len() > MAX_PATHS {
            errors.push(format!(
                "{field}[{i}].paths: at most {MAX_PATHS} path patterns per resource (got {}); use a wildcard such as `/orders/**`",
                r.paths.len()
            ));
        }
    }
    errors
}

/// HTTP methods a scope covers: a set of upper-case method names, or every method (`*`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Methods {
    Any,
    Only(BTreeSet<String>),
}

/// A validated resource scope.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "ScopeWire", into = "ScopeWire")]
pub struct Scope {
    pub service: String,
    pub methods: Methods,
    pub paths: Vec<PathPattern>,
    /// The query string a call must carry, in normal form (`Some("")`: no query); `None`
    /// covers any query. Set on one-time scopes, which bind one exact call.
    pub query: Option<Query>,
}

/// The JSON/YAML shape of a scope, before validation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopeWire {
    pub service: String,
    pub methods: Vec<String>,
    pub paths: Vec<String>,
    /// The exact query string (without `?`; `""` for none) the call must carry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
}

// === impl Methods ===

impl Methods {
    pub fn contains(&self, method: &str) -> bool {
        match self {
            Self::Any => true,
            Self::Only(set) => set.contains(method),
        }
    }

    pub fn to_vec(&self) -> Vec<String> {
        match self {
            Self::Any => vec!["*".into()],
            Self::Only(set) => set.iter().cloned().collect(),
        }
    }

    /// True when every method in `self` is in `other`.
    pub fn is_within(&self, other: &Methods) -> bool {
        match (self, other) {
            (_, Self::Any) => true,
            (Self::Any, Self::Only(_)) => false,
            (Self::Only(a), Self::Only(b)) => a.is_subset(b),
        }
    }
}

impl fmt::Display for Methods {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_vec().join(","))
    }
}

// === impl Scope ===

impl Scope {
    /// Validates every field and returns all problems at once, each prefixed by its field.
    pub fn from_wire(wire: ScopeWire) -> Result<Self, Vec<String>> {
        let mut errors = Vec::new();
        let service = match check_service(&wire.service) {
            Ok(()) => wire.service,
            Err(e) => {
                errors.push(format!("service: {e}"));
                String::new()
            }
        };
        let methods = parse_methods(&wire.methods).unwrap_or_else(|e| {
            errors.push(format!("methods: {e}"));
            Methods::Any
        });
        if wire.paths.is_empty() {
            errors.push("paths: at least one path pattern is required, e.g. `/orders/**`".into());
        }
        let mut paths = Vec::with_capacity(wire.paths.len());
        for (i, p) in wire.paths.iter().enumerate() {
            match PathPattern::parse(p) {
                Ok(p) => paths.push(p),
                Err(e) => errors.push(format!("paths[{i}]: {e}")),
            }
        }
        let query = wire.query.as_deref().map(Query::normalize).transpose().unwrap_or_else(|e| {
            errors.push(format!("query: {e}"));
            None
        });
        if errors.is_empty() { Ok(Self { service, methods, paths, query }) } else { Err(errors) }
    }

    pub fn matches(&self, service: &str, method: &str, path: &RequestPath) -> bool {
        self.service == service
            && self.methods.contains(method)
            && self.paths.iter().any(|p| p.matches(path))
            && self.query.as_ref().is_none_or(|q| q.matches_raw(path.query()))
    }

    /// True when some call is covered by both scopes.
    pub fn overlaps(&self, other: &Scope) -> bool {
        let methods = match (&self.methods, &other.methods) {
            (Methods::Any, _) | (_, Methods::Any) => true,
            (Methods::Only(a), Methods::Only(b)) => !a.is_disjoint(b),
        };
        let queries = match (&self.query, &other.query) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        };
        self.service == other.service
            && methods
            && queries
            && self.paths.iter().any(|p| other.paths.iter().any(|o| p.overlaps(o)))
    }

    /// One method, one path without wildcards and one query: exactly one call.
    pub fn is_single_call(&self) -> bool {
        matches!(&self.methods, Methods::Only(m) if m.len() == 1)
            && matches!(self.paths.as_slice(), [p] if p.is_exact())
            && self.query.is_some()
    }

    /// True when everything `self` covers is covered by `other`.
    pub fn is_within(&self, other: &Scope) -> bool {
        self.service == other.service
            && self.methods.is_within(&other.methods)
            && other.query.as_ref().is_none_or(|q| self.query.as_ref() == Some(q))
            && self.paths.iter().all(|p| other.paths.iter().any(|o| p.is_within(o)))
    }

    /// The scope of exactly one call: its method, its path and its query string. `None` when
    /// the query is too long to bind to.
    pub fn exact(service: &str, method: &str, path: &RequestPath) -> Option<Self> {
        let query = Query::normalize(path.query().unwrap_or("")).ok()?;
        Some(Self { query: Some(query), ..Self::exact_path(service, method, path) })
    }

    /// The narrowest scope for a call's method and path, any query (request hints).
    pub fn exact_path(service: &str, method: &str, path: &RequestPath) -> Self {
        Self {
            service: service.to_string(),
            methods: Methods::Only(BTreeSet::from([method.to_string()])),
            paths: vec![PathPattern::exact(path)],
            query: None,
        }
    }

    /// The same scope with a query bound: `""` (no query) when none was given. A one-time
    /// request asked without a query is for the call without one.
    pub fn with_bound_query(&self) -> Self {
        Self { query: Some(self.query.clone().unwrap_or_default()), ..self.clone() }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let paths: Vec<&str> = self.paths.iter().map(PathPattern::as_str).collect();
        write!(f, "{} {} {}", self.service, self.methods, paths.join(","))?;
        match &self.query {
            Some(q) if q.is_empty() => f.write_str(" (no query string)"),
            Some(q) => write!(f, "?{q}"),
            None => Ok(()),
        }
    }
}

impl TryFrom<ScopeWire> for Scope {
    type Error = String;
    fn try_from(w: ScopeWire) -> Result<Self, Self::Error> {
        Self::from_wire(w).map_err(|e| e.join("; "))
    }
}

impl From<Scope> for ScopeWire {
    fn from(s: Scope) -> Self {
        Self {
            service: s.service,
            methods: s.methods.to_vec(),
            paths: s.paths.iter().map(|p| p.as_str().to_string()).collect(),
            query: s.query.map(|q| q.as_str().to_string()),
        }
    }
}

/// Service names are DNS-like: lower-case letters, digits, `.`, `-`, `_`.
pub fn check_service(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("a service name is required, e.g. `orders`".into());
    }
    if s.len() > MAX_SERVICE_LEN {
        return Err(format!("service name is longer than {MAX_SERVICE_LEN} bytes"));
    }
    let ok = s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if !ok {
        return Err(format!(
            "`{}` is not a service name: use lower-case letters, digits, `.`, `-` and `_`",
            s.escape_debug()
        ));
    }
    Ok(())
}

fn parse_methods(raw: &[String]) -> Result<Methods, String> {
    if raw.is_empty() {
        return Err("at least one method is required, e.g. `GET`, or `*` for all".into());
    }
    if raw.iter().any(|m| m == "*") {
        return if raw.len() == 1 {
            Ok(Methods::Any)
        } else {
            Err("`*` already covers every method: list it alone".into())
        };
    }
    let mut set = BTreeSet::new();
    for m in raw {
        let valid = !m.is_empty() && m.len() <= 20 && m.bytes().all(|b| b.is_ascii_alphabetic());
        if !valid {
            return Err(format!(
                "`{}` is not an HTTP method like `GET` or `DELETE`",
                m.escape_debug()
            ));
        }
        set.insert(m.to_ascii_uppercase());
    }
    Ok(Methods::Only(set))
}

#[cfg(test)]
#[path = "scope_tests.rs"]
mod tests;
