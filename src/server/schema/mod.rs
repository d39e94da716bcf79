//! The GraphQL schema: roots, relations, replies, paging and the permission gate.
//! `graphql/schema.graphql` is this schema's SDL; a test keeps the two equal.

mod documents;
mod gate;
pub mod loaders;
mod mutation;
mod objects;
mod paging;
pub mod payload;
mod query;
mod refusal;

use async_graphql::{Context, EmptySubscription, Schema};

use crate::server::auth::Caller;
use crate::server::stats::Monitor;
use crate::server::store::Store;
use crate::ttl::Ttl;

pub use mutation::MutationRoot;
pub use paging::MAX_PAGE_SIZE;
pub use query::QueryRoot;

pub type KeydeckSchema = Schema<QueryRoot, MutationRoot, EmptySubscription>;

/// Service-wide settings the resolvers read.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Longest allowed key lifetime; keys created without `expiresIn` get exactly this.
    /// `None` lifts the limit (and such keys never expire).
    pub max_key_ttl: Option<Ttl>,
    /// Base URL of this service, used in `queryUrl`.
    pub public_url: String,
}

/// What every resolver can reach.
#[derive(Clone)]
pub struct Services {
    pub store: Store,
    pub settings: Settings,
    pub monitor: Monitor,
}

/// Limits that keep one request from costing too much. Lists cost their page size times
/// their items (`paging::list_cost`), so the budget is about how many records one request
/// may touch: a full page of 500 keys with every field the TUI shows fits, nested pages of
/// pages and alias floods do not.
pub const MAX_DEPTH: usize = 16;
pub const MAX_COMPLEXITY: usize = 60_000;

/// The schema without data: enough to print the SDL.
pub fn sdl() -> String {
    builder().finish().sdl()
}

/// The executable schema over `services`.
pub fn schema(services: Services) -> KeydeckSchema {
    builder().data(services).finish()
}

/// `request` with what each request brings to the schema: its caller, and its own batch
/// loaders over `store`.
pub fn request_data(
    request: async_graphql::Request,
    caller: Caller,
    store: &Store,
) -> async_graphql::Request {
    request
        .data(caller)
        .data(loaders::RequestLoaders::new(store.clone()))
}

fn builder() -> async_graphql::SchemaBuilder<QueryRoot, MutationRoot, EmptySubscription> {
    Schema::build(QueryRoot, MutationRoot, EmptySubscription)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
        .limit_recursive_depth(MAX_DEPTH * 2)
        .extension(gate::PermissionGate::default())
}

/// Typed access to request data.
trait ContextExt {
    fn caller(&self) -> async_graphql::Result<&Caller>;
    fn services(&self) -> async_graphql::Result<&Services>;
    async fn loaders(&self) -> async_graphql::Result<&loaders::Loaders>;
}

impl ContextExt for Context<'_> {
    fn caller(&self) -> async_graphql::Result<&Caller> {
        self.data::<Caller>()
    }

    fn services(&self) -> async_graphql::Result<&Services> {
        self.data::<Services>()
    }

    async fn loaders(&self) -> async_graphql::Result<&loaders::Loaders> {
        let caller = self.caller()?;
        Ok(self.data::<loaders::RequestLoaders>()?.get(caller).await)
    }
}

/// A top-level error with a machine-readable `extensions.code`.
fn coded_error(code: &'static str, message: impl Into<String>) -> async_graphql::Error {
    use async_graphql::ErrorExtensions;
    async_graphql::Error::new(message).extend_with(|_, e| e.set("code", code))
}

fn forbidden(denied: crate::server::domain::authz::Denied) -> async_graphql::Error {
    coded_error("FORBIDDEN", denied.0)
}
