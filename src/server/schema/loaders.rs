//! Relation fields resolved in batches (async-graphql's dataloader): a page of 500 keys asks
//! for their 500 identities in one query, not 500.
//!
//! One loader per request: it remembers what this request loaded and nothing longer (a
//! disabled key must not linger). A listing primes it with what its selection will ask of the
//! page ([`prime_keys`], [`prime_identities`]), one query per relation, so that the number of
//! queries does not depend on how quickly the resolvers of 500 rows reach the loader; the
//! loader's own time-window batching covers everything else.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_graphql::Lookahead;
use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};

use crate::server::auth::Caller;
use crate::server::domain::usage::{KeyUsagePoint, UsageWindow, minutes_kept_from};
use crate::server::model::{ApiKey, Identity, Membership, Project, RoleDefinition, Timestamp};
use crate::server::store::{Store, StoreError, UsageRow};

use super::when;

/// How long the loader waits to gather the keys of one batch.
const BATCH_DELAY: Duration = Duration::from_millis(1);
/// Largest batch: keeps each `IN (…)` list well under SQLite's bind limit.
const MAX_BATCH: usize = 500;

/// What resolvers load relations through: one per request.
pub type Loaders = DataLoader<StoreLoader, HashMapCache>;

fn loaders(store: Store) -> Loaders {
    DataLoader::with_cache(StoreLoader { store }, tokio::spawn, HashMapCache::default())
        .delay(BATCH_DELAY)
        .max_batch_size(MAX_BATCH)
}

/// A request's [`Loaders`], made when a resolver first needs one: most requests of a busy
/// client (`{ me { id roles } }`) never do, and making and dropping a loader costs more than
/// answering them.
pub struct RequestLoaders {
    store: Store,
    loaders: tokio::sync::OnceCell<Loaders>,
}

impl RequestLoaders {
    pub fn new(store: Store) -> Self {
        RequestLoaders {
            store,
            loaders: tokio::sync::OnceCell::new(),
        }
    }

    /// The request's loaders, primed with what `caller` holds about itself.
    pub async fn get(&self, caller: &Caller) -> &Loaders {
        self.loaders
            .get_or_init(|| async {
                let loaders = loaders(self.store.clone());
                prime_caller(&loaders, caller).await;
                loaders
            })
            .await
    }
}

/// Feeds what the authenticated caller already holds about its own identity (key, roles,
/// memberships), so relations of `me` cost no query.
async fn prime_caller(loaders: &Loaders, caller: &Caller) {
    let id = caller.identity_id().to_owned();
    loaders
        .feed_one(KeyOfIdentity(id.clone()), caller.key.clone())
        .await;
    loaders
        .feed_one(RolesOf(id.clone()), caller.global_roles.clone())
        .await;
    loaders
        .feed_one(MembershipsOf(id), caller.memberships.clone())
        .await;
}

/// Loads, one query per relation, what `selection` (the selection of one key) will ask of
/// these keys: their identities and owners with roles and memberships, their projects, and
/// the keys they were rotated to or from.
pub async fn prime_keys(
    loaders: &Loaders,
    keys: &[ApiKey],
    selection: Lookahead<'_>,
) -> Result<(), LoadError> {
    loaders
        .feed_many(
            keys.iter()
                .map(|k| (KeyOfIdentity(k.identity_id.clone()), k.clone())),
        )
        .await;
    let identity = selection.field("identity");
    let mut identities: Vec<String> = Vec::new();
    if identity.exists() {
        identities.extend(keys.iter().map(|k| k.identity_id.clone()));
    }
    if selection.field("owner").exists() {
        identities.extend(keys.iter().filter_map(|k| k.owner_id.clone()));
    }
    let projects = keys.iter().filter_map(|k| k.project_id.clone());
    let projects: Vec<String> = if selection.field("project").exists() {
        projects.collect()
    } else {
        Vec::new()
    };
    // Rotated keys' successors and predecessors: nothing to load on a page without any.
    let (to, from) = (
        selection.field("rotatedTo").exists(),
        selection.field("rotatedFrom").exists(),
    );
    let linked = keys.iter().flat_map(|k| {
        let to = k.rotated_to.clone().filter(|_| to);
        let from = k.rotated_from.clone().filter(|_| from);
        to.into_iter().chain(from)
    });
    load_now(loaders, linked.map(KeyById)).await?;
    prime_usage(loaders, keys, &selection).await?;
    load_identities(loaders, Known::No(identities), identity, projects).await
}

