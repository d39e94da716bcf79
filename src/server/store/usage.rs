//! Usage over time: per key and per minute (kept a day) or hour (kept `--usage-retention`),
//! the requests it authenticated and the ones refused to it.
//!
//! The counts arrive in batches from the authenticator's flush (with `lastUsedAt`, never one
//! write per request) and are *added* to what is stored (`ON CONFLICT … DO UPDATE SET
//! requests = requests + excluded.requests`), so replicas sharing one PostgreSQL database add
//! up without losing or doubling. The hourly maintenance ([`Store::roll_up_usage`]) moves
//! minute rows older than a day into hour rows, in one transaction, and deletes hour rows past
//! retention.

use super::sql::Sql;
use super::{Store, StoreResult};
use crate::server::model::Timestamp;

/// Seconds in a minute bucket.
pub const MINUTE: i64 = 60;
/// Seconds in an hour bucket.
pub const HOUR: i64 = 3600;
/// How long minute rows are kept before they are rolled into hour rows.
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
    /// minute counts, added to those stored. Rows are written in (key, minute) order so that
    /// replicas flushing together lock them in the same order.
    pub async fn record_usage(
        &self,
        used: &[String],
        at: Timestamp,
        counts: &mut [UsageCount],
    ) -> StoreResult<()> {
        self.touch_last_used(used, at).await?;
        counts.sort_by(|a, b| (&a.key_id, a.minute).cmp(&(&b.key_id, b.minute)));
        for chunk in counts.chunks(ROWS_PER_STATEMENT) {
            let mut q = Sql::new(
                "INSERT INTO key_usage_minutes (key_id, bucket, requests, refused) VALUES ",
            );
            for (i, c) in chunk.iter().enumerate() {
                if i > 0 {
                    q.push(", ");
                }
                q.push("(")
                    .bind(c.key_id.clone())
                    .push(", ")
                    .bind(c.minute)
                    .push(", ")
                    .bind(c.requests)
                    .push(", ")
                    .bind(c.refused)
                    .push(")");
            }
            q.push(
                " ON CONFLICT (key_id, bucket) DO UPDATE SET \
                 requests = key_usage_minutes.requests + excluded.requests, \
                 refused = key_usage_minutes.refused + excluded.refused",
            );
            q.query()?.execute(&self.write).await?;
        }
        Ok(())
    }

    /// The hourly maintenance: minute rows older than a day (whole hours) become hour rows,
    /// added to any already there, and hour rows from before `delete_before` are deleted. One
    /// transaction under the write lock, so replicas doing it together do it once. Returns
    /// the minute rows rolled up and the hour rows deleted.
    pub async fn roll_up_usage(
        &self,
        now: Timestamp,
        delete_before: Timestamp,
    ) -> StoreResult<(u64, u64)> {
        let cutoff = (now.0 - MINUTE_ROWS_KEPT_S).div_euclid(HOUR) * HOUR;
        let mut tx = self.begin().await?;
        let mut q = Sql::new(
            "INSERT INTO key_usage_hours (key_id, bucket, requests, refused) \
             SELECT key_id, bucket - (bucket % 3600), SUM(requests), SUM(refused) \
             FROM key_usage_minutes WHERE bucket < ",
        );
        q.bind(cutoff).push(
            " GROUP BY key_id, bucket - (bucket % 3600) \
             ON CONFLICT (key_id, bucket) DO UPDATE SET \
             requests = key_usage_hours.requests + excluded.requests, \
             refused = key_usage_hours.refused + excluded.refused",
        );
        q.query()?.execute(&mut *tx).await?;
        let rolled = sqlx::query("DELETE FROM key_usage_minutes WHERE bucket < $1")
            .bind(cutoff)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let deleted = sqlx::query("DELETE FROM key_usage_hours WHERE bucket < $1")
            .bind(delete_before.0)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok((rolled, deleted))
    }

    /// The stored counts (minute and hour rows) of `key_ids` whose bucket starts in
    /// `[from, to)`, summed by the database into intervals of `width` seconds from `from`:
    /// one row per key and interval with any requests, its `bucket` inside that interval.
    /// One query however many keys ask, and what it returns is bounded by keys × intervals,
    /// not by how busy the keys were.
    pub async fn usage_rows(
        &self,
        key_ids: &[String],
        from: i64,
        to: i64,
        width: i64,
    ) -> StoreResult<Vec<UsageRow>> {
        let mut q = Sql::new(
            "SELECT key_id, MIN(bucket) AS bucket, CAST(SUM(requests) AS BIGINT) AS requests, \
             CAST(SUM(refused) AS BIGINT) AS refused FROM (",
        );
        for (i, table) in ["key_usage_minutes", "key_usage_hours"].iter().enumerate() {
            if i > 0 {
                q.push(" UNION ALL ");
            }
            q.push("SELECT key_id, bucket, (bucket - ")
                .bind(from)
                .push(") / ")
                .bind(width.max(1))
                .push(&format!(
                    " AS slot, requests, refused FROM {table} WHERE key_id IN "
                ))
                .list(key_ids)
                .push(" AND bucket >= ")
                .bind(from)
                .push(" AND bucket < ")
                .bind(to);
        }
        q.push(") u GROUP BY key_id, slot");
        Ok(q.query_as::<UsageRow>()?.fetch_all(&self.read).await?)
    }
}
