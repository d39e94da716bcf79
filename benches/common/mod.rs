//! What the benchmarks share: a store seeded with many keys, and an app holding many keys.
#![allow(dead_code)] // each benchmark uses a different part

pub mod monitored;
pub mod pages;

use std::str::FromStr as _;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use keydeck::api::Page;
use keydeck::server::model::Timestamp;
use keydeck::server::store::Store;
use keydeck::tui::action::{Action, Effect};
use keydeck::tui::app::{App, Session};
use keydeck::tui::keymap::Keymap;
use keydeck::tui::theme::Theme;
use sqlx::PgConnection;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions as _, Connection as _};

/// A fresh store URL for a service bench: a new SQLite file named `name` under `dir`, or,
/// when `BENCH_DB` is a `postgres://` URL, a new database (`keydeck_bench_…`) created on that
/// server (and left there: use a throwaway cluster such as `.ci/pg-cluster`).
pub async fn bench_store(dir: &std::path::Path, name: &str) -> anyhow::Result<String> {
    let server = match std::env::var("BENCH_DB") {
        Ok(url) if url.starts_with("postgres") => url,
        Ok(url) if !url.trim().is_empty() => {
            anyhow::bail!("BENCH_DB must be a postgres:// URL (SQLite is the default), got {url}")
        }
        _ => return Ok(format!("sqlite:{}", dir.join(name).display())),
    };
    let mut conn = PgConnection::connect(&server)
        .await
        .context("connecting to BENCH_DB")?;
    let database = format!(
        "keydeck_bench_{}",
        uuid::Uuid::new_v4()
            .simple()
            .to_string()
            .get(..12)
            .unwrap_or("x")
    );
    sqlx::query(&format!("CREATE DATABASE {database}"))
        .execute(&mut conn)
        .await
        .with_context(|| format!("creating {database}"))?;
    conn.close().await?;
    let mut url = url_without_query(&server);
    let slash = url.rfind('/').filter(|&i| i > "postgres://".len());
    url.truncate(slash.unwrap_or(url.len()));
    Ok(format!("{url}/{database}"))
}

/// `url` up to its `?`.
fn url_without_query(url: &str) -> String {
    url.split('?').next().unwrap_or(url).to_owned()
}

/// What the store under the bench is, for the tables: `SQLite` or `PostgreSQL`.
pub fn backend_name(url: &str) -> &'static str {
    if url.starts_with("postgres") {
        "PostgreSQL"
    } else {
        "SQLite"
    }
}

/// Opens the store at `url` and fills it with the bootstrap super admin plus `keys - 1`
/// org-wide read keys named `bench key {i}`, of which [`NEEDLES`] spread over the list are
/// named `bench key {i} needle`, so that a search for [`NEEDLE`] matches a handful at any
/// size. Key `i` has sequence number `i + 1` (the bootstrap key has 1). Returns the store and
/// the bootstrap token; prints how long seeding took.
///
/// The keys go in through SQL, not [`Store::insert_key`]: one transaction per key makes a
/// million keys take hours. The rows are the ones `insert_key` writes (an identity per key,
/// random uuid ids, unique token hashes, `name_key` and `name_order` (of keys and of
/// identities), the search index filled by its triggers), without the per-key audit entries,
/// which no listing reads.
pub async fn seeded_store(url: &str, keys: usize) -> anyhow::Result<(Store, String)> {
    let store = Store::open(url).await.context("opening the bench store")?;
    let admin = keydeck::server::bootstrap(&store, None)
        .await?
        .context("the store is not fresh: it returned no bootstrap token")?;
    let started = Instant::now();
    bulk_insert_keys(url, keys.saturating_sub(1)).await?;
    eprintln!(
        "seeded {keys} keys ({}) in {:.1} s",
        backend_name(url),
        started.elapsed().as_secs_f64()
    );
    Ok((store, admin))
}

