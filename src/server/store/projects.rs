//! Projects, their role definitions, and memberships (an identity's roles in a project).

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::server::model::{
    Membership, Project, RoleDefinition, RoleDefinitionInput, RoleVariable, Timestamp,
};

use super::audit::insert_audit;
use super::sql::Sql;
use super::{Audit, Store, StoreError, StoreResult, parse_json, to_json};

impl Store {
    /// Creates a project, its role definitions and the audit entry, in one transaction. The
    /// slug is unique by constraint as well; the check here only gives the friendlier error.
    pub async fn create_project(
        &self,
        slug: &str,
        name: &str,
        roles: &[RoleDefinitionInput],
        audit: Audit<'_>,
    ) -> StoreResult<Project> {
        let now = Timestamp::now();
        let mut tx = self.begin().await?;
        let taken: Option<i64> = sqlx::query_scalar("SELECT seq FROM projects WHERE slug = $1")
            .bind(slug)
            .fetch_optional(&mut *tx)
            .await?;
        if taken.is_some() {
            return Err(StoreError::AlreadyExists);
        }
        let id = uuid::Uuid::new_v4().to_string();
        sqlx::query("INSERT INTO projects (id, slug, name, created_at) VALUES ($1, $2, $3, $4)")
            .bind(&id)
            .bind(slug)
            .bind(name)
            .bind(now.0)
            .execute(&mut *tx)
            .await?;
        for role in roles {
            sqlx::query(
                "INSERT INTO project_roles (project_id, name, variables) VALUES ($1, $2, $3)",
            )
            .bind(&id)
            .bind(&role.name)
            .bind(to_json(&role.variables)?)
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
        let row = sqlx::query("SELECT id, slug, name, created_at FROM projects WHERE slug = $1")
            .bind(slug)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(project_from_row).transpose()
    }

    pub async fn project_by_id(&self, id: &str) -> StoreResult<Option<Project>> {
        let row = sqlx::query("SELECT id, slug, name, created_at FROM projects WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(project_from_row).transpose()
    }

    /// Projects by id (those that exist).
    pub async fn projects_by_ids(&self, ids: &[String]) -> StoreResult<Vec<Project>> {
        let mut q = Sql::new("SELECT id, slug, name, created_at FROM projects WHERE id IN ");
        q.list(ids);
        let rows = q.query()?.fetch_all(&self.read).await?;
        rows.iter().map(project_from_row).collect()
    }

    pub async fn project_roles(&self, project_id: &str) -> StoreResult<Vec<RoleDefinition>> {
        let rows = sqlx::query(
            "SELECT name, variables FROM project_roles WHERE project_id = $1 ORDER BY name",
        )
        .bind(project_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(role_from_row).collect()
    }

    /// Role definitions of these projects, as (project id, definition) in name order.
    pub async fn roles_of_projects(
        &self,
        project_ids: &[String],
    ) -> StoreResult<Vec<(String, RoleDefinition)>> {
        let mut q =
            Sql::new("SELECT project_id, name, variables FROM project_roles WHERE project_id IN ");
        q.list(project_ids).push(" ORDER BY project_id, name");
        let rows = q.query()?.fetch_all(&self.read).await?;
        rows.iter()
            .map(|row| Ok((row.try_get("project_id")?, role_from_row(row)?)))
            .collect()
    }

    /// Every project membership of an identity, grouped by project id.
    pub async fn memberships_of(
        &self,
        identity_id: &str,
    ) -> StoreResult<Vec<(String, Vec<Membership>)>> {
        let rows = sqlx::query(
            "SELECT project_id, role, variables FROM memberships WHERE identity_id = $1 \
             ORDER BY project_id, role",
        )
        .bind(identity_id)
        .fetch_all(&self.read)
        .await?;
        group_memberships(&rows, "project_id")
    }

    /// Memberships of these identities, as (identity id, project id, membership) in project
    /// and role order.
    pub async fn memberships_of_identities(
        &self,
        identity_ids: &[String],
    ) -> StoreResult<Vec<(String, String, Membership)>> {
        let mut q = Sql::new(
            "SELECT identity_id, project_id, role, variables FROM memberships WHERE identity_id IN ",
        );
        q.list(identity_ids)
            .push(" ORDER BY identity_id, project_id, role");
        let rows = q.query()?.fetch_all(&self.read).await?;
        rows.iter()
            .map(|row| {
                Ok((
                    row.try_get("identity_id")?,
                    row.try_get("project_id")?,
                    membership_from_row(row)?,
                ))
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
            "SELECT identity_id, role, variables FROM memberships WHERE project_id = $1 \
             AND identity_id IN (SELECT DISTINCT identity_id FROM memberships \
             WHERE project_id = $2 ORDER BY identity_id LIMIT $3) \
             ORDER BY identity_id, role",
        )
        .bind(project_id)
        .bind(project_id)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
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
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM memberships WHERE project_id = $1 AND identity_id = $2")
            .bind(project_id)
            .bind(identity_id)
            .execute(&mut *tx)
            .await?;
        insert_memberships(&mut tx, project_id, identity_id, memberships).await?;
        insert_audit(&mut tx, audit, Some(identity_id), "OK", None).await?;
        self.commit_change(tx).await?;
        Ok(())
    }
}

/// Writes memberships; one that exists (same project, identity and role) gets the new
/// variables.
pub(super) async fn insert_memberships(
    conn: &mut AnyConnection,
    project_id: &str,
    identity_id: &str,
    memberships: &[Membership],
) -> StoreResult<()> {
    for m in memberships {
        sqlx::query(
            "INSERT INTO memberships (project_id, identity_id, role, variables) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (project_id, identity_id, role) \
             DO UPDATE SET variables = excluded.variables",
        )
        .bind(project_id)
        .bind(identity_id)
        .bind(&m.role)
        .bind(to_json(&m.variables)?)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Consecutive rows with the same `key` column, as (that value, its memberships).
fn group_memberships(rows: &[AnyRow], key: &str) -> StoreResult<Vec<(String, Vec<Membership>)>> {
    let mut out: Vec<(String, Vec<Membership>)> = Vec::new();
    for row in rows {
        let owner: String = row.try_get(key)?;
        let membership = membership_from_row(row)?;
        match out.last_mut() {
            Some((last, list)) if *last == owner => list.push(membership),
            _ => out.push((owner, vec![membership])),
        }
    }
    Ok(out)
}

fn membership_from_row(row: &AnyRow) -> StoreResult<Membership> {
    Ok(Membership {
        role: row.try_get("role")?,
        variables: parse_json(row.try_get("variables")?)?,
    })
}

fn role_from_row(row: &AnyRow) -> StoreResult<RoleDefinition> {
    let names: Vec<String> = parse_json(row.try_get("variables")?)?;
    Ok(RoleDefinition {
        name: row.try_get("name")?,
        variables: names
            .into_iter()
            .map(|name| RoleVariable { name })
            .collect(),
    })
}

fn project_from_row(row: &AnyRow) -> StoreResult<Project> {
    Ok(Project {
        id: row.try_get("id")?,
        slug: row.try_get("slug")?,
        name: row.try_get("name")?,
        created_at: Timestamp(row.try_get("created_at")?),
    })
}
