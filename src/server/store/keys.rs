//! API keys: lookup by token, creation with their identity, enabling and disabling (with the
//! cascade to the keys they created), listings.

use std::collections::HashMap;

use sqlx::{AnyConnection, Row};

use crate::server::model::{
    ApiKey, ApiKeyFilter, ApiKeyType, KeyAuthority, Permission, Timestamp, Visibility,
};
use crate::{text, token};

use super::audit::insert_audit;
use super::order::{KeyOrder, KeyPosition};
use super::projects::insert_memberships;
use super::sql::{Backend, Records, Sql};
use super::{Audit, NewKey, Page, Store, StoreError, StoreResult, Toggled, VisibleKeys};

const KEY_COLUMNS: &str = "k.seq, k.id, k.identity_id, k.description, k.project_id, \
    k.token_prefix, k.enabled, k.created_at, k.last_used_at, k.expires_at, k.disabled_at, \
    k.can_read, k.can_write, k.visibility, k.owner_id, k.disabled_by, k.disabled_as, \
    k.rotated_from, k.rotated_to";

impl Store {
    pub async fn key_by_token_hash(&self, token_hash: &str) -> StoreResult<Option<ApiKey>> {
        let mut q = select_keys(self.backend);
        q.push("k.token_hash = ").bind(token_hash.to_owned());
        fetch_key(q, &self.read).await
    }

    pub async fn key(&self, id: &str) -> StoreResult<Option<ApiKey>> {
        let mut q = select_keys(self.backend);
        q.push("k.id = ").bind(id.to_owned());
        fetch_key(q, &self.read).await
    }

    pub async fn key_of_identity(&self, identity_id: &str) -> StoreResult<Option<ApiKey>> {
        let mut q = select_keys(self.backend);
        q.push("k.identity_id = ").bind(identity_id.to_owned());
        fetch_key(q, &self.read).await
    }

    /// Records the use of these keys at `at`, in one statement (callers gather the keys used
    /// over an interval).
    pub async fn touch_last_used(&self, key_ids: &[String], at: Timestamp) -> StoreResult<()> {
        if key_ids.is_empty() {
            return Ok(());
        }
        let mut q = Sql::new("UPDATE api_keys SET last_used_at = ");
        q.bind(at.0).push(" WHERE id IN ").list(key_ids);
        q.query()?.execute(&self.write).await?;
        Ok(())
    }