/// `per_minute` requests, one of them refused, in every minute of the last day for each of
/// `key_ids`: as busy as the "Req 24h" column can find a key (1,440 minute rows each, and
/// their hour rows, as the service's flush writes both).
pub async fn seed_busy_day(url: &str, key_ids: &[String], per_minute: i64) -> anyhow::Result<()> {
    let minute = Timestamp::now().0 / 60 * 60;
    // The ids are the service's own UUIDs; quoted all the same.
    let ids: Vec<String> = key_ids
        .iter()
        .map(|id| format!("'{}'", id.replace('\'', "''")))
        .collect();
    let ids = ids.join(", ");
    // Every minute of the day, and the hour each falls in.
    let day = format!(
        "WITH RECURSIVE m(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM m WHERE i < 1439), \
         d(b) AS (SELECT {minute} - i * 60 FROM m) \
         SELECT k.id AS key_id, d.b AS bucket, d.b - (d.b % 3600) AS hour \
         FROM api_keys k CROSS JOIN d WHERE k.id IN ({ids})"
    );
    let minutes = format!(
        "INSERT INTO key_usage_minutes (key_id, bucket, requests, refused) \
         SELECT key_id, bucket, {per_minute}, 1 FROM ({day}) s WHERE true {}",
        add_to_stored("key_usage_minutes")
    );
    let hours = format!(
        "INSERT INTO key_usage_hours (key_id, bucket, requests, refused) \
         SELECT key_id, hour, {per_minute} * COUNT(*), COUNT(*) FROM ({day}) s WHERE true \
         GROUP BY key_id, hour {}",
        add_to_stored("key_usage_hours")
    );
    if url.starts_with("postgres") {
        let mut conn = PgConnection::connect(url).await?;
        for sql in [&minutes, &hours] {
            sqlx::query(sql).execute(&mut conn).await?;
        }
        sqlx::query("ANALYZE key_usage_minutes, key_usage_hours")
            .execute(&mut conn)
            .await?;
    } else {
        let mut conn = SqliteConnectOptions::from_str(url)?
            .busy_timeout(Duration::from_secs(30))
            .connect()
            .await?;
        for sql in [&minutes, &hours] {
            sqlx::query(sql).execute(&mut conn).await?;
        }
    }
    Ok(())
}

/// Adds to the counts a row already holds: the service counts the bench's own requests too
/// (its admin key is on the first page), and may have flushed them already.
fn add_to_stored(table: &str) -> String {
    format!(
        "ON CONFLICT (key_id, bucket) DO UPDATE SET requests = {table}.requests + \
         excluded.requests, refused = {table}.refused + excluded.refused"
    )
}

/// What a search for the seeded needles types.
pub const NEEDLE: &str = "needle";
/// How many seeded keys are needles.
pub const NEEDLES: usize = 5;

/// `uuid::Uuid`'s text form (8-4-4-4-12 lower-case hex, version 4) from the 32 hex digits `h`.
const UUID_OF_H: &str = "substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-4' || substr(h, 14, 3) \
    || '-' || substr('89ab', 1 + abs(random()) % 4, 1) || substr(h, 18, 3) || '-' \
    || substr(h, 21, 12)";

/// Inserts keys `1..=n`, in that order, in one transaction on a connection of its own beside
/// the store's: identities from a recursive counter, then one key per new identity.
async fn bulk_insert_keys(url: &str, n: usize) -> anyhow::Result<()> {
    if n == 0 {
        return Ok(());
    }
    let n = i64::try_from(n)?;
    // Needles at the middle of each fifth of the list.
    let stride = (n / NEEDLES as i64).max(1);
    let now = Timestamp::now().0;
    if url.starts_with("postgres") {
        return bulk_insert_keys_pg(url, n, stride, now).await;
    }
    let mut conn = SqliteConnectOptions::from_str(url)?
        .busy_timeout(Duration::from_secs(30))
        .connect()
        .await
        .context("connecting to the bench store to seed it")?;
    let mut tx = conn.begin().await?;
    let last_identity: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM identities")
        .fetch_one(&mut *tx)
        .await?;
    sqlx::query(&format!(
        "INSERT INTO identities (id, description, created_at, name_order) \
         SELECT id, description, created_at, lower(description) FROM ( \
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1) \
         SELECT {UUID_OF_H} AS id, \
                'bench key ' || i || CASE WHEN i % ?2 = ?2 / 2 THEN ' ' || ?3 ELSE '' END \
                AS description, ?4 AS created_at \
         FROM (SELECT i, lower(hex(randomblob(16))) AS h FROM n))"
    ))
    .bind(n)
    .bind(stride)
    .bind(NEEDLE)
    .bind(now)
    .execute(&mut *tx)
    .await
    .context("seeding identities")?;
    sqlx::query(&format!(
        "INSERT INTO api_keys (id, identity_id, description, name_key, project_id, token_hash, \
         token_prefix, enabled, created_at, expires_at, can_read, can_write, visibility, owner_id, \
         name_order) \
         SELECT {UUID_OF_H}, id, description, lower(description), NULL, \
                lower(hex(randomblob(32))), 'kd_' || hex(randomblob(3)), 1, created_at, NULL, \
                1, 0, 'ORG_WIDE', NULL, lower(description) \
         FROM (SELECT lower(hex(randomblob(16))) AS h, id, description, created_at \
               FROM identities WHERE seq > ?1 ORDER BY seq)"
    ))
    .bind(last_identity)
    .execute(&mut *tx)
    .await
    .context("seeding keys")?;
    tx.commit().await?;
    conn.close().await?;
    Ok(())
}

