//! Applying manifests, GitOps style: validate everything, plan (create / update / unchanged /
//! delete / skip) against what is stored, then apply each object atomically. Re-applying the
//! same manifests changes nothing; `prune` removes manifest-managed objects that left the
//! manifests (never grants that came from requests or the API).

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use serde_json::{Value, json};

use super::{Admins, GrantService, PolicyService, WorkflowError};
use crate::access::{AccessPolicy, PolicyDocument, PolicySet};
use crate::audit::event::details::{ManifestApplied, ManifestChange};
use crate::audit::{AuditEvent, AuditKind};
use crate::decision::Caller;
use crate::grant::{Grant, GrantSource};
use crate::manifest::{self, GrantManifest, GrantSpec, Manifest, ManifestError, Object};
use crate::time::{Clock, Ttl};

/// Marks policies applied from manifests (so `--prune` knows which it may delete).
pub const MANAGED_BY: &str = "jitgate.dev/managed-by";

#[derive(Clone, Copy, Debug, Default)]
pub struct ApplyOptions {
    pub dry_run: bool,
    pub prune: bool,
}

pub use jitgate_api_types::apply::{ApplyReport, ObjectKind, PlanAction as Action, PlanItem};

/// Why an apply was refused before anything changed.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("the manifests are invalid")]
    Invalid(Vec<ManifestError>),
    #[error(transparent)]
    Workflow(#[from] WorkflowError),
}

pub struct ApplyService {
    grants: Arc<GrantService>,
    /// Where each apply's summary is recorded (shared with the grant service).
    audit: Arc<super::audit::ControlAudit>,
    policies: Arc<PolicyService>,
    clock: Arc<dyn Clock>,
    admins: Admins,
}

/// What applying one plan item does.
enum Step {
    PutPolicy(Box<PolicyDocument>),
    PutGrant(Box<GrantManifest>),
    DeletePolicy(String),
    RevokeGrant(crate::grant::GrantId),
}

// === impl ApplyService ===

impl ApplyService {
    pub fn new(
        grants: Arc<GrantService>,
        policies: Arc<PolicyService>,
        clock: Arc<dyn Clock>,
        admins: Admins,
    ) -> Self {
        let audit = grants.audit().clone();
        Self { grants, audit, policies, clock, admins }
    }

    pub async fn apply(
        &self,
        caller: &Caller,
        manifests: Vec<Manifest>,
        opts: ApplyOptions,
    ) -> Result<ApplyReport, ApplyError> {
        if !self.admins.includes(caller) {
            return Err(WorkflowError::Forbidden(format!(
                "{} may not apply manifests: only `admins` may",
                caller.subject
            ))
            .into());
        }
        let current_docs = self.policies.list(caller).await?;
        self.validate(&manifests, &current_docs, opts)?;
        let mut plan = Vec::new();
        let mut steps = Vec::new();
        self.plan_policies(&manifests, &current_docs, opts, &mut plan, &mut steps);
        self.plan_grants(&manifests, opts, &mut plan, &mut steps).await?;
        if !opts.dry_run {
            for step in steps {
                self.run(caller, step).await?;
            }
            self.record(caller, &plan, opts).await;
        }
        Ok(ApplyReport { plan, applied: !opts.dry_run })
    }

    /// Records a `manifest.applied` summary when the apply changed something (each change has
    /// its own record too, written with it).
    async fn record(&self, caller: &Caller, plan: &[PlanItem], opts: ApplyOptions) {
        let changed: Vec<&PlanItem> = plan
            .iter()
            .filter(|p| matches!(p.action, Action::Create | Action::Update | Action::Delete))
            .collect();
        if changed.is_empty() {
            return;
        }
        let count = |a: Action| plan.iter().filter(|p| p.action == a).count();
        let changes = changed
            .iter()
            .map(|p| ManifestChange {
                kind: p.kind.as_str().into(),
                name: p.name.clone(),
                action: p.action.as_str().into(),
            })
            .collect();
        let event = AuditEvent::new(AuditKind::ManifestApplied, self.clock.now())
            .actor(&caller.subject)
            .details(&ManifestApplied {
                created: count(Action::Create),
                updated: count(Action::Update),
                deleted: count(Action::Delete),
                unchanged: count(Action::Unchanged),
                skipped: count(Action::Skip),
                prune: opts.prune,
                changes,
            });
        self.audit.record(event).await;
    }

