//! Query statistics read live from the monitored databases' `pg_stat_statements`.
//!
//! Monitored databases are given to `keydeck serve --monitor NAME=postgres://…`; each gets a
//! numeric id (1, 2, … in the order given) that `getQueryStats(databaseId:)` takes, as in
//! pganalyze's API. Connections are opened lazily and kept in a small pool per database.

mod cache;
pub mod page;
mod probe;
mod statement;

use std::sync::Arc;

use async_graphql::{ComplexObject, ID, SimpleObject};
use sqlx::Row;
use sqlx::postgres::{PgPool, PgPoolOptions};

use cache::StatementCache;
pub use probe::DatabaseState;
use probe::Prober;

/// How many statements one answer holds at most, busiest first.
pub const MAX_STATEMENTS: i64 = 500;
/// Length of `truncatedQuery`.
const TRUNCATE_AT: usize = 100;

/// A monitored database. Its state is probed only when asked for.
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct Database {
    pub id: ID,
    pub name: String,
    #[graphql(skip)]
    source: Arc<Monitored>,
}

#[ComplexObject]
impl Database {
    /// Whether the service can read this database's statistics now (probed with a 2 s
    /// timeout, reused for 10 s).
    async fn state(&self) -> DatabaseState {
        self.source.state().await.state
    }

    /// Why the state is not OK, as the connection or the server said; null when OK.
    async fn state_reason(&self) -> Option<String> {
        self.source.state().await.reason
    }
}

/// One normalized statement, with pganalyze's field names.
#[derive(SimpleObject, Debug, Clone)]
pub struct QueryStat {
    /// pg_stat_statements' queryid.
    pub id: ID,
    pub query_url: String,
    pub truncated_query: String,
    pub normalized_query: String,
    /// The statement's command(s), e.g. `["UPDATE"]` (pganalyze's original name).
    pub statement_type: Vec<String>,
    /// Same as `statementType` (pganalyze's current name).
    pub statement_types: Vec<String>,
    pub table_names: Vec<String>,
    pub total_calls: i64,
    /// Mean execution time in milliseconds.
    pub avg_time: f64,
    /// Percentage of shared buffer accesses served from cache; null when it read no buffers.
    pub buffer_hit_ratio: Option<f64>,
    /// This statement's share of the database's total execution time, in percent.
    pub pct_of_total: f64,
    /// Mean time spent on block I/O in milliseconds (needs track_io_timing).
    pub avg_io_time: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum StatsError {
    #[error(
        "no monitored database has id {0}: this service monitors none; start `keydeck serve` with --monitor NAME=postgres://…"
    )]
    NoneMonitored(String),
    #[error("no monitored database has id {id}; the monitored ones are: {known}")]
    UnknownDatabase { id: String, known: String },
    #[error(
        "startTs/endTs need stored snapshots, which this service does not keep yet; omit them for statistics since the last reset"
    )]
    WindowUnsupported,
    #[error("database `{name}` is unreachable or lacks pg_stat_statements: {source}")]
    Source { name: String, source: sqlx::Error },
}

impl StatsError {
    /// The `extensions.code` of the GraphQL error.
    pub fn code(&self) -> &'static str {
        match self {
            StatsError::NoneMonitored(_) | StatsError::UnknownDatabase { .. } => {
                "DATABASE_NOT_FOUND"
            }
            StatsError::WindowUnsupported => "BAD_USER_INPUT",
            StatsError::Source { .. } => "DATABASE_UNAVAILABLE",
        }
    }
}

struct Monitored {
    id: String,
    name: String,
    pool: PgPool,
    prober: Prober,
}

impl Monitored {
    async fn state(&self) -> probe::Probed {
        self.prober.state(&self.pool).await
    }
}

/// The monitored databases. Cheap to clone.
#[derive(Clone, Default)]
pub struct Monitor {
    databases: Arc<Vec<Arc<Monitored>>>,
    statements: StatementCache,
}