    /// Creates the key's identity, its roles or memberships, the key and its audit entry, in
    /// one transaction.
    pub async fn insert_key(&self, new: NewKey<'_>, audit: Audit<'_>) -> StoreResult<ApiKey> {
        let now = Timestamp::now();
        let mut tx = self.begin().await?;
        let scope = NameScope {
            name_key: &text::name_key(new.description),
            project_id: new.project_id,
            visibility: new.visibility,
            owner_id: new.owner_id,
        };
        if name_taken(&mut tx, &scope, None, now).await? {
            return Err(StoreError::NameTaken);
        }
        let id = insert_key_in(&mut tx, &new, now).await?;
        let key = key_in(&mut tx, self.backend, &id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("the new key vanished".into()))?;
        insert_audit(&mut tx, audit, Some(&id), "OK", None).await?;
        self.commit_change(tx).await?;
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
        authority: KeyAuthority,
        audit: Audit<'_>,
    ) -> StoreResult<Option<Toggled>> {
        let now = Timestamp::now();
        let mut tx = self.begin().await?;
        let Some(key) = key_in(&mut tx, self.backend, id).await? else {
            return Ok(None);
        };
        if key.enabled == enabled {
            insert_audit(&mut tx, audit, Some(id), "OK", Some("no change")).await?;
            self.commit_change(tx).await?;
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
        let disabled = Disabled {
            at: now,
            by: audit.actor_id,
            authority,
        };
        sqlx::query(
            "UPDATE api_keys SET enabled = $1, disabled_at = $2, disabled_by = $3, \
             disabled_as = $4 WHERE id = $5",
        )
        .bind(i64::from(enabled))
        .bind((!enabled).then_some(now.0))
        .bind((!enabled).then_some(disabled.by).flatten())
        .bind((!enabled).then_some(authority.as_str()))
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let cascaded = if enabled {
            Vec::new()
        } else {
            disable_created_keys(&mut tx, &key.identity_id, &disabled).await?
        };
        if !enabled && lasting_super_admins(&mut tx).await? == 0 {
            return Err(StoreError::LastSuperAdmin);
        }
        insert_audit(&mut tx, audit, Some(id), "OK", None).await?;
        for child in &cascaded {
            let why = format!("disabled with {id}, the key that created it");
            insert_audit(&mut tx, audit, Some(child), "OK", Some(&why)).await?;
        }
        let key = key_in(&mut tx, self.backend, id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("the key vanished".into()))?;
        self.commit_change(tx).await?;
        Ok(Some(Toggled { key, cascaded }))
    }

    /// A page of keys in creation order, after the key with sequence number `after`.
    pub async fn list_keys(
        &self,
        scope: &VisibleKeys,
        filter: &ApiKeyFilter,
        after: Option<i64>,
        limit: i64,
    ) -> StoreResult<Page<ApiKey>> {
        let from = after.map(KeyPosition::after_seq);
        self.list_keys_in(
            scope,
            filter,
            KeyOrder::default(),
            from.as_ref(),
            false,
            limit,
        )
        .await
    }

    /// A page of `limit` keys in `order`, just after `from` (or from the start); `backward`,
    /// the page just before it (or at the end). Either way in `order`; `has_next` says whether
    /// more lie beyond the page in the direction it was read.
    pub async fn list_keys_in(
        &self,
        scope: &VisibleKeys,
        filter: &ApiKeyFilter,
        order: KeyOrder,
        from: Option<&KeyPosition>,
        backward: bool,
        limit: i64,
    ) -> StoreResult<Page<ApiKey>> {
        let now = Timestamp::now();
        let mut q = select_keys(self.backend);
        q.push("1 = 1");
        push_key_conditions(&mut q, self.backend, scope, filter);
        order.push_page(&mut q, from, backward, limit, now);
        let keys = fetch_keys(q, &self.read).await?;
        order.page(keys, backward, limit, now)
    }

    /// How many keys [`Store::list_keys`] would list over all pages. With no scope or filter
    /// but the disabled and expired switches, from the counters the triggers keep
    /// (`api_key_counts`) less the keys that expired, so it stays cheap at a million keys;
    /// otherwise by counting the matches.
    pub async fn count_keys(&self, scope: &VisibleKeys, filter: &ApiKeyFilter) -> StoreResult<i64> {
        let unnarrowed = matches!(scope, VisibleKeys::All)
            && filter.search.as_deref().is_none_or(str::is_empty)
            && filter.id_prefix.is_none()
            && filter.project_slug.is_none()
            && filter.kind.is_none()
            && filter.visibility.is_none()
            && filter.token_prefix.is_none()
            && filter.token_hash.is_none()
            && filter.created_by.is_none()
            && filter.unused_since.is_none();
        if unnarrowed {
            return self.count_all_keys(filter).await;
        }
        let mut q = Sql::new("SELECT COUNT(*) FROM api_keys k WHERE 1 = 1");
        push_key_conditions(&mut q, self.backend, scope, filter);
        Ok(q.query_scalar()?.fetch_one(&self.read).await?)
    }

    /// [`Store::count_keys`] of every key but the disabled and expired ones (as the switches
    /// say): from the counters the triggers keep, less the keys that expired, with the next
    /// expiry to come. The answer is kept while nothing changed (the store's generation), no key
    /// expired since (the next expiry is still ahead) and within the second it was counted in
    /// (a change made behind the service's back), so a listing page asking for `totalCount`
    /// again and again costs one statement, not two.
    async fn count_all_keys(&self, filter: &ApiKeyFilter) -> StoreResult<i64> {
        let switches = (filter.include_disabled, filter.include_expired);
        let now = Timestamp::now().0;
        // Read before the count: a change committed meanwhile makes the answer stale at once.
        let generation = self.generation();
        if let Some(count) = self.key_counts.get(switches, generation, now) {
            return Ok(count);
        }
        let column = if filter.include_disabled {
            "all_keys"
        } else {
            "enabled_keys"
        };
        // `+` keeps SQLite from walking every enabled key by `api_keys_enabled_seq` instead
        // of the few expiring ones by `api_keys_expiring`.
        let enabled = if filter.include_disabled {
            ""
        } else {
            " AND +k.enabled = 1"
        };
        // One statement, so the counter and the expired keys are of one snapshot.
        let mut q = Sql::new(format!("SELECT c.{column}"));
        if !filter.include_expired {
            q.push(
                " - (SELECT COUNT(*) FROM api_keys k \
                 WHERE k.expires_at IS NOT NULL AND k.expires_at <= ",
            )
            .bind(now)
            .push(enabled)
            .push(")");
        }
        q.push(
            " AS total, (SELECT MIN(k.expires_at) FROM api_keys k \
             WHERE k.expires_at IS NOT NULL AND k.expires_at > ",
        )
        .bind(now)
        .push(enabled)
        .push(") AS next_expiry FROM api_key_counts c WHERE c.id = 1");
        let row = q.query()?.fetch_one(&self.read).await?;
        let total: i64 = row.try_get("total")?;
        let next_expiry: Option<i64> = if filter.include_expired {
            None
        } else {
            row.try_get("next_expiry")?
        };
        self.key_counts.put(
            switches,
            KeptCount {
                generation,
                at: now,
                next_expiry,
                total,
            },
        );
        Ok(total)
    }

    /// The first `limit` keys of a project in `scope`, oldest first.
    pub async fn project_keys(
        &self,
        scope: &VisibleKeys,
        project_id: &str,
        limit: usize,
    ) -> StoreResult<Vec<ApiKey>> {
        let mut q = select_keys(self.backend);
        q.push("k.project_id = ").bind(project_id.to_owned());
        push_scope(&mut q, scope);
        q.push(" ORDER BY k.seq LIMIT ")
            .bind(i64::try_from(limit).unwrap_or(i64::MAX));
        fetch_keys(q, &self.read).await
    }

    /// The keys of these identities (each identity has at most one).
    pub async fn keys_of_identities(&self, identity_ids: &[String]) -> StoreResult<Vec<ApiKey>> {
        let mut q = select_keys(self.backend);
        q.push("k.identity_id IN ").list(identity_ids);
        fetch_keys(q, &self.read).await
    }

    /// The keys with these ids (a rotated key's successor and predecessor).
    pub async fn keys_by_ids(&self, ids: &[String]) -> StoreResult<Vec<ApiKey>> {
        let mut q = select_keys(self.backend);
        q.push("k.id IN ").list(ids);
        fetch_keys(q, &self.read).await
    }
}

/// What [`Store::count_all_keys`] keeps, per pair of switches (disabled, expired included).
#[derive(Default)]
pub(super) struct KeyCounts(std::sync::Mutex<HashMap<(bool, bool), KeptCount>>);

#[derive(Clone, Copy)]
pub(super) struct KeptCount {
    generation: u64,
    /// When it was counted, Unix seconds.
    at: i64,
    /// The first expiry after `at` among the keys counted; none when no key will expire.
    next_expiry: Option<i64>,
    total: i64,
}

impl KeyCounts {
    /// The kept count, if it still holds at `now` (Unix seconds).
    fn get(&self, switches: (bool, bool), generation: u64, now: i64) -> Option<i64> {
        let kept = *self.0.lock().ok()?.get(&switches)?;
        let fresh = kept.generation == generation
            && now <= kept.at
            && kept.next_expiry.is_none_or(|expiry| now < expiry);
        fresh.then_some(kept.total)
    }

