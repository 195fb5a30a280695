//! Fault injection (SECURITY.md catalogue rows 26–46): real redis-server, real Envoy, two jitgate
//! replicas, a TCP fault proxy between jitgate and Redis, a JWKS issuer the test breaks,
//! jitgate itself killed under load, and its wall clock moved with libfaketime. Every fault runs a bounded stream of Checks whose expected
//! decision is known at each moment, counts the allows that should not have happened (must be
//! 0) and measures the time to recover once the fault is lifted.
//!
//! Two sizes: the short form runs in `cargo nextest run` (so `make test`); `JITGATE_FAULTS_LONG=1`
//! (`make test-faults`) runs longer traffic and more rounds. Each test prints its rows; with
//! `JITGATE_FAULTS_REPORT=<file>` they are also appended there as tab-separated lines.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../common/mod.rs"]
mod common;

mod clock_faketime;
mod clock_faults;
mod drive;
mod envoy_faults;
mod identity_faults;
mod redis_faults;
mod redis_limits;
mod revocation_faults;
mod stream_faults;
mod time_faults;
