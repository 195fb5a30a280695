//! Row 34 against the real binary: jitgate's wall clock is moved with libfaketime (Debian
//! `faketime`) while Redis keeps the real one. `LD_PRELOAD` puts libfaketime in front of
//! glibc's `clock_gettime`, which Rust's `SystemTime` calls (the vDSO is reached through glibc,
//! so the preloaded symbol wins; the test checks it rather than assuming it).
//! `FAKETIME_TIMESTAMP_FILE` + `FAKETIME_NO_CACHE=1` let the test move the clock while jitgate
//! runs; `FAKETIME_DONT_FAKE_MONOTONIC=1` leaves `Instant` (timers, deadlines, the cache's
//! staleness bound) on the real clock.
//!
//! jitgate trusts its own clock: a grant is live while jitgate's now is before `expires_at`,
//! whatever Redis (whose key expiry, `PEXPIREAT expires_at`, runs on Redis's clock) still holds.

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use jitgate::time::Timestamp;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::common::jitgate::ISSUER;
use crate::common::{Jitgate, RedisServer};
use crate::drive::{Answer, Direct, Row, Tally, ms, report, size};

/// Debian's libfaketime (`/usr/lib/<multiarch>/faketime/libfaketime.so.1`), or
/// `$JITGATE_LIBFAKETIME`.
fn libfaketime() -> String {
    if let Ok(path) = std::env::var("JITGATE_LIBFAKETIME") {
        return path;
    }
    std::fs::read_dir("/usr/lib")
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.path().join("faketime/libfaketime.so.1"))
        .find(|p| p.exists())
        .map(|p| p.display().to_string())
        .expect("libfaketime.so.1 not found: run `make test-deps` (apt-get install faketime)")
}

/// jitgate's clock, as an offset in whole seconds from the real one, in a file libfaketime
/// reads on every clock call.
struct FakeClock {
    file: PathBuf,
    lib: String,
    _dir: tempfile::TempDir,
}

impl FakeClock {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let c = Self { file: dir.path().join("faketime"), lib: libfaketime(), _dir: dir };
        c.set(0);
        c
    }

    /// Moves jitgate's clock to real time + `secs` (written whole, then renamed into place,
    /// so libfaketime never reads half a line).
    fn set(&self, secs: i64) {
        let tmp = self.file.with_extension("tmp");
        std::fs::write(&tmp, format!("{secs:+}\n")).unwrap();
        std::fs::rename(&tmp, &self.file).unwrap();
    }

    /// Moves jitgate's clock so that its now is at least `at` (the offset is rounded up).
    fn set_at_least(&self, at: i64) -> i64 {
        let off = (at - wall()).div_euclid(1000) + 1;
        self.set(off);
        off
    }

    /// Moves jitgate's clock so that its now is at most `at`.
    fn set_at_most(&self, at: i64) -> i64 {
        let off = (at - wall()).div_euclid(1000);
        self.set(off);
        off
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("LD_PRELOAD", self.lib.clone()),
            ("FAKETIME_TIMESTAMP_FILE", self.file.display().to_string()),
            ("FAKETIME_NO_CACHE", "1".into()),
            ("FAKETIME_DONT_FAKE_MONOTONIC", "1".into()),
        ]
    }
}

/// The real wall clock, in ms.
fn wall() -> i64 {
    Timestamp::from_system(SystemTime::now()).as_millis()
}

/// A token of the harness issuer with explicit `iat`/`exp` (seconds).
fn token(j: &Jitgate, sub: &str, groups: &[&str], iat: i64, exp: i64) -> String {
    let claims = json!({"iss": ISSUER, "aud": "jitgate", "sub": sub, "groups": groups, "iat": iat, "exp": exp});
    let key = EncodingKey::from_secret(j.secret.as_bytes());
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key).unwrap()
}

fn ts(v: &Value) -> i64 {
    Timestamp::parse_rfc3339(v.as_str().unwrap()).unwrap().as_millis()
}

