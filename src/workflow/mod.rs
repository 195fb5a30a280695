//! APPLICATION: the control plane's use cases — who may create, read and revoke grants, and
//! the limits every grant obeys. Transports (REST, CLI through REST) call these; storage is
//! behind [`crate::store::GrantStore`].

pub mod grants;

use crate::store::StoreError;

pub use grants::{GrantService, NewGrant};

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
    #[error("the grant store is unavailable; nothing was changed: {0}")]
    Unavailable(#[from] StoreError),
}
