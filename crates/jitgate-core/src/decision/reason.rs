//! Stable deny reason codes and the HTTP status class each maps to. The codes are part of the
//! public contract (deny bodies, logs, metrics labels): never rename one.

use std::fmt;

use serde::Serialize;

/// Why a call was denied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DenyReason {
    /// No bearer token and no workload identity.
    TokenMissing,
    /// The token is malformed, unsigned, signed by an unknown key, or fails a claim rule.
    TokenInvalid,
    /// The token's `exp` has passed.
    TokenExpired,
    /// The issuer's signing keys could not be loaded (and the last good set went stale).
    KeysUnavailable,
    /// The path could hide another path (encoded slash, dot segment, `;`, ...).
    PathRejected,
    /// The request tries to change its method (`X-HTTP-Method-Override`, `_method`).
    MethodOverride,
    /// The check request itself is malformed (no HTTP attributes, no method).
    BadRequest,
    /// No grant covers the call.
    NoGrant,
    /// A grant covered the call but has expired.
    GrantExpired,
    /// A grant covered the call but was revoked.
    GrantRevoked,
    /// A grant covered the call but its `max_uses` are spent.
    GrantUsedUp,
    /// The action needs a one-time approval for this exact call.
    ApprovalRequired,
    /// The grant store cannot be reached and nothing fresh is cached.
    StoreUnavailable,
    /// The check did not finish within its deadline.
    DeadlineExceeded,
    /// jitgate is shedding load.
    Overloaded,
    /// A bug or an unexpected failure inside jitgate.
    InternalError,
}

/// The HTTP status family a deny is answered with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DenyStatus {
    BadRequest,
    Unauthenticated,
    Forbidden,
    Unavailable,
}

// === impl DenyReason ===

impl DenyReason {
    pub const ALL: [DenyReason; 16] = [
        Self::TokenMissing,
        Self::TokenInvalid,
        Self::TokenExpired,
        Self::KeysUnavailable,
        Self::PathRejected,
        Self::MethodOverride,
        Self::BadRequest,
        Self::NoGrant,
        Self::GrantExpired,
        Self::GrantRevoked,
        Self::GrantUsedUp,
        Self::ApprovalRequired,
        Self::StoreUnavailable,
        Self::DeadlineExceeded,
        Self::Overloaded,
        Self::InternalError,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::TokenMissing => "token_missing",
            Self::TokenInvalid => "token_invalid",
            Self::TokenExpired => "token_expired",
            Self::KeysUnavailable => "keys_unavailable",
            Self::PathRejected => "path_rejected",
            Self::MethodOverride => "method_override",
            Self::BadRequest => "bad_request",
            Self::NoGrant => "no_grant",
            Self::GrantExpired => "grant_expired",
            Self::GrantRevoked => "grant_revoked",
            Self::GrantUsedUp => "grant_used_up",
            Self::ApprovalRequired => "approval_required",
            Self::StoreUnavailable => "store_unavailable",
            Self::DeadlineExceeded => "deadline_exceeded",
            Self::Overloaded => "overloaded",
            Self::InternalError => "internal_error",
        }
    }

    pub fn status(self) -> DenyStatus {
        match self {
            Self::TokenMissing | Self::TokenInvalid | Self::TokenExpired => {
                DenyStatus::Unauthenticated
            }
            Self::PathRejected | Self::MethodOverride | Self::BadRequest => DenyStatus::BadRequest,
            Self::NoGrant
            | Self::GrantExpired
            | Self::GrantRevoked
            | Self::GrantUsedUp
            | Self::ApprovalRequired => DenyStatus::Forbidden,
            Self::KeysUnavailable
            | Self::StoreUnavailable
            | Self::DeadlineExceeded
            | Self::Overloaded
            | Self::InternalError => DenyStatus::Unavailable,
        }
    }
}

impl fmt::Display for DenyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

// === impl DenyStatus ===

impl DenyStatus {
    pub fn http_code(self) -> u16 {
        match self {
            Self::BadRequest => 400,
            Self::Unauthenticated => 401,
            Self::Forbidden => 403,
            Self::Unavailable => 503,
        }
    }

    /// The short `error` field of a deny body.
    pub fn error(self) -> &'static str {
        match self {
            Self::BadRequest => "bad_request",
            Self::Unauthenticated => "unauthenticated",
            Self::Forbidden => "forbidden",
            Self::Unavailable => "unavailable",
        }
    }
}
