//! Output for humans (tables) and scripts (`-o json`, `-o yaml`).

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};
use serde::Serialize;
use serde_json::Value;

use crate::grant::{Scope, ScopeWire};
use crate::time::{Timestamp, format_remaining};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Yaml,
}

impl Format {
    /// JSON or YAML: the whole object, for scripts.
    pub fn structured(self) -> bool {
        self != Self::Table
    }
}

/// Prints `v` as JSON or YAML (for `-o json|yaml`).
pub fn print(v: &impl Serialize, format: Format) {
    match format {
        Format::Yaml => print!("{}", serde_saphyr::to_string(v).unwrap_or_default()),
        _ => print_json(v),
    }
}

pub fn table(headers: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(headers.to_vec());
    t
}

pub fn print_json(v: &impl Serialize) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

pub fn str_field<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// "14m32s" until `t`, or "expired".
pub fn until(t: Timestamp, now: Timestamp) -> String {
    format_remaining(t.remaining_after(now))
}

/// `orders GET,HEAD /orders/**` for each scope, one per line.
pub fn scopes(scopes: &[Scope]) -> String {
    wire_scopes(&scopes.iter().cloned().map(ScopeWire::from).collect::<Vec<_>>())
}

/// The same, for scopes as written (a policy's `spec.resources`).
pub fn wire_scopes(scopes: &[ScopeWire]) -> String {
    scopes
        .iter()
        .map(|s| format!("{} {} {}", s.service, s.methods.join(","), s.paths.join(",")))
        .collect::<Vec<_>>()
        .join("\n")
}
