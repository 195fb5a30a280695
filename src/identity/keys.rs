//! Verification keys: a [`KeySet`] parsed from a JWKS document, or a single HS256 secret.
//! Loading is strict: symmetric (`oct`) keys never come from a JWKS, every key is pinned to one
//! algorithm (its `alg`, or the issuer's single configured algorithm), and keys meant for
//! encryption are skipped. What was skipped is reported so operators can see why.

use std::str::FromStr;

use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, KeyOperations, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};

/// Longest `kid` considered; longer ones are refused without a key lookup.
pub const MAX_KID_LEN: usize = 256;

/// Most keys kept from one JWKS document.
pub const MAX_KEYS: usize = 64;

/// One verification key, bound to exactly one algorithm.
#[derive(Clone)]
pub struct VerifyKey {
    pub kid: Option<String>,
    pub alg: Algorithm,
    pub key: DecodingKey,
}

/// The keys an issuer signs with.
#[derive(Clone, Default)]
pub struct KeySet {
    keys: Vec<VerifyKey>,
}

// === impl KeySet ===

impl KeySet {
    pub fn new(keys: Vec<VerifyKey>) -> Self {
        Self { keys }
    }

    /// An HS256 shared secret (development setups).
    pub fn hs256(secret: &[u8]) -> Self {
        Self::new(vec![VerifyKey {
            kid: None,
            alg: Algorithm::HS256,
            key: DecodingKey::from_secret(secret),
        }])
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Keys that may verify a token with this header. With a `kid`, only that key (and only
    /// with its own algorithm); without one, every key pinned to the token's algorithm.
    pub fn candidates<'a>(
        &'a self,
        kid: Option<&'a str>,
        alg: Algorithm,
    ) -> impl Iterator<Item = &'a VerifyKey> + 'a {
        self.keys.iter().filter(move |k| {
            k.alg == alg
                && match kid {
                    Some(kid) => k.kid.as_deref() == Some(kid),
                    None => true,
                }
        })
    }

    pub fn has_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.kid.as_deref() == Some(kid))
    }

    /// Parses a JWKS document. `pinned` is the issuer's configured algorithm list (may be
    /// empty). Returns the usable keys and a note for each key that was skipped.
    pub fn from_jwks(json: &[u8], pinned: &[Algorithm]) -> Result<(Self, Vec<String>), String> {
        let doc: serde_json::Value =
            serde_json::from_slice(json).map_err(|e| format!("the JWKS is not JSON: {e}"))?;
        let Some(entries) = doc.get("keys").and_then(|k| k.as_array()) else {
            return Err("the JWKS has no `keys` array".into());
        };
        let mut keys = Vec::new();
        let mut skipped = Vec::new();
        for (i, entry) in entries.iter().enumerate() {
            if keys.len() == MAX_KEYS {
                skipped.push(format!("keys past the first {MAX_KEYS} were ignored"));
                break;
            }
            match parse_jwk(entry, pinned) {
                Ok(k) => keys.push(k),
                Err(why) => skipped.push(format!("key {i}: {why}")),
            }
        }
        Ok((Self { keys }, skipped))
    }
}

