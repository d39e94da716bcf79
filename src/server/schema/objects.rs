//! Relations between records: a key's identity, owner, project and rotation (the key it
//! replaced, the key that replaced it); an identity's roles,
//! memberships and key; a project's roles, members and keys. Every relation applies the same
//! `authz` rule as the top-level query for what it leads to, so a relation never shows what a
//! listing would hide; lists are bounded by `first` and cost that much (see `paging`).
//! Related records load through the batch loaders (`loaders`), never one query per row.

use async_graphql::{ComplexObject, Context, SimpleObject};

use super::ContextExt;
use super::loaders::{
    IdentityById, KeyById, KeyOfIdentity, MembershipsOf, ProjectById, RolesOf, RolesOfProject,
    UsageOf, prime_identities, prime_keys,
};
use super::paging::{LOOKUP_COST, bounded, list_cost};
use crate::server::domain::usage::{KeyUsagePoint, UsageWindow};
use crate::server::model::{
    ApiKey, ApiKeyState, Identity, Membership, Project, RoleDefinition, Timestamp,
};
use crate::server::stats::SERIES_POINTS;

/// An identity's memberships in one project.
#[derive(SimpleObject)]
#[graphql(serial)]
pub struct IdentityProjectRelation {
    pub project: Project,
    pub memberships: Vec<Membership>,
}

