//! Persistence of keys, identities, projects and the audit log (sqlx on SQLite).
//!
//! Everything the service keeps goes through [`Store`]; no SQL lives elsewhere. Writes use a
//! single connection so that check-then-write sequences (name uniqueness) run in one
//! transaction without racing; reads use a small pool. SQLite runs in WAL mode with a busy
//! timeout so readers never block the writer.

mod samples;

use std::borrow::Cow;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};

use crate::text;

pub use samples::{Counters, Round, Sampled, Wanted};

use crate::server::model::{
    ApiKey, ApiKeyFilter, ApiKeyType, AuditEntry, Identity, IdentityFilter, Membership, Permission,
    Project, RoleDefinition, RoleDefinitionInput, RoleVariable, Timestamp, Visibility,
};

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

/// Which keys a listing may return; decided by `authz`, applied here.
#[derive(Debug, Clone)]
pub enum KeyScope {
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

/// Longest audit `target` and `detail` kept, in bytes; longer ones are cut and marked, so a
/// request cannot turn the audit log into a way to fill the disk.
pub const MAX_AUDIT_TARGET_BYTES: usize = 256;
pub const MAX_AUDIT_DETAIL_BYTES: usize = 2048;
/// What marks a cut audit value.
const CUT_MARK: &str = "…[cut]";

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
    read: SqlitePool,
    write: SqlitePool,
    /// Bumped after every committed change to keys, identities, roles or memberships: what
    /// authenticated principals are cached against (`auth::Authenticator`).
    generation: Arc<AtomicU64>,
}

const KEY_COLUMNS: &str = "k.seq, k.id, k.identity_id, k.description, k.project_id, \
    k.token_prefix, k.enabled, k.created_at, k.last_used_at, k.expires_at, k.disabled_at, \
    k.can_read, k.can_write, k.visibility, k.owner_id";

