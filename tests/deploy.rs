//! deploy/ and envoy/: every Kustomize overlay and example renders (`kubectl kustomize`) and
//! validates against the Kubernetes schemas (PyPI `kubernetes-validate`); the rendered objects
//! keep the security settings; every shipped jitgate configuration loads; the sidecar Envoy
//! config is the one in envoy/; the Dockerfile builds a non-root image.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn kubectl() -> String {
    std::env::var("KUBECTL").unwrap_or_else(|_| "kubectl".into())
}

fn python() -> String {
    std::env::var("PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Every directory under deploy/ with a `kind: Kustomization` (components render through the
/// examples that use them).
fn kustomizations() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.file_name().is_some_and(|n| n == "kustomization.yaml")
                && std::fs::read_to_string(&p).unwrap().contains("kind: Kustomization")
            {
                out.push(p.parent().unwrap().to_path_buf());
            }
        }
    }
    let mut out = Vec::new();
    walk(&common::repo_file("deploy"), &mut out);
    out.sort();
    out
}

fn render(dir: &Path) -> String {
    let out = Command::new(kubectl())
        .arg("kustomize")
        .arg(dir)
        .output()
        .expect("kubectl not found: run `make test`, which installs it");
    assert!(
        out.status.success(),
        "kubectl kustomize {} failed:\n{}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn objects(yaml: &str) -> Vec<Value> {
    serde_saphyr::from_multiple::<Value>(yaml)
        .unwrap()
        .into_iter()
        .filter(|v| !v.is_null())
        .collect()
}

fn find<'a>(objs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objs.iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind}/{name}"))
}

#[test]
fn every_kustomization_renders_and_validates() {
    let dirs = kustomizations();
    assert!(dirs.len() >= 5, "{dirs:?}");
    let tmp = tempfile::tempdir().unwrap();
    for dir in dirs {
        let rendered = render(&dir);
        let file = tmp.path().join("rendered.yaml");
        std::fs::write(&file, &rendered).unwrap();
        let out = Command::new(python())
            .args(["-m", "kubernetes_validate", "--strict"])
            .arg(&file)
            .output()
            .expect("run `make test` to install kubernetes-validate");
        let report = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success() && !report.contains("ERROR"),
            "{} does not validate:\n{report}",
            dir.display()
        );
    }
}

#[test]
fn overlays_keep_the_security_settings() {
    for overlay in ["overlays/dev", "overlays/production"] {
        let objs = objects(&render(&common::repo_file(&format!("deploy/{overlay}"))));
        for kind in
            ["ServiceAccount", "ConfigMap", "Service", "PodDisruptionBudget", "NetworkPolicy"]
        {
            assert!(
                objs.iter().any(|o| o["kind"] == kind
                    && o["metadata"]["name"].as_str().unwrap().starts_with("jitgate")),
                "{overlay}: no {kind}"
            );
        }
        let d = find(&objs, "Deployment", "jitgate");
        let pod = &d["spec"]["template"]["spec"];
        assert_eq!(pod["securityContext"]["runAsNonRoot"], true, "{overlay}");
        let c = &pod["containers"][0];
        assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true, "{overlay}");
        assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false, "{overlay}");
        assert!(c["resources"]["limits"]["memory"].is_string(), "{overlay}: memory limit");
        assert_eq!(c["readinessProbe"]["grpc"]["port"], 9191, "{overlay}: gRPC readiness");
        assert_eq!(c["startupProbe"]["grpc"]["port"], 9191, "{overlay}: gRPC startup");
        assert!(c["livenessProbe"].is_object(), "{overlay}: liveness");
        let selector =
            &find(&objs, "PodDisruptionBudget", "jitgate")["spec"]["selector"]["matchLabels"];
        assert_eq!(selector["app.kubernetes.io/name"], "jitgate", "{overlay}: PDB selects jitgate");
    }
    let prod = objects(&render(&common::repo_file("deploy/overlays/production")));
    let d = find(&prod, "Deployment", "jitgate");
    assert!(d["spec"]["replicas"].as_u64().unwrap() >= 3);
    let env = d["spec"]["template"]["spec"]["containers"][0]["env"].as_array().unwrap();
    let redis = env
        .iter()
        .find(|e| e["name"] == "JITGATE_REDIS_URL")
        .expect("production Redis from a Secret");
    assert!(redis["valueFrom"]["secretKeyRef"].is_object());
    let dev = objects(&render(&common::repo_file("deploy/overlays/dev")));
    find(&dev, "Deployment", "redis");
}

