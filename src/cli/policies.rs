//! `jitgate policy put|get|list|delete`: access policies from YAML or JSON files.

use clap::Subcommand;
use jitgate_api_types::{PolicyDeleted, PolicyList};
use serde_json::Value;

use super::ClientOpts;
use super::client::{CliError, Client};
use super::exit;
use super::grants::encode;
use super::output::{self, Format};
use crate::access::PolicyDocument;

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Create or replace a policy from a file (`kind: AccessPolicy`, YAML or JSON).
    Put {
        #[arg(short = 'f', long = "file")]
        file: std::path::PathBuf,
    },
    /// Show one policy.
    Get { name: String },
    /// List policies.
    List,
    /// Delete a policy (its grants keep their expiry).
    Delete { name: String },
}

pub async fn run(cmd: PolicyCommand, opts: &ClientOpts) -> Result<(), CliError> {
    let (client, format) = (&Client::new(&opts.server, opts.token.clone())?, opts.output);
    match cmd {
        PolicyCommand::Put { file } => {
            let text = std::fs::read_to_string(&file).map_err(|e| {
                CliError::new(exit::USAGE, format!("cannot read `{}`: {e}", file.display()))
            })?;
            let doc: Value = serde_saphyr::from_str(&text).map_err(|e| {
                CliError::new(exit::USAGE, format!("`{}` is not YAML or JSON: {e}", file.display()))
            })?;
            let name = doc
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            if name.is_empty() {
                return Err(CliError::new(
                    exit::USAGE,
                    format!("`{}`: metadata.name is required", file.display()),
                ));
            }
            let stored: PolicyDocument = client
                .put_raw(&format!("/v1/policies/{}", encode(&name)), text, "application/yaml")
                .await?;
            match format {
                Format::Json | Format::Yaml => output::print(&stored, format),
                Format::Table => println!("policy {name} stored"),
            }
        }
        PolicyCommand::Get { name } => {
            // A policy reads best as the YAML it was written in.
            let doc: PolicyDocument =
                client.get(&format!("/v1/policies/{}", encode(&name))).await?;
            output::print(&doc, if format == Format::Json { Format::Json } else { Format::Yaml });
        }
        PolicyCommand::List => {
            let body: PolicyList = client.get("/v1/policies").await?;
            if format.structured() {
                output::print(&body, format);
                return Ok(());
            }
            let mut t = output::table(&[
                "NAME",
                "RESOURCES",
                "REQUESTERS",
                "APPROVERS",
                "MAX TTL",
                "AUTO-APPROVE",
            ]);
            for p in &body.policies {
                let spec = &p.spec;
                t.add_row(vec![
                    p.metadata.name.clone(),
                    output::wire_scopes(&spec.resources),
                    spec.requesters.join(", "),
                    spec.approvers.join(", "),
                    spec.max_ttl.clone(),
                    format!("{} rule(s)", spec.auto_approve.len()),
                ]);
            }
            println!("{t}");
        }
        PolicyCommand::Delete { name } => {
            let _: PolicyDeleted =
                client.delete(&format!("/v1/policies/{}", encode(&name))).await?;
            println!("policy {name} deleted");
        }
    }
    Ok(())
}
