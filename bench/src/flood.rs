//! Valid-looking tokens for the token flood (`loadgen --flood`): the bench issuer, audience and
//! ES256 header shape, every one distinct. Most carry a random signature under the real `kid`
//! (jitgate must check the signature to refuse them); some name an unknown `kid` (each a
//! different one, so every such token asks for a JWKS refetch); some are validly signed for a
//! subject that holds no grant (verified, cached, then denied `no_grant`). Signing is the slow
//! part, so only every `signed_every`-th token is signed.

use jsonwebtoken::EncodingKey;
use serde_json::json;

use crate::{AUDIENCE, ISSUER, KID};

/// What share of the flood is of each kind.
#[derive(Clone, Copy, Debug)]
pub struct FloodMix {
    /// Every n-th token is validly signed (0: none).
    pub signed_every: u64,
    /// Every n-th token (of the rest) names an unknown `kid` (0: none).
    pub unknown_kid_every: u64,
}

/// Flood token number `i`; `now` is the Unix time the claims are built around.
pub fn flood_token(key: &EncodingKey, mix: FloodMix, i: u64, now: i64) -> anyhow::Result<String> {
    let sub = format!("flood-{i}");
    if mix.signed_every > 0 && i.is_multiple_of(mix.signed_every) {
        return crate::token(key, &sub, &[], 3600);
    }
    let kid = if mix.unknown_kid_every > 0 && i % mix.unknown_kid_every == 1 {
        format!("flood-kid-{i}")
    } else {
        KID.to_string()
    };
    let header = json!({"alg": "ES256", "typ": "JWT", "kid": kid});
    let claims = json!({
        "iss": ISSUER, "aud": AUDIENCE, "sub": sub, "role": "reader",
        "iat": now - 60, "exp": now + 3600, "jti": format!("flood-{i}"),
    });
    let mut sig = [0u8; 64];
    let mut state = i ^ 0x9e37_79b9_7f4a_7c15;
    for chunk in sig.chunks_mut(8) {
        chunk.copy_from_slice(&splitmix64(&mut state).to_le_bytes());
    }
    Ok(format!(
        "{}.{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(claims.to_string().as_bytes()),
        b64url(&sig)
    ))
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Base64url without padding (RFC 7515 §2).
fn b64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (k, b)| n | u32::from(*b) << (16 - 8 * k));
        let chars = chunk.len() + 1;
        for k in 0..chars {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * k)) & 63) as usize]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn b64url_matches_rfc4648_vectors() {
        assert_eq!(b64url(b""), "");
        assert_eq!(b64url(b"f"), "Zg");
        assert_eq!(b64url(b"fo"), "Zm8");
        assert_eq!(b64url(b"foo"), "Zm9v");
        assert_eq!(b64url(b"foob"), "Zm9vYg");
        assert_eq!(b64url(&[0xfb, 0xff]), "-_8");
    }
}
