//! A jitgate process of the test's own: built binary, temp config, HS256 test issuer.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use envoy_types::pb::envoy::service::auth::v3::authorization_client::AuthorizationClient;
use envoy_types::pb::envoy::service::auth::v3::{CheckRequest, CheckResponse};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use super::{free_port, signal, wait_until};

/// The test issuer every harness-started jitgate trusts (HS256; the secret is generated per run).
/// It is the default issuer: its principals are plain (`user:<sub>`).
pub const ISSUER: &str = "jitgate-test";

/// A second trusted issuer whose keys come from `tests/fixtures/keys/jwks.json` (RS256, ES256,
/// EdDSA test keys). Named [`JWKS_ISSUER_NAME`]: its principals are `user:idp/<sub>`.
pub const JWKS_ISSUER: &str = "https://idp.test";

/// The name [`JWKS_ISSUER`]'s principals carry.
pub const JWKS_ISSUER_NAME: &str = "idp";

/// A third issuer, trusted only by jitgates started with [`Jitgate::start_with_jwks_url`]: its
/// keys come from a JWKS URL the test serves (and breaks) itself. Its principals are
/// `user:idp-url/<sub>`.
pub const URL_ISSUER: &str = "https://idp-url.test";

/// A token from [`JWKS_ISSUER`], signed with one of the fixture keys.
pub fn jwks_token(alg: Algorithm, kid: &str, pem: &str, sub: &str) -> String {
    let pem = std::fs::read(super::fixture(&format!("keys/{pem}"))).expect("fixture key");
    let key = match alg {
        Algorithm::RS256 => EncodingKey::from_rsa_pem(&pem),
        Algorithm::ES256 => EncodingKey::from_ec_pem(&pem),
        _ => EncodingKey::from_ed_pem(&pem),
    }
    .expect("key");
    let now = jsonwebtoken::get_current_timestamp();
    let claims =
        json!({"iss": JWKS_ISSUER, "aud": "jitgate", "sub": sub, "iat": now, "exp": now + 600});
    let mut header = Header::new(alg);
    header.kid = Some(kid.into());
    jsonwebtoken::encode(&header, &claims, &key).expect("sign")
}

pub struct Jitgate {
    pub grpc: u16,
    pub http: u16,
    pub secret: String,
    child: Option<Child>,
    dir: tempfile::TempDir,
    http_client: reqwest::Client,
    /// The environment variables it was started with (kept for [`Jitgate::restart`]).
    env: Vec<(String, String)>,
}

/// The webhook signing secret of a harness jitgate (derived from its token secret).
pub fn hook_secret(secret: &str) -> String {
    format!("hook-{secret}")
}

/// The audit checkpoint key of a harness jitgate.
pub fn checkpoint_key(secret: &str) -> String {
    format!("checkpoint-{secret}")
}

/// The incident tool token of a harness jitgate.
pub fn incident_token(secret: &str) -> String {
    format!("incident-{secret}")
}

impl Jitgate {
    /// Starts against `redis_url` and waits until it is ready (Redis answering).
    pub async fn start(redis_url: &str) -> Self {
        Self::start_with(redis_url, &[], true).await
    }

    /// Starts with extra environment variables — `JITGATE_*` overrides, or anything else the
    /// process should see (e.g. `LD_PRELOAD` for libfaketime); `wait_ready` false only waits
    /// for `/healthz`. They are kept for [`Jitgate::restart`].
    pub async fn start_with(redis_url: &str, env: &[(&str, &str)], wait_ready: bool) -> Self {
        Self::launch(redis_url, env, None, wait_ready).await
    }

    /// A second replica that trusts the same tokens as `other`.
    pub async fn replica_of(other: &Jitgate, redis_url: &str, env: &[(&str, &str)]) -> Self {
        Self::launch(redis_url, env, Some(&other.secret), true).await
    }

    async fn launch(
        redis_url: &str,
        env: &[(&str, &str)],
        secret: Option<&str>,
        wait_ready: bool,
    ) -> Self {
        Self::launch_with_issuer(redis_url, env, secret, None, wait_ready).await
    }

