//! The rules a bearer JWT must pass, on top of jsonwebtoken's signature and claim checks:
//! size and shape first (cheap, before any crypto), then header rules (`alg` pinned, no `crit`,
//! expected `typ`, `jku`/`x5u`/`jwk`/`x5c` never followed), then signature, `exp`, `nbf`, `iss`,
//! `aud`, `sub`, and a maximum lifetime. The principals a token proves are named by its
//! issuer's [`Naming`]: issuer-qualified unless it is the default issuer.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Header, Validation};
use serde::Deserialize;

use super::TokenError;
use super::keys::{KeySet, MAX_KID_LEN};
use crate::grant::{Naming, Principal, PrincipalError};
use crate::time::Timestamp;

/// Largest token accepted (bytes). Envoy's header limit is far above; a JWT rarely tops 2 KiB.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Most groups taken from the groups claim.
pub const MAX_GROUPS: usize = 256;

/// Rules shared by every issuer.
#[derive(Clone, Debug)]
pub struct TokenRules {
    pub leeway: Duration,
    pub max_lifetime: Duration,
    pub groups_claim: String,
}

/// What one trusted issuer must match.
#[derive(Clone, Debug)]
pub struct IssuerRules {
    pub issuer: String,
    pub audiences: Vec<String>,
    /// Algorithms this issuer may use; empty means "the `alg` of each loaded key".
    pub algorithms: Vec<Algorithm>,
    /// How its tokens' principals are named: plain for the default issuer, qualified with
    /// the issuer's name for any other, so no issuer can mint another's users.
    pub naming: Naming,
}

/// The identity a valid token proves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedToken {
    pub subject: Principal,
    pub groups: Vec<Principal>,
    pub expires_at: Timestamp,
}

#[derive(Deserialize)]
struct Claims {
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    exp: Option<i64>,
    #[serde(default)]
    iat: Option<i64>,
    /// Read only to refuse a non-integer `nbf`: jsonwebtoken compares a float `nbf` as a
    /// number, but RFC 7519 NumericDate here means whole seconds, as for `exp` and `iat`.
    #[serde(default, rename = "nbf")]
    _nbf: Option<i64>,
    #[serde(flatten)]
    extra: serde_json::Map<String, serde_json::Value>,
}

/// Checks size, shape and header rules; returns the parsed header.
pub fn check_shape(token: &str) -> Result<Header, TokenError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(TokenError::TooLarge);
    }
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return Err(TokenError::Malformed("a JWT has exactly three dot-separated parts"));
    }
    let b64url = |p: &str| {
        !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if !parts.iter().all(|p| b64url(p)) {
        return Err(TokenError::Malformed("a JWT part is empty or not unpadded base64url"));
    }
    let raw = URL_SAFE_NO_PAD
        .decode(parts[0])
        .map_err(|_| TokenError::Malformed("bad header encoding"))?;
    let json: serde_json::Value = serde_json::from_slice(&raw)
        .map_err(|_| TokenError::Malformed("the header is not JSON"))?;
    let alg = json.get("alg").and_then(|a| a.as_str()).unwrap_or("");
    if alg.eq_ignore_ascii_case("none") || alg.is_empty() {
        return Err(TokenError::Unsigned);
    }
    if json.get("crit").is_some() {
        return Err(TokenError::UnsupportedHeader("crit"));
    }
    if let Some(typ) = json.get("typ") {
        let ok = typ.as_str().is_some_and(|t| {
            ["jwt", "at+jwt", "application/jwt", "application/at+jwt"]
                .contains(&t.to_ascii_lowercase().as_str())
        });
        if !ok {
            return Err(TokenError::UnsupportedHeader("typ"));
        }
    }
    let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::AlgorithmNotAllowed)?;
    if let Some(kid) = &header.kid
        && (kid.len() > MAX_KID_LEN || kid.chars().any(char::is_control))
    {
        return Err(TokenError::Malformed(
            "the `kid` header is too long or has control characters",
        ));
    }
    Ok(header)
}

/// What is read from a token's payload before its signature is checked: only to pick the
/// issuer whose keys to use, and to refuse an expired token without spending a signature check
/// on it (a deny either way, so nothing unverified can ever allow).
#[derive(Debug)]
pub struct Peek {
    pub iss: String,
    pub exp: Option<i64>,
}

#[derive(Deserialize)]
struct PeekClaims {
    #[serde(default)]
    iss: Option<serde_json::Value>,
    #[serde(default)]
    exp: Option<serde_json::Value>,
}

/// Reads `iss` and `exp` without verifying anything.
pub fn peek(token: &str) -> Result<Peek, TokenError> {
    let payload = token.split('.').nth(1).ok_or(TokenError::Malformed("no payload"))?;
    let raw = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| TokenError::Malformed("bad payload encoding"))?;
    let claims: PeekClaims = serde_json::from_slice(&raw)
        .map_err(|_| TokenError::Malformed("the payload is not a JSON object"))?;
    let iss = match claims.iss {
        Some(serde_json::Value::String(s)) => s,
        Some(_) => return Err(TokenError::BadClaim("iss")),
        None => return Err(TokenError::MissingClaim("iss".into())),
    };
    // A malformed `exp` is left for full verification to report.
    let exp = claims.exp.and_then(|v| v.as_i64());
    Ok(Peek { iss, exp })
}

