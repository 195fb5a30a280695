//! DOMAIN: grants and what they cover. A grant gives one principal access to some resource
//! scopes until it expires, optionally for a limited number of uses.
//!
//! No I/O here: no Redis, HTTP, gRPC or tokio types.

// Reached by what callers send: no arithmetic that can overflow, no indexing that can go out
// of bounds, no `panic!` (SECURITY row 64). Checked by clippy, so a regression fails the build.
#![deny(clippy::arithmetic_side_effects, clippy::indexing_slicing, clippy::panic)]

mod index;
mod issuer;
pub mod limits;
mod lookalike;
mod path;
mod pattern;
mod principal;
mod query;
mod request_id;
mod rule;
mod scope;

#[cfg(any(test, feature = "fixtures"))]
#[doc(hidden)]
pub mod fixtures;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use index::{Candidates, IndexedGrants};
pub use issuer::{IssuerName, IssuerNameError, MAX_ISSUER_NAME_LEN, Naming, issuer_in};
pub use path::{MAX_PATH_AND_QUERY_LEN, MAX_PATH_LEN, PathError, RequestPath};
pub use pattern::{MAX_PATTERN_LEN, PathPattern, PatternError, escape_segment};
pub use principal::{MAX_PRINCIPAL_ID_LEN, Principal, PrincipalError};
pub use query::{MAX_QUERY_LEN, Query, QueryError};
pub use request_id::RequestId;
pub use rule::{AsGrantView, GrantRule, GrantView, ScopeInterner};
pub use scope::{MAX_PATHS, MAX_RESOURCES, Methods, Scope, ScopeWire, check_budget, check_service};

use crate::time::Timestamp;

/// A grant's id: a time-ordered UUID for new grants, or a stable name for manifest grants.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct GrantId(String);

// === impl GrantId ===

impl GrantId {
    pub fn generate() -> Self {
        Self(uuid::Uuid::now_v7().to_string())
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        let ok = !s.is_empty()
            && s.len() <= 128
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b));
        if ok {
            Ok(Self(s.to_string()))
        } else {
            Err(format!(
                "`{}` is not a grant id: ids are 1-128 characters of letters, digits, `.`, `_`, `:` and `-`",
                s.escape_debug()
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for GrantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for GrantId {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s)
    }
}

impl From<GrantId> for String {
    fn from(id: GrantId) -> Self {
        id.0
    }
}

crate::named_enum! {
    /// Where a grant came from.
    pub enum GrantSource {
        /// Created directly by an admin through the API or CLI.
        Api = "api",
        /// Created when an access request was approved.
        Request = "request",
        /// Applied from a manifest.
        Manifest = "manifest",
    }
}

/// Who revoked a grant, and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    pub at: Timestamp,
    pub by: Principal,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A grant as stored and evaluated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub id: GrantId,
    pub subject: Principal,
    pub resources: Vec<Scope>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub created_by: Principal,
    #[serde(default)]
    pub approved_by: Vec<Principal>,
    pub reason: String,
    #[serde(default)]
    pub max_uses: Option<u32>,
    #[serde(default)]
    pub uses: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_used_at: Option<Timestamp>,
    #[serde(default)]
    pub last_used_at: Option<Timestamp>,
    pub source: GrantSource,
    /// The access request this grant came from, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<RequestId>,
    /// The incident this grant is tied to; resolving the incident revokes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident: Option<String>,
    /// The policy that governed the request this grant came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// The auto-approve rule that approved it, when a policy did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_approved_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked: Option<Revocation>,
    /// Declared `standing: true` in a manifest that a policy allowed (still carries a TTL).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub standing: bool,
    /// For manifest grants: the digest of the spec they were applied from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest_hash: Option<String>,
}

/// A grant's state at a given time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantStatus {
    Active,
    Expired,
    Revoked,
    /// Every allowed use has been spent.
    Exhausted,
}

// === impl Grant ===

impl Grant {
    /// A new grant from the API: unused, unrevoked, with no approvals, request, incident,
    /// policy or manifest. Other sources set those with struct update syntax
    /// (`Grant { source: GrantSource::Request, ..Grant::new(..) }`).
    pub fn new(
        id: GrantId,
        subject: Principal,
        resources: Vec<Scope>,
        created_by: Principal,
        reason: String,
        created_at: Timestamp,
        expires_at: Timestamp,
    ) -> Self {
        Self {
            id,
            subject,
            resources,
            created_at,
            expires_at,
            created_by,
            approved_by: Vec::new(),
            reason,
            max_uses: None,
            uses: 0,
            first_used_at: None,
            last_used_at: None,
            source: GrantSource::Api,
            request_id: None,
            incident: None,
            policy: None,
            auto_approved_by: None,
            revoked: None,
            standing: false,
            manifest_hash: None,
        }
    }

    /// Live means: not revoked, not expired at `now` (`now < expires_at`), uses left.
    pub fn status(&self, now: Timestamp) -> GrantStatus {
        self.view().status(now)
    }

    pub fn is_live(&self, now: Timestamp) -> bool {
        self.status(now) == GrantStatus::Active
    }

    pub fn covers(&self, service: &str, method: &str, path: &RequestPath) -> bool {
        self.view().covers(service, method, path)
    }
}

impl fmt::Display for GrantStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Active => "active",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
            Self::Exhausted => "exhausted",
        })
    }
}

/// Reads `max_uses` as a request body or a manifest carries it: a whole number up to
/// [`u32::MAX`], or null for unlimited; anything else is refused with the range (zero is left
/// for the limit check, which says it must be at least 1).
pub fn deserialize_max_uses<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<u32>, D::Error> {
    let raw = Option::<serde_json::Value>::deserialize(d)?.filter(|v| !v.is_null());
    let Some(raw) = raw else { return Ok(None) };
    match raw.as_u64().and_then(|n| u32::try_from(n).ok()) {
        Some(n) => Ok(Some(n)),
        None => Err(serde::de::Error::custom(format!(
            "`{raw}` is not a whole number from 1 to {}: give how many calls the grant allows, or null for unlimited",
            u32::MAX
        ))),
    }
}

/// A grant's usage ledger.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantUsage {
    pub uses: u64,
    pub first_used_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
    /// Distinct paths used, sorted.
    pub paths: Vec<String>,
    /// More distinct paths were used than the ledger keeps.
    pub paths_truncated: bool,
}

impl GrantUsage {
    pub fn of(g: &Grant, paths: Vec<String>, paths_truncated: bool) -> Self {
        Self {
            uses: g.uses,
            first_used_at: g.first_used_at,
            last_used_at: g.last_used_at,
            paths,
            paths_truncated,
        }
    }
}
