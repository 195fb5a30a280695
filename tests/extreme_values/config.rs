//! The configuration: a file (or an environment override) with extreme values is refused at
//! load, before anything listens, with every bad key named and its range; the extremes that
//! are valid load (the harness's jitgate runs with `grants.max_ttl: 100y`).

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::free_port;
use crate::probe::TTL_RANGE;

/// Runs `jitgate serve` on `config`; it must exit (refusing the configuration) within 10 s.
fn serve(config: &str, env: &[(&str, &str)]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jitgate.yaml");
    std::fs::write(&path, config).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_jitgate"));
    cmd.args(["serve", "--config", path.to_str().unwrap()]);
    cmd.env("JITGATE_LISTEN_GRPC", format!("127.0.0.1:{}", free_port()));
    cmd.env("JITGATE_LISTEN_HTTP", format!("127.0.0.1:{}", free_port()));
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!("jitgate accepted the configuration:\n{}", String::from_utf8_lossy(&out.stderr));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn a_configuration_with_extreme_durations_and_sizes_is_refused_with_every_key_named() {
    // One bad value per section: a section reports its first type error.
    let config = "
grants: { max_ttl: 876600h1ms }
cache: { entry_ttl: 99999999999999999999s }
requests: { retention: -1h }
shutdown: { drain: 18446744073709551615s }
notifications: { retry_base: 1ns, queue_size: 18446744073709551615 }
identity: { verify_queue: 18446744073709551615, verify_threads: 100000 }
audit: { queue_size: 18446744073709551615 }
";
    let out = serve(config, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    for (key, says) in [
        ("`grants.max_ttl`", TTL_RANGE),
        ("`cache.entry_ttl`", TTL_RANGE),
        ("`requests.retention`", "not a duration"),
        ("`shutdown.drain`", TTL_RANGE),
        ("`notifications.retry_base`", "finer than a millisecond"),
        ("`identity.verify_queue`", "between 1 and 1000000"),
        ("`audit.queue_size`", "between 1 and 10000000"),
    ] {
        let line = err.lines().find(|l| l.contains(key));
        assert!(line.is_some_and(|l| l.contains(says)), "{key} with {says:?} missing in:\n{err}");
    }
    assert!(!err.contains("panicked"), "{err}");
    // A number YAML cannot hold is refused with the file, at its line.
    let out = serve("grants: { max_ttl: 1h }\nrequests: { retention: 1e309 }\n", &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("line 2") && err.contains("`1e309`"), "{err}");
}

#[test]
fn queue_sizes_and_overrides_past_their_bounds_are_refused() {
    // The sizes the duration test cannot reach (its sections stop at their first type error).
    let out = serve(
        "notifications: { queue_size: 18446744073709551615 }\nidentity: { verify_threads: 100000 }\n",
        &[],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("`notifications.queue_size` must be between 1 and 10000000"), "{err}");
    assert!(err.contains("`identity.verify_threads` must be between 0"), "{err}");
    // The same bounds through environment overrides.
    let env = [
        ("JITGATE_GRANTS_MAX_TTL", "99999999999999999999s"),
        ("JITGATE_AUDIT_QUEUE_SIZE", "18446744073709551615"),
        ("JITGATE_CACHE_STALENESS_BOUND", "100y 1ms"),
    ];
    let out = serve("", &env);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    for key in ["`grants.max_ttl`", "`audit.queue_size`", "`cache.staleness_bound`"] {
        assert!(err.contains(key), "{key} missing in:\n{err}");
    }
    assert!(!err.contains("panicked"), "{err}");
}
