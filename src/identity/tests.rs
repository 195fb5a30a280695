//! The JWT matrix: every way a token can be wrong, each denied with its reason.

use super::*;
use crate::grant::{IssuerName, Naming};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

const ISS: &str = "https://idp.test";
const JWKS: &[u8] = include_bytes!("../../tests/fixtures/keys/jwks.json");
const EC_KEY: &[u8] = include_bytes!("../../tests/fixtures/keys/ec-test-key.pem");
const EC2_KEY: &[u8] = include_bytes!("../../tests/fixtures/keys/ec-test-key-2.pem");
const RSA_KEY: &[u8] = include_bytes!("../../tests/fixtures/keys/rsa-test-key.pem");
const RSA_PUB: &[u8] = include_bytes!("../../tests/fixtures/keys/rsa-test-pub.pem");
const ED_KEY: &[u8] = include_bytes!("../../tests/fixtures/keys/ed25519-test-key.pem");

fn now() -> Timestamp {
    crate::time::Clock::now(&crate::time::SystemClock)
}

fn secs(offset: i64) -> i64 {
    now().as_secs() + offset
}

fn mk_auth() -> Authenticator {
    let (keys, _) = KeySet::from_jwks(JWKS, &[]).unwrap();
    let issuer = Issuer {
        rules: IssuerRules {
            issuer: ISS.into(),
            audiences: vec!["jitgate".into()],
            algorithms: vec![],
            naming: Naming::Default,
        },
        keys: Arc::new(StaticKeys::new(keys)),
    };
    let dev = Issuer {
        rules: IssuerRules {
            issuer: "dev".into(),
            audiences: vec!["jitgate".into()],
            algorithms: vec![Algorithm::HS256],
            naming: Naming::Qualified(IssuerName::new("dev").unwrap()),
        },
        keys: Arc::new(StaticKeys::new(KeySet::hs256(b"0123456789abcdef0123456789abcdef"))),
    };
    let rules = TokenRules {
        leeway: Duration::from_secs(30),
        max_lifetime: Duration::from_secs(24 * 3600),
        groups_claim: "groups".into(),
    };
    Authenticator::new(
        vec![issuer, dev],
        rules,
        TokenCacheSettings { max_entries: 100, ttl: Duration::from_secs(60) },
    )
}

fn claims() -> Value {
    json!({"iss": ISS, "aud": "jitgate", "sub": "alice", "exp": secs(600), "iat": secs(0), "groups": ["eng", "oncall"]})
}

fn sign(alg: Algorithm, kid: Option<&str>, key: &EncodingKey, claims: &Value) -> String {
    let mut h = Header::new(alg);
    h.kid = kid.map(str::to_string);
    jsonwebtoken::encode(&h, claims, key).unwrap()
}

fn es256(claims: &Value) -> String {
    sign(Algorithm::ES256, Some("ec-1"), &EncodingKey::from_ec_pem(EC_KEY).unwrap(), claims)
}

fn with(mut base: Value, key: &str, v: Value) -> Value {
    base[key] = v;
    base
}

fn without(mut base: Value, key: &str) -> Value {
    base.as_object_mut().unwrap().remove(key);
    base
}

/// A token with a hand-written header and payload and any signature.
fn raw(header: &Value, payload: &Value, sig: &str) -> String {
    let enc = |v: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap());
    format!("{}.{}.{sig}", enc(header), enc(payload))
}

async fn check(token: &str) -> Result<Arc<VerifiedToken>, TokenError> {
    mk_auth().verify(token, now()).await
}

#[tokio::test]
async fn valid_tokens_of_each_algorithm_verify() {
    let c = claims();
    let tokens = [
        es256(&c),
        sign(Algorithm::RS256, Some("rsa-1"), &EncodingKey::from_rsa_pem(RSA_KEY).unwrap(), &c),
        sign(Algorithm::EdDSA, Some("ed-1"), &EncodingKey::from_ed_pem(ED_KEY).unwrap(), &c),
    ];
    for t in tokens {
        let v = check(&t).await.unwrap();
        assert_eq!(v.subject.to_string(), "user:alice");
        let groups: Vec<String> = v.groups.iter().map(|g| g.to_string()).collect();
        assert_eq!(groups, ["group:eng", "group:oncall"]);
    }
}

#[tokio::test]
async fn hs256_dev_issuer_verifies_with_its_secret_only() {
    let c = with(claims(), "iss", json!("dev"));
    let good = sign(
        Algorithm::HS256,
        None,
        &EncodingKey::from_secret(b"0123456789abcdef0123456789abcdef"),
        &c,
    );
    assert!(check(&good).await.is_ok());
    let bad = sign(
        Algorithm::HS256,
        None,
        &EncodingKey::from_secret(b"another-secret-another-secret-xx"),
        &c,
    );
    assert_eq!(check(&bad).await.unwrap_err(), TokenError::BadSignature);
}

