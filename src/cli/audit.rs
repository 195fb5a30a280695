//! `jitgate audit query|tail|export|verify`: read the audit log through the API or straight
//! from Redis (`--redis-url`), and prove it intact.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};
use serde_json::Value;

use super::ClientOpts;
use super::audit_source::Source;
use super::client::{CliError, Client};
use super::direct::DirectOpts;
use super::exit;
use super::output::{self, Format};
use crate::audit::Stored;
use crate::audit::export::EntryLine;
use crate::audit::query::{AuditFilter, AuditQuery, Order};
use crate::time::{Clock, SystemClock, parse_time};

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Find entries, newest first (or `--order asc`).
    Query {
        #[command(flatten)]
        filter: FilterArgs,
        /// Most entries to show.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[arg(long, value_parser = ["asc", "desc"], default_value = "desc")]
        order: String,
        /// Continue from a cursor a previous page printed.
        #[arg(long)]
        cursor: Option<String>,
    },
    /// Show the latest entries; with `-f`, keep printing new ones as they are written.
    Tail {
        #[command(flatten)]
        filter: FilterArgs,
        /// How many of the latest entries to show first.
        #[arg(short = 'n', long, default_value_t = 20)]
        lines: usize,
        /// Follow: poll for new entries until interrupted.
        #[arg(short = 'f', long)]
        follow: bool,
        /// How often to poll with `-f`.
        #[arg(long, default_value = "1s")]
        interval: String,
    },
    /// Write matching entries as JSON lines, oldest first (re-verifiable with `verify --file`).
    Export {
        #[command(flatten)]
        filter: FilterArgs,
        /// Write to this file instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Walk the whole chain (and signed checkpoints): exits 0 when intact, 10 naming the first
    /// bad entry otherwise.
    Verify(VerifyArgs),
}

#[derive(Debug, Args)]
pub struct FilterArgs {
    /// Entries whose subject or actor is this principal.
    #[arg(long)]
    pub principal: Option<String>,
    #[arg(long)]
    pub service: Option<String>,
    /// A grant id.
    #[arg(long)]
    pub grant: Option<String>,
    /// A request id.
    #[arg(long)]
    pub request: Option<String>,
    /// A decision id (`x-jitgate-decision-id`).
    #[arg(long)]
    pub decision: Option<String>,
    /// Event kinds (repeatable or comma-separated); `grant.*` matches a family.
    #[arg(long = "kind", value_delimiter = ',')]
    pub kinds: Vec<String>,
    /// From this time: RFC 3339, or a duration back from now (`1h`).
    #[arg(long)]
    pub since: Option<String>,
    /// Up to this time: RFC 3339, or a duration back from now.
    #[arg(long)]
    pub until: Option<String>,
    #[command(flatten)]
    pub direct: DirectOpts,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Verify an export file instead of the live log.
    #[arg(long)]
    pub file: Option<PathBuf>,
    /// Files holding signed checkpoints (the checkpoint file, or saved logs); repeatable.
    #[arg(long = "checkpoints")]
    pub checkpoints: Vec<PathBuf>,
    /// Environment variable holding the checkpoint key.
    #[arg(long, default_value = "JITGATE_AUDIT_CHECKPOINT_KEY")]
    pub checkpoint_key_env: String,
    #[command(flatten)]
    pub direct: DirectOpts,
}

impl FilterArgs {
    fn filter(&self) -> Result<AuditFilter, CliError> {
        let now = SystemClock.now();
        let time = |flag: &str, v: &Option<String>| {
            v.as_deref()
                .map(|raw| parse_time(raw, now))
                .transpose()
                .map_err(|e| CliError::new(exit::USAGE, format!("--{flag}: {e}")))
        };
        Ok(AuditFilter {
            principal: self.principal.clone(),
            service: self.service.clone(),
            grant: self.grant.clone(),
            request: self.request.clone(),
            decision: self.decision.clone(),
            kinds: self.kinds.clone(),
            since: time("since", &self.since)?,
            until: time("until", &self.until)?,
        })
    }
}

