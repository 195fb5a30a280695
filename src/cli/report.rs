//! `jitgate report access`: what shadow mode saw — who used which service/method/route
//! patterns without a grant, the manifests that would allow exactly that (`-o yaml` prints
//! them, ready for `jitgate validate` and `jitgate apply`), and grants and policies nobody
//! used. From the API (`GET /v1/reports/access`) or straight from Redis with `--redis-url`.

use std::collections::HashMap;
use std::sync::Arc;

use clap::{Args, Subcommand};

use super::ClientOpts;
use super::client::{CliError, Client};
use super::direct::{Direct, DirectOpts, unavailable};
use super::exit;
use super::grants::encode;
use super::output::{self, Format, table};
use crate::report::{AccessReport, UnmetAccess};
use crate::store::RedisAuditLog;
use crate::time::{Clock, SystemClock};
use crate::workflow::{ReportQuery, ReportService, WorkflowError};

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Use without grants seen in shadow mode, suggested manifests, and unused access.
    Access(AccessArgs),
}

#[derive(Debug, Args)]
pub struct AccessArgs {
    /// From this time: RFC 3339, or a duration back from now.
    #[arg(long, default_value = "7d")]
    pub since: String,
    /// Up to this time (default: now).
    #[arg(long)]
    pub until: Option<String>,
    /// Suggest grants that expire after this long instead of standing grants (and no policies).
    #[arg(long)]
    pub grant_ttl: Option<String>,
    /// Approvers of the suggested policies (repeatable; default: the server's `admins`, or
    /// `group:platform` with `--redis-url`).
    #[arg(long = "approver")]
    pub approvers: Vec<String>,
    #[command(flatten)]
    pub direct: DirectOpts,
}

pub async fn run(command: ReportCommand, opts: &ClientOpts) -> Result<(), CliError> {
    let ReportCommand::Access(a) = command;
    let report = match &a.direct.redis_url {
        Some(url) => direct(&a, url).await?,
        None => {
            let path = format!("/v1/reports/access?{}", query(&a));
            Client::new(&opts.server, opts.token.clone())?.get::<AccessReport>(&path).await?
        }
    };
    match opts.output {
        Format::Yaml => print_manifests(&report),
        Format::Json => output::print_json(&report),
        Format::Table => print_tables(&report),
    }
    Ok(())
}

fn params(a: &AccessArgs) -> HashMap<String, String> {
    let mut q = HashMap::from([("since".to_string(), a.since.clone())]);
    if let Some(u) = &a.until {
        q.insert("until".into(), u.clone());
    }
    if let Some(t) = &a.grant_ttl {
        q.insert("grant_ttl".into(), t.clone());
    }
    if !a.approvers.is_empty() {
        q.insert("approvers".into(), a.approvers.join(","));
    }
    q
}

fn query(a: &AccessArgs) -> String {
    let mut pairs: Vec<String> =
        params(a).iter().map(|(k, v)| format!("{k}={}", encode(v))).collect();
    pairs.sort();
    pairs.join("&")
}

async fn direct(a: &AccessArgs, url: &str) -> Result<AccessReport, CliError> {
    let q = ReportQuery::from_params(&params(a), SystemClock.now())
        .map_err(|e| CliError::new(exit::USAGE, e.join("; ")))?;
    let d = Direct::open(url, &a.direct.key_prefix)?;
    let log = Arc::new(RedisAuditLog::new(d.conn.clone()));
    let service =
        ReportService::new(log, Arc::new(d.grants), Arc::new(d.policies), Arc::new(SystemClock))
            .with_access(Default::default(), Default::default(), vec!["group:platform".into()]);
    service.build(q).await.map_err(|e| match e {
        WorkflowError::Invalid(d) => CliError::new(exit::USAGE, d.join("; ")),
        other => unavailable(other),
    })
}

/// The suggestions as multi-document YAML: each policy before the grant that needs it.
fn print_manifests(r: &AccessReport) {
    println!("# Suggested by `jitgate report access` from use seen in shadow mode,");
    println!(
        "# {} to {}. Review every document before `jitgate apply -f`.",
        r.window.since, r.window.until
    );
    if r.truncated {
        println!("# The scan stopped at its limit: use before {} is not covered.", covered(r));
    }
    let mut first = true;
    let mut separate = || {
        if !std::mem::take(&mut first) {
            println!("---");
        }
    };
    for s in &r.suggestions {
        if let Some(policy) = &s.policy {
            separate();
            print!("{}", serde_saphyr::to_string(policy).unwrap_or_default());
        }
        separate();
        print!("{}", serde_saphyr::to_string(&s.grant).unwrap_or_default());
    }
}

fn covered(r: &AccessReport) -> String {
    r.covered_since.map(|t| t.to_string()).unwrap_or_default()
}

fn print_tables(r: &AccessReport) {
    println!("Window {} to {}, {} audit entries read", r.window.since, r.window.until, r.scanned);
    if r.truncated {
        println!(
            "warning: the scan stopped at its limit; use before {} is not counted",
            covered(r)
        );
    }
    section(&r.unmet, "Used without a grant (let through in shadow mode)", true);
    section(
        &r.one_time,
        "One-time actions (each call needs its own approval; not suggested)",
        true,
    );
    section(&r.unauthenticated, "Calls without a valid identity (no grant can fix these)", false);
    let mut t = table(&["SUGGESTED GRANT", "PRINCIPAL", "RESOURCES", "CALLS"]);
    for s in &r.suggestions {
        t.add_row(vec![
            s.grant.metadata.name.clone(),
            s.principal.clone(),
            output::wire_scopes(&s.grant.spec.resources),
            s.calls.to_string(),
        ]);
    }
    println!("\nSuggestions (print them with `-o yaml`, review, then `jitgate apply -f`):\n{t}");
    let mut t = table(&["UNUSED GRANT", "SUBJECT", "SOURCE", "RESOURCES", "LAST USED"]);
    for g in &r.unused_grants {
        t.add_row(vec![
            g.id.clone(),
            g.subject.clone(),
            g.source.to_string(),
            output::scopes(&g.resources),
            g.last_used_at.map_or_else(|| "never".to_string(), |t| t.to_string()),
        ]);
    }
    println!("\nGrants not used in the window:\n{t}");
    let mut t = table(&["UNUSED POLICY", "REQUESTERS", "RESOURCES"]);
    for p in &r.unused_policies {
        let requesters: Vec<String> = p.requesters.iter().map(ToString::to_string).collect();
        t.add_row(vec![p.name.clone(), requesters.join(", "), output::scopes(&p.resources)]);
    }
    println!("\nPolicies not used in the window:\n{t}");
}

fn section(rows: &[UnmetAccess], title: &str, with_principal: bool) {
    let mut headers = vec!["SERVICE", "METHOD", "PATTERN", "CALLS", "LAST SEEN", "REASONS"];
    if with_principal {
        headers.insert(0, "PRINCIPAL");
    }
    let mut t = table(&headers);
    for u in rows {
        let reasons: Vec<String> = u.reasons.iter().map(|(k, v)| format!("{k}×{v}")).collect();
        let mut row = vec![
            u.service.clone(),
            u.method.clone(),
            u.pattern.clone(),
            u.calls.to_string(),
            u.last_seen.to_string(),
            reasons.join(", "),
        ];
        if with_principal {
            row.insert(0, u.principal.clone().unwrap_or_default());
        }
        t.add_row(row);
    }
    println!("\n{title}:\n{t}");
}