#[test]
fn the_sidecar_component_adds_native_sidecars_with_the_shipped_envoy_config() {
    let objs = objects(&render(&common::repo_file("deploy/examples/sidecar-app")));
    let app = find(&objs, "Deployment", "orders");
    let init = app["spec"]["template"]["spec"]["initContainers"].as_array().unwrap();
    let names: Vec<&str> = init.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["jitgate", "jitgate-envoy"]);
    assert!(init.iter().all(|c| c["restartPolicy"] == "Always"), "native sidecars");
    let copy =
        std::fs::read_to_string(common::repo_file("deploy/components/sidecar/envoy-sidecar.yaml"))
            .unwrap();
    let original = std::fs::read_to_string(common::repo_file("envoy/sidecar.yaml")).unwrap();
    assert_eq!(
        copy, original,
        "deploy/components/sidecar/envoy-sidecar.yaml must equal envoy/sidecar.yaml"
    );
}

#[test]
fn every_shipped_jitgate_configuration_loads() {
    let secrets: Vec<(String, String)> = [
        "JITGATE_DEV_SECRET",
        "JITGATE_WEBHOOK_SECRET",
        "JITGATE_INCIDENT_TOKEN",
        "JITGATE_AUDIT_CHECKPOINT_KEY",
    ]
    .iter()
    .map(|k| (k.to_string(), "x".repeat(40)))
    .collect();
    let mut configs = vec![(
        "deploy/local/jitgate.yaml".to_string(),
        std::fs::read_to_string(common::repo_file("deploy/local/jitgate.yaml")).unwrap(),
    )];
    configs.push((
        "sidecar".into(),
        std::fs::read_to_string(common::repo_file(
            "deploy/components/sidecar/jitgate-sidecar.yaml",
        ))
        .unwrap(),
    ));
    for overlay in ["overlays/dev", "overlays/production"] {
        let objs = objects(&render(&common::repo_file(&format!("deploy/{overlay}"))));
        let cm = find(&objs, "ConfigMap", "jitgate-config");
        configs
            .push((overlay.to_string(), cm["data"]["jitgate.yaml"].as_str().unwrap().to_string()));
    }
    for (name, text) in configs {
        if let Err(e) = jitgate::config::load_str(&text, &name, &secrets) {
            panic!("{name} does not load:\n{e}");
        }
    }
}

#[test]
fn mesh_and_gateway_examples_fail_closed() {
    let istio = objects(&render(&common::repo_file("deploy/examples/istio")));
    let provider = &find(&istio, "IstioOperator", "jitgate-ext-authz")["spec"]["meshConfig"]["extensionProviders"]
        [0];
    assert_eq!(provider["envoyExtAuthzGrpc"]["failOpen"], false);
    assert_eq!(provider["envoyExtAuthzGrpc"]["port"], 9191);
    let policy = find(&istio, "AuthorizationPolicy", "orders-jitgate");
    assert_eq!(policy["spec"]["action"], "CUSTOM");
    assert_eq!(policy["spec"]["provider"]["name"], provider["name"]);
    let eg = objects(&render(&common::repo_file("deploy/examples/envoy-gateway")));
    let sp = find(&eg, "SecurityPolicy", "orders-jitgate");
    assert_eq!(sp["spec"]["extAuth"]["failOpen"], false);
    assert_eq!(sp["spec"]["extAuth"]["grpc"]["backendRefs"][0]["port"], 9191);
}

#[test]
fn the_dockerfile_is_multi_stage_and_runs_as_non_root() {
    let text = std::fs::read_to_string(common::repo_file("Dockerfile")).unwrap();
    let stages: Vec<&str> = text.lines().filter(|l| l.starts_with("FROM ")).collect();
    assert!(stages.len() >= 2, "multi-stage");
    assert!(
        stages.last().unwrap().contains("distroless") && stages.last().unwrap().contains("nonroot")
    );
    let after_last = text.rsplit("FROM ").next().unwrap();
    assert!(after_last.contains("USER 65532"), "the runtime stage runs as non-root");
    assert!(text.contains("--locked"));
}