impl Store {
    /// Opens (creating if needed) the SQLite database at `url` and runs the migrations.
    pub async fn open(url: &str) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)?;
        if !(url.contains(":memory:") || url.contains("mode=memory")) {
            create_private_database_file(options.get_filename())
                .map_err(|e| StoreError::Db(sqlx::Error::Io(e)))?;
        }
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true);
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("src/server/store/migrations")
            .run(&write)
            .await?;
        let read = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options.read_only(true))
            .await?;
        Ok(Store {
            read,
            write,
            generation: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Changes so far to what authentication reads; a cached principal is good while this is
    /// the number it was loaded at.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Records that a change to keys, identities, roles or memberships was committed.
    fn changed(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// Whether no key has ever been created (the bootstrap condition).
    pub async fn has_no_keys(&self) -> StoreResult<bool> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM api_keys")
            .fetch_one(&self.read)
            .await?;
        Ok(n == 0)
    }

    // ---- keys -------------------------------------------------------------------------

    pub async fn key_by_token_hash(&self, token_hash: &str) -> StoreResult<Option<ApiKey>> {
        let sql = format!("SELECT {KEY_COLUMNS} FROM api_keys k WHERE k.token_hash = ?");
        let row = sqlx::query(&sql)
            .bind(token_hash)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(key_from_row).transpose()
    }

    pub async fn key(&self, id: &str) -> StoreResult<Option<ApiKey>> {
        let sql = format!("SELECT {KEY_COLUMNS} FROM api_keys k WHERE k.id = ?");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(key_from_row).transpose()
    }

    pub async fn key_of_identity(&self, identity_id: &str) -> StoreResult<Option<ApiKey>> {
        let sql = format!("SELECT {KEY_COLUMNS} FROM api_keys k WHERE k.identity_id = ?");
        let row = sqlx::query(&sql)
            .bind(identity_id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(key_from_row).transpose()
    }

    /// Records the use of these keys at `at`, in one statement (callers gather the keys used
    /// over an interval).
    pub async fn touch_last_used(&self, key_ids: &[String], at: Timestamp) -> StoreResult<()> {
        if key_ids.is_empty() {
            return Ok(());
        }
        let mut q = QueryBuilder::<Sqlite>::new("UPDATE api_keys SET last_used_at = ");
        q.push_bind(at.0).push(" WHERE id IN ");
        push_list(&mut q, key_ids);
        q.build().execute(&self.write).await?;
        Ok(())
    }

    /// Creates the key's identity, its roles or memberships, the key and its audit entry, in
    /// one transaction.
    pub async fn insert_key(&self, new: NewKey<'_>, audit: Audit<'_>) -> StoreResult<ApiKey> {
        let now = Timestamp::now();
        let name_key = text::name_key(new.description);
        let mut tx = self.write.begin().await?;
        let scope = NameScope {
            name_key: &name_key,
            project_id: new.project_id,
            visibility: new.visibility,
            owner_id: new.owner_id,
        };
        if name_taken(&mut tx, &scope, None, now).await? {
            return Err(StoreError::NameTaken);
        }
        let identity_id = uuid::Uuid::new_v4().to_string();
        sqlx::query("INSERT INTO identities (id, description, created_at) VALUES (?, ?, ?)")
            .bind(&identity_id)
            .bind(new.description)
            .bind(now.0)
            .execute(&mut *tx)
            .await?;
        for role in new.global_roles {
            sqlx::query("INSERT OR IGNORE INTO identity_roles (identity_id, role) VALUES (?, ?)")
                .bind(&identity_id)
                .bind(role)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(project_id) = new.project_id {
            insert_memberships(&mut tx, project_id, &identity_id, new.memberships).await?;
        }
        let id = uuid::Uuid::new_v4().to_string();
        sqlx::query(
            "INSERT INTO api_keys (id, identity_id, description, name_key, project_id, token_hash, \
             token_prefix, enabled, created_at, expires_at, can_read, can_write, visibility, owner_id) \
             VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&id)
        .bind(&identity_id)
        .bind(new.description)
        .bind(&name_key)
        .bind(new.project_id)
        .bind(new.token_hash)
        .bind(new.token_prefix)
        .bind(now.0)
        .bind(new.expires_at.map(|t| t.0))
        .bind(new.permissions.contains(&Permission::Read))
        .bind(new.permissions.contains(&Permission::Write))
        .bind(new.visibility.as_str())
        .bind(new.owner_id)
        .execute(&mut *tx)
        .await?;
        let key = key_in(&mut tx, &id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("the new key vanished".into()))?;
        insert_audit(&mut tx, audit, Some(&id), "OK", None).await?;
        tx.commit().await?;
        self.changed();
        Ok(key)
    }

    /// Enables or disables a key, with its audit entries, in one transaction.
    ///
    /// Enabling checks the name is still free in its scope. Disabling also disables, at any
    /// depth, the enabled personal keys the key created (they would otherwise outlive the key
    /// that vouched for them); their ids come back in [`Toggled::cascaded`]. Either way the
    /// change is refused with [`StoreError::LastSuperAdmin`] if it would leave no enabled
    /// super admin key that never expires.
    pub async fn set_key_enabled(
        &self,
        id: &str,
        enabled: bool,
        audit: Audit<'_>,
    ) -> StoreResult<Option<Toggled>> {
        let now = Timestamp::now();
        let mut tx = self.write.begin().await?;
        let Some(key) = key_in(&mut tx, id).await? else {
            return Ok(None);
        };
        if key.enabled == enabled {
            insert_audit(&mut tx, audit, Some(id), "OK", Some("no change")).await?;
            tx.commit().await?;
            self.changed();
            return Ok(Some(Toggled {
                key,
                cascaded: Vec::new(),
            }));
        }
        if enabled {
            let scope = NameScope {
                name_key: &text::name_key(&key.description),
                project_id: key.project_id.as_deref(),
                visibility: key.visibility,
                owner_id: key.owner_id.as_deref(),
            };
            if name_taken(&mut tx, &scope, Some(id), now).await? {
                return Err(StoreError::NameTaken);
            }
        }
        sqlx::query("UPDATE api_keys SET enabled = ?, disabled_at = ? WHERE id = ?")
            .bind(enabled)
            .bind((!enabled).then_some(now.0))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let cascaded = if enabled {
            Vec::new()
        } else {
            disable_created_keys(&mut tx, &key.identity_id, now).await?
        };
        if !enabled && lasting_super_admins(&mut tx).await? == 0 {
            return Err(StoreError::LastSuperAdmin);
        }
        insert_audit(&mut tx, audit, Some(id), "OK", None).await?;
        for child in &cascaded {
            let why = format!("disabled with {id}, the key that created it");
            insert_audit(&mut tx, audit, Some(child), "OK", Some(&why)).await?;
        }
        let key = key_in(&mut tx, id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("the key vanished".into()))?;
        tx.commit().await?;
        self.changed();
        Ok(Some(Toggled { key, cascaded }))
    }

    /// A page of keys in creation order, after the key with sequence number `after`.
    pub async fn list_keys(
        &self,
        scope: &KeyScope,
        filter: &ApiKeyFilter,
        after: Option<i64>,
        limit: i64,
    ) -> StoreResult<Page<ApiKey>> {
        let mut q = QueryBuilder::<Sqlite>::new(format!(
            "SELECT {KEY_COLUMNS} FROM api_keys k WHERE 1 = 1"
        ));
        push_key_conditions(&mut q, scope, filter);
        if let Some(after) = after {
            q.push(" AND k.seq > ").push_bind(after);
        }
        q.push(" ORDER BY k.seq LIMIT ").push_bind(limit + 1);
        let rows = q.build().fetch_all(&self.read).await?;
        page(
            rows.iter().map(key_from_row).collect::<StoreResult<_>>()?,
            limit,
        )
    }

    pub async fn count_keys(&self, scope: &KeyScope, filter: &ApiKeyFilter) -> StoreResult<i64> {
        let mut q = QueryBuilder::<Sqlite>::new("SELECT COUNT(*) FROM api_keys k WHERE 1 = 1");
        push_key_conditions(&mut q, scope, filter);
        Ok(q.build_query_scalar().fetch_one(&self.read).await?)
    }

    // ---- identities -------------------------------------------------------------------

    pub async fn identity(&self, id: &str) -> StoreResult<Option<Identity>> {
        let row =
            sqlx::query("SELECT seq, id, description, created_at FROM identities WHERE id = ?")
                .bind(id)
                .fetch_optional(&self.read)
                .await?;
        row.as_ref().map(identity_from_row).transpose()
    }

    pub async fn list_identities(
        &self,
        filter: &IdentityFilter,
        after: Option<i64>,
        limit: i64,
    ) -> StoreResult<Page<Identity>> {
        let mut q = QueryBuilder::<Sqlite>::new(
            "SELECT i.seq, i.id, i.description, i.created_at FROM identities i WHERE 1 = 1",
        );
        push_identity_conditions(&mut q, filter);
        if let Some(after) = after {
            q.push(" AND i.seq > ").push_bind(after);
        }
        q.push(" ORDER BY i.seq LIMIT ").push_bind(limit + 1);
        let rows = q.build().fetch_all(&self.read).await?;
        page(
            rows.iter()
                .map(identity_from_row)
                .collect::<StoreResult<_>>()?,
            limit,
        )
    }

    pub async fn count_identities(&self, filter: &IdentityFilter) -> StoreResult<i64> {
        let mut q = QueryBuilder::<Sqlite>::new("SELECT COUNT(*) FROM identities i WHERE 1 = 1");
        push_identity_conditions(&mut q, filter);
        Ok(q.build_query_scalar().fetch_one(&self.read).await?)
    }

    pub async fn global_roles(&self, identity_id: &str) -> StoreResult<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT role FROM identity_roles WHERE identity_id = ? ORDER BY role",
        )
        .bind(identity_id)
        .fetch_all(&self.read)
        .await?)
    }

    /// Adds (`grant = true`) or removes global roles, with the audit entry, in one
    /// transaction; returns false if the identity is unknown. Refused with
    /// [`StoreError::LastSuperAdmin`] if it would leave no enabled super admin key that never
    /// expires.
    pub async fn change_global_roles(
        &self,
        identity_id: &str,
        roles: &[String],
        grant: bool,
        audit: Audit<'_>,
    ) -> StoreResult<bool> {
        let mut tx = self.write.begin().await?;
        let exists: Option<i64> = sqlx::query_scalar("SELECT seq FROM identities WHERE id = ?")
            .bind(identity_id)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Ok(false);
        }
        let sql = if grant {
            "INSERT OR IGNORE INTO identity_roles (identity_id, role) VALUES (?, ?)"
        } else {
            "DELETE FROM identity_roles WHERE identity_id = ? AND role = ?"
        };
        for role in roles {
            sqlx::query(sql)
                .bind(identity_id)
                .bind(role)
                .execute(&mut *tx)
                .await?;
        }
        if !grant && lasting_super_admins(&mut tx).await? == 0 {
            return Err(StoreError::LastSuperAdmin);
        }
        insert_audit(&mut tx, audit, Some(identity_id), "OK", None).await?;
        tx.commit().await?;
        self.changed();
        Ok(true)
    }

    /// Every project membership of an identity, grouped by project id.
    pub async fn memberships_of(
        &self,
        identity_id: &str,
    ) -> StoreResult<Vec<(String, Vec<Membership>)>> {
        let rows = sqlx::query(
            "SELECT project_id, role, variables FROM memberships WHERE identity_id = ? \
             ORDER BY project_id, role",
        )
        .bind(identity_id)
        .fetch_all(&self.read)
        .await?;
        group_memberships(&rows, "project_id")
    }

    // ---- projects ---------------------------------------------------------------------

    /// Creates a project, its role definitions and the audit entry, in one transaction.
    pub async fn create_project(
        &self,
        slug: &str,
        name: &str,
        roles: &[RoleDefinitionInput],
        audit: Audit<'_>,
    ) -> StoreResult<Project> {
        let now = Timestamp::now();
        let mut tx = self.write.begin().await?;
        let taken: Option<i64> = sqlx::query_scalar("SELECT seq FROM projects WHERE slug = ?")
            .bind(slug)
            .fetch_optional(&mut *tx)
            .await?;
        if taken.is_some() {
            return Err(StoreError::AlreadyExists);
        }
        let id = uuid::Uuid::new_v4().to_string();
        sqlx::query("INSERT INTO projects (id, slug, name, created_at) VALUES (?, ?, ?, ?)")
            .bind(&id)
            .bind(slug)
            .bind(name)
            .bind(now.0)
            .execute(&mut *tx)
            .await?;
        for role in roles {
            let variables = serde_json::to_string(&role.variables)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            sqlx::query("INSERT INTO project_roles (project_id, name, variables) VALUES (?, ?, ?)")
                .bind(&id)
                .bind(&role.name)
                .bind(variables)
                .execute(&mut *tx)
                .await?;
        }
        insert_audit(&mut tx, audit, Some(&id), "OK", None).await?;
        tx.commit().await?;
        Ok(Project {
            id,
            slug: slug.to_owned(),
            name: name.to_owned(),
            created_at: now,
        })
    }

    pub async fn projects(&self) -> StoreResult<Vec<Project>> {
        let rows = sqlx::query("SELECT id, slug, name, created_at FROM projects ORDER BY slug")
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(project_from_row).collect()
    }

    pub async fn project_by_slug(&self, slug: &str) -> StoreResult<Option<Project>> {
        let row = sqlx::query("SELECT id, slug, name, created_at FROM projects WHERE slug = ?")
            .bind(slug)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(project_from_row).transpose()
    }

    pub async fn project_by_id(&self, id: &str) -> StoreResult<Option<Project>> {
        let row = sqlx::query("SELECT id, slug, name, created_at FROM projects WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(project_from_row).transpose()
    }

    pub async fn project_roles(&self, project_id: &str) -> StoreResult<Vec<RoleDefinition>> {
        let rows = sqlx::query(
            "SELECT name, variables FROM project_roles WHERE project_id = ? ORDER BY name",
        )
        .bind(project_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| {
                let names: Vec<String> = parse_json(row.try_get("variables")?)?;
                Ok(RoleDefinition {
                    name: row.try_get("name")?,
                    variables: names
                        .into_iter()
                        .map(|name| RoleVariable { name })
                        .collect(),
                })
            })
            .collect()
    }

    /// The first `limit` members of a project: identity id and its memberships, in identity
    /// order.
    pub async fn project_members(
        &self,
        project_id: &str,
        limit: usize,
    ) -> StoreResult<Vec<(String, Vec<Membership>)>> {
        let rows = sqlx::query(
            "SELECT identity_id, role, variables FROM memberships WHERE project_id = ? \
             AND identity_id IN (SELECT DISTINCT identity_id FROM memberships \
             WHERE project_id = ? ORDER BY identity_id LIMIT ?) \
             ORDER BY identity_id, role",
        )
        .bind(project_id)
        .bind(project_id)
        .bind(limit as i64)
        .fetch_all(&self.read)
        .await?;
        group_memberships(&rows, "identity_id")
    }

    /// Replaces an identity's memberships in a project (an empty list removes the member),
    /// with the audit entry, in one transaction.
    pub async fn set_memberships(
        &self,
        project_id: &str,
        identity_id: &str,
        memberships: &[Membership],
        audit: Audit<'_>,
    ) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        sqlx::query("DELETE FROM memberships WHERE project_id = ? AND identity_id = ?")
            .bind(project_id)
            .bind(identity_id)
            .execute(&mut *tx)
            .await?;
        insert_memberships(&mut tx, project_id, identity_id, memberships).await?;
        insert_audit(&mut tx, audit, Some(identity_id), "OK", None).await?;
        tx.commit().await?;
        self.changed();
        Ok(())
    }

    /// The first `limit` keys of a project in `scope`, oldest first.
    pub async fn project_keys(
        &self,
        scope: &KeyScope,
        project_id: &str,
        limit: usize,
    ) -> StoreResult<Vec<ApiKey>> {
        let mut q = QueryBuilder::<Sqlite>::new(format!(
            "SELECT {KEY_COLUMNS} FROM api_keys k WHERE k.project_id = "
        ));
        q.push_bind(project_id);
        push_scope(&mut q, scope);
        q.push(" ORDER BY k.seq LIMIT ").push_bind(limit as i64);
        let rows = q.build().fetch_all(&self.read).await?;
        rows.iter().map(key_from_row).collect()
    }

    // ---- audit ------------------------------------------------------------------------

    /// Records a mutation that changed nothing (a refusal or a failure). Changes record
    /// theirs inside their own transaction.
    pub async fn append_audit(
        &self,
        audit: Audit<'_>,
        target: Option<&str>,
        outcome: &str,
        detail: Option<&str>,
    ) -> StoreResult<()> {
        let mut conn = self.write.acquire().await?;
        insert_audit(&mut conn, audit, target, outcome, detail).await
    }

    /// The audit log, newest first, before the entry with sequence number `before`.
    pub async fn audit_log(
        &self,
        before: Option<i64>,
        limit: i64,
    ) -> StoreResult<Page<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT seq, at, actor_id, action, target, outcome, detail FROM audit_log \
             WHERE seq < ? ORDER BY seq DESC LIMIT ?",
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

    // ---- batches, for the relation loaders ----------------------------------------------

    /// Identities by id (those that exist).
    pub async fn identities_by_ids(&self, ids: &[String]) -> StoreResult<Vec<Identity>> {
        let mut q = QueryBuilder::<Sqlite>::new(
            "SELECT seq, id, description, created_at FROM identities WHERE id IN ",
        );
        push_list(&mut q, ids);
        let rows = q.build().fetch_all(&self.read).await?;
        rows.iter().map(identity_from_row).collect()
    }

    /// Projects by id (those that exist).
    pub async fn projects_by_ids(&self, ids: &[String]) -> StoreResult<Vec<Project>> {
        let mut q = QueryBuilder::<Sqlite>::new(
            "SELECT id, slug, name, created_at FROM projects WHERE id IN ",
        );
        push_list(&mut q, ids);
        let rows = q.build().fetch_all(&self.read).await?;
        rows.iter().map(project_from_row).collect()
    }

    /// The keys of these identities (each identity has at most one).
    pub async fn keys_of_identities(&self, identity_ids: &[String]) -> StoreResult<Vec<ApiKey>> {
        let mut q = QueryBuilder::<Sqlite>::new(format!(
            "SELECT {KEY_COLUMNS} FROM api_keys k WHERE k.identity_id IN "
        ));
        push_list(&mut q, identity_ids);
        let rows = q.build().fetch_all(&self.read).await?;
        rows.iter().map(key_from_row).collect()
    }

    /// Global roles of these identities, as (identity id, role) in role order.
    pub async fn roles_of_identities(
        &self,
        identity_ids: &[String],
    ) -> StoreResult<Vec<(String, String)>> {
        let mut q = QueryBuilder::<Sqlite>::new(
            "SELECT identity_id, role FROM identity_roles WHERE identity_id IN ",
        );
        push_list(&mut q, identity_ids);
        q.push(" ORDER BY identity_id, role");
        let rows = q.build().fetch_all(&self.read).await?;
        rows.iter()
            .map(|row| Ok((row.try_get("identity_id")?, row.try_get("role")?)))
            .collect()
    }

    /// Memberships of these identities, as (identity id, project id, membership) in project
    /// and role order.
    pub async fn memberships_of_identities(
        &self,
        identity_ids: &[String],
    ) -> StoreResult<Vec<(String, String, Membership)>> {
        let mut q = QueryBuilder::<Sqlite>::new(
            "SELECT identity_id, project_id, role, variables FROM memberships WHERE identity_id IN ",
        );
        push_list(&mut q, identity_ids);
        q.push(" ORDER BY identity_id, project_id, role");
        let rows = q.build().fetch_all(&self.read).await?;
        rows.iter()
            .map(|row| {
                Ok((
                    row.try_get("identity_id")?,
                    row.try_get("project_id")?,
                    Membership {
                        role: row.try_get("role")?,
                        variables: parse_json(row.try_get("variables")?)?,
                    },
                ))
            })
            .collect()
    }

    /// Role definitions of these projects, as (project id, definition) in name order.
    pub async fn roles_of_projects(
        &self,
        project_ids: &[String],
    ) -> StoreResult<Vec<(String, RoleDefinition)>> {
        let mut q = QueryBuilder::<Sqlite>::new(
            "SELECT project_id, name, variables FROM project_roles WHERE project_id IN ",
        );
        push_list(&mut q, project_ids);
        q.push(" ORDER BY project_id, name");
        let rows = q.build().fetch_all(&self.read).await?;
        rows.iter()
            .map(|row| {
                let names: Vec<String> = parse_json(row.try_get("variables")?)?;
                Ok((
                    row.try_get("project_id")?,
                    RoleDefinition {
                        name: row.try_get("name")?,
                        variables: names
                            .into_iter()
                            .map(|name| RoleVariable { name })
                            .collect(),
                    },
                ))
            })
            .collect()
    }

    /// Raw access for tests and tools that inspect what is stored (e.g. "no plaintext token").
    pub fn read_pool(&self) -> &SqlitePool {
        &self.read
    }
}

