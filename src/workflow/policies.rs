//! Access policy use cases: admins put and delete policies; any authenticated caller may read
//! them (requesters need to know what they can ask for), with notification targets — webhook
//! URLs, often bearer secrets — shown to admins only. The compiled [`PolicySet`] is swapped
//! atomically and shared with the Check path and the notifier; each swap bumps a generation
//! that the request sweeper watches, so pending requests a change no longer allows are
//! cancelled ([`super::request_terms`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arc_swap::ArcSwap;
use tokio::sync::watch;

use super::{Admins, WorkflowError};
use crate::access::{AccessPolicy, PolicyDocument, PolicySet, check_name};
use crate::audit::{AuditKind, record};
use crate::decision::Caller;
use crate::store::{PolicyStore, PutOutcome, StoreError};
use crate::time::{Clock, SystemClock};

pub struct PolicyService {
    store: Arc<dyn PolicyStore>,
    admins: Admins,
    current: Arc<ArcSwap<PolicySet>>,
    loaded_version: AtomicU64,
    /// Bumped on every swap of the set (this replica's changes and others', and at start).
    generation: watch::Sender<u64>,
    clock: Arc<dyn Clock>,
}

// === impl PolicyService ===

impl PolicyService {
    pub fn new(store: Arc<dyn PolicyStore>, admins: Admins) -> Self {
        Self {
            store,
            admins,
            current: Arc::new(ArcSwap::from_pointee(PolicySet::default())),
            loaded_version: AtomicU64::new(u64::MAX),
            generation: watch::Sender::new(0),
            clock: Arc::new(SystemClock),
        }
    }

    /// The clock that stamps audit events.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The live policy set (cheap; lock-free).
    pub fn current(&self) -> Arc<PolicySet> {
        self.current.load_full()
    }

    /// How many times the set was swapped (0: never loaded).
    pub fn generation(&self) -> u64 {
        *self.generation.borrow()
    }

    /// Wakes whoever holds it on every swap of the set.
    pub fn watch_generation(&self) -> watch::Receiver<u64> {
        self.generation.subscribe()
    }

    /// A handle that always sees the latest set (for the notifier and the Check path).
    pub fn handle(&self) -> Arc<ArcSwap<PolicySet>> {
        self.current.clone()
    }

    fn require_admin(&self, caller: &Caller, what: &str) -> Result<(), WorkflowError> {
        if self.admins.includes(caller) {
            Ok(())
        } else {
            Err(WorkflowError::Forbidden(format!(
                "{} may not {what}: only `admins` manage policies",
                caller.subject
            )))
        }
    }

    /// Validates and stores a policy under `name`; returns what changed and the policy.
    pub async fn put(
        &self,
        caller: &Caller,
        name: &str,
        mut doc: PolicyDocument,
    ) -> Result<(PutOutcome, AccessPolicy), WorkflowError> {
        self.require_admin(caller, "change policies")?;
        check_name(name).map_err(|e| WorkflowError::Invalid(vec![format!("name: {e}")]))?;
        if doc.metadata.name.is_empty() {
            doc.metadata.name = name.to_string();
        }
        if doc.metadata.name != name {
            return Err(WorkflowError::Invalid(vec![format!(
                "metadata.name: `{}` differs from the name in the URL, `{name}`",
                doc.metadata.name
            )]));
        }
        let policy = AccessPolicy::from_document(doc.clone()).map_err(WorkflowError::Invalid)?;
        let json = serde_json::to_string(&doc).unwrap_or_default();
        let event = record::policy_changed(
            AuditKind::PolicyPut,
            name,
            &caller.subject,
            self.clock.now(),
            Some(&json),
        );
        let outcome = self.store.put(&doc, &event).await?;
        tracing::info!(policy.name = name, policy.outcome = ?outcome, by = %caller.subject, "Policy stored");
        self.reload().await?;
        Ok((outcome, policy))
    }

    /// One policy as `caller` may see it (notification targets for admins only).
    pub async fn get(&self, caller: &Caller, name: &str) -> Result<PolicyDocument, WorkflowError> {
        let doc = self
            .store
            .get(name)
            .await?
            .ok_or_else(|| WorkflowError::NotFound(format!("no policy `{name}`")))?;
        Ok(self.as_seen_by(caller, doc))
    }

    /// Every policy as `caller` may see it (notification targets for admins only).
    pub async fn list(&self, caller: &Caller) -> Result<Vec<PolicyDocument>, WorkflowError> {
        let docs = self.store.list().await?.docs;
        Ok(docs.into_iter().map(|d| self.as_seen_by(caller, d)).collect())
    }

    /// Webhook URLs are often bearer secrets (Slack incoming webhooks): requesters need to
    /// know what a policy allows and that it notifies, not where to post.
    fn as_seen_by(&self, caller: &Caller, doc: PolicyDocument) -> PolicyDocument {
        if self.admins.includes(caller) { doc } else { doc.redact_notify_targets() }
    }

    pub async fn delete(&self, caller: &Caller, name: &str) -> Result<(), WorkflowError> {
        self.require_admin(caller, "delete policies")?;
        let event = record::policy_changed(
            AuditKind::PolicyDeleted,
            name,
            &caller.subject,
            self.clock.now(),
            None,
        );
        if !self.store.delete(name, &event).await? {
            return Err(WorkflowError::NotFound(format!("no policy `{name}`")));
        }
        tracing::info!(policy.name = name, by = %caller.subject, "Policy deleted");
        self.reload().await?;
        Ok(())
    }

    /// Rebuilds the set from the store. Stored documents that cannot be decoded or no longer
    /// validate are skipped (and logged) rather than taking every other policy down with them;
    /// the set remembers their names, so their pending requests are neither decided nor
    /// cancelled as if the policy were deleted.
    pub async fn reload(&self) -> Result<(), StoreError> {
        let version = self.store.version().await?;
        let stored = self.store.list().await?;
        let mut unreadable = stored.unreadable;
        let mut policies = Vec::new();
        for doc in stored.docs {
            let name = doc.metadata.name.clone();
            match AccessPolicy::from_document(doc) {
                Ok(p) => policies.push(p),
                Err(e) => {
                    tracing::error!(policy.name = %name, errors = ?e, "Stored policy is invalid; ignored (its pending requests wait until it is fixed)");
                    unreadable.push(name);
                }
            }
        }
        self.current.store(Arc::new(PolicySet::new(policies).with_unreadable(unreadable)));
        self.loaded_version.store(version, Ordering::Release);
        self.generation.send_modify(|g| *g = g.wrapping_add(1));
        Ok(())
    }

    /// Reloads when another replica changed the policies.
    pub async fn refresh(&self) -> Result<bool, StoreError> {
        let version = self.store.version().await?;
        if version == self.loaded_version.load(Ordering::Acquire) {
            return Ok(false);
        }
        self.reload().await?;
        Ok(true)
    }
}
