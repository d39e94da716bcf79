//! Authentication: from an `Authorization` header to a [`Caller`].
//!
//! Both `Bearer <token>` and pganalyze's `Token <token>` are accepted. Our own `kd_` tokens
//! are checked for shape and checksum before any lookup; tokens registered through
//! `tokenHash` may have any shape and are only hashed. Every failure past "no header"
//! answers the same message, so a caller learns nothing about which keys exist.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;

use crate::server::model::{ApiKey, Identity, Membership, Timestamp, Visibility};
use crate::server::store::{MINUTE, Store, StoreError, UsageCount};
use crate::token;

/// `lastUsedAt` is written at most this often per key.
const LAST_USED_RESOLUTION_SECS: i64 = 60;
/// Longest custom token (registered via tokenHash) we bother hashing.
const MAX_TOKEN_LEN: usize = 1024;

/// The authenticated key behind a request, with its identity, the identity's roles and
/// memberships: everything `me` answers, so a cached principal answers it without the store.
#[derive(Debug, Clone)]
pub struct Caller {
    pub key: ApiKey,
    pub identity: Identity,
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

/// Finds the enabled, unexpired key for `token` and loads what authorization needs, from the
/// store (no cache, no record of use): what [`Authenticator`] does on a cache miss.
pub async fn authenticate(store: &Store, token: &str) -> Result<Caller, AuthError> {
    check_format(token)?;
    let key = lookup(store, &token::hash(token)).await?;
    let now = Timestamp::now();
    if !key.enabled || key.is_expired_at(now) {
        return Err(AuthError::Rejected);
    }
    principal(store, key).await
}

/// Our own tokens carry a checksum: a mistyped or forged one is refused before any lookup.
fn check_format(token: &str) -> Result<(), AuthError> {
    if token::is_keydeck_token(token) && token::verify_format(token).is_err() {
        return Err(AuthError::Rejected);
    }
    Ok(())
}

async fn lookup(store: &Store, token_hash: &str) -> Result<ApiKey, AuthError> {
    store
        .key_by_token_hash(token_hash)
        .await?
        .ok_or(AuthError::Rejected)
}

/// What authorization needs of `key`. A personal key whose chain of creators holds a disabled
/// or expired key is refused: a personal key can do no more than its owner can do now.
async fn principal(store: &Store, key: ApiKey) -> Result<Caller, AuthError> {
    if key.visibility == Visibility::Personal
        && key.owner_id.is_some()
        && !store
            .creators_are_live(&key.identity_id, Timestamp::now())
            .await?
    {
        return Err(AuthError::Rejected);
    }
    let identity = store
        .identity(&key.identity_id)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("key {} has no identity", key.id)))?;
    let global_roles = store.global_roles(&key.identity_id).await?;
    let memberships = store.memberships_of(&key.identity_id).await?;
    Ok(Caller {
        key,
        identity,
        global_roles,
        memberships,
    })
}

/// Most principals kept in memory; past it the cache starts over.
const MAX_CACHED: usize = 10_000;
/// How long uses are gathered before their `lastUsedAt` and counts are written, in one flush.
const LAST_USED_FLUSH: Duration = Duration::from_secs(1);

/// Authentication from memory: a verified key's principal (key, roles, memberships) is kept
/// until anything that could change it is committed (the store's generation moves) and for at
/// most [`MAX_STALENESS`], so the hot path is a hash and a map lookup. Disabled and expired
/// keys are refused exactly as without the cache: enabled state comes with the generation,
/// expiry is checked on every request. Uses of keys are gathered and written together.
///
/// The staleness bound: a change through this process is seen by its next request; a change
/// through another replica on the same PostgreSQL store is seen as soon as its NOTIFY arrives
/// (the generation moves), and in any case within [`MAX_STALENESS`], one second, also when
/// the listening connection is down or the change was made by hand (psql, sqlite3).
pub struct Authenticator {
    store: Store,
    principals: RwLock<HashMap<String, Cached>>,
    uses: Arc<Mutex<Uses>>,
}

struct Cached {
    caller: Caller,
    generation: u64,
    loaded: Instant,
}

/// The longest a principal is trusted without reading the store again, whatever the
/// generation says: the bound on staleness when the change happened elsewhere (another
/// process on the same store) and was not announced, or its announcement was lost.
pub const MAX_STALENESS: Duration = Duration::from_secs(1);

/// Keys used since the last write of `lastUsedAt`, when each was last noted, and every key's
/// requests and refusals per minute since the last flush: one flush writes them all.
#[derive(Default)]
struct Uses {
    pending: Vec<String>,
    noted: HashMap<String, i64>,
    /// Key id → (start of the minute, requests, refused) per minute, drained by the flush.
    counts: HashMap<String, Vec<(i64, i64, i64)>>,
    /// Whether a write of `pending` and `counts` is already scheduled.
    scheduled: bool,
}

/// Most (key, minute) counters gathered between two flushes; past it they are written at once
/// rather than grown (only a flood of distinct keys within one second gets there).
const MAX_COUNTERS: usize = 100_000;

impl Authenticator {
    pub fn new(store: Store) -> Self {
        Authenticator {
            store,
            principals: RwLock::new(HashMap::new()),
            uses: Arc::new(Mutex::new(Uses::default())),
        }
    }

