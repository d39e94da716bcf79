//! Rotating a key (`rotateApiKey`): a new key with everything the old one holds (name, scope,
//! global roles and memberships, permissions, visibility, owner) and a fresh lifetime, while
//! the old one works on for a grace period and then expires.
//!
//! Who may rotate a key is who may disable it ([`Caller::may_manage_key`]), within what the
//! chain of creators allows ([`access::check_change`]: a key cannot rotate a key above it).
//! The successor's lifetime is the old key's (`expiresAt - createdAt`), bounded as a new key's
//! is: by the service's maximum and by the caller's own expiry (super admins aside); a key
//! that never expires is replaced by one that never expires only where creation would allow
//! it (a super admin rotating a `super_admin` key), otherwise by the longest life allowed.

use super::authz::Denied;
use super::{access, audit};
use crate::server::auth::Caller;
use crate::server::model::{ApiKey, Identity, Timestamp};
use crate::server::store::{NewKey, RotateOutcome, Rotation, Store, StoreError};
use crate::token;
use crate::ttl::{self, Ttl, TtlError};

/// The grace period when none is given: a day, or the service's maximum if that is shorter.
pub const DEFAULT_GRACE: &str = "24h";

/// What a rotation is asked for.
pub struct RotateRequest {
    /// The key to replace.
    pub id: String,
    /// How long the old key keeps working (Grafana syntax, `0s` for not at all); default
    /// [`DEFAULT_GRACE`].
    pub grace_period: Option<String>,
    /// The SHA-256 of a token the client chose for the new key; without it one is generated.
    pub token_hash: Option<String>,
}

/// A rotation done.
pub struct RotatedKey {
    pub key: ApiKey,
    /// The new key's generated token, shown this once; `None` when made from a token hash.
    pub token: Option<String>,
    pub identity: Identity,
    /// The old key, with its new expiry and `rotatedTo`.
    pub previous: ApiKey,
}

