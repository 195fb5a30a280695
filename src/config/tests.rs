use crate::config::{load_str, override_names, unknown_overrides};

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[test]
fn empty_config_gives_loopback_defaults() {
    let c = load_str("", "test", &[]).unwrap();
    assert_eq!(c.listen.grpc.to_string(), "127.0.0.1:9191");
    assert_eq!(c.listen.http.to_string(), "127.0.0.1:8080");
    assert_eq!(c.redis.url, "redis://127.0.0.1:6379");
    assert_eq!(c.cache.staleness_bound.as_duration().as_millis(), 1000);
}

#[test]
fn the_documented_example_loads() {
    let yaml = r#"
listen: { grpc: "127.0.0.1:9191", http: "127.0.0.1:8080" }
redis: { url: "redis://127.0.0.1:6379" }
identity:
  issuers:
    - issuer: "https://idp.example.com"
      audiences: ["jitgate"]
      jwks_url: "https://idp.example.com/.well-known/jwks.json"
  groups_claim: "groups"
admins: ["group:platform"]
"#;
    let c = load_str(yaml, "test", &[]).unwrap();
    assert_eq!(c.admins, ["group:platform"]);
    assert_eq!(c.identity.issuers[0].audiences, ["jitgate"]);
}

#[test]
fn every_problem_is_reported_at_once() {
    let yaml = r#"
listen: { grpc: "nope" }
redis: { url: "http://x", colour: blue }
cache: { staleness_bound: soon, pubsub: true, extra: 1 }
identity:
  leeway: 5m
  issuers:
    - issuer: ""
      audiences: []
      jwks_url: "http://idp.example.com/jwks"
      typo: 1
admins: ["platform"]
bogus: 1
"#;
    let err = load_str(yaml, "test", &[]).unwrap_err();
    let all = err.errors.join("\n");
    for expected in [
        "unknown key `bogus`",
        "`listen.grpc`",
        "unknown key `redis.colour`",
        "`redis.url` must start with",
        "unknown key `cache.extra`",
        "`cache.staleness_bound`",
        "unknown key `identity.issuers[0].typo`",
        "`identity.leeway` is at most 30s",
        "`identity.issuers[0].issuer` is required",
        "`identity.issuers[0].audiences`",
        "must use https://",
        "`admins[0]`",
    ] {
        assert!(all.contains(expected), "missing {expected:?} in:\n{all}");
    }
}

#[test]
fn environment_overrides_scalars_and_admins() {
    let e = env(&[
        ("JITGATE_REDIS_URL", "redis://127.0.0.1:7000"),
        ("JITGATE_CACHE_STALENESS_BOUND", "2s"),
        ("JITGATE_CACHE_PUBSUB", "false"),
        ("JITGATE_CACHE_MAX_PRINCIPALS", "10"),
        ("JITGATE_ADMINS", "group:platform, user:root"),
        ("JITGATE_CHECK_PUBLIC_URL", "https://jitgate.example.com"),
    ]);
    let c = load_str("redis: { url: redis://127.0.0.1:6379 }", "test", &e).unwrap();
    assert_eq!(c.redis.url, "redis://127.0.0.1:7000");
    assert_eq!(c.cache.staleness_bound.as_duration().as_secs(), 2);
    assert!(!c.cache.pubsub);
    assert_eq!(c.cache.max_principals, 10);
    assert_eq!(c.admins, ["group:platform", "user:root"]);
    assert_eq!(c.check.public_url.as_deref(), Some("https://jitgate.example.com"));
}

#[test]
fn bad_environment_values_are_reported() {
    let e = env(&[("JITGATE_CACHE_PUBSUB", "maybe"), ("JITGATE_CACHE_MAX_PRINCIPALS", "-1")]);
    let err = load_str("", "test", &e).unwrap_err();
    assert_eq!(err.errors.len(), 2, "{:?}", err.errors);
}

#[test]
fn hs256_secret_must_be_set_and_long_enough() {
    let yaml = r#"
identity:
  issuers:
    - { issuer: dev, audiences: [jitgate], hs256_secret_env: DEV_SECRET }
"#;
    let err = load_str(yaml, "test", &[]).unwrap_err();
    assert!(err.errors[0].contains("`DEV_SECRET` is not set"));
    let err = load_str(yaml, "test", &env(&[("DEV_SECRET", "short")])).unwrap_err();
    assert!(err.errors[0].contains("at least 32 bytes"));
    assert!(load_str(yaml, "test", &env(&[("DEV_SECRET", &"x".repeat(32))])).is_ok());
}