#[tokio::test]
async fn unsigned_tokens_are_refused() {
    let p = claims();
    for alg in ["none", "None", "NONE", ""] {
        let t = raw(&json!({"alg": alg, "typ": "JWT"}), &p, "sig");
        assert_eq!(check(&t).await.unwrap_err(), TokenError::Unsigned, "alg {alg:?}");
    }
    let empty_sig = format!("{}.", es256(&p).rsplit_once('.').unwrap().0);
    assert!(matches!(check(&empty_sig).await.unwrap_err(), TokenError::Malformed(_)));
}

#[tokio::test]
async fn hs256_signed_with_the_rsa_public_key_is_refused() {
    // Key confusion: an attacker signs HS256 using the public RSA key as the HMAC secret.
    let t = sign(Algorithm::HS256, Some("rsa-1"), &EncodingKey::from_secret(RSA_PUB), &claims());
    assert!(check(&t).await.is_err());
    let t = sign(Algorithm::HS256, None, &EncodingKey::from_secret(RSA_PUB), &claims());
    assert!(check(&t).await.is_err());
}

#[tokio::test]
async fn missing_required_claims_are_refused() {
    for claim in ["exp", "aud", "sub"] {
        let err = check(&es256(&without(claims(), claim))).await.unwrap_err();
        assert_eq!(err, TokenError::MissingClaim(claim.into()), "{claim}");
    }
    let err = check(&es256(&without(claims(), "iss"))).await.unwrap_err();
    assert_eq!(err, TokenError::MissingClaim("iss".into()));
}

#[tokio::test]
async fn issuer_and_audience_must_match() {
    let err = check(&es256(&with(claims(), "iss", json!("https://evil.test")))).await.unwrap_err();
    assert!(matches!(err, TokenError::UntrustedIssuer(_)));
    let err = check(&es256(&with(claims(), "iss", json!([ISS])))).await.unwrap_err();
    assert_eq!(err, TokenError::BadClaim("iss"));
    let err = check(&es256(&with(claims(), "aud", json!("other")))).await.unwrap_err();
    assert_eq!(err, TokenError::WrongAudience);
    assert!(check(&es256(&with(claims(), "aud", json!(["other", "jitgate"])))).await.is_ok());
    // A token from the dev issuer signed with the JWKS key: right key, wrong issuer's rules.
    let t = es256(&with(claims(), "iss", json!("dev")));
    assert!(check(&t).await.is_err());
}

#[tokio::test]
async fn time_claims_follow_the_leeway() {
    let expired = |by: i64| with(claims(), "exp", json!(secs(-by)));
    assert_eq!(check(&es256(&expired(120))).await.unwrap_err(), TokenError::Expired);
    // Within the 30 s leeway the token still verifies (the cache then honours `exp` itself).
    assert!(mk_auth().verify_uncached(&es256(&expired(5)), now()).await.is_ok());
    let future = with(claims(), "nbf", json!(secs(120)));
    assert_eq!(check(&es256(&future)).await.unwrap_err(), TokenError::NotYetValid);
    assert!(check(&es256(&with(claims(), "nbf", json!(secs(5))))).await.is_ok());
}

#[tokio::test]
async fn time_claims_of_the_wrong_type_are_refused() {
    // CVE-2026-25537 shape: `exp`/`nbf` as strings must not skip the time check.
    let bad = [
        ("exp", json!(secs(600).to_string())),
        ("exp", json!(secs(600) as f64 + 0.5)),
        ("exp", json!(-1)),
        ("exp", json!(u64::MAX)),
        ("nbf", json!(secs(600).to_string())),
        // A float `nbf` (past or future) was accepted until the bad-inputs corpus caught it.
        ("nbf", json!(secs(-10) as f64 + 0.5)),
        ("nbf", json!(secs(600) as f64 + 0.5)),
        ("nbf", json!(true)),
    ];
    for (claim, v) in bad {
        let t = es256(&with(claims(), claim, v.clone()));
        assert!(check(&t).await.is_err(), "{claim} = {v}");
    }
}

#[tokio::test]
async fn tokens_living_past_the_maximum_lifetime_are_refused() {
    let year_3000 = with(claims(), "exp", json!(32_503_680_000_i64));
    assert_eq!(check(&es256(&year_3000)).await.unwrap_err(), TokenError::LifetimeTooLong);
    let old_iat = with(with(claims(), "iat", json!(secs(-200_000))), "exp", json!(secs(600)));
    assert_eq!(check(&es256(&old_iat)).await.unwrap_err(), TokenError::LifetimeTooLong);
}

#[tokio::test]
async fn unknown_and_hostile_kids_are_refused() {
    let key = EncodingKey::from_ec_pem(EC_KEY).unwrap();
    for kid in ["nope", "../../etc/passwd", "ключ"] {
        let t = sign(Algorithm::ES256, Some(kid), &key, &claims());
        assert_eq!(check(&t).await.unwrap_err(), TokenError::UnknownKey, "{kid}");
    }
    for kid in ["a\0b".to_string(), "k".repeat(10 * 1024)] {
        let t = sign(Algorithm::ES256, Some(&kid), &key, &claims());
        assert!(matches!(
            check(&t).await.unwrap_err(),
            TokenError::Malformed(_) | TokenError::TooLarge
        ));
    }
    // Signed by a key jitgate does not know, under a kid it does know.
    let t = sign(
        Algorithm::ES256,
        Some("ec-1"),
        &EncodingKey::from_ec_pem(EC2_KEY).unwrap(),
        &claims(),
    );
    assert_eq!(check(&t).await.unwrap_err(), TokenError::BadSignature);
}

