//! Bad inputs (issue 7): a table-driven corpus of hostile and malformed input, through a real
//! Envoy and straight over gRPC, at the REST API and at `jitgate validate`. Every case states
//! its expected outcome; each category prints its counts and asserts zero unexpected allows
//! and every case as expected. `make test-bad-inputs` runs it with the summaries shown.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

#[path = "bad_inputs/check_requests.rs"]
mod check_requests;
#[path = "bad_inputs/header_cases.rs"]
mod header_cases;
#[path = "bad_inputs/headers.rs"]
mod headers;
#[path = "bad_inputs/jwt.rs"]
mod jwt;
#[path = "bad_inputs/jwt_cases.rs"]
mod jwt_cases;
#[path = "bad_inputs/jwt_shapes.rs"]
mod jwt_shapes;
#[path = "bad_inputs/manifest_cases.rs"]
mod manifest_cases;
#[path = "bad_inputs/manifests.rs"]
mod manifests;
#[path = "bad_inputs/one_time.rs"]
mod one_time;
#[path = "bad_inputs/path_cases.rs"]
mod path_cases;
#[path = "bad_inputs/paths.rs"]
mod paths;
#[path = "bad_inputs/report.rs"]
mod report;
#[path = "bad_inputs/rest.rs"]
mod rest;
#[path = "bad_inputs/rest_cases.rs"]
mod rest_cases;
#[path = "bad_inputs/rest_endpoints.rs"]
mod rest_endpoints;
#[path = "bad_inputs/rest_workflow.rs"]
mod rest_workflow;
#[path = "bad_inputs/smuggling.rs"]
mod smuggling;
#[path = "bad_inputs/stack.rs"]
mod stack;
#[path = "bad_inputs/tokens.rs"]
mod tokens;