#[test]
fn unknown_overrides_are_detected_but_client_variables_are_not() {
    let e = env(&[
        ("JITGATE_REDIS_URLL", "x"),
        ("JITGATE_SERVER", "x"),
        ("JITGATE_REDIS_URL", "redis://127.0.0.1:1"),
        ("JITGATE_DEV_SECRET", &"s".repeat(32)),
    ]);
    let yaml = "identity: { issuers: [ { issuer: d, audiences: [a], hs256_secret_env: JITGATE_DEV_SECRET } ] }";
    let c = load_str(yaml, "test", &e).unwrap();
    assert_eq!(unknown_overrides(&e, &c), ["JITGATE_REDIS_URLL"]);
    assert!(override_names().contains(&"JITGATE_LISTEN_GRPC".to_string()));
}

#[test]
fn unix_socket_listener_needs_a_short_absolute_path() {
    let c = load_str("", "test", &env(&[("JITGATE_LISTEN_GRPC_UNIX", "/run/jitgate/grpc.sock")]))
        .unwrap();
    assert_eq!(c.listen.grpc_unix.unwrap().to_str(), Some("/run/jitgate/grpc.sock"));
    let long = format!("/{}", "d".repeat(120));
    for (path, expected) in
        [("grpc.sock", "must be an absolute path"), (long.as_str(), "choose a shorter directory")]
    {
        let yaml = format!("listen: {{ grpc_unix: \"{path}\" }}");
        let err = load_str(&yaml, "test", &[]).unwrap_err().errors.join("\n");
        assert!(err.contains(expected), "{path}: {err}");
    }
}

#[test]
fn ui_section_defaults_on_and_takes_a_proxy_header() {
    let c = load_str("", "test", &[]).unwrap();
    assert!(c.ui.enabled && c.ui.token_header.is_none());
    let c = load_str("", "test", &env(&[("JITGATE_UI_TOKEN_HEADER", "x-forwarded-access-token")]))
        .unwrap();
    assert_eq!(c.ui.token_header.as_deref(), Some("x-forwarded-access-token"));
    let e = load_str("ui: { token_header: \"bad header\", colour: red }", "test", &[]).unwrap_err();
    let all = e.errors.join("\n");
    assert!(all.contains("`ui.token_header` must be an HTTP header name"), "{all}");
    assert!(all.contains("unknown key `ui.colour`"), "{all}");
}

#[test]
fn modes_default_to_enforce_and_take_service_overrides() {
    use crate::mode::Mode;
    let c = load_str("", "test", &[]).unwrap();
    assert_eq!(c.mode, Mode::Enforce);
    assert!(c.service_modes.is_empty());
    let yaml = "mode: shadow\nservice_modes: { payments: enforce, legacy-billing: shadow }\n";
    let c = load_str(yaml, "test", &[]).unwrap();
    let modes = c.modes();
    assert_eq!(modes.for_service(Some("payments")), Mode::Enforce);
    assert_eq!(modes.for_service(Some("orders")), Mode::Shadow);
    assert_eq!(modes.for_service(Some("legacy-billing")), Mode::Shadow);
}

#[test]
fn modes_are_overridable_from_the_environment() {
    use crate::mode::Mode;
    let vars =
        env(&[("JITGATE_MODE", "shadow"), ("JITGATE_SERVICE_MODES", "orders=enforce, x=shadow")]);
    let c = load_str("mode: enforce\n", "test", &vars).unwrap();
    assert_eq!(c.mode, Mode::Shadow);
    assert_eq!(c.modes().for_service(Some("orders")), Mode::Enforce);
    assert_eq!(c.modes().for_service(Some("x")), Mode::Shadow);
    assert!(unknown_overrides(&vars, &c).is_empty());
    assert!(override_names().contains(&"JITGATE_SERVICE_MODES".to_string()));
}

