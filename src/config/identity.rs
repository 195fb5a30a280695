//! `identity` rules beyond types: each trusted issuer's claims and key source, the names that
//! qualify the principals of every issuer but the default one ([`IdentityConfig::namings`],
//! the one place that decides it, for validation and for wiring alike), and the principals in
//! `admins` and `audit.readers` that no token could carry under that naming.

use std::collections::HashSet;
use std::str::FromStr;

use jsonwebtoken::Algorithm;

use super::validate::MIN_HS256_SECRET;
use super::{Config, IdentityConfig, IssuerConfig};
use crate::grant::{IssuerName, Naming, Principal};

pub(super) fn validate(c: &Config, env: &[(String, String)], errors: &mut Vec<String>) {
    let id = &c.identity;
    for (i, issuer) in id.issuers.iter().enumerate() {
        validate_issuer(i, issuer, env, errors);
    }
    let mut seen = HashSet::new();
    for issuer in &id.issuers {
        if !seen.insert(&issuer.issuer) {
            errors
                .push(format!("issuer `{}` is listed twice in `identity.issuers`", issuer.issuer));
        }
    }
    match id.namings() {
        Err(e) => errors.extend(e),
        Ok(namings) if !namings.is_empty() => {
            let lists = [("admins", &c.admins), ("audit.readers", &c.audit.readers)];
            for (list, principals) in lists {
                for (i, raw) in principals.iter().enumerate() {
                    if let Err(e) = reachable(id, &namings, raw) {
                        errors.push(format!("`{list}[{i}]`: {e}"));
                    }
                }
            }
        }
        Ok(_) => {}
    }
}

// === impl IdentityConfig ===

impl IdentityConfig {
    /// How each issuer's principals are named, in the order of `issuers`: plain for the
    /// default issuer, qualified with its `name` for every other. Every problem is returned.
    pub fn namings(&self) -> Result<Vec<Naming>, Vec<String>> {
        let mut errors = Vec::new();
        let names = self.names(&mut errors);
        let default = match &self.default_issuer {
            Some(d) => {
                let found = self.issuers.iter().position(|i| i.name.as_ref() == Some(d));
                if found.is_none() {
                    errors.push(format!(
                        "`identity.default_issuer` is `{d}`, but no issuer in `identity.issuers` has that `name`: set it to one of their names, or remove it"
                    ));
                }
                found
            }
            None if self.issuers.len() == 1 => Some(0),
            None => None,
        };
        let mut out = Vec::with_capacity(names.len());
        for (i, name) in names.into_iter().enumerate() {
            match (default == Some(i), name) {
                (true, _) => out.push(Naming::Default),
                (false, Some(name)) => out.push(Naming::Qualified(name)),
                // Reported already (a missing name among several, or an unknown default).
                (false, None) if !errors.is_empty() => {}
                (false, None) => errors.push(format!(
                    "`identity.issuers[{i}].name` is required: it is not the default issuer, so its principals carry its name"
                )),
            }
        }
        if errors.is_empty() { Ok(out) } else { Err(errors) }
    }

    /// Each issuer's valid `name`, if any; reports bad, duplicate and missing names.
    fn names(&self, errors: &mut Vec<String>) -> Vec<Option<IssuerName>> {
        let several = self.issuers.len() > 1;
        let mut seen = HashSet::new();
        let mut out = Vec::with_capacity(self.issuers.len());
        for (i, issuer) in self.issuers.iter().enumerate() {
            let at = format!("identity.issuers[{i}].name");
            let name = match &issuer.name {
                Some(raw) => IssuerName::new(raw.as_str())
                    .map_err(|e| errors.push(format!("`{at}`: {e}")))
                    .ok(),
                None if several => {
                    errors.push(format!(
                        "`{at}` is required when several issuers are trusted: a short name like `partner`, which the principals of every issuer but `identity.default_issuer` carry (`user:partner/<sub>`)"
                    ));
                    None
                }
                None => None,
            };
            if let Some(n) = &name
                && !seen.insert(n.clone())
            {
                errors.push(format!(
                    "`{at}`: `{n}` is already the name of another issuer; give each issuer its own name"
                ));
            }
            out.push(name);
        }
        out
    }
}

