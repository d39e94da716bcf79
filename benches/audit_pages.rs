//! `auditLog` page latency at 1,000 and at 1,000,000 audit entries, over real HTTP against
//! the real service (`keydeck::server::start` on a loopback port), one request at a time.
//!
//! For each size: a fresh store (a temporary SQLite file, or a new database on the PostgreSQL
//! server `BENCH_DB` names) with 100 keys and that many audit entries, written by SQL in the
//! shape the service writes them: every 10th entry is about one key (the "hot" key) and every
//! 10th (shifted) is by one actor, so a filtered page is full at every size; the rest spread
//! over the other keys and 100 actors. Then `AUDIT_PAGES_RUNS` requests (default 200, after 20
//! to warm up) of each case:
//! - the first page, unfiltered;
//! - filtered by target (the hot key's id: its entries and its identity's);
//! - filtered by actor;
//! - filtered by target and action together;
//! - filtered by actor, since a day ago;
//! - a page deep into the target's entries (after its entry at 90 % of the log).
//!
//! Prints median and p99 per case and size, and the ratio largest size / smallest size (the
//! goal is at most 1.5). Every response is checked (HTTP 200, no errors, a full page of 50).
//!
//! Run: `cargo bench --bench audit_pages`
//! (`AUDIT_PAGES_SIZES=1000,100000` changes the sizes; `BENCH_DB=postgres://…` runs on
//! PostgreSQL).
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;
use sqlx::Connection as _;

mod common;

use common::pages;

const DEFAULT_SIZES: [usize; 2] = [1_000, 1_000_000];
const DEFAULT_RUNS: usize = 200;
const PAGE: usize = 50;
const KEYS: usize = 100;
const HOT_ACTOR: &str = "actor-hot";

/// What one size's requests name.
struct Seeded {
    size: usize,
    hot_key: String,
}

/// One measured request shape: the filter and `after` of an `auditLog` page.
struct Case {
    name: &'static str,
    arguments: fn(&Seeded) -> String,
}

const CASES: [Case; 6] = [
    Case {
        name: "first page, unfiltered",
        arguments: |_| "first: 50".to_owned(),
    },
    Case {
        name: "by target (a key)",
        arguments: |s| format!("first: 50, filter: {{target: \"{}\"}}", s.hot_key),
    },
    Case {
        name: "by actor",
        arguments: |_| format!("first: 50, filter: {{actorId: \"{HOT_ACTOR}\"}}"),
    },
    Case {
        name: "by target and action",
        arguments: |s| {
            format!(
                "first: 50, filter: {{target: \"{}\", action: \"createApiKey\"}}",
                s.hot_key
            )
        },
    },
    Case {
        name: "by actor, since a day ago",
        arguments: |_| {
            let since = time::OffsetDateTime::now_utc().unix_timestamp() - 86_400;
            format!("first: 50, filter: {{actorId: \"{HOT_ACTOR}\", since: {since}}}")
        },
    },
    Case {
        name: "by target, deep (at 90 %)",
        arguments: |s| {
            // Entry `i` has sequence number `i + 1` past the bootstrap key's entry.
            let seq = s.size / 10 * 9;
            let cursor = URL_SAFE_NO_PAD.encode(format!("kd:{seq}"));
            format!(
                "first: 50, after: \"{cursor}\", filter: {{target: \"{}\"}}",
                s.hot_key
            )
        },
    },
];

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("audit_pages: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    let sizes = pages::sizes("AUDIT_PAGES_SIZES", &DEFAULT_SIZES, 1_000)?;
    let runs = pages::runs("AUDIT_PAGES_RUNS", DEFAULT_RUNS)?;
    let (measured, backend) = pages::each_size(&sizes, "audit.db", |url, size| async move {
        measure(&url, size, runs).await
    })?;
    let names: Vec<&str> = CASES.iter().map(|c| c.name).collect();
    pages::print_table(
        &format!("auditLog pages of 50, one request at a time, {runs} runs per case; {backend}"),
        "entries",
        &names,
        &measured,
    );
    Ok(())
}

/// Writes `size` audit entries after the seeded keys' (in one statement).
async fn seed_audit(url: &str, size: usize) -> anyhow::Result<String> {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url).await?;
    let hot_key: String =
        sqlx::query_scalar("SELECT id FROM api_keys ORDER BY seq LIMIT 1 OFFSET 7")
            .fetch_one(&mut conn)
            .await?;
    sqlx::query("DELETE FROM audit_log")
        .execute(&mut conn)
        .await?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    // Entry i (1..=size) is written 10 s after entry i - 1; the last one now.
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1) \
         INSERT INTO audit_log (at, actor_id, action, target, outcome, detail, project_id, \
         key_id, owner_id, target_kind, target_name, actor_name) \
         SELECT $2 - ($1 - i) * 10, \
         CASE WHEN i % 10 = 3 THEN $3 ELSE 'actor-' || (i % 97) END, \
         CASE i % 4 WHEN 0 THEN 'createApiKey' WHEN 1 THEN 'disableApiKey' \
              WHEN 2 THEN 'enableApiKey' ELSE 'updateProjectMember' END, \
         CASE WHEN i % 10 = 0 THEN $4 ELSE 'key-' || (i % 89) END, \
         CASE WHEN i % 50 = 7 THEN 'FORBIDDEN' ELSE 'OK' END, NULL, NULL, \
         CASE WHEN i % 10 = 0 THEN $4 ELSE 'key-' || (i % 89) END, NULL, 'KEY', 'bench key', \
         'bench actor' FROM n",
    )
    .bind(i64::try_from(size)?)
    .bind(now)
    .bind(HOT_ACTOR)
    .bind(&hot_key)
    .execute(&mut conn)
    .await
    .context("seeding the audit log")?;
    if url.starts_with("postgres") {
        sqlx::query("ANALYZE audit_log").execute(&mut conn).await?;
    }
    conn.close().await?;
    Ok(hot_key)
}

async fn measure(url: &str, size: usize, runs: usize) -> anyhow::Result<pages::Measured> {
    let started = Instant::now();
    let (store, token) = common::seeded_store(url, KEYS).await?;
    drop(store);
    let hot_key = seed_audit(url, size).await?;
    let seeding = started.elapsed();
    eprintln!(
        "seeded {size} audit entries in {:.1} s",
        seeding.as_secs_f64()
    );
    let seeded = Seeded { size, hot_key };
    let running = common::start_service(url).await?;
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()?;
    let endpoint = running.graphql_url();
    let mut cases = Vec::new();
    for case in &CASES {
        let query = format!(
            "{{ auditLog({}) {{ pageInfo {{ hasNextPage endCursor }} edges {{ cursor node {{ \
             at actorId actorName action target targetKind targetName keyId projectId outcome \
             detail count }} }} }} }}",
            (case.arguments)(&seeded)
        );
        let body = json!({ "query": query }).to_string();
        let label = format!("{size} entries, {}", case.name);
        let latencies =
            pages::latencies(&label, &client, &endpoint, &token, &body, runs, check).await?;
        cases.push(latencies);
    }
    running.task.abort();
    Ok(pages::Measured {
        size,
        seeding,
        cases,
    })
}

/// The reply is a full page of entries.
fn check(status: reqwest::StatusCode, body: &[u8]) -> anyhow::Result<()> {
    let data = pages::data(status, body)?;
    let n = data["auditLog"]["edges"].as_array().map_or(0, Vec::len);
    ensure!(n == PAGE, "expected {PAGE} entries, got {n}");
    Ok(())
}