#[test]
fn bad_modes_are_all_reported() {
    let yaml = "mode: dry-run\nservice_modes: { Orders: shadow, billing: audit }\n";
    let err = load_str(yaml, "test", &[]).unwrap_err();
    let all = err.errors.join("\n");
    assert!(
        all.contains("`mode`: unknown variant `dry-run`, expected `enforce` or `shadow`"),
        "{all}"
    );
    assert!(all.contains("`service_modes.billing`"), "{all}");
    let vars = env(&[("JITGATE_SERVICE_MODES", "orders")]);
    let err = load_str("", "test", &vars).unwrap_err();
    assert!(
        err.errors[0].contains("`JITGATE_SERVICE_MODES` must be comma-separated `key=value` pairs"),
        "{err}"
    );
    let err = load_str("service_modes: { Orders: shadow }\n", "test", &[]).unwrap_err();
    assert!(err.errors[0].contains("`service_modes.Orders`"), "{err}");
}

#[test]
fn redis_modes_need_their_addresses() {
    let cases = [
        ("redis: { mode: cluster }", "list at least one seed in `redis.nodes`"),
        ("redis: { mode: sentinel, master_name: m }", "list the Sentinels in `redis.sentinels`"),
        ("redis: { mode: sentinel, sentinels: [\"redis://s:26379\"] }", "set `redis.master_name`"),
        ("redis: { mode: cluster, nodes: [\"http://n:1\"] }", "`redis.nodes[0]` must start with"),
        (
            "redis: { nodes: [\"redis://n:1\"] }",
            "`redis.nodes` is set but `redis.mode` is `standalone`",
        ),
        ("redis: { mode: ring }", "`redis.mode`"),
    ];
    for (yaml, expected) in cases {
        let err = load_str(yaml, "test", &[]).unwrap_err().to_string();
        assert!(err.contains(expected), "{yaml}: missing {expected:?} in:\n{err}");
    }
}

#[test]
fn redis_cluster_and_sentinel_settings_come_from_the_environment() {
    use crate::config::RedisMode;
    let e = env(&[
        ("JITGATE_REDIS_MODE", "cluster"),
        ("JITGATE_REDIS_NODES", "redis://10.0.0.1:6379, redis://10.0.0.2:6379"),
    ]);
    let c = load_str("", "test", &e).unwrap();
    assert_eq!(c.redis.mode, RedisMode::Cluster);
    assert_eq!(c.redis.nodes, ["redis://10.0.0.1:6379", "redis://10.0.0.2:6379"]);
    let e = env(&[
        ("JITGATE_REDIS_MODE", "sentinel"),
        ("JITGATE_REDIS_SENTINELS", "redis://10.0.0.1:26379,redis://10.0.0.2:26379"),
        ("JITGATE_REDIS_MASTER_NAME", "jitgate"),
    ]);
    let c = load_str("", "test", &e).unwrap();
    assert_eq!(c.redis.mode, RedisMode::Sentinel);
    assert_eq!(c.redis.sentinels.len(), 2);
    assert_eq!(c.redis.master_name, "jitgate");
}

#[test]
fn audit_cost_limits_default_and_come_from_the_environment() {
    let c = load_str("", "test", &[]).unwrap();
    let a = &c.audit;
    assert_eq!((a.path_max_bytes, a.anonymous.path_bytes, a.anonymous.max_groups), (2048, 256, 32));
    assert_eq!(a.anonymous.window.as_duration().as_secs(), 10);
    let e =
        env(&[("JITGATE_AUDIT_ANONYMOUS_WINDOW", "1s"), ("JITGATE_AUDIT_PATH_MAX_BYTES", "512")]);
    let c = load_str("", "test", &e).unwrap();
    assert_eq!(c.audit.anonymous.window.as_duration().as_secs(), 1);
    assert_eq!(c.audit.path_max_bytes, 512);
}

#[test]
fn bad_audit_cost_limits_are_all_reported() {
    let yaml = r#"
audit:
  path_max_bytes: 100
  anonymous: { path_bytes: 4096, window: 5m, max_groups: 0, typo: 1 }
"#;
    let err = load_str(yaml, "test", &[]).unwrap_err();
    let all = err.errors.join("\n");
    for expected in [
        "`audit.anonymous.path_bytes` must be between 16 and 1024, got `4096`",
        "`audit.path_max_bytes` must be between `audit.anonymous.path_bytes` (4096) and 8192, got `100`",
        "`audit.anonymous.window` must be above zero and at most 60s",
        "`audit.anonymous.max_groups` must be between 1 and 10000, got `0`",
        "unknown key `audit.anonymous.typo`",
    ] {
        assert!(all.contains(expected), "missing `{expected}` in:\n{all}");
    }
}
