//! Row 34: jitgate's clock jumps or disagrees with Redis's. The process binary has no clock to
//! inject (on purpose: nothing in production can switch one on), so this runs jitgate's own
//! Check path in the test — `Authorizer` over the Redis store and the grant cache with its poll
//! and pub/sub tasks — with a clock the test moves, against a real redis-server holding grants
//! written by a real jitgate process. `clock_faketime.rs` moves the real process's wall clock
//! from outside instead (libfaketime).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime};

use jitgate::authz::{Authorizer, CheckAttributes};
use jitgate::decision::Decision;
use jitgate::grant::Naming;
use jitgate::identity::{
    Authenticator, Issuer, IssuerRules, KeySet, StaticKeys, TokenCacheSettings, TokenRules,
};
use jitgate::metrics::Metrics;
use jitgate::store::{CacheSettings, GrantCache, RedisSettings, RedisStore};
use jitgate::time::{Clock, Timestamp};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::common::jitgate::ISSUER;
use crate::common::{Jitgate, RedisServer};
use crate::drive::{Answer, Row, Tally, report};

struct MovedClock(AtomicI64);

impl Clock for MovedClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_millis(self.0.load(Ordering::SeqCst))
    }
}

fn authorizer(redis_url: &str, secret: &str, clock: Arc<MovedClock>) -> Authorizer {
    let metrics = Arc::new(Metrics::new());
    let settings = RedisSettings {
        url: redis_url.into(),
        key_prefix: "jitgate".into(),
        op_timeout: Duration::from_millis(100),
        connect_timeout: Duration::from_secs(1),
    };
    let store = Arc::new(RedisStore::new(&settings, metrics.clone()).unwrap());
    let cache = CacheSettings {
        staleness_bound: Duration::from_secs(1),
        poll_interval: Duration::from_millis(250),
        max_principals: 1000,
        entry_ttl: Duration::from_secs(300),
        pubsub: true,
    };
    let cache = Arc::new(GrantCache::new(store, cache, metrics.clone()));
    let tracker = TaskTracker::new();
    jitgate::store::invalidate::spawn(
        cache.clone(),
        metrics.clone(),
        &tracker,
        CancellationToken::new(),
    );
    let issuer = Issuer {
        rules: IssuerRules {
            issuer: ISSUER.into(),
            audiences: vec!["jitgate".into()],
            algorithms: vec![Algorithm::HS256],
            naming: Naming::Default,
        },
        keys: Arc::new(StaticKeys::new(KeySet::hs256(secret.as_bytes()))),
    };
    let rules = TokenRules {
        leeway: Duration::from_secs(5),
        max_lifetime: Duration::from_secs(48 * 3600),
        groups_claim: "groups".into(),
    };
    let auth = Authenticator::new(
        vec![issuer],
        rules,
        TokenCacheSettings { max_entries: 100, ttl: Duration::from_secs(60) },
    );
    Authorizer::new(Arc::new(auth), cache, clock, metrics, Duration::from_millis(200), false)
}

fn wall() -> i64 {
    Timestamp::from_system(SystemTime::now()).as_millis()
}

#[tokio::test]
async fn clock_jumps_and_skew_never_extend_a_grant() {
    let redis = RedisServer::start().await;
    let j = Jitgate::start(&redis.url()).await;
    let clock = Arc::new(MovedClock(AtomicI64::new(wall())));
    let authz = authorizer(&redis.url(), &j.secret, clock.clone());
    // A token valid a day either side, so only the grant's expiry decides.
    let now = wall() / 1000;
    let claims = json!({"iss": ISSUER, "aud": "jitgate", "sub": "alice", "iat": now - 86_000, "exp": now + 86_000});
    let token = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(j.secret.as_bytes()),
    )
    .unwrap();
    let body = json!({"subject": "user:alice", "resources": [{"service": "orders", "methods": ["GET"], "paths": ["/orders/**"]}], "ttl": "10m", "reason": "clock"});
    let (status, g) = j.call("POST", "/v1/grants", Some(&j.admin_token()), Some(body)).await;
    assert_eq!(status, 201, "{g}");
    let expires = Timestamp::parse_rfc3339(g["expires_at"].as_str().unwrap()).unwrap().as_millis();
    let attrs = CheckAttributes {
        method: "GET".into(),
        path: "/orders/1".into(),
        host: "example.test".into(),
        service: Some("orders".into()),
        authorization: vec![format!("Bearer {token}")],
        method_override: false,
        invalid_header: false,
        workload: None,
        client_jitgate_headers: vec![],
    };
    let decide = |at: i64| {
        clock.0.store(at, Ordering::SeqCst);
        decide(&authz, &attrs)
    };
    // Wait for the cache to be confirmed, so later answers come from it.
    let real = wall();
    assert!(
        crate::common::wait_until(Duration::from_secs(5), || async { decide(real).await.allowed })
            .await
    );
    let mut tally = Tally::default();
    let rounds = crate::drive::size(20, 200) as i64;
    for i in 0..rounds {
        // Forward jumps: the clock lands anywhere from just before expiry to a day after it,
        // while Redis (on the real clock) still holds the grant for ~10 minutes.
        let a = decide(expires - 1 - i).await;
        tally.record(&a, true);
        assert!(a.allowed, "before expiry: {a:?}");
        let a = decide(expires + i * 997 % 86_400_000).await;
        tally.record(&a, false);
        assert_eq!(a.reason, "GrantExpired", "{a:?}");
        // And back to now: still live (a jump back cannot resurrect anything that expired).
        let a = decide(wall()).await;
        tally.record(&a, true);
        assert!(a.allowed);
    }
    let note = format!(
        "{rounds} forward jumps to [expires_at, +1 day] and back, jitgate's clock up to a day ahead of Redis's (Redis still holds the grant): denied from expires_at on; {}",
        tally.reasons()
    );
    report(Row {
        row: "34",
        fault: "clock jump / skew between jitgate and Redis",
        tally: &tally,
        recovery: None,
        note,
    });
    assert_eq!(tally.unexpected_allows, 0);
}

async fn decide(authz: &Authorizer, attrs: &CheckAttributes) -> Answer {
    let sent = std::time::Instant::now();
    let v = authz.check(attrs.clone()).await;
    let (allowed, reason) = match &v.decision {
        Decision::Allow(_) => (true, String::new()),
        Decision::Deny(d) => (false, format!("{:?}", d.reason)),
    };
    Answer { allowed, reason, sent, took: sent.elapsed() }
}
