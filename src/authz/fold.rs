//! APPLICATION, pure: what one decision may cost the audit log (SECURITY row 53).
//!
//! A decision of an identified caller is recorded on its own, its path cut to
//! `audit.path_max_bytes` (with the whole path's digest). A deny of a caller jitgate could not
//! identify — no token, a malformed, forged or expired one, a call refused before identity was
//! checked, a shed Check — is attributable to no one and free to send, so it is *folded*:
//! within one window (`audit.anonymous.window`) the denies of one mode, reason, service,
//! method and path become one `decision.deny` record that counts them, its path cut to
//! `audit.anonymous.path_bytes`. A window holds at most `audit.anonymous.max_groups` such
//! groups; later calls of a new shape fold into one overflow record per mode and reason. An
//! unidentified flood therefore costs at most `max_groups + 32` records a window, whatever its
//! size or spread.
//!
//! No I/O and no clock: the writer passes `now`.

use std::collections::HashMap;
use std::time::Duration;

use crate::audit::record::{FoldedDenies, cut_path};
use crate::audit::{AuditEvent, AuditKind};
use crate::decision::DenyReason;
use crate::mode::Mode;
use crate::time::Timestamp;

/// The `audit` settings the folder applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FoldLimits {
    /// Longest path kept in an identified caller's decision record.
    pub path_max_bytes: usize,
    /// Longest path kept in a folded record.
    pub anonymous_path_bytes: usize,
    /// How long denies are folded before their records are written.
    pub window: Duration,
    /// Distinct calls counted apart in one window.
    pub max_groups: usize,
}

/// What became of one decision event.
// Returned and matched at once, never stored: boxing the event would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Offered {
    /// Recorded on its own (path cut to `path_max_bytes`).
    Pass(AuditEvent),
    /// Counted in a folded record; `overflow` when in its reason's overflow record.
    Folded { reason: DenyReason, overflow: bool },
}

/// The folded records of a closed window.
#[derive(Debug, Default)]
pub struct Closed {
    pub events: Vec<AuditEvent>,
    /// How many denies they stand for.
    pub denies: u64,
}

/// What a folded group counts: denies of one mode and reason, and of one call unless it is
/// the overflow group (`call: None`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct GroupKey {
    mode: Mode,
    reason: DenyReason,
    call: Option<Call>,
}

/// The call as recorded: path already cut, `path_sha256` set when it was.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Call {
    service: Option<String>,
    method: Option<String>,
    path: Option<String>,
    path_sha256: Option<String>,
    path_bytes: Option<u64>,
}

#[derive(Debug)]
struct Group {
    key: GroupKey,
    count: u64,
    first_at: Timestamp,
    first_id: String,
    last_at: Timestamp,
    last_id: String,
}

/// Folds unidentified denies window by window.
#[derive(Debug)]
pub struct Folder {
    limits: FoldLimits,
    /// Groups in the order they were opened, and where each key is.
    groups: Vec<Group>,
    index: HashMap<GroupKey, usize>,
    /// Groups that count one call (not overflow groups).
    calls: usize,
    /// When the first deny of the open window was folded.
    opened: Option<Timestamp>,
}

// === impl Folder ===

impl Folder {
    pub fn new(limits: FoldLimits) -> Self {
        Self { limits, groups: Vec::new(), index: HashMap::new(), calls: 0, opened: None }
    }

    /// Passes an identified caller's decision (path cut) or folds an unidentified deny.
    /// `deny` is the reason of a deny, `None` for an allow.
    pub fn offer(
        &mut self,
        mut event: AuditEvent,
        mode: Mode,
        deny: Option<DenyReason>,
        now: Timestamp,
    ) -> Offered {
        let reason = match deny {
            Some(reason) if event.subject.is_none() => reason,
            _ => {
                cut_path(&mut event, self.limits.path_max_bytes);
                return Offered::Pass(event);
            }
        };
        cut_path(&mut event, self.limits.anonymous_path_bytes);
        let (at, id) = (event.at, event.decision_id.clone().unwrap_or_else(|| event.id.clone()));
        let call = Call {
            service: event.service,
            method: event.method,
            path: event.path,
            path_sha256: event.path_sha256,
            path_bytes: event.path_bytes,
        };
        let mut key = GroupKey { mode, reason, call: Some(call) };
        if !self.index.contains_key(&key) && self.calls >= self.limits.max_groups {
            key.call = None;
        }
        let overflow = key.call.is_none();
        self.opened.get_or_insert(now);
        self.count(key, at, id);
        Offered::Folded { reason, overflow }
    }

    /// Counts one deny decided `at` into its group, opening the group if need be.
    fn count(&mut self, key: GroupKey, at: Timestamp, id: String) {
        if let Some(g) = self.index.get(&key).and_then(|&i| self.groups.get_mut(i)) {
            g.count = g.count.saturating_add(1);
            // Records of one batch arrive in queue order, not always in time order.
            if at >= g.last_at {
                (g.last_at, g.last_id) = (at, id);
            } else if at < g.first_at {
                (g.first_at, g.first_id) = (at, id);
            }
            return;
        }
        self.calls = self.calls.saturating_add(usize::from(key.call.is_some()));
        self.index.insert(key.clone(), self.groups.len());
        let (first_id, last_id) = (id.clone(), id);
        self.groups.push(Group { key, count: 1, first_at: at, first_id, last_at: at, last_id });
    }

    /// True once the open window has lasted `window`.
    pub fn due(&self, now: Timestamp) -> bool {
        self.opened.is_some_and(|at| now >= at.saturating_add(self.limits.window))
    }

    /// Closes the window: one record per group, in the order the groups were opened.
    pub fn close(&mut self) -> Closed {
        self.index.clear();
        self.calls = 0;
        self.opened = None;
        let mut closed = Closed::default();
        for g in self.groups.drain(..) {
            closed.denies = closed.denies.saturating_add(g.count);
            closed.events.push(g.into_event());
        }
        closed
    }
}

// === impl Group ===

impl Group {
    fn into_event(self) -> AuditEvent {
        let GroupKey { mode, reason, call } = self.key;
        let details = FoldedDenies {
            count: self.count,
            last_at: self.last_at,
            last_decision_id: self.last_id,
            mode,
            overflow: call.is_none(),
        };
        let mut e = AuditEvent::new(AuditKind::DecisionDeny, self.first_at)
            .reason(reason.code())
            .details(&details);
        e.decision_id = Some(self.first_id);
        if let Some(c) = call {
            (e.service, e.method, e.path) = (c.service, c.method, c.path);
            (e.path_sha256, e.path_bytes) = (c.path_sha256, c.path_bytes);
        }
        e
    }
}

#[cfg(test)]
#[path = "fold_tests.rs"]
mod tests;
