//! `jitgate audit verify`: the chain checked end to end — live through the API or Redis, or
//! from exported files — against signed checkpoints kept outside Redis.

use std::path::PathBuf;

use super::audit::{VerifyArgs, open};
use super::audit_source::{Source, read_export};
use super::client::{CliError, Client};
use super::exit;
use crate::audit::Head;
use crate::audit::checkpoint::{SignedCheckpoint, scan};
use crate::audit::query::{AuditQuery, Order};
use crate::audit::verify::{Report, Verifier};

pub(super) async fn verify(client: Client, args: VerifyArgs) -> Result<(), CliError> {
    let checkpoints = read_checkpoints(&args.checkpoints)?;
    let key = if checkpoints.is_empty() {
        eprintln!(
            "warning: no --checkpoints given: a cut tail whose head was rewritten to match cannot be detected"
        );
        Vec::new()
    } else {
        std::env::var(&args.checkpoint_key_env).map(String::into_bytes).map_err(|_| {
            CliError::new(
                exit::USAGE,
                format!(
                    "checkpoints need their key: set `{}` (or --checkpoint-key-env)",
                    args.checkpoint_key_env
                ),
            )
        })?
    };
    let report = match &args.file {
        Some(path) => {
            let entries = read_export(path)?;
            let Some(first) = entries.first() else {
                return Err(CliError::new(
                    exit::USAGE,
                    format!("`{}` holds no entries", path.display()),
                ));
            };
            let mut v = Verifier::for_export(first, checkpoints, &key).map_err(failed)?;
            for s in &entries {
                v.feed(s).map_err(failed)?;
            }
            v.finish().map_err(failed)?
        }
        None => {
            let source = open(client, &args.direct)?;
            let head = source.head().await?;
            verify_live(&source, head, checkpoints, &key).await?
        }
    };
    print_report(&report);
    Ok(())
}

async fn verify_live(
    source: &Source,
    head: Head,
    checkpoints: Vec<SignedCheckpoint>,
    key: &[u8],
) -> Result<Report, CliError> {
    let last = head.seq;
    let mut v = Verifier::for_log(head, checkpoints, key).map_err(failed)?;
    let mut q = AuditQuery { limit: 10_000, order: Order::Asc, ..AuditQuery::default() };
    'pages: loop {
        let page = source.page(&q).await?;
        for s in &page.entries {
            // Entries appended after the head was read are for the next verification.
            if s.entry.seq > last {
                break 'pages;
            }
            v.feed(s).map_err(failed)?;
        }
        match page.next {
            Some(next) => q.cursor = Some(next),
            None => break,
        }
    }
    v.finish().map_err(failed)
}

fn read_checkpoints(paths: &[PathBuf]) -> Result<Vec<SignedCheckpoint>, CliError> {
    let mut out = Vec::new();
    for p in paths {
        let text = std::fs::read_to_string(p).map_err(|e| {
            CliError::new(exit::USAGE, format!("cannot read `{}`: {e}", p.display()))
        })?;
        let found = scan(&text);
        if found.is_empty() {
            eprintln!("warning: no checkpoints found in `{}`", p.display());
        }
        out.extend(found);
    }
    Ok(out)
}

fn failed(p: crate::audit::verify::Problem) -> CliError {
    CliError::new(exit::AUDIT_FAILED, format!("audit log verification FAILED: {p}"))
}

fn print_report(r: &Report) {
    match r.first {
        Some(first) => println!(
            "audit log OK: entries {first}..={} verified ({} entries), head hash {}",
            r.last, r.entries, r.last_hash
        ),
        None => println!("audit log OK: no entries to verify (head at {})", r.last),
    }
    println!(
        "checkpoints: {} matched, {} cover trimmed entries",
        r.checkpoints_checked, r.checkpoints_trimmed
    );
}