async fn grant(j: &Jitgate, admin: &str, subject: &str, ttl: &str) -> Value {
    let body = json!({"subject": subject, "resources": [{"service": "orders", "methods": ["GET"], "paths": ["/orders/**"]}], "ttl": ttl, "reason": "clock"});
    let (status, g) = j.call("POST", "/v1/grants", Some(admin), Some(body)).await;
    assert_eq!(status, 201, "{g}");
    g
}

/// The grant key's remaining TTL in Redis (ms; negative when the key is gone).
async fn pttl(redis: &RedisServer, subject: &str, id: &str) -> i64 {
    let mut c = redis.client().await;
    let key = format!("jitgate:{{{subject}}}:grant:{id}");
    redis::cmd("PTTL").arg(&key).query_async(&mut c).await.unwrap()
}

/// Checks until one satisfies `done` (at most `limit`); the first such answer and when.
async fn first(
    d: &Direct,
    token: &str,
    limit: Duration,
    tally: &mut Tally,
    may_allow: bool,
    done: impl Fn(&Answer) -> bool,
) -> Option<(Answer, Duration)> {
    let t0 = Instant::now();
    while t0.elapsed() < limit {
        let a = d.check(token, "/orders/1").await;
        tally.record(&a, may_allow);
        if done(&a) {
            return Some((a, t0.elapsed()));
        }
    }
    None
}