/// True when `exp` is past, leeway included (the same rule verification applies).
pub fn is_expired(exp: i64, rules: &TokenRules, now: Timestamp) -> bool {
    let leeway = i64::try_from(rules.leeway.as_secs()).unwrap_or(0);
    exp.saturating_add(leeway) < now.as_secs()
}

/// Verifies the signature with the issuer's keys and applies every claim rule.
pub fn verify(
    token: &str,
    header: &Header,
    keys: &KeySet,
    issuer: &IssuerRules,
    rules: &TokenRules,
    now: Timestamp,
) -> Result<VerifiedToken, TokenError> {
    if !issuer.algorithms.is_empty() && !issuer.algorithms.contains(&header.alg) {
        return Err(TokenError::AlgorithmNotAllowed);
    }
    let mut validation = Validation::new(header.alg);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.leeway = rules.leeway.as_secs();
    validation.validate_nbf = true;
    validation.set_issuer(&[issuer.issuer.as_str()]);
    validation.set_audience(&issuer.audiences);
    let mut last = TokenError::UnknownKey;
    for candidate in keys.candidates(header.kid.as_deref(), header.alg) {
        match jsonwebtoken::decode::<Claims>(token, &candidate.key, &validation) {
            Ok(data) => return finish(data.claims, &issuer.naming, rules, now),
            Err(e) => last = map_error(e.kind()),
        }
        if !matches!(last, TokenError::BadSignature) {
            break;
        }
    }
    Err(last)
}

fn finish(
    claims: Claims,
    naming: &Naming,
    rules: &TokenRules,
    now: Timestamp,
) -> Result<VerifiedToken, TokenError> {
    let max = i64::try_from(rules.max_lifetime.as_secs()).unwrap_or(i64::MAX);
    let leeway = i64::try_from(rules.leeway.as_secs()).unwrap_or(0);
    let now_s = now.as_secs();
    let exp = claims.exp.ok_or_else(|| TokenError::MissingClaim("exp".into()))?;
    let sub = claims.sub.ok_or_else(|| TokenError::MissingClaim("sub".into()))?;
    if exp.saturating_sub(now_s) > max {
        return Err(TokenError::LifetimeTooLong);
    }
    if let Some(iat) = claims.iat {
        if exp.saturating_sub(iat) > max {
            return Err(TokenError::LifetimeTooLong);
        }
        if iat > now_s.saturating_add(leeway) {
            return Err(TokenError::NotYetValid);
        }
    }
    let subject = naming.user(&sub).map_err(|e| match e {
        PrincipalError::NamesIssuer { .. } => TokenError::SubjectNamesIssuer,
        _ => TokenError::BadClaim("sub"),
    })?;
    let groups = read_groups(claims.extra.get(&rules.groups_claim), naming);
    let expires_at = Timestamp::from_millis(exp.saturating_mul(1000));
    Ok(VerifiedToken { subject, groups, expires_at })
}

/// The groups claim may be an array of strings or one space-separated string. A group that is
/// not a valid principal, or that the default issuer names in another issuer's form
/// (`partner/eng`), is dropped: a missing group only ever takes access away.
fn read_groups(value: Option<&serde_json::Value>, naming: &Naming) -> Vec<Principal> {
    let names: Vec<&str> = match value {
        Some(serde_json::Value::Array(items)) => items.iter().filter_map(|v| v.as_str()).collect(),
        Some(serde_json::Value::String(s)) => s.split_whitespace().collect(),
        _ => Vec::new(),
    };
    names.into_iter().filter_map(|g| naming.group(g).ok()).take(MAX_GROUPS).collect()
}

fn map_error(kind: &ErrorKind) -> TokenError {
    match kind {
        ErrorKind::ExpiredSignature => TokenError::Expired,
        ErrorKind::ImmatureSignature => TokenError::NotYetValid,
        ErrorKind::InvalidIssuer => TokenError::WrongIssuer,
        ErrorKind::InvalidAudience => TokenError::WrongAudience,
        ErrorKind::MissingRequiredClaim(c) => TokenError::MissingClaim(c.clone()),
        ErrorKind::InvalidSignature => TokenError::BadSignature,
        ErrorKind::InvalidAlgorithm | ErrorKind::MissingAlgorithm => {
            TokenError::AlgorithmNotAllowed
        }
        ErrorKind::InvalidClaimFormat(_) | ErrorKind::Json(_) => {
            TokenError::BadClaim("a time or string claim")
        }
        _ => TokenError::Malformed("the token could not be decoded"),
    }
}