    /// Global limits and standing rules, against the policies as they will be after applying.
    fn validate(
        &self,
        manifests: &[Manifest],
        current: &[PolicyDocument],
        opts: ApplyOptions,
    ) -> Result<(), ApplyError> {
        let mut errors = Vec::new();
        let max = self.grants.max_ttl();
        for m in manifests {
            if let Object::Grant(g) = &m.object
                && g.ttl.is_some_and(|t| t > max)
            {
                errors.push(ManifestError {
                    source: m.source.clone(),
                    field: Some("spec.ttl".into()),
                    message: format!(
                        "above the maximum of {} (`grants.max_ttl`)",
                        Ttl::from_duration(max)
                    ),
                });
            }
        }
        let mut desired: BTreeMap<String, AccessPolicy> = BTreeMap::new();
        for doc in current {
            if opts.prune && managed(doc) {
                continue;
            }
            if let Ok(p) = AccessPolicy::from_document(doc.clone()) {
                desired.insert(p.name.clone(), p);
            }
        }
        for m in manifests {
            if let Object::Policy(p) = &m.object {
                desired.insert(p.name.clone(), (**p).clone());
            }
        }
        errors.extend(manifest::check_standing(
            manifests,
            &PolicySet::new(desired.into_values().collect()),
        ));
        if errors.is_empty() { Ok(()) } else { Err(ApplyError::Invalid(errors)) }
    }

    fn plan_policies(
        &self,
        manifests: &[Manifest],
        current: &[PolicyDocument],
        opts: ApplyOptions,
        plan: &mut Vec<PlanItem>,
        steps: &mut Vec<Step>,
    ) {
        let mut wanted = HashSet::new();
        for m in manifests {
            let Object::Policy(p) = &m.object else { continue };
            wanted.insert(p.name.clone());
            let mut doc = p.document.clone();
            doc.metadata.annotations.insert(MANAGED_BY.into(), "manifest".into());
            let existing = current.iter().find(|d| d.metadata.name == p.name);
            let (action, changes) = match existing {
                None => (Action::Create, Vec::new()),
                Some(old) if *old == doc => (Action::Unchanged, Vec::new()),
                Some(old) => (Action::Update, diff(&json!(old), &json!(doc))),
            };
            if matches!(action, Action::Create | Action::Update) {
                steps.push(Step::PutPolicy(Box::new(doc)));
            }
            plan.push(PlanItem {
                kind: ObjectKind::AccessPolicy,
                name: p.name.clone(),
                action,
                changes,
                note: None,
                source: Some(m.source.clone()),
            });
        }
        if opts.prune {
            for old in current.iter().filter(|d| managed(d) && !wanted.contains(&d.metadata.name)) {
                steps.push(Step::DeletePolicy(old.metadata.name.clone()));
                plan.push(PlanItem {
                    kind: ObjectKind::AccessPolicy,
                    name: old.metadata.name.clone(),
                    action: Action::Delete,
                    changes: Vec::new(),
                    note: Some("no longer in the manifests (pruned)".into()),
                    source: None,
                });
            }
        }
    }

