//! The REST router over in-memory stores, with real HS256 tokens, for `oneshot` tests.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use jitgate::api::{ApiState, router};
use jitgate::grant::Naming;
use jitgate::health::Readiness;
use jitgate::identity::{
    Authenticator, Issuer, IssuerRules, KeySet, StaticKeys, TokenCacheSettings, TokenRules,
};
use jitgate::metrics::Metrics;
use jitgate::store::MemoryStore;
use jitgate::time::SystemClock;
use jitgate::workflow::GrantService;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use tower::ServiceExt;

pub const SECRET: &[u8] = b"api-test-secret-api-test-secret-";

pub fn app() -> axum::Router {
    app_with(jitgate::api::UiSettings::new(true, None, None))
}

/// The router with the given web page settings (e.g. the reverse proxy's token header).
pub fn app_with(ui: jitgate::api::UiSettings) -> axum::Router {
    use jitgate::store::{MemoryAuditLog, MemoryPolicies, MemoryRequests};
    use jitgate::workflow::{Admins, AuditReader, NoEvents, PolicyService, RequestService};
    let metrics = Arc::new(Metrics::new());
    let issuer = Issuer {
        rules: IssuerRules {
            issuer: "test".into(),
            audiences: vec!["jitgate".into()],
            algorithms: vec![Algorithm::HS256],
            naming: Naming::Default,
        },
        keys: Arc::new(StaticKeys::new(KeySet::hs256(SECRET))),
    };
    let rules = TokenRules {
        leeway: Duration::from_secs(5),
        max_lifetime: Duration::from_secs(86400),
        groups_claim: "groups".into(),
    };
    let authenticator = Arc::new(Authenticator::new(
        vec![issuer],
        rules,
        TokenCacheSettings { max_entries: 100, ttl: Duration::from_secs(60) },
    ));
    let admins = Admins::new(vec!["group:platform".parse().unwrap()]);
    let audit = Arc::new(MemoryAuditLog::default());
    let grants = Arc::new(
        GrantService::new(
            Arc::new(MemoryStore::new().with_audit(audit.clone())),
            Arc::new(SystemClock),
            admins.clone(),
            Duration::from_secs(24 * 3600),
            metrics.clone(),
        )
        .with_audit(audit.clone()),
    );
    let policies = Arc::new(PolicyService::new(
        Arc::new(MemoryPolicies::with_audit(audit.clone())),
        admins.clone(),
    ));
    let reports = Arc::new(
        jitgate::workflow::ReportService::new(
            audit.clone(),
            grants.store().clone(),
            Arc::new(MemoryPolicies::default()),
            Arc::new(SystemClock),
        )
        .with_access(
            admins.clone(),
            Admins::new(vec!["group:security".parse().unwrap()]),
            vec!["group:platform".into()],
        ),
    );
    let reader = Arc::new(AuditReader::new(
        audit.clone(),
        admins.clone(),
        Admins::new(vec!["group:security".parse().unwrap()]),
    ));
    let requests = Arc::new(RequestService::new(
        Arc::new(MemoryRequests::with_audit(audit)),
        policies.clone(),
        grants.clone(),
        Arc::new(NoEvents),
        Arc::new(SystemClock),
        admins,
        metrics.clone(),
        Duration::from_secs(86400),
    ));
    let readiness = Arc::new(Readiness::default());
    readiness.set_store_ok(true);
    let apply = Arc::new(jitgate::workflow::ApplyService::new(
        grants.clone(),
        policies.clone(),
        Arc::new(SystemClock),
        jitgate::workflow::Admins::new(vec!["group:platform".parse().unwrap()]),
    ));
    router(ApiState {
        grants,
        policies,
        requests,
        apply,
        incident_token: Some("incident-tool-token".into()),
        authenticator,
        clock: Arc::new(SystemClock),
        metrics,
        readiness,
        audit: reader,
        ui,
        modes: Arc::new(jitgate::mode::Modes::default()),
        reports,
    })
}

pub fn token(sub: &str, groups: &[&str]) -> String {
    let now = jsonwebtoken::get_current_timestamp();
    let claims = json!({"iss": "test", "aud": "jitgate", "sub": sub, "groups": groups, "iat": now, "exp": now + 600});
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(SECRET))
        .unwrap()
}

pub fn admin() -> String {
    token("root", &["platform"])
}

pub async fn call(
    app: &axum::Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> (StatusCode, Value, axum::http::HeaderMap) {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let req = req
        .header("content-type", "application/json")
        .body(Body::from(body.unwrap_or("").to_string()))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let (status, headers) = (resp.status(), resp.headers().clone());
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap();
    (
        status,
        serde_json::from_slice(&bytes)
            .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into())),
        headers,
    )
}
