//! `jitgate grants create|list|get|revoke`.

use clap::{Args, Subcommand};
use serde_json::{Value, json};

use super::ClientOpts;
use super::client::{CliError, Client};
use super::output::{self, Format};
use crate::time::{Clock, SystemClock};

#[derive(Debug, Subcommand)]
pub enum GrantsCommand {
    /// Create a grant directly (admins only).
    Create(CreateArgs),
    /// List live grants.
    List(ListArgs),
    /// Show one grant, live or revoked.
    Get { id: String },
    /// Revoke a grant now; every replica stops allowing it within the staleness bound.
    Revoke {
        id: String,
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
}

pub async fn run(cmd: GrantsCommand, opts: &ClientOpts) -> Result<(), CliError> {
    let (client, format) = (&Client::new(&opts.server, opts.token.clone())?, opts.output);
    match cmd {
        GrantsCommand::Create(a) => {
            let body = json!({
                "subject": a.subject,
                "resources": [{"service": a.service, "methods": a.methods, "paths": a.paths}],
                "ttl": a.ttl,
                "reason": a.reason,
                "max_uses": a.max_uses,
                "incident": a.incident,
            });
            let grant = client.post("/v1/grants", &body).await?;
            show(&[grant], format);
        }
        GrantsCommand::List(a) => {
            let mut query = Vec::new();
            if let Some(s) = &a.subject {
                query.push(format!("subject={}", encode(s)));
            }
            if let Some(s) = &a.service {
                query.push(format!("service={}", encode(s)));
            }
            let path = if query.is_empty() {
                "/v1/grants".into()
            } else {
                format!("/v1/grants?{}", query.join("&"))
            };
            let body = client.get(&path).await?;
            let items = body.get("grants").and_then(Value::as_array).cloned().unwrap_or_default();
            match format {
                Format::Json => output::print_json(&body),
                Format::Table => show(&items, format),
            }
        }
        GrantsCommand::Get { id } => {
            show(&[client.get(&format!("/v1/grants/{}", encode(&id))).await?], format)
        }
        GrantsCommand::Revoke { id, reason } => {
            let mut path = format!("/v1/grants/{}", encode(&id));
            if let Some(r) = reason {
                path.push_str(&format!("?reason={}", encode(&r)));
            }
            show(&[client.delete(&path).await?], format);
        }
    }
    Ok(())
}

fn show(grants: &[Value], format: Format) {
    if format == Format::Json {
        match grants {
            [one] => output::print_json(one),
            many => output::print_json(&Value::Array(many.to_vec())),
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
        "REASON",
        "CREATED BY",
    ]);
    for g in grants {
        let uses = match g.get("max_uses").and_then(Value::as_u64) {
            Some(max) => format!("{}/{max}", g.get("uses").and_then(Value::as_u64).unwrap_or(0)),
            None => g.get("uses").and_then(Value::as_u64).unwrap_or(0).to_string(),
        };
        t.add_row(vec![
            output::str_field(g, "id").to_string(),
            output::str_field(g, "subject").to_string(),
            output::resources(g),
            output::str_field(g, "status").to_string(),
            output::remaining(g, "expires_at", now),
            uses,
            output::str_field(g, "reason").to_string(),
            output::str_field(g, "created_by").to_string(),
        ]);
    }
    println!("{t}");
}

/// Percent-encodes a query or path component.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
