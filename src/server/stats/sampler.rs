//! Sampling: every `--stats-interval`, each monitored database's `pg_stat_statements` goes into
//! the store as one round (one transaction), holding only the statements whose counters
//! changed; then retention thins and deletes old rounds.
//!
//! An unreachable database records nothing (its `databases` state says why) and is tried again
//! at the next interval.

use std::collections::{BTreeMap, HashMap, HashSet};
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
            interval: Duration::from_mins(1),
            retention: Duration::from_hours(24),
            rollup: Duration::from_hours(1),
            rollup_retention: Duration::from_hours(720),
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

/// This database's statements (its dbid only), one row per queryid and whether the rows are of
/// the role the service connects as, with the counters a window needs; `$read`/`$write` are
/// the I/O timing columns. The database is not trusted to tell the truth: negative counters
/// count as 0, sums stop at the largest BIGINT, NaN times as 0 and times beyond 10^15 ms at that. Without texts (`pg_stat_statements(false)`): any user of the
/// database decides how long a text is, and a round reads every counter, so texts are read
/// only for statements not seen before ([`TEXTS_SQL`]).
macro_rules! counters_sql {
    ($read:literal, $write:literal) => {
        concat!(
            "SELECT ",
            marker!(),
            " s.queryid AS query_id,
       s.userid = (SELECT oid FROM pg_roles WHERE rolname = current_user) AS own,
       least(sum(greatest(s.calls, 0)::numeric), 9223372036854775807)::int8 AS calls,
       sum(CASE WHEN s.total_exec_time = 'NaN' THEN 0
           ELSE least(greatest(s.total_exec_time, 0), 1e15) END)::float8 AS total_time,
       least(sum(greatest(s.shared_blks_hit, 0)::numeric), 9223372036854775807)::int8 AS hit,
       least(sum(greatest(s.shared_blks_read, 0)::numeric), 9223372036854775807)::int8 AS read,
       sum(CASE WHEN s.",
            $read,
            " + s.",
            $write,
            " = 'NaN' THEN 0 ELSE least(greatest(s.",
            $read,
            " + s.",
            $write,
            ", 0), 1e15) END)::float8 AS io_time
FROM pg_stat_statements(false) s
WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND s.queryid IS NOT NULL
GROUP BY 1, 2"
        )
    };
}

/// [`counters_sql!`] for PostgreSQL 14 to 16.
pub(super) const COUNTERS_SQL: &str = counters_sql!("blk_read_time", "blk_write_time");
/// [`counters_sql!`] for PostgreSQL 17 on, which renamed the I/O timing columns.
pub(super) const COUNTERS_SQL_17: &str =
    counters_sql!("shared_blk_read_time", "shared_blk_write_time");

/// The texts of statements `$2` (queryids) of this database, cut at 65,536 characters, in
/// queryid order while the texts before each total less than `$3` bytes: a round takes at
/// most that much text (and one text more), the rest comes with the rounds that follow.
/// `own_marked` says that the statement's rows of the service's role are its own queries
/// (they carry the marker `$1`): those rows are left out, and their text is not the
/// statement's (null when no other row has it). A marker written by any other role hides
/// nothing.
pub(super) const TEXTS_SQL: &str = concat!(
    "SELECT ",
    marker!(),
    " query_id, query, own_marked FROM (
  SELECT query_id, query, own_marked,
         sum(coalesce(octet_length(query), 0)) OVER (ORDER BY query_id) AS running
  FROM (SELECT s.queryid AS query_id,
               left(min(s.query) FILTER (WHERE NOT m.mine), 65536) AS query,
               coalesce(bool_or(m.mine), false) AS own_marked
        FROM pg_stat_statements(true) s
        CROSS JOIN LATERAL (SELECT strpos(s.query, $1) > 0
            AND s.userid = (SELECT oid FROM pg_roles WHERE rolname = current_user) AS mine) m
        WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND s.queryid = ANY($2)
        GROUP BY s.queryid) t) r
WHERE running - coalesce(octet_length(query), 0) < $3"
);

/// How many bytes of statement text one round reads at most (one text more): 5,000 new
/// statements of 64 KiB are 320 MiB, read over the rounds that follow instead of at once.
pub const TEXT_BYTES_PER_ROUND: i64 = 16 << 20;

/// What one database's sampler remembers between rounds: the epoch and the counters last
/// stored, so that unchanged statements are not stored again, which texts are stored, and
/// which statements' rows of the service's role are its own queries.
#[derive(Default)]
pub struct Memory {
    epoch: Option<(i64, Option<i64>)>,
    last: HashMap<i64, Counters>,
    /// Statements whose text is stored (or that are only the service's own queries).
    texts: HashSet<i64>,
    /// Statements whose rows of the service's role are its own queries: left out.
    own: HashSet<i64>,
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

/// Takes one round of database `database_id` and stores what changed. Statements whose text
/// is not read yet (past [`TEXT_BYTES_PER_ROUND`]) wait for a later round: their counters are
/// cumulative, so nothing is lost.
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
        COUNTERS_SQL_17
    } else {
        COUNTERS_SQL
    };
    let rows = sqlx::query(sql).fetch_all(&mut *conn).await?;
    let mut read = Vec::with_capacity(rows.len());
    for row in &rows {
        let counters = Counters {
            calls: row.try_get("calls")?,
            total_time_ms: row.try_get("total_time")?,
            blks_hit: row.try_get("hit")?,
            blks_read: row.try_get("read")?,
            io_time_ms: row.try_get("io_time")?,
        };
        let own: Option<bool> = row.try_get("own")?;
        read.push((
            row.try_get::<i64, _>("query_id")?,
            own == Some(true),
            counters,
        ));
    }
    let mut new: Vec<i64> = read
        .iter()
        .map(|&(query_id, _, _)| query_id)
        .filter(|id| !memory.texts.contains(id))
        .collect();
    new.sort_unstable();
    new.dedup();
    let mut texts: HashMap<i64, Option<String>> = HashMap::new();
    if !new.is_empty() {
        let rows = sqlx::query(TEXTS_SQL)
            .bind(MARKER)
            .bind(&new)
            .bind(TEXT_BYTES_PER_ROUND)
            .fetch_all(&mut *conn)
            .await?;
        for row in &rows {
            let query_id: i64 = row.try_get("query_id")?;
            if row.try_get("own_marked")? {
                memory.own.insert(query_id);
            }
            texts.insert(query_id, row.try_get("query")?);
        }
    }
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
    // Each statement's rows summed, but for the service's own.
    let mut summed: BTreeMap<i64, Counters> = BTreeMap::new();
    for (query_id, own, counters) in read {
        let text_known = memory.texts.contains(&query_id) || texts.contains_key(&query_id);
        if text_known && !(own && memory.own.contains(&query_id)) {
            let sum = summed.entry(query_id).or_default();
            *sum = sum.plus(counters);
        }
    }
    let changed: Vec<Sampled> = summed
        .iter()
        .filter(|(query_id, counters)| memory.last.get(query_id) != Some(counters))
        .map(|(&query_id, &counters)| Sampled {
            query_id,
            text: texts.get(&query_id).and_then(Option::as_deref),
            counters,
        })
        .collect();
    store.record_round(database_id, round, &changed).await?;
    for s in &changed {
        memory.last.insert(s.query_id, s.counters);
    }
    // Stored now, or only the service's own (no text to store).
    memory.texts.extend(texts.keys());
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
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
