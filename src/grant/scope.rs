//! A resource scope: `{service, methods, paths}`, the unit grants, requests and policies share.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::path::RequestPath;
use super::pattern::PathPattern;

/// Longest service name accepted.
pub const MAX_SERVICE_LEN: usize = 253;

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
}

/// The JSON/YAML shape of a scope, before validation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopeWire {
    pub service: String,
    pub methods: Vec<String>,
    pub paths: Vec<String>,
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
        if errors.is_empty() { Ok(Self { service, methods, paths }) } else { Err(errors) }
    }

    pub fn matches(&self, service: &str, method: &str, path: &RequestPath) -> bool {
        self.service == service
            && self.methods.contains(method)
            && self.paths.iter().any(|p| p.matches(path))
    }

    /// True when some call is covered by both scopes.
    pub fn overlaps(&self, other: &Scope) -> bool {
        let methods = match (&self.methods, &other.methods) {
            (Methods::Any, _) | (_, Methods::Any) => true,
            (Methods::Only(a), Methods::Only(b)) => !a.is_disjoint(b),
        };
        self.service == other.service
            && methods
            && self.paths.iter().any(|p| other.paths.iter().any(|o| p.overlaps(o)))
    }

    /// One method and one path without wildcards: exactly one kind of call.
    pub fn is_single_call(&self) -> bool {
        matches!(&self.methods, Methods::Only(m) if m.len() == 1)
            && self.paths.len() == 1
            && self.paths[0].is_exact()
    }

    /// True when everything `self` covers is covered by `other`.
    pub fn is_within(&self, other: &Scope) -> bool {
        self.service == other.service
            && self.methods.is_within(&other.methods)
            && self.paths.iter().all(|p| other.paths.iter().any(|o| p.is_within(o)))
    }

    /// The narrowest scope that covers exactly one call.
    pub fn exact(service: &str, method: &str, path: &RequestPath) -> Self {
        Self {
            service: service.to_string(),
            methods: Methods::Only(BTreeSet::from([method.to_string()])),
            paths: vec![PathPattern::exact(path)],
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let paths: Vec<&str> = self.paths.iter().map(PathPattern::as_str).collect();
        write!(f, "{} {} {}", self.service, self.methods, paths.join(","))
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
mod tests {
    use super::*;

    fn wire(service: &str, methods: &[&str], paths: &[&str]) -> ScopeWire {
        ScopeWire {
            service: service.into(),
            methods: methods.iter().map(|s| s.to_string()).collect(),
            paths: paths.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn methods_are_upper_cased_and_star_means_any() {
        let s = Scope::from_wire(wire("orders", &["get", "Head"], &["/o"])).unwrap();
        assert!(s.methods.contains("GET") && s.methods.contains("HEAD"));
        assert!(!s.methods.contains("get"));
        let any = Scope::from_wire(wire("orders", &["*"], &["/o"])).unwrap();
        assert_eq!(any.methods, Methods::Any);
    }

    #[test]
    fn reports_every_bad_field_at_once() {
        let errs = Scope::from_wire(wire("Orders!", &[], &["nope", "/ok", "/a//b"])).unwrap_err();
        assert_eq!(errs.len(), 4, "{errs:?}");
        assert!(errs[0].starts_with("service:"));
        assert!(errs[1].starts_with("methods:"));
        assert!(errs[2].starts_with("paths[0]:"));
        assert!(errs[3].starts_with("paths[2]:"));
    }

    #[test]
    fn empty_paths_are_refused() {
        let errs = Scope::from_wire(wire("orders", &["GET"], &[])).unwrap_err();
        assert!(errs[0].contains("at least one path"));
    }

    #[test]
    fn scope_containment() {
        let outer = Scope::from_wire(wire("orders", &["GET", "HEAD"], &["/orders/**"])).unwrap();
        let inner = Scope::from_wire(wire("orders", &["GET"], &["/orders/7"])).unwrap();
        let other = Scope::from_wire(wire("billing", &["GET"], &["/orders/7"])).unwrap();
        let wider = Scope::from_wire(wire("orders", &["*"], &["/orders/7"])).unwrap();
        assert!(inner.is_within(&outer));
        assert!(!outer.is_within(&inner));
        assert!(!other.is_within(&outer));
        assert!(!wider.is_within(&outer));
    }
}