/// Each `usage(…)` the selection asks of every key (the Keys tab's "Req 24h", a script's
/// series), for the whole page in one query per window. A window the resolver will refuse is
/// left to it.
async fn prime_usage(
    loaders: &Loaders,
    keys: &[ApiKey],
    selection: &Lookahead<'_>,
) -> Result<(), LoadError> {
    let now = Timestamp::now();
    for field in selection.field("usage").selection_fields() {
        let Ok(arguments) = field.arguments() else {
            continue;
        };
        let int = |name: &str| {
            arguments
                .iter()
                .find(|(n, _)| n.as_str() == name)
                .and_then(|(_, v)| match v {
                    async_graphql::Value::Number(n) => n.as_i64(),
                    _ => None,
                })
                .and_then(|n| i32::try_from(n).ok())
        };
        let Ok(window) = UsageWindow::new(int("startTs"), int("endTs"), int("points"), now) else {
            continue;
        };
        let wanted = keys.iter().map(|k| UsageOf {
            key_id: k.id.clone(),
            window,
        });
        load_now(loaders, wanted).await?;
    }
    Ok(())
}

/// Identities whose relations a listing loads: already in the loaders' cache (a page of
/// identities) or not yet (the identities and owners of a page of keys).
enum Known {
    Yes(Vec<String>),
    No(Vec<String>),
}

/// Like [`prime_keys`], for a page of identities.
pub async fn prime_identities(
    loaders: &Loaders,
    identities: &[Identity],
    selection: Lookahead<'_>,
) -> Result<(), LoadError> {
    loaders
        .feed_many(
            identities
                .iter()
                .map(|i| (IdentityById(i.id.clone()), i.clone())),
        )
        .await;
    let ids: Vec<String> = identities.iter().map(|i| i.id.clone()).collect();
    if selection.field("apiKey").exists() {
        load_now(loaders, ids.iter().cloned().map(KeyOfIdentity)).await?;
    }
    load_identities(loaders, Known::Yes(ids), selection, Vec::new()).await
}

/// Loads these identities, and what `selection` asks of them (roles, memberships and their
/// projects), with `projects` besides.
async fn load_identities(
    loaders: &Loaders,
    identities: Known,
    selection: Lookahead<'_>,
    mut projects: Vec<String>,
) -> Result<(), LoadError> {
    let (mut identities, known) = match identities {
        Known::Yes(ids) => (ids, true),
        Known::No(ids) => (ids, false),
    };
    identities.sort();
    identities.dedup();
    // What only needs the identities' ids is asked for at once: the store's readers serve
    // the statements side by side instead of one after another.
    let ids = || identities.iter().cloned();
    let memberships = selection.field("projects").exists();
    // Whose key is it: `projects` shows the caller the memberships of keys it created.
    let (_, _, member_of, _) = futures::try_join!(
        when(!known, load_now(loaders, ids().map(IdentityById))),
        when(
            selection.field("roles").exists(),
            load_now(loaders, ids().map(RolesOf))
        ),
        when(memberships, load_now(loaders, ids().map(MembershipsOf))),
        when(memberships, load_now(loaders, ids().map(KeyOfIdentity))),
    )?;
    projects.extend(
        member_of
            .into_values()
            .flatten()
            .map(|(project, _)| project),
    );
    projects.sort();
    projects.dedup();
    load_now(loaders, projects.into_iter().map(ProjectById)).await?;
    Ok(())
}

/// Loads `keys` now, [`MAX_BATCH`] at a time, and puts what it found in the loaders' cache.
/// A listing knows the whole set it will ask for, so the loader's window for gathering a
/// batch ([`BATCH_DELAY`], spent on a timer thread and a spawned task per round) would only
/// add to every page's latency.
async fn load_now<K>(
    loaders: &Loaders,
    keys: impl Iterator<Item = K>,
) -> Result<HashMap<K, <StoreLoader as Loader<K>>::Value>, LoadError>
where
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    StoreLoader: Loader<K, Error = LoadError>,
{
    let keys: Vec<K> = keys.collect();
    let mut found = HashMap::with_capacity(keys.len());
    for batch in keys.chunks(MAX_BATCH) {
        let loaded = loaders.loader().load(batch).await?;
        loaders
            .feed_many(loaded.iter().map(|(k, v)| (k.clone(), v.clone())))
            .await;
        found.extend(loaded);
    }
    Ok(found)
}

pub struct StoreLoader {
    store: Store,
}

/// A loader error: shared, because one failed batch answers every field waiting on it.
pub type LoadError = Arc<StoreError>;

/// An identity, by id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdentityById(pub String);
/// A project, by id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProjectById(pub String);
/// The key of an identity.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyOfIdentity(pub String);
/// A key, by id (a rotated key's successor or predecessor).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyById(pub String);
/// The global roles of an identity.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RolesOf(pub String);
/// The memberships of an identity, grouped by project id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MembershipsOf(pub String);
/// The role definitions of a project.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RolesOfProject(pub String);

/// A key's usage series over a window (`ApiKey.usage`): the keys of a page asking for the
/// same window load in one query.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UsageOf {
    pub key_id: String,
    pub window: UsageWindow,
}

fn ids<K, F: Fn(&K) -> &String>(keys: &[K], id: F) -> Vec<String> {
    keys.iter().map(|k| id(k).clone()).collect()
}

