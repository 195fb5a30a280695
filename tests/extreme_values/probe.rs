//! Sends calls with raw bodies (so `1e309` and numbers past u64 reach jitgate as typed) and
//! checks the answers: 2xx with a JSON body, or 400 naming the field and its range; never a
//! 5xx, never a dropped connection, never a body that is not JSON.

use std::time::Duration;

use serde_json::Value;

use crate::common::{Jitgate, RedisServer};

/// The longest duration jitgate accepts.
pub const LONGEST: &str = "100y";
/// The same, in hours (how jitgate writes it back).
pub const LONGEST_HOURS: &str = "876600h";
/// One millisecond more.
pub const TOO_LONG: &str = "876600h1ms";
/// The longest duration in milliseconds.
pub const LONGEST_MS: i64 = 100 * 31_557_600 * 1000;
/// What every refused duration says about the range.
pub const TTL_RANGE: &str = "up to 100 years";
/// What every refused time says about the range.
pub const TIME_RANGE: &str = "from 1970-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z";
/// The last instant RFC 3339 can write.
pub const LAST_INSTANT: &str = "9999-12-31T23:59:59.999Z";

/// Durations one step past the bound, or not durations jitgate can hold: each must be
/// refused with the range.
pub const BAD_DURATIONS: [&str; 5] =
    [TOO_LONG, "100y 1ms", "99999999999999999999s", "18446744073709551615s", "99999999d"];

/// A real jitgate (with `grants.max_ttl: 100y`) on its own redis-server.
pub struct Probe {
    pub j: Jitgate,
    _redis: RedisServer,
    client: reqwest::Client,
    pub admin: String,
}

// === impl Probe ===

impl Probe {
    pub async fn start() -> Self {
        let redis = RedisServer::start().await;
        let env = [("JITGATE_GRANTS_MAX_TTL", LONGEST)];
        let j = Jitgate::start_with(&redis.url(), &env, true).await;
        let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
        let admin = j.admin_token();
        Self { j, _redis: redis, client, admin }
    }

    /// One call; the answer must arrive, whole, as JSON, and must not be a 5xx.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<&str>,
    ) -> (u16, Value) {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.client.request(m, format!("{}{path}", self.j.base())).bearer_auth(token);
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b.to_string());
        }
        let resp = req.send().await.unwrap_or_else(|e| {
            panic!("{method} {path}: no answer ({e}); jitgate log:\n{}", self.j.log())
        });
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_else(|e| panic!("{method} {path}: cut off ({e})"));
        let v: Value = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("{method} {path}: {status} is not JSON: {text:.200}"));
        assert!(status < 500, "{method} {path} {body:?}: {status} {v}");
        (status, v)
    }

    /// As an admin, expects 2xx; returns the body.
    pub async fn ok(&self, method: &str, path: &str, body: Option<&str>) -> Value {
        let (status, v) = self.send(method, path, &self.admin, body).await;
        assert!((200..300).contains(&status), "{method} {path} {body:?}: {status} {v}");
        v
    }

    /// Expects `400 invalid_request` whose message or details name `field` and say `range`.
    pub async fn refused(
        &self,
        (method, path): (&str, &str),
        token: &str,
        body: Option<&str>,
        field: &str,
        range: &str,
    ) {
        let (status, v) = self.send(method, path, token, body).await;
        let all = format!("{} {}", v["message"], v["details"]);
        assert_eq!(
            (status, v["error"].as_str()),
            (400, Some("invalid_request")),
            "{method} {path} {body:?}: {v}"
        );
        assert!(
            all.contains(field) && all.contains(range),
            "{method} {path} {body:?}: expected `{field}` and `{range}` in {all}"
        );
    }

    /// What a call could have written: live grants, requests, policies, audit entries.
    pub async fn written(&self) -> [u64; 4] {
        let len = |v: Value, key: &str| v[key].as_array().map_or(u64::MAX, |a| a.len() as u64);
        [
            len(self.ok("GET", "/v1/grants", None).await, "grants"),
            len(self.ok("GET", "/v1/requests?status=all", None).await, "requests"),
            len(self.ok("GET", "/v1/policies", None).await, "policies"),
            self.ok("GET", "/v1/audit/head", None).await["seq"].as_u64().unwrap_or(u64::MAX),
        ]
    }

    /// [`Self::written`] once the audit records of earlier calls have landed (flushed every
    /// 50 ms): the same twice, 300 ms apart.
    pub async fn settled(&self) -> [u64; 4] {
        let mut last = self.written().await;
        for _ in 0..20 {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let now = self.written().await;
            if now == last {
                return now;
            }
            last = now;
        }
        panic!("jitgate kept writing: {last:?}");
    }

    /// The process is still up, and never panicked.
    pub async fn still_healthy(&self) {
        self.ok("GET", "/healthz", None).await;
        let log = self.j.log();
        assert!(!log.contains("panicked"), "jitgate panicked:\n{log}");
    }
}

/// Milliseconds between two RFC 3339 times in a JSON body.
pub fn span_ms(v: &Value, from: &str, to: &str) -> i64 {
    let t = |k: &str| {
        jitgate::time::Timestamp::parse_rfc3339(v[k].as_str().unwrap_or_default())
            .unwrap_or_else(|e| panic!("`{k}` in {v}: {e}"))
            .as_millis()
    };
    t(to) - t(from)
}
