//! `jitgate request create|list|get|approve|deny|cancel`. `create --wait` blocks until the
//! request is decided (or `--timeout`), so a deployment job can ask for access and go on
//! when it is granted; its exit code says how it ended.

use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use jitgate_api_types::{DecisionBody, RequestBody, RequestInput, RequestList};

use super::ClientOpts;
use super::client::{CliError, Client};
use super::exit;
use super::grants::encode;
use super::output::{self, Format};
use crate::access::{AccessRequest, RequestStatus};
use crate::grant::ScopeWire;
use crate::time::{Clock, SystemClock, Timestamp, Ttl};
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
                    output::print(&RequestList { requests: items, next }, format);
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
        RequestCommand::Get { id } => show(
            &client.get::<RequestBody>(&format!("/v1/requests/{}", encode(&id))).await?,
            format,
        ),
        RequestCommand::Approve { id, comment } => {
            decide(client, &id, "approve", comment, format).await
        }
        RequestCommand::Deny { id, comment } => decide(client, &id, "deny", comment, format).await,
        RequestCommand::Cancel { id } => show(
            &client
                .post::<RequestBody>(
                    &format!("/v1/requests/{}/cancel", encode(&id)),
                    &DecisionBody::default(),
                )
                .await?,
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
) -> Result<(Vec<RequestBody>, Option<String>), CliError> {
    let limit = limit.max(1);
    let mut items = Vec::new();
    loop {
        let want = limit.saturating_sub(items.len()).min(LIST_LIMIT);
        let mut path = format!("/v1/requests?{query}&limit={want}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={}", encode(c)));
        }
        let page: RequestList = client.get(&path).await?;
        items.extend(page.requests);
        cursor = page.next;
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
    let r: RequestBody = client
        .post(&format!("/v1/requests/{}/{verb}", encode(id)), &DecisionBody { comment })
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
    let body = RequestInput {
        resources: vec![ScopeWire {
            service: a.service,
            methods: a.methods,
            paths: a.paths,
            query: a.query,
        }],
        ttl: a.ttl,
        reason: a.reason,
        incident: a.incident,
    };
    let mut r: RequestBody = client.post("/v1/requests", &body).await?;
    if !a.wait || r.request.status != RequestStatus::Pending {
        show(&r, format)?;
        return outcome(&r);
    }
    let id = r.request.id.to_string();
    let started = Instant::now();
    eprintln!("request {id} is pending; waiting for {}", approvers(&r));
    while r.request.status == RequestStatus::Pending {
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

fn approvers(r: &RequestBody) -> String {
    let names: Vec<String> = r.current_approvers.iter().map(ToString::to_string).collect();
    if names.is_empty() { "an approver".into() } else { names.join(" or ") }
}

/// The exit code of a finished request.
fn outcome(r: &RequestBody) -> Result<(), CliError> {
    let id = &r.request.id;
    match r.request.status {
        RequestStatus::Approved | RequestStatus::Pending => Ok(()),
        RequestStatus::Denied => {
            Err(CliError::new(exit::DENIED, format!("request {id} was denied")))
        }
        other => Err(CliError::new(exit::EXPIRED, format!("request {id} is {other}"))),
    }
}

/// "14m32s" left on a pending request, "-" otherwise.
fn expires_in(r: &AccessRequest, now: Timestamp) -> String {
    if r.status == RequestStatus::Pending { output::until(r.expires_at, now) } else { "-".into() }
}

fn show(body: &RequestBody, format: Format) -> Result<(), CliError> {
    if format.structured() {
        output::print(body, format);
        return Ok(());
    }
    let (r, now) = (&body.request, SystemClock.now());
    let mut t = output::table(&["FIELD", "VALUE"]);
    let approvals: Vec<String> = r.approvals.iter().map(|v| v.by.to_string()).collect();
    let rows = [
        ("id", r.id.to_string()),
        ("status", r.status.to_string()),
        ("requester", r.requester.to_string()),
        ("resources", output::scopes(&r.resources)),
        ("ttl", r.ttl.to_string()),
        ("reason", r.reason.clone()),
        ("policy", r.policy.clone()),
        ("approvals", format!("{}/{} {}", approvals.len(), r.min_approvals, approvals.join(", "))),
        ("approvers", approvers(body)),
        ("expires in", expires_in(r, now)),
        ("auto-approved by", r.auto_approved_by.clone().unwrap_or_default()),
        ("grant", r.grant_id.as_ref().map(ToString::to_string).unwrap_or_default()),
    ];
    for (k, v) in rows.into_iter().filter(|(_, v)| !v.is_empty()) {
        t.add_row(vec![k.to_string(), v]);
    }
    println!("{t}");
    Ok(())
}

fn table(items: &[RequestBody]) {
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
    for RequestBody { request: r, .. } in items {
        t.add_row(vec![
            r.id.to_string(),
            r.requester.to_string(),
            output::scopes(&r.resources),
            r.status.to_string(),
            r.ttl.to_string(),
            format!("{}/{}", r.approvals.len(), r.min_approvals),
            expires_in(r, now),
            r.reason.clone(),
            r.policy.clone(),
        ]);
    }
    println!("{t}");
}
