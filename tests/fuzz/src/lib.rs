//! Shared pieces of jitgate's fuzz targets: a fixed HS256 issuer and the tokens minted with it,
//! a few known grants in an in-memory store behind the real Check service, and the small
//! reference models the oracles compare against. The models are written from the rules in
//! SECURITY.md and the module docs, not from jitgate's code, so a bug has to be made twice to
//! slip through.
//!
//! Fuzz-only code: a failed set-up panics (a crash), which is the finding.

#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod filing;
pub mod model;

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use envoy_types::pb::envoy::service::auth::v3::authorization_server::Authorization;
use envoy_types::pb::envoy::service::auth::v3::{CheckRequest, CheckResponse};
use jitgate::audit::AuditKind;
use jitgate::authz::Authorizer;
use jitgate::grant::{Grant, GrantId, Naming, Scope, ScopeWire};
use jitgate::grpc::CheckService;
use jitgate::identity::{
    Authenticator, Issuer, IssuerRules, KeySet, StaticKeys, TokenCacheSettings, TokenRules,
};
use jitgate::metrics::Metrics;
use jitgate::store::{CacheSettings, GrantCache, GrantStore, MemoryStore};
use jitgate::time::{Clock, SystemClock, Timestamp};
use jsonwebtoken::{Algorithm, EncodingKey, Header};

/// The fuzz issuer's HS256 secret (a test value, never trusted anywhere else).
pub const SECRET: &[u8] = b"fuzz-secret-fuzz-secret-fuzz-sec";
pub const ISSUER: &str = "https://fuzz.idp.test";
pub const AUDIENCE: &str = "jitgate";
pub const LEEWAY_SECS: i64 = 30;
pub const MAX_LIFETIME_SECS: i64 = 24 * 3600;

/// One token minted at start-up that jitgate must accept.
pub struct ValidToken {
    pub token: String,
    pub sub: &'static str,
    pub groups: &'static [&'static str],
}

/// A known grant, as the reference model sees it.
pub struct KnownGrant {
    /// `user:alice`, `group:ops`.
    pub principal: &'static str,
    pub service: &'static str,
    pub methods: &'static [&'static str],
    pub paths: &'static [&'static str],
    pub max_uses: Option<u32>,
    /// Expired grants are stored too, but the model never lets them allow.
    pub live: bool,
}

/// The grants the store holds. `dave` only holds an expired grant; `eve` holds none.
pub const GRANTS: &[KnownGrant] = &[
    KnownGrant {
        principal: "user:alice",
        service: "orders",
        methods: &["GET"],
        paths: &["/orders/*", "/orders/*/items/**"],
        max_uses: None,
        live: true,
    },
    KnownGrant {
        principal: "group:ops",
        service: "billing",
        methods: &["GET", "POST"],
        paths: &["/invoices/**", "/"],
        max_uses: None,
        live: true,
    },
    KnownGrant {
        principal: "user:carol",
        service: "orders",
        methods: &["DELETE"],
        paths: &["/orders/*"],
        max_uses: Some(3),
        live: true,
    },
    KnownGrant {
        principal: "user:dave",
        service: "orders",
        methods: &["*"],
        paths: &["/**"],
        max_uses: None,
        live: false,
    },
];

/// Everything the targets share, built once per process.
pub struct World {
    pub rt: tokio::runtime::Runtime,
    pub check: CheckService,
    pub authenticator: Arc<Authenticator>,
    pub cache: Arc<GrantCache>,
    store: Arc<MemoryStore>,
    pub valid: Vec<ValidToken>,
    /// Tokens jitgate must refuse: wrong secret, expired, wrong audience, wrong issuer,
    /// `alg: none`, too long a lifetime, no `sub`.
    pub invalid: Vec<String>,
    /// When the tokens were minted (seconds).
    pub minted_at: i64,
}

pub static WORLD: LazyLock<World> = LazyLock::new(World::new);

