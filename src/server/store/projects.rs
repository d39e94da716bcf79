//! Projects, their role definitions, and memberships (an identity's roles in a project).

use sqlx::AnyConnection;

use crate::server::model::{
    Membership, Project, RoleDefinition, RoleDefinitionInput, RoleVariable, Timestamp,
};

use super::audit::{insert_audit, insert_audit_in};
use super::grants::narrow_personal_keys;
use super::sql::{Backend, Records};
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
        let mut q = select_projects(self.backend);
        q.push("1 = 1");
        q.fetch_into::<ProjectRecord, _, _>(&self.read).await
    }

    pub async fn project_by_slug(&self, slug: &str) -> StoreResult<Option<Project>> {
        self.project_where("p.slug", slug).await
    }

    pub async fn project_by_id(&self, id: &str) -> StoreResult<Option<Project>> {
        self.project_where("p.id", id).await
    }

    /// The project whose `column` (unique) holds `value`.
    async fn project_where(&self, column: &str, value: &str) -> StoreResult<Option<Project>> {
        let mut q = select_projects(self.backend);
        q.push(&format!("{column} = ")).bind(value.to_owned());
        q.fetch_one_into::<ProjectRecord, _, _>(&self.read).await
    }

    /// Projects by id (those that exist), in slug order.
    pub async fn projects_by_ids(&self, ids: &[String]) -> StoreResult<Vec<Project>> {
        let mut q = select_projects(self.backend);
        q.push("p.id IN ").list(ids);
        q.fetch_into::<ProjectRecord, _, _>(&self.read).await
    }

    pub async fn project_roles(&self, project_id: &str) -> StoreResult<Vec<RoleDefinition>> {
        let roles = self.roles_of_projects(&[project_id.to_owned()]).await?;
        Ok(roles.into_iter().map(|(_, role)| role).collect())
    }

    /// Role definitions of these projects, as (project id, definition) in name order.
    pub async fn roles_of_projects(
        &self,
        project_ids: &[String],
    ) -> StoreResult<Vec<(String, RoleDefinition)>> {
        let mut q = Records::select(
            self.backend,
            "r.project_id, r.name, r.variables",
            "project_roles",
            "r",
            "r.project_id, r.name",
        );
        q.push("r.project_id IN ").list(project_ids);
        let records: Vec<(String, String, String)> = q.fetch(&self.read).await?;
        records
            .into_iter()
            .map(|(project_id, name, variables)| {
                let names: Vec<String> = parse_json(&variables)?;
                let variables = names
                    .into_iter()
                    .map(|name| RoleVariable { name })
                    .collect();
                Ok((project_id, RoleDefinition { name, variables }))
            })
            .collect()
    }

    /// Every project membership of an identity, grouped by project id.
    pub async fn memberships_of(
        &self,
        identity_id: &str,
    ) -> StoreResult<Vec<(String, Vec<Membership>)>> {
        let all = self
            .memberships_of_identities(&[identity_id.to_owned()])
            .await?;
        Ok(group_memberships(all.into_iter().map(
            |(_, project_id, membership)| (project_id, membership),
        )))
    }

    /// Memberships of these identities, as (identity id, project id, membership) in project
    /// and role order.
    pub async fn memberships_of_identities(
        &self,
        identity_ids: &[String],
    ) -> StoreResult<Vec<(String, String, Membership)>> {
        let mut q = select_memberships(self.backend, "m.identity_id, m.project_id, m.role");
        q.push("m.identity_id IN ").list(identity_ids);
        fetch_memberships(q, &self.read).await
    }

    /// The first `limit` members of a project: identity id and its memberships, in identity
    /// order.
    pub async fn project_members(
        &self,
        project_id: &str,
        limit: usize,
    ) -> StoreResult<Vec<(String, Vec<Membership>)>> {
        let mut q = select_memberships(self.backend, "m.identity_id, m.role");
        q.push("m.project_id = ")
            .bind(project_id.to_owned())
            .push(
                " AND m.identity_id IN (SELECT DISTINCT identity_id FROM memberships \
                 WHERE project_id = ",
            )
            .bind(project_id.to_owned())
            .push(" ORDER BY identity_id LIMIT ")
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .push(")");
        let all = fetch_memberships(q, &self.read).await?;
        Ok(group_memberships(all.into_iter().map(
            |(identity_id, _, membership)| (identity_id, membership),
        )))
    }

    /// Replaces an identity's memberships in a project (an empty list removes the member),
    /// with the audit entry, in one transaction, and keeps the personal keys below the
    /// identity within it: answers the ids of the keys narrowed.
    pub async fn set_memberships(
        &self,
        project_id: &str,
        identity_id: &str,
        memberships: &[Membership],
        audit: Audit<'_>,
    ) -> StoreResult<Vec<String>> {
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM memberships WHERE project_id = $1 AND identity_id = $2")
            .bind(project_id)
            .bind(identity_id)
            .execute(&mut *tx)
            .await?;
        insert_memberships(&mut tx, project_id, identity_id, memberships).await?;
        let project = Some(project_id);
        insert_audit_in(&mut tx, audit, Some(identity_id), project, "OK", None).await?;
        let narrowed = narrow_personal_keys(&mut tx, identity_id, audit).await?;
        self.commit_change(tx).await?;
        Ok(narrowed)
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

/// The memberships of `identity_id` read on `conn` (inside a transaction: as they are there),
/// as (project id, membership) in project and role order.
pub(super) async fn memberships_in(
    conn: &mut AnyConnection,
    identity_id: &str,
) -> StoreResult<Vec<(String, Membership)>> {
    // A plain query: one identity's few rows, read inside the write transaction.
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT project_id, role, variables FROM memberships WHERE identity_id = $1 \
         ORDER BY project_id, role",
    )
    .bind(identity_id)
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|(project_id, role, variables)| {
            let variables = parse_json(&variables)?;
            Ok((project_id, Membership { role, variables }))
        })
        .collect()
}

