//! Observability contracts: a live scrape parses as OpenMetrics and holds every series the
//! README documents; the shipped dashboard and alert rules only use series jitgate exports.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::jitgate::check_request;
use common::{Jitgate, RedisServer, repo_file, wait_until};
use serde_json::Value;

/// A parsed exposition: family name → type, and every sample (name, labels, value).
struct Scrape {
    families: BTreeMap<String, String>,
    samples: Vec<(String, BTreeMap<String, String>, f64)>,
}

/// A strict-enough OpenMetrics text parser: every line must be a known comment, a sample of a
/// declared family, or the final `# EOF`.
fn parse(text: &str) -> Scrape {
    let mut families = BTreeMap::new();
    let mut samples = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.last(), Some(&"# EOF"), "the exposition must end with # EOF");
    let name_ok = |n: &str| {
        !n.is_empty()
            && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
            && !n.starts_with(|c: char| c.is_ascii_digit())
    };
    for line in &lines[..lines.len() - 1] {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert!(name_ok(name), "bad family name in {line}");
            assert!(
                ["counter", "gauge", "histogram", "info", "summary", "unknown"].contains(&kind),
                "{line}"
            );
            families.insert(name.to_string(), kind.to_string());
            continue;
        }
        if line.starts_with("# HELP ") || line.starts_with("# UNIT ") {
            continue;
        }
        assert!(!line.starts_with('#'), "unexpected comment: {line}");
        let (series, value) = line.rsplit_once(' ').unwrap();
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("bad value in {line}")),
        };
        let (name, labels) = match series.split_once('{') {
            Some((n, l)) => (n, l.strip_suffix('}').unwrap_or_else(|| panic!("{line}"))),
            None => (series, ""),
        };
        assert!(name_ok(name), "bad sample name in {line}");
        let mut map = BTreeMap::new();
        for pair in split_labels(labels) {
            let (k, v) = pair.split_once('=').unwrap_or_else(|| panic!("{line}"));
            assert!(v.starts_with('"') && v.ends_with('"'), "{line}");
            map.insert(k.to_string(), v[1..v.len() - 1].to_string());
        }
        let family = family_of(name, &families)
            .unwrap_or_else(|| panic!("sample of no declared family: {line}"));
        assert!(families.contains_key(&family));
        samples.push((name.to_string(), map, value));
    }
    Scrape { families, samples }
}

