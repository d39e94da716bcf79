//! Write operations. Each needs the WRITE permission (see `gate`), answers Contember's
//! `{ ok error result }` shape, and leaves an audit entry whatever its outcome.

use async_graphql::{Context, Object, OutputType};

use super::ContextExt;
use super::Settings;
use super::payload::{
    ApiKeyResult, ApiKeyWithToken, CreateApiKeyErrorCode, CreateApiKeyResult,
    CreateProjectErrorCode, CreateProjectResult, DisableApiKeyErrorCode, ErrorCode, Failure,
    GlobalIdentityRolesErrorCode, IdentityResult, MutationError, ProjectMemberErrorCode,
    ProjectMemberResult, Reply, code_name, refuse,
};
use crate::server::auth::Caller;
use crate::server::authz::{self, Denied};
use crate::server::memberships;
use crate::server::model::{
    CreateApiKeyOptions, Membership, Permission, Project, RoleDefinitionInput, Timestamp,
    Visibility,
};
use crate::server::store::{Audit, NewKey, Store, StoreError};
use crate::token;
use crate::ttl::Ttl;

/// Longest key name and project name.
const MAX_NAME_LEN: usize = 200;

pub struct MutationRoot;

/// What a mutation produced, or why not. A success has already committed its audit entry
/// together with its change; a failure is audited by [`respond`].
type Outcome<C, R> = Result<R, Failure<C>>;

