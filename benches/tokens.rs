//! Per-request token costs, as `keydeck serve` pays them.
//!
//! * `token/verify_format+hash`: the CPU part of every authenticated request (shape and
//!   checksum check, then the SHA-256 the store is searched by);
//! * `token/verify_format`: the checksum check alone;
//! * `token/reject_bad_checksum`: a mistyped token, refused before any lookup;
//! * `authenticate/10k_keys`: `auth::authenticate` end to end (checks, hash, indexed lookup,
//!   roles and memberships) against a temporary SQLite store holding 10,000 keys;
//! * `authenticate/unknown_token_10k_keys`: a well-formed token that is not in the store;
//! * `store/list_keys_first_50_of_10k`, `store/count_keys_10k`: the two store calls
//!   `apiKeys(first: 50)` makes after authentication, for reading `service_load` figures.
//!
//! Run: `cargo bench --bench tokens` (add `-- --warm-up-time 1 --measurement-time 3` for a
//! quick run).
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

mod common;

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use keydeck::server::auth;
use keydeck::server::model::ApiKeyFilter;
use keydeck::token::{self, TokenFormatError};

/// Keys in the store `authenticate` searches, the bootstrap key included.
const STORE_KEYS: usize = 10_000;

fn token_checks(c: &mut Criterion) {
    let good = token::generate().expect("OS random source");
    let bad = with_bad_checksum(&good);
    assert_eq!(token::verify_format(&good), Ok(()));
    assert_eq!(
        token::verify_format(&bad),
        Err(TokenFormatError::BadChecksum)
    );

    let mut group = c.benchmark_group("token");
    group.bench_function("verify_format+hash", |b| {
        b.iter(|| {
            let t = black_box(good.as_str());
            token::verify_format(t).expect("a generated token verifies");
            token::hash(t)
        });
    });
    group.bench_function("verify_format", |b| {
        b.iter(|| token::verify_format(black_box(good.as_str())));
    });
    group.bench_function("reject_bad_checksum", |b| {
        b.iter(|| {
            let result = token::verify_format(black_box(bad.as_str()));
            debug_assert_eq!(result, Err(TokenFormatError::BadChecksum));
            result
        });
    });
    group.finish();
}

/// `token` with one character of its random part changed, so only the checksum is wrong.
fn with_bad_checksum(token: &str) -> String {
    let mut bytes = token.as_bytes().to_vec();
    let i = token::PREFIX.len() + 3;
    bytes[i] = if bytes[i] == b'a' { b'b' } else { b'a' };
    String::from_utf8(bytes).expect("ASCII")
}

fn authenticate(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite:{}", dir.path().join("bench.db").display());
    let started = Instant::now();
    let (store, token) = rt
        .block_on(common::seeded_store(&url, STORE_KEYS))
        .expect("seeding the bench store");
    eprintln!(
        "seeded {STORE_KEYS} keys in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let unknown = token::generate().expect("OS random source");

    // The first call records `lastUsedAt`; later ones (within the minute) only read.
    rt.block_on(auth::authenticate(&store, &token))
        .expect("the bootstrap token authenticates");

    let mut group = c.benchmark_group("authenticate");
    group.bench_function("10k_keys", |b| {
        b.to_async(&rt).iter(|| async {
            let caller = auth::authenticate(&store, black_box(token.as_str()))
                .await
                .expect("the bootstrap token authenticates");
            black_box(caller)
        });
    });
    group.bench_function("unknown_token_10k_keys", |b| {
        b.to_async(&rt).iter(|| async {
            let refused = auth::authenticate(&store, black_box(unknown.as_str())).await;
            assert!(matches!(refused, Err(auth::AuthError::Rejected)));
        });
    });
    group.finish();

    // What `apiKeys(first: 50)` asks of the store after authentication, for comparison.
    let caller = rt
        .block_on(auth::authenticate(&store, &token))
        .expect("the bootstrap token authenticates");
    let scope = caller.visible_keys();
    let filter = ApiKeyFilter::default();
    let mut group = c.benchmark_group("store");
    group.bench_function("list_keys_first_50_of_10k", |b| {
        b.to_async(&rt).iter(|| async {
            let page = store
                .list_keys(&scope, &filter, None, 50)
                .await
                .expect("listing keys");
            assert_eq!(page.items.len(), 50);
            page
        });
    });
    group.bench_function("count_keys_10k", |b| {
        b.to_async(&rt).iter(|| async {
            let n = store
                .count_keys(&scope, &filter)
                .await
                .expect("counting keys");
            assert_eq!(n, STORE_KEYS as i64);
        });
    });
    group.finish();

    drop(store);
    drop(rt);
    drop(dir);
}

criterion_group!(benches, token_checks, authenticate);
criterion_main!(benches);
