//! A monitored database for the query-statistics benches: a fresh database on the cluster at
//! `KEYDECK_TEST_PG_URL` with a wide table whose columns, alone and in pairs, make as many
//! distinct statements (distinct queryids) as asked; and `keydeck serve` as a child process.

use std::net::{SocketAddr, TcpListener};
use std::process::Child;

use anyhow::Context as _;
use sqlx::postgres::{PgPool, PgPoolOptions};

/// Columns of the table whose column pairs make the distinct statements: constants and
/// aliases do not change a queryid, the columns read do.
pub const COLUMNS: usize = 100;

pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `count` statements with distinct queryids: each column alone, then pairs of columns.
pub fn statements(count: usize) -> Vec<String> {
    let singles = (1..=COLUMNS).map(|i| format!("SELECT c{i} FROM wide"));
    let pairs = (1..=COLUMNS)
        .flat_map(|i| ((i + 1)..=COLUMNS).map(move |j| format!("SELECT c{i}, c{j} FROM wide")));
    singles.chain(pairs).take(count).collect()
}

/// Runs `statements`, 500 to a round trip at most and `per_batch` when fewer.
pub async fn run_all(pool: &PgPool, statements: &[String], per_batch: usize) -> anyhow::Result<()> {
    for chunk in statements.chunks(per_batch.clamp(1, 500)) {
        sqlx::raw_sql(&chunk.join(";\n")).execute(pool).await?;
    }
    Ok(())
}

pub fn with_database(url: &str, database: &str) -> anyhow::Result<String> {
    let (server, _) = url.rsplit_once('/').context("a URL with a database")?;
    Ok(format!("{server}/{database}"))
}

/// A fresh database `name` on the server of `url` (a superuser's) with the wide table and
/// pg_stat_statements, its statistics reset; its URL and a pool of one connection to it.
pub async fn fresh_database(url: &str, name: &str) -> anyhow::Result<(String, PgPool)> {
    let admin = PgPool::connect(url).await?;
    for sql in [
        format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        format!("CREATE DATABASE {name}"),
    ] {
        sqlx::query(&sql).execute(&admin).await?;
    }
    admin.close().await;
    let db_url = with_database(url, name)?;
    let db = PgPoolOptions::new()
        .max_connections(1)
        .connect(&db_url)
        .await?;
    let columns: Vec<String> = (1..=COLUMNS)
        .map(|i| format!("c{i} int DEFAULT {i}"))
        .collect();
    sqlx::raw_sql(&format!(
        "CREATE EXTENSION IF NOT EXISTS pg_stat_statements; \
         CREATE TABLE wide ({}); INSERT INTO wide DEFAULT VALUES; SELECT pg_stat_statements_reset()",
        columns.join(", ")
    ))
    .execute(&db)
    .await?;
    Ok((db_url, db))
}

/// Drops database `name` of the server of `url`.
pub async fn drop_database(url: &str, name: &str) -> anyhow::Result<()> {
    let admin = PgPool::connect(url).await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&admin)
        .await?;
    admin.close().await;
    Ok(())
}

/// A `keydeck serve` child process, killed when dropped.
pub struct Service(pub Child);

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A loopback address nobody listens on (the OS's pick, released for the child to take).
pub fn free_port() -> anyhow::Result<SocketAddr> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}
