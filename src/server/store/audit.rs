//! The audit log: one entry per mutation, written in the same transaction as its change.

use std::borrow::Cow;

use sqlx::{AnyConnection, Row};

use crate::server::model::{AuditEntry, Timestamp};

use super::{Audit, Page, Store, StoreResult, page};

/// Longest audit `target` and `detail` kept, in bytes; longer ones are cut and marked, so a
/// request cannot turn the audit log into a way to fill the disk.
pub const MAX_AUDIT_TARGET_BYTES: usize = 256;
pub const MAX_AUDIT_DETAIL_BYTES: usize = 2048;
/// Refusals are counted per actor, action and outcome in windows of this many seconds.
const REFUSAL_WINDOW_SECS: i64 = 60;
/// What marks a cut audit value.
const CUT_MARK: &str = "…[cut]";

impl Store {
    /// Records a mutation that changed nothing (a refusal or a failure). Changes record
    /// theirs inside their own transaction. Within a minute, the same actor refused the same
    /// action with the same outcome counts on one row (the first one's target and detail), so
    /// refusals cannot grow the log faster than a row per actor, action and outcome a minute.
    pub async fn append_audit(
        &self,
        audit: Audit<'_>,
        target: Option<&str>,
        outcome: &str,
        detail: Option<&str>,
    ) -> StoreResult<()> {
        let mut conn = self.write.acquire().await?;
        if let Some(actor) = audit.actor_id {
            let now = Timestamp::now().0;
            let counted = sqlx::query(
                "UPDATE audit_log SET count = count + 1 WHERE seq = (SELECT seq FROM audit_log \
                 WHERE actor_id = $1 AND action = $2 AND outcome = $3 AND at >= $4 \
                 ORDER BY at DESC LIMIT 1)",
            )
            .bind(actor)
            .bind(audit.action)
            .bind(outcome)
            .bind(now - now.rem_euclid(REFUSAL_WINDOW_SECS))
            .execute(&mut *conn)
            .await?;
            if counted.rows_affected() > 0 {
                return Ok(());
            }
        }
        insert_audit(&mut conn, audit, target, outcome, detail).await
    }

    /// Deletes the audit entries from before `before` (`keydeck serve --audit-retention`);
    /// answers how many went.
    pub async fn prune_audit_log(&self, before: Timestamp) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM audit_log WHERE at < $1")
            .bind(before.0)
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected())
    }

    /// The audit log, newest first, before the entry with sequence number `before`.
    pub async fn audit_log(
        &self,
        before: Option<i64>,
        limit: i64,
    ) -> StoreResult<Page<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT seq, at, actor_id, action, target, outcome, detail, count FROM audit_log \
             WHERE seq < $1 ORDER BY seq DESC LIMIT $2",
        )
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit + 1)
        .fetch_all(&self.read)
        .await?;
        let items = rows
            .iter()
            .map(|row| {
                Ok(AuditEntry {
                    seq: row.try_get("seq")?,
                    at: Timestamp(row.try_get("at")?),
                    actor_id: row.try_get("actor_id")?,
                    action: row.try_get("action")?,
                    target: row.try_get("target")?,
                    outcome: row.try_get("outcome")?,
                    detail: row.try_get("detail")?,
                    count: row.try_get("count")?,
                })
            })
            .collect::<StoreResult<_>>()?;
        page(items, limit)
    }

    pub async fn count_audit_entries(&self) -> StoreResult<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM audit_log")
            .fetch_one(&self.read)
            .await?)
    }
}

/// Writes one audit entry, cutting an oversized target or detail.
pub(super) async fn insert_audit(
    conn: &mut AnyConnection,
    audit: Audit<'_>,
    target: Option<&str>,
    outcome: &str,
    detail: Option<&str>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO audit_log (at, actor_id, action, target, outcome, detail) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(Timestamp::now().0)
    .bind(audit.actor_id)
    .bind(audit.action)
    .bind(target.map(|t| cut(t, MAX_AUDIT_TARGET_BYTES).into_owned()))
    .bind(outcome)
    .bind(detail.map(|d| cut(d, MAX_AUDIT_DETAIL_BYTES).into_owned()))
    .execute(conn)
    .await?;
    Ok(())
}

/// `text` if it fits in `max` bytes; otherwise its longest prefix that fits with the mark.
fn cut(text: &str, max: usize) -> Cow<'_, str> {
    if text.len() <= max {
        return Cow::Borrowed(text);
    }
    let mut end = max.saturating_sub(CUT_MARK.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!("{}{CUT_MARK}", &text[..end]))
}