/// A key's record, read inside a transaction.
async fn key_in(conn: &mut SqliteConnection, id: &str) -> StoreResult<Option<ApiKey>> {
    let sql = format!("SELECT {KEY_COLUMNS} FROM api_keys k WHERE k.id = ?");
    let row = sqlx::query(&sql).bind(id).fetch_optional(conn).await?;
    row.as_ref().map(key_from_row).transpose()
}

/// Where a key's name must be unique: org-wide names among the org-wide keys of their scope
/// (global or one project), personal names among their owner's personal keys of that scope.
/// So a personal key can neither squat an org-wide name nor be revealed by a NAME_TAKEN.
struct NameScope<'a> {
    /// [`text::name_key`] of the name: trimmed, NFC, lowercase.
    name_key: &'a str,
    project_id: Option<&'a str>,
    visibility: Visibility,
    owner_id: Option<&'a str>,
}

async fn name_taken(
    conn: &mut SqliteConnection,
    scope: &NameScope<'_>,
    except_id: Option<&str>,
    now: Timestamp,
) -> StoreResult<bool> {
    let owner = match scope.visibility {
        Visibility::Personal => scope.owner_id,
        Visibility::OrgWide => None,
    };
    let hit: Option<i64> = sqlx::query_scalar(
        "SELECT seq FROM api_keys WHERE name_key = ? AND project_id IS ? AND visibility = ? \
         AND (visibility = 'ORG_WIDE' OR owner_id IS ?) AND enabled = 1 \
         AND (expires_at IS NULL OR expires_at > ?) AND id IS NOT ? LIMIT 1",
    )
    .bind(scope.name_key)
    .bind(scope.project_id)
    .bind(scope.visibility.as_str())
    .bind(owner)
    .bind(now.0)
    .bind(except_id)
    .fetch_optional(conn)
    .await?;
    Ok(hit.is_some())
}

