//! Which issuer a principal's identity comes from, written into the principal itself.
//!
//! A token's `sub` and groups mean something only within the issuer that signed it: `alice`
//! at a partner's IdP is not `alice` at the company's. So principals from the *default*
//! issuer keep the plain form (`user:alice`, `group:eng`) and principals from any other issuer
//! carry its name (`user:partner/alice`, `group:partner/eng`). The two forms cannot collide: an
//! id of the form `<issuer-name>/...` is refused from the default issuer (a subject) or dropped
//! (a group), whatever issuers are configured, so the text of a principal means the same thing
//! in every configuration.
//!
//! Knows nothing of tokens or configuration: identity decides which [`Naming`] an issuer gets.

use std::fmt;

use super::{Principal, PrincipalError};

/// The longest issuer name, in bytes.
pub const MAX_ISSUER_NAME_LEN: usize = 32;

/// The name of a trusted issuer as principals carry it: 1 to 32 lowercase ASCII letters,
/// digits and `-`, starting with a letter (`partner`, `ci-2`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct IssuerName(String);

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not an issuer name: use 1 to {MAX_ISSUER_NAME_LEN} lowercase letters, digits or `-`, starting with a letter, like `partner`"
)]
pub struct IssuerNameError(String);

// === impl IssuerName ===

impl IssuerName {
    pub fn new(name: impl Into<String>) -> Result<Self, IssuerNameError> {
        let name = name.into();
        if is_issuer_name(&name) {
            Ok(Self(name))
        } else {
            Err(IssuerNameError(name.escape_debug().to_string()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IssuerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn is_issuer_name(s: &str) -> bool {
    s.len() <= MAX_ISSUER_NAME_LEN
        && s.as_bytes().first().is_some_and(u8::is_ascii_lowercase)
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The issuer a user or group id names, if it has the issuer-qualified form
/// `<issuer-name>/<id>`; `None` for the plain form of the default issuer.
pub fn issuer_in(id: &str) -> Option<&str> {
    id.split_once('/').map(|(prefix, _)| prefix).filter(|p| is_issuer_name(p))
}

/// How the principals of one issuer's tokens are named.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Naming {
    /// The default issuer: `user:<sub>`, `group:<name>`.
    Default,
    /// Any other issuer: `user:<issuer>/<sub>`, `group:<issuer>/<name>`.
    Qualified(IssuerName),
}

// === impl Naming ===

impl Naming {
    /// The user principal for a token's `sub`.
    pub fn user(&self, sub: &str) -> Result<Principal, PrincipalError> {
        self.id(sub).and_then(Principal::user)
    }

    /// The group principal for one entry of a token's groups claim.
    pub fn group(&self, name: &str) -> Result<Principal, PrincipalError> {
        self.id(name).and_then(Principal::group)
    }

    fn id(&self, raw: &str) -> Result<String, PrincipalError> {
        match self {
            Self::Qualified(issuer) => Ok(format!("{issuer}/{raw}")),
            Self::Default => match issuer_in(raw) {
                Some(other) => Err(PrincipalError::NamesIssuer {
                    id: raw.escape_debug().to_string(),
                    issuer: other.to_string(),
                }),
                None => Ok(raw.to_string()),
            },
        }
    }
}

// === impl Principal ===

impl Principal {
    /// The issuer a user or group principal is qualified with (`partner` for
    /// `user:partner/alice`); `None` for the default issuer's principals and for services,
    /// which come from mTLS, not from a token.
    pub fn issuer(&self) -> Option<&str> {
        match self {
            Self::User(id) | Self::Group(id) => issuer_in(id),
            Self::Service(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn partner() -> Naming {
        Naming::Qualified(IssuerName::new("partner").unwrap())
    }

    #[test]
    fn issuer_names_are_short_lowercase_words() {
        for ok in ["partner", "ci-2", "a", &"a".repeat(MAX_ISSUER_NAME_LEN)] {
            assert!(IssuerName::new(ok).is_ok(), "{ok}");
        }
        for bad in ["", "Partner", "2ci", "-ci", "part/ner", "part ner", "ü", &"a".repeat(33)] {
            assert!(IssuerName::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn default_issuer_principals_keep_the_plain_form() {
        assert_eq!(Naming::Default.user("alice"), "user:alice".parse());
        assert_eq!(Naming::Default.group("eng"), "group:eng".parse());
        assert_eq!(Naming::Default.user("auth0|abc:def"), "user:auth0|abc:def".parse());
    }

    #[test]
    fn other_issuers_principals_carry_the_issuer_name() {
        let alice = partner().user("alice").unwrap();
        assert_eq!(alice.to_string(), "user:partner/alice");
        assert_eq!(alice.issuer(), Some("partner"));
        assert_ne!(alice, Naming::Default.user("alice").unwrap());
        assert_eq!(partner().group("eng").unwrap().to_string(), "group:partner/eng");
        // Anything after the name is the issuer's own id, slashes included.
        assert_eq!(partner().user("a/b").unwrap().to_string(), "user:partner/a/b");
    }

    #[test]
    fn the_default_issuer_cannot_mint_another_issuers_principal() {
        for forged in ["partner/alice", "other/alice", "ci-2/x"] {
            let err = Naming::Default.user(forged).unwrap_err();
            assert!(matches!(err, PrincipalError::NamesIssuer { .. }), "{forged}: {err}");
            assert!(Naming::Default.group(forged).is_err(), "{forged}");
        }
        // Slashes that cannot read as an issuer name stay the default issuer's own.
        for plain in ["/eng/platform", "repo:org/app:ref:main", "Org/alice", "spiffe://x/y"] {
            let p = Naming::Default.user(plain).unwrap();
            assert_eq!(p.issuer(), None, "{plain}");
        }
    }

    #[test]
    fn qualified_principals_round_trip_through_text_and_json() {
        for p in [partner().user("alice").unwrap(), partner().group("a/b:c").unwrap()] {
            let text = p.to_string();
            assert_eq!(text.parse::<Principal>(), Ok(p.clone()));
            let json = serde_json::to_string(&p).unwrap();
            assert_eq!(serde_json::from_str::<Principal>(&json).unwrap(), p);
            assert_eq!(p.issuer(), Some("partner"));
        }
    }

    #[test]
    fn services_are_never_issuer_qualified() {
        let svc: Principal = "service:spiffe/ns/a".parse().unwrap();
        assert_eq!(svc.issuer(), None);
    }
}
