//! Write operations. Each needs the WRITE permission (see `gate`), answers Contember's
//! `{ ok error result }` shape, and leaves an audit entry whatever its outcome.
//!
//! The rules of each write live in `server::domain`; a resolver reads its arguments, calls the
//! domain operation, and turns the outcome into the reply (`refusal` maps each error to its
//! code). The audit action of a write is the mutation's name.

use async_graphql::{Context, Object, OutputType};

use super::ContextExt;
use super::payload::{
    ApiKeyResult, ApiKeyWithToken, CreateApiKeyErrorCode, CreateApiKeyResult,
    CreateProjectErrorCode, CreateProjectResult, DisableApiKeyErrorCode, ErrorCode, Failure,
    GlobalIdentityRolesErrorCode, IdentityResult, ProjectMemberErrorCode, ProjectMemberResult,
    Reply, RotateApiKeyErrorCode, RotateApiKeyResult, code_name,
};
use crate::server::domain::keys::{self, CreatedKey, KeyRequest};
use crate::server::domain::members::{self, Member, MemberChange};
use crate::server::domain::rotation::{self, RotateRequest, RotatedKey};
use crate::server::domain::{audit, projects, roles};
use crate::server::model::{CreateApiKeyOptions, Membership, RoleDefinitionInput};
use crate::server::store::Toggled;

pub struct MutationRoot;

#[Object]
impl MutationRoot {
    /// Creates a key with memberships in one project (Contember's tenant API).
    async fn create_api_key(
        &self,
        ctx: &Context<'_>,
        project_slug: String,
        memberships: Vec<Membership>,
        description: String,
        token_hash: Option<String>,
        options: Option<CreateApiKeyOptions>,
    ) -> async_graphql::Result<Option<Reply<CreateApiKeyErrorCode, CreateApiKeyResult>>> {
        const ACTION: &str = "createApiKey";
        let (caller, services) = (ctx.caller()?, ctx.services()?);
        let request = KeyRequest {
            description,
            token_hash,
            options: options.unwrap_or_default(),
        };
        let created = keys::create_project_key(
            &services.store,
            caller,
            ACTION,
            services.settings.max_key_ttl,
            &project_slug,
            memberships,
            request,
        )
        .await;
        respond(ctx, ACTION, &project_slug, created.map(key_created)).await
    }

    /// Creates a key with global roles from the catalog.
    async fn create_global_api_key(
        &self,
        ctx: &Context<'_>,
        description: String,
        roles: Option<Vec<String>>,
        token_hash: Option<String>,
        options: Option<CreateApiKeyOptions>,
    ) -> async_graphql::Result<Option<Reply<CreateApiKeyErrorCode, CreateApiKeyResult>>> {
        const ACTION: &str = "createGlobalApiKey";
        let (caller, services) = (ctx.caller()?, ctx.services()?);
        let request = KeyRequest {
            description,
            token_hash,
            options: options.unwrap_or_default(),
        };
        let created = keys::create_global_key(
            &services.store,
            caller,
            ACTION,
            services.settings.max_key_ttl,
            &roles.unwrap_or_default(),
            request,
        )
        .await;
        respond(ctx, ACTION, "global", created.map(key_created)).await
    }

    /// Disables a key: it stops authenticating at once and keeps its record. The personal
    /// keys it created (at any depth) are disabled with it and listed in `alsoDisabled`.
    async fn disable_api_key(
        &self,
        ctx: &Context<'_>,
        id: String,
    ) -> async_graphql::Result<Option<Reply<DisableApiKeyErrorCode, ApiKeyResult>>> {
        set_enabled(ctx, &id, false, "disableApiKey").await
    }

    /// Enables a disabled key again (it still expires when it would have). Keys disabled
    /// with it stay disabled.
    async fn enable_api_key(
        &self,
        ctx: &Context<'_>,
        id: String,
    ) -> async_graphql::Result<Option<Reply<DisableApiKeyErrorCode, ApiKeyResult>>> {
        set_enabled(ctx, &id, true, "enableApiKey").await
    }