/// Disables the enabled personal keys created by `identity_id`, and theirs, at any depth.
/// Returns their ids.
async fn disable_created_keys(
    conn: &mut SqliteConnection,
    identity_id: &str,
    now: Timestamp,
) -> StoreResult<Vec<String>> {
    let mut creators = vec![identity_id.to_owned()];
    let mut disabled = Vec::new();
    while let Some(creator) = creators.pop() {
        let rows = sqlx::query(
            "UPDATE api_keys SET enabled = 0, disabled_at = ? \
             WHERE owner_id = ? AND visibility = 'PERSONAL' AND enabled = 1 \
             RETURNING id, identity_id",
        )
        .bind(now.0)
        .bind(&creator)
        .fetch_all(&mut *conn)
        .await?;
        for row in rows {
            disabled.push(row.try_get("id")?);
            creators.push(row.try_get("identity_id")?);
        }
    }
    Ok(disabled)
}

/// How many enabled keys hold `super_admin` and never expire: the keys that keep the service
/// administrable. Changes that would bring this to zero are refused.
async fn lasting_super_admins(conn: &mut SqliteConnection) -> StoreResult<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM api_keys k JOIN identity_roles r ON r.identity_id = k.identity_id \
         WHERE r.role = 'super_admin' AND k.enabled = 1 AND k.expires_at IS NULL",
    )
    .fetch_one(conn)
    .await?)
}