fn parse_jwk(entry: &serde_json::Value, pinned: &[Algorithm]) -> Result<VerifyKey, String> {
    if entry.get("kty").and_then(|v| v.as_str()) == Some("oct") {
        return Err("symmetric (`oct`) keys are never accepted from a JWKS".into());
    }
    let jwk: Jwk = serde_json::from_value(entry.clone()).map_err(|e| format!("unreadable: {e}"))?;
    if matches!(jwk.common.public_key_use, Some(ref u) if *u != PublicKeyUse::Signature) {
        return Err("`use` is not `sig`".into());
    }
    if let Some(ops) = &jwk.common.key_operations
        && !ops.contains(&KeyOperations::Verify)
    {
        return Err("`key_ops` does not include `verify`".into());
    }
    let kid = jwk.common.key_id.clone();
    if kid.as_ref().is_some_and(|k| k.len() > MAX_KID_LEN) {
        return Err("`kid` is too long".into());
    }
    let alg = match jwk.common.key_algorithm {
        Some(ka) => Algorithm::from_str(&ka.to_string())
            .map_err(|_| format!("`alg` {ka:?} is not a signature algorithm"))?,
        None => match pinned {
            [only] => *only,
            _ => {
                return Err(
                    "no `alg`; set `algorithms: [..]` with one entry on the issuer to use it"
                        .into(),
                );
            }
        },
    };
    if !pinned.is_empty() && !pinned.contains(&alg) {
        return Err(format!("`alg` {alg:?} is not in the issuer's `algorithms`"));
    }
    let family_ok = matches!(
        (&jwk.algorithm, alg.family()),
        (AlgorithmParameters::RSA(_), jsonwebtoken::AlgorithmFamily::Rsa)
            | (AlgorithmParameters::EllipticCurve(_), jsonwebtoken::AlgorithmFamily::Ec)
            | (AlgorithmParameters::OctetKeyPair(_), jsonwebtoken::AlgorithmFamily::Ed)
    );
    if !family_ok {
        return Err(format!("key type does not fit `alg` {alg:?}"));
    }
    let key = DecodingKey::from_jwk(&jwk).map_err(|e| format!("bad key material: {e}"))?;
    Ok(VerifyKey { kid, alg, key })
}

#[cfg(test)]
mod tests {
    use super::*;

    const EC: &str = r#"{"kty":"EC","crv":"P-256","x":"OJcjbB1Z0ZttaJ-v2q2HT94ZqIvmhzn_H6p5f6deHTs","y":"ievBmfs4KpW5ZNxn1mdMYIHIMuKxSUgDEEP1x5-bxfo"}"#;

    fn jwks(keys: &[String]) -> Vec<u8> {
        format!(r#"{{"keys":[{}]}}"#, keys.join(",")).into_bytes()
    }

    fn ec_with(extra: &str) -> String {
        format!("{},{extra}}}", &EC[..EC.len() - 1])
    }

    #[test]
    fn keeps_pinned_signing_keys() {
        let doc = jwks(&[ec_with(r#""kid":"k1","alg":"ES256","use":"sig""#)]);
        let (set, skipped) = KeySet::from_jwks(&doc, &[]).unwrap();
        assert_eq!((set.len(), skipped.len()), (1, 0));
        assert_eq!(set.candidates(Some("k1"), Algorithm::ES256).count(), 1);
        assert_eq!(set.candidates(Some("k1"), Algorithm::HS256).count(), 0);
        assert_eq!(set.candidates(Some("k2"), Algorithm::ES256).count(), 0);
    }

    #[test]
    fn skips_oct_keys_keys_without_alg_and_encryption_keys() {
        let doc = jwks(&[
            r#"{"kty":"oct","k":"c2VjcmV0","alg":"HS256","kid":"h"}"#.to_string(),
            ec_with(r#""kid":"noalg""#),
            ec_with(r#""kid":"enc","alg":"ES256","use":"enc""#),
            ec_with(r#""kid":"wrongfamily","alg":"RS256""#),
        ]);
        let (set, skipped) = KeySet::from_jwks(&doc, &[]).unwrap();
        assert!(set.is_empty());
        assert_eq!(skipped.len(), 4, "{skipped:?}");
        assert!(skipped[0].contains("oct"));
        assert!(skipped[1].contains("no `alg`"));
    }

    #[test]
    fn key_without_alg_is_usable_when_the_issuer_pins_one_algorithm() {
        let doc = jwks(&[ec_with(r#""kid":"noalg""#)]);
        let (set, _) = KeySet::from_jwks(&doc, &[Algorithm::ES256]).unwrap();
        assert_eq!(set.candidates(Some("noalg"), Algorithm::ES256).count(), 1);
    }

    #[test]
    fn pinned_algorithms_exclude_other_keys() {
        let doc = jwks(&[ec_with(r#""kid":"k1","alg":"ES256""#)]);
        let (set, skipped) = KeySet::from_jwks(&doc, &[Algorithm::RS256]).unwrap();
        assert!(set.is_empty());
        assert!(skipped[0].contains("not in the issuer"));
    }

    #[test]
    fn garbage_documents_are_errors() {
        assert!(KeySet::from_jwks(b"<html>", &[]).is_err());
        assert!(KeySet::from_jwks(b"{}", &[]).is_err());
    }
}
