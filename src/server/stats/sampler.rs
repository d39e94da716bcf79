//! Sampling: every `--stats-interval`, each monitored database's `pg_stat_statements` goes into
//! the store as one round (one transaction), holding only the statements whose counters
//! changed; then retention thins and deletes old rounds.
//!
//! An unreachable database records nothing (its `databases` state says why) and is tried again
//! at the next interval.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use sqlx::Row;
use sqlx::postgres::PgPool;

use super::{MARKER, Monitor, Monitored};
use crate::server::store::{Counters, Round, Sampled, Store};

/// How often to sample and how long samples are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sampling {
    /// `--stats-interval`
    pub interval: Duration,
    /// `--stats-retention`: rounds kept at full resolution.
    pub retention: Duration,
    /// `--stats-rollup`: past `retention`, one round per this much.
    pub rollup: Duration,
    /// `--stats-rollup-retention`: rolled-up rounds are deleted past this age.
    pub rollup_retention: Duration,
}

impl Default for Sampling {
    fn default() -> Self {
        Sampling {
            interval: Duration::from_secs(60),
            retention: Duration::from_secs(24 * 3600),
            rollup: Duration::from_secs(3600),
            rollup_retention: Duration::from_secs(30 * 86_400),
        }
    }
}

/// The round's reset epoch, and the server's version (which names the I/O timing columns).
pub(super) const ROUND_SQL: &str = concat!(
    "SELECT ",
    marker!(),
    " extract(epoch FROM pg_postmaster_start_time())::int8 AS postmaster_start_s,
       (SELECT extract(epoch FROM stats_reset)::int8 FROM pg_stat_statements_info) AS stats_reset_s,
       current_setting('server_version_num')::int4 AS version"
);

/// This database's statements (its dbid only, one row per queryid, without this service's
/// own), with the counters a window needs; `$read`/`$write` are the I/O timing columns.
/// Texts are cut at 65,536 characters: any user of the database decides how long they are,
/// and every round reads them all. "This service's own" are the marked statements of the role
/// it connects as: a marker written by anyone else hides nothing.
macro_rules! sample_sql {
    ($read:literal, $write:literal) => {
        concat!(
            "SELECT ",
            marker!(),
            " s.queryid AS query_id,
       left(min(s.query), 65536) AS query,
       sum(s.calls)::int8 AS calls,
       sum(s.total_exec_time)::float8 AS total_time,
       sum(s.shared_blks_hit)::int8 AS hit,
       sum(s.shared_blks_read)::int8 AS read,
       sum(s.",
            $read,
            " + s.",
            $write,
            ")::float8 AS io_time
FROM pg_stat_statements s
WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND s.queryid IS NOT NULL
  AND NOT (strpos(s.query, $1) > 0 AND s.userid = (SELECT oid FROM pg_roles WHERE rolname = current_user))
GROUP BY s.queryid"
        )
    };
}

/// [`sample_sql!`] for PostgreSQL 14 to 16.
pub(super) const SAMPLE_SQL: &str = sample_sql!("blk_read_time", "blk_write_time");
/// [`sample_sql!`] for PostgreSQL 17 on, which renamed the I/O timing columns.
pub(super) const SAMPLE_SQL_17: &str = sample_sql!("shared_blk_read_time", "shared_blk_write_time");

/// What one database's sampler remembers between rounds: the epoch and the counters last
/// stored, so that unchanged statements are not stored again, and which texts are stored.
#[derive(Default)]
pub struct Memory {
    epoch: Option<(i64, Option<i64>)>,
    last: HashMap<i64, Counters>,
    texts: HashSet<i64>,
}

/// Samples `db` every `sampling.interval` until the task is dropped.
/// After each round the default window's answer is computed, so that the requests of the
/// interval that follows (clients polling it, a TUI refreshing) find it ready.
pub(super) async fn run(store: Store, db: Arc<Monitored>, monitor: Monitor) {
    let sampling = monitor.sampling;
    let mut tick = tokio::time::interval(sampling.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut memory = Memory::default();
    loop {
        tick.tick().await;
        match store.hold_sampling_lock(db.numeric_id).await {
            Ok(true) => {}
            Ok(false) => continue, // another replica samples it; try again next interval
            Err(e) => {
                tracing::warn!(database = %db.name, error = %e, "the sampling lock failed");
                continue;
            }
        }
        if let Err(e) = sample(&store, db.numeric_id, &db.pool, &mut memory).await {
            tracing::warn!(database = %db.name, error = %e, "sampling pg_stat_statements failed; retrying at the next interval");
            continue;
        }
        if let Err(e) = retain(&store, db.numeric_id, &sampling).await {
            tracing::warn!(database = %db.name, error = %e, "applying stats retention failed");
        }
        if let Err(e) = monitor.prepare_default_window(&store, &db).await {
            tracing::warn!(database = %db.name, error = %e, "preparing the default window failed");
        }
    }
}

/// Takes one round of database `database_id` and stores what changed.
pub async fn sample(
    store: &Store,
    database_id: i64,
    pool: &PgPool,
    memory: &mut Memory,
) -> anyhow::Result<usize> {
    // Stamped before reading: a round holds at least what happened before its time.
    let taken_ms = now_ms();
    let mut conn = pool.acquire().await?;
    let head = sqlx::query(ROUND_SQL).fetch_one(&mut *conn).await?;
    let version: i32 = head.try_get("version")?;
    let sql = if version >= 170_000 {
        SAMPLE_SQL_17
    } else {
        SAMPLE_SQL
    };
    let rows = sqlx::query(sql).bind(MARKER).fetch_all(&mut *conn).await?;
    drop(conn);
    let round = Round {
        taken_ms,
        stats_reset_s: head.try_get("stats_reset_s")?,
        postmaster_start_s: head.try_get("postmaster_start_s")?,
    };
    if memory.epoch != Some(round.epoch()) {
        memory.epoch = Some(round.epoch());
        memory.last.clear();
    }
    let mut read = Vec::with_capacity(rows.len());
    for row in &rows {
        let query_id: i64 = row.try_get("query_id")?;
        let counters = Counters {
            calls: row.try_get("calls")?,
            total_time_ms: row.try_get("total_time")?,
            blks_hit: row.try_get("hit")?,
            blks_read: row.try_get("read")?,
            io_time_ms: row.try_get("io_time")?,
        };
        if memory.last.get(&query_id) == Some(&counters) {
            continue;
        }
        let text: &str = row.try_get("query")?;
        read.push((query_id, counters, text));
    }
    let changed: Vec<Sampled> = read
        .iter()
        .map(|&(query_id, counters, text)| Sampled {
            query_id,
            text: (!memory.texts.contains(&query_id)).then_some(text),
            counters,
        })
        .collect();
    store.record_round(database_id, round, &changed).await?;
    for s in &changed {
        memory.last.insert(s.query_id, s.counters);
        memory.texts.insert(s.query_id);
    }
    Ok(changed.len())
}

async fn retain(store: &Store, database_id: i64, sampling: &Sampling) -> anyhow::Result<()> {
    let now = now_ms();
    let ms = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
    store
        .apply_retention(
            database_id,
            now.saturating_sub(ms(sampling.retention)),
            ms(sampling.rollup),
            now.saturating_sub(ms(sampling.rollup_retention)),
        )
        .await?;
    Ok(())
}

/// Milliseconds since the Unix epoch, as rounds are stamped.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
