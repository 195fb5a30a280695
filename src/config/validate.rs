//! Rules a configuration must satisfy beyond its types. Each failed rule adds one message
//! naming the key and saying what is expected.

use std::str::FromStr;
use std::time::Duration;

use super::{Config, RedisConfig, RedisMode};
use crate::grant::Principal;
use crate::store::keys::Keys;

/// Longest Unix domain socket path the kernel accepts, in bytes.
const MAX_UNIX_SOCKET_PATH: usize = 107;

/// Largest `identity.verify_queue`.
const MAX_VERIFY_QUEUE: usize = 1_000_000;

/// Largest `identity.verify_threads`.
const MAX_VERIFY_THREADS: usize = 1024;

/// Smallest HS256 secret accepted, in bytes.
pub const MIN_HS256_SECRET: usize = 32;

pub fn validate(c: &Config, env: &[(String, String)], errors: &mut Vec<String>) {
    let mut check = |ok: bool, msg: String| {
        if !ok {
            errors.push(msg);
        }
    };
    check(c.listen.grpc != c.listen.http, "`listen.grpc` and `listen.http` must differ".into());
    if let Some(path) = &c.listen.grpc_unix {
        check(
            path.is_absolute(),
            format!("`listen.grpc_unix` must be an absolute path, got `{}`", path.display()),
        );
        // sun_path holds 108 bytes including the terminating NUL.
        check(
            path.as_os_str().len() <= MAX_UNIX_SOCKET_PATH,
            format!(
                "`listen.grpc_unix` is {} bytes long; a Unix socket path holds at most {MAX_UNIX_SOCKET_PATH}: choose a shorter directory",
                path.as_os_str().len()
            ),
        );
    }
    validate_redis(&c.redis, errors);
    let mut check = |ok: bool, msg: String| {
        if !ok {
            errors.push(msg);
        }
    };
    check(
        (1..=64).contains(&c.control_plane.threads),
        format!("`control_plane.threads` is {}: use 1 to 64", c.control_plane.threads),
    );
    check(
        (0..=19).contains(&c.control_plane.nice),
        format!(
            "`control_plane.nice` is {}: use 0 (same priority as Checks) to 19 (lowest)",
            c.control_plane.nice
        ),
    );
    if let Err(e) = Keys::new(&c.redis.key_prefix) {
        check(false, format!("`redis.key_prefix`: {e}"));
    }
    check(
        !c.redis.op_timeout.as_duration().is_zero(),
        "`redis.op_timeout` must be above zero".into(),
    );
    check(
        c.identity.leeway.as_duration() <= Duration::from_secs(30),
        format!("`identity.leeway` is at most 30s, got {}", c.identity.leeway),
    );
    check(!c.identity.groups_claim.is_empty(), "`identity.groups_claim` must not be empty".into());
    check(c.identity.token_cache_size > 0, "`identity.token_cache_size` must be above zero".into());
    // The verify queue's slots are allocated up front, the other queues' as they fill; a
    // channel past these bounds cannot be made (it panicked at start-up).
    check(
        (1..=MAX_VERIFY_QUEUE).contains(&c.identity.verify_queue),
        format!(
            "`identity.verify_queue` must be between 1 and {MAX_VERIFY_QUEUE} (it bounds the tokens waiting for a signature check), got {}",
            c.identity.verify_queue
        ),
    );
    check(
        c.identity.verify_threads <= MAX_VERIFY_THREADS,
        format!(
            "`identity.verify_threads` must be between 0 (half the CPUs) and {MAX_VERIFY_THREADS}, got {}",
            c.identity.verify_threads
        ),
    );
    super::identity::validate(c, env, errors);
    for (i, a) in c.admins.iter().enumerate() {
        if let Err(e) = Principal::from_str(a) {
            errors.push(format!("`admins[{i}]`: {e}"));
        }
    }
    validate_limits(c, errors);
    for service in c.service_modes.keys() {
        if let Err(e) = crate::grant::check_service(service) {
            errors.push(format!(
                "`service_modes.{service}`: {e}; use the service name grants use (the route's `context_extensions.service`)"
            ));
        }
    }
    secret_env(
        "notifications.signing_secret_env",
        c.notifications.signing_secret_env.as_ref(),
        env,
        errors,
    );
    secret_env("incidents.resolve_token_env", c.incidents.resolve_token_env.as_ref(), env, errors);
    secret_env("audit.checkpoints.key_env", c.audit.checkpoints.key_env.as_ref(), env, errors);
    super::audit::validate(&c.audit, errors);
}