    /// Replaces a key by a new one with the same name, scope, grants, permissions, visibility
    /// and owner, and a fresh lifetime (the old key's, within the service's maximum and the
    /// caller's own expiry). The old key keeps working for `gracePeriod` (TTL syntax, `0s` for
    /// not at all; default 24h, at most the service's maximum, never past its own expiry),
    /// then expires; the personal keys it created pass to the new key. Who may disable a key
    /// may rotate it. `tokenHash` registers a token the client chose, as creation does.
    async fn rotate_api_key(
        &self,
        ctx: &Context<'_>,
        id: String,
        grace_period: Option<String>,
        token_hash: Option<String>,
    ) -> async_graphql::Result<Option<Reply<RotateApiKeyErrorCode, RotateApiKeyResult>>> {
        const ACTION: &str = "rotateApiKey";
        let (caller, services) = (ctx.caller()?, ctx.services()?);
        let request = RotateRequest {
            id: id.clone(),
            grace_period,
            token_hash,
        };
        let rotated = rotation::rotate(
            &services.store,
            caller,
            ACTION,
            services.settings.max_key_ttl,
            request,
        )
        .await;
        let rotated = rotated.map(|rotated| {
            let RotatedKey {
                key,
                token,
                identity,
                previous,
            } = rotated;
            RotateApiKeyResult {
                api_key: ApiKeyWithToken {
                    id: key.id.clone(),
                    token,
                    identity,
                    key,
                },
                previous,
            }
        });
        respond(ctx, ACTION, &id, rotated).await
    }

    async fn add_global_identity_roles(
        &self,
        ctx: &Context<'_>,
        identity_id: String,
        roles: Vec<String>,
    ) -> async_graphql::Result<Option<Reply<GlobalIdentityRolesErrorCode, IdentityResult>>> {
        change_roles(ctx, &identity_id, &roles, true, "addGlobalIdentityRoles").await
    }

    async fn remove_global_identity_roles(
        &self,
        ctx: &Context<'_>,
        identity_id: String,
        roles: Vec<String>,
    ) -> async_graphql::Result<Option<Reply<GlobalIdentityRolesErrorCode, IdentityResult>>> {
        change_roles(
            ctx,
            &identity_id,
            &roles,
            false,
            "removeGlobalIdentityRoles",
        )
        .await
    }

    /// Makes an identity a member of a project with the given memberships.
    async fn add_project_member(
        &self,
        ctx: &Context<'_>,
        project_slug: String,
        identity_id: String,
        memberships: Vec<Membership>,
    ) -> async_graphql::Result<Option<Reply<ProjectMemberErrorCode, ProjectMemberResult>>> {
        let change = MemberChange::Add(memberships);
        change_member(ctx, &project_slug, &identity_id, change, "addProjectMember").await
    }

    /// Replaces a member's memberships in a project.
    async fn update_project_member(
        &self,
        ctx: &Context<'_>,
        project_slug: String,
        identity_id: String,
        memberships: Vec<Membership>,
    ) -> async_graphql::Result<Option<Reply<ProjectMemberErrorCode, ProjectMemberResult>>> {
        let change = MemberChange::Update(memberships);
        change_member(
            ctx,
            &project_slug,
            &identity_id,
            change,
            "updateProjectMember",
        )
        .await
    }

    async fn remove_project_member(
        &self,
        ctx: &Context<'_>,
        project_slug: String,
        identity_id: String,
    ) -> async_graphql::Result<Option<Reply<ProjectMemberErrorCode, ProjectMemberResult>>> {
        let change = MemberChange::Remove;
        change_member(
            ctx,
            &project_slug,
            &identity_id,
            change,
            "removeProjectMember",
        )
        .await
    }

    /// Creates a project and its role definitions (name + variables).
    async fn create_project(
        &self,
        ctx: &Context<'_>,
        slug: String,
        name: String,
        roles: Vec<RoleDefinitionInput>,
    ) -> async_graphql::Result<Option<Reply<CreateProjectErrorCode, CreateProjectResult>>> {
        const ACTION: &str = "createProject";
        let (caller, store) = (ctx.caller()?, &ctx.services()?.store);
        let created = projects::create_project(store, caller, ACTION, &slug, &name, &roles).await;
        let created = created.map(|project| CreateProjectResult { project });
        respond(ctx, ACTION, &slug, created).await
    }
}

