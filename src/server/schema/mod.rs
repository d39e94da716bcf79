//! The GraphQL schema: roots, relations, replies, paging and the permission gate.
//! `graphql/schema.graphql` is this schema's SDL; a test keeps the two equal.

mod documents;
mod gate;
pub mod loaders;
mod mutation;
mod nul;
mod objects;
mod paging;
pub mod payload;
mod query;
mod refusal;

use async_graphql::{Context, EmptySubscription, Schema, ValidationMode};

use crate::server::auth::Caller;
use crate::server::stats::Monitor;
use crate::server::store::{Store, StoreError};
use crate::ttl::Ttl;

pub use mutation::MutationRoot;
pub use paging::MAX_PAGE_SIZE;
pub use query::QueryRoot;

type RootSchema = Schema<QueryRoot, MutationRoot, EmptySubscription>;

/// The executable schema, in two copies over one set of types. Every request is judged on
/// `checking`, whose permission gate (an extension: [`gate`]) bounds, validates and authorizes
/// it and then stops before execution; what passed runs on `running`, which has no extension
/// and checks only cost and depth again. async-graphql sends each resolved field through
/// every extension's hooks, so on `checking` a page of 500 keys with the TUI's fields spent
/// a sixth of its time there (12,500 fields). A document whose verdict is known (kept, sent
/// without variables, and not refused to this key) goes straight to `running`.
#[derive(Clone)]
pub struct KeydeckSchema {
    checking: RootSchema,
    running: RootSchema,
    documents: documents::DocumentCache,
    store: Store,
}

impl KeydeckSchema {
    /// Answers `request` for `caller`.
    pub async fn execute(
        &self,
        request: async_graphql::Request,
        caller: Caller,
    ) -> async_graphql::Response {
        self.execute_judged(request, caller).await.0
    }

    /// Answers `request` for `caller`, and says whether it was refused to the caller: the gate
    /// or a resolver answered `FORBIDDEN`, or a mutation's reply carries a permission refusal
    /// (what the key's usage counts as refused).
    pub async fn execute_judged(
        &self,
        request: async_graphql::Request,
        caller: Caller,
    ) -> (async_graphql::Response, bool) {
        let mark = RefusedMark::default();
        let response = self.answer(request, caller, mark.clone()).await;
        let refused = mark.is_set()
            || response.errors.iter().any(|e| {
                e.extensions
                    .as_ref()
                    .and_then(|x| x.get("code"))
                    .is_some_and(|code| *code == async_graphql::Value::from(FORBIDDEN_CODE))
            });
        (response, refused)
    }

    async fn answer(
        &self,
        mut request: async_graphql::Request,
        caller: Caller,
        mark: RefusedMark,
    ) -> async_graphql::Response {
        let operation_name = request.operation_name.clone();
        let known = self
            .documents
            .get(&request.query, operation_name.as_deref())
            .filter(|checked| request.variables.is_empty() && checked.validation().is_some());
        let allowed = known.as_ref().is_some_and(|checked| {
            matches!(
                gate::refusal(
                    &caller,
                    &checked.document(),
                    &request.variables,
                    operation_name.as_deref()
                ),
                Ok(None)
            )
        });
        if !allowed {
            let mut check = async_graphql::Request::new(request.query.clone())
                .variables(request.variables.clone())
                .data(caller.clone());
            check.operation_name.clone_from(&operation_name);
            let verdict = self.checking.execute(check).await;
            if verdict.is_err() {
                return verdict;
            }
        }
        // What the checks kept (a query too long to keep is parsed again).
        if let Some(checked) = known.or_else(|| {
            self.documents
                .get(&request.query, operation_name.as_deref())
        }) {
            request.set_parsed_query(checked.document());
        }
        let request = request
            .data(caller)
            .data(mark)
            .data(loaders::RequestLoaders::new(self.store.clone()));
        hide_store_errors(self.running.execute(request).await)
    }

    /// The schema's SDL.
    pub fn sdl(&self) -> String {
        self.running.sdl()
    }
}

/// The `extensions.code` of a permission refusal.
const FORBIDDEN_CODE: &str = "FORBIDDEN";

/// Set when a mutation's reply refuses the caller for lack of permission (a refusal inside
/// `{ ok error }`, which is no GraphQL error): read after execution to count the request as
/// refused in the key's usage.
#[derive(Clone, Default)]
pub struct RefusedMark(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl RefusedMark {
    pub fn set(&self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn is_set(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// No store error's text reaches a client (it may name tables, values or the database's own
/// words): such an error answers a generic message with a request id, under the code
/// `INTERNAL_SERVER_ERROR`, and its detail goes to the service's log with the same id.
fn hide_store_errors(mut response: async_graphql::Response) -> async_graphql::Response {
    for error in &mut response.errors {
        if error.source::<StoreError>().is_none() && error.source::<sqlx::Error>().is_none() {
            continue;
        }
        let id = uuid::Uuid::new_v4().simple().to_string();
        let id = &id[..12];
        tracing::error!(request_id = id, error = %error.message, "a request failed in the store");
        error.message = format!(
            "the service could not complete the request (request id {id}); its log has the detail"
        );
        error
            .extensions
            .get_or_insert_with(Default::default)
            .set("code", "INTERNAL_SERVER_ERROR");
    }
    response
}

/// Service-wide settings the resolvers read.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Longest allowed key lifetime; keys created without `expiresIn` get exactly this.
    /// `None` lifts the limit (and such keys never expire).
    pub max_key_ttl: Option<Ttl>,
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
    let documents = documents::DocumentCache::default();
    KeydeckSchema {
        checking: builder()
            .extension(gate::PermissionGate::new(documents.clone()))
            .data(services.clone())
            .finish(),
        running: builder()
            .validation_mode(ValidationMode::Fast)
            .data(services.clone())
            .finish(),
        documents,
        store: services.store,
    }
}

fn builder() -> async_graphql::SchemaBuilder<QueryRoot, MutationRoot, EmptySubscription> {
    Schema::build(QueryRoot, MutationRoot, EmptySubscription)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
        .limit_recursive_depth(MAX_DEPTH * 2)
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
/// What `work` answers when `wanted`, else the empty answer without doing it: for the parts
/// of a request that run side by side only when the selection asks for them.
async fn when<T: Default, E>(
    wanted: bool,
    work: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, E> {
    if wanted { work.await } else { Ok(T::default()) }
}

fn coded_error(code: &'static str, message: impl Into<String>) -> async_graphql::Error {
    use async_graphql::ErrorExtensions;
    async_graphql::Error::new(message).extend_with(|_, e| e.set("code", code))
}

fn forbidden(denied: crate::server::domain::authz::Denied) -> async_graphql::Error {
    coded_error(FORBIDDEN_CODE, denied.0)
}