/// Writes one audit entry, cutting an oversized target or detail.
async fn insert_audit(
    conn: &mut SqliteConnection,
    audit: Audit<'_>,
    target: Option<&str>,
    outcome: &str,
    detail: Option<&str>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO audit_log (at, actor_id, action, target, outcome, detail) \
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(Timestamp::now().0)
    .bind(audit.actor_id)
    .bind(audit.action)
    .bind(target.map(|t| cut(t, MAX_AUDIT_TARGET_BYTES)))
    .bind(outcome)
    .bind(detail.map(|d| cut(d, MAX_AUDIT_DETAIL_BYTES)))
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

async fn insert_memberships(
    conn: &mut SqliteConnection,
    project_id: &str,
    identity_id: &str,
    memberships: &[Membership],
) -> StoreResult<()> {
    for m in memberships {
        let variables =
            serde_json::to_string(&m.variables).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query(
            "INSERT OR REPLACE INTO memberships (project_id, identity_id, role, variables) \
             VALUES (?, ?, ?, ?)",
        )
        .bind(project_id)
        .bind(identity_id)
        .bind(&m.role)
        .bind(variables)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

fn push_scope(q: &mut QueryBuilder<'_, Sqlite>, scope: &KeyScope) {
    if let KeyScope::VisibleTo(identity_id) = scope {
        q.push(" AND (k.visibility = 'ORG_WIDE' OR k.owner_id = ")
            .push_bind(identity_id.clone())
            .push(")");
    }
}

fn push_key_conditions(q: &mut QueryBuilder<'_, Sqlite>, scope: &KeyScope, filter: &ApiKeyFilter) {
    push_scope(q, scope);
    if !filter.include_disabled {
        q.push(" AND k.enabled = 1");
    }
    if !filter.include_expired {
        q.push(" AND (k.expires_at IS NULL OR k.expires_at > ")
            .push_bind(Timestamp::now().0)
            .push(")");
    }
    if let Some(search) = filter.search.as_deref().filter(|s| !s.is_empty()) {
        q.push(" AND ");
        push_search(q, "api_keys_search", "k", search);
    }
    if let Some(prefix) = &filter.id_prefix {
        push_id_prefix(q, "k.id", prefix);
    }
    if let Some(slug) = &filter.project_slug {
        q.push(" AND k.project_id = (SELECT id FROM projects WHERE slug = ")
            .push_bind(slug.clone())
            .push(")");
    }
    match filter.kind {
        Some(ApiKeyType::Global) => {
            q.push(" AND k.project_id IS NULL");
        }
        Some(ApiKeyType::Project) => {
            q.push(" AND k.project_id IS NOT NULL");
        }
        None => {}
    }
    if let Some(visibility) = filter.visibility {
        q.push(" AND k.visibility = ")
            .push_bind(visibility.as_str());
    }
}

/// `alias.description` contains `search`, ignoring case: through the trigram index of
/// `index` when the search has the three characters a trigram needs, by a scan otherwise.
fn push_search(q: &mut QueryBuilder<'_, Sqlite>, index: &str, alias: &str, search: &str) {
    if search.chars().count() >= 3 {
        let phrase = format!("\"{}\"", search.replace('"', "\"\""));
        q.push(format!(
            "{alias}.seq IN (SELECT rowid FROM {index} WHERE {index} MATCH "
        ))
        .push_bind(phrase)
        .push(")");
    } else {
        q.push(format!("instr(lower({alias}.description), lower("))
            .push_bind(search.to_owned())
            .push(")) > 0");
    }
}

/// `column` starts with `prefix`. Compared with `substr`, not `LIKE`, so `%` and `_` in what
/// a user typed match only themselves; ids are lower-case, so the prefix is lowered too.
fn push_id_prefix(q: &mut QueryBuilder<'_, Sqlite>, column: &'static str, prefix: &str) {
    let prefix = prefix.to_lowercase();
    q.push(" AND substr(")
        .push(column)
        .push(", 1, ")
        .push_bind(i64::try_from(prefix.chars().count()).unwrap_or(i64::MAX))
        .push(") = ")
        .push_bind(prefix);
}

fn push_identity_conditions(q: &mut QueryBuilder<'_, Sqlite>, filter: &IdentityFilter) {
    if let Some(search) = filter.search.as_deref().filter(|s| !s.is_empty()) {
        q.push(" AND (");
        push_search(q, "identities_search", "i", search);
        q.push(" OR i.id = ").push_bind(search.to_owned()).push(")");
    }
    if let Some(prefix) = &filter.id_prefix {
        push_id_prefix(q, "i.id", prefix);
    }
    if let Some(role) = &filter.role {
        q.push(
            " AND EXISTS (SELECT 1 FROM identity_roles r WHERE r.identity_id = i.id AND r.role = ",
        )
        .push_bind(role.clone())
        .push(")");
    }
}

/// `(?, ?, …)` with `values` bound; `(NULL)` for none, which matches nothing.
fn push_list(q: &mut QueryBuilder<'_, Sqlite>, values: &[String]) {
    if values.is_empty() {
        q.push("(NULL)");
        return;
    }
    q.push("(");
    let mut list = q.separated(", ");
    for value in values {
        list.push_bind(value.clone());
    }
    list.push_unseparated(")");
}

fn page<T>(mut items: Vec<T>, limit: i64) -> StoreResult<Page<T>> {
    let limit = usize::try_from(limit).map_err(|_| StoreError::Corrupt("negative limit".into()))?;
    let has_next = items.len() > limit;
    items.truncate(limit);
    Ok(Page { items, has_next })
}

fn parse_json<T: serde::de::DeserializeOwned>(text: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn group_memberships(rows: &[SqliteRow], key: &str) -> StoreResult<Vec<(String, Vec<Membership>)>> {
    let mut out: Vec<(String, Vec<Membership>)> = Vec::new();
    for row in rows {
        let owner: String = row.try_get(key)?;
        let membership = Membership {
            role: row.try_get("role")?,
            variables: parse_json(row.try_get("variables")?)?,
        };
        match out.last_mut() {
            Some((last, list)) if *last == owner => list.push(membership),
            _ => out.push((owner, vec![membership])),
        }
    }
    Ok(out)
}

fn key_from_row(row: &SqliteRow) -> StoreResult<ApiKey> {
    let project_id: Option<String> = row.try_get("project_id")?;
    let mut permissions = Vec::new();
    if row.try_get::<bool, _>("can_read")? {
        permissions.push(Permission::Read);
    }
    if row.try_get::<bool, _>("can_write")? {
        permissions.push(Permission::Write);
    }
    Ok(ApiKey {
        seq: row.try_get("seq")?,
        id: row.try_get("id")?,
        kind: if project_id.is_some() {
            ApiKeyType::Project
        } else {
            ApiKeyType::Global
        },
        description: row.try_get("description")?,
        enabled: row.try_get("enabled")?,
        created_at: Timestamp(row.try_get("created_at")?),
        last_used_at: row
            .try_get::<Option<i64>, _>("last_used_at")?
            .map(Timestamp),
        expires_at: row.try_get::<Option<i64>, _>("expires_at")?.map(Timestamp),
        disabled_at: row.try_get::<Option<i64>, _>("disabled_at")?.map(Timestamp),
        permissions,
        visibility: Visibility::from_db(row.try_get("visibility")?),
        token_prefix: row.try_get("token_prefix")?,
        identity_id: row.try_get("identity_id")?,
        project_id,
        owner_id: row.try_get("owner_id")?,
    })
}

fn identity_from_row(row: &SqliteRow) -> StoreResult<Identity> {
    Ok(Identity {
        seq: row.try_get("seq")?,
        id: row.try_get("id")?,
        description: row.try_get("description")?,
        created_at: Timestamp(row.try_get("created_at")?),
    })
}

fn project_from_row(row: &SqliteRow) -> StoreResult<Project> {
    Ok(Project {
        id: row.try_get("id")?,
        slug: row.try_get("slug")?,
        name: row.try_get("name")?,
        created_at: Timestamp(row.try_get("created_at")?),
    })
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
