//! Hand-built JWTs: any header and payload JSON, signed for real (HS256 with the harness
//! secret or a chosen key, RS256/ES256 with the fixture keys), or with a chosen signature.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Value, json};

use crate::common::fixture;
use crate::common::jitgate::{ISSUER, JWKS_ISSUER};

/// The JWKS issuer's user in the corpus; its grant names `user:idp/carol`.
pub const JWKS_SUB: &str = "carol";

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `b64(header).b64(payload)` from JSON text (so odd JSON can be sent as is).
pub fn unsigned(header: &str, payload: &str) -> String {
    format!("{}.{}", b64(header.as_bytes()), b64(payload.as_bytes()))
}

/// Signs `header.payload` with `key` under `alg`.
pub fn sign_raw(header: &str, payload: &str, key: &EncodingKey, alg: Algorithm) -> String {
    let msg = unsigned(header, payload);
    let sig = jsonwebtoken::crypto::sign(msg.as_bytes(), key, alg).expect("sign");
    format!("{msg}.{sig}")
}

pub fn fixture_key(alg: Algorithm, pem: &str) -> EncodingKey {
    let pem = std::fs::read(fixture(&format!("keys/{pem}"))).expect("fixture key");
    match alg {
        Algorithm::RS256 => EncodingKey::from_rsa_pem(&pem),
        Algorithm::ES256 => EncodingKey::from_ec_pem(&pem),
        _ => EncodingKey::from_ed_pem(&pem),
    }
    .expect("key")
}

/// Signs JSON values; the header's `alg` picks the algorithm (HS* use `secret`).
pub struct Signer {
    pub secret: String,
    pub now: i64,
}

impl Signer {
    /// The claims of a good token from the harness issuer for `user:alice`.
    pub fn claims(&self) -> Value {
        json!({"iss": ISSUER, "aud": "jitgate", "sub": "alice", "iat": self.now, "exp": self.now + 600})
    }

    /// Good claims for the JWKS issuer, for its user `carol` (`user:idp/carol`): not the
    /// harness issuer's `alice`, whose principal it may not reach.
    pub fn jwks_claims(&self) -> Value {
        let mut c = self.claims();
        c["iss"] = json!(JWKS_ISSUER);
        c["sub"] = json!(JWKS_SUB);
        c
    }

    /// Good claims with `key` set to `value` (`Value::Null` removes the key).
    pub fn with(&self, key: &str, value: Value) -> Value {
        edit(self.claims(), key, value)
    }

    /// HS256 with the harness secret, header `{"alg":"HS256","typ":"JWT"}` plus `extra`.
    pub fn hs(&self, extra: Value, claims: &Value) -> String {
        let header = edit_all(json!({"alg": "HS256", "typ": "JWT"}), extra);
        self.hs_raw(&header.to_string(), &claims.to_string())
    }

    pub fn hs_raw(&self, header: &str, payload: &str) -> String {
        sign_raw(
            header,
            payload,
            &EncodingKey::from_secret(self.secret.as_bytes()),
            Algorithm::HS256,
        )
    }

    /// HS256 signed with arbitrary secret bytes (key confusion, wrong secret).
    pub fn hs_with(&self, secret: &[u8], header: Value, claims: &Value) -> String {
        sign_raw(
            &header.to_string(),
            &claims.to_string(),
            &EncodingKey::from_secret(secret),
            Algorithm::HS256,
        )
    }

    /// Signed with a fixture key under `header` (which names `alg` and `kid`).
    pub fn asym(&self, alg: Algorithm, pem: &str, header: Value, claims: &Value) -> String {
        sign_raw(&header.to_string(), &claims.to_string(), &fixture_key(alg, pem), alg)
    }
}

pub fn edit(mut v: Value, key: &str, value: Value) -> Value {
    if value.is_null() {
        v.as_object_mut().expect("object").remove(key);
    } else {
        v[key] = value;
    }
    v
}

fn edit_all(mut v: Value, extra: Value) -> Value {
    if let Value::Object(map) = extra {
        for (k, val) in map {
            v = edit(v, &k, val);
        }
    }
    v
}
