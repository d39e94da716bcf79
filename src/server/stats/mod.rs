//! Query statistics of the monitored databases' `pg_stat_statements`, sampled into the store.
//!
//! Monitored databases are given to `keydeck serve --monitor [ID:]NAME=postgres://…`; each has
//! a stable numeric id, as in pganalyze's API, that `getQueryStats(databaseId:)` takes: the
//! one given, or one the store assigns on first sight of the name and never reuses.
//! `getQueryStats` answers a time window from the samples ([`sampler`]); the statement page
//! reads the database live. Connections are opened lazily: one pooled connection per database
//! for sampling and one for the state probe, never more (a monitored database is untrusted: a
//! lock held on pg_stat_statements must not collect the service's connections), each started
//! with [`connect_options`]' server-side timeouts.

/// The marker every query this service sends to a monitored database carries, so that its own
/// statements are left out of the statistics it reports. Inside the statement, after its first
/// keyword: pg_stat_statements keeps comments there, where a leading one may be cut off.
macro_rules! marker {
    () => {
        "/* keydeck:monitor */"
    };
}
pub const MARKER: &str = marker!();

mod cache;
pub mod page;
mod probe;
pub mod sampler;
mod statement;
mod target;

use std::sync::Arc;

use async_graphql::{ComplexObject, ID, SimpleObject};
use std::str::FromStr as _;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use crate::server::fifo_cache::FifoCache;
use crate::server::store::{Counters, Store, StoreError, Wanted, WindowActivity, WindowRounds};
use cache::StatementCache;
pub use probe::DatabaseState;
use probe::Prober;
pub use sampler::Sampling;
pub use target::Target;

/// How many statements one answer holds at most, busiest first.
pub const MAX_STATEMENTS: i64 = 500;
/// `getQueryStatSeries`' intervals: by default, and at most.
pub const SERIES_POINTS: (i32, i32) = (60, 240);
/// Length of `truncatedQuery`.
const TRUNCATE_AT: usize = 100;
/// What one answer's texts (`normalizedQuery`) weigh at most together, in bytes of JSON:
/// [`MAX_STATEMENTS`] statements of 64 KiB would be 32 MiB, and any user of a monitored
/// database decides how long its statements are.
pub const ANSWER_TEXT_BYTES: usize = 8 << 20;
/// What `normalizedQuery` costs in the query budget, per statement: a text is paid for by its
/// size, its share of [`ANSWER_TEXT_BYTES`] (about 330 bytes a unit), so that a request holds
/// at most two answers' texts (`getQueryStats { id normalizedQuery }` costs 25,501 of the
/// 60,000), 16 MiB, however long the statements are.
pub const TEXT_COST: usize = 50;
/// What the kept windows' answers weigh at most together, in bytes.
const WINDOW_CACHE_BYTES: usize = 64 << 20;

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
// Plain data, so its fields resolve one after another (see `model::ApiKey`).
#[derive(SimpleObject, Debug, Clone)]
#[graphql(serial)]
pub struct QueryStat {
    /// pg_stat_statements' queryid.
    pub id: ID,
    pub query_url: String,
    pub truncated_query: String,
    /// The statement's text. An answer's texts together weigh at most 8 MiB of JSON: when
    /// the statements' texts are longer, the longest are cut to a common length, ending in
    /// `…` (the statement's page, `queryUrl`, has it whole). It costs 50 a statement in the
    /// query budget, its share of those 8 MiB.
    #[graphql(complexity = "TEXT_COST")]
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

/// What one statement did in one interval of a window.
#[derive(SimpleObject, Debug, Clone, PartialEq)]
#[graphql(serial)]
pub struct QueryStatPoint {
    /// The interval's start, Unix seconds.
    pub start_ts: i64,
    /// The interval's end (exclusive), Unix seconds.
    pub end_ts: i64,
    /// Sampling rounds taken in the interval: 0 means no data (before monitoring began, or
    /// while the database could not be read), not no activity.
    pub rounds: i32,
    pub calls: i64,
    /// Execution time in milliseconds, summed.
    pub total_time: f64,
    /// Mean execution time per call in milliseconds; 0 without calls.
    pub avg_time: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum StatsError {
    #[error(
        "no monitored database has id {0}: this service monitors none; start `keydeck serve` with --monitor NAME=postgres://…"
    )]
    NoneMonitored(String),
    #[error("no monitored database has id {id}; the monitored ones are: {known}")]
    UnknownDatabase { id: String, known: String },
    /// A window that ends before it starts, or reaches past what retention keeps.
    #[error("{0}")]
    BadWindow(String),
    #[error("points must be 1 to {max}, not {0}", max = SERIES_POINTS.1)]
    BadPoints(i32),
    /// A statement asked for that the samples lack, of a database that cannot be read now.
    #[error("database `{name}` is unreachable or lacks pg_stat_statements: {reason}")]
    Source { name: String, reason: String },
    #[error("reading the stored samples failed: {0}")]
    Store(#[from] StoreError),
}

impl StatsError {
    /// The `extensions.code` of the GraphQL error.
    pub fn code(&self) -> &'static str {
        match self {
            StatsError::NoneMonitored(_) | StatsError::UnknownDatabase { .. } => {
                "DATABASE_NOT_FOUND"
            }
            StatsError::BadWindow(_) | StatsError::BadPoints(_) => "BAD_USER_INPUT",
            StatsError::Source { .. } => "DATABASE_UNAVAILABLE",
            StatsError::Store(_) => "INTERNAL_SERVER_ERROR",
        }
    }
}