/// The audit identity of a mutation run by `caller`.
fn audit<'a>(caller: &'a Caller, action: &'a str) -> Audit<'a> {
    Audit {
        actor_id: Some(caller.identity_id()),
        action,
    }
}

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
        let (caller, services) = (ctx.caller()?, ctx.services()?);
        let memberships = memberships::cleaned(memberships);
        let outcome =
            async {
                let key = prepare_key(
                    &services.settings,
                    caller,
                    description,
                    token_hash,
                    options.unwrap_or_default(),
                    false,
                )?;
                let store = &services.store;
                let project = store.project_by_slug(&project_slug).await?;
                let Some(project) = project.filter(|p| caller.can_see_project(&p.id)) else {
                    return Err(refuse(
                        CreateApiKeyErrorCode::ProjectNotFound,
                        format!("no project with slug `{project_slug}`"),
                    ));
                };
                caller
                    .may_create_project_key(
                        &project.id,
                        &memberships,
                        key.visibility,
                        &key.permissions,
                    )
                    .map_err(|d| denied(CreateApiKeyErrorCode::Forbidden, d))?;
                let problems =
                    memberships::validate(&store.project_roles(&project.id).await?, &memberships);
                if !problems.is_empty() {
                    return Err(Failure::Refused(MutationError {
                        code: CreateApiKeyErrorCode::InvalidMembership,
                        developer_message:
                            "one or more memberships do not match the project's role definitions"
                                .into(),
                        membership_validation: Some(problems),
                    }));
                }
                let audit = audit(caller, "createApiKey");
                insert_key(
                    store,
                    audit,
                    caller,
                    key,
                    Some(&project.id),
                    &[],
                    &memberships,
                )
                .await
            }
            .await;
        respond(ctx, "createApiKey", &project_slug, outcome).await
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
        let (caller, services) = (ctx.caller()?, ctx.services()?);
        let roles = roles.unwrap_or_default();
        let outcome = async {
            let key = prepare_key(
                &services.settings,
                caller,
                description,
                token_hash,
                options.unwrap_or_default(),
                roles.iter().any(|r| r == authz::SUPER_ADMIN),
            )?;
            if let Some(bad) = roles.iter().find(|r| !authz::is_known_role(r)) {
                return Err(refuse(
                    CreateApiKeyErrorCode::InvalidRole,
                    format!("`{bad}` is not a global role; see the `roles` query"),
                ));
            }
            caller
                .may_create_global_key(&roles, key.visibility, &key.permissions)
                .map_err(|d| denied(CreateApiKeyErrorCode::Forbidden, d))?;
            let audit = audit(caller, "createGlobalApiKey");
            insert_key(&services.store, audit, caller, key, None, &roles, &[]).await
        }
        .await;
        respond(ctx, "createGlobalApiKey", "global", outcome).await
    }

    /// Disables a key: it stops authenticating at once and keeps its record. The personal
    /// keys it created (at any depth) are disabled with it and listed in `alsoDisabled`.
    async fn disable_api_key(
        &self,
        ctx: &Context<'_>,
        id: String,
    ) -> async_graphql::Result<Option<Reply<DisableApiKeyErrorCode, ApiKeyResult>>> {
        let outcome = set_enabled(ctx, &id, false, "disableApiKey").await?;
        respond(ctx, "disableApiKey", &id, outcome).await
    }

    /// Enables a disabled key again (it still expires when it would have). Keys disabled
    /// with it stay disabled.
    async fn enable_api_key(
        &self,
        ctx: &Context<'_>,
        id: String,
    ) -> async_graphql::Result<Option<Reply<DisableApiKeyErrorCode, ApiKeyResult>>> {
        let outcome = set_enabled(ctx, &id, true, "enableApiKey").await?;
        respond(ctx, "enableApiKey", &id, outcome).await
    }

    async fn add_global_identity_roles(
        &self,
        ctx: &Context<'_>,
        identity_id: String,
        roles: Vec<String>,
    ) -> async_graphql::Result<Option<Reply<GlobalIdentityRolesErrorCode, IdentityResult>>> {
        let outcome =
            change_roles(ctx, &identity_id, &roles, true, "addGlobalIdentityRoles").await?;
        respond(ctx, "addGlobalIdentityRoles", &identity_id, outcome).await
    }

    async fn remove_global_identity_roles(
        &self,
        ctx: &Context<'_>,
        identity_id: String,
        roles: Vec<String>,
    ) -> async_graphql::Result<Option<Reply<GlobalIdentityRolesErrorCode, IdentityResult>>> {
        let outcome = change_roles(
            ctx,
            &identity_id,
            &roles,
            false,
            "removeGlobalIdentityRoles",
        )
        .await?;
        respond(ctx, "removeGlobalIdentityRoles", &identity_id, outcome).await
    }

    /// Makes an identity a member of a project with the given memberships.
    async fn add_project_member(
        &self,
        ctx: &Context<'_>,
        project_slug: String,
        identity_id: String,
        memberships: Vec<Membership>,
    ) -> async_graphql::Result<Option<Reply<ProjectMemberErrorCode, ProjectMemberResult>>> {
        let outcome = change_member(
            ctx,
            &project_slug,
            &identity_id,
            MemberChange::Add(memberships),
            "addProjectMember",
        )
        .await?;
        respond(ctx, "addProjectMember", &identity_id, outcome).await
    }

    /// Replaces a member's memberships in a project.
    async fn update_project_member(
        &self,
        ctx: &Context<'_>,
        project_slug: String,
        identity_id: String,
        memberships: Vec<Membership>,
    ) -> async_graphql::Result<Option<Reply<ProjectMemberErrorCode, ProjectMemberResult>>> {
        let outcome = change_member(
            ctx,
            &project_slug,
            &identity_id,
            MemberChange::Update(memberships),
            "updateProjectMember",
        )
        .await?;
        respond(ctx, "updateProjectMember", &identity_id, outcome).await
    }

    async fn remove_project_member(
        &self,
        ctx: &Context<'_>,
        project_slug: String,
        identity_id: String,
    ) -> async_graphql::Result<Option<Reply<ProjectMemberErrorCode, ProjectMemberResult>>> {
        let outcome = change_member(
            ctx,
            &project_slug,
            &identity_id,
            MemberChange::Remove,
            "removeProjectMember",
        )
        .await?;
        respond(ctx, "removeProjectMember", &identity_id, outcome).await
    }

    /// Creates a project and its role definitions (name + variables).
    async fn create_project(
        &self,
        ctx: &Context<'_>,
        slug: String,
        name: String,
        roles: Vec<RoleDefinitionInput>,
    ) -> async_graphql::Result<Option<Reply<CreateProjectErrorCode, CreateProjectResult>>> {
        let (caller, services) = (ctx.caller()?, ctx.services()?);
        let outcome = async {
            caller
                .may_create_project()
                .map_err(|d| denied(CreateProjectErrorCode::Forbidden, d))?;
            let name = validate_project(&slug, &name, &roles)?;
            let audit = audit(caller, "createProject");
            let created = services
                .store
                .create_project(&slug, &name, &roles, audit)
                .await;
            let project: Project = match created {
                Err(StoreError::AlreadyExists) => {
                    return Err(refuse(
                        CreateProjectErrorCode::AlreadyExists,
                        format!("a project with slug `{slug}` exists"),
                    ));
                }
                other => other?,
            };
            Ok(CreateProjectResult { project })
        }
        .await;
        respond(ctx, "createProject", &slug, outcome).await
    }
}

