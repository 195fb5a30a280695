//! `jitgate request create|list|get|approve|deny|cancel`. `create --wait` blocks until the
//! request is decided (or `--timeout`), so a deployment job can ask for access and go on
//! when it is granted; its exit code says how it ended.

use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use serde_json::{Value, json};

use super::ClientOpts;
use super::client::{CliError, Client};
use super::exit;
use super::grants::encode;
use super::output::{self, Format};
use crate::grant::ScopeWire;
use crate::time::{Clock, SystemClock, Ttl};
use crate::workflow::LIST_LIMIT;

#[derive(Debug, Subcommand)]
pub enum RequestCommand {
    /// Ask for access to one service's methods and paths.
    Create(CreateArgs),
    /// List requests (default: pending ones you may decide or filed yourself).
    List {
        /// pending, approved, denied, expired, cancelled or all.
        #[arg(long, default_value = "pending")]
        status: String,
        /// Only requests you filed.
        #[arg(long)]
        mine: bool,
        /// Only this requester's requests, e.g. `user:alice` (yours, or those you approve).
        #[arg(long)]
        requester: Option<String>,
        /// Only requests you may decide now (your approval queue).
        #[arg(long)]
        decidable: bool,
        /// Most requests to show; the server is asked a page (up to 500) at a time.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Continue from the cursor a previous list printed.
        #[arg(long)]
        cursor: Option<String>,
    },
    /// Show one request.
    Get { id: String },
    /// Approve a request (never your own).
    Approve {
        id: String,
        #[arg(long)]
        comment: Option<String>,
    },
    /// Deny a request.
    Deny {
        id: String,
        #[arg(long)]
        comment: Option<String>,
    },
    /// Cancel your own pending request.
    Cancel { id: String },
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The protected service.
    #[arg(long)]
    pub service: String,
    /// HTTP method (repeatable).
    #[arg(long = "method", required = true)]
    pub methods: Vec<String>,
    /// Path pattern (repeatable): exact segments, `*` one segment, `**` the rest.
    #[arg(long = "path", required = true)]
    pub paths: Vec<String>,
    /// The exact query string (without `?`) of a one-time call; `--query ''` for none. A
    /// one-time request without it is for the call without a query string.
    #[arg(long)]
    pub query: Option<String>,
    /// How long the access should last once granted, e.g. `30m`.
    #[arg(long)]
    pub ttl: String,
    /// Why (policies may require a ticket id, e.g. `INC-4312`).
    #[arg(long, default_value = "")]
    pub reason: String,
    /// The incident this access is for; resolving it revokes the grant.
    #[arg(long)]
    pub incident: Option<String>,
    /// Block until the request is decided.
    #[arg(long)]
    pub wait: bool,
    /// With --wait: give up after this long (exit 9).
    #[arg(long, default_value = "15m")]
    pub timeout: String,
    /// With --wait: how often to look.
    #[arg(long, default_value = "2s")]
    pub poll: String,
}

pub async fn run(cmd: RequestCommand, opts: &ClientOpts) -> Result<(), CliError> {
    let (client, format) = (&Client::new(&opts.server, opts.token.clone())?, opts.output);
    match cmd {
        RequestCommand::Create(a) => create(a, client, format).await,
        RequestCommand::List { status, mine, requester, decidable, limit, cursor } => {
            let mut query = format!("status={}&mine={mine}&decidable={decidable}", encode(&status));
            if let Some(p) = requester {
                query.push_str(&format!("&requester={}", encode(&p)));
            }
            let (items, next) = list_pages(client, &query, limit, cursor).await?;
            match format {
                Format::Json | Format::Yaml => {
                    output::print(&json!({ "requests": items, "next": next }), format);
                }
                Format::Table => {
                    table(&items);
                    if let Some(next) = next {
                        eprintln!("More requests: --cursor {next}");
                    }
                }
            }
            Ok(())
        }
        RequestCommand::Get { id } => {
            show(&client.get(&format!("/v1/requests/{}", encode(&id))).await?, format)
        }
        RequestCommand::Approve { id, comment } => {
            decide(client, &id, "approve", comment, format).await
        }
        RequestCommand::Deny { id, comment } => decide(client, &id, "deny", comment, format).await,
        RequestCommand::Cancel { id } => show(
            &client.post(&format!("/v1/requests/{}/cancel", encode(&id)), &json!({})).await?,
            format,
        ),
    }
}

/// Up to `limit` requests from `/v1/requests?<query>`, page after page from `cursor`, and the
/// cursor after the last one shown (`None` when the server has nothing more).
async fn list_pages(
    client: &Client,
    query: &str,
    limit: usize,
    mut cursor: Option<String>,
) -> Result<(Vec<Value>, Option<String>), CliError> {
    let limit = limit.max(1);
    let mut items = Vec::new();
    loop {
        let want = limit.saturating_sub(items.len()).min(LIST_LIMIT);
        let mut path = format!("/v1/requests?{query}&limit={want}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={}", encode(c)));
        }
        let body = client.get(&path).await?;
        items.extend(body.get("requests").and_then(Value::as_array).cloned().unwrap_or_default());
        cursor = body.get("next").and_then(Value::as_str).map(str::to_owned);
        if cursor.is_none() || items.len() >= limit {
            return Ok((items, cursor));
        }
    }
}

