//! The layering held by crate boundaries (issue 17): `jitgate-core`, the domain, and
//! `jitgate-api-types`, the REST wire contract the CLI shares with the server, depend on no I/O
//! crate, directly or through anything they pull in; the wire contract depends on the domain
//! and nothing of jitgate's above it; `jitgate-store` reaches no HTTP or gRPC crate and nothing
//! of jitgate's but the domain and the metrics registry. Read from `cargo metadata`, so a new dependency that drags
//! tokio or a client library into either fails here.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeSet, HashMap};
use std::process::Command;

use serde_json::Value;

/// Crates that do I/O, or exist for it: none of them may be reachable from the domain.
const IO_CRATES: [&str; 10] =
    ["tokio", "mio", "redis", "tonic", "hyper", "axum", "reqwest", "h2", "rustls", "socket2"];

/// Every package `root` reaches through normal (non-dev, non-build) dependencies.
fn reachable(meta: &Value, root: &str) -> BTreeSet<String> {
    let name_of: HashMap<&str, &str> = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p["name"].as_str().unwrap()))
        .collect();
    let nodes: HashMap<&str, &Value> = meta["resolve"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["id"].as_str().unwrap(), n))
        .collect();
    let start = name_of.iter().find(|(_, n)| **n == root).map(|(id, _)| *id).expect(root);
    let (mut seen, mut todo) = (BTreeSet::new(), vec![start]);
    while let Some(id) = todo.pop() {
        for dep in nodes[id]["deps"].as_array().unwrap() {
            let normal = dep["dep_kinds"].as_array().unwrap().iter().any(|k| k["kind"].is_null());
            let dep_id = dep["pkg"].as_str().unwrap();
            if normal && seen.insert(name_of[dep_id].to_owned()) {
                todo.push(dep_id);
            }
        }
    }
    seen
}

#[test]
fn the_domain_and_wire_crates_depend_on_no_io_crate() {
    // The host's dependency graph only (others' packages may not be downloaded here).
    let rustc = Command::new("rustc").arg("-vV").output().expect("run rustc -vV");
    let host = String::from_utf8_lossy(&rustc.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))
        .expect("rustc -vV names the host");
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--locked", "--offline"])
        .args(["--filter-platform", &host])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo metadata");
    assert!(out.status.success(), "cargo metadata: {}", String::from_utf8_lossy(&out.stderr));
    let meta: Value = serde_json::from_slice(&out.stdout).unwrap();
    for krate in ["jitgate-core", "jitgate-api-types"] {
        let deps = reachable(&meta, krate);
        let io: Vec<_> = IO_CRATES.iter().filter(|c| deps.contains(**c)).collect();
        assert!(io.is_empty(), "{krate} reaches I/O crates {io:?} (all: {deps:?})");
    }
    // The stores do I/O (Redis, tokio) but serve no transport: no HTTP or gRPC stack, and
    // nothing of jitgate's but the domain and the metrics registry.
    let store = reachable(&meta, "jitgate-store");
    let transport: Vec<_> =
        ["axum", "tonic", "reqwest", "hyper"].iter().filter(|c| store.contains(**c)).collect();
    assert!(transport.is_empty(), "jitgate-store reaches transport crates {transport:?}");
    let ours: Vec<_> = store.iter().filter(|c| c.starts_with("jitgate")).collect();
    assert_eq!(ours, ["jitgate-core", "jitgate-metrics"], "jitgate-store depends on {ours:?}");
    let wire = reachable(&meta, "jitgate-api-types");
    assert!(wire.contains("jitgate-core") && !wire.contains("jitgate"), "{wire:?}");
    // The check itself works: the server does reach them.
    let server = reachable(&meta, "jitgate");
    let ours = ["jitgate-core", "jitgate-api-types", "jitgate-store", "jitgate-metrics", "tokio"];
    assert!(ours.iter().all(|c| server.contains(*c)), "{server:?}");
}

/// Module edges the layering forbids, as (directory under `src/`, path it must not name):
/// the Check path reaches the request workflow only through the domain's `OneTimeFiler` port,
/// and the workflow reads Check inputs from the domain, not from the Check path; the
/// application layers know no transport; the transports (REST, gRPC, CLI) do not build on
/// each other (the gRPC admin API has its own `AdminServices`, not the REST layer's state).
const FORBIDDEN: [(&str, &str); 11] = [
    ("authz", "crate::workflow"),
    ("workflow", "crate::authz"),
    ("workflow", "crate::api"),
    ("workflow", "crate::grpc"),
    ("workflow", "crate::cli"),
    ("authz", "crate::api"),
    ("authz", "crate::grpc"),
    ("grpc", "crate::api"),
    ("grpc", "crate::cli"),
    ("api", "crate::grpc"),
    ("api", "crate::cli"),
];

/// Every `.rs` file under `dir`, however deep.
fn sources(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

#[test]
fn no_module_reaches_across_the_layers() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut offenders = Vec::new();
    for (dir, forbidden) in FORBIDDEN {
        let files = sources(&root.join(dir));
        assert!(!files.is_empty(), "src/{dir} has no sources: update FORBIDDEN");
        for path in files {
            let text = std::fs::read_to_string(&path).unwrap();
            let code = text.lines().filter(|l| !l.trim_start().starts_with("//"));
            if code.into_iter().any(|l| l.contains(forbidden)) {
                offenders.push(format!("{} names {forbidden}", path.display()));
            }
        }
    }
    assert!(offenders.is_empty(), "layering broken: {offenders:?}");
}
