//! Micro-benchmarks of the Check hot path, each piece alone: path parsing and pattern matching,
//! the decision engine over 1, 100 and 10,000 grants (scan and index), token verification
//! (ES256, uncached and cached), and the grant cache on a hit.
//!
//! `cargo bench -p jitgate-bench` (or `make bench-micro`). Timing on a shared 2-vCPU machine is
//! noisy: compare numbers from the same run.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use jitgate::decision::{Caller, CheckInput, evaluate};
use jitgate::grant::{IndexedGrants, Naming, PathPattern, Principal, RequestPath, ScopeInterner};
use jitgate::identity::{
    Authenticator, Issuer, IssuerRules, KeySet, StaticKeys, TokenCacheSettings, TokenRules,
};
use jitgate::metrics::Metrics;
use jitgate::store::{CacheSettings, GrantCache, GrantStore, MemoryStore};
use jitgate::time::{Clock, SystemClock};
use jitgate_bench::{grant, repo_root, signing_key, token};

fn runtime() -> tokio::runtime::Runtime {
    match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => panic!("tokio runtime: {e}"),
    }
}

fn ok<T, E: std::fmt::Debug>(r: Result<T, E>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("bench set-up failed: {e:?}"),
    }
}

fn matching(c: &mut Criterion) {
    let mut g = c.benchmark_group("matching");
    g.bench_function("parse request path", |b| {
        b.iter(|| RequestPath::parse(black_box("/people/1/notes/2024-11?limit=10")))
    });
    let path = ok(RequestPath::parse("/people/1/notes/2024-11"));
    let pattern: PathPattern = ok("/people/*/notes/**".parse());
    g.bench_function("pattern matches", |b| b.iter(|| black_box(&pattern).matches(&path)));
    g.finish();
}

fn engine(c: &mut Criterion) {
    let mut g = c.benchmark_group("engine");
    let subject: Principal = ok("user:u0".parse());
    let caller = Caller { subject: subject.clone(), principals: vec![subject] };
    let input = CheckInput {
        service: "bench".into(),
        method: "GET".into(),
        path: ok(RequestPath::parse("/people/1")),
        one_time: false,
    };
    let now = SystemClock.now();
    for n in [1usize, 100, 10_000] {
        let grants: Vec<_> = (0..n).map(|k| ok(grant("user:u0", k, "bench"))).collect();
        g.bench_with_input(BenchmarkId::new("scan", n), &grants, |b, grants| {
            b.iter(|| evaluate(grants.iter(), &caller, &input, now))
        });
        let indexed = IndexedGrants::new(ScopeInterner::default().rules(&grants));
        g.bench_with_input(BenchmarkId::new("indexed", n), &indexed, |b, set| {
            b.iter(|| evaluate(set.candidates(&input.service, &input.path), &caller, &input, now))
        });
    }
    g.finish();
}

fn tokens(c: &mut Criterion) {
    let rt = runtime();
    let jwks = ok(std::fs::read(repo_root().join("tests/fixtures/keys/jwks.json")));
    let (keys, _) = ok(KeySet::from_jwks(&jwks, &[]));
    let issuer = || Issuer {
        rules: IssuerRules {
            issuer: jitgate_bench::ISSUER.into(),
            audiences: vec![jitgate_bench::AUDIENCE.into()],
            algorithms: Vec::new(),
            naming: Naming::Default,
        },
        keys: Arc::new(StaticKeys::new(keys.clone())),
    };
    let rules = TokenRules {
        leeway: Duration::from_secs(30),
        max_lifetime: Duration::from_secs(24 * 3600),
        groups_claim: "groups".into(),
    };
    let settings = |max_entries| TokenCacheSettings { max_entries, ttl: Duration::from_secs(300) };
    let key = ok(signing_key());
    let tok = ok(token(&key, "u0", &["eng"], 3600));
    let now = SystemClock.now();
    let mut g = c.benchmark_group("token");
    // A cache whose entries expire at once: every call verifies the signature.
    let uncached = Authenticator::new(
        vec![issuer()],
        rules.clone(),
        TokenCacheSettings { max_entries: 1, ttl: Duration::ZERO },
    );
    g.bench_function("ES256 verify (cache miss)", |b| {
        b.iter(|| rt.block_on(uncached.verify(black_box(&tok), now)))
    });
    let cached = Authenticator::new(vec![issuer()], rules, settings(1000));
    ok(rt.block_on(cached.verify(&tok, now)));
    g.bench_function("cached token", |b| {
        b.iter(|| rt.block_on(cached.verify(black_box(&tok), now)))
    });
    g.finish();
}

fn cache(c: &mut Criterion) {
    let rt = runtime();
    let store = Arc::new(MemoryStore::new());
    let subject: Principal = ok("user:u0".parse());
    for k in 0..100 {
        let g = ok(grant("user:u0", k, "bench"));
        let event =
            jitgate::audit::record::grant_issued(&g, jitgate::audit::AuditKind::GrantCreated);
        ok(rt.block_on(store.create(&g, &event)));
    }
    let settings = CacheSettings {
        staleness_bound: Duration::from_secs(3600),
        poll_interval: Duration::from_secs(60),
        max_principals: 1000,
        entry_ttl: Duration::from_secs(3600),
        pubsub: false,
    };
    let cache = GrantCache::new(store.clone(), settings, Arc::new(Metrics::new()));
    let epoch = ok(rt.block_on(store.epoch()));
    cache.apply_poll(epoch, tokio::time::Instant::now());
    let principals = vec![subject];
    let now = SystemClock.now();
    ok(rt.block_on(cache.grants_for(&principals, now)));
    c.bench_function("cache/hit, 100 grants", |b| {
        b.iter(|| {
            rt.block_on(cache.grants_for(black_box(&principals), now)).map(|s| s.iter().count())
        })
    });
}

criterion_group!(benches, matching, engine, tokens, cache);
criterion_main!(benches);
