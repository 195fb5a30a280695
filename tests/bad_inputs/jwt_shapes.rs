//! JWT cases, continued: sizes, header rules, token shape and encoding, and credential
//! schemes and duplicates.

use serde_json::json;

use crate::jwt::{Case, case, one};
use crate::tokens::{Signer, b64};

const INV: &str = "token_invalid";

pub fn shapes(s: &Signer, good: &str) -> Vec<Case> {
    let pad = |bytes: usize| {
        let c = s.with("pad", json!("p".repeat(bytes)));
        s.hs(json!({}), &c)
    };
    // The smallest token of at least `target` bytes (base64 grows in steps of 4).
    let big = |target: usize| {
        let mut n = target * 3 / 4;
        for _ in 0..64 {
            let len = pad(n).len();
            if len < target {
                n += (target - len).div_ceil(4) * 3;
            } else if len >= target + 4 {
                n -= (len - target) / 4 * 3;
            } else {
                break;
            }
        }
        let t = pad(n);
        assert!((target..target + 4).contains(&t.len()), "{} for {target}", t.len());
        t
    };
    let parts: Vec<&str> = good.split('.').collect();
    let (h, p, sig) = (parts[0], parts[1], parts[2]);
    vec![
        case("8 KiB + 1 token", one(&big(8 * 1024 + 1)), 401, INV),
        case("59 KiB token", one(&big(59 * 1024)), 401, INV),
        case("61 KiB token (Envoy header limit)", one(&big(61 * 1024)), 431, INV),
        case("crit header", one(&s.hs(json!({"crit": ["exp"]}), &s.claims())), 401, INV),
        case("crit empty", one(&s.hs(json!({"crit": []}), &s.claims())), 401, INV),
        case("typ JWS", one(&s.hs(json!({"typ": "JWS"}), &s.claims())), 401, INV),
        case("typ dpop+jwt", one(&s.hs(json!({"typ": "dpop+jwt"}), &s.claims())), 401, INV),
        case("typ number", one(&s.hs(json!({"typ": 1}), &s.claims())), 401, INV),
        case("4 segments", one(&format!("{good}.{sig}")), 401, INV),
        case("5 segments", one(&format!("{good}.a.b")), 401, INV),
        case("2 segments", one(&format!("{h}.{p}")), 401, INV),
        case("1 segment", one(h), 401, INV),
        case("empty segments", one(".."), 401, INV),
        case("bad base64 in header", one(&format!("!!{h}.{p}.{sig}")), 401, INV),
        case("padding on payload", one(&format!("{h}.{p}==.{sig}")), 401, INV),
        case(
            "signature in padded standard base64",
            one(&format!("{h}.{p}.{}", standard(sig))),
            401,
            INV,
        ),
        case("header not JSON", one(&format!("{}.{p}.{sig}", b64(b"alg=HS256"))), 401, INV),
        case("header a JSON array", one(&format!("{}.{p}.{sig}", b64(b"[\"HS256\"]"))), 401, INV),
        case("payload not JSON", one(&s.hs_raw(r#"{"alg":"HS256"}"#, "sub=alice")), 401, INV),
        case("payload a JSON array", one(&s.hs_raw(r#"{"alg":"HS256"}"#, "[1,2]")), 401, INV),
        case(
            "payload with duplicate sub",
            one(&s.hs_raw(
                r#"{"alg":"HS256"}"#,
                &s.claims().to_string().replacen('{', r#"{"sub":"root","#, 1),
            )),
            401,
            INV,
        ),
        case("whitespace inside the token", one(&format!("{h}. {p}.{sig}")), 401, INV),
        case("trailing dot", one(&format!("{good}.")), 401, INV),
        case(
            "non-UTF-8 byte in the token",
            vec![[b"Bearer ".as_slice(), good.as_bytes(), &[0xff]].concat()],
            401,
            INV,
        ),
        case(
            "Latin-1 byte before the token",
            vec![[b"Bearer \xe9".as_slice(), good.as_bytes()].concat()],
            401,
            INV,
        ),
    ]
}

pub fn schemes(good: &str) -> Vec<Case> {
    let v = |s: String| vec![s.into_bytes()];
    vec![
        case(
            "lowercase bearer (scheme is case-insensitive)",
            v(format!("bearer {good}")),
            200,
            "allow",
        ),
        case("Basic credentials", v("Basic YWxpY2U6cGFzcw==".into()), 401, INV),
        case("Basic scheme carrying the JWT", v(format!("Basic {good}")), 401, INV),
        case("Token scheme", v(format!("Token {good}")), 401, INV),
        case("no scheme", v(good.to_string()), 401, INV),
        case("Bearer without a token", v("Bearer".into()), 401, INV),
        case("Bearer and spaces", v("Bearer   ".into()), 401, INV),
        case("empty Authorization", v(String::new()), 401, INV),
        case("tab after Bearer", v(format!("Bearer\t{good}")), 401, INV),
        case("Bearer a, Bearer b", v(format!("Bearer {good}, Bearer {good}")), 401, INV),
        case(
            "two Authorization headers, both valid",
            vec![format!("Bearer {good}").into_bytes(); 2],
            401,
            INV,
        ),
        // Envoy drops an empty header line, so jitgate and the upstream both see one credential.
        case(
            "two Authorization headers, one empty",
            vec![format!("Bearer {good}").into_bytes(), Vec::new()],
            200,
            INV,
        ),
        case(
            "two Authorization headers, one Basic",
            vec![format!("Bearer {good}").into_bytes(), b"Basic YTpi".to_vec()],
            401,
            INV,
        ),
        case("token then extra word", v(format!("Bearer {good} extra")), 401, INV),
    ]
}

/// The same signature bytes in padded standard base64 (always differs: 32 bytes need a `=`).
fn standard(sig: &str) -> String {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(sig).unwrap();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
