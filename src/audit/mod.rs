//! The audit record: typed, versioned events ([`event`]) in a hash chain ([`chain`]) that
//! nobody can quietly edit, signed checkpoints kept outside the store ([`checkpoint`]) so a
//! truncated tail shows, and the checks an auditor runs ([`verify`]).
//!
//! Control-plane changes write their event in the same atomic step as the change (the stores
//! do that); decisions are batched off the hot path by [`crate::authz::recorder`]. The log
//! itself sits behind one seam, [`AuditLog`], defined with the stores that implement it
//! (`jitgate_store::audit`): Redis Streams in production ([`crate::store::RedisAuditLog`]),
//! memory for unit tests.

pub mod checkpoint;
pub use jitgate_core::audit as event;
pub mod export;
pub mod query;
pub mod record;
pub mod tasks;
pub mod verify;

pub use jitgate_store::audit::chain;
pub use jitgate_store::audit::{AuditError, AuditLog, BEFORE_ALL, Head, Stored, parse_cursor};

pub use chain::{AuditEntry, ChainError, GENESIS};
pub use event::{AuditEvent, AuditKind};
pub use query::AuditFilter;