    /// The caller behind `token`, refused when malformed, unknown, disabled or expired.
    pub async fn authenticate(&self, token: &str) -> Result<Caller, AuthError> {
        check_format(token)?;
        let hash = token::hash(token);
        let now = Timestamp::now();
        let caller = if let Some(caller) = self.cached(&hash) {
            caller
        } else {
            let generation = self.store.generation();
            let caller = principal(&self.store, lookup(&self.store, &hash).await?).await?;
            self.remember(hash, caller.clone(), generation);
            caller
        };
        if !caller.key.enabled || caller.key.is_expired_at(now) {
            return Err(AuthError::Rejected);
        }
        self.record_use(&caller.key, now);
        Ok(caller)
    }

    fn cached(&self, hash: &str) -> Option<Caller> {
        let principals = self.principals.read().ok()?;
        let cached = principals.get(hash)?;
        let fresh =
            cached.generation == self.store.generation() && cached.loaded.elapsed() < MAX_STALENESS;
        fresh.then(|| cached.caller.clone())
    }

    /// Keeps a principal loaded at `generation` (read before loading, so a change committed
    /// meanwhile makes it stale at once rather than never).
    fn remember(&self, hash: String, caller: Caller, generation: u64) {
        if let Ok(mut principals) = self.principals.write() {
            if principals.len() >= MAX_CACHED {
                principals.clear();
            }
            let loaded = Instant::now();
            principals.insert(
                hash,
                Cached {
                    caller,
                    generation,
                    loaded,
                },
            );
        }
    }

    /// Counts a request of `key` in its minute, and notes the use for `lastUsedAt` at most
    /// once a minute per key; what was gathered within a second is written together, in one
    /// flush, off the request's path.
    fn record_use(&self, key: &ApiKey, now: Timestamp) {
        let Ok(mut uses) = self.uses.lock() else {
            return;
        };
        count(&mut uses, &key.id, now, 1, 0);
        let last = uses
            .noted
            .get(&key.id)
            .copied()
            .or(key.last_used_at.map(|t| t.0));
        if last.is_none_or(|at| now.0 - at >= LAST_USED_RESOLUTION_SECS) {
            if uses.noted.len() >= MAX_CACHED {
                uses.noted.clear();
            }
            uses.noted.insert(key.id.clone(), now.0);
            uses.pending.push(key.id.clone());
        }
        self.schedule_flush(&mut uses);
    }

    /// Counts a request of key `key_id` (already counted as a request) as refused: the gate or
    /// the domain answered FORBIDDEN or the like to its authenticated caller.
    pub fn record_refusal(&self, key_id: &str) {
        let Ok(mut uses) = self.uses.lock() else {
            return;
        };
        count(&mut uses, key_id, Timestamp::now(), 0, 1);
        self.schedule_flush(&mut uses);
    }

    /// Starts the flush that writes what `uses` gathered, unless one is already waiting.
    fn schedule_flush(&self, uses: &mut Uses) {
        if std::mem::replace(&mut uses.scheduled, true) {
            return;
        }
        let delay = if uses.counts.len() >= MAX_COUNTERS {
            Duration::ZERO
        } else {
            LAST_USED_FLUSH
        };
        let (shared, store) = (self.uses.clone(), self.store.clone());
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            flush(&shared, &store).await;
        });
    }
}

/// Adds `requests` and `refused` to `key_id`'s counters of the minute of `now`. A key
/// already counted allocates nothing.
fn count(uses: &mut Uses, key_id: &str, now: Timestamp, requests: i64, refused: i64) {
    let minute = now.0.div_euclid(MINUTE) * MINUTE;
    let minutes = match uses.counts.get_mut(key_id) {
        Some(minutes) => minutes,
        None => uses.counts.entry(key_id.to_owned()).or_default(),
    };
    match minutes.iter_mut().find(|(m, _, _)| *m == minute) {
        Some(slot) => {
            slot.1 += requests;
            slot.2 += refused;
        }
        None => minutes.push((minute, requests, refused)),
    }
}

/// Takes what `shared` gathered and writes it: `lastUsedAt` and the minute counters, in one
/// flush. Counters that could not be written are lost (and logged), never written twice.
async fn flush(shared: &Mutex<Uses>, store: &Store) {
    let (used, counts) = match shared.lock() {
        Ok(mut uses) => {
            uses.scheduled = false;
            (
                std::mem::take(&mut uses.pending),
                std::mem::take(&mut uses.counts),
            )
        }
        Err(_) => return,
    };
    if used.is_empty() && counts.is_empty() {
        return;
    }
    let mut counts: Vec<UsageCount> = counts
        .into_iter()
        .flat_map(|(key_id, minutes)| {
            minutes
                .into_iter()
                .map(move |(minute, requests, refused)| UsageCount {
                    key_id: key_id.clone(),
                    minute,
                    requests,
                    refused,
                })
        })
        .collect();
    if let Err(e) = store
        .record_usage(&used, Timestamp::now(), &mut counts)
        .await
    {
        tracing::warn!(error = %e, "could not record key use");
    }
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