// === impl World ===

impl World {
    fn new() -> Self {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let now = SystemClock.now();
        let minted_at = now.as_secs();
        let metrics = Arc::new(Metrics::new());
        let store = Arc::new(MemoryStore::new());
        for (k, g) in GRANTS.iter().enumerate() {
            let grant = mk_grant(k, g, now);
            let event = jitgate::audit::record::grant_issued(&grant, AuditKind::GrantCreated);
            rt.block_on(store.create(&grant, &event)).unwrap();
        }
        let settings = CacheSettings {
            staleness_bound: Duration::from_secs(24 * 3600),
            poll_interval: Duration::from_secs(3600),
            max_principals: 1000,
            entry_ttl: Duration::from_secs(24 * 3600),
            pubsub: false,
        };
        let cache = Arc::new(GrantCache::new(store.clone(), settings, metrics.clone()));
        let epoch = rt.block_on(store.epoch()).unwrap();
        cache.apply_poll(epoch, tokio::time::Instant::now());
        let authenticator = Arc::new(authenticator());
        let authorizer = Authorizer::new(
            authenticator.clone(),
            cache.clone(),
            Arc::new(SystemClock),
            metrics.clone(),
            Duration::from_secs(2),
            false,
        );
        let check = CheckService::new(Arc::new(authorizer), metrics, "http://jitgate.test");
        let valid = vec![
            valid("alice", &[], minted_at),
            valid("bob", &["ops"], minted_at),
            valid("carol", &["eng"], minted_at),
            valid("dave", &[], minted_at),
            valid("eve", &["ops2", "group:ops"], minted_at),
        ];
        let invalid = invalid_tokens(minted_at);
        Self { rt, check, authenticator, cache, store, valid, invalid, minted_at }
    }

    /// Runs one Check through the real gRPC service. A gRPC error instead of a response is a
    /// finding: Envoy would treat it as a failure.
    pub fn run_check(&self, req: CheckRequest) -> CheckResponse {
        self.rt.block_on(async {
            match self.check.check(tonic::Request::new(req)).await {
                Ok(resp) => resp.into_inner(),
                Err(status) => {
                    panic!("Check answered a gRPC error instead of a response: {status}")
                }
            }
        })
    }

    /// Re-confirms the grant cache's change counter (nothing changes the grants during a run,
    /// but a long run must not go stale and turn every Check into a deny).
    pub fn keep_fresh(&self) {
        let epoch = self.rt.block_on(self.store.epoch()).unwrap();
        self.cache.apply_poll(epoch, tokio::time::Instant::now());
    }

    /// The valid token with exactly this text, if any.
    pub fn valid_token(&self, token: &str) -> Option<&ValidToken> {
        self.valid.iter().find(|t| t.token == token)
    }

    /// Any known token by index: valid ones first, then invalid ones.
    pub fn token(&self, index: usize) -> &str {
        let n = self.valid.len() + self.invalid.len();
        let i = index % n;
        match self.valid.get(i) {
            Some(v) => &v.token,
            None => &self.invalid[i - self.valid.len()],
        }
    }
}

fn authenticator() -> Authenticator {
    let issuer = Issuer {
        rules: IssuerRules {
            issuer: ISSUER.into(),
            audiences: vec![AUDIENCE.into()],
            algorithms: vec![Algorithm::HS256],
            naming: Naming::Default,
        },
        keys: Arc::new(StaticKeys::new(KeySet::hs256(SECRET))),
    };
    let rules = TokenRules {
        leeway: Duration::from_secs(LEEWAY_SECS as u64),
        max_lifetime: Duration::from_secs(MAX_LIFETIME_SECS as u64),
        groups_claim: "groups".into(),
    };
    Authenticator::new(
        vec![issuer],
        rules,
        TokenCacheSettings { max_entries: 1000, ttl: Duration::from_secs(60) },
    )
}

