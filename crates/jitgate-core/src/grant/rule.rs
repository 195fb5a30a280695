//! DOMAIN, pure: what the engine reads of a grant. [`GrantView`] is that reading, borrowed from
//! either a whole [`Grant`] (explain, tests) or a [`GrantRule`], the compact form the grant cache
//! keeps: id, holder, resources, expiry and use counts, without the history fields (reason,
//! approvers, request, timestamps of use). A rule's holder and resources are shared `Arc`s, so a
//! principal's rules share one holder and identical resource lists share one copy (see
//! [`ScopeInterner`]).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use super::{Grant, GrantId, GrantStatus, Principal, RequestPath, Scope};
use crate::time::Timestamp;

/// The fields the engine decides on, borrowed.
#[derive(Clone, Copy, Debug)]
pub struct GrantView<'a> {
    pub id: &'a str,
    /// The principal the grant names.
    pub holder: &'a Principal,
    pub resources: &'a [Scope],
    pub expires_at: Timestamp,
    pub max_uses: Option<u32>,
    pub uses: u64,
    pub revoked: bool,
}

/// Anything the engine can decide on: a whole grant or a cached rule.
pub trait AsGrantView {
    fn view(&self) -> GrantView<'_>;
}

/// A grant as the cache keeps it: only what deciding needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrantRule {
    id: RuleId,
    holder: Arc<Principal>,
    resources: Arc<[Scope]>,
    expires_at: Timestamp,
    uses: u64,
    max_uses: Option<u32>,
    revoked: bool,
}

/// Longest id kept inline (a UUID is 36 bytes, a request grant's `req-<uuid>` 40).
const INLINE_ID: usize = 46;

/// A grant id without a heap allocation of its own when it is short: a million cached rules
/// are a million fewer small allocations.
#[derive(Clone, PartialEq, Eq)]
enum RuleId {
    Inline { len: u8, bytes: [u8; INLINE_ID] },
    Heap(Box<str>),
}

/// Shares identical resource lists between cached rules (grants from one policy or manifest
/// usually cover the same scopes). Entries no rule uses any more are dropped as the set grows.
#[derive(Debug, Default)]
pub struct ScopeInterner {
    set: Mutex<Interned>,
}

#[derive(Debug, Default)]
struct Interned {
    lists: HashSet<Arc<[Scope]>>,
    /// Size after the last sweep; the next sweep runs when the set has doubled.
    swept_at: usize,
}

// === impl RuleId ===

impl RuleId {
    fn new(id: &str) -> Self {
        let mut bytes = [0; INLINE_ID];
        match (u8::try_from(id.len()), bytes.get_mut(..id.len())) {
            (Ok(len), Some(head)) => {
                head.copy_from_slice(id.as_bytes());
                Self::Inline { len, bytes }
            }
            _ => Self::Heap(id.into()),
        }
    }

    fn as_str(&self) -> &str {
        match self {
            // Copied whole from a `str`, so always UTF-8.
            Self::Inline { len, bytes } => {
                let used = bytes.get(..usize::from(*len)).unwrap_or_default();
                std::str::from_utf8(used).unwrap_or_default()
            }
            Self::Heap(s) => s,
        }
    }
}

impl std::fmt::Debug for RuleId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

// === impl GrantView ===

impl GrantView<'_> {
    /// The id as a [`GrantId`] (views are only made of valid grants and rules).
    pub fn grant_id(&self) -> GrantId {
        GrantId(self.id.to_string())
    }

    /// Live means: not revoked, not expired at `now` (`now < expires_at`), uses left.
    pub fn status(&self, now: Timestamp) -> GrantStatus {
        if self.revoked {
            GrantStatus::Revoked
        } else if now >= self.expires_at {
            GrantStatus::Expired
        } else if self.max_uses.is_some_and(|max| self.uses >= u64::from(max)) {
            GrantStatus::Exhausted
        } else {
            GrantStatus::Active
        }
    }

    pub fn covers(&self, service: &str, method: &str, path: &RequestPath) -> bool {
        self.resources.iter().any(|s| s.matches(service, method, path))
    }
}

impl AsGrantView for Grant {
    fn view(&self) -> GrantView<'_> {
        GrantView {
            id: self.id.as_str(),
            holder: &self.subject,
            resources: &self.resources,
            expires_at: self.expires_at,
            max_uses: self.max_uses,
            uses: self.uses,
            revoked: self.revoked.is_some(),
        }
    }
}

// === impl GrantRule ===

impl GrantRule {
    /// The rule of `grant`, naming `holder` (its subject) and covering `resources` (its own).
    pub fn new(grant: &Grant, holder: Arc<Principal>, resources: Arc<[Scope]>) -> Self {
        debug_assert!(*holder == grant.subject && *resources == *grant.resources);
        Self {
            id: RuleId::new(grant.id.as_str()),
            holder,
            resources,
            expires_at: grant.expires_at,
            uses: grant.uses,
            max_uses: grant.max_uses,
            revoked: grant.revoked.is_some(),
        }
    }

    pub fn id(&self) -> &str {
        self.id.as_str()
    }