struct Monitored {
    id: String,
    numeric_id: i64,
    name: String,
    pool: PgPool,
    prober: Prober,
}

impl Monitored {
    async fn state(&self) -> probe::Probed {
        self.prober.state(&self.pool.connect_options()).await
    }
}

/// The longest any statement sent to a monitored database may run (`statement_timeout`): a
/// round reads every counter, and the texts of new statements.
pub const STATEMENT_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest a statement waits for a lock (`lock_timeout`): what the service reads takes
/// only share locks, so a wait means someone holds pg_stat_statements exclusively.
pub const LOCK_TIMEOUT: Duration = Duration::from_secs(1);
/// `idle_in_transaction_session_timeout`: the service keeps no transaction open there.
const IDLE_IN_TRANSACTION_TIMEOUT: Duration = Duration::from_secs(10);
/// The `application_name` of the service's connections, unless the URL gives one.
pub const APPLICATION_NAME: &str = "keydeck-monitor";
/// Pooled connections per monitored database (sampling); the probe has one more of its own.
const POOL_SIZE: u32 = 1;

/// How the service connects to a monitored database: the URL's options, with the server-side
/// timeouts set at connection start, so that a request that gives up (or a future dropped
/// mid-statement) never leaves a backend waiting on the server for longer than they allow.
pub fn connect_options(url: &str) -> Result<PgConnectOptions, sqlx::Error> {
    let ms = |d: Duration| format!("{}ms", d.as_millis());
    let options = PgConnectOptions::from_str(url)?.options([
        ("statement_timeout", ms(STATEMENT_TIMEOUT)),
        ("lock_timeout", ms(LOCK_TIMEOUT)),
        (
            "idle_in_transaction_session_timeout",
            ms(IDLE_IN_TRANSACTION_TIMEOUT),
        ),
    ]);
    Ok(match options.get_application_name() {
        Some(_) => options,
        None => options.application_name(APPLICATION_NAME),
    })
}

/// The monitored databases. Cheap to clone.
#[derive(Clone, Default)]
pub struct Monitor {
    databases: Arc<Vec<Arc<Monitored>>>,
    statements: StatementCache,
    windows: WindowCache,
    sampling: Sampling,
    /// Where `queryUrl`s point: `--public-url`, or the service's own address.
    public_url: String,
}

/// Windows' answers by the rounds they count over. A window ending now moves to other
/// rounds with each sampling round, so an answer is computed once per round, however many
/// clients ask meanwhile (a TUI refreshes every 10 s, rounds are every 60 s by default).
/// Bounded by bytes: an answer weighs what its statements hold (texts, names, figures).
#[derive(Clone)]
struct WindowCache(FifoCache<WindowRounds, Arc<Vec<QueryStat>>>);

