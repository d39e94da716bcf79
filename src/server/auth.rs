//! Authentication: from an `Authorization` header to a [`Caller`].
//!
//! Both `Bearer <token>` and pganalyze's `Token <token>` are accepted. Our own `kd_` tokens
//! are checked for shape and checksum before any lookup; tokens registered through
//! `tokenHash` may have any shape and are only hashed. Every failure past "no header"
//! answers the same message, so a caller learns nothing about which keys exist.

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;

use crate::server::model::{ApiKey, Membership, Timestamp};
use crate::server::store::{Store, StoreError};
use crate::token;

/// `lastUsedAt` is written at most this often per key.
const LAST_USED_RESOLUTION_SECS: i64 = 60;
/// Longest custom token (registered via tokenHash) we bother hashing.
const MAX_TOKEN_LEN: usize = 1024;

/// The authenticated key behind a request, with the identity's roles and memberships.
#[derive(Debug, Clone)]
pub struct Caller {
    pub key: ApiKey,
    pub global_roles: Vec<String>,
    /// (project id, memberships in that project)
    pub memberships: Vec<(String, Vec<Membership>)>,
}

impl Caller {
    pub fn identity_id(&self) -> &str {
        &self.key.identity_id
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(
        "authentication required: send `Authorization: Bearer <token>` or `Authorization: Token <token>`"
    )]
    Missing,
    #[error("authentication failed: the API token is malformed, unknown, disabled or expired")]
    Rejected,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Extracts the token from `Bearer <t>` or `Token <t>` (scheme case-insensitive).
pub fn token_from_headers(headers: &HeaderMap) -> Result<&str, AuthError> {
    let value = headers.get(AUTHORIZATION).ok_or(AuthError::Missing)?;
    let value = value.to_str().map_err(|_| AuthError::Rejected)?.trim();
    let (scheme, token) = value.split_once(' ').ok_or(AuthError::Rejected)?;
    if !scheme.eq_ignore_ascii_case("bearer") && !scheme.eq_ignore_ascii_case("token") {
        return Err(AuthError::Rejected);
    }
    let token = token.trim();
    if token.is_empty() || token.len() > MAX_TOKEN_LEN || token.contains(char::is_whitespace) {
        return Err(AuthError::Rejected);
    }
    Ok(token)
}

/// Finds the enabled, unexpired key for `token` and loads what authorization needs.
pub async fn authenticate(store: &Store, token: &str) -> Result<Caller, AuthError> {
    if token::is_keydeck_token(token) && token::verify_format(token).is_err() {
        return Err(AuthError::Rejected);
    }
    let key = store
        .key_by_token_hash(&token::hash(token))
        .await?
        .ok_or(AuthError::Rejected)?;
    let now = Timestamp::now();
    if !key.enabled || key.is_expired_at(now) {
        return Err(AuthError::Rejected);
    }
    if key
        .last_used_at
        .is_none_or(|at| now.0 - at.0 >= LAST_USED_RESOLUTION_SECS)
    {
        let store = store.clone();
        let id = key.id.clone();
        tokio::spawn(async move {
            if let Err(e) = store.touch_last_used(&id, now).await {
                tracing::warn!(error = %e, "could not record key use");
            }
        });
    }
    let global_roles = store.global_roles(&key.identity_id).await?;
    let memberships = store.memberships_of(&key.identity_id).await?;
    Ok(Caller {
        key,
        global_roles,
        memberships,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn both_schemes_are_accepted() {
        assert_eq!(token_from_headers(&headers("Bearer abc")).unwrap(), "abc");
        assert_eq!(token_from_headers(&headers("Token abc")).unwrap(), "abc");
        assert_eq!(token_from_headers(&headers("token  abc ")).unwrap(), "abc");
    }

    #[test]
    fn other_shapes_are_rejected() {
        assert!(matches!(
            token_from_headers(&HeaderMap::new()),
            Err(AuthError::Missing)
        ));
        for bad in ["Basic abc", "Bearer", "Bearer a b", "abc"] {
            assert!(
                matches!(token_from_headers(&headers(bad)), Err(AuthError::Rejected)),
                "{bad}"
            );
        }
    }
}