    async fn plan_grants(
        &self,
        manifests: &[Manifest],
        opts: ApplyOptions,
        plan: &mut Vec<PlanItem>,
        steps: &mut Vec<Step>,
    ) -> Result<(), WorkflowError> {
        let store = self.grants.store();
        let now = self.clock.now();
        let mut wanted = HashSet::new();
        for m in manifests {
            let Object::Grant(g) = &m.object else { continue };
            wanted.insert(g.id());
            let existing = store.get(&g.id()).await?.filter(|e| e.expires_at > now);
            let (action, changes, note) = match existing {
                None => (Action::Create, Vec::new(), Some(lifetime(g))),
                Some(e) if e.manifest_hash.as_deref() == Some(&g.hash) && e.revoked.is_some() => {
                    let by = e
                        .revoked
                        .as_ref()
                        .map(|r| format!("{} at {}", r.by, r.at))
                        .unwrap_or_default();
                    (
                        Action::Skip,
                        Vec::new(),
                        Some(format!("revoked by {by}; change the manifest to grant it again")),
                    )
                }
                Some(e) if e.manifest_hash.as_deref() == Some(&g.hash) => {
                    (Action::Unchanged, Vec::new(), None)
                }
                Some(e) => (
                    Action::Update,
                    diff(&json!({"spec": spec_of(&e)}), &json!({"spec": g.spec})),
                    Some(lifetime(g)),
                ),
            };
            if matches!(action, Action::Create | Action::Update) {
                steps.push(Step::PutGrant(g.clone()));
            }
            plan.push(PlanItem {
                kind: ObjectKind::Grant,
                name: g.name.clone(),
                action,
                changes,
                note,
                source: Some(m.source.clone()),
            });
        }
        if opts.prune {
            for old in store
                .list(None, now)
                .await?
                .into_iter()
                .filter(|g| g.source == GrantSource::Manifest && !wanted.contains(&g.id))
            {
                let name = old
                    .id
                    .as_str()
                    .strip_prefix("manifest-")
                    .unwrap_or(old.id.as_str())
                    .to_string();
                plan.push(PlanItem {
                    kind: ObjectKind::Grant,
                    name,
                    action: Action::Delete,
                    changes: Vec::new(),
                    note: Some("no longer in the manifests: revoked (pruned)".into()),
                    source: None,
                });
                steps.push(Step::RevokeGrant(old.id));
            }
        }
        Ok(())
    }

    async fn run(&self, caller: &Caller, step: Step) -> Result<(), WorkflowError> {
        match step {
            Step::PutPolicy(doc) => {
                let name = doc.metadata.name.clone();
                self.policies.put(caller, &name, *doc).await.map(|_| ())
            }
            Step::PutGrant(g) => self.grants.put_managed(&caller.subject, &g).await.map(|_| ()),
            Step::DeletePolicy(name) => self.policies.delete(caller, &name).await,
            Step::RevokeGrant(id) => {
                match self
                    .grants
                    .revoke_as(&caller.subject, &id, Some("pruned by jitgate apply".into()))
                    .await
                {
                    Ok(_) | Err(WorkflowError::Conflict(_) | WorkflowError::NotFound(_)) => Ok(()),
                    Err(e) => Err(e),
                }
            }
        }
    }
}

fn managed(doc: &PolicyDocument) -> bool {
    doc.metadata.annotations.get(MANAGED_BY).is_some_and(|v| v == "manifest")
}

fn lifetime(g: &GrantManifest) -> String {
    match g.ttl {
        Some(t) => format!("for {}; expires {} after applying", g.subject, Ttl::from_duration(t)),
        None => format!("for {}; standing", g.subject),
    }
}

/// The manifest spec a stored grant corresponds to.
fn spec_of(g: &Grant) -> GrantSpec {
    let ttl = g.expires_at.remaining_after(g.created_at);
    GrantSpec {
        subject: g.subject.to_string(),
        resources: g.resources.iter().cloned().map(Into::into).collect(),
        ttl: (!g.standing).then(|| Ttl::from_duration(ttl).to_string()),
        standing: g.standing,
        reason: g.reason.clone(),
        max_uses: g.max_uses,
        incident: g.incident.clone(),
    }
}

/// `path: old → new`, `+ path: new`, `- path: old` for every difference.
pub fn diff(old: &Value, new: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk("", old, new, &mut out);
    out
}

fn walk(path: &str, old: &Value, new: &Value, out: &mut Vec<String>) {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for k in keys {
                let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                match (a.get(k), b.get(k)) {
                    (Some(x), Some(y)) => walk(&p, x, y, out),
                    (Some(x), None) => out.push(format!("- {p}: {x}")),
                    (None, Some(y)) => out.push(format!("+ {p}: {y}")),
                    (None, None) => {}
                }
            }
        }
        (a, b) if a != b => out.push(format!("~ {path}: {a} → {b}")),
        _ => {}
    }
}