    fn put(&self, switches: (bool, bool), count: KeptCount) {
        if let Ok(mut kept) = self.0.lock() {
            kept.insert(switches, count);
        }
    }
}

/// A statement that reads keys ([`Records`]): the caller goes on with the conditions on
/// `api_keys k` (and any order and limit), then [`fetch_keys`] runs it.
fn select_keys(backend: Backend) -> Records {
    Records::select(backend, KEY_COLUMNS, "api_keys", "k", "k.seq")
}

/// Runs a statement begun by [`select_keys`]: the keys it matches, oldest first.
async fn fetch_keys<'c, E>(q: Records, executor: E) -> StoreResult<Vec<ApiKey>>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    q.fetch_into::<KeyRecord, _, _>(executor).await
}

/// Runs a statement begun by [`select_keys`] that matches one key at most.
async fn fetch_key<'c, E>(q: Records, executor: E) -> StoreResult<Option<ApiKey>>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    q.fetch_one_into::<KeyRecord, _, _>(executor).await
}

/// A key as [`select_keys`] gives it: [`KEY_COLUMNS`] in their order.
#[derive(serde::Deserialize, sqlx::FromRow)]
struct KeyRecord(
    i64,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    i64,
    i64,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    i64,
    i64,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

impl From<KeyRecord> for ApiKey {
    fn from(record: KeyRecord) -> Self {
        let KeyRecord(
            seq,
            id,
            identity_id,
            description,
            project_id,
            token_prefix,
            enabled,
            created_at,
            last_used_at,
            expires_at,
            disabled_at,
            can_read,
            can_write,
            visibility,
            owner_id,
            disabled_by,
            disabled_as,
            rotated_from,
            rotated_to,
        ) = record;
        let mut permissions = Vec::new();
        if can_read != 0 {
            permissions.push(Permission::Read);
        }
        if can_write != 0 {
            permissions.push(Permission::Write);
        }
        ApiKey {
            seq,
            id,
            kind: if project_id.is_some() {
                ApiKeyType::Project
            } else {
                ApiKeyType::Global
            },
            description,
            enabled: enabled != 0,
            created_at: Timestamp(created_at),
            last_used_at: last_used_at.map(Timestamp),
            expires_at: expires_at.map(Timestamp),
            disabled_at: disabled_at.map(Timestamp),
            permissions,
            visibility: Visibility::from_db(&visibility),
            token_prefix,
            identity_id,
            project_id,
            owner_id,
            disabled_by,
            disabled_as: disabled_as.as_deref().and_then(KeyAuthority::from_db),
            rotated_from,
            rotated_to,
        }
    }
}

/// Inserts a key, its identity and that identity's roles or memberships on `conn` (inside the
/// caller's transaction, which checked the name); answers the key's id.
pub(super) async fn insert_key_in(
    tx: &mut AnyConnection,
    new: &NewKey<'_>,
    now: Timestamp,
) -> StoreResult<String> {
    let name_key = text::name_key(new.description);
    let identity_id = uuid::Uuid::new_v4().to_string();
    sqlx::query(
        "INSERT INTO identities (id, description, created_at, name_order) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(&identity_id)
    .bind(new.description)
    .bind(now.0)
    .bind(text::name_order(new.description))
    .execute(&mut *tx)
    .await?;
    for role in new.global_roles {
        sqlx::query(
            "INSERT INTO identity_roles (identity_id, role) VALUES ($1, $2) \
             ON CONFLICT DO NOTHING",
        )
        .bind(&identity_id)
        .bind(role)
        .execute(&mut *tx)
        .await?;
    }
    if let Some(project_id) = new.project_id {
        insert_memberships(tx, project_id, &identity_id, new.memberships).await?;
    }
    let id = uuid::Uuid::new_v4().to_string();
    sqlx::query(
        "INSERT INTO api_keys (id, identity_id, description, name_key, project_id, token_hash, \
         token_prefix, enabled, created_at, expires_at, can_read, can_write, visibility, owner_id, \
         name_order) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $9, $10, $11, $12, $13, $14)",
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
    .bind(i64::from(new.permissions.contains(&Permission::Read)))
    .bind(i64::from(new.permissions.contains(&Permission::Write)))
    .bind(new.visibility.as_str())
    .bind(new.owner_id)
    .bind(text::name_order(new.description))
    .execute(&mut *tx)
    .await?;
    Ok(id)
}

/// A key's record, read inside a transaction.
pub(super) async fn key_in(
    conn: &mut AnyConnection,
    backend: Backend,
    id: &str,
) -> StoreResult<Option<ApiKey>> {
    let mut q = select_keys(backend);
    q.push("k.id = ").bind(id.to_owned());
    fetch_key(q, conn).await
}

/// Where a key's name must be unique: org-wide names among the org-wide keys of their scope
/// (global or one project), personal names among their owner's personal keys of that scope.
/// So a personal key can neither squat an org-wide name nor be revealed by a NAME_TAKEN.
/// A rotated key (`rotated_to` set) holds no name: its successor has it, while the rotated one
/// works out its grace period.
///
/// Not a constraint (it depends on expiry, which passes without a write): checked inside the
/// write transaction, which on PostgreSQL holds the store's advisory lock.
struct NameScope<'a> {
    /// [`text::name_key`] of the name: trimmed, NFC, lowercase.
    name_key: &'a str,
    project_id: Option<&'a str>,
    visibility: Visibility,
    owner_id: Option<&'a str>,
}

async fn name_taken(
    conn: &mut AnyConnection,
    scope: &NameScope<'_>,
    except_id: Option<&str>,
    now: Timestamp,
) -> StoreResult<bool> {
    let owner = match scope.visibility {
        Visibility::Personal => scope.owner_id,
        Visibility::OrgWide => None,
    };
    let hit: Option<i64> = sqlx::query_scalar(
        "SELECT seq FROM api_keys WHERE name_key = $1 \
         AND project_id IS NOT DISTINCT FROM $2 AND visibility = $3 \
         AND (visibility = 'ORG_WIDE' OR owner_id IS NOT DISTINCT FROM $4) AND enabled = 1 \
         AND (expires_at IS NULL OR expires_at > $5) AND id IS DISTINCT FROM $6 \
         AND rotated_to IS NULL LIMIT 1",
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
/// When, by whom and with which authority keys are being disabled.
struct Disabled<'a> {
    at: Timestamp,
    by: Option<&'a str>,
    authority: KeyAuthority,
}

async fn disable_created_keys(
    conn: &mut AnyConnection,
    identity_id: &str,
    disabled: &Disabled<'_>,
) -> StoreResult<Vec<String>> {
    let mut creators = vec![identity_id.to_owned()];
    let mut done = Vec::new();
    while let Some(creator) = creators.pop() {
        let rows = sqlx::query(
            "UPDATE api_keys SET enabled = 0, disabled_at = $1, disabled_by = $2, \
             disabled_as = $3 \
             WHERE owner_id = $4 AND visibility = 'PERSONAL' AND enabled = 1 \
             RETURNING id, identity_id",
        )
        .bind(disabled.at.0)
        .bind(disabled.by)
        .bind(disabled.authority.as_str())
        .bind(&creator)
        .fetch_all(&mut *conn)
        .await?;
        for row in rows {
            done.push(row.try_get("id")?);
            creators.push(row.try_get("identity_id")?);
        }
    }
    Ok(done)
}

/// How many enabled keys hold `super_admin` and never expire: the keys that keep the service
/// administrable. Changes that would bring this to zero are refused.
pub(super) async fn lasting_super_admins(conn: &mut AnyConnection) -> StoreResult<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM api_keys k JOIN identity_roles r ON r.identity_id = k.identity_id \
         WHERE r.role = 'super_admin' AND k.enabled = 1 AND k.expires_at IS NULL",
    )
    .fetch_one(conn)
    .await?)
}