async fn decide(
    client: &Client,
    id: &str,
    verb: &str,
    comment: Option<String>,
    format: Format,
) -> Result<(), CliError> {
    let r = client
        .post(&format!("/v1/requests/{}/{verb}", encode(id)), &json!({ "comment": comment }))
        .await?;
    show(&r, format)
}

async fn create(a: CreateArgs, client: &Client, format: Format) -> Result<(), CliError> {
    let usage = |m: String| CliError::new(exit::USAGE, m);
    let timeout =
        Ttl::parse(&a.timeout).map_err(|e| usage(format!("--timeout: {e}")))?.as_duration();
    let poll = Ttl::parse(&a.poll)
        .map_err(|e| usage(format!("--poll: {e}")))?
        .as_duration()
        .max(Duration::from_millis(200));
    let body = json!({
        "resources": [ScopeWire {
            service: a.service,
            methods: a.methods,
            paths: a.paths,
            query: a.query,
        }],
        "ttl": a.ttl,
        "reason": a.reason,
        "incident": a.incident,
    });
    let mut r = client.post("/v1/requests", &body).await?;
    if !a.wait || status(&r) != "pending" {
        show(&r, format)?;
        return outcome(&r);
    }
    let id = output::str_field(&r, "id").to_string();
    let started = Instant::now();
    eprintln!("request {id} is pending; waiting for {}", approvers(&r));
    while status(&r) == "pending" {
        if started.elapsed() >= timeout {
            show(&r, format)?;
            return Err(CliError::new(
                exit::TIMEOUT,
                format!("no decision on request {id} within {}", Ttl::from_duration(timeout)),
            ));
        }
        tokio::time::sleep(poll).await;
        r = client.get(&format!("/v1/requests/{}", encode(&id))).await?;
    }
    show(&r, format)?;
    outcome(&r)
}

fn status(r: &Value) -> &str {
    output::str_field(r, "status")
}

fn approvers(r: &Value) -> String {
    let list = r.get("current_approvers").and_then(Value::as_array).cloned().unwrap_or_default();
    let names: Vec<&str> = list.iter().filter_map(Value::as_str).collect();
    if names.is_empty() { "an approver".into() } else { names.join(" or ") }
}

/// The exit code of a finished request.
fn outcome(r: &Value) -> Result<(), CliError> {
    let id = output::str_field(r, "id");
    match status(r) {
        "approved" | "pending" => Ok(()),
        "denied" => Err(CliError::new(exit::DENIED, format!("request {id} was denied"))),
        other => Err(CliError::new(exit::EXPIRED, format!("request {id} is {other}"))),
    }
}

fn show(r: &Value, format: Format) -> Result<(), CliError> {
    if format.structured() {
        output::print(r, format);
        return Ok(());
    }
    let now = SystemClock.now();
    let mut t = output::table(&["FIELD", "VALUE"]);
    let approvals: Vec<String> = r
        .get("approvals")
        .and_then(Value::as_array)
        .map(|a| a.iter().map(|v| output::str_field(v, "by").to_string()).collect())
        .unwrap_or_default();
    let rows = [
        ("id", output::str_field(r, "id").to_string()),
        ("status", status(r).to_string()),
        ("requester", output::str_field(r, "requester").to_string()),
        ("resources", output::resources(r)),
        ("ttl", output::str_field(r, "ttl").to_string()),
        ("reason", output::str_field(r, "reason").to_string()),
        ("policy", output::str_field(r, "policy").to_string()),
        (
            "approvals",
            format!(
                "{}/{} {}",
                approvals.len(),
                r.get("min_approvals").and_then(Value::as_u64).unwrap_or(1),
                approvals.join(", ")
            ),
        ),
        ("approvers", approvers(r)),
        (
            "expires in",
            if status(r) == "pending" {
                output::remaining(r, "expires_at", now)
            } else {
                "-".into()
            },
        ),
        ("auto-approved by", output::str_field(r, "auto_approved_by").to_string()),
        ("grant", output::str_field(r, "grant_id").to_string()),
    ];
    for (k, v) in rows.into_iter().filter(|(_, v)| !v.is_empty()) {
        t.add_row(vec![k.to_string(), v]);
    }
    println!("{t}");
    Ok(())
}

fn table(items: &[Value]) {
    if items.is_empty() {
        println!("No requests.");
        return;
    }
    let now = SystemClock.now();
    let mut t = output::table(&[
        "ID",
        "REQUESTER",
        "RESOURCES",
        "STATUS",
        "TTL",
        "APPROVALS",
        "EXPIRES IN",
        "REASON",
        "POLICY",
    ]);
    for r in items {
        let have = r.get("approvals").and_then(Value::as_array).map_or(0, Vec::len);
        let need = r.get("min_approvals").and_then(Value::as_u64).unwrap_or(1);
        let expires = if status(r) == "pending" {
            output::remaining(r, "expires_at", now)
        } else {
            "-".into()
        };
        t.add_row(vec![
            output::str_field(r, "id").to_string(),
            output::str_field(r, "requester").to_string(),
            output::resources(r),
            status(r).to_string(),
            output::str_field(r, "ttl").to_string(),
            format!("{have}/{need}"),
            expires,
            output::str_field(r, "reason").to_string(),
            output::str_field(r, "policy").to_string(),
        ]);
    }
    println!("{t}");
}
