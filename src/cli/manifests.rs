//! `jitgate validate -f PATH...` (no server needed; for CI) and
//! `jitgate apply -f PATH... [--dry-run] [--prune]` (plan like `kubectl diff`, then apply).

use std::path::PathBuf;

use clap::Args;
use serde_json::{Value, json};

use super::ClientOpts;
use super::client::{CliError, Client};
use super::exit;
use super::output::{self, Format};
use crate::access::PolicySet;
use crate::manifest::{self, Manifest, ManifestError, Object, RawDoc};

#[derive(Debug, Args)]
pub struct FileArgs {
    /// Manifest files or directories (`.yaml`, `.yml`, `.json`), several allowed.
    #[arg(short = 'f', long = "file", required = true)]
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub files: FileArgs,
    /// Show the plan and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Also remove manifest-managed grants and policies that are no longer in the files.
    #[arg(long)]
    pub prune: bool,
}

/// Reads and validates every document, reporting every problem.
fn load(files: &[PathBuf]) -> Result<(Vec<RawDoc>, Vec<Manifest>), CliError> {
    let (docs, mut errors) = manifest::load::read(files);
    let (manifests, more) = manifest::parse_all(&docs);
    errors.extend(more);
    if !errors.is_empty() {
        return Err(invalid(&errors));
    }
    if docs.is_empty() {
        return Err(CliError::new(exit::REFUSED, "no manifest documents found in the given files"));
    }
    Ok((docs, manifests))
}

fn invalid(errors: &[ManifestError]) -> CliError {
    let mut e =
        CliError::new(exit::REFUSED, format!("{} problem(s) in the manifests", errors.len()));
    e.details = errors.iter().map(ToString::to_string).collect();
    e
}

pub fn validate(args: &FileArgs) -> Result<(), CliError> {
    let (docs, manifests) = load(&args.files)?;
    let policies = PolicySet::new(
        manifests
            .iter()
            .filter_map(|m| match &m.object {
                Object::Policy(p) => Some((**p).clone()),
                Object::Grant(_) => None,
            })
            .collect(),
    );
    let standing = manifest::check_standing(&manifests, &policies);
    let grants = manifests.iter().filter(|m| matches!(m.object, Object::Grant(_))).count();
    println!(
        "{} document(s) valid: {grants} grant(s), {} polic(ies)",
        docs.len(),
        manifests.len() - grants
    );
    for e in &standing {
        eprintln!("note: {e} (checked again by `apply` against the server's policies)");
    }
    Ok(())
}

pub async fn apply(args: &ApplyArgs, opts: &ClientOpts) -> Result<(), CliError> {
    let (docs, _) = load(&args.files.files).map_err(|mut e| {
        e.message.push_str("; nothing was changed");
        e
    })?;
    let client = Client::new(&opts.server, opts.token.clone())?;
    let documents: Vec<Value> =
        docs.iter().map(|d| json!({"source": d.source, "manifest": d.value})).collect();
    let plan = client
        .post("/v1/apply", &json!({"documents": documents, "dry_run": true, "prune": args.prune}))
        .await?;
    let changes = count_changes(&plan);
    if args.dry_run || changes == 0 {
        report(
            &plan,
            opts.output,
            if args.dry_run { "dry run: nothing was changed" } else { "nothing to change" },
        );
        return Ok(());
    }
    let done = client
        .post("/v1/apply", &json!({"documents": documents, "dry_run": false, "prune": args.prune}))
        .await?;
    report(&done, opts.output, "applied");
    Ok(())
}

fn items(report: &Value) -> Vec<Value> {
    report.get("plan").and_then(Value::as_array).cloned().unwrap_or_default()
}

fn count_changes(report: &Value) -> usize {
    items(report)
        .iter()
        .filter(|i| !matches!(output::str_field(i, "action"), "unchanged" | "skip"))
        .count()
}

fn report(report: &Value, format: Format, verdict: &str) {
    if format.structured() {
        output::print(report, format);
        return;
    }
    let plan = items(report);
    let mut counts = std::collections::BTreeMap::new();
    for item in &plan {
        let action = output::str_field(item, "action");
        *counts.entry(action.to_string()).or_insert(0) += 1;
        let name = format!(
            "{}/{}",
            output::str_field(item, "kind").to_ascii_lowercase(),
            output::str_field(item, "name")
        );
        let note = output::str_field(item, "note");
        let note = if note.is_empty() { String::new() } else { format!("  ({note})") };
        println!("{name:<40} {action:<10}{note}");
        for change in item
            .get("changes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            println!("    {change}");
        }
    }
    let summary: Vec<String> = counts.iter().map(|(a, n)| format!("{n} {a}")).collect();
    println!("{}: {}", verdict, summary.join(", "));
}
