//! Usage over time: per key, the requests it authenticated and the ones refused to it, per
//! minute (kept a day) and per hour (kept `--usage-retention`).
//!
//! The counts arrive in batches from the authenticator's flush (with `lastUsedAt`, never one
//! write per request) and are *added* to what is stored (`ON CONFLICT … DO UPDATE SET
//! requests = requests + excluded.requests`) in both the minute and the hour rows, so
//! replicas sharing one PostgreSQL database add up without losing or doubling, and every
//! hour's row is whole as soon as the hour is. A reader takes an hour that lies whole in one
//! of its intervals from its one hour row rather than sixty minute rows (a day's total is 24
//! rows, not 1,440), and minute rows where it needs them. The hourly upkeep
//! ([`Store::prune_usage`]) only deletes: minute rows older than a day, hour rows past
//! retention.

use super::sql::Sql;
use super::{Store, StoreResult};
use crate::server::model::Timestamp;

/// Seconds in a minute bucket.
pub const MINUTE: i64 = 60;
/// Seconds in an hour bucket.
pub const HOUR: i64 = 3600;
/// How long minute rows are kept (the hour rows hold the same counts, coarser).
pub const MINUTE_ROWS_KEPT_S: i64 = 24 * HOUR;
/// Rows per upsert statement: 4 values each, well under SQLite's bind limit.
const ROWS_PER_STATEMENT: usize = 200;

/// One key's counts in one minute, as the authenticator gathered them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageCount {
    pub key_id: String,
    /// Start of the minute, Unix seconds.
    pub minute: i64,
    pub requests: i64,
    pub refused: i64,
}

/// One stored row: a key's counts in the minute or hour starting at `bucket`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct UsageRow {
    pub key_id: String,
    pub bucket: i64,
    pub requests: i64,
    pub refused: i64,
}

impl Store {
    /// Writes one flush of the authenticator: `lastUsedAt` of `used` keys (at `at`) and the
    /// counts, added to the minute rows and to the hour rows. Rows are written in (key,
    /// bucket) order so that replicas flushing together lock them in the same order.
    pub async fn record_usage(
        &self,
        used: &[String],
        at: Timestamp,
        counts: &mut [UsageCount],
    ) -> StoreResult<()> {
        self.touch_last_used(used, at).await?;
        counts.sort_by(|a, b| (&a.key_id, a.minute).cmp(&(&b.key_id, b.minute)));
        let minutes: Vec<UsageRow> = counts
            .iter()
            .map(|c| UsageRow {
                key_id: c.key_id.clone(),
                bucket: c.minute,
                requests: c.requests,
                refused: c.refused,
            })
            .collect();
        // The same counts by hour: the sort keeps one key's minutes of one hour together.
        let mut hours: Vec<UsageRow> = Vec::new();
        for row in &minutes {
            let hour = row.bucket.div_euclid(HOUR) * HOUR;
            match hours.last_mut() {
                Some(last) if last.key_id == row.key_id && last.bucket == hour => {
                    last.requests += row.requests;
                    last.refused += row.refused;
                }
                _ => hours.push(UsageRow {
                    bucket: hour,
                    ..row.clone()
                }),
            }
        }
        self.add_usage("key_usage_minutes", &minutes).await?;
        self.add_usage("key_usage_hours", &hours).await
    }

    /// Adds `rows` to `table`'s counts, a statement per [`ROWS_PER_STATEMENT`] rows.
    async fn add_usage(&self, table: &str, rows: &[UsageRow]) -> StoreResult<()> {
        for chunk in rows.chunks(ROWS_PER_STATEMENT) {
            let mut q = Sql::new(format!(
                "INSERT INTO {table} (key_id, bucket, requests, refused) VALUES "
            ));
            for (i, row) in chunk.iter().enumerate() {
                if i > 0 {
                    q.push(", ");
                }
                q.push("(")
                    .bind(row.key_id.clone())
                    .push(", ")
                    .bind(row.bucket)
                    .push(", ")
                    .bind(row.requests)
                    .push(", ")
                    .bind(row.refused)
                    .push(")");
            }
            q.push(&format!(
                " ON CONFLICT (key_id, bucket) DO UPDATE SET \
                 requests = {table}.requests + excluded.requests, \
                 refused = {table}.refused + excluded.refused"
            ));
            q.query()?.execute(&self.write).await?;
        }
        Ok(())
    }

    /// The hourly upkeep: minute rows older than a day (whole hours) and hour rows from before
    /// `delete_before` are deleted. Only deletes, so replicas doing it together do no harm.
    /// Returns the minute rows and the hour rows deleted.
    pub async fn prune_usage(
        &self,
        now: Timestamp,
        delete_before: Timestamp,
    ) -> StoreResult<(u64, u64)> {
        let cutoff = (now.0 - MINUTE_ROWS_KEPT_S).div_euclid(HOUR) * HOUR;
        let minutes = sqlx::query("DELETE FROM key_usage_minutes WHERE bucket < $1")
            .bind(cutoff)
            .execute(&self.write)
            .await?
            .rows_affected();
        let hours = sqlx::query("DELETE FROM key_usage_hours WHERE bucket < $1")
            .bind(delete_before.0)
            .execute(&self.write)
            .await?
            .rows_affected();
        Ok((minutes, hours))
    }

    /// The counts of `key_ids` that `read` names, summed by the database into its intervals:
    /// one row per key and interval with any requests, its `bucket` inside that interval. One
    /// query however many keys ask; what it reads is bounded by keys × (hours + the minutes
    /// of hours split between intervals), not by how busy the keys were.
    pub async fn usage_rows(
        &self,
        key_ids: &[String],
        read: &UsageRead,
    ) -> StoreResult<Vec<UsageRow>> {
        let sources = [
            ("key_usage_minutes", &read.minutes),
            ("key_usage_hours", &read.hours),
        ];
        let sources: Vec<_> = sources
            .into_iter()
            .filter(|(_, ranges)| !ranges.is_empty())
            .collect();
        if sources.is_empty() || key_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut q = Sql::new(
            "SELECT key_id, MIN(bucket) AS bucket, CAST(SUM(requests) AS BIGINT) AS requests, \
             CAST(SUM(refused) AS BIGINT) AS refused FROM (",
        );
        for (i, (table, ranges)) in sources.into_iter().enumerate() {
            if i > 0 {
                q.push(" UNION ALL ");
            }
            q.push("SELECT key_id, bucket, (bucket - ")
                .bind(read.first)
                .push(") / ")
                .bind(read.width.max(1))
                .push(&format!(
                    " AS slot, requests, refused FROM {table} WHERE key_id IN "
                ))
                .list(key_ids)
                .push(" AND (");
            for (j, (from, to)) in ranges.iter().enumerate() {
                if j > 0 {
                    q.push(" OR ");
                }
                q.push("(bucket >= ")
                    .bind(*from)
                    .push(" AND bucket < ")
                    .bind(*to)
                    .push(")");
            }
            q.push(")");
        }
        q.push(") u GROUP BY key_id, slot");
        Ok(q.query_as::<UsageRow>()?.fetch_all(&self.read).await?)
    }
}

/// What one read of usage takes: the intervals (`width` seconds each from `first`) the
/// counts are summed into, and the bucket ranges `[from, to)` read from the minute rows and
/// from the hour rows, which never overlap.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UsageRead {
    pub first: i64,
    pub width: i64,
    pub minutes: Vec<(i64, i64)>,
    pub hours: Vec<(i64, i64)>,
}
