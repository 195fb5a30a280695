//! The JWT case table: controls that must pass, then every way a token can be wrong.

use serde_json::{Value, json};

use crate::common::jitgate::JWKS_ISSUER;
use crate::jwt::{Case, ES, RS, case, header, one};
use crate::tokens::{Signer, b64, edit, unsigned};

const INV: &str = "token_invalid";
const EXP: &str = "token_expired";

pub fn cases(secret: &str, trap: u16) -> Vec<Case> {
    let now = i64::try_from(jsonwebtoken::get_current_timestamp()).unwrap();
    let s = Signer { secret: secret.into(), now };
    let good = s.hs(json!({}), &s.claims());
    let mut out = controls(&s, &good);
    out.extend(algorithms(&s));
    out.extend(keys(&s, trap));
    out.extend(claims(&s));
    out.extend(issuers(&s));
    out.extend(crate::jwt_shapes::shapes(&s, &good));
    out.extend(crate::jwt_shapes::schemes(&good));
    out
}

fn controls(s: &Signer, good: &str) -> Vec<Case> {
    let jw = s.jwks_claims();
    vec![
        case("control: valid HS256", one(good), 200, "allow"),
        case(
            "control: valid RS256 from JWKS",
            one(&s.asym(RS, "rsa-test-key.pem", header("RS256", json!({"kid": "rsa-1"})), &jw)),
            200,
            "allow",
        ),
        case(
            "control: valid ES256 from JWKS",
            one(&s.asym(ES, "ec-test-key.pem", header("ES256", json!({"kid": "ec-1"})), &jw)),
            200,
            "allow",
        ),
        case(
            "control: exp 10s ago, within 30s leeway",
            one(&s.hs(json!({}), &s.with("exp", json!(s.now - 10)))),
            200,
            "allow",
        ),
        case(
            "control: nbf 10s ahead, within leeway",
            one(&s.hs(json!({}), &s.with("nbf", json!(s.now + 10)))),
            200,
            "allow",
        ),
        case(
            "control: aud array with one match",
            one(&s.hs(json!({}), &s.with("aud", json!(["other", "jitgate"])))),
            200,
            "allow",
        ),
        case(
            "control: typ at+jwt",
            one(&s.hs(json!({"typ": "at+jwt"}), &s.claims())),
            200,
            "allow",
        ),
        case("control: no typ", one(&s.hs(json!({"typ": null}), &s.claims())), 200, "allow"),
    ]
}