impl Default for WindowCache {
    fn default() -> Self {
        // A few windows (1 h, 24 h, 7 d, custom) of a few databases: each answer's texts
        // weigh at most ANSWER_TEXT_BYTES, so at least 8 of the heaviest fit.
        WindowCache(FifoCache::with_capacity(WINDOW_CACHE_BYTES))
    }
}

impl WindowCache {
    fn insert(&self, rounds: WindowRounds, answer: Arc<Vec<QueryStat>>) {
        let weight = answer.iter().map(QueryStat::weight).sum();
        self.0.insert_weighing(rounds, answer, weight);
    }
}

impl QueryStat {
    /// Roughly the bytes this statement holds.
    fn weight(&self) -> usize {
        let strings = |list: &[String]| list.iter().map(|s| s.len() + 24).sum::<usize>();
        std::mem::size_of::<QueryStat>()
            + self.id.len()
            + self.query_url.len()
            + self.truncated_query.len()
            + self.normalized_query.len()
            + strings(&self.statement_type)
            + strings(&self.statement_types)
            + strings(&self.table_names)
    }
}

/// The default window of `getQueryStats`, as pganalyze's: the last 24 hours.
const DEFAULT_WINDOW_S: i64 = 24 * 3600;
/// How much older than the samples kept a window's start may be and still be answered (from
/// the oldest kept): clocks and requests take a moment.
const WINDOW_SLACK_S: i64 = 60;

impl Monitor {
    /// Monitors `([ID:]NAME, url)` pairs with the ids the store keeps for them (assigned on
    /// first sight of a name when none is given). Nothing connects until sampling starts.
    pub async fn open(
        store: &Store,
        targets: &[(String, String)],
        sampling: Sampling,
        public_url: String,
    ) -> anyhow::Result<Self> {
        let targets = targets
            .iter()
            .map(|(label, url)| Target::from_parts(label, url))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| anyhow::anyhow!("--monitor: {e}"))?;
        target::check_unique(&targets).map_err(|e| anyhow::anyhow!("--monitor: {e}"))?;
        let wanted: Vec<Wanted> = targets
            .iter()
            .map(|t| Wanted {
                id: t.id,
                name: &t.name,
            })
            .collect();
        let ids = store.monitored_ids(&wanted, sampler::now_ms()).await?;
        let databases = targets
            .iter()
            .zip(ids)
            .map(|(t, id)| {
                Ok(Arc::new(Monitored {
                    id: id.to_string(),
                    numeric_id: id,
                    name: t.name.clone(),
                    pool: PgPoolOptions::new()
                        .max_connections(POOL_SIZE)
                        .acquire_timeout(Duration::from_secs(5))
                        .connect_lazy_with(
                            connect_options(&t.url)
                                .map_err(|e| anyhow::anyhow!("--monitor {}: {e}", t.name))?,
                        ),
                    prober: Prober::default(),
                }))
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Monitor {
            databases: Arc::new(databases),
            statements: StatementCache::default(),
            windows: WindowCache::default(),
            sampling,
            public_url,
        })
    }