fn validate_limits(c: &Config, errors: &mut Vec<String>) {
    let mut check = |ok: bool, msg: &str| {
        if !ok {
            errors.push(msg.to_string());
        }
    };
    check(!c.grants.max_ttl.as_duration().is_zero(), "`grants.max_ttl` must be above zero");
    let (bound, poll) =
        (c.cache.staleness_bound.as_duration(), c.cache.poll_interval.as_duration());
    check(!bound.is_zero(), "`cache.staleness_bound` must be above zero");
    check(
        !poll.is_zero() && poll < bound,
        "`cache.poll_interval` must be above zero and below `cache.staleness_bound`",
    );
    check(c.cache.max_principals > 0, "`cache.max_principals` must be above zero");
    let deadline = c.check.deadline.as_duration();
    check(
        !deadline.is_zero() && deadline <= Duration::from_secs(10),
        "`check.deadline` must be between 1ms and 10s",
    );
    check(c.check.max_request_bytes >= 4096, "`check.max_request_bytes` must be at least 4096");
    if let Some(url) = &c.check.public_url {
        check(
            url.starts_with("http://") || url.starts_with("https://"),
            "`check.public_url` must start with `http://` or `https://`",
        );
    }
    if let Some(h) = &c.ui.token_header {
        check(
            axum::http::HeaderName::from_bytes(h.as_bytes()).is_ok() && !h.is_empty(),
            "`ui.token_header` must be an HTTP header name like `x-forwarded-access-token`",
        );
    }
    check(
        ["text", "json"].contains(&c.log.format.as_str()),
        "`log.format` must be `text` or `json`",
    );
    check(
        !c.requests.sweep_interval.as_duration().is_zero(),
        "`requests.sweep_interval` must be above zero",
    );
    check(
        c.requests.retention.as_duration() >= std::time::Duration::from_secs(3600),
        "`requests.retention` must be at least 1h",
    );
    for (value, key) in [
        (c.requests.max_pending_per_requester, "requests.max_pending_per_requester"),
        (c.requests.max_pending_per_policy, "requests.max_pending_per_policy"),
        (c.requests.one_time_per_minute, "requests.one_time_per_minute"),
    ] {
        check(
            value <= 1_000_000,
            &format!("`{key}` must be at most 1000000 (0 turns the limit off)"),
        );
    }
    check(
        (1..=20).contains(&c.notifications.max_attempts),
        "`notifications.max_attempts` must be between 1 and 20",
    );
    check(
        (1..=super::MAX_QUEUE).contains(&c.notifications.queue_size),
        "`notifications.queue_size` must be between 1 and 10000000",
    );
}

/// A secret named by environment variable must be set and long enough.
fn secret_env(at: &str, var: Option<&String>, env: &[(String, String)], errors: &mut Vec<String>) {
    let Some(var) = var else { return };
    match env.iter().find(|(k, _)| k == var) {
        None => errors.push(format!("`{at}`: environment variable `{var}` is not set")),
        Some((_, v)) if v.len() < MIN_HS256_SECRET => {
            errors.push(format!("`{at}`: `{var}` must hold at least {MIN_HS256_SECRET} bytes"))
        }
        Some(_) => {}
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;

/// `redis.mode` and the addresses it needs: a URL, cluster seeds, or Sentinels and a master name.
fn validate_redis(r: &RedisConfig, errors: &mut Vec<String>) {
    let url_ok = |u: &str| ["redis://", "rediss://"].iter().any(|s| u.starts_with(s));
    match r.mode {
        RedisMode::Standalone => {
            if !url_ok(&r.url) && !r.url.starts_with("unix://") {
                errors.push(format!(
                    "`redis.url` must start with `redis://`, `rediss://` or `unix://`, got `{}`",
                    r.url
                ));
            }
        }
        RedisMode::Cluster => {
            if r.nodes.is_empty() {
                errors.push("`redis.mode` is `cluster`: list at least one seed in `redis.nodes`, like `redis://10.0.0.1:6379`".into());
            }
        }
        RedisMode::Sentinel => {
            if r.sentinels.is_empty() {
                errors.push("`redis.mode` is `sentinel`: list the Sentinels in `redis.sentinels`, like `redis://10.0.0.1:26379`".into());
            }
            if r.master_name.trim().is_empty() {
                errors.push("`redis.mode` is `sentinel`: set `redis.master_name` to the name the Sentinels monitor (`sentinel monitor <name> ...`)".into());
            }
        }
    }
    let lists = [("nodes", &r.nodes), ("sentinels", &r.sentinels)];
    for (name, list) in lists {
        for (i, u) in list.iter().enumerate() {
            if !url_ok(u) {
                errors.push(format!(
                    "`redis.{name}[{i}]` must start with `redis://` or `rediss://`, got `{u}`"
                ));
            }
        }
    }
    let unused: &[(&str, bool)] = match r.mode {
        RedisMode::Standalone => {
            &[("nodes", !r.nodes.is_empty()), ("sentinels", !r.sentinels.is_empty())]
        }
        RedisMode::Cluster => {
            &[("sentinels", !r.sentinels.is_empty()), ("master_name", !r.master_name.is_empty())]
        }
        RedisMode::Sentinel => &[("nodes", !r.nodes.is_empty())],
    };
    for &(name, set) in unused {
        if set {
            errors.push(format!(
                "`redis.{name}` is set but `redis.mode` is `{}`: remove it or change the mode",
                r.mode.as_str()
            ));
        }
    }
}