#[tokio::test]
async fn jitgate_process_with_a_moved_wall_clock_enforces_expiry_by_its_own_clock() {
    let clock = FakeClock::new();
    let redis = RedisServer::start().await;
    let env = clock.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let j = Jitgate::start_with(&redis.url(), &env, true).await;
    let d = Direct::to(&j).await;
    let now_s = wall() / 1000;
    // Tokens issued an hour ago, valid for four more (the maximum lifetime is a day), so only
    // the grant's expiry decides below.
    let admin = token(&j, "root", &["platform"], now_s - 3600, now_s + 4 * 3600);
    let alice = token(&j, "alice", &[], now_s - 3600, now_s + 4 * 3600);
    let mut tally = Tally::default();

    // 1. Does jitgate's SystemTime follow libfaketime? Its `created_at` says.
    clock.set(1800);
    let probe = grant(&j, &admin, "user:probe", "1m").await;
    let seen_offset = ts(&probe["created_at"]) - wall();
    clock.set(0);
    assert!(
        (1_795_000..=1_801_000).contains(&seen_offset),
        "jitgate's clock did not follow libfaketime (created_at {} ms from real time): \
         is the binary static, or calling clock_gettime without glibc?",
        seen_offset
    );

    // 2. A 10-minute grant, live by both clocks.
    let g = grant(&j, &admin, "user:alice", "10m").await;
    let (id, expires) = (g["id"].as_str().unwrap().to_string(), ts(&g["expires_at"]));
    let live = first(&d, &alice, Duration::from_secs(5), &mut tally, true, |a| a.allowed).await;
    assert!(live.is_some(), "the new grant was never allowed");
    // A token issued now, verified (and cached) while the clocks agree.
    let seen = j.token("alice", &["seen"]);
    assert!(d.check(&seen, "/orders/1").await.allowed);

    // 3. jitgate's clock jumps past expires_at; Redis (real clock) still holds the key.
    let off = clock.set_at_least(expires + 1000);
    let checked_before = tally.checked;
    let denied = first(&d, &alice, Duration::from_secs(5), &mut tally, false, |a| !a.allowed).await;
    let (deny, to_deny) = denied.expect("still allowed after jitgate's clock passed expires_at");
    let redis_left = pttl(&redis, "user:alice", &id).await;
    let hold = Instant::now();
    while hold.elapsed() < Duration::from_millis(size(500, 3000) as u64) {
        tally.record(&d.check(&alice, "/orders/1").await, false);
    }
    let after_jump = tally.checked - checked_before;

    // 4. And back: live again, because by jitgate's clock it is (it trusts its own clock).
    clock.set(0);
    let back = first(&d, &alice, Duration::from_secs(5), &mut tally, true, |a| a.allowed).await;

    // 5. Many jumps around the edge: allowed only when jitgate's now is before expires_at.
    let rounds = size(10, 100) as i64;
    let mut edge = Tally::default();
    for i in 0..rounds {
        clock.set_at_most(expires - 3000 - (i * 7919) % 500_000);
        let a = d.check(&alice, "/orders/1").await;
        edge.record(&a, true);
        assert!(a.allowed, "before expiry by jitgate's clock: {a:?}");
        clock.set_at_least(expires + 1000 + (i * 7919) % 3_000_000);
        let a = d.check(&alice, "/orders/1").await;
        edge.record(&a, false);
        assert_eq!(a.reason, deny.reason, "{a:?}");
    }
    tally.checked += edge.checked;
    tally.unexpected_allows += edge.unexpected_allows;

    // 6. jitgate's clock 120 s behind Redis's (and the issuer's): more than the 30 s leeway.
    clock.set(-120);
    let fresh = j.token("alice", &["fresh"]);
    let fresh_answer = d.check(&fresh, "/orders/1").await;
    tally.record(&fresh_answer, false);
    let seen_answer = d.check(&seen, "/orders/1").await;
    tally.record(&seen_answer, true);
    let old = d.check(&alice, "/orders/1").await;
    tally.record(&old, true);
    let late = grant(&j, &admin, "user:late", "10m").await;
    let late_pttl = pttl(&redis, "user:late", late["id"].as_str().unwrap()).await;
    clock.set(0);

    let note = format!(
        "jitgate's clock moved with libfaketime (SystemTime followed: created_at {} s ahead at +1800 s); \
         jump to expires_at + 1 s (offset +{off} s) with the Redis key's PTTL still {} s: first deny `{}` {} after the jump (the first Check after it), {after_jump} Checks while jumped, none allowed; \
         back to real time: allowed again after {}; {rounds} jumps either side of expires_at: {} allows before, 0 after; \
         clock 120 s behind: a token issued now `{}`, one verified before the jump {}, one issued an hour ago {}; a 10 m grant written then has a Redis PTTL of {} s; {}",
        seen_offset / 1000,
        redis_left / 1000,
        deny.reason,
        ms(to_deny),
        back.as_ref().map_or("never".into(), |b| ms(b.1)),
        edge.checked - edge.reasons.values().sum::<usize>(),
        fresh_answer.reason,
        verdict(&seen_answer),
        verdict(&old),
        late_pttl / 1000,
        tally.reasons()
    );
    report(Row {
        row: "34",
        fault: "jitgate's wall clock moved (real process, libfaketime)",
        tally: &tally,
        recovery: None,
        note,
    });
    assert_eq!(tally.unexpected_allows, 0);
    assert_eq!(deny.reason, "grant_expired", "{deny:?}");
    assert!(redis_left > 0, "Redis no longer held the grant: the deny proves nothing");
    assert!(back.is_some(), "not allowed again back at real time");
    // Behind by more than the leeway: tokens issued now are not yet valid for jitgate.
    assert!(!fresh_answer.allowed, "{fresh_answer:?}");
    assert!(old.allowed, "the grant is live by jitgate's clock: {old:?}");
    // A token verified before the clock fell behind stays verified while its cache entry
    // lives (`identity.token_cache_ttl`): verification is not redone per Check.
    assert!(seen_answer.allowed, "{seen_answer:?}");
    assert_eq!(fresh_answer.reason, "token_invalid", "{fresh_answer:?}");
    // A grant written meanwhile expires in Redis by jitgate's (earlier) expires_at: sooner.
    assert!(late_pttl <= 600_000 - 115_000, "PTTL {late_pttl} ms");
}

fn verdict(a: &Answer) -> String {
    if a.allowed { "allowed".into() } else { format!("denied `{}`", a.reason) }
}
