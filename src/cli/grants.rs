//! `jitgate grants create|list|get|revoke`. `list` and `get` can also read straight from Redis
//! (`--redis-url`) when the API is down.

use clap::{Args, Subcommand};
use jitgate_api_types::{GrantBody, GrantInput, GrantList, GrantWithUsage};

use super::ClientOpts;
use super::client::{CliError, Client};
use super::direct::{Direct, DirectOpts, unavailable};
use super::exit;
use super::output::{self, Format};
use crate::grant::{GrantId, GrantUsage, ScopeWire};
use crate::time::{Clock, SystemClock, Timestamp};
use crate::workflow::grants::GrantFilter;

#[derive(Debug, Subcommand)]
pub enum GrantsCommand {
    /// Create a grant directly (admins only).
    Create(CreateArgs),
    /// List live grants.
    List(ListArgs),
    /// Show one grant, live or revoked.
    Get {
        id: String,
        #[command(flatten)]
        direct: DirectOpts,
    },
    /// Revoke a grant now (or, with --subject, every live grant of a principal); every
    /// replica stops allowing it within the staleness bound.
    Revoke {
        /// The grant to revoke.
        #[arg(required_unless_present = "subject", conflicts_with = "subject")]
        id: Option<String>,
        /// Revoke every live grant naming this principal instead.
        #[arg(long)]
        subject: Option<String>,
        /// Why (recorded on the grant).
        #[arg(long)]
        reason: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Who gets access: `user:<id>`, `group:<name>` or `service:<id>`.
    #[arg(long)]
    pub subject: String,
    /// The protected service (as in the Envoy route's `context_extensions.service`).
    #[arg(long)]
    pub service: String,
    /// Allowed HTTP method (repeatable); `*` for all.
    #[arg(long = "method", required = true)]
    pub methods: Vec<String>,
    /// Allowed path pattern (repeatable): exact segments, `*` one segment, `**` the rest.
    #[arg(long = "path", required = true)]
    pub paths: Vec<String>,
    /// How long the grant lives, e.g. `15m`.
    #[arg(long)]
    pub ttl: String,
    /// Why access is needed (a ticket id).
    #[arg(long)]
    pub reason: String,
    /// Allow this many calls, then stop.
    #[arg(long)]
    pub max_uses: Option<u32>,
    /// Tie the grant to an incident; resolving it revokes the grant.
    #[arg(long)]
    pub incident: Option<String>,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only grants for this principal.
    #[arg(long)]
    pub subject: Option<String>,
    /// Only grants covering this service.
    #[arg(long)]
    pub service: Option<String>,
    /// Only grants from this source: api, request or manifest.
    #[arg(long)]
    pub source: Option<String>,
    /// Only grants expiring within this long, e.g. `1h`.
    #[arg(long)]
    pub expiring_within: Option<String>,
    /// Only grants never used so far (candidates for revocation).
    #[arg(long)]
    pub unused: bool,
    #[command(flatten)]
    pub direct: DirectOpts,
}

pub async fn run(cmd: GrantsCommand, opts: &ClientOpts) -> Result<(), CliError> {
    let (client, format) = (&Client::new(&opts.server, opts.token.clone())?, opts.output);
    match cmd {
        GrantsCommand::Create(a) => {
            let body = GrantInput {
                subject: a.subject,
                resources: vec![ScopeWire {
                    service: a.service,
                    methods: a.methods,
                    paths: a.paths,
                    query: None,
                }],
                ttl: a.ttl,
                reason: a.reason,
                max_uses: a.max_uses,
                incident: a.incident,
            };
            let grant: GrantBody = client.post("/v1/grants", &body).await?;
            show(&[grant], format);
        }
        GrantsCommand::List(a) => {
            let mut query = Vec::new();
            for (k, v) in [
                ("subject", &a.subject),
                ("service", &a.service),
                ("source", &a.source),
                ("expiring_within", &a.expiring_within),
            ] {
                if let Some(v) = v {
                    query.push((k.to_string(), v.clone()));
                }
            }
            if a.unused {
                query.push(("unused".into(), "true".into()));
            }
            let body: GrantList = match &a.direct.redis_url {
                Some(url) => list_direct(url, &a.direct.key_prefix, &query).await?,
                None => {
                    let q: Vec<String> =
                        query.iter().map(|(k, v)| format!("{k}={}", encode(v))).collect();
                    let path = if q.is_empty() {
                        "/v1/grants".into()
                    } else {
                        format!("/v1/grants?{}", q.join("&"))
                    };
                    client.get(&path).await?
                }
            };
            match format {
                Format::Json | Format::Yaml => output::print(&body, format),
                Format::Table => show(&body.grants, format),
            }
        }
        GrantsCommand::Get { id, direct } => {
            let grant: GrantWithUsage = match &direct.redis_url {
                Some(url) => get_direct(url, &direct.key_prefix, &id).await?,
                None => client.get(&format!("/v1/grants/{}", encode(&id))).await?,
            };
            if format.structured() {
                output::print(&grant, format);
            } else {
                show(std::slice::from_ref(&grant.grant), format);
                show_usage(&grant.usage);
            }
        }
        GrantsCommand::Revoke { id, subject, reason } => {
            let ids = match (id, subject) {
                (Some(id), _) => vec![id],
                (None, Some(s)) => {
                    let body: GrantList =
                        client.get(&format!("/v1/grants?subject={}", encode(&s))).await?;
                    body.grants.into_iter().map(|g| g.grant.id.to_string()).collect()
                }
                (None, None) => Vec::new(),
            };
            let suffix = reason.map(|r| format!("?reason={}", encode(&r))).unwrap_or_default();
            let mut revoked: Vec<GrantBody> = Vec::new();
            for id in ids {
                revoked.push(client.delete(&format!("/v1/grants/{}{suffix}", encode(&id))).await?);
            }
            if revoked.is_empty() && !format.structured() {
                println!("No live grants to revoke.");
            } else {
                show(&revoked, format);
            }
        }
    }
    Ok(())
}

fn show(grants: &[GrantBody], format: Format) {
    if format.structured() {
        match grants {
            [one] => output::print(one, format),
            many => output::print(&many, format),
        }
        return;
    }
    if grants.is_empty() {
        println!("No live grants.");
        return;
    }
    let now = SystemClock.now();
    let mut t = output::table(&[
        "ID",
        "SUBJECT",
        "RESOURCES",
        "STATUS",
        "EXPIRES IN",
        "USES",
        "LAST USED",
        "APPROVED BY",
        "SOURCE",
        "REASON",
    ]);
    for GrantBody { grant: g, status, .. } in grants {
        let uses = match g.max_uses {
            Some(max) => format!("{}/{max}", g.uses),
            None => g.uses.to_string(),
        };
        let last = g.last_used_at.map_or_else(|| "-".to_string(), |t| t.to_string());
        let approved = match (&g.approved_by[..], &g.auto_approved_by) {
            ([], Some(rule)) => format!("auto: {rule}"),
            ([], None) => format!("({})", g.created_by),
            (by, _) => by.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
        };
        let expires =
            if g.standing { "standing".to_string() } else { output::until(g.expires_at, now) };
        t.add_row(vec![
            g.id.to_string(),
            g.subject.to_string(),
            output::scopes(&g.resources),
            status.to_string(),
            expires,
            uses,
            last,
            approved,
            g.source.to_string(),
            g.reason.clone(),
        ]);
    }
    println!("{t}");
}

/// The usage ledger under a single grant's table.
fn show_usage(u: &GrantUsage) {
    if u.uses == 0 && u.last_used_at.is_none() {
        println!("Usage: never used");
        return;
    }
    let at = |t: Option<Timestamp>| t.map_or_else(|| "-".to_string(), |t| t.to_string());
    println!("Usage: {} uses, first {}, last {}", u.uses, at(u.first_used_at), at(u.last_used_at));
    if !u.paths.is_empty() {
        let more =
            if u.paths_truncated { " (and more; the ledger keeps the first 100)" } else { "" };
        println!("Paths used{more}:");
        for p in &u.paths {
            println!("  {p}");
        }
    }
}

/// `grants list --redis-url`: the same filters, read straight from Redis.
async fn list_direct(
    url: &str,
    prefix: &str,
    query: &[(String, String)],
) -> Result<GrantList, CliError> {
    let q: std::collections::HashMap<String, String> = query.iter().cloned().collect();
    let filter =
        GrantFilter::from_query(&q).map_err(|e| CliError::new(exit::USAGE, e.join("; ")))?;
    let direct = Direct::open(url, prefix)?;
    let now = SystemClock.now();
    let grants = crate::store::GrantStore::list(&direct.grants, filter.subject.as_ref(), now)
        .await
        .map_err(unavailable)?;
    let grants = grants
        .into_iter()
        .filter(|g| filter.keeps(g, now))
        .map(|g| GrantBody::at(g, now))
        .collect();
    Ok(GrantList { grants })
}

async fn get_direct(url: &str, prefix: &str, id: &str) -> Result<GrantWithUsage, CliError> {
    let id = GrantId::parse(id).map_err(|e| CliError::new(exit::USAGE, e))?;
    let direct = Direct::open(url, prefix)?;
    match crate::store::GrantStore::get(&direct.grants, &id).await.map_err(unavailable)? {
        Some(g) => {
            let usage =
                crate::store::GrantStore::usage(&direct.grants, &g).await.map_err(unavailable)?;
            Ok(GrantWithUsage { grant: GrantBody::at(g, SystemClock.now()), usage })
        }
        None => Err(CliError::new(
            exit::NOT_FOUND,
            format!("no grant `{id}` in Redis (it may have expired)"),
        )),
    }
}

/// Percent-encodes a query or path component.
pub fn encode(s: &str) -> String {
    crate::percent::encode(s, b"")
}
