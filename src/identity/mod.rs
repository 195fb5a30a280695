//! Bearer credentials → [`Caller`]. Owns JWT verification ([`jwt`]), key loading ([`keys`],
//! [`source`]), a bounded cache of verified tokens keyed by a SHA-256 of the token, so a
//! signature is checked once per token rather than once per request, and the pool signatures
//! are checked on ([`verifier`]), which sheds load when it falls behind.
//!
//! Knows nothing of gRPC, HTTP frameworks or Redis.

pub mod jwt;
pub mod keys;
pub mod source;
pub mod verifier;

use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::decision::{Caller, Deny, DenyReason};
use crate::grant::Principal;
use crate::time::Timestamp;

pub use jwt::{IssuerRules, TokenRules, VerifiedToken};
pub use keys::{KeySet, VerifyKey};
pub use source::{JwksLocation, JwksSettings, JwksSource, KeySource, StaticKeys};
pub use verifier::{NotRun, Verifier, VerifierSettings};

/// Why a credential was refused. Messages are safe to show to the caller.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("no bearer token: send `Authorization: Bearer <jwt>`")]
    Missing,
    #[error("more than one credential was sent; send exactly one `Authorization: Bearer <jwt>`")]
    Ambiguous,
    #[error("the `Authorization` header is not `Bearer <jwt>`")]
    NotBearer,
    #[error("the token is larger than {} bytes", jwt::MAX_TOKEN_BYTES)]
    TooLarge,
    #[error("the token is malformed: {0}")]
    Malformed(&'static str),
    #[error("unsigned tokens (`alg: none`) are never accepted")]
    Unsigned,
    #[error("the token header has an unsupported `{0}`")]
    UnsupportedHeader(&'static str),
    #[error("the token's issuer `{0}` is not trusted")]
    UntrustedIssuer(String),
    #[error("the token's algorithm is not allowed for its issuer")]
    AlgorithmNotAllowed,
    #[error("the token was signed with a key the issuer does not publish")]
    UnknownKey,
    #[error("the token signature is invalid")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token's `iss` does not match its issuer")]
    WrongIssuer,
    #[error(
        "the token's `sub` has the form `<issuer-name>/<id>`, which names a user of another issuer; the default issuer's subjects may not start that way"
    )]
    SubjectNamesIssuer,
    #[error("the token's `aud` is not an accepted audience")]
    WrongAudience,
    #[error("the token lacks the required claim `{0}`")]
    MissingClaim(String),
    #[error("the token's `{0}` claim has the wrong type or value")]
    BadClaim(&'static str),
    #[error("the token lives longer than the maximum token lifetime")]
    LifetimeTooLong,
    #[error("the issuer's signing keys are unavailable")]
    KeysUnavailable,
    #[error("too many new tokens are waiting to be verified; retry shortly")]
    Overloaded,
    #[error("the token could not be verified because of an internal error")]
    VerifierFailed,
}

// === impl TokenError ===

impl TokenError {
    pub fn to_deny(&self) -> Deny {
        let reason = match self {
            Self::Missing => DenyReason::TokenMissing,
            Self::Expired => DenyReason::TokenExpired,
            Self::KeysUnavailable => DenyReason::KeysUnavailable,
            Self::Overloaded => DenyReason::Overloaded,
            Self::VerifierFailed => DenyReason::InternalError,
            _ => DenyReason::TokenInvalid,
        };
        Deny::new(reason, self.to_string())
    }
}

/// One trusted issuer: its rules and where its keys come from.
pub struct Issuer {
    pub rules: IssuerRules,
    pub keys: Arc<dyn KeySource>,
}

/// Settings for the verified-token cache.
#[derive(Clone, Copy, Debug)]
pub struct TokenCacheSettings {
    pub max_entries: u64,
    /// Upper bound on how long a verified token is trusted without re-verifying, so a key
    /// removed from the JWKS stops working within this time.
    pub ttl: Duration,
}

/// A verified token and what it was verified against: a cached verification holds only while
/// its issuer still serves that very key set, so a key removed at a refresh (or gone stale
/// while the issuer is down) stops admitting tokens already in the cache.
struct CachedToken {
    token: Arc<VerifiedToken>,
    issuer: usize,
    keys: Arc<KeySet>,
}

/// Verifies bearer tokens and turns them into callers.
pub struct Authenticator {
    issuers: Vec<Issuer>,
    rules: Arc<TokenRules>,
    cache: moka::sync::Cache<[u8; 32], Arc<CachedToken>>,
    verifier: Verifier,
}

// === impl Authenticator ===

impl Authenticator {
    /// Verifies signatures on the caller's thread; see [`Self::with_verifier`].
    pub fn new(issuers: Vec<Issuer>, rules: TokenRules, cache: TokenCacheSettings) -> Self {
        let cache = moka::sync::Cache::builder()
            .max_capacity(cache.max_entries)
            .time_to_live(cache.ttl)
            .build();
        Self { issuers, rules: Arc::new(rules), cache, verifier: Verifier::inline() }
    }

