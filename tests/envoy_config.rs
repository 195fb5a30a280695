//! Every Envoy config shipped in `envoy/` passes `envoy --mode validate` and keeps the secure
//! settings: fail closed, normalized paths, stripped client headers, per-route services, and
//! only the health route exempt from authorization.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;

use serde_json::Value;

fn configs() -> Vec<std::path::PathBuf> {
    let mut out: Vec<_> = std::fs::read_dir(common::repo_file("envoy"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no Envoy configs found in envoy/");
    out
}

fn load(path: &std::path::Path) -> Value {
    serde_saphyr::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Every object in the tree (depth first), with the `@type` it declares, if any.
fn objects(v: &Value, out: &mut Vec<Value>) {
    match v {
        Value::Object(map) => {
            out.push(v.clone());
            map.values().for_each(|c| objects(c, out));
        }
        Value::Array(items) => items.iter().for_each(|c| objects(c, out)),
        _ => {}
    }
}

fn typed(v: &Value, suffix: &str) -> Vec<Value> {
    let mut all = Vec::new();
    objects(v, &mut all);
    all.into_iter().filter(|o| o["@type"].as_str().is_some_and(|t| t.ends_with(suffix))).collect()
}

#[test]
fn every_config_passes_envoy_validate() {
    for path in configs() {
        let out = Command::new(common::envoy::envoy_bin())
            .args(["--mode", "validate", "-c"])
            .arg(&path)
            .output()
            .expect("envoy not found: run `make test`, which installs it");
        assert!(
            out.status.success(),
            "{} failed validation:\n{}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn ext_authz_fails_closed_everywhere() {
    for path in configs() {
        let cfg = load(&path);
        let filters = typed(&cfg, "ext_authz.v3.ExtAuthz");
        assert!(!filters.is_empty(), "{}: no ext_authz filter", path.display());
        for f in filters {
            assert_eq!(
                f["failure_mode_allow"],
                Value::Bool(false),
                "{}: failure_mode_allow must be explicitly false",
                path.display()
            );
            assert_eq!(f["status_on_error"]["code"], "ServiceUnavailable", "{}", path.display());
            assert_eq!(f["encode_raw_headers"], Value::Bool(true), "{}", path.display());
            assert!(
                f["grpc_service"]["timeout"].as_str().is_some(),
                "{}: set a gRPC timeout",
                path.display()
            );
        }
    }
}

#[test]
fn connection_managers_normalize_and_strip() {
    for path in configs() {
        let cfg = load(&path);
        for hcm in typed(&cfg, "HttpConnectionManager") {
            let at = path.display();
            assert_eq!(hcm["normalize_path"], Value::Bool(true), "{at}");
            assert_eq!(hcm["merge_slashes"], Value::Bool(true), "{at}");
            assert_eq!(hcm["path_with_escaped_slashes_action"], "REJECT_REQUEST", "{at}");
            assert_eq!(
                hcm["common_http_protocol_options"]["headers_with_underscores_action"],
                "REJECT_REQUEST",
                "{at}"
            );
            let filters = hcm["http_filters"].as_array().unwrap();
            let pos = |name: &str| filters.iter().position(|f| f["name"] == name);
            let (strip, authz) =
                (pos("envoy.filters.http.header_mutation"), pos("envoy.filters.http.ext_authz"));
            assert!(strip.is_some() && strip < authz, "{at}: strip x-jitgate-* before ext_authz");
            let rules = filters[strip.unwrap()]["typed_config"]["mutations"]["request_mutations"]
                .to_string();
            assert!(
                rules.contains("x-jitgate-"),
                "{at}: the header mutation must remove x-jitgate-*"
            );
        }
    }
}

#[test]
fn only_the_health_route_skips_authorization_and_every_other_names_its_service() {
    for path in configs() {
        let cfg = load(&path);
        let mut all = Vec::new();
        objects(&cfg, &mut all);
        for route in all.iter().filter(|o| {
            o.get("match").is_some()
                && (o.get("route").is_some() || o.get("direct_response").is_some())
        }) {
            let per = &route["typed_per_filter_config"]["envoy.filters.http.ext_authz"];
            let at = format!("{}: route {}", path.display(), route["match"]);
            if per["disabled"] == Value::Bool(true) {
                assert_eq!(
                    route["match"]["path"], "/healthz",
                    "{at}: only /healthz may disable ext_authz"
                );
                assert!(
                    route.get("direct_response").is_some(),
                    "{at}: the exempt route must not reach an upstream"
                );
            } else {
                let service = per["check_settings"]["context_extensions"]["service"].as_str();
                assert!(
                    service.is_some_and(|s| !s.is_empty()),
                    "{at}: set context_extensions.service"
                );
            }
        }
    }
}

/// ext_authz checks a request only when it starts, so every connection manager bounds how long
/// a stream lives (SECURITY.md row 44), and no route switches the bound off.
#[test]
fn every_stream_is_bounded_because_ext_authz_checks_only_at_request_start() {
    for path in configs() {
        let cfg = load(&path);
        let at = path.display();
        for hcm in typed(&cfg, "HttpConnectionManager") {
            let bound = hcm["common_http_protocol_options"]["max_stream_duration"].as_str();
            assert!(
                bound.is_some_and(|b| b != "0s"),
                "{at}: set common_http_protocol_options.max_stream_duration"
            );
        }
        let mut all = Vec::new();
        objects(&cfg, &mut all);
        for route in all.iter().filter_map(|o| o["max_stream_duration"].as_object()) {
            let per_route = route.get("max_stream_duration").and_then(Value::as_str);
            assert_ne!(per_route, Some("0s"), "{at}: a route disables max_stream_duration");
        }
    }
}
