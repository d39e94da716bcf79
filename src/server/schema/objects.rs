//! Relations between records: a key's identity, owner and project; an identity's roles,
//! memberships and key; a project's roles, members and keys. Visibility rules come from
//! `authz`, so a relation never shows what a listing would hide.

use async_graphql::{ComplexObject, Context, SimpleObject};

use super::ContextExt;
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

#[ComplexObject]
impl ApiKey {
    /// ENABLED, DISABLED or EXPIRED, as of this request.
    async fn state(&self) -> ApiKeyState {
        self.state_at(Timestamp::now())
    }

    /// The identity this key authenticates as.
    async fn identity(&self, ctx: &Context<'_>) -> async_graphql::Result<Identity> {
        let store = &ctx.services()?.store;
        Ok(store
            .identity(&self.identity_id)
            .await?
            .ok_or("the key's identity is missing")?)
    }

    /// Who created the key; null for the bootstrap key.
    async fn owner(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Identity>> {
        match &self.owner_id {
            Some(id) => Ok(ctx.services()?.store.identity(id).await?),
            None => Ok(None),
        }
    }

    /// The project of a project key; null for global keys.
    async fn project(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Project>> {
        match &self.project_id {
            Some(id) => Ok(ctx.services()?.store.project_by_id(id).await?),
            None => Ok(None),
        }
    }
}

#[ComplexObject]
impl Identity {
    /// Global roles from the catalog.
    async fn roles(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<String>> {
        Ok(ctx.services()?.store.global_roles(&self.id).await?)
    }

    /// Memberships in the projects the caller can see.
    async fn projects(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<IdentityProjectRelation>> {
        let caller = ctx.caller()?;
        let store = &ctx.services()?.store;
        let mut out = Vec::new();
        for (project_id, memberships) in store.memberships_of(&self.id).await? {
            if !caller.can_see_project(&project_id) && self.id != caller.identity_id() {
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
    async fn api_key(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<ApiKey>> {
        let caller = ctx.caller()?;
        let key = ctx.services()?.store.key_of_identity(&self.id).await?;
        Ok(key.filter(|k| caller.can_see_key(k)))
    }
}

#[ComplexObject]
impl Project {
    /// The roles this project defines, with their variables.
    async fn roles(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<RoleDefinition>> {
        Ok(ctx.services()?.store.project_roles(&self.id).await?)
    }

    /// Members and their memberships; empty unless the caller administers the project.
    async fn members(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ProjectMember>> {
        let caller = ctx.caller()?;
        if !caller.is_project_admin(&self.id) {
            return Ok(Vec::new());
        }
        let store = &ctx.services()?.store;
        let mut out = Vec::new();
        for (identity_id, memberships) in store.project_members(&self.id).await? {
            if let Some(identity) = store.identity(&identity_id).await? {
                out.push(ProjectMember {
                    identity,
                    memberships,
                });
            }
        }
        Ok(out)
    }

    /// The project's keys the caller can see, including disabled and expired ones.
    async fn api_keys(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ApiKey>> {
        let caller = ctx.caller()?;
        Ok(ctx
            .services()?
            .store
            .project_keys(&caller.key_scope(), &self.id)
            .await?)
    }
}
