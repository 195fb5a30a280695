//! `jitgate token`: mints a development token signed with the HS256 secret of an issuer in the
//! configuration. It refuses when no such issuer exists, and says it is for development.

use clap::Args;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

use super::client::CliError;
use super::exit;
use crate::config::Config;
use crate::time::{Clock, SystemClock, Ttl};

#[derive(Debug, Args)]
pub struct TokenArgs {
    /// The token's subject (`sub`): the caller becomes `user:<sub>`, or `user:<name>/<sub>`
    /// when the issuer is not the default one.
    #[arg(long)]
    pub sub: String,
    /// A group for the groups claim (repeatable).
    #[arg(long = "group")]
    pub groups: Vec<String>,
    /// Lifetime of the token.
    #[arg(long, default_value = "1h")]
    pub ttl: String,
    /// Which HS256 issuer to sign for, when the configuration has several.
    #[arg(long)]
    pub issuer: Option<String>,
    /// The `aud` claim (defaults to the issuer's first audience).
    #[arg(long)]
    pub audience: Option<String>,
}

pub fn run(
    args: &TokenArgs,
    config: &Config,
    env: &[(String, String)],
) -> Result<String, CliError> {
    let refuse = |m: String| CliError::new(exit::REFUSED, m);
    let candidates: Vec<_> = config
        .identity
        .issuers
        .iter()
        .filter(|i| i.hs256_secret_env.is_some())
        .filter(|i| args.issuer.as_ref().is_none_or(|want| &i.issuer == want))
        .collect();
    let issuer = match candidates.as_slice() {
        [] => return Err(refuse(
            "no issuer with `hs256_secret_env` in the configuration: `jitgate token` only mints development tokens; use your identity provider in production".into(),
        )),
        [one] => *one,
        _ => return Err(refuse("several HS256 issuers are configured: pick one with --issuer".into())),
    };
    let var = issuer.hs256_secret_env.as_deref().unwrap_or_default();
    let secret = env.iter().find(|(k, _)| k == var).map(|(_, v)| v.as_str()).ok_or_else(|| {
        refuse(format!("environment variable `{var}` (the issuer's `hs256_secret_env`) is not set"))
    })?;
    let ttl =
        Ttl::parse(&args.ttl).map_err(|e| CliError::new(exit::USAGE, format!("--ttl: {e}")))?;
    let audience =
        args.audience.clone().or_else(|| issuer.audiences.first().cloned()).unwrap_or_default();
    let now = SystemClock.now().as_secs();
    let exp = SystemClock.now().saturating_add(ttl.as_duration()).as_secs();
    let claims = json!({
        "iss": issuer.issuer,
        "aud": audience,
        "sub": args.sub,
        "iat": now,
        "nbf": now,
        "exp": exp,
        "jti": uuid::Uuid::new_v4().to_string(),
        config.identity.groups_claim.as_str(): args.groups,
    });
    eprintln!(
        "note: development token for issuer `{}`, signed with the HS256 secret in `{var}`; do not use in production",
        issuer.issuer
    );
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .map_err(|e| CliError::new(exit::REFUSED, format!("cannot sign the token: {e}")))
}