/// Turns the outcome into Contember's reply shape, auditing a refusal or failure (a success
/// committed its own audit entry with its change).
async fn respond<C, R>(
    ctx: &Context<'_>,
    action: &str,
    requested_target: &str,
    outcome: Outcome<C, R>,
) -> async_graphql::Result<Option<Reply<C, R>>>
where
    C: ErrorCode,
    R: OutputType,
{
    let (caller, store) = (ctx.caller()?, &ctx.services()?.store);
    let (reply, outcome, detail) = match outcome {
        Ok(result) => {
            return Ok(Some(Reply {
                ok: true,
                error: None,
                result: Some(result),
            }));
        }
        Err(Failure::Refused(error)) => {
            let code = code_name(&error.code);
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

fn denied<C: ErrorCode>(code: C, d: Denied) -> Failure<C> {
    refuse(code, d.0)
}

/// A key request checked for shape, with its token (or hash) and expiry decided.
struct PreparedKey {
    description: String,
    token: Option<String>,
    token_hash: String,
    expires_at: Option<Timestamp>,
    permissions: Vec<Permission>,
    visibility: Visibility,
}

fn prepare_key(
    settings: &Settings,
    caller: &Caller,
    description: String,
    token_hash: Option<String>,
    options: CreateApiKeyOptions,
    grants_super_admin: bool,
) -> Result<PreparedKey, Failure<CreateApiKeyErrorCode>> {
    use CreateApiKeyErrorCode as Code;
    let description = crate::text::clean_name(&description, MAX_NAME_LEN)
        .map_err(|e| refuse(Code::InvalidDescription, format!("the key name {e}")))?;
    let expires_at = expiry(
        settings,
        caller,
        options.expires_in.as_deref(),
        grants_super_admin,
    )
    .map_err(|message| refuse(Code::InvalidTtl, message))?;
    let mut permissions = options
        .permissions
        .unwrap_or_else(|| vec![Permission::Read, Permission::Write]);
    permissions.dedup();
    if permissions.is_empty() {
        return Err(refuse(
            Code::InvalidPermissions,
            "a key needs at least one of READ, WRITE",
        ));
    }
    let (token, token_hash) = match token_hash {
        Some(hash) if token::is_valid_hash(&hash) => (None, hash.to_ascii_lowercase()),
        Some(_) => {
            return Err(refuse(
                Code::InvalidTokenHash,
                "tokenHash must be the SHA-256 of the token as 64 hexadecimal characters",
            ));
        }
        None => {
            let token = token::generate().map_err(|e| {
                Failure::Internal(StoreError::Corrupt(format!("no randomness: {e}")))
            })?;
            let hash = token::hash(&token);
            (Some(token), hash)
        }
    };
    Ok(PreparedKey {
        description,
        token,
        token_hash,
        expires_at,
        permissions,
        visibility: options.visibility.unwrap_or_default(),
    })
}

/// `expiresIn` that asks for a key that never expires: only super admins, only for keys that
/// hold `super_admin` (the keys that keep the service administrable; see `LAST_SUPER_ADMIN`).
const NEVER: &str = "never";

/// When a key asked to live `expires_in` expires: within the service's maximum, and never
/// after the key creating it (super admins aside), so a short-lived key cannot mint a
/// longer-lived one. Without `expiresIn` a key gets the longest life it may have.
fn expiry(
    settings: &Settings,
    caller: &Caller,
    expires_in: Option<&str>,
    grants_super_admin: bool,
) -> Result<Option<Timestamp>, String> {
    if expires_in.is_some_and(|t| t.trim().eq_ignore_ascii_case(NEVER)) {
        return if caller.is_super_admin() && grants_super_admin {
            Ok(None)
        } else {
            Err(format!(
                "`{NEVER}` is only for super_admin keys created by a super admin; give a TTL such as 30d"
            ))
        };
    }
    let requested = expires_in
        .map(|text| text.parse::<Ttl>().map_err(|e| e.to_string()))
        .transpose()?;
    let ttl = match (requested, settings.max_key_ttl) {
        (Some(ttl), Some(max)) if ttl > max => {
            return Err(format!("TTL {ttl} exceeds this service's maximum of {max}"));
        }
        (Some(ttl), _) => Some(ttl),
        (None, max) => max,
    };
    let wanted = ttl.map(|t| Timestamp::now().plus_seconds(t.seconds()));
    let limit = match caller.key.expires_at {
        Some(limit) if !caller.is_super_admin() => limit,
        _ => return Ok(wanted),
    };
    match wanted {
        Some(at) if at <= limit => Ok(Some(at)),
        _ if requested.is_none() => Ok(Some(limit)),
        _ => Err(format!(
            "a key cannot outlive the key creating it, which expires at {}",
            limit.rfc3339()
        )),
    }
}

async fn insert_key(
    store: &Store,
    audit: Audit<'_>,
    caller: &Caller,
    key: PreparedKey,
    project_id: Option<&str>,
    roles: &[String],
    memberships: &[Membership],
) -> Outcome<CreateApiKeyErrorCode, CreateApiKeyResult> {
    use CreateApiKeyErrorCode as Code;
    if store.key_by_token_hash(&key.token_hash).await?.is_some() {
        return Err(refuse(
            Code::InvalidTokenHash,
            "this tokenHash is already registered",
        ));
    }
    let prefix = key.token.as_deref().map(token::display_prefix);
    let new = NewKey {
        description: &key.description,
        project_id,
        token_hash: &key.token_hash,
        token_prefix: prefix.as_deref(),
        expires_at: key.expires_at,
        permissions: &key.permissions,
        visibility: key.visibility,
        owner_id: Some(caller.identity_id()),
        global_roles: roles,
        memberships,
    };
    let stored = match store.insert_key(new, audit).await {
        Err(StoreError::NameTaken) => {
            let whose = match key.visibility {
                Visibility::Personal => "of your personal keys",
                Visibility::OrgWide => "org-wide key of this scope",
            };
            return Err(refuse(
                Code::NameTaken,
                format!(
                    "an enabled {whose} is already named `{}` (names compare ignoring case)",
                    key.description
                ),
            ));
        }
        other => other?,
    };
    let identity = store
        .identity(&stored.identity_id)
        .await?
        .ok_or_else(|| StoreError::Corrupt("new key's identity is missing".into()))?;
    Ok(CreateApiKeyResult {
        api_key: ApiKeyWithToken {
            id: stored.id.clone(),
            token: key.token,
            identity,
            key: stored,
        },
    })
}

async fn set_enabled(
    ctx: &Context<'_>,
    id: &str,
    enabled: bool,
    action: &str,
) -> async_graphql::Result<Outcome<DisableApiKeyErrorCode, ApiKeyResult>> {
    use DisableApiKeyErrorCode as Code;
    let (caller, store) = (ctx.caller()?, &ctx.services()?.store);
    Ok(async {
        let not_found = || refuse(Code::KeyNotFound, "no API key with this id");
        let key = store.key(id).await?;
        let key = key.filter(|k| caller.can_see_key(k)).ok_or_else(not_found)?;
        caller
            .may_manage_key(&key)
            .map_err(|d| denied(Code::Forbidden, d))?;
        match store.set_key_enabled(id, enabled, audit(caller, action)).await {
            Ok(Some(toggled)) => Ok(ApiKeyResult {
                api_key: toggled.key,
                also_disabled: toggled.cascaded,
            }),
            Ok(None) => Err(not_found()),
            Err(StoreError::NameTaken) => Err(refuse(
                Code::NameTaken,
                format!(
                    "another enabled key named `{}` exists in this scope; disable or rename it first",
                    key.description
                ),
            )),
            Err(StoreError::LastSuperAdmin) => Err(refuse(
                Code::LastSuperAdmin,
                "this would leave no enabled super_admin key that never expires; create one \
                 (expiresIn: \"never\") first, or recover offline with `keydeck serve --recover-admin`",
            )),
            Err(e) => Err(e.into()),
        }
    }
    .await)
}

async fn change_roles(
    ctx: &Context<'_>,
    identity_id: &str,
    roles: &[String],
    grant: bool,
    action: &str,
) -> async_graphql::Result<Outcome<GlobalIdentityRolesErrorCode, IdentityResult>> {
    use GlobalIdentityRolesErrorCode as Code;
    let (caller, store) = (ctx.caller()?, &ctx.services()?.store);
    Ok(async {
        if let Some(bad) = roles.iter().find(|r| !authz::is_known_role(r)) {
            return Err(refuse(
                Code::InvalidRole,
                format!("`{bad}` is not a global role; see the `roles` query"),
            ));
        }
        caller
            .may_change_global_roles(roles)
            .map_err(|d| denied(Code::Forbidden, d))?;
        let not_found = || refuse(Code::IdentityNotFound, "no identity with this id");
        let identity = store.identity(identity_id).await?.ok_or_else(not_found)?;
        caller
            .may_change_identity(&store.global_roles(identity_id).await?)
            .map_err(|d| denied(Code::Forbidden, d))?;
        match store
            .change_global_roles(identity_id, roles, grant, audit(caller, action))
            .await
        {
            Ok(true) => Ok(IdentityResult { identity }),
            Ok(false) => Err(not_found()),
            Err(StoreError::LastSuperAdmin) => Err(refuse(
                Code::LastSuperAdmin,
                "this would leave no enabled super_admin key that never expires",
            )),
            Err(e) => Err(e.into()),
        }
    }
    .await)
}

enum MemberChange {
    Add(Vec<Membership>),
    Update(Vec<Membership>),
    Remove,
}

async fn change_member(
    ctx: &Context<'_>,
    project_slug: &str,
    identity_id: &str,
    change: MemberChange,
    action: &str,
) -> async_graphql::Result<Outcome<ProjectMemberErrorCode, ProjectMemberResult>> {
    use ProjectMemberErrorCode as Code;
    let (caller, store) = (ctx.caller()?, &ctx.services()?.store);
    Ok(async {
        let project = store.project_by_slug(project_slug).await?;
        let Some(project) = project.filter(|p| caller.can_see_project(&p.id)) else {
            return Err(refuse(
                Code::ProjectNotFound,
                format!("no project with slug `{project_slug}`"),
            ));
        };
        caller
            .may_manage_members(&project.id)
            .map_err(|d| denied(Code::Forbidden, d))?;
        let identity = store
            .identity(identity_id)
            .await?
            .ok_or_else(|| refuse(Code::IdentityNotFound, "no identity with this id"))?;
        let is_member = store
            .memberships_of(identity_id)
            .await?
            .iter()
            .any(|(p, _)| *p == project.id);
        let (memberships, needs_validation) = match change {
            MemberChange::Add(_) if is_member => {
                return Err(refuse(
                    Code::AlreadyMember,
                    "the identity is already a member; use updateProjectMember",
                ));
            }
            MemberChange::Update(_) | MemberChange::Remove if !is_member => {
                return Err(refuse(
                    Code::NotMember,
                    "the identity is not a member of this project",
                ));
            }
            MemberChange::Add(ms) | MemberChange::Update(ms) => (memberships::cleaned(ms), true),
            MemberChange::Remove => (Vec::new(), false),
        };
        if needs_validation {
            let problems =
                memberships::validate(&store.project_roles(&project.id).await?, &memberships);
            if memberships.is_empty() || !problems.is_empty() {
                return Err(Failure::Refused(MutationError {
                    code: Code::InvalidMembership,
                    developer_message: if memberships.is_empty() {
                        "give at least one membership; removeProjectMember removes a member".into()
                    } else {
                        "one or more memberships do not match the project's role definitions".into()
                    },
                    membership_validation: Some(problems),
                }));
            }
        }
        store
            .set_memberships(
                &project.id,
                identity_id,
                &memberships,
                audit(caller, action),
            )
            .await?;
        Ok(ProjectMemberResult {
            identity,
            memberships,
        })
    }
    .await)
}

/// Checks a new project's slug, name and role definitions; returns the name as it is stored
/// (trimmed, NFC).
fn validate_project(
    slug: &str,
    name: &str,
    roles: &[RoleDefinitionInput],
) -> Result<String, Failure<CreateProjectErrorCode>> {
    use CreateProjectErrorCode as Code;
    let slug_ok = (1..=64).contains(&slug.len())
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-');
    if !slug_ok {
        return Err(refuse(
            Code::InvalidSlug,
            "a slug has 1 to 64 characters of a-z, 0-9 and `-`, not starting with `-`",
        ));
    }
    let name = crate::text::clean_name(name, MAX_NAME_LEN)
        .map_err(|e| refuse(Code::InvalidName, format!("the project name {e}")))?;
    let identifier = |s: &str| {
        (1..=64).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    };
    for (i, role) in roles.iter().enumerate() {
        // Names that differ only in case would look like one role or variable to a reader.
        let same = |a: &str, b: &str| crate::text::name_key(a) == crate::text::name_key(b);
        let duplicate = roles[..i].iter().any(|r| same(&r.name, &role.name));
        let bad_variable = role
            .variables
            .iter()
            .enumerate()
            .any(|(j, v)| !identifier(v) || role.variables[..j].iter().any(|w| same(w, v)));
        if !identifier(&role.name) || duplicate || bad_variable {
            return Err(refuse(
                Code::InvalidRoleDefinition,
                format!(
                    "role `{}`: role and variable names are unique identifiers of a-z, A-Z, 0-9, `_`, `-`",
                    role.name
                ),
            ));
        }
    }
    Ok(name)
}
