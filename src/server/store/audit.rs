//! The audit log: one entry per mutation, written in the same transaction as its change,
//! with what it is about (project, key, the key's owner, names at the time); read newest
//! first through filters and a reader's scope ([`AuditScope`]), each on an index.

use std::borrow::Cow;

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::server::model::{AuditEntry, AuditTargetKind, Timestamp};

use super::sql::Sql;
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
        self.audit_page(&AuditScope::All, &AuditCriteria::default(), before, limit)
            .await
    }

    /// The entries of `scope` that match `filter`, newest first, before the entry with
    /// sequence number `before`. A reader's scope is a union of indexed slices (a project's
    /// entries, a key's, an owner's, an actor's): each is read newest first up to the page's
    /// size, then the page is the newest of those, so a page costs the same however long the
    /// log is.
    pub async fn audit_page(
        &self,
        scope: &AuditScope,
        filter: &AuditCriteria,
        before: Option<i64>,
        limit: i64,
    ) -> StoreResult<Page<AuditEntry>> {
        let before = before.unwrap_or(i64::MAX);
        let mut q = Sql::new(format!("SELECT {COLUMNS} FROM audit_log WHERE "));
        match scope.slices() {
            None => {
                q.push("seq < ").bind(before);
                push_filter(&mut q, filter);
            }
            Some([]) => {
                q.push("1 = 0");
            }
            Some(slices) => {
                q.push("seq IN (");
                for (i, slice) in slices.iter().enumerate() {
                    if i > 0 {
                        q.push(" UNION ");
                    }
                    q.push("SELECT seq FROM (SELECT seq FROM audit_log WHERE seq < ")
                        .bind(before);
                    push_filter(&mut q, filter);
                    q.push(" AND ");
                    slice.push(&mut q);
                    q.push(" ORDER BY seq DESC LIMIT ")
                        .bind(limit + 1)
                        .push(&format!(") s{i}"));
                }
                q.push(")");
            }
        }
        q.push(" ORDER BY seq DESC LIMIT ").bind(limit + 1);
        let rows = q.query()?.fetch_all(&self.read).await?;
        let items = rows.iter().map(entry).collect::<StoreResult<_>>()?;
        page(items, limit)
    }

    /// How many entries of `scope` match `filter`.
    pub async fn count_audit_page(
        &self,
        scope: &AuditScope,
        filter: &AuditCriteria,
    ) -> StoreResult<i64> {
        let mut q = Sql::new("SELECT COUNT(*) FROM audit_log WHERE 1 = 1");
        push_filter(&mut q, filter);
        match scope.slices() {
            None => {}
            Some([]) => {
                q.push(" AND 1 = 0");
            }
            Some(slices) => {
                q.push(" AND (");
                for (i, slice) in slices.iter().enumerate() {
                    if i > 0 {
                        q.push(" OR ");
                    }
                    slice.push(&mut q);
                }
                q.push(")");
            }
        }
        Ok(q.query_scalar()?.fetch_one(&self.read).await?)
    }

    /// The key `target` names, by its id or its identity's: the key whose entries a filter
    /// by that target means.
    pub async fn audit_target_key(&self, target: &str) -> StoreResult<Option<String>> {
        let mut conn = self.read.acquire().await?;
        Ok(about(&mut conn, target).await?.and_then(|a| a.key_id))
    }

    pub async fn count_audit_entries(&self) -> StoreResult<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM audit_log")
            .fetch_one(&self.read)
            .await?)
    }
}

/// Writes one audit entry, cutting an oversized target or detail, with what it is about
/// (the key, identity or project `target` names) as it is now.
pub(super) async fn insert_audit(
    conn: &mut AnyConnection,
    audit: Audit<'_>,
    target: Option<&str>,
    outcome: &str,
    detail: Option<&str>,
) -> StoreResult<()> {
    insert_audit_in(conn, audit, target, None, outcome, detail).await
}

