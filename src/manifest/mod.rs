//! Declarative manifests: `kind: Grant` and `kind: AccessPolicy` documents (Kubernetes-style
//! `apiVersion`/`kind`/`metadata`/`spec`), several per file, from files or directories. This
//! module reads and validates them ([`load`], [`parse`]); applying them is the workflow's job.
//! Every error names the file, the document, the line and the field.

pub mod lines;
pub mod load;
pub mod parse;

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::access::{AccessPolicy, PolicySet};
use crate::grant::{GrantId, Principal, Scope, ScopeWire};

pub use load::RawDoc;
pub use parse::{parse, parse_all, parse_value};

pub const GRANT_KIND: &str = "Grant";

/// How long a `standing: true` grant lives (it still carries a TTL, like every grant).
pub const STANDING_TTL: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

pub use jitgate_api_types::apply::Source;

/// One problem in one document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestError {
    pub source: Source,
    pub field: Option<String>,
    pub message: String,
}

impl ManifestError {
    pub fn io(path: &std::path::Path, e: &std::io::Error) -> Self {
        Self {
            source: Source { file: path.display().to_string(), doc: 0, line: 0 },
            field: None,
            message: format!("cannot read: {e}"),
        }
    }
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{}: `{field}`: {}", self.source, self.message),
            None => write!(f, "{}: {}", self.source, self.message),
        }
    }
}

/// The `spec` of a `kind: Grant` manifest: the `POST /v1/grants` body, plus `standing`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantSpec {
    pub subject: String,
    pub resources: Vec<ScopeWire>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub standing: bool,
    pub reason: String,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::grant::deserialize_max_uses"
    )]
    pub max_uses: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident: Option<String>,
}

/// A whole `kind: Grant` document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantDocument {
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    pub kind: String,
    pub metadata: crate::access::Metadata,
    pub spec: GrantSpec,
}

/// A validated grant manifest.
#[derive(Clone, Debug)]
pub struct GrantManifest {
    pub name: String,
    pub subject: Principal,
    pub resources: Vec<Scope>,
    /// `None` for standing grants.
    pub ttl: Option<Duration>,
    pub reason: String,
    pub max_uses: Option<u32>,
    pub incident: Option<String>,
    /// A digest of the spec: equal digests mean re-applying changes nothing.
    pub hash: String,
    pub spec: GrantSpec,
}

impl GrantManifest {
    /// Manifest grants have stable ids derived from their name.
    pub fn id(&self) -> GrantId {
        grant_id(&self.name)
    }

    pub fn standing(&self) -> bool {
        self.ttl.is_none()
    }
}

/// The grant id of the manifest grant named `name`.
pub fn grant_id(name: &str) -> GrantId {
    GrantId::parse(&format!("manifest-{name}")).unwrap_or_else(|_| GrantId::generate())
}

/// A validated document.
#[derive(Clone, Debug)]
pub enum Object {
    Grant(Box<GrantManifest>),
    Policy(Box<AccessPolicy>),
}

#[derive(Clone, Debug)]
pub struct Manifest {
    pub source: Source,
    pub object: Object,
}

impl Manifest {
    pub fn kind(&self) -> &'static str {
        match self.object {
            Object::Grant(_) => GRANT_KIND,
            Object::Policy(_) => crate::access::KIND,
        }
    }

    pub fn name(&self) -> &str {
        match &self.object {
            Object::Grant(g) => &g.name,
            Object::Policy(p) => &p.name,
        }
    }
}

/// Standing grants need a policy that covers their resources, lists their subject as a
/// requester, and says `allow_standing: true`.
pub fn check_standing(manifests: &[Manifest], policies: &PolicySet) -> Vec<ManifestError> {
    let mut errors = Vec::new();
    for m in manifests {
        let Object::Grant(g) = &m.object else { continue };
        if !g.standing() {
            continue;
        }
        let allowed = policies.iter().any(|p| {
            p.allow_standing
                && p.covers(&g.resources)
                && p.may_request(std::slice::from_ref(&g.subject))
        });
        if !allowed {
            errors.push(ManifestError {
                source: m.source.clone(),
                field: Some("spec.standing".into()),
                message: format!(
                    "no policy allows standing access for {} to {}: add `allow_standing: true` to a policy that covers it and lists {} as a requester, or give the grant a `ttl`",
                    g.subject,
                    crate::access::describe(&g.resources),
                    g.subject
                ),
            });
        }
    }
    errors
}