pub async fn run(cmd: AuditCommand, opts: &ClientOpts) -> Result<(), CliError> {
    let client = Client::new(&opts.server, opts.token.clone())?;
    match cmd {
        AuditCommand::Query { filter, limit, order, cursor } => {
            let source = open(client, &filter.direct)?;
            let order = if order == "asc" { Order::Asc } else { Order::Desc };
            if let Some(c) = cursor.as_deref().filter(|c| crate::audit::parse_cursor(c).is_none()) {
                let m = format!("--cursor: `{c}` is not a cursor a previous page printed");
                return Err(CliError::new(exit::USAGE, m));
            }
            let q = AuditQuery {
                filter: filter.filter()?,
                limit: limit.clamp(1, 10_000),
                cursor,
                order,
            };
            let page = source.page(&q).await?;
            print_entries(&page.entries, opts.output)?;
            if let Some(next) = page.next.filter(|_| !opts.output.structured()) {
                eprintln!("More entries: --cursor {next}");
            }
            Ok(())
        }
        AuditCommand::Tail { filter, lines, follow, interval } => {
            let every = crate::time::Ttl::parse(&interval)
                .map_err(|e| CliError::new(exit::USAGE, format!("--interval: {e}")))?
                .as_duration()
                .max(Duration::from_millis(100));
            tail(open(client, &filter.direct)?, filter.filter()?, lines, follow, every, opts.output)
                .await
        }
        AuditCommand::Export { filter, out } => {
            export(open(client, &filter.direct)?, filter.filter()?, out).await
        }
        AuditCommand::Verify(args) => super::audit_verify::verify(client, args).await,
    }
}

pub(super) fn open(client: Client, direct: &DirectOpts) -> Result<Source, CliError> {
    Source::open(client, direct.redis_url.as_deref(), &direct.key_prefix)
}

