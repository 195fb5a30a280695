//! jitgate: a just-in-time access gateway for APIs, built as an Envoy ext_authz server.
//!
//! ```text
//! client ─HTTP─▶ Envoy ─Check─▶ grpc ─▶ authz::Authorizer
//!                                        1. CheckRequest → CheckInput (method, service, path)
//!                                        2. identity: bearer JWT → Caller (user, groups, service)
//!                                        3. store::GrantCache: grants for the caller's principals
//!                                        4. decision::evaluate(grants, caller, input, now)
//! Envoy ◀─ CheckResponse (OK + x-jitgate-* headers | deny 400/401/403/503 + JSON body)
//! REST api / cli ─▶ workflow (grants) ─▶ store (Redis; publish + epoch invalidation)
//! browser ─▶ /ui/ (api::ui, static page) ─▶ the same REST api with the caller's token
//! ```
//!
//! Layers point one way: transport (`grpc`, `api`, `cli`) → application (`authz`, `workflow`)
//! → domain (`grant`, `decision`, `access`, `time`, audit events). The domain is its own crate,
//! `jitgate-core`, with no I/O dependency, re-exported here under the same paths. The REST
//! API's bodies are `jitgate-api-types`, on top of the domain: the server (`api`) writes them
//! and the CLI (`cli`) reads them, so neither builds or picks apart JSON by hand.
//! Infrastructure (`store`, `identity`) sits behind traits the application holds as
//! `Arc<dyn ...>`; the stores are their own crate, `jitgate-store` (re-exported as `store`),
//! which can reach the domain and the metrics registry (`jitgate-metrics`, re-exported as
//! `metrics`) but nothing above them.

pub mod api;
pub mod app;
pub mod audit;
pub mod authz;
pub mod cli;
pub mod config;
pub mod grpc;
pub mod health;
pub mod identity;
pub mod links;
pub mod manifest;
pub mod notify;
pub mod priority;
pub mod report;
pub mod telemetry;
pub mod workflow;

// The domain lives in its own crate (no I/O dependencies); its modules keep their paths here.
pub use jitgate_core::{access, decision, grant, hex, mode, percent, time};
pub use jitgate_metrics as metrics;
pub use jitgate_store as store;