fn algorithms(s: &Signer) -> Vec<Case> {
    let c = s.claims().to_string();
    let none = |alg: &str, sig: &str| {
        format!("{}.{sig}", unsigned(&json!({"alg": alg, "typ": "JWT"}).to_string(), &c))
    };
    let hs_sig = s.hs(json!({}), &s.claims()).rsplit('.').next().unwrap().to_string();
    let mut out = vec![
        case(
            "alg none, no signature",
            one(&format!("{}.", unsigned(r#"{"alg":"none"}"#, &c))),
            401,
            INV,
        ),
        case("alg none, dummy signature", one(&none("none", "AAAA")), 401, INV),
        case("alg None", one(&none("None", "AAAA")), 401, INV),
        case("alg NONE", one(&none("NONE", "AAAA")), 401, INV),
        case("alg nOnE", one(&none("nOnE", "AAAA")), 401, INV),
        case("alg none with the real HS256 signature", one(&none("none", &hs_sig)), 401, INV),
        case("alg empty string", one(&none("", &hs_sig)), 401, INV),
        case(
            "alg missing",
            one(&format!("{}.{hs_sig}", unsigned(r#"{"typ":"JWT"}"#, &c))),
            401,
            INV,
        ),
        case(
            "alg as number",
            one(&format!("{}.{hs_sig}", unsigned(r#"{"alg":256}"#, &c))),
            401,
            INV,
        ),
        case("alg HS384 label on an HS256 signature", one(&none("HS384", &hs_sig)), 401, INV),
        case("alg RS256 label on an HS256 signature", one(&none("RS256", &hs_sig)), 401, INV),
        case("alg unknown XS256", one(&none("XS256", &hs_sig)), 401, INV),
        case(
            "HS256, empty signature",
            one(&format!("{}.", s.hs(json!({}), &s.claims()).rsplit_once('.').unwrap().0)),
            401,
            INV,
        ),
        case("HS256, flipped signature byte", one(&flip(&s.hs(json!({}), &s.claims()))), 401, INV),
        case(
            "HS256, wrong secret",
            one(&s.hs_with(b"not-the-secret", header("HS256", json!({})), &s.claims())),
            401,
            INV,
        ),
    ];
    // Key confusion: the issuer's public keys used as an HMAC secret.
    let jw = s.jwks_claims();
    for (pem, kid) in [
        ("rsa-test-pub.pem", "rsa-1"),
        ("ec-test-pub.pem", "ec-1"),
        ("ed25519-test-pub.pem", "ed-1"),
    ] {
        let public = std::fs::read(crate::common::fixture(&format!("keys/{pem}"))).unwrap();
        let h = header("HS256", json!({"kid": kid}));
        out.push(case(
            &format!("HS256 signed with {pem} (key confusion)"),
            one(&s.hs_with(&public, h, &jw)),
            401,
            INV,
        ));
    }
    let public = std::fs::read(crate::common::fixture("keys/rsa-test-pub.pem")).unwrap();
    out.push(case(
        "HS256 with RSA public key, no kid",
        one(&s.hs_with(&public, header("HS256", json!({})), &jw)),
        401,
        INV,
    ));
    out.push(case(
        "RS256 key signing under kid ec-1",
        one(&s.asym(RS, "rsa-test-key.pem", header("RS256", json!({"kid": "ec-1"})), &jw)),
        401,
        INV,
    ));
    out.push(case(
        "ES256 by a key not in the JWKS (kid ec-1)",
        one(&s.asym(ES, "ec-test-key-2.pem", header("ES256", json!({"kid": "ec-1"})), &jw)),
        401,
        INV,
    ));
    out.push(case(
        "RS256 token claiming the HS256 issuer",
        one(&s.asym(RS, "rsa-test-key.pem", header("RS256", json!({"kid": "rsa-1"})), &s.claims())),
        401,
        INV,
    ));
    out
}

fn keys(s: &Signer, trap: u16) -> Vec<Case> {
    let jw = s.jwks_claims();
    let es = |name: &str, extra: Value| {
        let h = header("ES256", extra);
        case(name, one(&s.asym(ES, "ec-test-key-2.pem", h, &jw)), 401, INV)
    };
    let url = format!("http://127.0.0.1:{trap}/jwks.json");
    let attacker_jwk = json!({"kty": "EC", "crv": "P-256", "kid": "attacker", "x": b64(&[1; 32]), "y": b64(&[2; 32])});
    vec![
        es("kid unknown", json!({"kid": "nope"})),
        es("kid path traversal", json!({"kid": "../../../../etc/passwd"})),
        es("kid /dev/zero", json!({"kid": "/dev/zero"})),
        es("kid 10 KB", json!({"kid": "k".repeat(10 * 1024)})),
        es("kid with NUL", json!({"kid": "ec-1\u{0}"})),
        es("kid unicode", json!({"kid": "ключ-🔑"})),
        es("kid empty", json!({"kid": ""})),
        es("kid SQL-ish", json!({"kid": "' OR 1=1 --"})),
        case(
            "kid as a number",
            one(&s.asym(ES, "ec-test-key.pem", header("ES256", json!({"kid": 1})), &jw)),
            401,
            INV,
        ),
        es("jku to a local listener", json!({"kid": "attacker", "jku": url})),
        es("x5u to a local listener", json!({"kid": "attacker", "x5u": url})),
        es("embedded jwk", json!({"kid": "attacker", "jwk": attacker_jwk})),
        es("embedded jwk with a trusted kid", json!({"kid": "ec-1", "jwk": attacker_jwk})),
        es("x5c chain", json!({"kid": "attacker", "x5c": [b64(b"not a certificate")]})),
        es("jku with trusted kid", json!({"kid": "ec-1", "jku": url})),
    ]
}

fn claims(s: &Signer) -> Vec<Case> {
    let hs = |name: &str, claims: Value, reason: &'static str| {
        case(name, one(&s.hs(json!({}), &claims)), 401, reason)
    };
    let raw = |name: &str, key: &str, value: &str| {
        let mut c = s.claims();
        c[key] = json!("__X__");
        let payload = c.to_string().replace("\"__X__\"", value);
        case(name, one(&s.hs_raw(&header("HS256", json!({})).to_string(), &payload)), 401, INV)
    };
    let n = s.now;
    vec![
        hs("missing exp", s.with("exp", Value::Null), INV),
        hs("missing iss", s.with("iss", Value::Null), INV),
        hs("missing aud", s.with("aud", Value::Null), INV),
        hs("missing sub", s.with("sub", Value::Null), INV),
        hs("empty payload object", json!({}), INV),
        hs("sub empty", s.with("sub", json!("")), INV),
        hs("sub a number", s.with("sub", json!(42)), INV),
        hs("sub with a NUL", s.with("sub", json!("alice\u{0}")), INV),
        case(
            "sub with a colon (no principal injection)",
            one(&s.hs(json!({}), &s.with("sub", json!("alice:group:platform")))),
            403,
            "no_grant",
        ),
        hs("exp as string", s.with("exp", json!((n + 600).to_string())), INV),
        raw("exp as float", "exp", &format!("{}.5", n + 600)),
        hs("exp negative", s.with("exp", json!(-1)), EXP),
        raw("exp 2^64", "exp", "18446744073709551616"),
        raw("exp 1e400", "exp", "1e400"),
        hs("exp bool", s.with("exp", json!(true)), INV),
        raw("exp null", "exp", "null"),
        hs("exp 120s ago, beyond leeway", s.with("exp", json!(n - 120)), EXP),
        hs("exp year 3000 (lifetime over max)", s.with("exp", json!(32_503_680_000_i64)), INV),
        hs("lifetime 2 days", s.with("exp", json!(n + 2 * 86_400)), INV),
        hs(
            "iat 2 days ago, exp soon (lifetime over max)",
            edit(s.claims(), "iat", json!(n - 2 * 86_400)),
            INV,
        ),
        hs("iat in the future", s.with("iat", json!(n + 3600)), INV),
        hs("nbf 10 minutes ahead", s.with("nbf", json!(n + 600)), INV),
        hs("nbf as string", s.with("nbf", json!(n.to_string())), INV),
        raw("nbf as float, past (regression)", "nbf", &format!("{}.5", n - 10)),
        raw("nbf as float, future (regression)", "nbf", &format!("{}.5", n + 600)),
        raw("nbf 2^64", "nbf", "18446744073709551616"),
        raw("nbf negative float", "nbf", "-1.5"),
        hs("nbf bool", s.with("nbf", json!(false)), INV),
        hs("wrong iss, same secret", s.with("iss", json!("evil")), INV),
        hs("iss array", s.with("iss", json!(["jitgate-test"])), INV),
        hs("iss number", s.with("iss", json!(1)), INV),
        hs("iss of the JWKS issuer on an HS256 token", s.with("iss", json!(JWKS_ISSUER)), INV),
        hs("wrong aud", s.with("aud", json!("other")), INV),
        hs("aud array without a match", s.with("aud", json!(["a", "b"])), INV),
        hs("aud empty array", s.with("aud", json!([])), INV),
        hs("aud number", s.with("aud", json!(7)), INV),
        hs("aud case changed", s.with("aud", json!("JITGATE")), INV),
    ]
}

/// SECURITY row 52: a principal names its issuer. The JWKS issuer (`idp`) is trusted but is not
/// the default: its `alice` is not the harness issuer's `alice`, and the harness issuer cannot
/// name `idp`'s users (`user:idp/carol`, `group:idp/ops` both hold grants).
fn issuers(s: &Signer) -> Vec<Case> {
    let es = |claims: &Value| {
        one(&s.asym(ES, "ec-test-key.pem", header("ES256", json!({"kid": "ec-1"})), claims))
    };
    let jw = s.jwks_claims();
    vec![
        case(
            "second issuer's token with the default issuer's sub (row 52)",
            es(&edit(jw, "sub", json!("alice"))),
            403,
            "no_grant",
        ),
        case(
            "default issuer's sub naming the second issuer's user (`idp/carol`)",
            one(&s.hs(json!({}), &s.with("sub", json!("idp/carol")))),
            401,
            INV,
        ),
        case(
            "default issuer's group naming the second issuer's group (`idp/ops`)",
            one(&s.hs(
                json!({}),
                &edit(s.with("sub", json!("mallory")), "groups", json!(["idp/ops"])),
            )),
            403,
            "no_grant",
        ),
    ]
}

fn flip(token: &str) -> String {
    let (msg, sig) = token.rsplit_once('.').unwrap();
    let mut sig: Vec<u8> = sig.bytes().collect();
    sig[3] = if sig[3] == b'A' { b'B' } else { b'A' };
    format!("{msg}.{}", String::from_utf8(sig).unwrap())
}
