//! jitgate's domain, with no I/O: what a grant is and what it covers ([`grant`]), the pure
//! decision engine with an explicit `now` ([`decision`]), access policies and the assessment
//! of a request against them ([`access`]), bounded times and durations ([`time`]), the enforcement modes ([`mode`]) and the
//! typed audit events every change and decision is recorded as ([`audit`]).
//!
//! The crate boundary holds the layering: nothing here can reach Redis, tokio, gRPC or HTTP,
//! because none of them is a dependency (`tests/architecture.rs` in jitgate checks the graph).

pub mod access;
pub mod audit;
pub mod decision;
pub mod grant;
pub mod hex;
pub mod mode;
mod named;
pub mod percent;
pub mod time;
