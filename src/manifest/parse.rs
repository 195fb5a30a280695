//! Documents → validated manifests. The one validation point for manifests: kind dispatch,
//! unknown fields, types, and every domain rule, each error with its field and line.

use std::collections::HashSet;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::lines::locate;
use super::{
    GRANT_KIND, GrantDocument, GrantManifest, Manifest, ManifestError, Object, RawDoc, Source,
};
use crate::access::{self, AccessPolicy, PolicyDocument, check_name};
use crate::grant::{Principal, Scope, limits};
use crate::time::Ttl;

/// Parses one document read from a file (errors carry exact lines).
pub fn parse(doc: &RawDoc) -> Result<Manifest, Vec<ManifestError>> {
    parse_value(doc.source.clone(), doc.value.clone(), Some(&doc.text))
}

/// Parses every document and checks that names are unique per kind.
pub fn parse_all(docs: &[RawDoc]) -> (Vec<Manifest>, Vec<ManifestError>) {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    let mut seen = HashSet::new();
    for d in docs {
        match parse(d) {
            Ok(m) => {
                if !seen.insert((m.kind(), m.name().to_string())) {
                    errors.push(ManifestError {
                        source: d.source.clone(),
                        field: Some("metadata.name".into()),
                        message: format!(
                            "a {} named `{}` is already defined in another document",
                            m.kind(),
                            m.name()
                        ),
                    });
                }
                out.push(m);
            }
            Err(e) => errors.extend(e),
        }
    }
    (out, errors)
}

/// Parses a document value; `text` (when known) lets errors point at the field's line.
pub fn parse_value(
    source: Source,
    value: Value,
    text: Option<&str>,
) -> Result<Manifest, Vec<ManifestError>> {
    let err = |field: Option<&str>, message: String| ManifestError {
        source: Source {
            line: match (text, field) {
                (Some(t), Some(f)) => locate(t, source.line, f),
                _ => source.line,
            },
            ..source.clone()
        },
        field: field.map(str::to_string),
        message,
    };
    let kind = value.get("kind").and_then(Value::as_str).unwrap_or_default().to_string();
    let object = match kind.as_str() {
        GRANT_KIND => {
            let doc: GrantDocument = typed(value, &err)?;
            Object::Grant(Box::new(
                grant(doc)
                    .map_err(|e| e.into_iter().map(|m| split(m, &err)).collect::<Vec<_>>())?,
            ))
        }
        access::KIND => {
            let doc: PolicyDocument = typed(value, &err)?;
            let policy = AccessPolicy::from_document(doc)
                .map_err(|e| e.into_iter().map(|m| split(m, &err)).collect::<Vec<_>>())?;
            Object::Policy(Box::new(policy))
        }
        "" => {
            return Err(vec![err(
                Some("kind"),
                "`kind` is required: `Grant` or `AccessPolicy`".into(),
            )]);
        }
        other => {
            return Err(vec![err(
                Some("kind"),
                format!("unknown kind `{other}`: expected `Grant` or `AccessPolicy`"),
            )]);
        }
    };
    Ok(Manifest { source, object })
}

fn typed<T: DeserializeOwned>(
    value: Value,
    err: &impl Fn(Option<&str>, String) -> ManifestError,
) -> Result<T, Vec<ManifestError>> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let message = e.into_inner().to_string();
        vec![if path == "." { err(None, message) } else { err(Some(&path), message) }]
    })
}

/// `spec.ttl: must be ...` → field `spec.ttl`, message `must be ...`.
fn split(message: String, err: &impl Fn(Option<&str>, String) -> ManifestError) -> ManifestError {
    match message.split_once(": ") {
        Some((field, rest)) if !field.contains(' ') => err(Some(field), rest.to_string()),
        _ => err(None, message),
    }
}

fn grant(doc: GrantDocument) -> Result<GrantManifest, Vec<String>> {
    let mut errors = Vec::new();
    if doc.api_version != access::API_VERSION {
        errors.push(format!(
            "apiVersion: expected `{}`, got `{}`",
            access::API_VERSION,
            doc.api_version
        ));
    }
    if let Err(e) = check_name(&doc.metadata.name) {
        errors.push(format!("metadata.name: {e}"));
    }
    let s = &doc.spec;
    let subject =
        s.subject.parse::<Principal>().map_err(|e| errors.push(format!("spec.subject: {e}"))).ok();
    if s.resources.is_empty() {
        errors.push("spec.resources: at least one resource is required".into());
    }
    let over = crate::grant::check_budget("spec.resources", &s.resources);
    let within = if over.is_empty() { s.resources.as_slice() } else { &[] };
    errors.extend(over);
    let mut resources = Vec::new();
    for (i, w) in within.iter().enumerate() {
        match Scope::from_wire(w.clone()) {
            Ok(r) => resources.push(r),
            Err(es) => errors.extend(es.into_iter().map(|e| format!("spec.resources[{i}].{e}"))),
        }
    }
    let ttl = match (&s.ttl, s.standing) {
        (Some(_), true) => {
            errors
                .push("spec.standing: a grant is either standing or has a `ttl`, not both".into());
            None
        }
        (None, false) => {
            errors.push("spec.ttl: a managed grant needs a `ttl` like `8h` (or `standing: true`, which a policy must allow)".into());
            None
        }
        // The server's `grants.max_ttl` is checked when the manifest is applied.
        (Some(t), false) => match Ttl::parse(t) {
            Ok(t) => match limits::ttl_problem(t.as_duration(), Duration::MAX) {
                None => Some(t.as_duration()),
                Some(p) => {
                    errors.push(format!("spec.ttl: {p}"));
                    None
                }
            },
            Err(e) => {
                errors.push(format!("spec.ttl: {e}"));
                None
            }
        },
        (None, true) => None,
    };
    if s.reason.trim().is_empty() {
        errors.push("spec.reason: say why this access exists, e.g. `CI deploys orders`".into());
    } else if let Some(p) = limits::reason_problem(&s.reason, true) {
        errors.push(format!("spec.reason: {p}"));
    }
    if let Some(p) = limits::max_uses_problem(s.max_uses) {
        errors.push(format!("spec.max_uses: {p}"));
    }
    if let Some(i) = &s.incident
        && (i.is_empty() || !i.bytes().all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b)))
    {
        errors.push(format!("spec.incident: `{i}` is not an incident id"));
    }
    let Some(subject) = subject.filter(|_| errors.is_empty()) else { return Err(errors) };
    let hash = {
        let canonical = serde_json::to_string(s).unwrap_or_default();
        crate::hex::encode(&Sha256::digest(canonical.as_bytes())[..16])
    };
    Ok(GrantManifest {
        name: doc.metadata.name.clone(),
        subject,
        resources,
        ttl,
        reason: s.reason.clone(),
        max_uses: s.max_uses,
        incident: s.incident.clone(),
        hash,
        spec: s.clone(),
    })
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