/// [`insert_audit`] of an entry about `project` whatever its target (a membership).
pub(super) async fn insert_audit_in(
    conn: &mut AnyConnection,
    audit: Audit<'_>,
    target: Option<&str>,
    project: Option<&str>,
    outcome: &str,
    detail: Option<&str>,
) -> StoreResult<()> {
    let mut about = match target {
        Some(target) => about(conn, target).await?.unwrap_or_default(),
        None => About::default(),
    };
    if let Some(project) = project {
        about.project_id = Some(project.to_owned());
    }
    let actor_name: Option<String> = match audit.actor_id {
        Some(actor) => {
            sqlx::query_scalar("SELECT description FROM identities WHERE id = $1")
                .bind(actor)
                .fetch_optional(&mut *conn)
                .await?
        }
        None => None,
    };
    sqlx::query(
        "INSERT INTO audit_log (at, actor_id, action, target, outcome, detail, project_id, \
         key_id, owner_id, target_kind, target_name, actor_name) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(Timestamp::now().0)
    .bind(audit.actor_id)
    .bind(audit.action)
    .bind(target.map(|t| cut(t, MAX_AUDIT_TARGET_BYTES).into_owned()))
    .bind(outcome)
    .bind(detail.map(|d| cut(d, MAX_AUDIT_DETAIL_BYTES).into_owned()))
    .bind(about.project_id)
    .bind(about.key_id)
    .bind(about.owner_id)
    .bind(about.kind.map(AuditTargetKind::as_str))
    .bind(
        about
            .name
            .map(|n| cut(&n, MAX_AUDIT_TARGET_BYTES).into_owned()),
    )
    .bind(actor_name.map(|n| cut(&n, MAX_AUDIT_TARGET_BYTES).into_owned()))
    .execute(conn)
    .await?;
    Ok(())
}

/// What an audit target names, as the store holds it now.
#[derive(Default)]
struct About {
    kind: Option<AuditTargetKind>,
    name: Option<String>,
    project_id: Option<String>,
    key_id: Option<String>,
    owner_id: Option<String>,
}

/// The key (by its id or its identity's), or else the project (by id or slug), or else the
/// identity, that `target` names.
async fn about(conn: &mut AnyConnection, target: &str) -> StoreResult<Option<About>> {
    let key = sqlx::query(
        "SELECT id, identity_id, project_id, owner_id, description FROM api_keys \
         WHERE id = $1 OR identity_id = $1",
    )
    .bind(target)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(key) = key {
        let id: String = key.try_get("id")?;
        let kind = if id == target {
            AuditTargetKind::Key
        } else {
            AuditTargetKind::Identity
        };
        return Ok(Some(About {
            kind: Some(kind),
            name: key.try_get("description")?,
            project_id: key.try_get("project_id")?,
            key_id: Some(id),
            owner_id: key.try_get("owner_id")?,
        }));
    }
    let project = sqlx::query("SELECT id, name FROM projects WHERE id = $1 OR slug = $1")
        .bind(target)
        .fetch_optional(&mut *conn)
        .await?;
    if let Some(project) = project {
        return Ok(Some(About {
            kind: Some(AuditTargetKind::Project),
            name: project.try_get("name")?,
            project_id: project.try_get("id")?,
            ..About::default()
        }));
    }
    let identity: Option<String> =
        sqlx::query_scalar("SELECT description FROM identities WHERE id = $1")
            .bind(target)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(identity.map(|name| About {
        kind: Some(AuditTargetKind::Identity),
        name: Some(name),
        ..About::default()
    }))
}

/// The columns an [`AuditEntry`] is read from.
const COLUMNS: &str = "seq, at, actor_id, action, target, outcome, detail, count, project_id, \
                       key_id, target_kind, target_name, actor_name";

fn entry(row: &AnyRow) -> StoreResult<AuditEntry> {
    let kind: Option<String> = row.try_get("target_kind")?;
    Ok(AuditEntry {
        seq: row.try_get("seq")?,
        at: Timestamp(row.try_get("at")?),
        actor_id: row.try_get("actor_id")?,
        action: row.try_get("action")?,
        target: row.try_get("target")?,
        outcome: row.try_get("outcome")?,
        detail: row.try_get("detail")?,
        count: row.try_get("count")?,
        project_id: row.try_get("project_id")?,
        key_id: row.try_get("key_id")?,
        target_kind: kind.as_deref().and_then(AuditTargetKind::parse),
        target_name: row.try_get("target_name")?,
        actor_name: row.try_get("actor_name")?,
    })
}

/// The filter's conditions, each ` AND …`.
fn push_filter(q: &mut Sql, filter: &AuditCriteria) {
    let columns = [
        ("target", &filter.target),
        ("key_id", &filter.key_id),
        ("actor_id", &filter.actor_id),
        ("action", &filter.action),
        ("outcome", &filter.outcome),
    ];
    for (column, value) in columns {
        if let Some(value) = value {
            q.push(&format!(" AND {column} = ")).bind(value.clone());
        }
    }
    if let Some(since) = filter.since {
        q.push(" AND at >= ").bind(since);
    }
    if let Some(until) = filter.until {
        q.push(" AND at < ").bind(until);
    }
}

/// What an audit listing matches; every condition given must hold.
#[derive(Debug, Clone, Default)]
pub struct AuditCriteria {
    /// The target exactly as recorded.
    pub target: Option<String>,
    /// The key the entry is about (the key itself or its identity).
    pub key_id: Option<String>,
    pub actor_id: Option<String>,
    pub action: Option<String>,
    pub outcome: Option<String>,
    /// Unix seconds: entries at or after.
    pub since: Option<i64>,
    /// Unix seconds: entries before.
    pub until: Option<i64>,
}

/// Which audit entries a reader may see; decided by `authz`, applied here.
#[derive(Debug, Clone)]
pub enum AuditScope {
    All,
    /// The union of these slices.
    Slices(Vec<AuditSlice>),
}

/// One slice of the audit log a reader may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditSlice {
    /// The entries about any project (its keys, members, itself).
    AnyProject,
    /// The entries about this project.
    Project(String),
    /// The entries about this key (and its identity).
    Key(String),
    /// The entries about the keys this identity owns (created).
    OwnedBy(String),
    /// What this identity did.
    Actor(String),
}

impl AuditScope {
    fn slices(&self) -> Option<&[AuditSlice]> {
        match self {
            AuditScope::All => None,
            AuditScope::Slices(slices) => Some(slices),
        }
    }
}

impl AuditSlice {
    fn push(&self, q: &mut Sql) {
        match self {
            AuditSlice::AnyProject => q.push("project_id IS NOT NULL"),
            AuditSlice::Project(id) => q.push("project_id = ").bind(id.clone()),
            AuditSlice::Key(id) => q.push("key_id = ").bind(id.clone()),
            AuditSlice::OwnedBy(id) => q.push("owner_id = ").bind(id.clone()),
            AuditSlice::Actor(id) => q.push("actor_id = ").bind(id.clone()),
        };
    }
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