fn push_scope(q: &mut Sql, scope: &VisibleKeys) {
    if let VisibleKeys::VisibleTo(identity_id) = scope {
        q.push(" AND (k.visibility = 'ORG_WIDE' OR k.owner_id = ")
            .bind(identity_id.clone())
            .push(")");
    }
}

fn push_key_conditions(q: &mut Sql, backend: Backend, scope: &VisibleKeys, filter: &ApiKeyFilter) {
    push_scope(q, scope);
    if !filter.include_disabled {
        q.push(" AND k.enabled = 1");
    }
    if !filter.include_expired {
        q.push(" AND (k.expires_at IS NULL OR k.expires_at > ")
            .bind(Timestamp::now().0)
            .push(")");
    }
    if let Some(search) = filter.search.as_deref().filter(|s| !s.is_empty()) {
        q.push(" AND (");
        backend.push_search(q, "api_keys_search", "k", search);
        // What an incident starts with: a token's printed prefix finds its key.
        if search.starts_with(token::PREFIX) {
            q.push(" OR (1 = 1");
            push_token_prefix(q, backend, search);
            q.push(")");
        }
        q.push(")");
    }
    if let Some(prefix) = &filter.token_prefix {
        push_token_prefix(q, backend, prefix);
    }
    if let Some(hash) = &filter.token_hash {
        q.push(" AND k.token_hash = ")
            .bind(hash.trim().to_ascii_lowercase());
    }
    if let Some(creator) = &filter.created_by {
        if filter.created_by_deep {
            // The start is cast: PostgreSQL cannot type a bare parameter in a recursive CTE,
            // and wants the ids' own collation on both sides of the UNION.
            let collation = match backend {
                Backend::Postgres => " COLLATE \"C\"",
                Backend::Sqlite => "",
            };
            q.push(" AND k.owner_id IN (WITH RECURSIVE below (identity_id) AS (SELECT CAST(")
                .bind(creator.clone())
                .push(&format!(
                    " AS TEXT){collation} UNION SELECT b.identity_id FROM api_keys b JOIN below ON b.owner_id = \
                 below.identity_id) SELECT identity_id FROM below)"
                ));
        } else {
            q.push(" AND k.owner_id = ").bind(creator.clone());
        }
    }
    if let Some(prefix) = &filter.id_prefix {
        backend.push_id_prefix(q, "k.id", prefix);
    }
    if let Some(slug) = &filter.project_slug {
        q.push(" AND k.project_id = (SELECT id FROM projects WHERE slug = ")
            .bind(slug.clone())
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
            .bind(visibility.as_str().to_owned());
    }
    if let Some(since) = filter.unused_since {
        // `last_used_at IS NULL OR last_used_at < since`, written as the expression the
        // index `api_keys_by_last_use` holds (never used is -1), so that it serves it.
        q.push(" AND COALESCE(k.last_used_at, -1) < ")
            .bind(i64::from(since));
    }
}

/// ` AND` the key's token starts with `prefix`: its printed prefix equals the start of a
/// longer text (indexed), or starts with a shorter one.
fn push_token_prefix(q: &mut Sql, backend: Backend, prefix: &str) {
    let prefix = prefix.trim();
    let printed = token::PREFIX.len() + token::PRINTED_RANDOM_CHARS;
    if prefix.chars().count() >= printed {
        let head: String = prefix.chars().take(printed).collect();
        q.push(" AND k.token_prefix = ").bind(head);
    } else {
        backend.push_starts_with(q, "k.token_prefix", prefix);
    }
}