/// [`bulk_insert_keys`] on PostgreSQL: the same rows from `generate_series`, loaded the way a
/// bulk load is done there. Maintaining the secondary indexes (the pg_trgm GIN ones above all)
/// and the counting trigger row by row took more than 8 minutes for a million keys; so, in
/// the loading transaction, the secondary indexes are dropped and built again afterwards from
/// their own definitions (`pg_get_indexdef`: nothing here restates a migration), the user
/// triggers are off during the load and the counters are set once, as the migration that
/// made them sets them. Ends with `ANALYZE`, as autovacuum would soon after such a load, and a
/// check that the counters agree with the table.
async fn bulk_insert_keys_pg(url: &str, n: i64, stride: i64, now: i64) -> anyhow::Result<()> {
    let mut conn = PgConnection::connect(url)
        .await
        .context("connecting to the bench store to seed it")?;
    let mut tx = conn.begin().await?;
    sqlx::query("SET LOCAL maintenance_work_mem = '512MB'")
        .execute(&mut *tx)
        .await?;
    let secondary: Vec<(String, String)> = sqlx::query_as(
        "SELECT c.relname::text, pg_get_indexdef(i.indexrelid) \
         FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
         JOIN pg_class t ON t.oid = i.indrelid \
         WHERE t.relname IN ('api_keys', 'identities') AND NOT i.indisunique \
           AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)",
    )
    .fetch_all(&mut *tx)
    .await
    .context("reading the secondary indexes")?;
    for (name, _) in &secondary {
        sqlx::query(&format!("DROP INDEX \"{name}\""))
            .execute(&mut *tx)
            .await?;
    }
    for table in ["identities", "api_keys"] {
        sqlx::query(&format!("ALTER TABLE {table} DISABLE TRIGGER USER"))
            .execute(&mut *tx)
            .await?;
    }
    let last_identity: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM identities")
        .fetch_one(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO identities (id, description, created_at, name_order) \
         SELECT gen_random_uuid()::text, d, $4, lower(d) FROM ( \
         SELECT i, 'bench key ' || i || CASE WHEN i % $2 = $2 / 2 THEN ' ' || $3 ELSE '' END \
                AS d \
         FROM generate_series(1::bigint, $1) AS i) n ORDER BY i",
    )
    .bind(n)
    .bind(stride)
    .bind(NEEDLE)
    .bind(now)
    .execute(&mut *tx)
    .await
    .context("seeding identities")?;
    sqlx::query(
        "INSERT INTO api_keys (id, identity_id, description, name_key, project_id, token_hash, \
         token_prefix, enabled, created_at, expires_at, can_read, can_write, visibility, owner_id, \
         name_order) \
         SELECT gen_random_uuid()::text, id, description, lower(description), NULL, \
                encode(sha256(convert_to(gen_random_uuid()::text, 'UTF8')), 'hex'), \
                'kd_' || upper(substr(md5(random()::text), 1, 6)), 1, created_at, NULL, 1, 0, \
                'ORG_WIDE', NULL, lower(description) \
         FROM identities WHERE seq > $1 ORDER BY seq",
    )
    .bind(last_identity)
    .execute(&mut *tx)
    .await
    .context("seeding keys")?;
    sqlx::query(
        "UPDATE api_key_counts SET (all_keys, enabled_keys) = \
         (SELECT COUNT(*), COALESCE(SUM(enabled), 0) FROM api_keys) WHERE id = 1",
    )
    .execute(&mut *tx)
    .await
    .context("counting the seeded keys")?;
    for table in ["identities", "api_keys"] {
        sqlx::query(&format!("ALTER TABLE {table} ENABLE TRIGGER USER"))
            .execute(&mut *tx)
            .await?;
    }
    for (name, definition) in &secondary {
        sqlx::query(definition)
            .execute(&mut *tx)
            .await
            .with_context(|| format!("building the index {name} again"))?;
    }
    tx.commit().await?;
    sqlx::query("ANALYZE").execute(&mut conn).await?;
    let (counted, kept): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM api_keys), (SELECT all_keys FROM api_key_counts WHERE id = 1)",
    )
    .fetch_one(&mut conn)
    .await?;
    anyhow::ensure!(
        counted == kept,
        "the key counters say {kept}, the table holds {counted}"
    );
    conn.close().await?;
    Ok(())
}

