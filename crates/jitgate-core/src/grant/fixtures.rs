//! Builders for unit tests: a scope from string slices and a plain API grant. Built for this
//! crate's tests and, with the `fixtures` feature, for the other crates' (never the binary).

// A literal that does not parse is a bug in the test that wrote it.
#![allow(clippy::expect_used)]

use super::{Grant, GrantId, Scope, ScopeWire};
use crate::time::Timestamp;

pub fn mk_scope(service: &str, methods: &[&str], paths: &[&str]) -> Scope {
    Scope::from_wire(ScopeWire {
        service: service.into(),
        methods: methods.iter().map(|s| s.to_string()).collect(),
        paths: paths.iter().map(|s| s.to_string()).collect(),
        query: None,
    })
    .expect("test scope")
}

/// An active API grant created a minute before `expires_at`'s reference time.
pub fn mk_grant(id: &str, subject: &str, scope: Scope, expires_at: Timestamp) -> Grant {
    Grant::new(
        GrantId::parse(id).expect("test grant id"),
        subject.parse().expect("test subject"),
        vec![scope],
        "user:admin".parse().expect("test creator"),
        "test".into(),
        expires_at.saturating_sub(std::time::Duration::from_secs(3600)),
        expires_at,
    )
}

/// A placeholder audit event for store calls in tests that do not look at the audit log.
pub fn mk_event() -> crate::audit::AuditEvent {
    crate::audit::AuditEvent::new(crate::audit::AuditKind::GrantCreated, Timestamp::from_millis(0))
}