/// Consecutive memberships with the same owner (a project or an identity), as (that owner,
/// its memberships).
pub(super) fn group_memberships(
    memberships: impl Iterator<Item = (String, Membership)>,
) -> Vec<(String, Vec<Membership>)> {
    let mut out: Vec<(String, Vec<Membership>)> = Vec::new();
    for (owner, membership) in memberships {
        match out.last_mut() {
            Some((last, list)) if *last == owner => list.push(membership),
            _ => out.push((owner, vec![membership])),
        }
    }
    out
}

/// A statement that reads projects ([`Records`]) in slug order: the caller goes on with the
/// conditions on `projects p`, then runs it into [`ProjectRecord`]s.
fn select_projects(backend: Backend) -> Records {
    Records::select(
        backend,
        "p.id, p.slug, p.name, p.created_at",
        "projects",
        "p",
        "p.slug",
    )
}

/// A project as [`select_projects`] gives it: id, slug, name, created_at.
#[derive(serde::Deserialize, sqlx::FromRow)]
struct ProjectRecord(String, String, String, i64);

impl From<ProjectRecord> for Project {
    fn from(ProjectRecord(id, slug, name, created_at): ProjectRecord) -> Self {
        Project {
            id,
            slug,
            name,
            created_at: Timestamp(created_at),
        }
    }
}

/// A statement that reads memberships ([`Records`]) in `order`: the caller goes on with the
/// conditions on `memberships m`, then [`fetch_memberships`] runs it.
fn select_memberships(backend: Backend, order: &str) -> Records {
    Records::select(
        backend,
        "m.identity_id, m.project_id, m.role, m.variables",
        "memberships",
        "m",
        order,
    )
}

/// Runs a statement begun by [`select_memberships`]: (identity id, project id, membership).
async fn fetch_memberships<'c, E>(
    q: Records,
    executor: E,
) -> StoreResult<Vec<(String, String, Membership)>>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    let records: Vec<(String, String, String, String)> = q.fetch(executor).await?;
    records
        .into_iter()
        .map(|(identity_id, project_id, role, variables)| {
            let variables = parse_json(&variables)?;
            Ok((identity_id, project_id, Membership { role, variables }))
        })
        .collect()
}
