//! `jitgate`: parse the command line, load configuration, then run the server or a client
//! command. Exit codes are documented in `cli::exit`.

use std::process::ExitCode;

#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;
use jitgate::cli::{self, Cli, CliError, Command, exit};
use jitgate::config;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let env: Vec<(String, String)> = std::env::vars().collect();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let code = runtime.block_on(dispatch(cli, env));
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

async fn dispatch(cli: Cli, env: Vec<(String, String)>) -> i32 {
    match cli.command {
        Command::Serve { config } => serve(config, cli.log_format, env).await,
        Command::Grants { command, client } => finish(cli::grants::run(command, &client).await),
        Command::Request { command, client } => finish(cli::requests::run(command, &client).await),
        Command::Policy { command, client } => finish(cli::policies::run(command, &client).await),
        Command::Apply { args, client } => finish(cli::manifests::apply(&args, &client).await),
        Command::Validate { args } => finish(cli::manifests::validate(&args)),
        Command::Explain { args, client } => finish(cli::explain::run(&args, &client).await),
        Command::Audit { command, client } => finish(cli::audit::run(command, &client).await),
        Command::Report { command, client } => finish(cli::report::run(command, &client).await),
        Command::Quarantine { command, opts, output } => {
            finish(cli::quarantine::run(command, &opts, output).await)
        }
        Command::Token { config, args } => {
            let result = load(config.as_deref(), &env)
                .and_then(|c| cli::token::run(&args, &c, &env))
                .map(|t| println!("{t}"));
            finish(result)
        }
    }
}

async fn serve(
    path: Option<std::path::PathBuf>,
    log_format: Option<String>,
    env: Vec<(String, String)>,
) -> i32 {
    let config = match config::load(path.as_deref(), &env) {
        Ok(c) => c,
        Err(e) => {
            eprint!("{e}");
            return exit::USAGE;
        }
    };
    let telemetry = jitgate::telemetry::init(log_format.as_deref().unwrap_or(&config.log.format));
    for name in config::unknown_overrides(&env, &config) {
        tracing::warn!(env = %name, "Environment variable looks like a jitgate setting but matches none; ignored");
    }
    let result = jitgate::app::run(config, env).await;
    telemetry.shutdown().await;
    match result {
        Ok(()) => exit::OK,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "jitgate failed");
            eprintln!("error: {e:#}");
            1
        }
    }
}

fn load(
    path: Option<&std::path::Path>,
    env: &[(String, String)],
) -> Result<config::Config, CliError> {
    config::load(path, env).map_err(|e| CliError::new(exit::USAGE, e.to_string()))
}

fn finish(result: Result<(), CliError>) -> i32 {
    match result {
        Ok(()) => exit::OK,
        Err(e) => {
            cli::report(&e);
            e.code
        }
    }
}
