//! Builders for unit tests: a scope from string slices, a plain API grant, a caller with its
//! groups, and a clock the test moves. Built for this crate's tests and, with the `fixtures`
//! feature, for the other crates' (never the binary).

// A literal that does not parse is a bug in the test that wrote it.
#![allow(clippy::expect_used)]

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use super::{Grant, GrantId, Scope, ScopeWire};
use crate::decision::Caller;
use crate::time::{Clock, Timestamp};

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

/// A caller: `subject` and, for each of `groups`, `group:<name>`.
pub fn mk_caller(subject: &str, groups: &[&str]) -> Caller {
    let subject: super::Principal = subject.parse().expect("test subject");
    let mut principals = vec![subject.clone()];
    principals.extend(groups.iter().map(|g| format!("group:{g}").parse().expect("test group")));
    Caller { subject, principals }
}

/// A clock that stands still until the test moves it.
#[derive(Debug)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn at(t: Timestamp) -> Self {
        Self(AtomicI64::new(t.as_millis()))
    }

    pub fn advance(&self, d: Duration) {
        let ms = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_millis(self.0.load(Ordering::SeqCst))
    }
}
