//! TRANSPORT: the `jitgate` command line. `serve` runs the server; every other command is a
//! client of the REST API (`--server`/`JITGATE_SERVER`, `--token`/`JITGATE_TOKEN`,
//! `-o table|json`) and exits with a code scripts can rely on ([`exit`]).

pub mod audit;
mod audit_source;
mod audit_verify;
pub mod client;
pub mod direct;
pub mod explain;
pub mod grants;
pub mod manifests;
pub mod output;
pub mod policies;
pub mod quarantine;
pub mod report;
pub mod requests;
pub mod token;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

pub use client::{CliError, Client};
pub use output::Format;

/// Exit codes, stable for scripts and CI pipelines.
pub mod exit {
    /// Success.
    pub const OK: i32 = 0;
    /// The server refused the request (invalid input, conflict).
    pub const REFUSED: i32 = 1;
    /// Bad command-line usage.
    pub const USAGE: i32 = 2;
    /// jitgate (or its store) is unreachable or unavailable; retrying may help.
    pub const UNAVAILABLE: i32 = 3;
    /// Missing or invalid token.
    pub const UNAUTHENTICATED: i32 = 4;
    /// Authenticated, but not allowed.
    pub const FORBIDDEN: i32 = 5;
    /// No such grant or request.
    pub const NOT_FOUND: i32 = 6;
    /// `request create --wait`: the request was denied.
    pub const DENIED: i32 = 7;
    /// `request create --wait`: the request expired or was cancelled undecided.
    pub const EXPIRED: i32 = 8;
    /// `request create --wait`: no decision before `--timeout`.
    pub const TIMEOUT: i32 = 9;
    /// `audit verify`: the audit log is not intact (the message names the first bad entry).
    pub const AUDIT_FAILED: i32 = 10;
}

#[derive(Debug, Parser)]
#[command(
    name = "jitgate",
    version,
    about = "Just-in-time access gateway for APIs (Envoy ext_authz)"
)]
pub struct Cli {
    /// Log format for `serve`: `text` or `json` (overrides `log.format`).
    #[arg(long, global = true, value_parser = ["text", "json"])]
    pub log_format: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

/// Options shared by every client command.
#[derive(Debug, clap::Args)]
pub struct ClientOpts {
    /// The jitgate REST API.
    #[arg(long, env = "JITGATE_SERVER", default_value = "http://127.0.0.1:8080", global = true)]
    pub server: String,
    /// Bearer token (JWT) to call the API with.
    #[arg(long, env = "JITGATE_TOKEN", hide_env_values = true, global = true)]
    pub token: Option<String>,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value = "table", global = true)]
    pub output: Format,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server: gRPC ext_authz on :9191, REST on :8080.
    Serve {
        /// Configuration file (YAML).
        #[arg(long, env = "JITGATE_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Create, list, show and revoke grants.
    Grants {
        #[command(subcommand)]
        command: grants::GrantsCommand,
        #[command(flatten)]
        client: ClientOpts,
    },
    /// Request access, and approve, deny or cancel requests.
    Request {
        #[command(subcommand)]
        command: requests::RequestCommand,
        #[command(flatten)]
        client: ClientOpts,
    },
    /// Manage access policies (admins).
    Policy {
        #[command(subcommand)]
        command: policies::PolicyCommand,
        #[command(flatten)]
        client: ClientOpts,
    },
    /// Apply Grant and AccessPolicy manifests: plan, then apply (like `kubectl apply`).
    Apply {
        #[command(flatten)]
        args: manifests::ApplyArgs,
        #[command(flatten)]
        client: ClientOpts,
    },
    /// Validate manifests without a server (for CI pipelines); exits non-zero on errors.
    Validate {
        #[command(flatten)]
        args: manifests::FileArgs,
    },
    /// Explain the decision jitgate would make now for a subject and a call.
    Explain {
        #[command(flatten)]
        args: explain::ExplainArgs,
        #[command(flatten)]
        client: ClientOpts,
    },
    /// Query, follow, export and verify the tamper-evident audit log.
    Audit {
        #[command(subcommand)]
        command: audit::AuditCommand,
        #[command(flatten)]
        client: ClientOpts,
    },
    /// Reports: `report access` shows what shadow mode saw and suggests manifests for it.
    Report {
        #[command(subcommand)]
        command: report::ReportCommand,
        #[command(flatten)]
        client: ClientOpts,
    },
    /// Inspect and delete request records moved aside because they could not be decoded
    /// (straight to Redis: `--redis-url`).
    Quarantine {
        #[command(subcommand)]
        command: quarantine::QuarantineCommand,
        #[command(flatten)]
        opts: quarantine::QuarantineOpts,
        /// Output format.
        #[arg(short = 'o', long = "output", value_enum, default_value = "table", global = true)]
        output: Format,
    },
    /// Mint a development token from the configured HS256 secret (never for production).
    Token {
        /// Configuration file (YAML) naming the HS256 issuer.
        #[arg(long, env = "JITGATE_CONFIG")]
        config: Option<PathBuf>,
        #[command(flatten)]
        args: token::TokenArgs,
    },
}

/// Prints a client error the same way for every command.
pub fn report(e: &CliError) {
    eprintln!("error: {}", e.message);
    for d in &e.details {
        eprintln!("  - {d}");
    }
}
