//! DOMAIN, pure: manifests that would turn the observed would-be denies into allows, and
//! nothing more. One `kind: Grant` per (principal, service), whose resources are the folded
//! patterns grouped by the exact methods used; standing by default, with the `kind:
//! AccessPolicy` that standing grants need (`allow_standing: true`, the principal as its only
//! requester, the same resources). With a TTL instead, the grant expires and needs no policy.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{UnmetAccess, Window};
use crate::access::{API_VERSION, Metadata, PolicyDocument, PolicySpec, ReasonSpec};
use crate::grant::ScopeWire;
use crate::manifest::{GRANT_KIND, GrantDocument, GrantSpec, Source, parse_value};

/// Names start with this, so reviewers (and `--prune`) can tell suggested objects apart.
pub const NAME_PREFIX: &str = "report-";

/// How suggestions are shaped.
#[derive(Clone, Debug, Default)]
pub struct SuggestOptions {
    /// Approvers of the suggested policies (e.g. the configured admins).
    pub approvers: Vec<String>,
    /// Suggest grants with this TTL (no policy needed) instead of standing grants.
    pub grant_ttl: Option<String>,
}

/// One suggestion: a grant, and the policy it needs when it is standing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Suggestion {
    pub principal: String,
    pub service: String,
    /// Calls it would have allowed.
    pub calls: u64,
    pub grant: GrantDocument,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<PolicyDocument>,
}

/// Builds one suggestion per (principal, service) from verified principals' unmet rows.
/// Suggestions that would not validate as manifests are left out (they cannot happen by
/// construction; this keeps a bug from producing an unappliable file).
pub fn suggest(rows: &[UnmetAccess], window: Window, opts: &SuggestOptions) -> Vec<Suggestion> {
    let mut groups: BTreeMap<(&str, &str), Vec<&UnmetAccess>> = BTreeMap::new();
    for r in rows {
        if let Some(p) = &r.principal {
            groups.entry((p.as_str(), r.service.as_str())).or_default().push(r);
        }
    }
    groups
        .into_iter()
        .map(|((principal, service), rows)| build(principal, service, &rows, window, opts))
        .filter(valid)
        .collect()
}

fn build(
    principal: &str,
    service: &str,
    rows: &[&UnmetAccess],
    window: Window,
    opts: &SuggestOptions,
) -> Suggestion {
    let resources = scopes(service, rows);
    let calls = rows.iter().map(|r| r.calls).sum();
    let name = name(principal, service);
    let reason = format!(
        "used without a grant while in shadow mode, {} to {}: {calls} call(s); suggested by `jitgate report access`",
        window.since.to_rfc3339(),
        window.until.to_rfc3339()
    );
    let grant = GrantDocument {
        api_version: API_VERSION.into(),
        kind: GRANT_KIND.into(),
        metadata: Metadata { name: name.clone(), ..Metadata::default() },
        spec: GrantSpec {
            subject: principal.into(),
            resources: resources.clone(),
            ttl: opts.grant_ttl.clone(),
            standing: opts.grant_ttl.is_none(),
            reason,
            max_uses: None,
            incident: None,
        },
    };
    let policy = opts.grant_ttl.is_none().then(|| policy(&name, principal, resources, opts));
    Suggestion { principal: principal.into(), service: service.into(), calls, grant, policy }
}

fn policy(
    name: &str,
    principal: &str,
    resources: Vec<ScopeWire>,
    opts: &SuggestOptions,
) -> PolicyDocument {
    let approvers = if opts.approvers.is_empty() {
        vec!["group:platform".into()]
    } else {
        opts.approvers.clone()
    };
    PolicyDocument {
        api_version: API_VERSION.into(),
        kind: crate::access::KIND.into(),
        metadata: Metadata { name: name.into(), ..Metadata::default() },
        spec: PolicySpec {
            resources,
            requesters: vec![principal.into()],
            approvers,
            min_approvals: 1,
            max_ttl: "1h".into(),
            pending_ttl: "1h".into(),
            escalate_after: None,
            escalate_to: Vec::new(),
            reason: ReasonSpec::default(),
            auto_approve: Vec::new(),
            one_time_actions: Vec::new(),
            one_time_ttl: "5m".into(),
            file_one_time_requests: false,
            allow_standing: true,
            notify: Vec::new(),
        },
    }
}

/// Patterns grouped by the exact set of methods used on them; a pattern another pattern of
/// the same group already covers is dropped.
fn scopes(service: &str, rows: &[&UnmetAccess]) -> Vec<ScopeWire> {
    let mut methods: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for r in rows {
        methods.entry(r.pattern.as_str()).or_default().insert(r.method.as_str());
    }
    let mut by_methods: BTreeMap<BTreeSet<&str>, Vec<&str>> = BTreeMap::new();
    for (pattern, m) in methods {
        by_methods.entry(m).or_default().push(pattern);
    }
    by_methods
        .into_iter()
        .map(|(m, patterns)| {
            let kept = patterns
                .iter()
                .filter(|p| !patterns.iter().any(|q| q != *p && covers(q, p)))
                .map(|p| p.to_string())
                .collect();
            ScopeWire {
                service: service.into(),
                methods: m.into_iter().map(String::from).collect(),
                paths: kept,
                query: None,
            }
        })
        .collect()
}

/// `a` covers `b` when both have the same length and each segment of `a` is `*` or equal.
fn covers(a: &str, b: &str) -> bool {
    let (sa, sb): (Vec<&str>, Vec<&str>) = (a.split('/').collect(), b.split('/').collect());
    sa.len() == sb.len() && sa.iter().zip(&sb).all(|(x, y)| *x == "*" || x == y)
}

/// `report-<principal>-<service>` as a DNS label; long names end in a digest to stay unique.
pub fn name(principal: &str, service: &str) -> String {
    let raw = format!("{NAME_PREFIX}{principal}-{service}");
    let mut slug = String::new();
    for c in raw.to_ascii_lowercase().chars() {
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() { c } else { '-' };
        if !(c == '-' && slug.ends_with('-')) {
            slug.push(c);
        }
    }
    let slug = slug.trim_matches('-').to_string();
    if slug.len() <= 63 && slug == raw.replace(':', "-") {
        return slug;
    }
    // Lossy (characters replaced or too long): a digest keeps two principals apart.
    let digest = crate::hex::encode(&Sha256::digest(raw.as_bytes()));
    let head: String = slug.chars().take(54).collect();
    format!("{}-{}", head.trim_end_matches('-'), &digest[..8])
}

fn valid(s: &Suggestion) -> bool {
    let as_manifest = |v: serde_json::Value| parse_value(Source::default(), v, None).is_ok();
    let grant_ok = serde_json::to_value(&s.grant).is_ok_and(as_manifest);
    let policy_ok =
        s.policy.as_ref().is_none_or(|p| serde_json::to_value(p).is_ok_and(as_manifest));
    grant_ok && policy_ok
}