/// Whether a token could ever carry the configured principal `raw` under `namings` (parse
/// errors are reported where the list is checked).
fn reachable(id: &IdentityConfig, namings: &[Naming], raw: &str) -> Result<(), String> {
    let Ok(p) = Principal::from_str(raw) else { return Ok(()) };
    if matches!(p, Principal::Service(_)) {
        return Ok(());
    }
    let default = namings.iter().position(|n| *n == Naming::Default);
    let default_name = default.and_then(|i| id.issuers.get(i)).and_then(|i| i.name.as_deref());
    let qualified = |name: &str| {
        namings.iter().any(|n| matches!(n, Naming::Qualified(q) if q.as_str() == name))
    };
    match p.issuer() {
        Some(name) if qualified(name) => Ok(()),
        Some(name) if default_name == Some(name) => Err(format!(
            "`{raw}` names issuer `{name}`, the default issuer, whose principals carry no issuer name: write `{}:{}`",
            p.kind(),
            p.id().split_once('/').map_or("", |(_, rest)| rest)
        )),
        Some(name) => Err(format!(
            "`{raw}` names issuer `{name}`, but no issuer in `identity.issuers` has that `name`: fix the name (ids of the default issuer may not start with `<issuer-name>/`)"
        )),
        None if default.is_some() => Ok(()),
        None => Err(format!(
            "`{raw}` carries no issuer name, but with several issuers and no `identity.default_issuer` every principal from a token carries one: write `{}:<issuer>/{}` or set `identity.default_issuer`",
            p.kind(),
            p.id()
        )),
    }
}

fn validate_issuer(
    i: usize,
    issuer: &IssuerConfig,
    env: &[(String, String)],
    errors: &mut Vec<String>,
) {
    let at = format!("identity.issuers[{i}]");
    if issuer.issuer.is_empty() {
        errors.push(format!("`{at}.issuer` is required: the exact `iss` value of its tokens"));
    }
    if issuer.audiences.is_empty() {
        errors.push(format!("`{at}.audiences` needs at least one accepted `aud`, e.g. `jitgate`"));
    }
    let sources =
        [issuer.jwks_url.is_some(), issuer.jwks_file.is_some(), issuer.hs256_secret_env.is_some()];
    if sources.iter().filter(|s| **s).count() != 1 {
        errors.push(format!(
            "`{at}` needs exactly one of `jwks_url`, `jwks_file`, `hs256_secret_env`"
        ));
    }
    if let Some(url) = &issuer.jwks_url
        && !url.starts_with("https://")
        && !is_loopback_http(url)
    {
        errors.push(format!(
            "`{at}.jwks_url` must use https:// (plain http only on loopback), got `{url}`"
        ));
    }
    if let Some(path) = &issuer.jwks_file
        && !path.is_file()
    {
        errors.push(format!("`{at}.jwks_file`: `{}` is not a readable file", path.display()));
    }
    if let Some(var) = &issuer.hs256_secret_env {
        match env.iter().find(|(k, _)| k == var) {
            None => errors
                .push(format!("`{at}.hs256_secret_env`: environment variable `{var}` is not set")),
            Some((_, v)) if v.len() < MIN_HS256_SECRET => errors.push(format!(
                "`{at}.hs256_secret_env`: `{var}` must hold at least {MIN_HS256_SECRET} bytes"
            )),
            Some(_) => {}
        }
    }
    for (j, a) in issuer.algorithms.iter().enumerate() {
        match Algorithm::from_str(a) {
            Err(_) => errors.push(format!("`{at}.algorithms[{j}]`: `{a}` is not a JWT algorithm like `RS256`")),
            Ok(alg) if issuer.hs256_secret_env.is_none() && a.starts_with("HS") => errors.push(format!(
                "`{at}.algorithms[{j}]`: `{alg:?}` needs a shared secret; JWKS issuers use asymmetric keys"
            )),
            Ok(_) => {}
        }
    }
}

fn is_loopback_http(url: &str) -> bool {
    ["http://127.0.0.1", "http://localhost", "http://[::1]"].iter().any(|p| {
        url.strip_prefix(p).is_some_and(|rest| rest.is_empty() || rest.starts_with([':', '/']))
    })
}

#[cfg(test)]
#[path = "identity_tests.rs"]
mod tests;