/// A TUI app with no keys yet.
pub fn empty_app() -> App {
    let session = Session {
        profile: "bench".into(),
        endpoint: "http://127.0.0.1:7100/graphql".into(),
        credential_store: "memory".into(),
    };
    App::new(
        session,
        Keymap::defaults(),
        Theme::mono(),
        time::OffsetDateTime::now_utc(),
    )
}

/// Scrolls `app`'s Keys tab through a listing of `n` sample keys as a user does (page down
/// to the end), answering every page the tab asks for as the service would, by cursor.
pub fn load_keys(app: &mut App, n: usize) -> anyhow::Result<()> {
    let page = |from: usize, len: usize| -> anyhow::Result<Page<_>> {
        let end = (from + len).min(n);
        Ok(Page {
            items: (from..end)
                .map(keydeck::tui::fixtures::sample_key)
                .collect::<Result<Vec<_>, _>>()?,
            has_next: end < n,
            end_cursor: Some(end.to_string()),
            has_previous: from > 0,
            start_cursor: Some(from.to_string()),
            total: n as i64,
        })
    };
    let size = usize::try_from(keydeck::tui::tabs::keys::PAGE_SIZE)?;
    let mut effects = app.update(Action::KeysLoaded {
        append: false,
        result: Ok(page(0, size)?),
    });
    let down = crossterm::event::KeyEvent::from(crossterm::event::KeyCode::PageDown);
    loop {
        for effect in std::mem::take(&mut effects) {
            if let Effect::LoadKeys { query, append } = effect {
                let from = query.after.as_deref().map_or(Ok(0), str::parse)?;
                effects.extend(app.update(Action::KeysLoaded {
                    append,
                    result: Ok(page(from, size)?),
                }));
            }
        }
        if !effects.is_empty() {
            continue;
        }
        let at_end = app.keys.selected().map(|k| k.id.clone());
        effects = app.update(Action::Key(down));
        if effects.is_empty() && app.keys.selected().map(|k| k.id.clone()) == at_end {
            return Ok(());
        }
    }
}

/// Starts the real service (`keydeck::server::start`, as `keydeck serve` does) on a loopback
/// port the OS picks, over the store at `url`.
pub async fn start_service(url: &str) -> anyhow::Result<keydeck::server::Running> {
    keydeck::server::start(&keydeck::server::ServeConfig {
        listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        database_url: url.to_owned(),
        bootstrap_token_file: None,
        max_key_ttl: None,
        public_url: None,
        monitor: vec![],
        sampling: Default::default(),
        limits: keydeck::server::transport::limits::Limits::default(),
        audit_retention: None,
        usage_retention: keydeck::server::DEFAULT_USAGE_RETENTION,
    })
    .await
}

/// Nearest-rank percentile of sorted latencies.
pub fn percentile(sorted: &[Duration], p: f64) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// `12.34 ms`, or `-` for none.
pub fn fmt_ms(d: Option<Duration>) -> String {
    d.map_or_else(
        || "-".to_owned(),
        |d| format!("{:.2} ms", d.as_secs_f64() * 1e3),
    )
}