#[derive(Debug, thiserror::Error)]
pub enum RotateKeyError {
    /// No such key, or one the caller may not see.
    #[error("no API key with this id")]
    KeyNotFound,
    #[error(transparent)]
    Forbidden(#[from] Denied),
    #[error("this key is disabled; enable it first, or create a new key")]
    KeyDisabled,
    #[error("this key has expired; create a new key")]
    KeyExpired,
    #[error("this key was already rotated to {0}; rotate that key instead")]
    KeyRotated(String),
    #[error("gracePeriod: {0}")]
    InvalidGracePeriod(TtlError),
    #[error("gracePeriod {grace} exceeds this service's maximum key lifetime of {max}")]
    GraceOverMaximum { grace: Ttl, max: Ttl },
    #[error("tokenHash must be the SHA-256 of the token as 64 hexadecimal characters")]
    MalformedTokenHash,
    #[error("this tokenHash is already registered")]
    TokenHashTaken,
    #[error(
        "this would leave no enabled super_admin key that never expires; create one \
         (expiresIn: \"never\") first, or recover offline with `keydeck serve --recover-admin`"
    )]
    LastSuperAdmin,
    #[error("no randomness: {0}")]
    NoRandomness(rand::rand_core::OsError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Rotates the key `request.id`, with its audit entry named `action`. `max_ttl` is the
/// service's longest key lifetime (`None`: no limit).
pub async fn rotate(
    store: &Store,
    caller: &Caller,
    action: &str,
    max_ttl: Option<Ttl>,
    request: RotateRequest,
) -> Result<RotatedKey, RotateKeyError> {
    let key = store
        .key(&request.id)
        .await?
        .filter(|k| caller.can_see_key(k))
        .ok_or(RotateKeyError::KeyNotFound)?;
    caller.may_manage_key(&key)?;
    access::check_change::<RotateKeyError>(store, caller, &key.identity_id, |_| {}).await?;
    let now = Timestamp::now();
    rotatable(&key, now)?;
    let grace = grace_seconds(max_ttl, request.grace_period.as_deref())?;
    let grants = store.grants(&key.identity_id).await?;
    let expires_at = fresh_expiry(max_ttl, caller, &key, grants.is_super_admin(), now);
    let (token, token_hash) = match request.token_hash {
        Some(hash) if token::is_valid_hash(&hash) => (None, hash.to_ascii_lowercase()),
        Some(_) => return Err(RotateKeyError::MalformedTokenHash),
        None => {
            let token = token::generate().map_err(RotateKeyError::NoRandomness)?;
            let hash = token::hash(&token);
            (Some(token), hash)
        }
    };
    if store.key_by_token_hash(&token_hash).await?.is_some() {
        return Err(RotateKeyError::TokenHashTaken);
    }
    let prefix = token.as_deref().map(token::display_prefix);
    let rotation = Rotation {
        old_id: &key.id,
        new: NewKey {
            description: &key.description,
            project_id: key.project_id.as_deref(),
            token_hash: &token_hash,
            token_prefix: prefix.as_deref(),
            expires_at,
            permissions: &key.permissions,
            visibility: key.visibility,
            owner_id: key.owner_id.as_deref(),
            global_roles: &[],
            memberships: &[],
        },
        old_expires_at: now.plus_seconds(grace),
    };
    let rotated = match store.rotate_key(rotation, audit(caller, action)).await {
        Ok(RotateOutcome::Rotated(rotated)) => rotated,
        Ok(RotateOutcome::NotFound) => return Err(RotateKeyError::KeyNotFound),
        Ok(RotateOutcome::NotRotatable(now_is)) => {
            rotatable(&now_is, Timestamp::now())?;
            return Err(RotateKeyError::KeyNotFound);
        }
        Err(StoreError::LastSuperAdmin) => return Err(RotateKeyError::LastSuperAdmin),
        Err(e) => return Err(e.into()),
    };
    let identity = store
        .identity(&rotated.key.identity_id)
        .await?
        .ok_or_else(|| StoreError::Corrupt("new key's identity is missing".into()))?;
    Ok(RotatedKey {
        key: rotated.key,
        token,
        identity,
        previous: rotated.previous,
    })
}

/// Refuses a key that cannot be rotated at `now`: disabled, expired, or rotated already.
fn rotatable(key: &ApiKey, now: Timestamp) -> Result<(), RotateKeyError> {
    if let Some(successor) = &key.rotated_to {
        return Err(RotateKeyError::KeyRotated(successor.clone()));
    }
    if !key.enabled {
        return Err(RotateKeyError::KeyDisabled);
    }
    if key.is_expired_at(now) {
        return Err(RotateKeyError::KeyExpired);
    }
    Ok(())
}

/// The grace period in seconds: `text` (default [`DEFAULT_GRACE`], or the maximum if that is
/// shorter), at most the service's maximum.
fn grace_seconds(max_ttl: Option<Ttl>, text: Option<&str>) -> Result<i64, RotateKeyError> {
    let Some(text) = text else {
        let default =
            ttl::parse_grace(DEFAULT_GRACE).map_err(RotateKeyError::InvalidGracePeriod)?;
        return Ok(max_ttl.map_or(default, |max| default.min(max.seconds())));
    };
    let seconds = ttl::parse_grace(text).map_err(RotateKeyError::InvalidGracePeriod)?;
    match (Ttl::from_seconds(seconds), max_ttl) {
        (Some(grace), Some(max)) if grace > max => {
            Err(RotateKeyError::GraceOverMaximum { grace, max })
        }
        _ => Ok(seconds),
    }
}

/// When the successor of `old` expires: after the old key's lifetime from `now`, within the
/// service's maximum and the caller's own expiry (super admins aside). A key that never
/// expires keeps never expiring only for a super admin rotating a key that holds
/// `super_admin` (as `expiresIn: "never"` allows); otherwise it gets the longest life allowed.
fn fresh_expiry(
    max_ttl: Option<Ttl>,
    caller: &Caller,
    old: &ApiKey,
    holds_super_admin: bool,
    now: Timestamp,
) -> Option<Timestamp> {
    let lifetime = old
        .expires_at
        .map(|at| at.0.saturating_sub(old.created_at.0).max(1));
    let never = lifetime.is_none() && caller.is_super_admin() && holds_super_admin;
    if never {
        return None;
    }
    let seconds = match (lifetime, max_ttl) {
        (Some(life), Some(max)) => Some(life.min(max.seconds())),
        (Some(life), None) => Some(life),
        (None, max) => max.map(Ttl::seconds),
    };
    let wanted = seconds.map(|s| now.plus_seconds(s));
    match caller.key.expires_at {
        Some(limit) if !caller.is_super_admin() => Some(wanted.map_or(limit, |at| at.min(limit))),
        _ => wanted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::roles;
    use crate::server::domain::testing;

    const HOUR: i64 = 3600;
    const DAY: i64 = 24 * HOUR;

    fn ttl(text: &str) -> Ttl {
        text.parse().expect("a valid TTL")
    }

    fn key_living(lifetime: Option<i64>) -> ApiKey {
        let mut key = testing::caller(None, &[], Vec::new()).key;
        key.created_at = Timestamp(1_000_000);
        key.expires_at = lifetime.map(|l| Timestamp(1_000_000 + l));
        key
    }

    #[test]
    fn the_grace_period_defaults_to_a_day_and_stays_within_the_maximum() {
        assert_eq!(grace_seconds(Some(ttl("30d")), None).ok(), Some(DAY));
        assert_eq!(grace_seconds(Some(ttl("1h")), None).ok(), Some(HOUR));
        assert_eq!(grace_seconds(None, Some("0s")).ok(), Some(0));
        assert!(matches!(
            grace_seconds(Some(ttl("30d")), Some("31d")),
            Err(RotateKeyError::GraceOverMaximum { .. })
        ));
        assert!(matches!(
            grace_seconds(None, Some("soon")),
            Err(RotateKeyError::InvalidGracePeriod(_))
        ));
    }

    #[test]
    fn the_successor_lives_as_long_as_the_old_key_did_within_the_bounds() {
        let now = Timestamp(2_000_000);
        let admin = testing::caller(None, &[roles::SUPER_ADMIN], Vec::new());
        let week = key_living(Some(7 * DAY));
        assert_eq!(
            fresh_expiry(Some(ttl("30d")), &admin, &week, false, now),
            Some(now.plus_seconds(7 * DAY))
        );
        let year = key_living(Some(365 * DAY));
        assert_eq!(
            fresh_expiry(Some(ttl("30d")), &admin, &year, false, now),
            Some(now.plus_seconds(30 * DAY))
        );
        // A caller expiring sooner passes on its own expiry (super admins aside).
        let limit = now.plus_seconds(HOUR);
        let short = testing::caller(Some(limit), &[roles::PROJECT_ADMIN], Vec::new());
        assert_eq!(
            fresh_expiry(Some(ttl("30d")), &short, &week, false, now),
            Some(limit)
        );
    }

    #[test]
    fn never_stays_never_only_where_creation_allows_it() {
        let now = Timestamp(2_000_000);
        let admin = testing::caller(None, &[roles::SUPER_ADMIN], Vec::new());
        let forever = key_living(None);
        assert_eq!(
            fresh_expiry(Some(ttl("30d")), &admin, &forever, true, now),
            None
        );
        assert_eq!(
            fresh_expiry(Some(ttl("30d")), &admin, &forever, false, now),
            Some(now.plus_seconds(30 * DAY))
        );
    }
}
