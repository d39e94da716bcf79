//! Read operations. Each needs the READ permission (see `gate`); what each caller may see
//! is decided by `authz`.

use async_graphql::{Context, ID, Object};

use super::MAX_PAGE_SIZE;
use super::loaders::{prime_identities, prime_keys};
use super::objects::ServiceSettings;
use super::paging::{
    Listing, PAGES, PageRequest, bounded, decode_cursor, list_cost, listing, listing_with,
    page_size,
};
use super::{ContextExt, forbidden, when};
use crate::server::domain::authz;
use crate::server::model::{
    ApiKey, ApiKeyFilter, ApiKeyOrder, ApiKeyType, AuditEntry, Identity, IdentityFilter,
    IdentityOrder, Project, Role,
};
use crate::server::stats::{Database, MAX_STATEMENTS, QueryStat, QueryStatPoint, SERIES_POINTS};
use crate::server::store::Order;

/// Default and largest `first` of `projects`: every project a person picks from.
const PROJECTS: (i32, i32) = (1_000, 1_000);
/// `getQueryStats` answers at most this many statements.
const STATEMENTS: i32 = MAX_STATEMENTS as i32;

pub struct QueryRoot;

/// Whether a connection's selection asks for `totalCount`: counting costs a pass over every
/// match, so it runs only when asked.
fn wants_total(ctx: &Context<'_>) -> bool {
    ctx.look_ahead().field("totalCount").exists()
}

#[Object]
impl QueryRoot {
    /// The identity of the key making this request.
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<Identity> {
        // The authenticated principal already holds the identity, its roles and memberships
        // (as fresh as authentication's cache, at most `auth::MAX_STALENESS`): the hot path
        // `{ me { id roles } }` asks nothing of the store.
        Ok(ctx.caller()?.identity.clone())
    }

    /// Projects the caller is a member or an admin of, by slug: the first `first` (default
    /// and at most 1,000).
    #[graphql(complexity = "list_cost(first, PROJECTS, child_complexity)")]
    async fn projects(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
    ) -> async_graphql::Result<Vec<Project>> {
        let limit = bounded(first, PROJECTS)?;
        let caller = ctx.caller()?;
        let all = ctx.services()?.store.projects().await?;
        Ok(all
            .into_iter()
            .filter(|p| caller.can_see_project(&p.id))
            .take(limit)
            .collect())
    }

    async fn project_by_slug(
        &self,
        ctx: &Context<'_>,
        slug: String,
    ) -> async_graphql::Result<Option<Project>> {
        let caller = ctx.caller()?;
        let project = ctx.services()?.store.project_by_slug(&slug).await?;
        Ok(project.filter(|p| caller.can_see_project(&p.id)))
    }

    /// Keys the caller can see, oldest first unless `orderBy` says otherwise. Disabled and
    /// expired keys only when the filter asks for them. `first`/`after` page forward,
    /// `last`/`before` backward (`last` alone: the end of the listing), in any order, each
    /// page costing the same wherever it is.
    #[graphql(complexity = "list_cost(first.or(last), PAGES, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn api_keys(
        &self,
        ctx: &Context<'_>,
        filter: Option<ApiKeyFilter>,
        order_by: Option<ApiKeyOrder>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<Listing<ApiKey>> {
        let caller = ctx.caller()?;
        let store = &ctx.services()?.store;
        let filter = filter.unwrap_or_default();
        let order = order_by.map_or_else(Order::default, |o| Order::new(o.field, o.direction));
        let request = PageRequest::new(order, (first, after), (last, before))?;
        let scope = caller.key_scope();
        // A project the caller cannot see answers as one that does not exist: no keys.
        if let Some(slug) = &filter.project_slug
            && store
                .project_by_slug(slug)
                .await?
                .is_none_or(|p| !caller.can_see_project(&p.id))
        {
            return Ok(listing_with(Vec::new(), false, false, 0, |_| String::new()));
        }
        let (page, total) = futures::try_join!(
            store.list_keys_in(
                &scope,
                &filter,
                order,
                request.from.as_ref(),
                request.backward,
                request.limit
            ),
            when(wants_total(ctx), store.count_keys(&scope, &filter)),
        )?;
        let nodes = ctx.look_ahead().field("nodes");
        prime_keys(ctx.loaders().await?, &page.items, nodes).await?;
        Ok(request.listing(page, total))
    }

