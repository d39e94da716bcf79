//! Persistence of keys, identities, projects and the audit log: one store on two backends.
//!
//! Everything the service keeps goes through [`Store`]; no SQL lives elsewhere. The SQL is
//! written once over `sqlx::Any` ([`sql`]), and the few dialect differences (search, id
//! prefixes, migrations, how a statement's records are handed over: [`sql::Records`]) are
//! decided in one place, [`sql::Backend`].
//!
//! - SQLite (`sqlite:PATH` or a plain path, the default): writes use a single connection so
//!   that check-then-write sequences run one at a time; reads use a small pool. WAL mode with a
//!   busy timeout, so readers never block the writer.
//! - PostgreSQL (`postgres://…`): one pool, possibly shared by several `keydeck serve`
//!   replicas. Every write transaction first takes one advisory lock, so check-then-write
//!   sequences of all replicas run one at a time too; what can be a constraint is one. Each
//!   committed change is announced to the other replicas ([`changes`]).
//!
//! The entities live one per file: [`keys`], [`identities`], [`projects`] (with roles and
//! memberships), [`audit`]; [`rotation`] replaces a key by a new one; [`usage`] counts each
//! key's requests over time.

mod audit;
mod changes;
mod grants;
mod identities;
mod keys;
mod order;
mod projects;
mod rotation;
mod samples;
mod sql;
mod usage;

use std::str::FromStr;
use std::sync::Arc;

use sqlx::any::AnyPoolOptions;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Any, AnyPool, ConnectOptions, Executor as _, Transaction};

use crate::server::model::{ApiKey, Membership, Permission, Timestamp, Visibility};

pub use audit::{
    AuditCriteria, AuditScope, AuditSlice, MAX_AUDIT_DETAIL_BYTES, MAX_AUDIT_TARGET_BYTES,
};
use changes::Changes;
pub use order::{KeyOrder, KeyPosition, Order, OrderField, Position, SortValue};
pub use rotation::{RotateOutcome, Rotated, Rotation};
use samples::SamplingLocks;
pub use samples::{Busy, Counters, Round, Sampled, Wanted, WindowActivity, WindowRounds};
pub use sql::{Backend, redacted};
pub use usage::{HOUR, MINUTE, MINUTE_ROWS_KEPT_S, UsageCount, UsageRead, UsageRow};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// An enabled, unexpired key of the same scope already has this name.
    #[error("an enabled key with this name already exists in this scope")]
    NameTaken,
    /// The change would leave no enabled super admin key that never expires.
    #[error("this would leave no enabled super admin key that never expires")]
    LastSuperAdmin,
    /// A unique value (project slug) is already in use.
    #[error("already exists")]
    AlreadyExists,
    /// A `--monitor` id that contradicts the ids the store handed out (they never change).
    #[error("{0}")]
    MonitorId(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Which keys a listing may return; decided by `authz`, applied here. (Not to be confused
/// with `api::KeyScope`, where a new key belongs.)
#[derive(Debug, Clone)]
pub enum VisibleKeys {
    All,
    /// Org-wide keys plus the personal keys this identity owns.
    VisibleTo(String),
}

/// Everything needed to insert a key and its identity.
pub struct NewKey<'a> {
    pub description: &'a str,
    pub project_id: Option<&'a str>,
    pub token_hash: &'a str,
    pub token_prefix: Option<&'a str>,
    pub expires_at: Option<Timestamp>,
    pub permissions: &'a [Permission],
    pub visibility: Visibility,
    pub owner_id: Option<&'a str>,
    pub global_roles: &'a [String],
    pub memberships: &'a [Membership],
}

/// Who is doing what: the audit entry a write commits together with its change, so that no
/// change is ever stored without its entry (and no entry claims a change that was rolled back).
#[derive(Debug, Clone, Copy)]
pub struct Audit<'a> {
    /// The identity acting; `None` for the service itself (bootstrap, offline recovery).
    pub actor_id: Option<&'a str>,
    /// The mutation's name, e.g. `createApiKey`.
    pub action: &'a str,
}

/// A key after enabling or disabling it.
pub struct Toggled {
    pub key: ApiKey,
    /// The personal keys disabled with it, because it created them (directly or not).
    pub cascaded: Vec<String>,
}

/// One page of a cursor listing: the rows and whether more follow.
pub struct Page<T> {
    pub items: Vec<T>,
    pub has_next: bool,
}

#[derive(Clone)]
pub struct Store {
    backend: Backend,
    /// Where reads go: SQLite's read-only pool, or PostgreSQL's one pool.
    read: AnyPool,
    /// Where writes go: SQLite's single connection, or PostgreSQL's one pool.
    write: AnyPool,
    /// What authenticated principals are cached against, kept current across replicas.
    changes: Arc<Changes>,
    /// The monitored databases this replica samples (PostgreSQL: session advisory locks).
    sampling_locks: Arc<tokio::sync::Mutex<SamplingLocks>>,
    key_counts: Arc<keys::KeyCounts>,
}