#[tokio::test]
async fn key_urls_in_the_header_are_never_followed() {
    let attacker = EncodingKey::from_ec_pem(EC2_KEY).unwrap();
    for (field, value) in [
        ("jku", json!("https://evil.test/jwks.json")),
        ("x5u", json!("https://evil.test/cert.pem")),
        ("x5c", json!(["MIIB"])),
    ] {
        let mut h = Header::new(Algorithm::ES256);
        h.kid = Some("ec-1".into());
        let mut hv = serde_json::to_value(&h).unwrap();
        hv[field] = value;
        let unsigned = raw(&hv, &claims(), "x");
        let msg = unsigned.rsplit_once('.').unwrap().0;
        let sig = jsonwebtoken::crypto::sign(msg.as_bytes(), &attacker, Algorithm::ES256).unwrap();
        let t = format!("{msg}.{sig}");
        assert_eq!(check(&t).await.unwrap_err(), TokenError::BadSignature, "{field}");
    }
}

#[tokio::test]
async fn header_rules_refuse_crit_and_odd_typ() {
    let h = json!({"alg": "ES256", "kid": "ec-1", "crit": ["exp"]});
    assert_eq!(
        check(&raw(&h, &claims(), "x")).await.unwrap_err(),
        TokenError::UnsupportedHeader("crit")
    );
    let h = json!({"alg": "ES256", "kid": "ec-1", "typ": "JOSE+JSON"});
    assert_eq!(
        check(&raw(&h, &claims(), "x")).await.unwrap_err(),
        TokenError::UnsupportedHeader("typ")
    );
}

#[tokio::test]
async fn malformed_and_oversized_tokens_are_refused_before_crypto() {
    let good = es256(&claims());
    let big_claim = |n: usize| es256(&with(claims(), "pad", json!("x".repeat(n))));
    let cases = [
        format!("{good}.extra"),
        good.replacen('.', "", 1),
        format!("{good}=="),
        format!("{}+{}", &good[..5], &good[5..]),
        "not a token".to_string(),
        String::new(),
        big_claim(8 * 1024),
        big_claim(59 * 1024),
        big_claim(61 * 1024),
    ];
    for t in cases {
        assert!(check(&t).await.is_err(), "{} bytes", t.len());
    }
    assert_eq!(check(&big_claim(8 * 1024)).await.unwrap_err(), TokenError::TooLarge);
}

#[tokio::test]
async fn caller_includes_groups_and_the_workload() {
    let auth = mk_auth();
    let t = es256(&claims());
    let c = auth.caller(Some(&t), Some("spiffe://cluster/ns/a/sa/b"), now()).await.unwrap();
    let got: Vec<String> = c.principals.iter().map(|p| p.to_string()).collect();
    assert_eq!(
        got,
        ["user:alice", "group:eng", "group:oncall", "service:spiffe://cluster/ns/a/sa/b"]
    );
    assert_eq!(c.subject.to_string(), "user:alice");
    let svc = auth.caller(None, Some("spiffe://x"), now()).await.unwrap();
    assert_eq!(svc.subject.to_string(), "service:spiffe://x");
    assert_eq!(auth.caller(None, None, now()).await.unwrap_err(), TokenError::Missing);
}

#[test]
fn bearer_header_parsing() {
    assert_eq!(bearer_token(&[]), Ok(None));
    assert_eq!(bearer_token(&["Bearer abc"]), Ok(Some("abc".into())));
    assert_eq!(bearer_token(&["bearer abc"]), Ok(Some("abc".into())));
    assert_eq!(bearer_token(&["Bearer a", "Bearer b"]), Err(TokenError::Ambiguous));
    assert_eq!(bearer_token(&["Bearer a, Bearer b"]), Err(TokenError::Ambiguous));
    assert_eq!(bearer_token(&["Basic YWxhZGRpbjpvcGVu"]), Err(TokenError::NotBearer));
    assert_eq!(bearer_token(&["Bearer"]), Err(TokenError::NotBearer));
    assert_eq!(bearer_token(&["Bearer a b"]), Err(TokenError::NotBearer));
}

#[test]
fn every_token_error_maps_to_an_authentication_deny() {
    assert_eq!(TokenError::Missing.to_deny().reason, DenyReason::TokenMissing);
    assert_eq!(TokenError::Expired.to_deny().reason, DenyReason::TokenExpired);
    assert_eq!(TokenError::BadSignature.to_deny().reason, DenyReason::TokenInvalid);
    assert_eq!(TokenError::KeysUnavailable.to_deny().reason.status().http_code(), 503);
}