/// A member of a project and its memberships there.
#[derive(SimpleObject)]
#[graphql(serial)]
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
        let identity = ctx
            .loaders()
            .await?
            .load_one(IdentityById(self.identity_id.clone()))
            .await?;
        Ok(Some(identity.ok_or("the key's identity is missing")?))
    }

    /// Who created the key: null for the bootstrap key, and unless the caller may see that
    /// identity.
    #[graphql(complexity = "LOOKUP_COST + child_complexity")]
    async fn owner(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Identity>> {
        match &self.owner_id {
            Some(id) if ctx.caller()?.can_see_identity(id) => Ok(ctx
                .loaders()
                .await?
                .load_one(IdentityById(id.clone()))
                .await?),
            _ => Ok(None),
        }
    }

    /// The key that replaced this one (`rotateApiKey`): null if none did, and unless the
    /// caller may see it. This key works until its `expiresAt`, the end of its grace period.
    #[graphql(complexity = "LOOKUP_COST + child_complexity")]
    async fn rotated_to(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<ApiKey>> {
        related_key(ctx, self.rotated_to.as_deref()).await
    }

    /// The key this one replaced (`rotateApiKey`): null if it replaced none, and unless the
    /// caller may see it.
    #[graphql(complexity = "LOOKUP_COST + child_complexity")]
    async fn rotated_from(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<ApiKey>> {
        related_key(ctx, self.rotated_from.as_deref()).await
    }

    /// The requests this key authenticated, and the ones refused to it, over a window
    /// (`startTs`/`endTs`, Unix seconds, by default the last 24 hours) in at most `points`
    /// (60 by default, at most 240) equal intervals of whole minutes, oldest first, as
    /// `getQueryStatSeries` answers: the newest interval ends with the current minute. Counts
    /// are kept per minute for a day, then per hour for `--usage-retention` (90 days by
    /// default), and written within about a second of the requests.
    #[graphql(complexity = "LOOKUP_COST + list_cost(points, SERIES_POINTS, child_complexity)")]
    async fn usage(
        &self,
        ctx: &Context<'_>,
        start_ts: Option<i32>,
        end_ts: Option<i32>,
        points: Option<i32>,
    ) -> async_graphql::Result<Vec<KeyUsagePoint>> {
        let window = UsageWindow::new(start_ts, end_ts, points, Timestamp::now())
            .map_err(|e| super::coded_error("BAD_USER_INPUT", e.to_string()))?;
        let series = ctx
            .loaders()
            .await?
            .load_one(UsageOf {
                key_id: self.id.clone(),
                window,
            })
            .await?;
        Ok(series.unwrap_or_default())
    }

    /// The project of a project key: null for global keys, and unless the caller is a member
    /// or an admin of it.
    #[graphql(complexity = "LOOKUP_COST + child_complexity")]
    async fn project(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Project>> {
        match &self.project_id {
            Some(id) if ctx.caller()?.can_see_project(id) => Ok(ctx
                .loaders()
                .await?
                .load_one(ProjectById(id.clone()))
                .await?),
            _ => Ok(None),
        }
    }
}

/// The key `id` names, if any and if the caller may see it.
async fn related_key(ctx: &Context<'_>, id: Option<&str>) -> async_graphql::Result<Option<ApiKey>> {
    let Some(id) = id else {
        return Ok(None);
    };
    let caller = ctx.caller()?;
    let key = ctx
        .loaders()
        .await?
        .load_one(KeyById(id.to_owned()))
        .await?;
    Ok(key.filter(|k| caller.can_see_key(k)))
}

#[ComplexObject]
impl Identity {
    /// Global roles from the catalog.
    #[graphql(complexity = "LOOKUP_COST + child_complexity")]
    async fn roles(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<String>> {
        // The caller's own roles came with its authentication (`{ me { roles } }`).
        let caller = ctx.caller()?;
        if self.id == caller.identity_id() {
            return Ok(caller.global_roles.clone());
        }
        let roles = ctx
            .loaders()
            .await?
            .load_one(RolesOf(self.id.clone()))
            .await?;
        Ok(roles.unwrap_or_default())
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
        let loaders = ctx.loaders().await?;
        let all = loaders.load_one(MembershipsOf(self.id.clone())).await?;
        let all = all.unwrap_or_default();
        if all.is_empty() {
            return Ok(Vec::new());
        }
        let created_by_caller = self.id != caller.identity_id()
            && loaders
                .load_one(KeyOfIdentity(self.id.clone()))
                .await?
                .is_some_and(|k| k.owner_id.as_deref() == Some(caller.identity_id()));
        let visible: Vec<(String, Vec<Membership>)> = all
            .into_iter()
            .filter(|(project_id, _)| {
                caller.can_see_memberships(&self.id, project_id, created_by_caller)
            })
            .take(limit)
            .collect();
        let projects = loaders
            .load_many(visible.iter().map(|(p, _)| ProjectById(p.clone())))
            .await?;
        Ok(visible
            .into_iter()
            .filter_map(|(project_id, memberships)| {
                let project = projects.get(&ProjectById(project_id))?.clone();
                Some(IdentityProjectRelation {
                    project,
                    memberships,
                })
            })
            .collect())
    }

    /// The key that authenticates as this identity, if the caller may see it.
    #[graphql(complexity = "LOOKUP_COST + child_complexity")]
    async fn api_key(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<ApiKey>> {
        let caller = ctx.caller()?;
        let key = ctx
            .loaders()
            .await?
            .load_one(KeyOfIdentity(self.id.clone()))
            .await?;
        Ok(key.filter(|k| caller.can_see_key(k)))
    }
}

#[ComplexObject]
impl Project {
    /// The roles this project defines, with their variables.
    #[graphql(complexity = "LOOKUP_COST + child_complexity")]
    async fn roles(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<RoleDefinition>> {
        let roles = ctx
            .loaders()
            .await?
            .load_one(RolesOfProject(self.id.clone()))
            .await?;
        Ok(roles.unwrap_or_default())
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
        let members = ctx
            .services()?
            .store
            .project_members(&self.id, limit)
            .await?;
        let loaders = ctx.loaders().await?;
        let identities = loaders
            .load_many(members.iter().map(|(id, _)| IdentityById(id.clone())))
            .await?;
        let found: Vec<Identity> = identities.values().cloned().collect();
        prime_identities(loaders, &found, ctx.look_ahead().field("identity")).await?;
        Ok(members
            .into_iter()
            .filter_map(|(identity_id, memberships)| {
                let identity = identities.get(&IdentityById(identity_id))?.clone();
                Some(ProjectMember {
                    identity,
                    memberships,
                })
            })
            .collect())
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
        let keys = ctx
            .services()?
            .store
            .project_keys(&caller.visible_keys(), &self.id, limit)
            .await?;
        prime_keys(ctx.loaders().await?, &keys, ctx.look_ahead()).await?;
        Ok(keys)
    }
}

/// What this service allows, for clients that check a form before sending it.
#[derive(SimpleObject)]
pub struct ServiceSettings {
    /// The longest lifetime a key may be given (`--max-key-ttl`), as a duration (`30d`);
    /// null when the service sets no maximum.
    pub max_key_ttl: Option<String>,
    /// The same in seconds.
    pub max_key_ttl_seconds: Option<i64>,
}
