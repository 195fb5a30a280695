//! `jitgate explain`: the decision jitgate would make now for a subject and a call, and why —
//! from the API, or straight from Redis with `--redis-url` when the API is down.

use clap::Args;
use jitgate_api_types::{ExplainAnswer, ExplainInput};

use super::ClientOpts;
use super::client::{CliError, Client};
use super::direct::{Direct, DirectOpts, unavailable};
use super::exit;
use super::output;
use crate::grant::Principal;
use crate::time::{Clock, SystemClock};
use crate::workflow::explain::{ExplainQuery, Explanation, RequestOutlook, explain};

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
    match &a.direct.redis_url {
        // Straight from Redis there is no configuration, so no mode to show.
        Some(url) => show(&direct(a, url).await?, None, opts.output),
        None => {
            let body = ExplainInput {
                subject: a.subject.clone(),
                groups: a.groups.clone(),
                service: a.service.clone(),
                method: a.method.clone(),
                path: a.path.clone(),
            };
            let client = Client::new(&opts.server, opts.token.clone())?;
            let answer: ExplainAnswer = client.post("/v1/explain", &body).await?;
            show(&answer.explanation, Some(&answer), opts.output);
        }
    }
    Ok(())
}

/// The whole answer for `-o json|yaml` (`whole`, when there is more than the explanation),
/// a table otherwise.
fn show(e: &Explanation, whole: Option<&ExplainAnswer>, format: output::Format) {
    match (format.structured(), whole) {
        (true, Some(whole)) => output::print(whole, format),
        (true, None) => output::print(e, format),
        (false, _) => print_table(e),
    }
}

async fn direct(a: &ExplainArgs, url: &str) -> Result<Explanation, CliError> {
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
    explain(&store.grants, &policies, &q, SystemClock.now()).await.map_err(|e| match e {
        crate::workflow::WorkflowError::Invalid(d) => usage(d.join("; ")),
        other => unavailable(other),
    })
}

fn print_table(e: &Explanation) {
    let d = &e.decision;
    let verdict = if d.allowed { "ALLOW" } else { "DENY" };
    println!("Decision:  {verdict} ({} {}) — {}", d.status, d.reason, d.message);
    let principals: Vec<String> = e.principals.iter().map(ToString::to_string).collect();
    println!("Caller:    {}", principals.join(", "));
    let one_time = if e.one_time_action { "  (a one-time action)" } else { "" };
    println!("Call:      {}{one_time}", e.call);
    if e.considered.is_empty() {
        println!(
            "Grants:    none name these principals (live, or expired within the history retention)"
        );
    } else {
        let mut t = output::table(&["GRANT", "SUBJECT", "RESOURCES", "FIT", "WHY"]);
        for c in &e.considered {
            t.add_row(vec![
                c.grant.id.to_string(),
                c.grant.subject.to_string(),
                output::scopes(&c.grant.resources),
                c.fit.as_str().to_string(),
                c.detail.clone(),
            ]);
        }
        println!("{t}");
    }
    match &e.request {
        RequestOutlook::Requestable {
            policy,
            approvers,
            min_approvals,
            max_ttl,
            one_time,
            auto_approve_rules,
        } => {
            let approvers: Vec<String> = approvers.iter().map(ToString::to_string).collect();
            let auto = if auto_approve_rules.is_empty() {
                String::new()
            } else {
                format!("; auto-approved by {}", auto_approve_rules.join(" or "))
            };
            let kind = if *one_time { "a one-time approval" } else { "access" };
            println!(
                "Request:   policy `{policy}` lets this caller request {kind} (up to {max_ttl}), approved by {} ({min_approvals} needed){auto}",
                approvers.join(", "),
            );
        }
        RequestOutlook::NotCovered { message } | RequestOutlook::NotEligible { message } => {
            println!("Request:   {message}");
        }
    }
}
