//! Workflow events and the seam they leave through ([`EventSink`]): requested, approved,
//! denied, expired, escalated, revoked. Publishing never blocks and never fails the workflow.

use std::sync::Mutex;

use serde::Serialize;

use crate::access::AccessRequest;
use crate::grant::{Grant, Principal};
use crate::time::Timestamp;

pub use crate::access::EventKind;

/// Something that happened to a request or a grant governed by a policy.
#[derive(Clone, Debug, Serialize)]
pub struct Event {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: EventKind,
    pub occurred_at: Timestamp,
    pub policy: String,
    /// Who caused it (`None` for the clock: expiry, escalation).
    pub actor: Option<Principal>,
    pub request: Option<AccessRequest>,
    pub grant: Option<Grant>,
    /// Who can act on it now (approvers of a pending request).
    pub approvers: Vec<Principal>,
    /// One line for humans.
    pub summary: String,
}

impl Event {
    pub fn new(kind: EventKind, policy: &str, at: Timestamp, summary: String) -> Self {
        Self {
            id: uuid::Uuid::new_v4().to_string(),
            kind,
            occurred_at: at,
            policy: policy.to_string(),
            actor: None,
            request: None,
            grant: None,
            approvers: Vec::new(),
            summary,
        }
    }
}

/// Where events go (webhooks in production). Must return immediately.
pub trait EventSink: Send + Sync + 'static {
    fn publish(&self, event: Event);
}

/// Drops every event (for dry runs).
pub struct NoEvents;

impl EventSink for NoEvents {
    fn publish(&self, _event: Event) {}
}

/// Keeps events in memory (for tests).
#[derive(Default)]
pub struct RecordedEvents(pub Mutex<Vec<Event>>);

impl EventSink for RecordedEvents {
    fn publish(&self, event: Event) {
        if let Ok(mut v) = self.0.lock() {
            v.push(event);
        }
    }
}

impl RecordedEvents {
    pub fn kinds(&self) -> Vec<EventKind> {
        self.0.lock().map(|v| v.iter().map(|e| e.kind).collect()).unwrap_or_default()
    }
}
