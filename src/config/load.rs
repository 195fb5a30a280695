//! Reading the configuration: YAML, then `JITGATE_*` overrides, then typed sections, then
//! [`super::validate`]. Each stage adds to one error list, so a user sees every mistake at once.

use std::fmt;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{Config, validate};

/// Every problem found in a configuration.
#[derive(Debug)]
pub struct ConfigError {
    pub source: String,
    pub errors: Vec<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "invalid configuration ({}), {} problem(s):", self.source, self.errors.len())?;
        for e in &self.errors {
            writeln!(f, "  - {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

const SECTIONS: [&str; 18] = [
    "mode",
    "service_modes",
    "listen",
    "redis",
    "identity",
    "admins",
    "grants",
    "cache",
    "check",
    "log",
    "shutdown",
    "requests",
    "notifications",
    "incidents",
    "grpc_admin",
    "audit",
    "ui",
    "control_plane",
];

/// Lists that may be overridden from the environment, comma-separated.
const ENV_LISTS: [&str; 4] = ["admins", "audit.readers", "redis.nodes", "redis.sentinels"];

/// Maps that may be overridden from the environment as comma-separated `key=value` pairs
/// (`JITGATE_SERVICE_MODES=legacy=shadow,orders=enforce`).
const ENV_MAPS: [&str; 1] = ["service_modes"];

/// Reads `path` (or defaults when `None`) and applies `env` overrides.
pub fn load(path: Option<&Path>, env: &[(String, String)]) -> Result<Config, ConfigError> {
    let (text, source) = match path {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| ConfigError {
                source: format!("`{}`", p.display()),
                errors: vec![format!("cannot read the file: {e}")],
            })?;
            (text, format!("`{}`", p.display()))
        }
        None => (String::new(), "defaults".to_string()),
    };
    load_str(&text, &source, env)
}

/// Parses YAML text (the file's contents) with `env` overrides.
pub fn load_str(yaml: &str, source: &str, env: &[(String, String)]) -> Result<Config, ConfigError> {
    let fail = |errors| ConfigError { source: source.to_string(), errors };
    let mut tree: Value = if yaml.trim().is_empty() {
        Value::Object(Default::default())
    } else {
        serde_saphyr::from_str(yaml).map_err(|e| fail(vec![format!("not valid YAML: {e}")]))?
    };
    if tree.is_null() {
        tree = Value::Object(Default::default());
    }
    if !tree.is_object() {
        return Err(fail(vec!["the configuration must be a YAML mapping of sections".into()]));
    }
    let mut errors = Vec::new();
    apply_env(&mut tree, env, &mut errors);
    let config = typed(&tree, &mut errors);
    validate::validate(&config, env, &mut errors);
    if errors.is_empty() { Ok(config) } else { Err(fail(errors)) }
}

fn typed(tree: &Value, errors: &mut Vec<String>) -> Config {
    if let Some(obj) = tree.as_object() {
        for key in obj.keys().filter(|k| !SECTIONS.contains(&k.as_str())) {
            errors.push(format!("unknown key `{key}`: expected one of {}", SECTIONS.join(", ")));
        }
    }
    Config {
        mode: section(tree, "mode", errors),
        service_modes: section(tree, "service_modes", errors),
        listen: section(tree, "listen", errors),
        redis: section(tree, "redis", errors),
        identity: section(tree, "identity", errors),
        admins: section(tree, "admins", errors),
        grants: section(tree, "grants", errors),
        cache: section(tree, "cache", errors),
        check: section(tree, "check", errors),
        log: section(tree, "log", errors),
        shutdown: section(tree, "shutdown", errors),
        requests: section(tree, "requests", errors),
        notifications: section(tree, "notifications", errors),
        incidents: section(tree, "incidents", errors),
        grpc_admin: section(tree, "grpc_admin", errors),
        audit: section(tree, "audit", errors),
        ui: section(tree, "ui", errors),
        control_plane: section(tree, "control_plane", errors),
    }
}

/// Deserializes one section, recording unknown keys and the first type error inside it.
fn section<T: DeserializeOwned + Default>(tree: &Value, key: &str, errors: &mut Vec<String>) -> T {
    let Some(v) = tree.get(key) else { return T::default() };
    if v.is_null() {
        return T::default();
    }
    let mut unknown: Vec<String> = Vec::new();
    let mut record = |path: serde_ignored::Path<'_>| unknown.push(path.to_string());
    let de = serde_ignored::Deserializer::new(v.clone(), &mut record);
    let result: Result<T, _> = serde_path_to_error::deserialize(de);
    for u in unknown {
        errors.push(format!("unknown key `{key}.{}`", bracket_indexes(&u)));
    }
    match result {
        Ok(t) => t,
        Err(e) => {
            let path = e.path().to_string();
            let at = if path == "." { key.to_string() } else { format!("{key}.{path}") };
            errors.push(format!("`{at}`: {}", e.into_inner()));
            T::default()
        }
    }
}