    /// Checks signatures on `verifier` (a pool that sheds load) instead of the caller's thread.
    pub fn with_verifier(mut self, verifier: Verifier) -> Self {
        self.verifier = verifier;
        self
    }

    /// Signature verifications waiting for the pool now.
    pub fn verifications_waiting(&self) -> usize {
        self.verifier.waiting()
    }

    pub fn issuers(&self) -> &[Issuer] {
        &self.issuers
    }

    /// The caller behind a request: a verified bearer token, a workload identity reported by
    /// Envoy (mTLS source principal), or both. Neither is an error.
    pub async fn caller(
        &self,
        bearer: Option<&str>,
        workload: Option<&str>,
        now: Timestamp,
    ) -> Result<Caller, TokenError> {
        let service = workload
            .filter(|w| !w.is_empty())
            .map(Principal::service)
            .transpose()
            .map_err(|_| TokenError::BadClaim("source principal"))?;
        let Some(token) = bearer else {
            let service = service.ok_or(TokenError::Missing)?;
            return Ok(Caller { subject: service.clone(), principals: vec![service] });
        };
        let verified = self.verify(token, now).await?;
        let mut principals = Vec::with_capacity(verified.groups.len() + 2);
        principals.push(verified.subject.clone());
        principals.extend(verified.groups.iter().cloned());
        principals.extend(service);
        Ok(Caller { subject: verified.subject.clone(), principals })
    }

    /// Verifies one token, using the cache when the same token was verified before.
    pub async fn verify(
        &self,
        token: &str,
        now: Timestamp,
    ) -> Result<Arc<VerifiedToken>, TokenError> {
        if token.len() > jwt::MAX_TOKEN_BYTES {
            return Err(TokenError::TooLarge);
        }
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some(hit) = self.cache.get(&digest) {
            if now < hit.token.expires_at && self.keys_unchanged(&hit) {
                return Ok(hit.token.clone());
            }
            self.cache.invalidate(&digest);
        }
        let (verified, issuer, keys) = self.verify_uncached(token, now).await?;
        let verified = Arc::new(verified);
        let cached = CachedToken { token: verified.clone(), issuer, keys };
        self.cache.insert(digest, Arc::new(cached));
        Ok(verified)
    }

    /// Whether the issuer still serves the key set the cached token was verified with.
    fn keys_unchanged(&self, hit: &CachedToken) -> bool {
        self.issuers.get(hit.issuer).is_some_and(|i| Arc::ptr_eq(&i.keys.keys(), &hit.keys))
    }

    /// The verified claims, the index of the issuer and the key set that verified them.
    async fn verify_uncached(
        &self,
        token: &str,
        now: Timestamp,
    ) -> Result<(VerifiedToken, usize, Arc<KeySet>), TokenError> {
        let header = jwt::check_shape(token)?;
        let peek = jwt::peek(token)?;
        let (index, issuer) = self
            .issuers
            .iter()
            .enumerate()
            .find(|(_, i)| i.rules.issuer == peek.iss)
            .ok_or_else(|| TokenError::UntrustedIssuer(peek.iss.chars().take(200).collect()))?;
        if peek.exp.is_some_and(|exp| jwt::is_expired(exp, &self.rules, now)) {
            return Err(TokenError::Expired);
        }
        let keys = issuer.keys.keys();
        if keys.is_empty() && !issuer.keys.refreshes() {
            return Err(TokenError::KeysUnavailable);
        }
        let known = match header.kid.as_deref() {
            Some(kid) => keys.has_kid(kid),
            None => keys.candidates(None, header.alg).next().is_some(),
        };
        let keys = if known || !issuer.keys.refresh_unknown_kid().await {
            keys
        } else {
            issuer.keys.keys()
        };
        if keys.is_empty() {
            return Err(TokenError::KeysUnavailable);
        }
        let (token, rules, issuer_rules) =
            (token.to_owned(), self.rules.clone(), issuer.rules.clone());
        let verified = self
            .verifier
            .run(move || {
                jwt::verify(&token, &header, &keys, &issuer_rules, &rules, now).map(|v| (v, keys))
            })
            .await
            .map_err(|e| match e {
                NotRun::Shed => TokenError::Overloaded,
                NotRun::Failed => TokenError::VerifierFailed,
            })?;
        let (verified, keys) = verified?;
        Ok((verified, index, keys))
    }
}

/// Extracts the token from the `authorization` header values of one request. More than one
/// header, or a list inside one (`Bearer a, Bearer b`), is refused.
pub fn bearer_token(values: &[&str]) -> Result<Option<String>, TokenError> {
    let value = match values {
        [] => return Ok(None),
        [one] => one.trim(),
        _ => return Err(TokenError::Ambiguous),
    };
    if value.contains(',') {
        return Err(TokenError::Ambiguous);
    }
    let (scheme, token) = value.split_once(' ').ok_or(TokenError::NotBearer)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(TokenError::NotBearer);
    }
    let token = token.trim();
    if token.is_empty() || token.contains(char::is_whitespace) {
        return Err(TokenError::NotBearer);
    }
    Ok(Some(token.to_string()))
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;

#[cfg(test)]
#[path = "naming_tests.rs"]
mod naming_tests;
