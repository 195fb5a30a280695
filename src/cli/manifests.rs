//! `jitgate validate -f PATH...` (no server needed; for CI) and
//! `jitgate apply -f PATH... [--dry-run] [--prune]` (plan like `kubectl diff`, then apply).

use std::path::PathBuf;

use clap::Args;
use jitgate_api_types::{ApplyDocument, ApplyInput, ApplyReport, PlanAction};

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
    let documents: Vec<ApplyDocument> =
        docs.into_iter().map(|d| ApplyDocument { source: d.source, manifest: d.value }).collect();
    let mut input = ApplyInput { documents, dry_run: true, prune: args.prune };
    let plan: ApplyReport = client.post("/v1/apply", &input).await?;
    let changes = count_changes(&plan);
    if args.dry_run || changes == 0 {
        report(
            &plan,
            opts.output,
            if args.dry_run { "dry run: nothing was changed" } else { "nothing to change" },
        );
        return Ok(());
    }
    input.dry_run = false;
    let done: ApplyReport = client.post("/v1/apply", &input).await?;
    report(&done, opts.output, "applied");
    Ok(())
}

fn count_changes(report: &ApplyReport) -> usize {
    report
        .plan
        .iter()
        .filter(|i| !matches!(i.action, PlanAction::Unchanged | PlanAction::Skip))
        .count()
}

fn report(report: &ApplyReport, format: Format, verdict: &str) {
    if format.structured() {
        output::print(report, format);
        return;
    }
    let mut counts = std::collections::BTreeMap::new();
    for item in &report.plan {
        let action = item.action.as_str();
        *counts.entry(action).or_insert(0) += 1;
        let name = format!("{}/{}", item.kind.as_str().to_ascii_lowercase(), item.name);
        let note = item.note.as_ref().map(|n| format!("  ({n})")).unwrap_or_default();
        println!("{name:<40} {action:<10}{note}");
        for change in &item.changes {
            println!("    {change}");
        }
    }
    let summary: Vec<String> = counts.iter().map(|(a, n)| format!("{n} {a}")).collect();
    println!("{}: {}", verdict, summary.join(", "));
}
