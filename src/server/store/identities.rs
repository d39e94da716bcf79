//! Identities and their global roles.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::server::model::{Identity, IdentityFilter};

use super::audit::insert_audit;
use super::keys::lasting_super_admins;
use super::sql::{Backend, Sql};
use super::{Audit, Page, Store, StoreError, StoreResult, page};

impl Store {
    pub async fn identity(&self, id: &str) -> StoreResult<Option<Identity>> {
        let row =
            sqlx::query("SELECT seq, id, description, created_at FROM identities WHERE id = $1")
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
        let mut q = Sql::new(
            "SELECT i.seq, i.id, i.description, i.created_at FROM identities i WHERE 1 = 1",
        );
        push_identity_conditions(&mut q, self.backend, filter);
        if let Some(after) = after {
            q.push(" AND i.seq > ").bind(after);
        }
        q.push(" ORDER BY i.seq LIMIT ").bind(limit + 1);
        let rows = q.query()?.fetch_all(&self.read).await?;
        page(
            rows.iter()
                .map(identity_from_row)
                .collect::<StoreResult<_>>()?,
            limit,
        )
    }

    pub async fn count_identities(&self, filter: &IdentityFilter) -> StoreResult<i64> {
        let mut q = Sql::new("SELECT COUNT(*) FROM identities i WHERE 1 = 1");
        push_identity_conditions(&mut q, self.backend, filter);
        Ok(q.query_scalar()?.fetch_one(&self.read).await?)
    }

    pub async fn global_roles(&self, identity_id: &str) -> StoreResult<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT role FROM identity_roles WHERE identity_id = $1 ORDER BY role",
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
        let mut tx = self.begin().await?;
        let exists: Option<i64> = sqlx::query_scalar("SELECT seq FROM identities WHERE id = $1")
            .bind(identity_id)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Ok(false);
        }
        let sql = if grant {
            "INSERT INTO identity_roles (identity_id, role) VALUES ($1, $2) ON CONFLICT DO NOTHING"
        } else {
            "DELETE FROM identity_roles WHERE identity_id = $1 AND role = $2"
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
        self.commit_change(tx).await?;
        Ok(true)
    }

    /// Identities by id (those that exist).
    pub async fn identities_by_ids(&self, ids: &[String]) -> StoreResult<Vec<Identity>> {
        let mut q =
            Sql::new("SELECT seq, id, description, created_at FROM identities WHERE id IN ");
        q.list(ids);
        let rows = q.query()?.fetch_all(&self.read).await?;
        rows.iter().map(identity_from_row).collect()
    }

    /// Global roles of these identities, as (identity id, role) in role order.
    pub async fn roles_of_identities(
        &self,
        identity_ids: &[String],
    ) -> StoreResult<Vec<(String, String)>> {
        let mut q = Sql::new("SELECT identity_id, role FROM identity_roles WHERE identity_id IN ");
        q.list(identity_ids).push(" ORDER BY identity_id, role");
        let rows = q.query()?.fetch_all(&self.read).await?;
        rows.iter()
            .map(|row| Ok((row.try_get("identity_id")?, row.try_get("role")?)))
            .collect()
    }
}

fn push_identity_conditions(q: &mut Sql, backend: Backend, filter: &IdentityFilter) {
    if let Some(search) = filter.search.as_deref().filter(|s| !s.is_empty()) {
        q.push(" AND (");
        backend.push_search(q, "identities_search", "i", search);
        q.push(" OR i.id = ").bind(search.to_owned()).push(")");
    }
    if let Some(prefix) = &filter.id_prefix {
        backend.push_id_prefix(q, "i.id", prefix);
    }
    if let Some(role) = &filter.role {
        q.push(
            " AND EXISTS (SELECT 1 FROM identity_roles r WHERE r.identity_id = i.id AND r.role = ",
        )
        .bind(role.clone())
        .push(")");
    }
}

fn identity_from_row(row: &AnyRow) -> StoreResult<Identity> {
    Ok(Identity {
        seq: row.try_get("seq")?,
        id: row.try_get("id")?,
        description: row.try_get("description")?,
        created_at: crate::server::model::Timestamp(row.try_get("created_at")?),
    })
}