/// Groups `(owner, item)` pairs by owner, keeping their order, with an empty list for every
/// requested key that has none (so the cache remembers that too).
fn grouped<K, V>(
    requested: &[K],
    pairs: Vec<(String, V)>,
    key: impl Fn(String) -> K,
) -> HashMap<K, Vec<V>>
where
    K: std::hash::Hash + Eq + Clone,
{
    let mut out: HashMap<K, Vec<V>> = requested.iter().map(|k| (k.clone(), Vec::new())).collect();
    for (owner, item) in pairs {
        out.entry(key(owner)).or_default().push(item);
    }
    out
}

impl Loader<IdentityById> for StoreLoader {
    type Value = Identity;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[IdentityById],
    ) -> Result<HashMap<IdentityById, Identity>, LoadError> {
        let found = self.store.identities_by_ids(&ids(keys, |k| &k.0)).await?;
        Ok(found
            .into_iter()
            .map(|i| (IdentityById(i.id.clone()), i))
            .collect())
    }
}

impl Loader<ProjectById> for StoreLoader {
    type Value = Project;
    type Error = LoadError;

    async fn load(&self, keys: &[ProjectById]) -> Result<HashMap<ProjectById, Project>, LoadError> {
        let found = self.store.projects_by_ids(&ids(keys, |k| &k.0)).await?;
        Ok(found
            .into_iter()
            .map(|p| (ProjectById(p.id.clone()), p))
            .collect())
    }
}

impl Loader<KeyOfIdentity> for StoreLoader {
    type Value = ApiKey;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[KeyOfIdentity],
    ) -> Result<HashMap<KeyOfIdentity, ApiKey>, LoadError> {
        let found = self.store.keys_of_identities(&ids(keys, |k| &k.0)).await?;
        Ok(found
            .into_iter()
            .map(|k| (KeyOfIdentity(k.identity_id.clone()), k))
            .collect())
    }
}

impl Loader<KeyById> for StoreLoader {
    type Value = ApiKey;
    type Error = LoadError;

    async fn load(&self, keys: &[KeyById]) -> Result<HashMap<KeyById, ApiKey>, LoadError> {
        let found = self.store.keys_by_ids(&ids(keys, |k| &k.0)).await?;
        Ok(found
            .into_iter()
            .map(|k| (KeyById(k.id.clone()), k))
            .collect())
    }
}

impl Loader<RolesOf> for StoreLoader {
    type Value = Vec<String>;
    type Error = LoadError;

    async fn load(&self, keys: &[RolesOf]) -> Result<HashMap<RolesOf, Vec<String>>, LoadError> {
        let pairs = self.store.roles_of_identities(&ids(keys, |k| &k.0)).await?;
        Ok(grouped(keys, pairs, RolesOf))
    }
}

impl Loader<MembershipsOf> for StoreLoader {
    type Value = Vec<(String, Vec<Membership>)>;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[MembershipsOf],
    ) -> Result<HashMap<MembershipsOf, Self::Value>, LoadError> {
        let rows = self
            .store
            .memberships_of_identities(&ids(keys, |k| &k.0))
            .await?;
        let mut out: HashMap<MembershipsOf, Self::Value> =
            keys.iter().map(|k| (k.clone(), Vec::new())).collect();
        for (identity, project, membership) in rows {
            let projects = out.entry(MembershipsOf(identity)).or_default();
            match projects.last_mut() {
                Some((last, list)) if *last == project => list.push(membership),
                _ => projects.push((project, vec![membership])),
            }
        }
        Ok(out)
    }
}

impl Loader<RolesOfProject> for StoreLoader {
    type Value = Vec<RoleDefinition>;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[RolesOfProject],
    ) -> Result<HashMap<RolesOfProject, Vec<RoleDefinition>>, LoadError> {
        let pairs = self.store.roles_of_projects(&ids(keys, |k| &k.0)).await?;
        Ok(grouped(keys, pairs, RolesOfProject))
    }
}

impl Loader<UsageOf> for StoreLoader {
    type Value = Vec<KeyUsagePoint>;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[UsageOf],
    ) -> Result<HashMap<UsageOf, Vec<KeyUsagePoint>>, LoadError> {
        let mut windows: HashMap<UsageWindow, Vec<String>> = HashMap::new();
        for key in keys {
            windows
                .entry(key.window)
                .or_default()
                .push(key.key_id.clone());
        }
        let mut out = HashMap::with_capacity(keys.len());
        for (window, key_ids) in windows {
            let read = window.read(minutes_kept_from(Timestamp::now()));
            let rows = self.store.usage_rows(&key_ids, &read).await?;
            let mut of_key: HashMap<&str, Vec<&UsageRow>> = HashMap::new();
            for row in &rows {
                of_key.entry(row.key_id.as_str()).or_default().push(row);
            }
            for key_id in key_ids {
                let series = window.series(of_key.remove(key_id.as_str()).unwrap_or_default());
                out.insert(UsageOf { key_id, window }, series);
            }
        }
        Ok(out)
    }
}
