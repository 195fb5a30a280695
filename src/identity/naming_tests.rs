//! Principals carry their issuer (SECURITY row 52): a second trusted issuer cannot mint a
//! token for the default issuer's users, and the default issuer cannot mint the second's.

use super::*;
use crate::grant::{IssuerName, Naming};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

const CORP_SECRET: &[u8] = b"corp-secret-corp-secret-corp-sec";
const PARTNER_SECRET: &[u8] = b"partner-secret-partner-secret-pa";

fn now() -> Timestamp {
    crate::time::Clock::now(&crate::time::SystemClock)
}

fn mk_issuer(iss: &str, secret: &[u8], naming: Naming) -> Issuer {
    Issuer {
        rules: IssuerRules {
            issuer: iss.into(),
            audiences: vec!["jitgate".into()],
            algorithms: vec![Algorithm::HS256],
            naming,
        },
        keys: Arc::new(StaticKeys::new(KeySet::hs256(secret))),
    }
}

/// `corp` is the default issuer; `partner` is trusted too, under the name `partner`.
fn mk_auth() -> Authenticator {
    let partner = Naming::Qualified(IssuerName::new("partner").unwrap());
    let rules = TokenRules {
        leeway: Duration::from_secs(30),
        max_lifetime: Duration::from_secs(3600),
        groups_claim: "groups".into(),
    };
    Authenticator::new(
        vec![
            mk_issuer("https://corp.test", CORP_SECRET, Naming::Default),
            mk_issuer("https://partner.test", PARTNER_SECRET, partner),
        ],
        rules,
        TokenCacheSettings { max_entries: 100, ttl: Duration::from_secs(60) },
    )
}

fn token(iss: &str, secret: &[u8], sub: &str, groups: Value) -> String {
    let t = now().as_secs();
    let claims = json!({"iss": iss, "aud": "jitgate", "sub": sub, "groups": groups, "iat": t, "exp": t + 600});
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(secret))
        .unwrap()
}

async fn principals(token: &str) -> Result<Vec<String>, TokenError> {
    let caller = mk_auth().caller(Some(token), None, now()).await?;
    Ok(caller.principals.iter().map(ToString::to_string).collect())
}

#[tokio::test]
async fn a_second_issuers_sub_is_not_the_default_issuers_user() {
    let corp = token("https://corp.test", CORP_SECRET, "alice", json!(["eng"]));
    let partner = token("https://partner.test", PARTNER_SECRET, "alice", json!(["eng"]));
    assert_eq!(principals(&corp).await.unwrap(), ["user:alice", "group:eng"]);
    let theirs = principals(&partner).await.unwrap();
    assert_eq!(theirs, ["user:partner/alice", "group:partner/eng"]);
    assert!(!theirs.contains(&"user:alice".to_string()));
    assert!(!theirs.contains(&"group:eng".to_string()));
}

#[tokio::test]
async fn the_default_issuer_cannot_mint_a_qualified_principal() {
    let forged = token("https://corp.test", CORP_SECRET, "partner/alice", json!([]));
    assert_eq!(principals(&forged).await.unwrap_err(), TokenError::SubjectNamesIssuer);
    assert_eq!(
        TokenError::SubjectNamesIssuer.to_deny().reason,
        crate::decision::DenyReason::TokenInvalid
    );
    // A group in the qualified form is dropped; the caller keeps its other principals.
    let groups = json!(["partner/eng", "eng", "/eng/platform"]);
    let corp = token("https://corp.test", CORP_SECRET, "alice", groups);
    assert_eq!(
        principals(&corp).await.unwrap(),
        ["user:alice", "group:eng", "group:/eng/platform"]
    );
}

#[tokio::test]
async fn a_second_issuer_may_use_any_sub_even_one_with_slashes() {
    let partner = token("https://partner.test", PARTNER_SECRET, "corp/alice", json!([]));
    let caller = mk_auth().caller(Some(&partner), Some("spiffe://x"), now()).await.unwrap();
    assert_eq!(caller.subject.to_string(), "user:partner/corp/alice");
    assert_eq!(caller.subject.issuer(), Some("partner"));
    // The mTLS workload principal comes from Envoy, not from the token: never qualified.
    assert_eq!(caller.principals.last().map(ToString::to_string).unwrap(), "service:spiffe://x");
}
