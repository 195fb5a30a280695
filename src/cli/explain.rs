//! `jitgate explain`: the decision jitgate would make now for a subject and a call, and why —
//! from the API, or straight from Redis with `--redis-url` when the API is down.

use clap::Args;
use serde_json::{Value, json};

use super::ClientOpts;
use super::client::{CliError, Client};
use super::direct::{Direct, DirectOpts, unavailable};
use super::exit;
use super::output;
use crate::grant::Principal;
use crate::time::{Clock, SystemClock};
use crate::workflow::explain::{ExplainQuery, explain};

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// Who calls: `user:alice`, `service:...`.
    #[arg(long)]
    pub subject: String,
    /// A group the subject is in (repeatable): jitgate cannot know groups without a token.
    #[arg(long = "group")]
    pub groups: Vec<String>,
    #[arg(long)]
    pub service: String,
    #[arg(long)]
    pub method: String,
    #[arg(long)]
    pub path: String,
    #[command(flatten)]
    pub direct: DirectOpts,
}

pub async fn run(a: &ExplainArgs, opts: &ClientOpts) -> Result<(), CliError> {
    let explanation = match &a.direct.redis_url {
        Some(url) => direct(a, url).await?,
        None => {
            let body = json!({"subject": a.subject, "groups": a.groups, "service": a.service, "method": a.method, "path": a.path});
            Client::new(&opts.server, opts.token.clone())?.post("/v1/explain", &body).await?
        }
    };
    if opts.output.structured() {
        output::print(&explanation, opts.output);
    } else {
        print_table(&explanation);
    }
    Ok(())
}

async fn direct(a: &ExplainArgs, url: &str) -> Result<Value, CliError> {
    let usage = |m: String| CliError::new(exit::USAGE, m);
    let subject: Principal = a.subject.parse().map_err(|e| usage(format!("--subject: {e}")))?;
    let groups = a
        .groups
        .iter()
        .map(|g| {
            Principal::group(g.trim_start_matches("group:"))
                .map_err(|e| usage(format!("--group: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let store = Direct::open(url, &a.direct.key_prefix)?;
    let policies = store.policy_set().await?;
    let q = ExplainQuery {
        subject,
        groups,
        service: a.service.clone(),
        method: a.method.clone(),
        path: a.path.clone(),
    };
    let e =
        explain(&store.grants, &policies, &q, SystemClock.now()).await.map_err(|e| match e {
            crate::workflow::WorkflowError::Invalid(d) => usage(d.join("; ")),
            other => unavailable(other),
        })?;
    Ok(json!(e))
}

fn print_table(e: &Value) {
    let d = &e["decision"];
    let verdict = if d["allowed"].as_bool() == Some(true) { "ALLOW" } else { "DENY" };
    println!(
        "Decision:  {verdict} ({} {}) — {}",
        d["status"],
        output::str_field(d, "reason"),
        output::str_field(d, "message")
    );
    let principals: Vec<&str> =
        e["principals"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    println!("Caller:    {}", principals.join(", "));
    let one_time =
        if e["one_time_action"].as_bool() == Some(true) { "  (a one-time action)" } else { "" };
    println!("Call:      {}{one_time}", output::str_field(e, "call"));
    let considered = e["considered"].as_array().cloned().unwrap_or_default();
    if considered.is_empty() {
        println!(
            "Grants:    none name these principals (live, or expired within the history retention)"
        );
    } else {
        let mut t = output::table(&["GRANT", "SUBJECT", "RESOURCES", "FIT", "WHY"]);
        for c in &considered {
            let g = &c["grant"];
            t.add_row(vec![
                output::str_field(g, "id").to_string(),
                output::str_field(g, "subject").to_string(),
                output::resources(g),
                output::str_field(c, "fit").to_string(),
                output::str_field(c, "detail").to_string(),
            ]);
        }
        println!("{t}");
    }
    let r = &e["request"];
    match output::str_field(r, "outcome") {
        "requestable" => {
            let approvers: Vec<&str> =
                r["approvers"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
            let rules: Vec<&str> = r["auto_approve_rules"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let auto = if rules.is_empty() {
                String::new()
            } else {
                format!("; auto-approved by {}", rules.join(" or "))
            };
            let kind = if r["one_time"].as_bool() == Some(true) {
                "a one-time approval"
            } else {
                "access"
            };
            println!(
                "Request:   policy `{}` lets this caller request {kind} (up to {}), approved by {} ({} needed){auto}",
                output::str_field(r, "policy"),
                output::str_field(r, "max_ttl"),
                approvers.join(", "),
                r["min_approvals"]
            );
        }
        _ => println!("Request:   {}", output::str_field(r, "message")),
    }
}
