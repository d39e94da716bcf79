//! Query statistics at 5,000 distinct statements: `getQueryStats` (over HTTP, the window
//! computed from stored samples) beside the bare `SELECT … FROM pg_stat_statements` on the
//! same database, and the cost of one sampling round.
//!
//! `KEYDECK_TEST_PG_URL=postgres://… cargo bench --bench stats` (a superuser URL; `eval
//! "$(.ci/pg-cluster start)"` prints one; pg_stat_statements.max must exceed 5,000, as there).
//! `STATS_STATEMENTS` and `STATS_REPEAT` change the shape.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use sqlx::postgres::{PgPool, PgPoolOptions};

use keydeck::server::stats::sampler::{self, Memory};
use keydeck::server::stats::{MARKER, Sampling};
use keydeck::server::store::{Store, Wanted};
use keydeck::server::transport::limits::Limits;
use keydeck::server::{self, ServeConfig};

mod common;
use common::monitored::{env_usize, fresh_database, run_all, statements};

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// `getQueryStats` of database 1 with every field, over HTTP.
struct StatsRequest {
    client: reqwest::Client,
    url: String,
    token: String,
}

impl StatsRequest {
    /// Sends it and answers how many statements came back.
    async fn send(&self) -> anyhow::Result<usize> {
        let body = serde_json::json!({ "query": "{ getQueryStats(databaseId: 1) { id queryUrl truncatedQuery normalizedQuery statementType tableNames totalCalls avgTime bufferHitRatio pctOfTotal avgIoTime } }" });
        let reply: serde_json::Value = self
            .client
            .post(&self.url)
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await?
            .json()
            .await?;
        Ok(reply["data"]["getQueryStats"]
            .as_array()
            .with_context(|| format!("getQueryStats answered {reply}"))?
            .len())
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let Ok(url) = std::env::var("KEYDECK_TEST_PG_URL") else {
        eprintln!("SKIPPED: set KEYDECK_TEST_PG_URL (eval \"$(.ci/pg-cluster start)\") to run");
        return Ok(());
    };
    let count = env_usize("STATS_STATEMENTS", 5_000);
    let repeat = env_usize("STATS_REPEAT", 20);

    // A fresh database with `count` distinct statements in pg_stat_statements.
    let admin = PgPool::connect(&url).await?;
    let name = format!("keydeck_bench_{}", std::process::id());
    let (db_url, db) = fresh_database(&url, &name).await?;
    let work = statements(count);
    run_all(&db, &work, 500).await?;

    // Sampling rounds, straight into a store: the first stores every text and counter, the
    // second every counter again (all changed), the third nothing new.
    let dir = tempfile::tempdir()?;
    let store_url = format!("sqlite:{}/stats.db", dir.path().display());
    let store = Store::open(&store_url).await?;
    let id = store
        .monitored_ids(
            &[Wanted {
                id: None,
                name: "bench",
            }],
            sampler::now_ms(),
        )
        .await?[0];
    let monitored = PgPoolOptions::new()
        .max_connections(2)
        .connect(&db_url)
        .await?;
    let mut memory = Memory::default();
    let started = Instant::now();
    let first_stored = sampler::sample(&store, id, &monitored, &mut memory).await?;
    let first = started.elapsed();
    run_all(&db, &work, 500).await?;
    let started = Instant::now();
    let changed_stored = sampler::sample(&store, id, &monitored, &mut memory).await?;
    let changed = started.elapsed();
    let started = Instant::now();
    let idle_stored = sampler::sample(&store, id, &monitored, &mut memory).await?;
    let idle = started.elapsed();
    let mut windows = Vec::with_capacity(repeat);
    let mut active = 0;
    for _ in 0..repeat {
        let started = Instant::now();
        let now = sampler::now_ms();
        let rounds = store
            .window_rounds(id, now - 86_400_000, now)
            .await?
            .context("rounds in the window")?;
        active = store
            .window_activity(&rounds, 500, None)
            .await?
            .busiest
            .len();
        windows.push(started.elapsed());
    }
    // Kept open beside the service's own: the cold answers below need new rounds.

    // The service over that store, sampling rarely so that it does not run during the bench.
    let running = server::start(&ServeConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        database_url: store_url,
        bootstrap_token_file: None,
        max_key_ttl: None,
        public_url: None,
        monitor: vec![("bench".into(), db_url.clone())],
        sampling: Sampling {
            interval: Duration::from_hours(1),
            ..Sampling::default()
        },
        limits: Limits::default(),
        audit_retention: None,
        usage_retention: keydeck::server::DEFAULT_USAGE_RETENTION,
    })
    .await?;
    let token = running
        .bootstrap_token
        .clone()
        .context("a bootstrap token")?;
    let ask = StatsRequest {
        client: reqwest::Client::new(),
        url: running.graphql_url(),
        token,
    };
    let mut answered = 0;
    let mut graphql = Vec::with_capacity(repeat);
    for _ in 0..=repeat {
        let started = Instant::now();
        answered = ask.send().await?;
        graphql.push(started.elapsed());
    }
    graphql.remove(0); // the first parses every statement once (then cached)
    // Cold: the first answer after a new round (nothing changed in it), computed anew.
    let mut cold = Vec::with_capacity(repeat);
    for _ in 0..repeat {
        sampler::sample(&store, id, &monitored, &mut memory).await?;
        let started = Instant::now();
        ask.send().await?;
        cold.push(started.elapsed());
    }

    let bare_sql = format!(
        "SELECT {MARKER} queryid, query, calls, total_exec_time, shared_blks_hit, shared_blks_read \
         FROM pg_stat_statements"
    );
    let mut bare = Vec::with_capacity(repeat);
    let mut rows = 0;
    for _ in 0..=repeat {
        let started = Instant::now();
        rows = sqlx::query(&bare_sql).fetch_all(&monitored).await?.len();
        bare.push(started.elapsed());
    }
    bare.remove(0);
    running.task.abort();

    let (graphql, bare, cold) = (median(graphql), median(bare), median(cold));
    println!("query statistics, {count} distinct statements (medians of {repeat})\n");
    println!("| what | time |");
    println!("|---|---|");
    println!(
        "| `getQueryStats` over HTTP (last 24 h from samples, {answered} answered; asked again within a round) | {} |",
        ms(graphql)
    );
    println!(
        "| bare `SELECT … FROM pg_stat_statements` ({rows} rows) | {} |",
        ms(bare)
    );
    println!(
        "| ratio | {:.2}× |",
        graphql.as_secs_f64() / bare.as_secs_f64()
    );
    println!(
        "| `getQueryStats`, first answer after a new round (computed, not kept) | {} ({:.2}×) |",
        ms(cold),
        cold.as_secs_f64() / bare.as_secs_f64()
    );
    println!(
        "| of which the window over the stored samples (the {active} busiest) | {} |",
        ms(median(windows))
    );
    println!(
        "| first sampling round ({first_stored} statements, texts and counters) | {} |",
        ms(first)
    );
    println!(
        "| sampling round, {changed_stored} counters changed | {} |",
        ms(changed)
    );
    println!("| sampling round, {idle_stored} changed | {} |", ms(idle));

    monitored.close().await;
    db.close().await;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&admin)
        .await?;
    Ok(())
}
