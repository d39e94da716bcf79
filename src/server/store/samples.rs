//! Query statistics over time: the monitored databases' stable ids and the samples of their
//! `pg_stat_statements` (migrations sqlite/0005, postgres/0003).
//!
//! A sample holds a statement's cumulative counters as PostgreSQL reported them at a round.
//! Counters only grow inside a reset epoch — a round's `(postmaster start, stats_reset)` — so
//! a statement's value at a round is its latest sample at or before that round *in the same
//! epoch* (zero when it has none), and samples are stored only when counters changed. The
//! activity between two rounds is then the difference of those values, summed per epoch: a
//! reset or a restart starts a new epoch from zero, so it never yields negative numbers and
//! never loses what happened after it.
//!
//! The SQL runs unchanged on both backends: `$N` placeholders, `ON CONFLICT`, BIGINT
//! columns, no SQLite-only functions.

use std::collections::HashMap;

use sqlx::{AnyConnection, Row};

use super::sql::Sql;
use super::{Backend, Store, StoreError, StoreResult};

/// A statement's cumulative counters, as `pg_stat_statements` keeps them.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Counters {
    pub calls: i64,
    pub total_time_ms: f64,
    pub blks_hit: i64,
    pub blks_read: i64,
    pub io_time_ms: f64,
}

impl Counters {
    /// Both together: one statement's rows of several roles.
    pub fn plus(self, other: Counters) -> Counters {
        Counters {
            calls: self.calls + other.calls,
            total_time_ms: self.total_time_ms + other.total_time_ms,
            blks_hit: self.blks_hit + other.blks_hit,
            blks_read: self.blks_read + other.blks_read,
            io_time_ms: self.io_time_ms + other.io_time_ms,
        }
    }

    /// What happened between `earlier` and `self` (same epoch), never below zero: a statement
    /// evicted from `pg_stat_statements` and seen again starts lower.
    fn since(self, earlier: Counters) -> Counters {
        Counters {
            calls: (self.calls - earlier.calls).max(0),
            total_time_ms: (self.total_time_ms - earlier.total_time_ms).max(0.0),
            blks_hit: (self.blks_hit - earlier.blks_hit).max(0),
            blks_read: (self.blks_read - earlier.blks_read).max(0),
            io_time_ms: (self.io_time_ms - earlier.io_time_ms).max(0.0),
        }
    }
}

/// When a round was taken and which reset epoch it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    pub taken_ms: i64,
    /// `pg_stat_statements_info.stats_reset`, epoch seconds (PostgreSQL 14 on).
    pub stats_reset_s: Option<i64>,
    /// `pg_postmaster_start_time()`, epoch seconds.
    pub postmaster_start_s: i64,
}

impl Round {
    pub fn epoch(&self) -> (i64, Option<i64>) {
        (self.postmaster_start_s, self.stats_reset_s)
    }
}

/// What [`Store::window_activity`] answers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WindowActivity {
    /// Busiest first.
    pub busiest: Vec<Busy>,
    /// The time of every statement active in the window, answered or not.
    pub total_time_ms: f64,
}

/// A statement active in a window.
#[derive(Debug, Clone, PartialEq)]
pub struct Busy {
    pub query_id: i64,
    pub counters: Counters,
    pub text: String,
}

/// Which rounds a window counts over (see [`Store::window_rounds`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WindowRounds {
    pub database_id: i64,
    pub base: i64,
    /// Per reset epoch, oldest first: its first round and its last one in the window.
    pub epochs: Vec<(i64, i64)>,
}

/// One statement of a round: its counters, and its text when the store may not have it yet.
pub struct Sampled<'a> {
    pub query_id: i64,
    pub text: Option<&'a str>,
    pub counters: Counters,
}

/// A monitored database as configured: its name, and the id given with it, if any.
pub struct Wanted<'a> {
    pub id: Option<i64>,
    pub name: &'a str,
}

/// The high bits of the session advisory lock that says which replica samples a database (its
/// id in the low 32 bits). Arbitrary, but fixed: replicas of every version must agree on it.
const SAMPLING_LOCK_CLASS: i64 = 0x6b64_7374 << 32; // "kdst"

/// The sampling locks this replica holds, and the dedicated session holding them.
#[derive(Default)]
pub(super) struct SamplingLocks {
    session: Option<AnyConnection>,
    held: std::collections::HashSet<i64>,
}

/// Rows per multi-row INSERT (and ids per `IN` list). SQLite finds a parameter's name by a
/// linear scan of the statement's parameters, and sqlx asks for every parameter's name, so a
/// statement's binding costs the square of its parameter count: 1,000 rows of 8 binds made a
/// round of 5,000 statements take 340 ms, 100 rows take a twentieth of that.
const ROWS_PER_INSERT: usize = 100;

