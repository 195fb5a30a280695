//! Bearer tokens: `Authorization` header values → `bearer_token` → `Authenticator::verify`
//! (shape and header rules, HS256 signature, claim rules, the verified-token cache). Oracles:
//! no panic; `bearer_token` only returns a non-empty token without whitespace; `verify` is Ok
//! only for a token the reference model accepts.
//!
//! The first byte picks the input's reading: header values (one per line); a token as is; a
//! known token with a window of bytes replaced; or a payload signed with the fuzz issuer's own
//! secret, so the claim rules (`exp`/`nbf` types, lifetime, `aud` arrays...) are what decides.

#![no_main]

use jitgate::identity::bearer_token;
use jitgate::time::{Clock, SystemClock};
use jitgate_fuzz::{WORLD, World, model, sign_raw};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let world = &*WORLD;
    let Some((&mode, rest)) = data.split_first() else { return };
    match mode % 4 {
        0 => headers(world, rest),
        1 => {
            let token = String::from_utf8_lossy(rest);
            let ok = verify(world, &token);
            assert!(
                !ok || world.valid_token(&token).is_some(),
                "accepted an unknown token: {token:?}"
            );
        }
        2 => spliced(world, rest),
        _ => signed(world, rest),
    }
});

fn verify(world: &World, token: &str) -> bool {
    let now = SystemClock.now();
    match world.rt.block_on(world.authenticator.verify(token, now)) {
        Ok(v) => {
            if let Some(t) = world.valid_token(token) {
                assert_eq!(v.subject.to_string(), format!("user:{}", t.sub));
            }
            true
        }
        Err(_) => false,
    }
}

fn headers(world: &World, rest: &[u8]) {
    let text = String::from_utf8_lossy(rest);
    let values: Vec<&str> = text.split('\n').collect();
    let values = if text.is_empty() { Vec::new() } else { values };
    let Ok(Some(token)) = bearer_token(&values) else { return };
    assert!(!token.is_empty() && !token.contains(char::is_whitespace), "bearer {token:?}");
    assert_eq!(values.len(), 1, "a token from several header values: {values:?}");
    let ok = verify(world, &token);
    assert!(!ok || world.valid_token(&token).is_some(), "accepted an unknown token: {token:?}");
}

/// A known token with `rest[2..]` written over it at offset `rest[0..2]`.
fn spliced(world: &World, rest: &[u8]) {
    let [which, at, patch @ ..] = rest else { return };
    let mut token = world.token(usize::from(*which)).as_bytes().to_vec();
    let at = usize::from(*at) % (token.len() + 1);
    let end = (at + patch.len()).min(token.len());
    token.splice(at..end, patch.iter().copied());
    let token = String::from_utf8_lossy(&token);
    let ok = verify(world, &token);
    assert!(!ok || world.valid_token(&token).is_some(), "accepted a spliced token: {token:?}");
}

/// `header \0 payload` (or just a payload under the usual header), signed with the real secret.
fn signed(world: &World, rest: &[u8]) {
    let (header, payload) = match rest.iter().position(|&b| b == 0) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (&br#"{"alg":"HS256","typ":"JWT"}"#[..], rest),
    };
    // `@now`, `@soon` and `@past` in the payload stand for the current time, ten minutes on and
    // an hour ago, so seeds stay valid tokens whenever they run.
    let now = SystemClock.now().as_secs();
    let payload = String::from_utf8_lossy(payload)
        .replace("@now", &now.to_string())
        .replace("@soon", &(now + 600).to_string())
        .replace("@past", &(now - 3600).to_string());
    let payload = payload.as_bytes();
    let token = sign_raw(header, payload);
    if !verify(world, &token) {
        return;
    }
    let Some(sub) = model::claims_acceptable(payload, now) else {
        panic!("accepted claims the rules refuse: {}", String::from_utf8_lossy(payload));
    };
    let header: serde_json::Value = serde_json::from_slice(header).expect("accepted a bad header");
    assert_eq!(header["alg"], "HS256", "accepted header {header}");
    assert!(header.get("crit").is_none(), "accepted `crit` in {header}");
    let verified = world.rt.block_on(world.authenticator.verify(&token, SystemClock.now()));
    assert_eq!(verified.map(|v| v.subject.to_string()).ok(), Some(format!("user:{sub}")));
}
