//! Relations between records: a key's identity, owner and project; an identity's roles,
//! memberships and key; a project's roles, members and keys. Every relation applies the same
//! `authz` rule as the top-level query for what it leads to, so a relation never shows what a
//! listing would hide; lists are bounded by `first` and cost that much (see `paging`).

use async_graphql::{ComplexObject, Context, SimpleObject};

use super::ContextExt;
use super::paging::{LOOKUP_COST, bounded, list_cost};
use crate::server::model::{
    ApiKey, ApiKeyState, Identity, Membership, Project, RoleDefinition, Timestamp,
};

/// An identity's memberships in one project.
#[derive(SimpleObject)]
pub struct IdentityProjectRelation {
    pub project: Project,
    pub memberships: Vec<Membership>,
}

/// A member of a project and its memberships there.
#[derive(SimpleObject)]
pub struct ProjectMember {
    pub identity: Identity,
    pub memberships: Vec<Membership>,
}

/// Default and largest `first` of `Identity.projects`.
const IDENTITY_PROJECTS: (i32, i32) = (20, 100);
/// Default and largest `first` of `Project.members`.
const PROJECT_MEMBERS: (i32, i32) = (100, 500);
/// Default and largest `first` of `Project.apiKeys`.
const PROJECT_KEYS: (i32, i32) = (50, 500);

#[ComplexObject]
impl ApiKey {
    /// ENABLED, DISABLED or EXPIRED, as of this request.
    async fn state(&self) -> ApiKeyState {
        self.state_at(Timestamp::now())
    }

    /// The identity this key authenticates as: null unless the caller may see that identity
    /// (its own, any for super admins and project admins) or created the key.
    #[graphql(complexity = "LOOKUP_COST + child_complexity")]
    async fn identity(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Identity>> {
        if !ctx.caller()?.can_see_key_identity(self) {
            return Ok(None);
        }
        let store = &ctx.services()?.store;
        Ok(Some(
            store
                .identity(&self.identity_id)
                .await?
                .ok_or("the key's identity is missing")?,
        ))
    }

    /// Who created the key: null for the bootstrap key, and unless the caller may see that
    /// identity.
    #[graphql(complexity = "LOOKUP_COST + child_complexity")]
    async fn owner(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Identity>> {
        match &self.owner_id {
            Some(id) if ctx.caller()?.can_see_identity(id) => {
                Ok(ctx.services()?.store.identity(id).await?)
            }
            _ => Ok(None),
        }
    }

    /// The project of a project key: null for global keys, and unless the caller is a member
    /// or an admin of it.
    #[graphql(complexity = "LOOKUP_COST + child_complexity")]
    async fn project(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Project>> {
        match &self.project_id {
            Some(id) if ctx.caller()?.can_see_project(id) => {
                Ok(ctx.services()?.store.project_by_id(id).await?)
            }
            _ => Ok(None),
        }
    }
}

#[ComplexObject]
impl Identity {
    /// Global roles from the catalog.
    #[graphql(complexity = "LOOKUP_COST + child_complexity")]
    async fn roles(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<String>> {
        Ok(ctx.services()?.store.global_roles(&self.id).await?)
    }

    /// Memberships in projects: one's own, and in the projects the caller administers.
    /// At most `first` (default 20, at most 100) projects.
    #[graphql(complexity = "list_cost(first, IDENTITY_PROJECTS, child_complexity)")]
    async fn projects(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
    ) -> async_graphql::Result<Vec<IdentityProjectRelation>> {
        let limit = bounded(first, IDENTITY_PROJECTS)?;
        let caller = ctx.caller()?;
        let store = &ctx.services()?.store;
        let created_by_caller = self.id != caller.identity_id()
            && store
                .key_of_identity(&self.id)
                .await?
                .is_some_and(|k| k.owner_id.as_deref() == Some(caller.identity_id()));
        let mut out = Vec::new();
        for (project_id, memberships) in store.memberships_of(&self.id).await? {
            if out.len() == limit {
                break;
            }
            if !caller.can_see_memberships(&self.id, &project_id, created_by_caller) {
                continue;
            }
            if let Some(project) = store.project_by_id(&project_id).await? {
                out.push(IdentityProjectRelation {
                    project,
                    memberships,
                });
            }
        }
        Ok(out)
    }

    /// The key that authenticates as this identity, if the caller may see it.
    #[graphql(complexity = "LOOKUP_COST + child_complexity")]
    async fn api_key(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<ApiKey>> {
        let caller = ctx.caller()?;
        let key = ctx.services()?.store.key_of_identity(&self.id).await?;
        Ok(key.filter(|k| caller.can_see_key(k)))
    }
}

#[ComplexObject]
impl Project {
    /// The roles this project defines, with their variables.
    #[graphql(complexity = "LOOKUP_COST + child_complexity")]
    async fn roles(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<RoleDefinition>> {
        Ok(ctx.services()?.store.project_roles(&self.id).await?)
    }

    /// Members and their memberships; empty unless the caller administers the project.
    /// At most `first` (default 100, at most 500).
    #[graphql(complexity = "list_cost(first, PROJECT_MEMBERS, child_complexity)")]
    async fn members(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
    ) -> async_graphql::Result<Vec<ProjectMember>> {
        let limit = bounded(first, PROJECT_MEMBERS)?;
        let caller = ctx.caller()?;
        if !caller.is_project_admin(&self.id) {
            return Ok(Vec::new());
        }
        let store = &ctx.services()?.store;
        let mut out = Vec::new();
        for (identity_id, memberships) in store.project_members(&self.id, limit).await? {
            if let Some(identity) = store.identity(&identity_id).await? {
                out.push(ProjectMember {
                    identity,
                    memberships,
                });
            }
        }
        Ok(out)
    }

    /// The project's keys the caller can see, including disabled and expired ones, oldest
    /// first. At most `first` (default 50, at most 500); page through all of them with
    /// `apiKeys(filter: {projectSlug: …})`.
    #[graphql(complexity = "list_cost(first, PROJECT_KEYS, child_complexity)")]
    async fn api_keys(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
    ) -> async_graphql::Result<Vec<ApiKey>> {
        let limit = bounded(first, PROJECT_KEYS)?;
        let caller = ctx.caller()?;
        Ok(ctx
            .services()?
            .store
            .project_keys(&caller.key_scope(), &self.id, limit)
            .await?)
    }
}
