//! Shared pieces of jitgate's benchmark tools: the bench token (ES256, the test key under
//! `tests/fixtures/keys`), CheckRequests as Envoy sends them, and latency summaries.

use std::path::{Path, PathBuf};

use envoy_types::pb::envoy::service::auth::v3::attribute_context::{HttpRequest, Request};
use envoy_types::pb::envoy::service::auth::v3::{AttributeContext, CheckRequest};
use hdrhistogram::Histogram;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

/// The issuer every bench token names (jitgate and Envoy's `jwt_authn` trust it).
pub const ISSUER: &str = "https://idp.test";
pub const AUDIENCE: &str = "jitgate";
pub const KID: &str = "ec-1";

/// The repository root (bench/ is one level down).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

/// The ES256 test key (published on purpose; see tests/fixtures/keys/README.md).
pub fn signing_key() -> anyhow::Result<EncodingKey> {
    let pem = std::fs::read(repo_root().join("tests/fixtures/keys/ec-test-key.pem"))?;
    Ok(EncodingKey::from_ec_pem(&pem)?)
}

/// A bench token for `sub`, in `groups`, with the `role` Envoy's RBAC rule asks for.
pub fn token(
    key: &EncodingKey,
    sub: &str,
    groups: &[&str],
    ttl_secs: u64,
) -> anyhow::Result<String> {
    let now = jsonwebtoken::get_current_timestamp();
    let claims = json!({
        "iss": ISSUER, "aud": AUDIENCE, "sub": sub, "groups": groups, "role": "reader",
        "iat": now, "exp": now + ttl_secs,
    });
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(KID.into());
    Ok(jsonwebtoken::encode(&header, &claims, key)?)
}

/// A CheckRequest like the one Envoy sends for `method path` on `service`.
pub fn check_request(method: &str, path: &str, service: &str, token: Option<&str>) -> CheckRequest {
    let mut headers = std::collections::HashMap::from([
        (":authority".to_string(), "bench.test".to_string()),
        ("user-agent".to_string(), "jitgate-loadgen".to_string()),
        ("x-request-id".to_string(), "00000000-0000-0000-0000-000000000000".to_string()),
    ]);
    if let Some(t) = token {
        headers.insert("authorization".into(), format!("Bearer {t}"));
    }
    let http = HttpRequest {
        method: method.into(),
        path: path.into(),
        host: "bench.test".into(),
        scheme: "http".into(),
        protocol: "HTTP/1.1".into(),
        headers,
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

/// A latency histogram in microseconds (1 µs .. 60 s, 3 significant digits).
pub fn histogram() -> anyhow::Result<Histogram<u64>> {
    Ok(Histogram::new_with_bounds(1, 60_000_000, 3)?)
}

/// The usual percentiles of a histogram, in microseconds.
pub fn percentiles(h: &Histogram<u64>) -> Value {
    json!({
        "p50_us": h.value_at_quantile(0.50),
        "p90_us": h.value_at_quantile(0.90),
        "p99_us": h.value_at_quantile(0.99),
        "max_us": h.max(),
    })
}
