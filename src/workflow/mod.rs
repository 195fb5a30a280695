//! APPLICATION: the control plane's use cases — who may create, read and revoke grants, and
//! the limits every grant obeys. Transports (REST, CLI through REST) call these; storage is
//! behind [`crate::store::GrantStore`].

pub mod apply;
pub mod audit;
pub mod audit_read;
pub mod events;
pub mod explain;
mod grant_filter;
mod grant_revocation;
pub mod grants;
pub mod incidents;
pub mod inputs;
mod onetime;
pub mod policies;
mod quarantine;
pub mod report;
mod request_decisions;
pub mod request_list;
mod request_terms;
pub mod requests;
pub mod stats;
pub mod sweeper;

use crate::decision::Caller;
use crate::grant::Principal;
use crate::store::StoreError;

pub use apply::{ApplyError, ApplyOptions, ApplyReport, ApplyService};
pub use audit_read::AuditReader;
pub use events::{Event, EventKind, EventSink, NoEvents, RecordedEvents};
pub use grants::{GrantService, NewGrant, Provenance};
pub use policies::PolicyService;
pub use report::{ReportQuery, ReportService};
pub use request_list::{DEFAULT_PAGE, LIST_LIMIT, ListCursor, RequestFilter, RequestPage};
pub use requests::{NewRequest, RequestLimits, RequestService};

/// The principals allowed to administer jitgate (`admins` in the configuration).
#[derive(Clone, Debug, Default)]
pub struct Admins(Vec<Principal>);

impl Admins {
    pub fn new(principals: Vec<Principal>) -> Self {
        Self(principals)
    }

    pub fn includes(&self, caller: &Caller) -> bool {
        caller.principals.iter().any(|p| self.0.contains(p))
    }
}

/// Why a control-plane operation was refused. Messages are safe to show to the caller.
#[derive(Debug, thiserror::Error)]
pub enum WorkflowError {
    #[error("{0}")]
    Forbidden(String),
    #[error("the request is invalid")]
    Invalid(Vec<String>),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// A budget of the caller's is spent (429).
    #[error("{0}")]
    TooMany(String),
    #[error("the grant store is unavailable: {0}")]
    Unavailable(#[from] StoreError),
}

impl WorkflowError {
    /// What to tell a caller when the store failed: after a timeout the write may still have
    /// landed (with its audit record), so "nothing changed" would be a promise not kept.
    pub fn unavailable_message(e: &StoreError) -> &'static str {
        match e {
            StoreError::Timeout(_) => {
                "the grant store did not answer in time; the change may still have been applied (with its audit record): check before retrying"
            }
            StoreError::OutOfMemory(_) => {
                "the grant store (Redis) is out of memory and refused the change; nothing was changed: free memory or raise `maxmemory`, then retry"
            }
            _ => "the grant store is unavailable; nothing was changed, retry shortly",
        }
    }
}