fn key_created(created: CreatedKey) -> CreateApiKeyResult {
    CreateApiKeyResult {
        api_key: ApiKeyWithToken {
            id: created.key.id.clone(),
            token: created.token,
            identity: created.identity,
            key: created.key,
        },
    }
}

/// `disableApiKey` and `enableApiKey`.
async fn set_enabled(
    ctx: &Context<'_>,
    id: &str,
    enabled: bool,
    action: &str,
) -> async_graphql::Result<Option<Reply<DisableApiKeyErrorCode, ApiKeyResult>>> {
    let (caller, store) = (ctx.caller()?, &ctx.services()?.store);
    let toggled = keys::set_enabled(store, caller, action, id, enabled).await;
    let toggled = toggled.map(|Toggled { key, cascaded }| ApiKeyResult {
        api_key: key,
        also_disabled: cascaded,
    });
    respond(ctx, action, id, toggled).await
}

/// `addGlobalIdentityRoles` and `removeGlobalIdentityRoles`.
async fn change_roles(
    ctx: &Context<'_>,
    identity_id: &str,
    roles: &[String],
    grant: bool,
    action: &str,
) -> async_graphql::Result<Option<Reply<GlobalIdentityRolesErrorCode, IdentityResult>>> {
    let (caller, store) = (ctx.caller()?, &ctx.services()?.store);
    let changed =
        roles::change_global_roles(store, caller, action, identity_id, roles, grant).await;
    let changed = changed.map(
        |roles::ChangedRoles { identity, narrowed }| IdentityResult {
            identity,
            narrowed_keys: narrowed,
        },
    );
    respond(ctx, action, identity_id, changed).await
}

/// `addProjectMember`, `updateProjectMember` and `removeProjectMember`.
async fn change_member(
    ctx: &Context<'_>,
    project_slug: &str,
    identity_id: &str,
    change: MemberChange,
    action: &str,
) -> async_graphql::Result<Option<Reply<ProjectMemberErrorCode, ProjectMemberResult>>> {
    let (caller, store) = (ctx.caller()?, &ctx.services()?.store);
    let changed =
        members::change_member(store, caller, action, project_slug, identity_id, change).await;
    let changed = changed.map(
        |Member {
             identity,
             memberships,
             narrowed,
         }| ProjectMemberResult {
            identity,
            memberships,
            narrowed_keys: narrowed,
        },
    );
    respond(ctx, action, identity_id, changed).await
}

/// The reply codes that refuse the caller for lack of permission: counted as refused in the
/// key's usage (the others are about the input or the state of the target).
const PERMISSION_REFUSALS: [&str; 2] = ["FORBIDDEN", "DISABLED_BY_ADMIN"];

/// Turns the outcome into Contember's reply shape, auditing a refusal or failure (a success
/// committed its own audit entry with its change).
async fn respond<C, R, E>(
    ctx: &Context<'_>,
    action: &str,
    requested_target: &str,
    outcome: Result<R, E>,
) -> async_graphql::Result<Option<Reply<C, R>>>
where
    C: ErrorCode,
    R: OutputType,
    E: Into<Failure<C>>,
{
    let (caller, store) = (ctx.caller()?, &ctx.services()?.store);
    let (reply, outcome, detail) = match outcome.map_err(Into::into) {
        Ok(result) => {
            return Ok(Some(Reply {
                ok: true,
                error: None,
                result: Some(result),
            }));
        }
        Err(Failure::Refused(error)) => {
            let code = code_name(&error.code);
            if PERMISSION_REFUSALS.contains(&code)
                && let Some(mark) = ctx.data_opt::<super::RefusedMark>()
            {
                mark.set();
            }
            let detail = Some(error.developer_message.clone());
            let reply = Reply {
                ok: false,
                error: Some(error),
                result: None,
            };
            (Ok(reply), code, detail)
        }
        Err(Failure::Internal(e)) => {
            tracing::error!(action, error = %e, "mutation failed");
            let reply = Err(super::coded_error(
                "INTERNAL_SERVER_ERROR",
                "the service could not complete the request; see its log",
            ));
            (reply, "INTERNAL_ERROR", None)
        }
    };
    store
        .append_audit(
            audit(caller, action),
            Some(requested_target),
            outcome,
            detail.as_deref(),
        )
        .await?;
    reply.map(Some)
}
