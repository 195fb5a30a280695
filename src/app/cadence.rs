//! How often the server's own background loops run, in one place. Each trades how soon a
//! change elsewhere shows here against what the loop costs Redis and the CPU. The cadences an
//! operator tunes (the cache's epoch poll, the request sweeper, the audit relay and flush) are
//! in the configuration; these are fixed, because nothing depends on tuning them.

use std::time::Duration;

/// Readiness and gRPC health follow the store's reachability this closely.
pub const STORE_WATCH_EVERY: Duration = Duration::from_millis(500);

/// A policy another replica changed is picked up within this long (the policy counter is
/// one `GET`).
pub const POLICY_REFRESH_EVERY: Duration = Duration::from_secs(1);

/// The `jitgate_active_grants` gauges are recounted this often (a scan of live grants).
pub const STATS_EVERY: Duration = Duration::from_secs(15);

/// Most webhook deliveries in flight at once.
pub const NOTIFY_IN_FLIGHT: usize = 32;