/// Splits `a="x",b="y,z"` on the commas between labels.
fn split_labels(s: &str) -> Vec<String> {
    let (mut out, mut cur, mut quoted, mut escaped) = (Vec::new(), String::new(), false, false);
    for c in s.chars() {
        match c {
            '\\' if quoted && !escaped => escaped = true,
            '"' if !escaped => quoted = !quoted,
            ',' if !quoted => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            _ => escaped = false,
        }
        cur.push(c);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The family a sample or series name belongs to (`x_total` → `x`, `x_bucket` → `x`).
fn family_of(name: &str, families: &BTreeMap<String, String>) -> Option<String> {
    if families.contains_key(name) {
        return Some(name.to_string());
    }
    ["_total", "_bucket", "_sum", "_count", "_created", "_info"]
        .iter()
        .filter_map(|s| name.strip_suffix(s))
        .find(|f| families.contains_key(*f))
        .map(String::from)
}

async fn busy_jitgate() -> (RedisServer, Jitgate) {
    let redis = RedisServer::start().await;
    let j = Jitgate::start(&redis.url()).await;
    let id = j.grant("user:alice", "orders", &["GET"], &["/orders/**"], "15m").await;
    let auth = format!("Bearer {}", j.token("alice", &[]));
    j.check(check_request("GET", "/orders/1", "orders", &[("authorization", &auth)])).await;
    j.check(check_request("GET", "/billing/1", "billing", &[("authorization", &auth)])).await;
    j.check(check_request("GET", "/orders/1", "orders", &[])).await;
    j.revoke(&id).await;
    let (_, _) = j.call("GET", "/v1/grants", Some(&j.admin_token()), None).await;
    (redis, j)
}

async fn scrape(j: &Jitgate) -> (String, Scrape) {
    let resp = reqwest::get(format!("{}/metrics", j.base())).await.unwrap();
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let text = resp.text().await.unwrap();
    let parsed = parse(&text);
    (text, parsed)
}

/// The series names in the README's metrics table.
fn documented() -> Vec<String> {
    let readme = std::fs::read_to_string(repo_file("README.md")).unwrap();
    let start = readme.find("### Metrics").expect("README has a Metrics section");
    let section = &readme[start..];
    let section = &section[..section[3..].find("\n### ").map_or(section.len(), |i| i + 3)];
    section
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| l[3..].split('`').next().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_scrape_parses_and_holds_every_documented_series() {
    let (_redis, j) = busy_jitgate().await;
    // Decision records are written in the background; let a batch go.
    wait_until(Duration::from_secs(5), || async {
        scrape(&j).await.0.contains("jitgate_audit_events_total ")
    })
    .await;
    let (text, s) = scrape(&j).await;
    let documented = documented();
    assert!(documented.len() >= 25, "{documented:?}");
    for name in &documented {
        assert!(
            family_of(name, &s.families).is_some(),
            "`{name}` is documented but not exported:\n{text}"
        );
    }
    // Every family jitgate exports is documented, too.
    let documented_families: BTreeSet<String> =
        documented.iter().filter_map(|n| family_of(n, &s.families)).collect();
    for f in s.families.keys() {
        assert!(
            documented_families.contains(f),
            "`{f}` is exported but not documented in the README"
        );
    }
    // The activity above shows up with the labels the README promises.
    let has = |name: &str, label: (&str, &str)| {
        s.samples.iter().any(|(n, l, v)| {
            n == name && l.get(label.0).map(String::as_str) == Some(label.1) && *v > 0.0
        })
    };
    assert!(has("jitgate_decisions_total", ("decision", "allow")), "{text}");
    assert!(has("jitgate_decisions_total", ("reason", "token_missing")), "{text}");
    assert!(has("grpc_server_handled_total", ("grpc_code", "OK")), "{text}");
    assert!(has("jitgate_check_duration_seconds_bucket", ("le", "+Inf")), "{text}");
    assert!(has("jitgate_store_op_duration_seconds_count", ("op", "live")), "{text}");
    // No label carries a subject, a grant id or a path.
    for (n, labels, _) in &s.samples {
        for v in labels.values() {
            assert!(!v.contains("user:") && !v.starts_with("/orders"), "{n} leaks {v}");
        }
    }
}

/// Metric names used in PromQL expressions (`up` is Prometheus's own).
fn metric_names(expr: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut cur = String::new();
    for c in expr.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_alphanumeric() || c == '_' {
            cur.push(c);
        } else {
            if cur.starts_with("jitgate_") || cur.starts_with("grpc_server_") {
                out.insert(std::mem::take(&mut cur));
            }
            cur.clear();
        }
    }
    out
}

#[tokio::test]
async fn the_dashboard_and_alerts_use_only_series_jitgate_exports() {
    let (_redis, j) = busy_jitgate().await;
    let (_, s) = scrape(&j).await;
    let dashboard: Value = serde_json::from_str(
        &std::fs::read_to_string(repo_file("deploy/monitoring/dashboard.json")).unwrap(),
    )
    .unwrap();
    let mut exprs = Vec::new();
    for p in dashboard["panels"].as_array().unwrap() {
        assert!(p["title"].as_str().is_some_and(|t| !t.is_empty()), "{p}");
        if p["type"] == "row" {
            continue;
        }
        assert_eq!(p["datasource"]["uid"], "${datasource}", "{}", p["title"]);
        let targets = p["targets"].as_array().unwrap();
        assert!(!targets.is_empty(), "{}", p["title"]);
        exprs.extend(targets.iter().map(|t| t["expr"].as_str().unwrap().to_string()));
    }
    assert!(exprs.len() >= 20);
    let rules: Value = serde_saphyr::from_str(
        &std::fs::read_to_string(repo_file("deploy/monitoring/prometheus-rule.yaml")).unwrap(),
    )
    .unwrap();
    assert_eq!(rules["kind"], "PrometheusRule");
    let mut alerts = BTreeSet::new();
    for group in rules["spec"]["groups"].as_array().unwrap() {
        for r in group["rules"].as_array().unwrap() {
            let name = r["alert"].as_str().unwrap().to_string();
            assert!(
                ["critical", "warning", "info"]
                    .contains(&r["labels"]["severity"].as_str().unwrap()),
                "{name}"
            );
            assert!(
                r["annotations"]["summary"].is_string()
                    && r["annotations"]["description"].is_string(),
                "{name}"
            );
            exprs.push(r["expr"].as_str().unwrap().to_string());
            alerts.insert(name);
        }
    }
    for required in [
        "JitgateStoreUnreachable",
        "JitgateDenySpike",
        "JitgateStalenessBoundExceeded",
        "JitgateAuditDrops",
    ] {
        assert!(alerts.contains(required), "missing alert {required}");
    }
    let readme = std::fs::read_to_string(repo_file("README.md")).unwrap();
    for a in &alerts {
        assert!(readme.contains(&format!("`{a}`")), "alert {a} is not explained in the README");
    }
    for e in &exprs {
        let open = e.matches('(').count();
        assert_eq!(open, e.matches(')').count(), "unbalanced parentheses: {e}");
        for m in metric_names(e) {
            assert!(family_of(&m, &s.families).is_some(), "`{m}` (in `{e}`) is not exported");
        }
    }
}