impl Monitor {
    /// Monitors `(name, url)` pairs; ids are their positions starting at 1. Nothing connects
    /// until the first request.
    pub fn new(targets: &[(String, String)]) -> Result<Self, sqlx::Error> {
        let databases = targets
            .iter()
            .enumerate()
            .map(|(i, (name, url))| {
                Ok(Arc::new(Monitored {
                    id: (i + 1).to_string(),
                    name: name.clone(),
                    pool: PgPoolOptions::new()
                        .max_connections(2)
                        .acquire_timeout(std::time::Duration::from_secs(5))
                        .connect_lazy(url)?,
                    prober: Prober::default(),
                }))
            })
            .collect::<Result<_, sqlx::Error>>()?;
        Ok(Monitor {
            databases: Arc::new(databases),
            statements: StatementCache::default(),
        })
    }

    pub fn databases(&self) -> Vec<Database> {
        self.databases
            .iter()
            .map(|d| Database {
                id: ID(d.id.clone()),
                name: d.name.clone(),
                source: Arc::clone(d),
            })
            .collect()
    }

    pub async fn query_stats(
        &self,
        database_id: &str,
        start_ts: Option<i32>,
        end_ts: Option<i32>,
        public_url: &str,
    ) -> Result<Vec<QueryStat>, StatsError> {
        let db = self.find(database_id)?;
        if start_ts.is_some() || end_ts.is_some() {
            return Err(StatsError::WindowUnsupported);
        }
        self.statements(db, None, public_url).await
    }

    /// One statement of a database by its queryid (for its page), wherever it ranks, with
    /// the database's name.
    pub async fn query_stat(
        &self,
        database_id: &str,
        query_id: &str,
        public_url: &str,
    ) -> Result<Option<(String, QueryStat)>, StatsError> {
        let db = self.find(database_id)?;
        let mut found = self.statements(db, Some(query_id), public_url).await?;
        Ok(found.pop().map(|stat| (db.name.clone(), stat)))
    }

    fn find(&self, database_id: &str) -> Result<&Arc<Monitored>, StatsError> {
        if let Some(db) = self.databases.iter().find(|d| d.id == database_id) {
            return Ok(db);
        }
        if self.databases.is_empty() {
            return Err(StatsError::NoneMonitored(database_id.to_owned()));
        }
        let known = self
            .databases
            .iter()
            .map(|d| format!("{} ({})", d.id, d.name))
            .collect::<Vec<_>>()
            .join(", ");
        Err(StatsError::UnknownDatabase {
            id: database_id.to_owned(),
            known,
        })
    }

    /// The busiest statements of `db`, or only the one with queryid `only`.
    async fn statements(
        &self,
        db: &Monitored,
        only: Option<&str>,
        public_url: &str,
    ) -> Result<Vec<QueryStat>, StatsError> {
        let source = |source| StatsError::Source {
            name: db.name.clone(),
            source,
        };
        let rows = sqlx::query(STATEMENTS_SQL)
            .bind(MAX_STATEMENTS)
            .bind(only)
            .bind(MARKER)
            .fetch_all(&db.pool)
            .await
            .map_err(source)?;
        rows.iter()
            .map(|row| {
                let id: String = row.try_get("id").map_err(source)?;
                let query: String = row.try_get("query").map_err(source)?;
                let calls: i64 = row.try_get("calls").map_err(source)?;
                let total_time: f64 = row.try_get("total_time").map_err(source)?;
                let hit: i64 = row.try_get("hit").map_err(source)?;
                let read: i64 = row.try_get("read").map_err(source)?;
                let io_time: f64 = row.try_get("io_time").map_err(source)?;
                let pct: f64 = row.try_get("pct").map_err(source)?;
                let per_call = |v: f64| if calls > 0 { v / calls as f64 } else { 0.0 };
                let statement = self.statements.get(&id, &query);
                Ok(QueryStat {
                    query_url: query_url(public_url, &db.id, &id),
                    id: ID(id),
                    truncated_query: truncate(&query),
                    table_names: statement.tables,
                    statement_type: statement.types.clone(),
                    statement_types: statement.types,
                    normalized_query: query,
                    total_calls: calls,
                    avg_time: per_call(total_time),
                    buffer_hit_ratio: (hit + read > 0)
                        .then(|| 100.0 * hit as f64 / (hit + read) as f64),
                    pct_of_total: pct,
                    avg_io_time: per_call(io_time),
                })
            })
            .collect()
    }
}