    /// The enabled, unexpired global keys the caller can see (at most 500; page with
    /// `apiKeys(filter: {type: GLOBAL})` for more).
    #[graphql(complexity = "list_cost(Some(MAX_PAGE_SIZE), PAGES, child_complexity)")]
    async fn global_api_keys(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ApiKey>> {
        let caller = ctx.caller()?;
        let filter = ApiKeyFilter {
            kind: Some(ApiKeyType::Global),
            ..ApiKeyFilter::default()
        };
        let page = ctx
            .services()?
            .store
            .list_keys(
                &caller.key_scope(),
                &filter,
                None,
                i64::from(super::MAX_PAGE_SIZE),
            )
            .await?;
        prime_keys(ctx.loaders().await?, &page.items, ctx.look_ahead()).await?;
        Ok(page.items)
    }

    /// All identities (super admins and project admins only), oldest first unless `orderBy`
    /// says otherwise. `first`/`after` page forward, `last`/`before` backward (`last` alone:
    /// the end of the listing), in either order, each page costing the same wherever it is.
    #[graphql(complexity = "list_cost(first.or(last), PAGES, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn identities(
        &self,
        ctx: &Context<'_>,
        filter: Option<IdentityFilter>,
        order_by: Option<IdentityOrder>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<Listing<Identity>> {
        let caller = ctx.caller()?;
        caller.may_list_identities().map_err(forbidden)?;
        let store = &ctx.services()?.store;
        let filter = filter.unwrap_or_default();
        let order = order_by.map_or_else(Order::default, |o| Order::new(o.field, o.direction));
        let request = PageRequest::new(order, (first, after), (last, before))?;
        let (page, total) = futures::try_join!(
            store.list_identities_in(
                &filter,
                order,
                request.from.as_ref(),
                request.backward,
                request.limit
            ),
            when(wants_total(ctx), store.count_identities(&filter)),
        )?;
        let nodes = ctx.look_ahead().field("nodes");
        prime_identities(ctx.loaders().await?, &page.items, nodes).await?;
        Ok(request.listing(page, total))
    }

    /// One identity: the caller's own, or any for super admins and project admins.
    async fn identity(
        &self,
        ctx: &Context<'_>,
        id: String,
    ) -> async_graphql::Result<Option<Identity>> {
        let caller = ctx.caller()?;
        if !caller.can_see_identity(&id) {
            return Ok(None);
        }
        let identity = ctx.services()?.store.identity(&id).await?;
        if let Some(identity) = &identity {
            let one = std::slice::from_ref(identity);
            prime_identities(ctx.loaders().await?, one, ctx.look_ahead()).await?;
        }
        Ok(identity)
    }

    /// The global role catalog.
    async fn roles(&self) -> Vec<Role> {
        authz::role_catalog()
    }

    /// What this service allows: the longest key lifetime it grants.
    async fn settings(&self, ctx: &Context<'_>) -> async_graphql::Result<ServiceSettings> {
        let max = ctx.services()?.settings.max_key_ttl;
        Ok(ServiceSettings {
            max_key_ttl: max.map(|t| t.to_string()),
            max_key_ttl_seconds: max.map(crate::ttl::Ttl::seconds),
        })
    }

    /// Every mutation, newest first (super admins only).
    #[graphql(complexity = "list_cost(first, PAGES, child_complexity)")]
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Listing<AuditEntry>> {
        let caller = ctx.caller()?;
        caller.may_read_audit_log().map_err(forbidden)?;
        let store = &ctx.services()?.store;
        let limit = page_size(first)?;
        let before = decode_cursor(after.as_deref())?;
        let (page, total) = futures::try_join!(
            store.audit_log(before, limit),
            when(wants_total(ctx), store.count_audit_entries()),
        )?;
        Ok(listing(page, total, |e| e.seq))
    }

    /// The PostgreSQL databases whose pg_stat_statements this service reads.
    async fn databases(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Database>> {
        ctx.caller()?.may_read_query_stats().map_err(forbidden)?;
        Ok(ctx.services()?.monitor.databases())
    }

    /// Statement statistics of one monitored database over a window, from the stored samples,
    /// sorted by share of total time. `startTs`/`endTs` are Unix seconds; by default the last
    /// 24 hours. At most 500 statements, busiest first.
    #[graphql(
        complexity = "list_cost(Some(STATEMENTS), (STATEMENTS, STATEMENTS), child_complexity)"
    )]
    async fn get_query_stats(
        &self,
        ctx: &Context<'_>,
        database_id: ID,
        start_ts: Option<i32>,
        end_ts: Option<i32>,
    ) -> async_graphql::Result<Vec<QueryStat>> {
        ctx.caller()?.may_read_query_stats().map_err(forbidden)?;
        let services = ctx.services()?;
        services
            .monitor
            .query_stats(&services.store, &database_id, start_ts, end_ts)
            .await
            .map_err(|e| super::coded_error(e.code(), e.to_string()))
    }

    /// What one statement (`queryId`: its `QueryStat.id`) did over a window (as
    /// `getQueryStats`' window, by default the last 24 hours) in equal intervals, oldest
    /// first: calls and time per interval, from the stored samples. `points` (60 by default,
    /// at most 240) is how many intervals are asked for; the answer may hold fewer, wider
    /// ones, never more:
    /// - no interval is shorter than the service's sampling interval (`--stats-interval`),
    ///   so that each holds a sampling round: asked for finer intervals than it samples,
    ///   the service answers fewer points, each as long as the sampling interval;
    /// - the intervals start no earlier than the database's oldest sample kept: a database
    ///   monitored for two minutes has its window's intervals over those two minutes;
    /// - only whole intervals are answered: the newest ends less than one interval
    ///   before the window does, and a window shorter than one interval has none.
    ///
    /// Each point says its bounds (`startTs`, `endTs`) and how many rounds it holds.
    /// Needs what `getQueryStats` needs.
    #[graphql(complexity = "list_cost(points, SERIES_POINTS, child_complexity)")]
    async fn get_query_stat_series(
        &self,
        ctx: &Context<'_>,
        database_id: ID,
        query_id: ID,
        start_ts: Option<i32>,
        end_ts: Option<i32>,
        points: Option<i32>,
    ) -> async_graphql::Result<Vec<QueryStatPoint>> {
        ctx.caller()?.may_read_query_stats().map_err(forbidden)?;
        let services = ctx.services()?;
        services
            .monitor
            .query_stat_series(
                &services.store,
                &database_id,
                &query_id,
                (start_ts, end_ts),
                points,
            )
            .await
            .map_err(|e| super::coded_error(e.code(), e.to_string()))
    }
}
