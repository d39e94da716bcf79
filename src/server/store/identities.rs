//! Identities and their global roles; listings of identities in order.

use crate::server::model::{Identity, IdentityFilter, IdentityOrderField, Timestamp};

use super::audit::insert_audit;
use super::grants::narrow_personal_keys;
use super::keys::lasting_super_admins;
use super::order::{Order, Position};
use super::sql::{Backend, Records, Sql};
use super::{Audit, Page, Store, StoreError, StoreResult};

impl Store {
    pub async fn identity(&self, id: &str) -> StoreResult<Option<Identity>> {
        let mut q = select_identities(self.backend);
        q.push("i.id = ").bind(id.to_owned());
        q.fetch_one_into::<IdentityRecord, _, _>(&self.read).await
    }

    /// A page of identities in creation order, after the one with sequence number `after`.
    pub async fn list_identities(
        &self,
        filter: &IdentityFilter,
        after: Option<i64>,
        limit: i64,
    ) -> StoreResult<Page<Identity>> {
        let from = after.map(Position::after_seq);
        self.list_identities_in(filter, Order::default(), from.as_ref(), false, limit)
            .await
    }

    /// A page of `limit` identities in `order`, just after `from` (or from the start);
    /// `backward`, the page just before it (or at the end). As [`Store::list_keys_in`].
    pub async fn list_identities_in(
        &self,
        filter: &IdentityFilter,
        order: Order<IdentityOrderField>,
        from: Option<&Position<IdentityOrderField>>,
        backward: bool,
        limit: i64,
    ) -> StoreResult<Page<Identity>> {
        let now = Timestamp::now();
        let mut q = select_identities(self.backend);
        q.push("1 = 1");
        push_identity_conditions(&mut q, self.backend, filter);
        order.push_page(&mut q, from, backward, limit, now);
        let identities = q.fetch_into::<IdentityRecord, _, _>(&self.read).await?;
        order.page(identities, backward, limit, now)
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
    /// transaction, and keeps the personal keys below the identity within it
    /// ([`narrow_personal_keys`]): answers the ids of the keys narrowed, or `None` if the
    /// identity is unknown. Refused with
    /// [`StoreError::LastSuperAdmin`] if it would leave no enabled super admin key that never
    /// expires.
    pub async fn change_global_roles(
        &self,
        identity_id: &str,
        roles: &[String],
        grant: bool,
        audit: Audit<'_>,
    ) -> StoreResult<Option<Vec<String>>> {
        let mut tx = self.begin().await?;
        let exists: Option<i64> = sqlx::query_scalar("SELECT seq FROM identities WHERE id = $1")
            .bind(identity_id)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Ok(None);
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
        insert_audit(&mut tx, audit, Some(identity_id), "OK", None).await?;
        let narrowed = narrow_personal_keys(&mut tx, identity_id, audit).await?;
        if !grant && lasting_super_admins(&mut tx).await? == 0 {
            return Err(StoreError::LastSuperAdmin);
        }
        self.commit_change(tx).await?;
        Ok(Some(narrowed))
    }

    /// Identities by id (those that exist), oldest first.
    pub async fn identities_by_ids(&self, ids: &[String]) -> StoreResult<Vec<Identity>> {
        let mut q = select_identities(self.backend);
        q.push("i.id IN ").list(ids);
        q.fetch_into::<IdentityRecord, _, _>(&self.read).await
    }

    /// Global roles of these identities, as (identity id, role) in role order.
    pub async fn roles_of_identities(
        &self,
        identity_ids: &[String],
    ) -> StoreResult<Vec<(String, String)>> {
        let mut q = Records::select(
            self.backend,
            "r.identity_id, r.role",
            "identity_roles",
            "r",
            "r.identity_id, r.role",
        );
        q.push("r.identity_id IN ").list(identity_ids);
        q.fetch(&self.read).await
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

/// A statement that reads identities ([`Records`]): the caller goes on with the conditions on
/// `identities i` (and any order and limit), then runs it into [`IdentityRecord`]s.
fn select_identities(backend: Backend) -> Records {
    Records::select(
        backend,
        "i.seq, i.id, i.description, i.created_at",
        "identities",
        "i",
        "i.seq",
    )
}

/// An identity as [`select_identities`] gives it: seq, id, description, created_at.
#[derive(serde::Deserialize, sqlx::FromRow)]
struct IdentityRecord(i64, String, String, i64);

impl From<IdentityRecord> for Identity {
    fn from(IdentityRecord(seq, id, description, created_at): IdentityRecord) -> Self {
        Identity {
            seq,
            id,
            description,
            created_at: crate::server::model::Timestamp(created_at),
        }
    }
}
