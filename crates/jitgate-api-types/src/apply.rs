//! `POST /v1/apply`: manifests in, a plan (and whether it was applied) out.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Where a manifest document came from (a file, its document number, its first line), so
/// every problem and every plan item points back at the YAML a person wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    pub file: String,
    /// 1-based document number within the file.
    pub doc: usize,
    /// The document's first line (or the line of the problem, in errors).
    pub line: usize,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` document {} line {}", self.file, self.doc, self.line)
    }
}

/// One manifest to apply. `manifest` is the document as written (`apiVersion`, `kind`,
/// `metadata`, `spec`); the manifest parser validates it and names every problem by field.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplyDocument {
    #[serde(default)]
    pub source: Source,
    pub manifest: serde_json::Value,
}

/// The `POST /v1/apply` body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplyInput {
    pub documents: Vec<ApplyDocument>,
    /// Plan only; change nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// Also delete manifest-managed objects that left the manifests.
    #[serde(default)]
    pub prune: bool,
}

jitgate_core::named_enum! {
    /// The kinds of object a manifest declares.
    pub enum ObjectKind {
        Grant = "Grant",
        AccessPolicy = "AccessPolicy",
    }
}

jitgate_core::named_enum! {
    /// What applying does to one object.
    pub enum PlanAction {
        Create = "create",
        Update = "update",
        Unchanged = "unchanged",
        Delete = "delete",
        /// Left alone on purpose (e.g. a grant someone revoked); the note says why.
        Skip = "skip",
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanItem {
    pub kind: ObjectKind,
    pub name: String,
    pub action: PlanAction,
    /// `path: old → new` lines for updates.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
}

/// The plan, and whether it was applied (`false` for a dry run).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyReport {
    pub plan: Vec<PlanItem>,
    pub applied: bool,
}
