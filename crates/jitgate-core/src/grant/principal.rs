//! Who a grant is for and who is calling: `user:<sub>`, `group:<name>`, `service:<id>`.
//! Principals from an issuer other than the default one carry its name in the id
//! (`user:partner/alice`, see [`super::issuer`]); the text form is the same either way.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The longest principal id accepted, in bytes.
pub const MAX_PRINCIPAL_ID_LEN: usize = 256;

/// An identity a grant can name. A caller usually holds several (its user and its groups).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Principal {
    User(String),
    Group(String),
    Service(String),
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PrincipalError {
    #[error("`{0}` is not a principal: write `user:<id>`, `group:<name>` or `service:<id>`")]
    MissingKind(String),
    #[error("`{0}` has an unknown kind: use `user:`, `group:` or `service:`")]
    UnknownKind(String),
    #[error("`{0}` has an empty id after the kind")]
    EmptyId(String),
    #[error("principal id is longer than {MAX_PRINCIPAL_ID_LEN} bytes")]
    TooLong,
    #[error("`{0}` contains control characters or surrounding whitespace")]
    BadCharacters(String),
    #[error(
        "`{id}` would read as a principal of issuer `{issuer}`: the default issuer's ids may not start with `<issuer-name>/`"
    )]
    NamesIssuer { id: String, issuer: String },
}

// === impl Principal ===

impl Principal {
    pub fn user(id: impl Into<String>) -> Result<Self, PrincipalError> {
        check_id(id.into()).map(Self::User)
    }

    pub fn group(id: impl Into<String>) -> Result<Self, PrincipalError> {
        check_id(id.into()).map(Self::Group)
    }

    pub fn service(id: impl Into<String>) -> Result<Self, PrincipalError> {
        check_id(id.into()).map(Self::Service)
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Self::User(_) => "user",
            Self::Group(_) => "group",
            Self::Service(_) => "service",
        }
    }

    pub fn id(&self) -> &str {
        match self {
            Self::User(id) | Self::Group(id) | Self::Service(id) => id,
        }
    }
}

fn check_id(id: String) -> Result<String, PrincipalError> {
    if id.is_empty() {
        return Err(PrincipalError::EmptyId(id));
    }
    if id.len() > MAX_PRINCIPAL_ID_LEN {
        return Err(PrincipalError::TooLong);
    }
    if id.chars().any(char::is_control) || id.trim() != id {
        return Err(PrincipalError::BadCharacters(id.escape_debug().to_string()));
    }
    Ok(id)
}

impl FromStr for Principal {
    type Err = PrincipalError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let Some((kind, id)) = s.split_once(':') else {
            return Err(PrincipalError::MissingKind(s.escape_debug().to_string()));
        };
        if id.is_empty() {
            return Err(PrincipalError::EmptyId(s.to_string()));
        }
        match kind {
            "user" => Self::user(id),
            "group" => Self::group(id),
            "service" => Self::service(id),
            _ => Err(PrincipalError::UnknownKind(s.escape_debug().to_string())),
        }
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind(), self.id())
    }
}

impl Serialize for Principal {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Principal {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_kind() {
        assert_eq!("user:alice".parse(), Ok(Principal::User("alice".into())));
        assert_eq!("group:eng".parse(), Ok(Principal::Group("eng".into())));
        let spiffe = "service:spiffe://cluster.local/ns/a/sa/b";
        assert_eq!(
            spiffe.parse(),
            Ok(Principal::Service("spiffe://cluster.local/ns/a/sa/b".into()))
        );
    }

    #[test]
    fn id_may_contain_colons() {
        let p: Principal = "user:auth0|abc:def".parse().unwrap();
        assert_eq!(p.id(), "auth0|abc:def");
        assert_eq!(p.to_string(), "user:auth0|abc:def");
    }

    #[test]
    fn malformed_principals_are_refused_with_reasons() {
        assert!(matches!("alice".parse::<Principal>(), Err(PrincipalError::MissingKind(_))));
        assert!(matches!("admin:x".parse::<Principal>(), Err(PrincipalError::UnknownKind(_))));
        assert!(matches!("user:".parse::<Principal>(), Err(PrincipalError::EmptyId(_))));
        assert!(matches!("user: a".parse::<Principal>(), Err(PrincipalError::BadCharacters(_))));
        assert!(matches!("user:a\nb".parse::<Principal>(), Err(PrincipalError::BadCharacters(_))));
        let long = format!("user:{}", "a".repeat(MAX_PRINCIPAL_ID_LEN + 1));
        assert_eq!(long.parse::<Principal>(), Err(PrincipalError::TooLong));
    }
}