/// Where the service serves statement `query_id` of database `database_id`: pganalyze's path.
pub fn query_url(public_url: &str, database_id: &str, query_id: &str) -> String {
    format!(
        "{}/databases/{database_id}/queries/{query_id}",
        public_url.trim_end_matches('/')
    )
}

/// The marker every query this service sends to a monitored database carries, so that its own
/// statements are left out of the statistics it reports. Inside the statement, after its first
/// keyword: pg_stat_statements keeps comments there, where a leading one may be cut off.
macro_rules! marker {
    () => {
        "/* keydeck:monitor */"
    };
}
pub const MARKER: &str = marker!();

/// The state probe: reads pg_stat_statements the way [`STATEMENTS_SQL`] does, without texts.
const PROBE_SQL: &str = concat!(
    "SELECT ",
    marker!(),
    " count(*) FROM (SELECT 1 FROM pg_stat_statements LIMIT 1) s"
);

/// The statements of the connected database, one row per queryid (pg_stat_statements keeps one
/// per user as well), busiest first, without this service's own; `$2` picks one queryid, after
/// the shares of the total are computed. Works from PostgreSQL 13 on: the I/O timing columns
/// were renamed in 17.
const STATEMENTS_SQL: &str = concat!(
    "SELECT ",
    marker!(),
    " * FROM (
  SELECT q.*,
         COALESCE(100.0 * q.total_time / NULLIF(SUM(q.total_time) OVER (), 0), 0)::float8 AS pct
  FROM (
    SELECT s.queryid::text AS id,
           min(s.query) AS query,
           sum(s.calls)::int8 AS calls,
           sum(s.total_exec_time)::float8 AS total_time,
           sum(s.shared_blks_hit)::int8 AS hit,
           sum(s.shared_blks_read)::int8 AS read,
           sum(COALESCE((to_jsonb(s) ->> 'blk_read_time')::float8,
                        (to_jsonb(s) ->> 'shared_blk_read_time')::float8, 0)
             + COALESCE((to_jsonb(s) ->> 'blk_write_time')::float8,
                        (to_jsonb(s) ->> 'shared_blk_write_time')::float8, 0))::float8 AS io_time
    FROM pg_stat_statements s
    JOIN pg_database d ON d.oid = s.dbid
    WHERE d.datname = current_database() AND s.queryid IS NOT NULL
      AND strpos(s.query, $3) = 0
    GROUP BY s.queryid
  ) q
) r
WHERE $2::text IS NULL OR r.id = $2
ORDER BY r.total_time DESC
LIMIT $1"
);

fn truncate(query: &str) -> String {
    let flat = query.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= TRUNCATE_AT {
        flat
    } else {
        let cut: String = flat.chars().take(TRUNCATE_AT - 1).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_queries_are_truncated_on_one_line() {
        let q = format!("SELECT\n  {}", "x, ".repeat(100));
        let t = truncate(&q);
        assert_eq!(t.chars().count(), TRUNCATE_AT);
        assert!(t.ends_with('…') && !t.contains('\n'));
    }

    #[test]
    fn every_query_to_a_monitored_database_carries_the_marker() {
        for sql in [STATEMENTS_SQL, PROBE_SQL] {
            assert!(sql.starts_with(&format!("SELECT {MARKER} ")), "{sql}");
        }
    }
}
