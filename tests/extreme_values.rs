//! Extreme values at every door (SECURITY row 64, issue 16): each REST endpoint that takes a
//! duration, a time or a number gets its most extreme valid values (the longest TTL, the
//! largest `max_uses`, the first and last instant RFC 3339 can write, the largest page) and
//! answers 2xx, with the stored record reading back as sent; and the smallest invalid ones
//! (one millisecond too long, zero, negative, `u64::MAX`, `1e309`, a number past u64, a year
//! past 9999) and answers 400 naming the field and its range: never a 5xx, never a dropped
//! connection, and nothing written. A configuration with extreme values is refused at load.
//!
//! A real redis-server and a real jitgate on loopback ports chosen at run time, its
//! `grants.max_ttl` at the longest duration jitgate accepts (`100y`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

#[path = "extreme_values/config.rs"]
mod config;
#[path = "extreme_values/grants.rs"]
mod grants;
#[path = "extreme_values/probe.rs"]
mod probe;
#[path = "extreme_values/reads.rs"]
mod reads;
#[path = "extreme_values/workflow.rs"]
mod workflow;
