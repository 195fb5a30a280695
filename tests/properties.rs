//! Property tests (SECURITY row 57 and the workflow invariants behind rows 51 and 58): every
//! domain type that is stored in Redis, sent as JSON or written in a manifest survives
//! serialize → parse unchanged, and a request's grant never covers more than its approver saw;
//! time arithmetic, formatting and parsing never panic and stay in bounds (row 64).
//! Run with the rest of the suite (`make test`); `PROPTEST_CASES=2000 cargo nextest run --test
//! properties` runs more cases.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "properties/gen.rs"]
mod generate;
#[path = "properties/roundtrip.rs"]
mod roundtrip;
#[path = "properties/time.rs"]
mod time;
#[path = "properties/workflow.rs"]
mod workflow;
