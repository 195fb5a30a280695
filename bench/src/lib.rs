//! Shared pieces of jitgate's benchmark tools: the bench token (ES256, the test key under
//! `tests/fixtures/keys`), CheckRequests as Envoy sends them, and latency summaries.

pub mod flood;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use envoy_types::pb::envoy::service::auth::v3::attribute_context::{HttpRequest, Request};
use envoy_types::pb::envoy::service::auth::v3::{AttributeContext, CheckRequest};
use hdrhistogram::Histogram;
use jitgate::grant::{Grant, GrantId, Scope, ScopeWire};
use jitgate::time::{Clock, SystemClock};
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

/// A bench token for `sub`, in `groups`, with the `role` Envoy's RBAC rule asks for. Every token
/// is distinct (a `jti` counter), so a file of them defeats token caches. A negative `ttl_secs`
/// gives a token that expired that long ago.
pub fn token(
    key: &EncodingKey,
    sub: &str,
    groups: &[&str],
    ttl_secs: i64,
) -> anyhow::Result<String> {
    static NEXT_JTI: AtomicU64 = AtomicU64::new(0);
    let now = i64::try_from(jsonwebtoken::get_current_timestamp())?;
    let jti = NEXT_JTI.fetch_add(1, Ordering::Relaxed);
    let iat = now.min(now + ttl_secs - 60);
    let claims = json!({
        "iss": ISSUER, "aud": AUDIENCE, "sub": sub, "groups": groups, "role": "reader",
        "iat": iat, "exp": now + ttl_secs, "jti": format!("{}-{jti}", std::process::id()),
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

/// A bench grant for `subject`: grant `k` covers `GET /people/k/**` on `service` (k = 0 covers
/// `/people/**`), live for four hours.
pub fn grant(subject: &str, k: usize, service: &str) -> anyhow::Result<Grant> {
    let now = SystemClock.now();
    let path = if k == 0 { "/people/**".to_string() } else { format!("/people/{k}/**") };
    let scope = Scope::from_wire(ScopeWire {
        service: service.into(),
        methods: vec!["GET".into()],
        paths: vec![path],
        query: None,
    })
    .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    Ok(Grant::new(
        GrantId::generate(),
        subject.parse().map_err(|e| anyhow::anyhow!("{e}"))?,
        vec![scope],
        "user:bench".parse().map_err(|e| anyhow::anyhow!("{e}"))?,
        "benchmark".into(),
        now,
        now.saturating_add(std::time::Duration::from_secs(4 * 3600)),
    ))
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