    /// Starts sampling every monitored database into `store`; dropping the guard stops it.
    pub fn start_sampling(&self, store: &Store) -> Samplers {
        Samplers(
            self.databases
                .iter()
                .map(|db| tokio::spawn(sampler::run(store.clone(), Arc::clone(db), self.clone())))
                .collect(),
        )
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

    /// The activity of each statement of a database between `start_ts` and `end_ts` (Unix
    /// seconds; by default the last 24 hours), from the stored samples, busiest first.
    pub async fn query_stats(
        &self,
        store: &Store,
        database_id: &str,
        start_ts: Option<i32>,
        end_ts: Option<i32>,
    ) -> Result<Vec<QueryStat>, StatsError> {
        let db = self.find(database_id)?;
        let (start_ms, end_ms) = self.bounds(start_ts, end_ts)?;
        let busiest = self.busiest(store, db, start_ms, end_ms).await?;
        if busiest.is_empty() {
            // Nothing to show: say why when the database cannot be read now.
            unreadable(db).await?;
        }
        Ok(busiest.as_ref().clone())
    }

    /// One statement of a database by its queryid (for its page) over the default window,
    /// wherever it ranks, with the database's name; zero figures when it was stored but
    /// idle in the window.
    pub async fn query_stat(
        &self,
        store: &Store,
        database_id: &str,
        query_id: &str,
    ) -> Result<Option<(String, QueryStat)>, StatsError> {
        let db = self.find(database_id)?;
        let Ok(numeric) = query_id.parse::<i64>() else {
            return Ok(None);
        };
        let (start_ms, end_ms) = self.bounds(None, None)?;
        let activity = match store.window_rounds(db.numeric_id, start_ms, end_ms).await? {
            Some(rounds) => store.window_activity(&rounds, 1, Some(numeric)).await?,
            None => WindowActivity::default(),
        };
        let mut found = self.stats(db, activity);
        if found.is_empty() {
            let mut texts = store.statement_texts(db.numeric_id, &[numeric]).await?;
            match texts.remove(&numeric) {
                Some(text) => found.push(self.stat(db, numeric, text, Counters::default(), 0.0)),
                None => unreadable(db).await?,
            }
        }
        Ok(found.pop().map(|stat| (db.name.clone(), stat)))
    }

    /// Computes the answer for the default window ending now (kept for its rounds).
    async fn prepare_default_window(
        &self,
        store: &Store,
        db: &Monitored,
    ) -> Result<(), StatsError> {
        let (start_ms, end_ms) = self.bounds(None, None)?;
        self.busiest(store, db, start_ms, end_ms).await?;
        Ok(())
    }

    /// The busiest statements of a window of database `db` (at most [`MAX_STATEMENTS`]),
    /// as answered: computed once for the rounds the window counts over.
    async fn busiest(
        &self,
        store: &Store,
        db: &Monitored,
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Arc<Vec<QueryStat>>, StatsError> {
        let Some(rounds) = store.window_rounds(db.numeric_id, start_ms, end_ms).await? else {
            return Ok(Arc::default());
        };
        if let Some(kept) = self.windows.0.get(&rounds) {
            return Ok(kept);
        }
        let activity = store.window_activity(&rounds, MAX_STATEMENTS, None).await?;
        let busiest = Arc::new(self.stats(db, activity));
        // Kept only if the rounds are still the window's: retention committing between the
        // two reads (which share no snapshot) may have moved the base under the answer.
        let now = store.window_rounds(db.numeric_id, start_ms, end_ms).await?;
        if now.as_ref() == Some(&rounds) {
            self.windows.insert(rounds, Arc::clone(&busiest));
        }
        Ok(busiest)
    }

    /// A window's first and last millisecond: `startTs`/`endTs` (Unix seconds) as given, by
    /// default the last 24 hours (or as far back as samples are kept). A window that ends
    /// before it starts, or starts before the oldest samples kept, is refused.
    fn bounds(&self, start_ts: Option<i32>, end_ts: Option<i32>) -> Result<(i64, i64), StatsError> {
        // Milliseconds: a round taken a moment ago is inside the default window.
        let now_ms = sampler::now_ms();
        let kept_s = i64::try_from(self.sampling.rollup_retention.as_secs()).unwrap_or(i64::MAX);
        let oldest_s = (now_ms / 1000).saturating_sub(kept_s);
        let end_ms = end_ts.map_or(now_ms, |s| i64::from(s) * 1000);
        // The default window reaches back 24 hours, or as far as samples are kept.
        let start_ms = start_ts.map_or_else(
            || (end_ms - DEFAULT_WINDOW_S * 1000).max(oldest_s * 1000),
            |s| i64::from(s) * 1000,
        );
        if end_ms < start_ms {
            return Err(StatsError::BadWindow(format!(
                "endTs ({}) is before startTs ({})",
                end_ms / 1000,
                start_ms / 1000
            )));
        }
        // A client asking for everything kept (`--since 1M` of the default 30 days) computes
        // its start a moment before this service's clock reads: within a minute, that is
        // the oldest kept, not a refusal.
        let start_ms = if (oldest_s - WINDOW_SLACK_S..oldest_s).contains(&(start_ms / 1000)) {
            oldest_s * 1000
        } else {
            start_ms
        };
        if start_ms / 1000 < oldest_s {
            return Err(StatsError::BadWindow(format!(
                "startTs ({}) is older than the samples kept (--stats-rollup-retention: {kept_s} s, so from {oldest_s} on)",
                start_ms / 1000
            )));
        }
        Ok((start_ms, end_ms))
    }

    /// What statement `query_id` of a database did in at most `points` equal intervals of a
    /// window (bounded as [`Monitor::query_stats`]' windows are), oldest first: each sampling
    /// round's activity since the round before it falls in the interval the round was taken
    /// in. The intervals start no earlier than the database's oldest round kept, and none is
    /// shorter than the sampling interval: asked for finer ones, the answer has fewer, wider
    /// intervals (see [`intervals`]).
    pub async fn query_stat_series(
        &self,
        store: &Store,
        database_id: &str,
        query_id: &str,
        window: (Option<i32>, Option<i32>),
        points: Option<i32>,
    ) -> Result<Vec<QueryStatPoint>, StatsError> {
        let db = self.find(database_id)?;
        let points = points.unwrap_or(SERIES_POINTS.0);
        if !(1..=SERIES_POINTS.1).contains(&points) {
            return Err(StatsError::BadPoints(points));
        }
        let (start_ms, end_ms) = self.bounds(window.0, window.1)?;
        // The intervals start no earlier than the data does: a database monitored for two
        // minutes charts those two minutes, not a day of intervals without a round.
        let start_ms = match store.first_round_ms(db.numeric_id).await? {
            Some(first_ms) => clamp_start(start_ms, end_ms, first_ms),
            None => start_ms,
        };
        let series = match query_id.parse::<i64>() {
            Ok(query_id) => {
                store
                    .statement_series(db.numeric_id, query_id, start_ms, end_ms)
                    .await?
            }
            Err(_) => Vec::new(),
        };
        let sampled_every_s =
            i64::try_from(self.sampling.interval.as_millis().div_ceil(1000)).unwrap_or(i64::MAX);
        Ok(intervals(
            (start_ms, end_ms),
            points,
            sampled_every_s,
            &series,
        ))
    }

    /// The statements of a window's activity with pganalyze's fields, busiest first, their
    /// texts within [`ANSWER_TEXT_BYTES`].
    fn stats(&self, db: &Monitored, activity: WindowActivity) -> Vec<QueryStat> {
        let total = activity.total_time_ms;
        let mut stats: Vec<QueryStat> = activity
            .busiest
            .into_iter()
            .map(|busy| self.stat(db, busy.query_id, busy.text, busy.counters, total))
            .collect();
        cut_texts(&mut stats, ANSWER_TEXT_BYTES);
        stats
    }

    /// A statement's figures as pganalyze names them; `total_time` is the whole database's.
    fn stat(
        &self,
        db: &Monitored,
        id: i64,
        query: String,
        c: Counters,
        total_time: f64,
    ) -> QueryStat {
        let id = id.to_string();
        let per_call = |v: f64| {
            if c.calls > 0 { v / c.calls as f64 } else { 0.0 }
        };
        let statement = self.statements.get(&id, &query);
        let (hit, read) = (c.blks_hit, c.blks_read);
        QueryStat {
            query_url: query_url(&self.public_url, &db.id, &id),
            id: ID(id),
            truncated_query: truncate(&query),
            table_names: statement.tables,
            statement_type: statement.types.clone(),
            statement_types: statement.types,
            normalized_query: query,
            total_calls: c.calls,
            avg_time: per_call(c.total_time_ms),
            buffer_hit_ratio: (hit + read > 0).then(|| 100.0 * hit as f64 / (hit + read) as f64),
            pct_of_total: if total_time > 0.0 {
                100.0 * c.total_time_ms / total_time
            } else {
                0.0
            },
            avg_io_time: per_call(c.io_time_ms),
        }
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
}

/// A window's start moved up to `first_ms`, when its data begins (the database's oldest
/// round kept) after the start, but never past the window's end.
fn clamp_start(start_ms: i64, end_ms: i64, first_ms: i64) -> i64 {
    start_ms.max(first_ms.min(end_ms))
}

/// At most `points` equal intervals of whole seconds inside `window` (milliseconds), each
/// with the rounds of `series` taken in it and their activity, oldest first.
///
/// An interval is at least `sampled_every_s` long, so that each holds a round: asked for
/// finer intervals than the rounds are taken, there are fewer, wider ones. The intervals'
/// bounds fall a second or two after the rounds (the latest round sets the phase), so that a
/// round a few milliseconds late never leaves one interval without a round and puts two in
/// the next. Only whole intervals are answered: the newest ends at the last bound before the
/// window's end (a round taken since waits for its interval to end), the oldest starts at the
/// first bound after the window's start; rounds outside them are left out. A window shorter
/// than one interval has none.
fn intervals(
    (start_ms, end_ms): (i64, i64),
    points: i32,
    sampled_every_s: i64,
    series: &[(i64, Counters)],
) -> Vec<QueryStatPoint> {
    let n = i64::from(points.max(1));
    let span_s = (end_ms - start_ms).max(0) / 1000;
    let width_s = ((span_s + n - 1) / n).max(sampled_every_s).max(1);
    let ceil_s = |ms: i64| ms.div_euclid(1000) + i64::from(ms.rem_euclid(1000) > 0);
    // A bound a second or more after the latest round (whose phase the others share).
    let anchor_s = series
        .last()
        .map_or_else(|| ceil_s(start_ms), |(taken_ms, _)| ceil_s(*taken_ms) + 1);
    let first_s = anchor_s + (ceil_s(start_ms) - anchor_s).div_euclid(width_s) * width_s;
    let first_s = if first_s < ceil_s(start_ms) {
        first_s + width_s
    } else {
        first_s
    };
    let last_s = anchor_s + (end_ms.div_euclid(1000) - anchor_s).div_euclid(width_s) * width_s;
    let count = ((last_s - first_s) / width_s).clamp(0, n);
    let first_s = last_s - count * width_s;
    let mut out: Vec<QueryStatPoint> = (0..count)
        .map(|i| QueryStatPoint {
            start_ts: first_s + i * width_s,
            end_ts: first_s + (i + 1) * width_s,
            rounds: 0,
            calls: 0,
            total_time: 0.0,
            avg_time: 0.0,
        })
        .collect();
    for (taken_ms, c) in series {
        let i = (taken_ms - first_s * 1000).div_euclid(width_s * 1000);
        let Some(point) = usize::try_from(i).ok().and_then(|i| out.get_mut(i)) else {
            continue;
        };
        point.rounds += 1;
        point.calls += c.calls;
        point.total_time += c.total_time_ms;
    }
    for point in &mut out {
        if point.calls > 0 {
            point.avg_time = point.total_time / point.calls as f64;
        }
    }
    out
}

/// An error saying why `db` cannot be read now, if it cannot (probed, or the recent probe).
async fn unreadable(db: &Monitored) -> Result<(), StatsError> {
    match db.state().await.reason {
        Some(reason) => Err(StatsError::Source {
            name: db.name.clone(),
            reason,
        }),
        None => Ok(()),
    }
}

/// The running samplers; dropping this stops them (with the service that started them).
pub struct Samplers(Vec<tokio::task::JoinHandle<()>>);

impl Drop for Samplers {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

/// Where the service serves statement `query_id` of database `database_id`: pganalyze's path.
pub fn query_url(public_url: &str, database_id: &str, query_id: &str) -> String {
    format!(
        "{}/databases/{database_id}/queries/{query_id}",
        public_url.trim_end_matches('/')
    )
}

/// The state probe: reads pg_stat_statements the way sampling does, without texts.
const PROBE_SQL: &str = concat!(
    "SELECT ",
    marker!(),
    " count(*) FROM (SELECT 1 FROM pg_stat_statements LIMIT 1) s"
);

/// Cuts the longest texts of an answer so that together they weigh at most `budget` bytes of
/// JSON: every text is whole up to a common length, to which the longer ones are cut (ending
/// in `…`), so that one hostile statement cannot crowd out the others.
fn cut_texts(stats: &mut [QueryStat], budget: usize) {
    let weights: Vec<usize> = stats
        .iter()
        .map(|s| json_len(&s.normalized_query))
        .collect();
    if weights.iter().sum::<usize>() <= budget {
        return;
    }
    let share = fair_share(&weights, budget);
    for (stat, weight) in stats.iter_mut().zip(weights) {
        if weight > share {
            stat.normalized_query = cut(&stat.normalized_query, share);
        }
    }
}

/// The largest length `share` such that the weights, none above it, sum to at most `budget`.
fn fair_share(weights: &[usize], budget: usize) -> usize {
    let mut sorted = weights.to_vec();
    sorted.sort_unstable();
    let mut left = budget;
    for (i, &weight) in sorted.iter().enumerate() {
        let rest = sorted.len() - i;
        if weight.saturating_mul(rest) > left {
            return left / rest;
        }
        left -= weight;
    }
    usize::MAX
}

/// The start of `text` that weighs at most `most` bytes of JSON with the `…` it then ends in.
fn cut(text: &str, most: usize) -> String {
    let mut used = json_char_len('…');
    let mut out = String::new();
    for c in text.chars() {
        used += json_char_len(c);
        if used > most {
            break;
        }
        out.push(c);
    }
    out.push('…');
    out
}

/// What `text` weighs as a JSON string's content: escapes count as written.
fn json_len(text: &str) -> usize {
    text.chars().map(json_char_len).sum()
}

fn json_char_len(c: char) -> usize {
    match c {
        '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
        c if c < ' ' => 6,
        c => c.len_utf8(),
    }
}

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

    fn calls(calls: i64) -> Counters {
        Counters {
            calls,
            total_time_ms: 2.0 * calls as f64,
            ..Counters::default()
        }
    }

    #[test]
    fn series_rounds_fall_in_the_interval_they_were_taken_in() {
        // 60 s in 6 intervals of 10 s, sampled every second; bounds a second or two after
        // the latest round (at 57.5 s): 9, 19, …, 59.
        let series = [
            (8_000, calls(1)),
            (25_000, calls(2)),
            (27_999, calls(4)),
            (57_500, calls(8)),
        ];
        let points = intervals((0, 60_000), 6, 1, &series);
        let bounds: Vec<(i64, i64)> = points.iter().map(|p| (p.start_ts, p.end_ts)).collect();
        assert_eq!(bounds, [(9, 19), (19, 29), (29, 39), (39, 49), (49, 59)]);
        let calls_per: Vec<i64> = points.iter().map(|p| p.calls).collect();
        // The round at 8 s is before the first whole interval: left out.
        assert_eq!(calls_per, [0, 6, 0, 0, 8]);
        let rounds: Vec<i32> = points.iter().map(|p| p.rounds).collect();
        assert_eq!(rounds, [0, 2, 0, 0, 1]);
        assert_eq!(points[1].avg_time, 2.0);
        assert_eq!(points[0].avg_time, 0.0);
        // An hour in 118 intervals: 31 s each, within the hour.
        let points = intervals((0, 3_600_000), 118, 1, &[(3_560_500, calls(3))]);
        assert!(
            points.len() <= 118 && points.len() >= 115,
            "{}",
            points.len()
        );
        assert!(points.iter().all(|p| p.end_ts - p.start_ts == 31));
        assert!(points[0].start_ts >= 0 && points.last().unwrap().end_ts <= 3_600);
        assert_eq!(points.iter().map(|p| p.calls).sum::<i64>(), 3);
    }

    #[test]
    fn a_series_starts_when_monitoring_did_in_intervals_no_shorter_than_the_sampling() {
        let (day, now) = (86_400_000, 1_000_000_000_000);
        // Monitored for twenty seconds, sampled every 5 s (a few milliseconds late at times),
        // charted on 118 columns of the 24 h window: 1 s intervals would leave 4 in 5 empty.
        let first = now - 20_300;
        let start = clamp_start(now - day, now, first);
        assert_eq!(start, first);
        let series: Vec<(i64, Counters)> = (1..=4)
            .map(|i| (first + i * 5_000 + [0, 7, 2, 13][i as usize - 1], calls(i)))
            .collect();
        let points = intervals((start, now), 118, 5, &series);
        assert!(
            points.iter().all(|p| p.end_ts - p.start_ts == 5),
            "{points:?}"
        );
        assert!(points[0].start_ts * 1000 >= first, "{points:?}");
        assert!(points.last().unwrap().end_ts * 1000 <= now);
        // Every interval holds exactly one round: none empty, none doubled.
        assert_eq!(points.len(), 3, "{points:?}");
        assert!(points.iter().all(|p| p.rounds == 1), "{points:?}");
        // A day sampled every minute on 120 columns: 12 minutes an interval, 12 rounds each.
        let series: Vec<(i64, Counters)> = (1..=1_440)
            .map(|i| (now - day + i * 60_000 - 400, calls(1)))
            .collect();
        let points = intervals((now - day, now), 120, 60, &series);
        assert!(points.len() >= 119, "{}", points.len());
        assert!(points.iter().all(|p| p.end_ts - p.start_ts == 720));
        assert!(points.iter().all(|p| p.rounds == 12), "{points:?}");
        // Shorter than one interval: none yet.
        assert!(intervals((now - 3_000, now), 60, 5, &series[..0]).is_empty());
        // Data older than the window, or a first round after the window's end: as asked.
        assert_eq!(
            clamp_start(now - 3_600_000, now, now - day),
            now - 3_600_000
        );
        assert_eq!(clamp_start(now - 3_600_000, now - 1_000, now), now - 1_000);
    }

    #[test]
    fn long_queries_are_truncated_on_one_line() {
        let q = format!("SELECT\n  {}", "x, ".repeat(100));
        let t = truncate(&q);
        assert_eq!(t.chars().count(), TRUNCATE_AT);
        assert!(t.ends_with('…') && !t.contains('\n'));
    }

    #[test]
    fn an_answers_texts_are_cut_to_a_fair_share_of_its_budget() {
        let stat = |text: String| QueryStat {
            id: ID("1".into()),
            query_url: String::new(),
            truncated_query: String::new(),
            normalized_query: text,
            statement_type: Vec::new(),
            statement_types: Vec::new(),
            table_names: Vec::new(),
            total_calls: 0,
            avg_time: 0.0,
            buffer_hit_ratio: None,
            pct_of_total: 0.0,
            avg_io_time: 0.0,
        };
        // 500 statements of 64 KiB, and a short one: 8 MiB in all, the short one whole.
        let mut stats: Vec<QueryStat> = (0..500).map(|_| stat("x".repeat(64 << 10))).collect();
        stats.push(stat("SELECT 1".into()));
        cut_texts(&mut stats, ANSWER_TEXT_BYTES);
        let total: usize = stats.iter().map(|s| json_len(&s.normalized_query)).sum();
        assert!(total <= ANSWER_TEXT_BYTES, "{total}");
        assert!(
            total > ANSWER_TEXT_BYTES - 600 * 4,
            "the budget is used: {total}"
        );
        assert_eq!(stats[500].normalized_query, "SELECT 1");
        assert!(stats[0].normalized_query.ends_with("x…"));
        // Escapes weigh what they take in JSON: control characters six bytes each.
        let mut hostile = vec![stat("\u{1}".repeat(64 << 10)); 500];
        cut_texts(&mut hostile, ANSWER_TEXT_BYTES);
        let total: usize = hostile.iter().map(|s| json_len(&s.normalized_query)).sum();
        assert!(total <= ANSWER_TEXT_BYTES, "{total}");
        let json = serde_json::to_string(
            &hostile
                .iter()
                .map(|s| &s.normalized_query)
                .collect::<Vec<_>>(),
        )
        .unwrap();
        assert!(json.len() <= ANSWER_TEXT_BYTES + 500 * 3, "{}", json.len());
        // Texts within the budget are left alone.
        let mut small = vec![stat("SELECT 1".into()); 3];
        cut_texts(&mut small, 100);
        assert!(small.iter().all(|s| s.normalized_query == "SELECT 1"));
    }

    #[test]
    fn every_query_to_a_monitored_database_carries_the_marker() {
        for sql in [
            PROBE_SQL,
            sampler::ROUND_SQL,
            sampler::COUNTERS_SQL,
            sampler::COUNTERS_SQL_17,
            sampler::TEXTS_SQL,
        ] {
            assert!(sql.starts_with(&format!("SELECT {MARKER} ")), "{sql}");
        }
    }
}
