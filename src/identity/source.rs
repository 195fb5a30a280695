//! Where an issuer's keys come from: a JWKS URL, a JWKS file, or a fixed HS256 secret.
//! Keys are swapped atomically; fetches happen at most once per `min_refetch_interval`, whether
//! asked for by a token with an unknown `kid` or by the schedule, and the last good set is kept when the issuer is down, up to
//! `stale_limit`, after which no key is served (every token is then denied).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use async_trait::async_trait;
use jsonwebtoken::Algorithm;
use tokio::sync::Mutex;
use tokio::time::Instant;
use tracing::Instrument;

use super::keys::KeySet;

/// The seam between token verification and key distribution.
#[async_trait]
pub trait KeySource: Send + Sync + 'static {
    /// The keys to verify with now. Empty when none were ever loaded or they went stale.
    fn keys(&self) -> Arc<KeySet>;

    /// Reloads because a token named an unknown `kid`; rate-limited. Returns whether the
    /// key set may have changed (callers then look again).
    async fn refresh_unknown_kid(&self) -> bool;

    /// Scheduled reload; skipped (as a success) when the keys were fetched less than the
    /// minimum refetch interval ago. Returns success.
    async fn refresh(&self) -> bool;

    /// True for sources that change over time and need a refresh task.
    fn refreshes(&self) -> bool;
}

/// A source that never changes (HS256 development secrets, or tests).
pub struct StaticKeys(Arc<KeySet>);

impl StaticKeys {
    pub fn new(keys: KeySet) -> Self {
        Self(Arc::new(keys))
    }
}

#[async_trait]
impl KeySource for StaticKeys {
    fn keys(&self) -> Arc<KeySet> {
        self.0.clone()
    }
    async fn refresh_unknown_kid(&self) -> bool {
        false
    }
    async fn refresh(&self) -> bool {
        true
    }
    fn refreshes(&self) -> bool {
        false
    }
}

/// Where a JWKS document is read from.
#[derive(Clone, Debug)]
pub enum JwksLocation {
    Url(String),
    File(PathBuf),
}

/// Tuning for a JWKS source.
#[derive(Clone, Debug)]
pub struct JwksSettings {
    pub min_refetch_interval: Duration,
    pub stale_limit: Duration,
    pub fetch_timeout: Duration,
    pub max_bytes: usize,
    pub pinned: Vec<Algorithm>,
}

struct Loaded {
    keys: Arc<KeySet>,
    at: Instant,
}

/// A JWKS from a URL or a file, cached and refreshed.
pub struct JwksSource {
    location: JwksLocation,
    settings: JwksSettings,
    http: reqwest::Client,
    current: ArcSwap<Option<Loaded>>,
    last_attempt: Mutex<Option<Instant>>,
}

// === impl JwksSource ===

impl JwksSource {
    pub fn new(location: JwksLocation, settings: JwksSettings) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .timeout(settings.fetch_timeout)
            .redirect(reqwest::redirect::Policy::limited(3))
            .build()
            .map_err(|e| format!("cannot build the JWKS HTTP client: {e}"))?;
        Ok(Self {
            location,
            settings,
            http,
            current: ArcSwap::from_pointee(None),
            last_attempt: Mutex::new(None),
        })
    }

    pub fn location(&self) -> &JwksLocation {
        &self.location
    }

    /// Fetches and installs the key set; keeps the previous one on any failure.
    pub async fn load(&self) -> Result<usize, String> {
        let span = crate::telemetry::span!("jwks.load", otel.kind = "client", jwks.location = ?self.location);
        self.load_inner().instrument(span).await
    }

    async fn load_inner(&self) -> Result<usize, String> {
        let bytes = match &self.location {
            JwksLocation::Url(url) => self.fetch(url).await?,
            JwksLocation::File(path) => tokio::fs::read(path)
                .await
                .map_err(|e| format!("cannot read JWKS file `{}`: {e}", path.display()))?,
        };
        if bytes.len() > self.settings.max_bytes {
            return Err(format!("the JWKS is larger than {} bytes", self.settings.max_bytes));
        }
        let (keys, skipped) = KeySet::from_jwks(&bytes, &self.settings.pinned)?;
        for note in &skipped {
            tracing::warn!(jwks.location = ?self.location, jwks.skipped = %note, "JWKS key skipped");
        }
        if keys.is_empty() {
            return Err("the JWKS holds no usable signing key".into());
        }
        let n = keys.len();
        self.current.store(Arc::new(Some(Loaded { keys: Arc::new(keys), at: Instant::now() })));
        Ok(n)
    }

    async fn fetch(&self, url: &str) -> Result<Vec<u8>, String> {
        let mut resp =
            self.http.get(url).send().await.map_err(|e| format!("cannot fetch `{url}`: {e}"))?;
        if !resp.status().is_success() {
            return Err(format!("`{url}` answered {}", resp.status()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| format!("reading `{url}`: {e}"))? {
            body.extend_from_slice(&chunk);
            if body.len() > self.settings.max_bytes {
                return Err(format!("`{url}` sent more than {} bytes", self.settings.max_bytes));
            }
        }
        Ok(body)
    }

    /// Fetches unless the keys were fetched less than `min_refetch_interval` ago, whoever
    /// asked (perhaps while this caller waited for the lock): then the keys are as fresh as the
    /// limit allows, and callers just look again. Returns success.
    async fn fetch_limited(&self, why: &'static str) -> bool {
        let mut last = self.last_attempt.lock().await;
        if last.is_some_and(|t| t.elapsed() < self.settings.min_refetch_interval) {
            return true;
        }
        *last = Some(Instant::now());
        self.load_logged(why).await
    }

    async fn load_logged(&self, why: &'static str) -> bool {
        match self.load().await {
            Ok(n) => {
                tracing::debug!(jwks.location = ?self.location, jwks.keys = n, jwks.why = why, "JWKS loaded");
                true
            }
            Err(e) => {
                tracing::warn!(jwks.location = ?self.location, error = %e, jwks.why = why, "JWKS refresh failed; keeping the last good keys");
                false
            }
        }
    }
}

#[async_trait]
impl KeySource for JwksSource {
    fn keys(&self) -> Arc<KeySet> {
        match self.current.load().as_ref() {
            Some(l) if l.at.elapsed() <= self.settings.stale_limit => l.keys.clone(),
            _ => Arc::new(KeySet::default()),
        }
    }

    async fn refresh_unknown_kid(&self) -> bool {
        self.fetch_limited("unknown kid").await
    }

    async fn refresh(&self) -> bool {
        self.fetch_limited("scheduled").await
    }

    fn refreshes(&self) -> bool {
        true
    }
}