fn mk_grant(k: usize, g: &KnownGrant, now: Timestamp) -> Grant {
    let scope = Scope::from_wire(ScopeWire {
        service: g.service.into(),
        methods: g.methods.iter().map(|m| m.to_string()).collect(),
        paths: g.paths.iter().map(|p| p.to_string()).collect(),
        query: None,
    })
    .unwrap();
    let hour = Duration::from_secs(3600);
    let (created, expires) = if g.live {
        (now.saturating_sub(hour), now.saturating_add(Duration::from_secs(24 * 3600)))
    } else {
        (now.saturating_sub(hour * 2), now.saturating_sub(hour))
    };
    let mut grant = Grant::new(
        GrantId::parse(&format!("fuzz-grant-{k}")).unwrap_or_else(|_| GrantId::generate()),
        g.principal.parse().unwrap(),
        vec![scope],
        "user:fuzz-admin".parse().unwrap(),
        "fuzzing".into(),
        created,
        expires,
    );
    grant.max_uses = g.max_uses;
    grant
}

/// Signs `claims` with `key` as HS256 (`kid`-less, like the dev issuer's tokens).
pub fn sign(claims: &serde_json::Value, secret: &[u8]) -> String {
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &EncodingKey::from_secret(secret))
        .unwrap()
}

/// Signs a raw payload (any bytes, JSON or not) under a raw header, HS256 with [`SECRET`].
pub fn sign_raw(header: &[u8], payload: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let message = format!("{}.{}", b64.encode(header), b64.encode(payload));
    let sig = jsonwebtoken::crypto::sign(
        message.as_bytes(),
        &EncodingKey::from_secret(SECRET),
        Algorithm::HS256,
    )
    .unwrap();
    format!("{message}.{sig}")
}

fn claims(sub: &str, groups: &[&str], iat: i64, exp: i64) -> serde_json::Value {
    serde_json::json!({
        "iss": ISSUER, "aud": AUDIENCE, "sub": sub, "groups": groups, "iat": iat, "exp": exp,
    })
}

fn valid(sub: &'static str, groups: &'static [&'static str], now: i64) -> ValidToken {
    ValidToken { token: sign(&claims(sub, groups, now - 60, now + 3600), SECRET), sub, groups }
}

fn invalid_tokens(now: i64) -> Vec<String> {
    let mut wrong_aud = claims("alice", &[], now, now + 3600);
    wrong_aud["aud"] = "other".into();
    let mut wrong_iss = claims("alice", &[], now, now + 3600);
    wrong_iss["iss"] = "https://evil.test".into();
    let mut no_sub = claims("alice", &[], now, now + 3600);
    no_sub.as_object_mut().unwrap().remove("sub");
    let mut exp_string = claims("alice", &[], now, now + 3600);
    exp_string["exp"] = (now + 3600).to_string().into();
    let valid = sign(&claims("alice", &[], now, now + 3600), SECRET);
    let unsigned = format!("{}.", valid.rsplit_once('.').map_or("", |(m, _)| m));
    vec![
        sign(&claims("alice", &[], now, now + 3600), b"not-the-fuzz-secret-not-the-fuzz"),
        sign(&claims("alice", &[], now - 7200, now - 3600), SECRET),
        sign(&claims("alice", &[], now, now + 3 * MAX_LIFETIME_SECS), SECRET),
        sign(&claims("alice", &[], now + 3600, now + 7200), SECRET),
        sign(&wrong_aud, SECRET),
        sign(&wrong_iss, SECRET),
        sign(&no_sub, SECRET),
        sign(&exp_string, SECRET),
        sign_raw(
            br#"{"alg":"none","typ":"JWT"}"#,
            &serde_json::to_vec(&claims("alice", &[], now, now + 3600)).unwrap(),
        )
        .rsplit_once('.')
        .map(|(m, _)| format!("{m}."))
        .unwrap(),
        unsigned,
    ]
}