/// `issuers.0.typo` → `issuers[0].typo`, matching how the other messages name list items.
fn bracket_indexes(path: &str) -> String {
    let mut out = String::new();
    for part in path.split('.') {
        if part.bytes().all(|b| b.is_ascii_digit()) && !out.is_empty() {
            out.push_str(&format!("[{part}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(part);
        }
    }
    out
}

/// Every overridable scalar: its path and the kind of value the defaults hold there.
fn leaves() -> Vec<(Vec<String>, &'static str)> {
    let defaults = serde_json::to_value(Config::default()).unwrap_or(Value::Null);
    let mut out = Vec::new();
    walk(&defaults, &mut Vec::new(), &mut out);
    out
}

fn walk(v: &Value, path: &mut Vec<String>, out: &mut Vec<(Vec<String>, &'static str)>) {
    match v {
        Value::Object(_) if ENV_MAPS.contains(&path.join(".").as_str()) => {
            out.push((path.clone(), "map"))
        }
        Value::Object(map) => {
            for (k, child) in map {
                path.push(k.clone());
                walk(child, path, out);
                path.pop();
            }
        }
        Value::Array(_) if ENV_LISTS.contains(&path.join(".").as_str()) => {
            out.push((path.clone(), "list"))
        }
        Value::Array(_) => {}
        Value::Bool(_) => out.push((path.clone(), "bool")),
        Value::Number(_) => out.push((path.clone(), "number")),
        Value::String(_) | Value::Null => out.push((path.clone(), "string")),
    }
}

fn env_name(path: &[String]) -> String {
    format!("JITGATE_{}", path.join("_").to_ascii_uppercase())
}

fn apply_env(tree: &mut Value, env: &[(String, String)], errors: &mut Vec<String>) {
    for (path, kind) in leaves() {
        let name = env_name(&path);
        let Some((_, raw)) = env.iter().find(|(k, _)| *k == name) else { continue };
        let value = match kind {
            "bool" => match raw.as_str() {
                "true" | "1" => Value::Bool(true),
                "false" | "0" => Value::Bool(false),
                _ => {
                    errors.push(format!("`{name}` must be `true` or `false`, got `{raw}`"));
                    continue;
                }
            },
            "number" => match raw.parse::<u64>() {
                Ok(n) => Value::from(n),
                Err(_) => {
                    errors.push(format!("`{name}` must be a whole number, got `{raw}`"));
                    continue;
                }
            },
            "list" => Value::Array(
                raw.split(',').map(str::trim).filter(|s| !s.is_empty()).map(Value::from).collect(),
            ),
            "map" => match env_map(raw) {
                Ok(map) => map,
                Err(pair) => {
                    errors.push(format!(
                        "`{name}` must be comma-separated `key=value` pairs like `orders=shadow`, got `{pair}`"
                    ));
                    continue;
                }
            },
            _ => Value::String(raw.clone()),
        };
        set_path(tree, &path, value);
    }
}

/// `a=x,b=y` → `{"a": "x", "b": "y"}`; the first malformed pair is the error.
fn env_map(raw: &str) -> Result<Value, String> {
    let mut map = serde_json::Map::new();
    for pair in raw.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match pair.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                map.insert(k.trim().to_string(), Value::from(v.trim()));
            }
            _ => return Err(pair.to_string()),
        }
    }
    Ok(Value::Object(map))
}

fn set_path(tree: &mut Value, path: &[String], value: Value) {
    let mut node = tree;
    for key in &path[..path.len() - 1] {
        if !node.get(key).is_some_and(Value::is_object) {
            node[key.as_str()] = Value::Object(Default::default());
        }
        node = &mut node[key.as_str()];
    }
    node[path[path.len() - 1].as_str()] = value;
}

/// `JITGATE_*` variables that match no setting (typos), excluding the client variables and
/// the secret variables the configuration names.
pub fn unknown_overrides(env: &[(String, String)], config: &Config) -> Vec<String> {
    const CLIENT: [&str; 3] = ["JITGATE_CONFIG", "JITGATE_SERVER", "JITGATE_TOKEN"];
    let mut known: Vec<String> = leaves().iter().map(|(p, _)| env_name(p)).collect();
    known.extend(CLIENT.iter().map(|s| s.to_string()));
    known.extend(config.identity.issuers.iter().filter_map(|i| i.hs256_secret_env.clone()));
    known.extend(config.notifications.signing_secret_env.clone());
    known.extend(config.incidents.resolve_token_env.clone());
    known.extend(config.audit.checkpoints.key_env.clone());
    env.iter()
        .map(|(k, _)| k)
        .filter(|k| k.starts_with("JITGATE_") && !known.contains(k))
        .cloned()
        .collect()
}

/// The names of every overridable setting, for documentation and `--help`.
pub fn override_names() -> Vec<String> {
    leaves().iter().map(|(p, _)| env_name(p)).collect()
}