impl Store {
    /// The ids of these monitored databases, in order. An explicit id is kept (and recorded);
    /// a name without one keeps the id the store holds for it, or gets one above every id
    /// ever handed out. Ids are never deleted, so never reused. An explicit id the store holds for
    /// another name, or a name the store holds under another id, is refused.
    pub async fn monitored_ids(&self, wanted: &[Wanted<'_>], now_ms: i64) -> StoreResult<Vec<i64>> {
        // The write lock: replicas starting together must not hand one id to two names.
        let mut tx = self.begin().await?;
        let mut known: HashMap<String, i64> = HashMap::new();
        for row in sqlx::query("SELECT id, name FROM monitored_databases")
            .fetch_all(&mut *tx)
            .await?
        {
            known.insert(row.try_get("name")?, row.try_get("id")?);
        }
        let holder = |known: &HashMap<String, i64>, id: i64| {
            known
                .iter()
                .find(|(_, v)| **v == id)
                .map(|(k, _)| k.clone())
        };
        // Explicit ids first, so that no name without one is handed an id claimed later on.
        for w in wanted {
            let Some(id) = w.id else { continue };
            match (known.get(w.name), holder(&known, id)) {
                (Some(&held), _) if held != id => {
                    return Err(StoreError::MonitorId(format!(
                        "--monitor {id}:{}: the store already gave `{}` the id {held}; ids never change (use {held}:{} or no id)",
                        w.name, w.name, w.name
                    )));
                }
                (_, Some(other)) if other != w.name => {
                    return Err(StoreError::MonitorId(format!(
                        "--monitor {id}:{}: the id {id} belongs to `{other}` in the store; ids are never reused",
                        w.name
                    )));
                }
                (Some(_), _) => {}
                (None, _) => {
                    insert_monitored(&mut tx, id, w.name, now_ms).await?;
                    known.insert(w.name.to_owned(), id);
                }
            }
        }
        let mut ids = Vec::with_capacity(wanted.len());
        for w in wanted {
            let id = if let Some(&id) = known.get(w.name) {
                id
            } else {
                let next: i64 =
                    sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM monitored_databases")
                        .fetch_one(&mut *tx)
                        .await?;
                insert_monitored(&mut tx, next, w.name, now_ms).await?;
                known.insert(w.name.to_owned(), next);
                next
            };
            ids.push(id);
        }
        tx.commit().await?;
        Ok(ids)
    }

    /// Stores one round of database `database_id`: the round, the texts not stored yet and the
    /// statements given (those whose counters changed), in one transaction.
    pub async fn record_round(
        &self,
        database_id: i64,
        round: Round,
        statements: &[Sampled<'_>],
    ) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        let round_id: i64 = sqlx::query_scalar(
            "INSERT INTO stats_rounds (database_id, taken_ms, stats_reset_s, postmaster_start_s) \
             VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(database_id)
        .bind(round.taken_ms)
        .bind(round.stats_reset_s)
        .bind(round.postmaster_start_s)
        .fetch_one(&mut *tx)
        .await?;
        let texts: Vec<(i64, &str)> = statements
            .iter()
            .filter_map(|s| s.text.map(|t| (s.query_id, t)))
            .collect();
        for chunk in texts.chunks(ROWS_PER_INSERT) {
            let mut q =
                Sql::new("INSERT INTO stats_statements (database_id, query_id, query) VALUES ");
            for (i, (id, text)) in chunk.iter().enumerate() {
                q.push(if i == 0 { "(" } else { ", (" });
                q.bind(database_id).push(", ").bind(*id).push(", ");
                q.bind((*text).to_owned()).push(")");
            }
            q.push(" ON CONFLICT (database_id, query_id) DO NOTHING");
            q.query()?.execute(&mut *tx).await?;
        }
        for chunk in statements.chunks(ROWS_PER_INSERT) {
            let mut q = Sql::new(
                "INSERT INTO stats_samples (round_id, database_id, query_id, calls, total_time_ms, \
                 blks_hit, blks_read, io_time_ms) VALUES ",
            );
            for (i, s) in chunk.iter().enumerate() {
                let c = s.counters;
                q.push(if i == 0 { "(" } else { ", (" });
                q.bind(round_id).push(", ").bind(database_id).push(", ");
                q.bind(s.query_id).push(", ");
                q.bind(c.calls).push(", ").bind(c.total_time_ms).push(", ");
                q.bind(c.blks_hit).push(", ").bind(c.blks_read).push(", ");
                q.bind(c.io_time_ms).push(")");
            }
            q.query()?.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The rounds a window's activity is counted over: its base, the last round at or before
    /// `start_ms` (or, when monitoring began later, the first one after it), and each reset
    /// epoch from the base's to the end's with its first round and its last at or before
    /// `end_ms`. None when the window holds no round.
    pub async fn window_rounds(
        &self,
        database_id: i64,
        start_ms: i64,
        end_ms: i64,
    ) -> StoreResult<Option<WindowRounds>> {
        let mut conn = self.read.acquire().await?;
        let Some(base) = base_round(&mut conn, database_id, start_ms, end_ms).await? else {
            return Ok(None);
        };
        let rows = sqlx::query(
            "SELECT MIN(id) AS first_id, MAX(id) AS last_id FROM stats_rounds \
             WHERE database_id = $1 AND taken_ms <= $2 \
             GROUP BY postmaster_start_s, stats_reset_s HAVING MAX(id) >= $3 \
             ORDER BY MIN(id)",
        )
        .bind(database_id)
        .bind(end_ms)
        .bind(base)
        .fetch_all(&mut *conn)
        .await?;
        let epochs = rows
            .iter()
            .map(|row| Ok((row.try_get("first_id")?, row.try_get("last_id")?)))
            .collect::<StoreResult<_>>()?;
        Ok(Some(WindowRounds {
            database_id,
            base,
            epochs,
        }))
    }

    /// The busiest statements over these rounds (at most `limit`, or only statement `only`),
    /// with their texts, and the time of all statements: each statement's activity from the
    /// base to each epoch's last round, summed over the epochs, never below zero. Statements
    /// without activity are left out. Computed by the store in one statement, two index
    /// seeks per statement and epoch, so that only what is answered leaves it. The answer
    /// depends on the rounds only (retention keeps every kept round's values), so it may be
    /// kept for as long as they are the window's.
    pub async fn window_activity(
        &self,
        rounds: &WindowRounds,
        limit: i64,
        only: Option<i64>,
    ) -> StoreResult<WindowActivity> {
        let db = rounds.database_id;
        let greatest = self.backend.greatest();
        let mut q = Sql::new("WITH epochs (first_id, last_id) AS (VALUES ");
        for (i, &(first, last)) in rounds.epochs.iter().enumerate() {
            q.push(if i == 0 { "(" } else { ", (" });
            q.bind(first).push(", ").bind(last).push(")");
        }
        q.push(
            "), changes AS (SELECT st.query_id, e.calls - COALESCE(b.calls, 0) AS calls, \
             e.total_time_ms - COALESCE(b.total_time_ms, 0) AS total_time_ms, \
             e.blks_hit - COALESCE(b.blks_hit, 0) AS blks_hit, \
             e.blks_read - COALESCE(b.blks_read, 0) AS blks_read, \
             e.io_time_ms - COALESCE(b.io_time_ms, 0) AS io_time_ms \
             FROM epochs ep JOIN stats_statements st ON st.database_id = ",
        );
        q.bind(db).push(
            " JOIN stats_samples e ON e.database_id = st.database_id \
             AND e.query_id = st.query_id AND e.round_id = (SELECT MAX(x.round_id) \
             FROM stats_samples x WHERE x.database_id = st.database_id \
             AND x.query_id = st.query_id AND x.round_id >= ep.first_id \
             AND x.round_id <= ep.last_id) \
             LEFT JOIN stats_samples b ON b.database_id = st.database_id \
             AND b.query_id = st.query_id AND b.round_id = (SELECT MAX(x.round_id) \
             FROM stats_samples x WHERE x.database_id = st.database_id \
             AND x.query_id = st.query_id AND x.round_id >= ep.first_id AND x.round_id <= ",
        );
        q.bind(rounds.base)
            .push(") WHERE e.round_id > ")
            .bind(rounds.base);
        // Within one epoch a statement has one change: nothing to sum (and no grouping,
        // which is a third of the work on SQLite).
        let (sum, group) = if rounds.epochs.len() == 1 {
            ("", "")
        } else {
            ("SUM", " GROUP BY query_id")
        };
        q.push(&format!(
            "), activity AS (SELECT query_id, \
             CAST({sum}({greatest}(calls, 0)) AS BIGINT) AS calls, \
             CAST({sum}({greatest}(total_time_ms, 0.0)) AS DOUBLE PRECISION) AS total_time_ms, \
             CAST({sum}({greatest}(blks_hit, 0)) AS BIGINT) AS blks_hit, \
             CAST({sum}({greatest}(blks_read, 0)) AS BIGINT) AS blks_read, \
             CAST({sum}({greatest}(io_time_ms, 0.0)) AS DOUBLE PRECISION) AS io_time_ms \
             FROM changes{group}), \
             ranked AS (SELECT a.*, CAST(SUM(a.total_time_ms) OVER () AS DOUBLE PRECISION) \
             AS all_time_ms FROM activity a WHERE a.calls > 0 OR a.total_time_ms > 0) \
             SELECT r.query_id, r.calls, r.total_time_ms, r.blks_hit, r.blks_read, \
             r.io_time_ms, r.all_time_ms, t.query FROM ranked r JOIN stats_statements t \
             ON t.database_id = "
        ));
        q.bind(db).push(" AND t.query_id = r.query_id");
        if let Some(only) = only {
            q.push(" WHERE r.query_id = ").bind(only);
        }
        q.push(" ORDER BY r.total_time_ms DESC, r.query_id LIMIT ")
            .bind(limit);
        let rows = q.query()?.fetch_all(&self.read).await?;
        let mut activity = WindowActivity::default();
        for row in &rows {
            activity.total_time_ms = row.try_get("all_time_ms")?;
            activity.busiest.push(Busy {
                query_id: row.try_get("query_id")?,
                counters: counters(row)?,
                text: row.try_get("query")?,
            });
        }
        Ok(activity)
    }

    /// What statement `query_id` of a database did from each round to the next in a window
    /// (rounds as [`Store::window_activity`] picks them): the time of each round after the
    /// base and the statement's activity since the round before it, oldest first. A round
    /// that starts a reset epoch counts from zero. One row per round of the window.
    pub async fn statement_series(
        &self,
        database_id: i64,
        query_id: i64,
        start_ms: i64,
        end_ms: i64,
    ) -> StoreResult<Vec<(i64, Counters)>> {
        let mut conn = self.read.acquire().await?;
        let Some(base) = base_round(&mut conn, database_id, start_ms, end_ms).await? else {
            return Ok(Vec::new());
        };
        let rows = sqlx::query(
            "SELECT r.id, r.taken_ms, r.stats_reset_s, r.postmaster_start_s, \
                    s.calls, s.total_time_ms, s.blks_hit, s.blks_read, s.io_time_ms \
             FROM stats_rounds r LEFT JOIN stats_samples s ON s.round_id = r.id \
                 AND s.database_id = r.database_id AND s.query_id = $2 \
             WHERE r.database_id = $1 AND r.id >= $3 AND r.taken_ms <= $4 ORDER BY r.id",
        )
        .bind(database_id)
        .bind(query_id)
        .bind(base)
        .bind(end_ms)
        .fetch_all(&mut *conn)
        .await?;
        let mut series = Vec::with_capacity(rows.len());
        let mut epoch = None;
        let mut value = Counters::default();
        for row in &rows {
            let round = round_of(row)?;
            let sample = match row.try_get::<Option<i64>, _>("calls")? {
                Some(_) => Some(counters(row)?),
                None => None,
            };
            let Some(current) = epoch else {
                // The base round: the statement's value there is its latest sample at or
                // before it in its epoch.
                epoch = Some(round.epoch());
                value = match sample {
                    Some(sample) => sample,
                    None => latest_in_epoch(&mut conn, database_id, query_id, base, round).await?,
                };
                continue;
            };
            let before = if current == round.epoch() {
                value
            } else {
                epoch = Some(round.epoch());
                value = Counters::default();
                Counters::default()
            };
            if let Some(sample) = sample {
                value = sample;
            }
            series.push((round.taken_ms, value.since(before)));
        }
        Ok(series)
    }

    /// The stored texts of these statements of a database.
    pub async fn statement_texts(
        &self,
        database_id: i64,
        query_ids: &[i64],
    ) -> StoreResult<HashMap<i64, String>> {
        let mut texts = HashMap::with_capacity(query_ids.len());
        for chunk in query_ids.chunks(ROWS_PER_INSERT) {
            let mut q =
                Sql::new("SELECT query_id, query FROM stats_statements WHERE database_id = ");
            q.bind(database_id).push(" AND query_id IN ");
            push_ids(&mut q, chunk);
            for row in q.query()?.fetch_all(&self.read).await? {
                texts.insert(row.try_get("query_id")?, row.try_get("query")?);
            }
        }
        Ok(texts)
    }

    /// Applies retention to one database's rounds: those taken before `delete_before_ms` go;
    /// of those taken before `full_before_ms`, one per `rollup_ms` bucket and epoch stays (the
    /// bucket's last). A removed round's latest samples are folded into the next round kept in
    /// its epoch, so every kept round keeps its values and every window its activity.
    pub async fn apply_retention(
        &self,
        database_id: i64,
        full_before_ms: i64,
        rollup_ms: i64,
        delete_before_ms: i64,
    ) -> StoreResult<()> {
        let rollup_ms = rollup_ms.max(1);
        let mut tx = self.write.begin().await?;
        // The rounds retention may touch, and the first one after them (a fold target).
        let rows = sqlx::query(
            "SELECT id, taken_ms, stats_reset_s, postmaster_start_s FROM stats_rounds \
             WHERE database_id = $1 AND id <= COALESCE( \
                 (SELECT MIN(id) FROM stats_rounds WHERE database_id = $1 AND taken_ms >= $2), \
                 (SELECT MAX(id) FROM stats_rounds WHERE database_id = $1)) \
             ORDER BY id",
        )
        .bind(database_id)
        .bind(full_before_ms)
        .fetch_all(&mut *tx)
        .await?;
        let mut rounds = Vec::with_capacity(rows.len());
        for row in &rows {
            let round = round_of(row)?;
            rounds.push((row.try_get::<i64, _>("id")?, round));
        }
        let keep = kept_rounds(&rounds, full_before_ms, rollup_ms, delete_before_ms);
        // Removed rounds, grouped by the kept round of their epoch that follows them.
        let mut pending: Vec<i64> = Vec::new();
        for (i, (id, round)) in rounds.iter().enumerate() {
            if keep[i] {
                if !pending.is_empty() {
                    fold_into(&mut tx, *id, &pending).await?;
                    remove_rounds(&mut tx, &pending).await?;
                    pending.clear();
                }
                continue;
            }
            pending.push(*id);
            let epoch_ends = rounds
                .get(i + 1)
                .is_none_or(|(_, next)| next.epoch() != round.epoch());
            if epoch_ends {
                // Nothing kept after them in their epoch: their activity is past retention.
                remove_rounds(&mut tx, &pending).await?;
                pending.clear();
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Whether this process may sample database `database_id` now. Several replicas sharing
    /// one PostgreSQL store must not each sample every database: there this is a session-level
    /// `pg_try_advisory_lock(<class>, database_id)` on a dedicated connection, tried again each
    /// interval by a replica that does not hold it, and released when the holder stops. A
    /// SQLite store belongs to one process, which always holds it.
    pub async fn hold_sampling_lock(&self, database_id: i64) -> StoreResult<bool> {
        if self.backend != Backend::Postgres {
            return Ok(true);
        }
        let mut locks = self.sampling_locks.lock().await;
        let locks = &mut *locks;
        // A session that died took its locks with it (another replica may hold them now).
        if let Some(conn) = locks.session.as_mut()
            && sqlx::query("SELECT 1").execute(&mut *conn).await.is_err()
        {
            locks.session = None;
            locks.held.clear();
        }
        if locks.held.contains(&database_id) {
            return Ok(true);
        }
        let conn = match locks.session.as_mut() {
            Some(conn) => conn,
            None => locks.session.insert(self.write.acquire().await?.detach()),
        };
        let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(SAMPLING_LOCK_CLASS | database_id)
            .fetch_one(&mut *conn)
            .await?;
        if got {
            locks.held.insert(database_id);
        }
        Ok(got)
    }

    /// When the oldest round kept of a database was taken (milliseconds): where its data
    /// begins, so a window reaching further back has nothing there. None before its first
    /// round.
    pub async fn first_round_ms(&self, database_id: i64) -> StoreResult<Option<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT taken_ms FROM stats_rounds WHERE database_id = $1 \
             ORDER BY taken_ms, id LIMIT 1",
        )
        .bind(database_id)
        .fetch_optional(&self.read)
        .await?)
    }

    /// How many rounds and samples the store holds (all databases): what retention bounds.
    pub async fn sample_counts(&self) -> StoreResult<(i64, i64)> {
        let rounds: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM stats_rounds")
            .fetch_one(&self.read)
            .await?;
        let samples: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM stats_samples")
            .fetch_one(&self.read)
            .await?;
        Ok((rounds, samples))
    }
}

/// Which of `rounds` (one database, by id) retention keeps. The last one is always kept: it
/// is either the first round of full resolution or the newest round of all.
fn kept_rounds(
    rounds: &[(i64, Round)],
    full_before_ms: i64,
    rollup_ms: i64,
    delete_before_ms: i64,
) -> Vec<bool> {
    let bucket = |r: &Round| (r.taken_ms.div_euclid(rollup_ms), r.epoch());
    rounds
        .iter()
        .enumerate()
        .map(|(i, (_, r))| {
            let Some((_, next)) = rounds.get(i + 1) else {
                return true;
            };
            if r.taken_ms >= full_before_ms {
                true
            } else if r.taken_ms < delete_before_ms {
                false
            } else {
                // The last of its bucket and epoch among the rolled-up rounds.
                next.taken_ms >= full_before_ms || bucket(next) != bucket(r)
            }
        })
        .collect()
}

async fn insert_monitored(
    conn: &mut AnyConnection,
    id: i64,
    name: &str,
    now_ms: i64,
) -> StoreResult<()> {
    sqlx::query("INSERT INTO monitored_databases (id, name, first_seen_ms) VALUES ($1, $2, $3)")
        .bind(id)
        .bind(name)
        .bind(now_ms)
        .execute(conn)
        .await?;
    Ok(())
}

/// The round a window's activity is counted from: the last at or before its start, or, when
/// monitoring began later, the first one inside it; none when the window holds no round.
async fn base_round(
    conn: &mut AnyConnection,
    database_id: i64,
    start_ms: i64,
    end_ms: i64,
) -> StoreResult<Option<i64>> {
    let before: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM stats_rounds WHERE database_id = $1 AND taken_ms <= $2 \
         ORDER BY taken_ms DESC, id DESC LIMIT 1",
    )
    .bind(database_id)
    .bind(start_ms)
    .fetch_optional(&mut *conn)
    .await?;
    if before.is_some() {
        return Ok(before);
    }
    Ok(sqlx::query_scalar(
        "SELECT id FROM stats_rounds WHERE database_id = $1 AND taken_ms > $2 \
         AND taken_ms <= $3 ORDER BY taken_ms, id LIMIT 1",
    )
    .bind(database_id)
    .bind(start_ms)
    .bind(end_ms)
    .fetch_optional(conn)
    .await?)
}

/// Statement `query_id`'s latest sample at or before round `at` (which is `round`), if it is
/// of that round's epoch; zero otherwise.
async fn latest_in_epoch(
    conn: &mut AnyConnection,
    database_id: i64,
    query_id: i64,
    at: i64,
    round: Round,
) -> StoreResult<Counters> {
    let row = sqlx::query(
        "SELECT r.taken_ms, r.stats_reset_s, r.postmaster_start_s, \
                s.calls, s.total_time_ms, s.blks_hit, s.blks_read, s.io_time_ms \
         FROM stats_samples s JOIN stats_rounds r ON r.id = s.round_id \
         WHERE s.database_id = $1 AND s.query_id = $2 AND s.round_id <= $3 \
         ORDER BY s.round_id DESC LIMIT 1",
    )
    .bind(database_id)
    .bind(query_id)
    .bind(at)
    .fetch_optional(conn)
    .await?;
    let Some(row) = row else {
        return Ok(Counters::default());
    };
    if round_of(&row)?.epoch() == round.epoch() {
        counters(&row)
    } else {
        Ok(Counters::default())
    }
}

/// A round as its row has it (`taken_ms`, `stats_reset_s`, `postmaster_start_s`).
fn round_of(row: &sqlx::any::AnyRow) -> StoreResult<Round> {
    Ok(Round {
        taken_ms: row.try_get("taken_ms")?,
        stats_reset_s: row.try_get("stats_reset_s")?,
        postmaster_start_s: row.try_get("postmaster_start_s")?,
    })
}

/// A sample's counters as its row has them (`calls`, `total_time_ms`, …).
fn counters(row: &sqlx::any::AnyRow) -> StoreResult<Counters> {
    Ok(Counters {
        calls: row.try_get("calls")?,
        total_time_ms: row.try_get("total_time_ms")?,
        blks_hit: row.try_get("blks_hit")?,
        blks_read: row.try_get("blks_read")?,
        io_time_ms: row.try_get("io_time_ms")?,
    })
}

/// Gives round `into` each statement's latest sample among `removed` (rounds of its epoch just
/// before it), unless it has a sample of its own (which is newer).
async fn fold_into(conn: &mut AnyConnection, into: i64, removed: &[i64]) -> StoreResult<()> {
    let mut q = Sql::new(
        "INSERT INTO stats_samples (round_id, database_id, query_id, calls, total_time_ms, \
         blks_hit, blks_read, io_time_ms) SELECT ",
    );
    q.bind(into).push(
        ", s.database_id, s.query_id, s.calls, s.total_time_ms, s.blks_hit, s.blks_read, s.io_time_ms \
         FROM stats_samples s JOIN (SELECT query_id, MAX(round_id) AS round_id \
         FROM stats_samples WHERE round_id IN ",
    );
    push_ids(&mut q, removed);
    q.push(
        " GROUP BY query_id) m ON m.query_id = s.query_id AND m.round_id = s.round_id \
         WHERE true ON CONFLICT (round_id, query_id) DO NOTHING",
    );
    q.query()?.execute(conn).await?;
    Ok(())
}

async fn remove_rounds(conn: &mut AnyConnection, ids: &[i64]) -> StoreResult<()> {
    for sql in [
        "DELETE FROM stats_samples WHERE round_id IN ",
        "DELETE FROM stats_rounds WHERE id IN ",
    ] {
        let mut q = Sql::new(sql);
        push_ids(&mut q, ids);
        q.query()?.execute(&mut *conn).await?;
    }
    Ok(())
}

/// `($1, $2, …)` of these ids; `(NULL)` for none, which matches nothing.
fn push_ids(q: &mut Sql, ids: &[i64]) {
    if ids.is_empty() {
        q.push("(NULL)");
        return;
    }
    for (i, id) in ids.iter().enumerate() {
        q.push(if i == 0 { "(" } else { ", " });
        q.bind(*id);
    }
    q.push(")");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counters(calls: i64) -> Counters {
        Counters {
            calls,
            total_time_ms: calls as f64,
            blks_hit: calls,
            blks_read: 0,
            io_time_ms: 0.0,
        }
    }

    fn round(taken_ms: i64, stats_reset_s: i64) -> Round {
        Round {
            taken_ms,
            stats_reset_s: Some(stats_reset_s),
            postmaster_start_s: 1,
        }
    }

    async fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}/samples.db", dir.path().display());
        let store = Store::open(&url).await.unwrap();
        (dir, store)
    }

    async fn record(store: &Store, db: i64, round: Round, values: &[(i64, i64)]) {
        let sampled: Vec<Sampled> = values
            .iter()
            .map(|&(query_id, calls)| Sampled {
                query_id,
                text: Some("SELECT $1"),
                counters: counters(calls),
            })
            .collect();
        store.record_round(db, round, &sampled).await.unwrap();
    }

    async fn calls(store: &Store, db: i64, start: i64, end: i64) -> Vec<(i64, i64)> {
        let Some(rounds) = store.window_rounds(db, start, end).await.unwrap() else {
            return Vec::new();
        };
        let mut found: Vec<(i64, i64)> = store
            .window_activity(&rounds, 1_000, None)
            .await
            .unwrap()
            .busiest
            .into_iter()
            .map(|b| (b.query_id, b.counters.calls))
            .collect();
        found.sort_unstable();
        found
    }

    #[tokio::test]
    async fn ids_are_kept_assigned_once_and_never_reused() {
        let (_dir, store) = store().await;
        let w = |id, name| Wanted { id, name };
        let ids = store
            .monitored_ids(&[w(None, "a"), w(Some(7), "b"), w(None, "c")], 0)
            .await
            .unwrap();
        // Explicit ids are recorded first; the others follow the highest id ever given.
        assert_eq!(ids, [8, 7, 9]);
        // Reordered, and `b` given without its id: nothing changes.
        let ids = store
            .monitored_ids(&[w(None, "c"), w(None, "b"), w(None, "a")], 0)
            .await
            .unwrap();
        assert_eq!(ids, [9, 7, 8]);
        // `a` and `c` no longer monitored: a new name still gets a new id.
        let ids = store.monitored_ids(&[w(None, "d")], 0).await.unwrap();
        assert_eq!(ids, [10]);
        let taken = store.monitored_ids(&[w(Some(8), "e")], 0).await;
        let message = taken.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("the id 8 belongs to `a`"), "{message}");
        let moved = store.monitored_ids(&[w(Some(2), "b")], 0).await;
        let message = moved.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("already gave `b` the id 7"), "{message}");
    }

    /// The id of monitored database `name`, given on first sight.
    async fn monitored(store: &Store, name: &str) -> i64 {
        let wanted = [Wanted { id: None, name }];
        store.monitored_ids(&wanted, 0).await.unwrap()[0]
    }

    #[tokio::test]
    async fn windows_sum_per_epoch_across_a_reset() {
        let (_dir, store) = store().await;
        let db = monitored(&store, "a").await;
        record(&store, db, round(1_000, 0), &[(1, 10), (2, 5)]).await;
        record(&store, db, round(2_000, 0), &[(1, 30)]).await;
        // A reset: epoch 2 counts from zero.
        record(&store, db, round(3_000, 2), &[(1, 4)]).await;
        record(&store, db, round(4_000, 2), &[(1, 9), (3, 1)]).await;
        assert_eq!(calls(&store, db, 1_000, 4_000).await, [(1, 29), (3, 1)]);
        assert_eq!(calls(&store, db, 2_000, 4_000).await, [(1, 9), (3, 1)]);
        assert_eq!(calls(&store, db, 2_500, 3_500).await, [(1, 4)]);
        // Monitoring began after the window's start: from the first round.
        assert_eq!(calls(&store, db, 0, 2_000).await, [(1, 20)]);
        assert_eq!(calls(&store, db, 5_000, 4_000).await, []);
    }

    #[tokio::test]
    async fn a_series_gives_each_round_its_own_activity_across_a_reset() {
        let (_dir, store) = store().await;
        let db = monitored(&store, "a").await;
        record(&store, db, round(1_000, 0), &[(1, 10), (2, 5)]).await;
        record(&store, db, round(2_000, 0), &[(2, 6)]).await; // statement 1 idle
        record(&store, db, round(3_000, 0), &[(1, 25)]).await;
        record(&store, db, round(4_000, 2), &[(1, 4)]).await; // a reset
        record(&store, db, round(5_000, 2), &[(1, 9)]).await;
        let calls_of = |series: Vec<(i64, Counters)>| -> Vec<(i64, i64)> {
            series.into_iter().map(|(t, c)| (t, c.calls)).collect()
        };
        let series = store.statement_series(db, 1, 0, 5_000).await.unwrap();
        assert_eq!(
            calls_of(series),
            [(2_000, 0), (3_000, 15), (4_000, 4), (5_000, 5)]
        );
        // From a base whose value comes from an earlier round of its epoch.
        let series = store.statement_series(db, 1, 2_500, 3_500).await.unwrap();
        assert_eq!(calls_of(series), [(3_000, 15)]);
        // Summed, a series is the window's activity.
        let total: i64 = store
            .statement_series(db, 1, 1_000, 5_000)
            .await
            .unwrap()
            .iter()
            .map(|(_, c)| c.calls)
            .sum();
        assert_eq!(calls(&store, db, 1_000, 5_000).await[0], (1, total));
        assert!(
            store
                .statement_series(db, 1, 6_000, 5_000)
                .await
                .unwrap()
                .is_empty()
        );
    }

    #[tokio::test]
    async fn one_queryid_in_two_databases_is_two_statements() {
        let (_dir, store) = store().await;
        let (a, b) = (monitored(&store, "a").await, monitored(&store, "b").await);
        // Rounds of the two databases interleave; statement 1 is in both.
        record(&store, a, round(1_000, 0), &[(1, 10)]).await;
        record(&store, b, round(1_500, 0), &[(1, 100)]).await;
        record(&store, a, round(2_000, 0), &[(1, 12)]).await;
        record(&store, b, round(2_500, 0), &[(1, 700)]).await;
        assert_eq!(calls(&store, a, 1_000, 3_000).await, [(1, 2)]);
        assert_eq!(calls(&store, b, 1_000, 3_000).await, [(1, 600)]);
        // A window that ends before b's second round sees none of it.
        assert_eq!(calls(&store, b, 1_000, 2_000).await, []);
    }

    #[tokio::test]
    async fn retention_thins_rounds_without_changing_windows() {
        let (_dir, store) = store().await;
        let db = monitored(&store, "a").await;
        // Statement 1 grows every round, statement 2 changes only in the first.
        for t in 0..20 {
            let reset = if t < 12 { 0 } else { 5 };
            let calls_1 = if t < 12 { 10 * (t + 1) } else { t - 11 };
            let mut values = vec![(1, calls_1)];
            if t == 0 || t == 12 {
                values.push((2, 3));
            }
            record(&store, db, round(1_000 * t, reset), &values).await;
        }
        let before = calls(&store, db, 3_999, 19_000).await;
        // Rounds before 15 s rolled up to one per 4 s, none deleted.
        store.apply_retention(db, 15_000, 4_000, 0).await.unwrap();
        let (rounds, _) = store.sample_counts().await.unwrap();
        // Kept: 3, 7, 11 (epoch 1); 12..=14 thinned to 14 (bucket 12–15); 15..=19.
        assert_eq!(rounds, 3 + 1 + 5);
        assert_eq!(calls(&store, db, 3_999, 19_000).await, before);
        assert_eq!(calls(&store, db, 11_000, 19_000).await, [(1, 8), (2, 3)]);
        // Everything before 12 s deleted: the window now starts at the first round left.
        store
            .apply_retention(db, 15_000, 4_000, 12_000)
            .await
            .unwrap();
        assert_eq!(store.sample_counts().await.unwrap().0, 1 + 5);
        assert_eq!(calls(&store, db, 0, 19_000).await, [(1, 5)]);
    }
}