    /// Like [`Jitgate::replica_of`] (or a first replica when `secret` is `None`), also trusting
    /// [`URL_ISSUER`] with keys fetched from `jwks_url`.
    pub async fn start_with_jwks_url(
        redis_url: &str,
        jwks_url: &str,
        env: &[(&str, &str)],
        secret: Option<&str>,
    ) -> Self {
        Self::launch_with_issuer(redis_url, env, secret, Some(jwks_url), true).await
    }

    async fn launch_with_issuer(
        redis_url: &str,
        env: &[(&str, &str)],
        secret: Option<&str>,
        jwks_url: Option<&str>,
        wait_ready: bool,
    ) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let (grpc, http) = (free_port(), free_port());
        let jwks = super::fixture("keys/jwks.json").display().to_string();
        let secret = secret.map_or_else(
            || format!("test-secret-{}", uuid::Uuid::new_v4().simple()),
            str::to_string,
        );
        let config = format!(
            r#"
listen: {{ grpc: "127.0.0.1:{grpc}", http: "127.0.0.1:{http}" }}
redis: {{ url: "{redis_url}" }}
identity:
  default_issuer: test
  issuers:
    - name: test
      issuer: "{ISSUER}"
      audiences: ["jitgate"]
      hs256_secret_env: JITGATE_TEST_SECRET
    - name: {JWKS_ISSUER_NAME}
      issuer: "{JWKS_ISSUER}"
      audiences: ["jitgate"]
      jwks_file: "{jwks}"
{url_issuer}admins: ["group:platform"]
check: {{ public_url: "http://127.0.0.1:{http}" }}
shutdown: {{ drain: 0s }}
requests: {{ sweep_interval: 200ms }}
notifications: {{ signing_secret_env: JITGATE_TEST_HOOK_SECRET, retry_base: 100ms, max_attempts: 3, timeout: 1s }}
incidents: {{ resolve_token_env: JITGATE_TEST_INCIDENT_TOKEN }}
audit:
  readers: ["group:security"]
  flush_interval: 50ms
  anonymous: {{ window: 200ms }}
  checkpoints: {{ key_env: JITGATE_TEST_CHECKPOINT_KEY, file: "{checkpoints}", interval: 500ms }}
"#,
            checkpoints = dir.path().join("checkpoints.log").display(),
            url_issuer = jwks_url.map_or_else(String::new, |url| format!(
                "    - name: idp-url\n      issuer: \"{URL_ISSUER}\"\n      audiences: [\"jitgate\"]\n      jwks_url: \"{url}\"\n"
            )),
        );
        let path = dir.path().join("jitgate.yaml");
        std::fs::write(&path, config).expect("write config");
        let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let http_client = reqwest::Client::new();
        let mut j = Self { grpc, http, secret, child: None, dir, http_client, env };
        j.spawn();
        j.wait_started(wait_ready).await;
        j
    }

    /// Runs the binary with the config file in `dir` (appending to its logs).
    fn spawn(&mut self) {
        let secret = &self.secret;
        let append = |name: &str| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.dir.path().join(name))
                .expect("log file")
        };
        // `JITGATE_SERVER_BIN` runs another build of the server (`make soak-noisy` measures the
        // release binary users run); the CLI is always the one under test.
        let bin = std::env::var_os("JITGATE_SERVER_BIN")
            .map_or_else(|| env!("CARGO_BIN_EXE_jitgate").into(), std::path::PathBuf::from);
        let mut cmd = Command::new(bin);
        cmd.arg("serve")
            .arg("--config")
            .arg(self.dir.path().join("jitgate.yaml"))
            .env("JITGATE_TEST_SECRET", secret)
            .env("JITGATE_TEST_HOOK_SECRET", hook_secret(secret))
            .env("JITGATE_TEST_INCIDENT_TOKEN", incident_token(secret))
            .env("JITGATE_TEST_CHECKPOINT_KEY", checkpoint_key(secret))
            .env("RUST_LOG", "info");
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let child =
            cmd.stdout(append("stdout.log")).stderr(append("jitgate.log")).spawn().expect("spawn");
        self.child = Some(child);
    }

    async fn wait_started(&self, wait_ready: bool) {
        let path = if wait_ready { "/readyz" } else { "/healthz" };
        let ok = wait_until(Duration::from_secs(15), || async {
            self.get_status(path).await == Some(200)
        })
        .await;
        assert!(ok, "jitgate did not become ready; log:\n{}", self.log());
    }

    /// `kill -9`, like a crash (no drain, no last audit flush).
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the same process again: same ports, config, secret and overrides. Returns without
    /// waiting for readiness (the caller measures recovery itself).
    pub fn restart(&mut self) {
        self.kill9();
        self.spawn();
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.http)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("jitgate.log")).unwrap_or_default()
    }

    /// What jitgate printed on stdout (the decision log, when switched on).
    pub fn stdout(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stdout.log")).unwrap_or_default()
    }

    /// The file signed audit checkpoints are appended to.
    pub fn checkpoint_file(&self) -> std::path::PathBuf {
        self.dir.path().join("checkpoints.log")
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).expect("jitgate not running")
    }

    async fn get_status(&self, path: &str) -> Option<u16> {
        let resp = self.http_client.get(format!("{}{path}", self.base())).send().await.ok()?;
        Some(resp.status().as_u16())
    }

    /// A token for `user:<sub>` with `groups`, valid for an hour.
    pub fn token(&self, sub: &str, groups: &[&str]) -> String {
        let now = jsonwebtoken::get_current_timestamp();
        let claims = json!({"iss": ISSUER, "aud": "jitgate", "sub": sub, "groups": groups, "iat": now, "exp": now + 3600});
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(self.secret.as_bytes()),
        )
        .expect("sign")
    }

    pub fn admin_token(&self) -> String {
        self.token("root", &["platform"])
    }

    /// The `jitgate` command line, pointed at this server with an admin token.
    pub fn cli_command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_jitgate"));
        cmd.args(args).env("JITGATE_SERVER", self.base()).env("JITGATE_TOKEN", self.admin_token());
        cmd
    }

    /// Runs the `jitgate` command line as an admin against this server.
    pub fn cli(&self, args: &[&str]) -> std::process::Output {
        self.cli_command(args).output().expect("run the jitgate CLI")
    }

    /// Calls the REST API; returns status and JSON body.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.http_client.request(method, format!("{}{path}", self.base()));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("jitgate REST call");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    /// Creates a grant as an admin and returns its id.
    pub async fn grant(
        &self,
        subject: &str,
        service: &str,
        methods: &[&str],
        paths: &[&str],
        ttl: &str,
    ) -> String {
        let body = json!({"subject": subject, "resources": [{"service": service, "methods": methods, "paths": paths}], "ttl": ttl, "reason": "test"});
        let (status, v) =
            self.call("POST", "/v1/grants", Some(&self.admin_token()), Some(body)).await;
        assert_eq!(status, 201, "grant creation failed: {v}");
        v["id"].as_str().expect("id").to_string()
    }

    pub async fn revoke(&self, id: &str) {
        let (status, v) =
            self.call("DELETE", &format!("/v1/grants/{id}"), Some(&self.admin_token()), None).await;
        assert_eq!(status, 200, "revoke failed: {v}");
    }

    /// A gRPC Check straight to jitgate (no Envoy).
    pub async fn check(&self, req: CheckRequest) -> CheckResponse {
        let mut client = AuthorizationClient::connect(format!("http://127.0.0.1:{}", self.grpc))
            .await
            .expect("connect gRPC");
        client.check(req).await.expect("Check must never fail at the gRPC level").into_inner()
    }

    /// SIGTERM, then wait for a clean exit.
    pub fn stop(&mut self) -> Option<std::process::ExitStatus> {
        let mut child = self.child.take()?;
        signal(child.id(), "TERM");
        for _ in 0..100 {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        child.wait().ok()
    }
}

impl Drop for Jitgate {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A CheckRequest as Envoy would send it.
pub fn check_request(
    method: &str,
    path: &str,
    service: &str,
    headers: &[(&str, &str)],
) -> CheckRequest {
    use envoy_types::pb::envoy::service::auth::v3::AttributeContext;
    use envoy_types::pb::envoy::service::auth::v3::attribute_context::{HttpRequest, Request};
    let http = HttpRequest {
        method: method.into(),
        path: path.into(),
        host: "example.test".into(),
        headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        ..Default::default()
    };
    CheckRequest {
        attributes: Some(AttributeContext {
            request: Some(Request { http: Some(http), ..Default::default() }),
            context_extensions: [("service".to_string(), service.to_string())].into(),
            ..Default::default()
        }),
    }
}