    /// The id as a [`GrantId`] (it was one when the rule was made).
    pub fn grant_id(&self) -> GrantId {
        GrantId(self.id.as_str().to_string())
    }

    pub fn holder(&self) -> &Principal {
        &self.holder
    }

    pub fn resources(&self) -> &[Scope] {
        &self.resources
    }

    pub fn is_revoked(&self) -> bool {
        self.revoked
    }
}

impl From<&Grant> for GrantRule {
    fn from(g: &Grant) -> Self {
        Self::new(g, Arc::new(g.subject.clone()), g.resources.as_slice().into())
    }
}

impl AsGrantView for GrantRule {
    fn view(&self) -> GrantView<'_> {
        GrantView {
            id: self.id.as_str(),
            holder: &self.holder,
            resources: &self.resources,
            expires_at: self.expires_at,
            max_uses: self.max_uses,
            uses: self.uses,
            revoked: self.revoked,
        }
    }
}

// === impl ScopeInterner ===

impl ScopeInterner {
    /// The shared copy of `resources`.
    pub fn intern(&self, resources: &[Scope]) -> Arc<[Scope]> {
        let Ok(mut s) = self.set.lock() else { return resources.into() };
        if let Some(shared) = s.lists.get(resources) {
            return shared.clone();
        }
        if s.lists.len() >= s.swept_at.saturating_mul(2).max(1024) {
            s.lists.retain(|l| Arc::strong_count(l) > 1);
            s.swept_at = s.lists.len();
        }
        let shared: Arc<[Scope]> = resources.into();
        s.lists.insert(shared.clone());
        shared
    }

    /// Compact rules for one principal's grants, sharing holders and resource lists.
    pub fn rules(&self, grants: &[Grant]) -> Vec<GrantRule> {
        let mut holder: Option<Arc<Principal>> = None;
        grants
            .iter()
            .map(|g| {
                let h = match &holder {
                    Some(h) if **h == g.subject => h.clone(),
                    _ => holder.insert(Arc::new(g.subject.clone())).clone(),
                };
                GrantRule::new(g, h, self.intern(&g.resources))
            })
            .collect()
    }

    /// Distinct resource lists held.
    pub fn len(&self) -> usize {
        self.set.lock().map(|s| s.lists.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grant::fixtures::{mk_grant, mk_scope};

    fn grant(id: &str, subject: &str, path: &str) -> Grant {
        mk_grant(id, subject, mk_scope("svc", &["GET"], &[path]), Timestamp::from_millis(1 << 40))
    }

    #[test]
    fn a_rule_reads_like_its_grant() {
        let mut g = grant("a", "user:alice", "/a/**");
        g.max_uses = Some(2);
        g.uses = 2;
        let rule = GrantRule::from(&g);
        let (a, b) = (g.view(), rule.view());
        assert_eq!((a.id, a.holder, a.resources), (b.id, b.holder, b.resources));
        assert_eq!(rule.grant_id(), g.id);
        assert_eq!(
            (a.expires_at, a.max_uses, a.uses, a.revoked),
            (b.expires_at, 2.into(), 2, false)
        );
        for t in [0, 1 << 40, (1 << 40) + 1] {
            let now = Timestamp::from_millis(t);
            assert_eq!(a.status(now), b.status(now));
            assert_eq!(g.status(now), b.status(now));
        }
    }

    #[test]
    fn short_ids_are_inline_and_long_ones_kept_whole() {
        for id in ["a", "018f2b6e-7c1a-7d2e-9f00-0123456789ab", &"x".repeat(46), &"y".repeat(128)] {
            let rule = GrantRule::from(&grant(id, "user:alice", "/a"));
            assert_eq!(rule.id(), id);
            assert_eq!(matches!(rule.id, RuleId::Inline { .. }), id.len() <= INLINE_ID);
        }
    }

    #[test]
    fn identical_resources_and_holders_are_shared() {
        let interner = ScopeInterner::default();
        let grants = [
            grant("a", "user:alice", "/a/**"),
            grant("b", "user:alice", "/a/**"),
            grant("c", "user:alice", "/c"),
        ];
        let rules = interner.rules(&grants);
        assert!(Arc::ptr_eq(&rules[0].resources, &rules[1].resources));
        assert!(!Arc::ptr_eq(&rules[0].resources, &rules[2].resources));
        assert!(Arc::ptr_eq(&rules[0].holder, &rules[2].holder));
        assert_eq!(interner.len(), 2);
        let again = interner.rules(&grants[..1]);
        assert!(Arc::ptr_eq(&again[0].resources, &rules[0].resources));
    }

    #[test]
    fn lists_no_rule_uses_are_swept_as_the_set_grows() {
        let interner = ScopeInterner::default();
        let kept = interner.rules(&[grant("k", "user:alice", "/kept")]);
        for i in 0..5000 {
            drop(interner.rules(&[grant("x", "user:alice", &format!("/tmp/{i}"))]));
        }
        assert!(interner.len() < 2100, "{} lists held", interner.len());
        let again = interner.rules(&[grant("k", "user:alice", "/kept")]);
        assert!(Arc::ptr_eq(&again[0].resources, &kept[0].resources));
    }
}