async fn tail(
    source: Source,
    filter: AuditFilter,
    lines: usize,
    follow: bool,
    every: Duration,
    format: Format,
) -> Result<(), CliError> {
    let q = AuditQuery {
        filter: filter.clone(),
        limit: lines.clamp(1, 10_000),
        cursor: None,
        order: Order::Desc,
    };
    let mut latest = source.page(&q).await?.entries;
    latest.reverse();
    let mut cursor = latest.last().map(|s| s.cursor.clone());
    if cursor.is_none() {
        // Nothing matched yet: follow from the log's newest entry, whatever it is.
        let any = AuditQuery { limit: 1, ..AuditQuery::default() };
        cursor = source.page(&any).await?.entries.first().map(|s| s.cursor.clone());
    }
    print_lines(&latest, format)?;
    if !follow {
        return Ok(());
    }
    loop {
        tokio::time::sleep(every).await;
        loop {
            let q = AuditQuery {
                filter: filter.clone(),
                limit: 1000,
                cursor: cursor.clone(),
                order: Order::Asc,
            };
            let page = source.page(&q).await?;
            print_lines(&page.entries, format)?;
            if let Some(last) = page.entries.last() {
                cursor = Some(last.cursor.clone());
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
    }
}

async fn export(source: Source, filter: AuditFilter, out: Option<PathBuf>) -> Result<(), CliError> {
    let mut sink: Box<dyn Write> = match &out {
        Some(path) => {
            Box::new(std::io::BufWriter::new(std::fs::File::create(path).map_err(|e| {
                CliError::new(exit::USAGE, format!("cannot create `{}`: {e}", path.display()))
            })?))
        }
        None => Box::new(std::io::stdout().lock()),
    };
    let mut q = AuditQuery { filter, limit: 10_000, cursor: None, order: Order::Asc };
    let mut n = 0usize;
    loop {
        let page = source.page(&q).await?;
        for s in &page.entries {
            writeln!(sink, "{}", line(s)?.to_line()).map_err(write_failed)?;
            n += 1;
        }
        match page.next {
            Some(next) => q.cursor = Some(next),
            None => break,
        }
    }
    sink.flush().map_err(write_failed)?;
    if let Some(path) = out {
        eprintln!("Exported {n} entries to {}", path.display());
    }
    Ok(())
}

fn line(s: &Stored) -> Result<EntryLine, CliError> {
    EntryLine::from_stored(s).map_err(|e| CliError::new(exit::UNAVAILABLE, e.to_string()))
}

fn write_failed(e: std::io::Error) -> CliError {
    CliError::new(exit::UNAVAILABLE, format!("cannot write the export: {e}"))
}

/// Tables for humans; JSON lines with `-o json` (one object per entry, as `export` writes).
fn print_lines(entries: &[Stored], format: Format) -> Result<(), CliError> {
    if format.structured() {
        for s in entries {
            println!("{}", line(s)?.to_line());
        }
        return Ok(());
    }
    for s in entries {
        let e: Value = serde_json::from_str(&s.entry.event).unwrap_or(Value::Null);
        println!(
            "{:>6}  {}  {:<18} {}",
            s.entry.seq,
            output::str_field(&e, "at"),
            output::str_field(&e, "kind"),
            summary(&e)
        );
    }
    Ok(())
}

/// `-o json|yaml` of a query: the entries as exported.
#[derive(serde::Serialize)]
struct Entries {
    entries: Vec<EntryLine>,
}

fn print_entries(entries: &[Stored], format: Format) -> Result<(), CliError> {
    if format.structured() {
        let items = entries.iter().map(line).collect::<Result<Vec<_>, _>>()?;
        output::print(&Entries { entries: items }, format);
        return Ok(());
    }
    if entries.is_empty() {
        println!("No matching audit entries.");
        return Ok(());
    }
    let mut t = output::table(&["SEQ", "AT", "KIND", "ACTOR", "SUBJECT", "TARGET", "DETAIL"]);
    for s in entries {
        let e: Value = serde_json::from_str(&s.entry.event).unwrap_or(Value::Null);
        let target = ["grant_id", "request_id", "policy", "incident", "decision_id"]
            .iter()
            .find_map(|k| e.get(*k).and_then(Value::as_str))
            .unwrap_or("-");
        t.add_row(vec![
            s.entry.seq.to_string(),
            output::str_field(&e, "at").to_string(),
            output::str_field(&e, "kind").to_string(),
            or_dash(output::str_field(&e, "actor")),
            or_dash(output::str_field(&e, "subject")),
            target.to_string(),
            clip(&detail(&e), 60),
        ]);
    }
    println!("{t}");
    Ok(())
}

/// At most `max` characters, with `…` when cut (`-o json` has the whole event).
fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

fn or_dash(s: &str) -> String {
    if s.is_empty() { "-".into() } else { s.to_string() }
}

/// Service, method, path and reason, as far as the event has them, and how many denies a
/// folded record counts.
fn detail(e: &Value) -> String {
    let mut parts: Vec<String> = ["service", "method", "path", "reason"]
        .iter()
        .filter_map(|k| e.get(*k).and_then(Value::as_str).map(String::from))
        .collect();
    let folded = e["kind"] == "decision.deny" && e["details"]["count"].is_u64();
    if folded {
        parts.push(format!("×{}", e["details"]["count"]));
    }
    parts.join(" ")
}

fn summary(e: &Value) -> String {
    let who = output::str_field(e, "actor");
    let subject = output::str_field(e, "subject");
    let mut parts = Vec::new();
    if !who.is_empty() {
        parts.push(format!("by {who}"));
    }
    if !subject.is_empty() {
        parts.push(format!("for {subject}"));
    }
    for k in ["grant_id", "request_id", "policy", "decision_id"] {
        if let Some(v) = e.get(k).and_then(Value::as_str) {
            parts.push(format!("{}={v}", k.trim_end_matches("_id")));
        }
    }
    let d = detail(e);
    if !d.is_empty() {
        parts.push(d);
    }
    parts.join(" ")
}
