//! `jitgate quarantine`: the access request records the sweeper moved aside because they could
//! not be decoded (SECURITY row 62). An operator lists them, shows one as stored, and deletes
//! it once understood. Straight to Redis (`--redis-url`): a record that cannot be decoded has
//! no API shape, and whoever may write to jitgate's Redis is already an operator.

use std::time::Duration;

use clap::{Args, Subcommand};

use super::client::CliError;
use super::direct::unavailable;
use super::exit;
use super::output::{Format, print_json, table};
use crate::access::RequestId;
use crate::store::{RedisConn, RedisRequests, RedisSettings, RequestStore};

#[derive(Debug, Clone, Args)]
pub struct QuarantineOpts {
    /// jitgate's Redis, e.g. `redis://127.0.0.1:6379` (`delete` needs write access).
    #[arg(long, env = "JITGATE_REDIS_URL", global = true)]
    pub redis_url: Option<String>,
    /// The key prefix jitgate uses (`redis.key_prefix`).
    #[arg(long, default_value = "jitgate", global = true)]
    pub key_prefix: String,
}

#[derive(Debug, Subcommand)]
pub enum QuarantineCommand {
    /// The quarantined request records, oldest first, with why each was moved aside.
    List,
    /// One quarantined record as stored.
    Show { id: String },
    /// Deletes a quarantined record for good.
    Delete { id: String },
}

pub async fn run(
    command: QuarantineCommand,
    opts: &QuarantineOpts,
    format: Format,
) -> Result<(), CliError> {
    let store = open(opts)?;
    match command {
        QuarantineCommand::List => {
            let items = store.quarantined().await.map_err(unavailable)?;
            if format.structured() {
                print_json(&serde_json::to_value(&items).unwrap_or_default());
                return Ok(());
            }
            if items.is_empty() {
                println!("No quarantined records.");
                return Ok(());
            }
            let mut t = table(&["REQUEST", "QUARANTINED AT", "WHY"]);
            for q in &items {
                t.add_row(vec![q.id.clone(), q.quarantined_at.to_rfc3339(), q.reason.clone()]);
            }
            println!("{t}");
        }
        QuarantineCommand::Show { id } => {
            let id = parse_id(&id)?;
            match store.quarantined_record(&id).await.map_err(unavailable)? {
                Some(raw) => print!("{raw}"),
                None => return Err(not_found(&id)),
            }
        }
        QuarantineCommand::Delete { id } => {
            let id = parse_id(&id)?;
            if !store.delete_quarantined(&id).await.map_err(unavailable)? {
                return Err(not_found(&id));
            }
            println!("Deleted quarantined request record `{id}`.");
        }
    }
    Ok(())
}

fn open(opts: &QuarantineOpts) -> Result<RedisRequests, CliError> {
    let Some(url) = &opts.redis_url else {
        return Err(CliError::new(
            exit::USAGE,
            "`jitgate quarantine` reads Redis directly: pass --redis-url (or JITGATE_REDIS_URL)",
        ));
    };
    let settings = RedisSettings {
        url: url.clone(),
        key_prefix: opts.key_prefix.clone(),
        op_timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(3),
    };
    let conn = RedisConn::connect(&settings, Default::default())
        .map_err(|e| CliError::new(exit::USAGE, format!("--redis-url: {e}")))?;
    Ok(RedisRequests::new(conn))
}

fn parse_id(raw: &str) -> Result<RequestId, CliError> {
    RequestId::parse(raw).map_err(|e| {
        CliError::new(
            exit::USAGE,
            format!("`{raw}` is not a request id ({e}); see `jitgate quarantine list`"),
        )
    })
}

fn not_found(id: &RequestId) -> CliError {
    CliError::new(exit::NOT_FOUND, format!("no quarantined request record `{id}`"))
}
