//! Keys: creating them (name, TTL and expiry, permissions, visibility, a generated token or a
//! registered token hash, unique names) and enabling or disabling them.

use super::authz::Denied;
use super::memberships::{self, Mismatch};
use super::projects::{self, ProjectNotFound};
use super::roles::{self, UnknownRole};
use super::{MAX_NAME_LEN, audit};
use crate::server::auth::Caller;
use crate::server::model::{
    ApiKey, CreateApiKeyOptions, Identity, Membership, Permission, Timestamp, Visibility,
};
use crate::server::store::{NewKey, Store, StoreError, Toggled};
use crate::text::{self, NameError};
use crate::token;
use crate::ttl::{Ttl, TtlError};

/// What a new key is asked to be, whatever its scope.
pub struct KeyRequest {
    /// The key's name.
    pub description: String,
    /// The SHA-256 of a token the client chose; without it a token is generated.
    pub token_hash: Option<String>,
    pub options: CreateApiKeyOptions,
}

/// A key just created.
pub struct CreatedKey {
    pub key: ApiKey,
    /// The generated token, shown this once; `None` when the key was made from a token hash.
    pub token: Option<String>,
    pub identity: Identity,
}

#[derive(Debug, thiserror::Error)]
pub enum CreateKeyError {
    #[error("the key name {0}")]
    InvalidDescription(NameError),
    #[error(transparent)]
    InvalidTtl(#[from] ExpiryError),
    #[error("a key needs at least one of READ, WRITE")]
    NoPermissions,
    #[error("tokenHash must be the SHA-256 of the token as 64 hexadecimal characters")]
    MalformedTokenHash,
    #[error("this tokenHash is already registered")]
    TokenHashTaken,
    #[error(transparent)]
    UnknownRole(#[from] UnknownRole),
    #[error(transparent)]
    ProjectNotFound(#[from] ProjectNotFound),
    #[error(transparent)]
    Forbidden(#[from] Denied),
    #[error(transparent)]
    InvalidMemberships(#[from] Mismatch),
    /// Names compare trimmed, NFC and case-insensitively; a personal name is unique among its
    /// owner's personal keys of the scope, so the refusal does not reveal other people's keys.
    #[error(
        "an enabled {} is already named `{name}` (names compare ignoring case)",
        match .visibility {
            Visibility::Personal => "of your personal keys",
            Visibility::OrgWide => "org-wide key of this scope",
        }
    )]
    NameTaken {
        name: String,
        visibility: Visibility,
    },
    #[error("no randomness: {0}")]
    NoRandomness(rand::rand_core::OsError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a key cannot get the lifetime it asked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpiryError {
    #[error(
        "`{NEVER}` is only for super_admin keys created by a super admin; give a TTL such as 30d"
    )]
    NeverNotAllowed,
    #[error("{0}")]
    Syntax(TtlError),
    #[error("TTL {ttl} exceeds this service's maximum of {max}")]
    OverMaximum { ttl: Ttl, max: Ttl },
    #[error("a key cannot outlive the key creating it, which expires at {}", .0.rfc3339())]
    OutlivesCreator(Timestamp),
}

/// Creates a key of the project `project_slug` with `memberships` in it, with its audit entry
/// named `action`. `max_ttl` is the service's longest key lifetime (`None`: no limit).
pub async fn create_project_key(
    store: &Store,
    caller: &Caller,
    action: &str,
    max_ttl: Option<Ttl>,
    project_slug: &str,
    memberships: Vec<Membership>,
    request: KeyRequest,
) -> Result<CreatedKey, CreateKeyError> {
    let memberships = memberships::cleaned(memberships);
    let key = prepare(max_ttl, caller, request, false)?;
    let project = projects::visible::<CreateKeyError>(store, caller, project_slug).await?;
    caller.may_create_project_key(&project.id, &memberships, key.visibility, &key.permissions)?;
    memberships::check::<CreateKeyError>(store, &project.id, &memberships).await?;
    insert(
        store,
        caller,
        action,
        key,
        Some(&project.id),
        &[],
        &memberships,
    )
    .await
}

/// Creates a key holding the global `roles`, with its audit entry named `action`.
pub async fn create_global_key(
    store: &Store,
    caller: &Caller,
    action: &str,
    max_ttl: Option<Ttl>,
    roles: &[String],
    request: KeyRequest,
) -> Result<CreatedKey, CreateKeyError> {
    let grants_super_admin = roles.iter().any(|r| r == crate::roles::SUPER_ADMIN);
    let key = prepare(max_ttl, caller, request, grants_super_admin)?;
    roles::known(roles)?;
    caller.may_create_global_key(roles, key.visibility, &key.permissions)?;
    insert(store, caller, action, key, None, roles, &[]).await
}

#[derive(Debug, thiserror::Error)]
pub enum SetEnabledError {
    /// No such key, or one the caller may not see.
    #[error("no API key with this id")]
    KeyNotFound,
    #[error(transparent)]
    Forbidden(#[from] Denied),
    /// Enabling a key past its expiry: it could not authenticate anyway.
    #[error("this key has expired and cannot be enabled again; create a new key")]
    KeyExpired,
    /// Enabling a key an admin disabled, without that admin's authority over it.
    #[error(
        "an admin disabled this key (see disabledBy); only someone with that authority over it \
         (a super admin, or the project's admin) may enable it"
    )]
    DisabledByAdmin,
    /// Enabling: another enabled key of the same scope took the name meanwhile.
    #[error("another enabled key named `{0}` exists in this scope; disable or rename it first")]
    NameTaken(String),
    #[error(
        "this would leave no enabled super_admin key that never expires; create one \
         (expiresIn: \"never\") first, or recover offline with `keydeck serve --recover-admin`"
    )]
    LastSuperAdmin,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Enables or disables the key `id`, with its audit entry named `action`. Disabling also
/// disables the personal keys it created, at any depth (the store does it in the same
/// transaction); enabling brings none of them back.
pub async fn set_enabled(
    store: &Store,
    caller: &Caller,
    action: &str,
    id: &str,
    enabled: bool,
) -> Result<Toggled, SetEnabledError> {
    let key = store.key(id).await?;
    let key = key
        .filter(|k| caller.can_see_key(k))
        .ok_or(SetEnabledError::KeyNotFound)?;
    caller.may_manage_key(&key)?;
    let authority = caller.authority_over(&key);
    if enabled && key.disabled_as.is_some_and(|by| by > authority) {
        return Err(SetEnabledError::DisabledByAdmin);
    }
    if enabled && key.is_expired_at(Timestamp::now()) {
        return Err(SetEnabledError::KeyExpired);
    }
    match store
        .set_key_enabled(id, enabled, authority, audit(caller, action))
        .await
    {
        Ok(Some(toggled)) => Ok(toggled),
        Ok(None) => Err(SetEnabledError::KeyNotFound),
        Err(StoreError::NameTaken) => Err(SetEnabledError::NameTaken(key.description)),
        Err(StoreError::LastSuperAdmin) => Err(SetEnabledError::LastSuperAdmin),
        Err(e) => Err(e.into()),
    }
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

fn prepare(
    max_ttl: Option<Ttl>,
    caller: &Caller,
    request: KeyRequest,
    grants_super_admin: bool,
) -> Result<PreparedKey, CreateKeyError> {
    let KeyRequest {
        description,
        token_hash,
        options,
    } = request;
    let description =
        text::clean_name(&description, MAX_NAME_LEN).map_err(CreateKeyError::InvalidDescription)?;
    let expires_at = expiry(
        max_ttl,
        caller,
        options.expires_in.as_deref(),
        grants_super_admin,
    )?;
    let mut permissions = options
        .permissions
        .unwrap_or_else(|| vec![Permission::Read, Permission::Write]);
    permissions.dedup();
    if permissions.is_empty() {
        return Err(CreateKeyError::NoPermissions);
    }
    let (token, token_hash) = match token_hash {
        Some(hash) if token::is_valid_hash(&hash) => (None, hash.to_ascii_lowercase()),
        Some(_) => return Err(CreateKeyError::MalformedTokenHash),
        None => {
            let token = token::generate().map_err(CreateKeyError::NoRandomness)?;
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
    max_ttl: Option<Ttl>,
    caller: &Caller,
    expires_in: Option<&str>,
    grants_super_admin: bool,
) -> Result<Option<Timestamp>, ExpiryError> {
    if expires_in.is_some_and(|t| t.trim().eq_ignore_ascii_case(NEVER)) {
        return if caller.is_super_admin() && grants_super_admin {
            Ok(None)
        } else {
            Err(ExpiryError::NeverNotAllowed)
        };
    }
    let requested = expires_in
        .map(|text| text.parse::<Ttl>().map_err(ExpiryError::Syntax))
        .transpose()?;
    let ttl = match (requested, max_ttl) {
        (Some(ttl), Some(max)) if ttl > max => {
            return Err(ExpiryError::OverMaximum { ttl, max });
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
        _ => Err(ExpiryError::OutlivesCreator(limit)),
    }
}

/// Stores the prepared key. A token hash is unique across all keys; a name, among the enabled
/// keys of its scope (decided by the store in the insert's transaction).
async fn insert(
    store: &Store,
    caller: &Caller,
    action: &str,
    key: PreparedKey,
    project_id: Option<&str>,
    roles: &[String],
    memberships: &[Membership],
) -> Result<CreatedKey, CreateKeyError> {
    if store.key_by_token_hash(&key.token_hash).await?.is_some() {
        return Err(CreateKeyError::TokenHashTaken);
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
    let stored = match store.insert_key(new, audit(caller, action)).await {
        Err(StoreError::NameTaken) => {
            return Err(CreateKeyError::NameTaken {
                name: key.description,
                visibility: key.visibility,
            });
        }
        other => other?,
    };
    let identity = store
        .identity(&stored.identity_id)
        .await?
        .ok_or_else(|| StoreError::Corrupt("new key's identity is missing".into()))?;
    Ok(CreatedKey {
        key: stored,
        token: key.token,
        identity,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::domain::testing;

    const HOUR: i64 = 3600;

    fn ttl(text: &str) -> Ttl {
        text.parse().expect("a valid TTL")
    }

    fn caller(expires_at: Option<Timestamp>, roles: &[&str]) -> Caller {
        testing::caller(expires_at, roles, Vec::new())
    }

    #[test]
    fn never_is_only_for_super_admin_keys_made_by_super_admins() {
        let admin = caller(None, &[crate::roles::SUPER_ADMIN]);
        let max = Some(ttl("30d"));
        assert_eq!(expiry(max, &admin, Some(" Never "), true), Ok(None));
        assert_eq!(
            expiry(max, &admin, Some("never"), false),
            Err(ExpiryError::NeverNotAllowed)
        );
        let project_admin = caller(None, &[crate::roles::PROJECT_ADMIN]);
        assert_eq!(
            expiry(max, &project_admin, Some("never"), true),
            Err(ExpiryError::NeverNotAllowed)
        );
    }

    #[test]
    fn a_ttl_stays_within_the_services_maximum() {
        let admin = caller(None, &[crate::roles::SUPER_ADMIN]);
        let max = Some(ttl("30d"));
        assert_eq!(
            expiry(max, &admin, Some("31d"), false),
            Err(ExpiryError::OverMaximum {
                ttl: ttl("31d"),
                max: ttl("30d")
            })
        );
        assert!(matches!(
            expiry(max, &admin, Some("soon"), false),
            Err(ExpiryError::Syntax(_))
        ));
        // Without a maximum and without `expiresIn`, the key never expires.
        assert_eq!(expiry(None, &admin, None, false), Ok(None));
    }

    #[test]
    fn without_expires_in_a_key_gets_the_longest_life_it_may_have() {
        let before = Timestamp::now().plus_seconds(30 * 24 * HOUR);
        let got = expiry(Some(ttl("30d")), &caller(None, &[]), None, false);
        let after = Timestamp::now().plus_seconds(30 * 24 * HOUR);
        assert!(got.is_ok_and(|at| at.is_some_and(|at| before <= at && at <= after)));
        // A creator expiring sooner than the maximum passes on its own expiry.
        let limit = Timestamp::now().plus_seconds(HOUR);
        let short_lived = caller(Some(limit), &[]);
        assert_eq!(
            expiry(Some(ttl("30d")), &short_lived, None, false),
            Ok(Some(limit))
        );
    }

    #[test]
    fn a_key_never_outlives_the_key_creating_it_super_admins_aside() {
        let limit = Timestamp::now().plus_seconds(HOUR);
        let max = Some(ttl("30d"));
        assert_eq!(
            expiry(max, &caller(Some(limit), &[]), Some("2h"), false),
            Err(ExpiryError::OutlivesCreator(limit))
        );
        assert!(expiry(max, &caller(Some(limit), &[]), Some("30m"), false).is_ok());
        let admin = caller(Some(limit), &[crate::roles::SUPER_ADMIN]);
        assert!(expiry(max, &admin, Some("2h"), false).is_ok_and(|at| at > Some(limit)));
    }
}