/// The advisory lock every PostgreSQL write transaction takes first (`pg_advisory_xact_lock`):
/// one constant, so all check-then-write sequences of all replicas run one at a time, as on
/// SQLite's single writer. Arbitrary, but fixed: replicas of every version must agree on it.
const WRITE_LOCK: i64 = 0x6b65_7964_6563_6b31; // "keydeck1"

/// PostgreSQL connections per store (per replica), besides the listening one and the session
/// holding sampling locks. Few: each busy connection is a backend process wanting a core, and
/// past about twice the cores they only take turns: 4 gave the lowest p99 on 2 cores
/// (`BENCH_DB=… cargo bench --bench service_load`; figures in benches/README.md).
const PG_POOL_SIZE: u32 = 4;
/// SQLite read connections: one per core, at least two. Each is a thread running SQLite;
/// more than the cores only queue on the scheduler and on SQLite's allocator lock (`cargo
/// bench --bench service_load` answered fewer requests, with a longer p99, with more).
fn sqlite_readers() -> u32 {
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
    u32::try_from(cores.clamp(2, 16)).unwrap_or(2)
}

impl Store {
    /// Opens the store at `url` and runs its migrations: PostgreSQL for `postgres://` and
    /// `postgresql://`, otherwise SQLite (`sqlite:PATH` or a plain path; the file is created,
    /// owner-only, if missing).
    pub async fn open(url: &str) -> StoreResult<Self> {
        sqlx::any::install_default_drivers();
        match Backend::of_url(url) {
            Backend::Sqlite => Self::open_sqlite(url).await,
            Backend::Postgres => Self::open_postgres(url).await,
        }
    }

    async fn open_sqlite(url: &str) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)?;
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        if !in_memory {
            create_private_database_file(options.get_filename())
                .map_err(|e| StoreError::Db(sqlx::Error::Io(e)))?;
        }
        // The Any driver takes SQLite options from a URL only, which carries neither the
        // journal mode nor the synchronous level: those are set on each new connection. The
        // URL's defaults already give foreign keys and a 5 s busy timeout.
        let pragmas = AnyPoolOptions::new().after_connect(|conn, _| {
            Box::pin(async move {
                conn.execute("PRAGMA journal_mode = WAL").await?;
                conn.execute("PRAGMA synchronous = NORMAL").await?;
                Ok(())
            })
        });
        let write_url = options.clone().create_if_missing(true).to_url_lossy();
        let write = if in_memory {
            // Each new connection to `:memory:` would be a new, empty database: keep one.
            pragmas
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .connect("sqlite::memory:")
                .await?
        } else {
            pragmas
                .max_connections(1)
                .test_before_acquire(false)
                .connect(write_url.as_str())
                .await?
        };
        sqlx::migrate!("src/server/store/migrations/sqlite")
            .run(&write)
            .await?;
        let read = if in_memory {
            write.clone()
        } else {
            // No ping before each use: a connection to a local file does not break, and the
            // ping is one more round trip to the connection's worker thread per statement.
            // Pages are read through a memory map (up to 256 MiB) rather than a read() each,
            // which answered more with a lower p99 (`cargo bench --bench service_load`).
            AnyPoolOptions::new()
                .max_connections(sqlite_readers())
                .test_before_acquire(false)
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        conn.execute("PRAGMA mmap_size = 268435456").await?;
                        Ok(())
                    })
                })
                .connect(options.read_only(true).to_url_lossy().as_str())
                .await?
        };
        let store = Store {
            backend: Backend::Sqlite,
            read,
            write,
            changes: Arc::new(Changes::default()),
            sampling_locks: Arc::default(),
            key_counts: Arc::default(),
        };
        rekey_names(&store).await?;
        Ok(store)
    }

    async fn open_postgres(url: &str) -> StoreResult<Self> {
        let pool = AnyPoolOptions::new()
            .max_connections(PG_POOL_SIZE)
            .connect(url)
            .await?;
        // sqlx's migrator takes an advisory lock of its own: replicas starting together
        // migrate once.
        sqlx::migrate!("src/server/store/migrations/postgres")
            .run(&pool)
            .await?;
        let changes = Changes::listening(url, pool.clone());
        let store = Store {
            backend: Backend::Postgres,
            read: pool.clone(),
            write: pool,
            changes,
            sampling_locks: Arc::default(),
            key_counts: Arc::default(),
        };
        rekey_names(&store).await?;
        Ok(store)
    }

    /// Which database this store runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Changes so far to what authentication reads; a cached principal is good while this is
    /// the number it was loaded at. On PostgreSQL it also counts the changes other replicas
    /// announced.
    pub fn generation(&self) -> u64 {
        self.changes.generation()
    }

    /// Raw access for tests and tools that inspect what is stored (e.g. "no plaintext token").
    pub fn read_pool(&self) -> &AnyPool {
        &self.read
    }

    /// Whether no key has ever been created (the bootstrap condition).
    pub async fn has_no_keys(&self) -> StoreResult<bool> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM api_keys")
            .fetch_one(&self.read)
            .await?;
        Ok(n == 0)
    }

    /// Starts a write transaction. On PostgreSQL it first takes [`WRITE_LOCK`], so that no
    /// other replica's check-then-write interleaves with this one (SQLite has one writer).
    async fn begin(&self) -> StoreResult<Transaction<'static, Any>> {
        let mut tx = self.write.begin().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(WRITE_LOCK)
                .execute(&mut *tx)
                .await?;
        }
        Ok(tx)
    }

    /// Commits a change to keys, identities, roles or memberships: announced to the other
    /// replicas inside the transaction (so they hear of it only if it commits), then counted
    /// here, so cached principals of this process are reloaded at once.
    async fn commit_change(&self, mut tx: Transaction<'static, Any>) -> StoreResult<()> {
        if self.backend == Backend::Postgres {
            changes::announce(&mut tx).await?;
        }
        tx.commit().await?;
        self.changes.bump();
        Ok(())
    }
}

fn page<T>(mut items: Vec<T>, limit: i64) -> StoreResult<Page<T>> {
    let limit = usize::try_from(limit).map_err(|_| StoreError::Corrupt("negative limit".into()))?;
    let has_next = items.len() > limit;
    items.truncate(limit);
    Ok(Page { items, has_next })
}

/// Computes the stored forms of every name again ([`crate::text::name_key`] and
/// [`crate::text::name_order`] of keys, the latter of identities) where the store holds an
/// older form than [`crate::text::NAME_KEY_VERSION`]: once, when the store opens, one transaction a table (replicas
/// that open together take turns and the second finds nothing to do).
async fn rekey_names(store: &Store) -> StoreResult<()> {
    use crate::text::{name_key, name_order};
    rekey_table(
        store,
        "api_keys",
        "name_key_version",
        &[("name_key", name_key), ("name_order", name_order)],
    )
    .await?;
    // Its own version: the column came after the keys' forms were at version 3.
    rekey_table(
        store,
        "identities",
        "identity_name_version",
        &[("name_order", name_order)],
    )
    .await
}

/// A stored form of a name, computed from the name.
type NameForm = fn(&str) -> String;

/// [`rekey_names`] of one table: its `columns`, each computed from `description` by its
/// function, when the version `store_meta` holds under `version_name` is older.
async fn rekey_table(
    store: &Store,
    table: &str,
    version_name: &str,
    columns: &[(&str, NameForm)],
) -> StoreResult<()> {
    use sqlx::Row as _;
    let mut tx = store.begin().await?;
    let held: Option<i64> = sqlx::query_scalar("SELECT value FROM store_meta WHERE name = $1")
        .bind(version_name)
        .fetch_optional(&mut *tx)
        .await?;
    if held.is_some_and(|v| v >= crate::text::NAME_KEY_VERSION) {
        return Ok(());
    }
    let names: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
    let rows = sqlx::query(&format!(
        "SELECT id, description, {} FROM {table}",
        names.join(", ")
    ))
    .fetch_all(&mut *tx)
    .await?;
    let sets: Vec<String> = names
        .iter()
        .enumerate()
        .map(|(i, name)| format!("{name} = ${}", i + 1))
        .collect();
    let update = format!(
        "UPDATE {table} SET {} WHERE id = ${}",
        sets.join(", "),
        names.len() + 1
    );
    for row in rows {
        let id: String = row.try_get(0)?;
        let description: String = row.try_get(1)?;
        let mut fresh = Vec::with_capacity(columns.len());
        let mut changed = false;
        for (i, (_, form)) in columns.iter().enumerate() {
            let held: String = row.try_get(i + 2)?;
            let value = form(&description);
            changed |= value != held;
            fresh.push(value);
        }
        if changed {
            let mut q = sqlx::query(&update);
            for value in fresh {
                q = q.bind(value);
            }
            q.bind(id).execute(&mut *tx).await?;
        }
    }
    sqlx::query(
        "INSERT INTO store_meta (name, value) VALUES ($1, $2) \
         ON CONFLICT (name) DO UPDATE SET value = excluded.value",
    )
    .bind(version_name)
    .bind(crate::text::NAME_KEY_VERSION)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

fn parse_json<T: serde::de::DeserializeOwned>(text: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn to_json<T: serde::Serialize>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Creates the database file owner-only (0600) when it does not exist yet. SQLite would create
/// it with the umask's mode (usually 0644), and creates `-wal` and `-shm` with the mode of the
/// database file, so this one file decides all three. An existing file is left as it is.
fn create_private_database_file(path: &std::path::Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}
