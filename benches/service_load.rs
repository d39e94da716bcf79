//! A loopback load test: the real GraphQL service against a hand-written axum handler doing
//! the same work (authenticate through the same principal cache, list 50 keys, count them)
//! without GraphQL.
//!
//! Both serve one store holding 10,000 keys (a temporary SQLite file, or a new database on
//! the PostgreSQL server `BENCH_DB` names), on 127.0.0.1 ports the OS picks. Each target's
//! answer is checked once (HTTP 200, 50 keys of 10,000), then `wrk` (`benches/wrk/request.lua`)
//! loads it from `LOAD_CONCURRENCY` connections (default 16) for 2 s to warm up and
//! `LOAD_SECONDS` (default 10) measured; any non-2xx answer or socket error fails the run.
//!
//! Run: `cargo bench --bench service_load`
//! (e.g. `LOAD_CONCURRENCY=32 LOAD_SECONDS=30 cargo bench --bench service_load`).
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keydeck::server::auth::{self, AuthError, Authenticator};
use keydeck::server::model::{ApiKey, ApiKeyFilter, ApiKeyState, Permission, Timestamp};
use keydeck::server::stats::Monitor;
use keydeck::server::store::Store;
use keydeck::server::{Services, Settings};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::net::TcpListener;

mod common;
mod wrk;

/// Keys in the store, the bootstrap key included.
const STORE_KEYS: usize = 10_000;
const PAGE: usize = 50;
/// wrk's threads: one per core.
const THREADS: usize = 2;
/// Each target's warm-up run, outside the measurement: opens connections, warms caches.
const WARM_UP: &str = "2s";
const DEFAULT_CONCURRENCY: usize = 16;
const DEFAULT_SECONDS: usize = 10;

const QUERY: &str = "{ apiKeys(first: 50) { totalCount pageInfo { hasNextPage endCursor } \
    edges { cursor node { id description tokenPrefix state createdAt expiresAt permissions \
    visibility } } } }";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("service_load: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    let connections = env_number("LOAD_CONCURRENCY", DEFAULT_CONCURRENCY)?;
    let seconds = env_number("LOAD_SECONDS", DEFAULT_SECONDS)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("building the tokio runtime")?;
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    let url = runtime.block_on(common::bench_store(dir.path(), "load.db"))?;
    let outcome = load(&runtime, &url, connections, seconds);
    // Stops the servers (spawned tasks) and closes the store before its directory goes.
    runtime.shutdown_timeout(Duration::from_secs(5));
    drop(dir);
    outcome
}

fn env_number(name: &str, default: usize) -> anyhow::Result<usize> {
    match std::env::var(name) {
        Err(_) => Ok(default),
        Ok(s) => match s.trim().parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => bail!("{name} must be a positive integer, got {s:?}"),
        },
    }
}

fn load(
    runtime: &tokio::runtime::Runtime,
    url: &str,
    connections: usize,
    seconds: usize,
) -> anyhow::Result<()> {
    let (token, graphql, plain) = runtime.block_on(async {
        let (store, token) = common::seeded_store(url, STORE_KEYS).await?;
        let graphql = serve_graphql(store.clone()).await?;
        let plain = serve_plain(store).await?;
        anyhow::Ok((token, graphql, plain))
    })?;
    let body = json!({ "query": QUERY }).to_string();
    let targets = [
        Target {
            name: "GraphQL (POST /graphql)",
            kind: Kind::Graphql,
            url: format!("http://{graphql}/graphql"),
        },
        Target {
            name: "hand-written axum (GET /keys)",
            kind: Kind::Plain,
            url: format!("http://{plain}/keys"),
        },
    ];
    let script = wrk::script("request.lua");
    let duration = format!("{seconds}s");
    let mut results = Vec::new();
    for target in &targets {
        runtime
            .block_on(check(target, &token, &body))
            .map_err(|e| anyhow::anyhow!("{}: the answer is wrong: {e}", target.name))?;
        let method = match target.kind {
            Kind::Graphql => "POST",
            Kind::Plain => "GET",
        };
        let body = match target.kind {
            Kind::Graphql => body.as_str(),
            Kind::Plain => "",
        };
        let env = [
            ("KEYDECK_TOKEN", token.as_str()),
            ("WRK_METHOD", method),
            ("WRK_BODY", body),
        ];
        let load = |duration| wrk::Load {
            threads: THREADS,
            connections,
            duration,
            env: &env,
        };
        wrk::run(&script, &target.url, &load(WARM_UP))
            .with_context(|| format!("warming up {}", target.name))?;
        results.push((
            target.name,
            wrk::run(&script, &target.url, &load(&duration))
                .with_context(|| format!("measuring {}", target.name))?,
        ));
    }

    println!();
    println!(
        "store: {STORE_KEYS} keys ({}); query: 50 keys + totalCount; wrk -t{THREADS} -c{connections} -d{duration}, loopback; {} cores",
        common::backend_name(url),
        std::thread::available_parallelism().map_or(0, std::num::NonZero::get)
    );
    wrk::print_table(&results);
    if let [(_, graphql), (_, plain)] = results.as_slice() {
        println!(
            "GraphQL / hand-written: {:.1} % of the throughput",
            100.0 * graphql.requests_per_second / plain.requests_per_second
        );
    }
    Ok(())
}

/// The real service, built as `keydeck::server::start` builds it.
async fn serve_graphql(store: Store) -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let services = Services {
        store,
        settings: Settings { max_key_ttl: None },
        monitor: Monitor::default(),
    };
    let app = keydeck::server::transport::http::router(
        keydeck::server::schema(services.clone()),
        services,
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(addr)
}

/// The same work without GraphQL.
async fn serve_plain(store: Store) -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = Router::new()
        .route("/keys", get(list_keys))
        .with_state(Plain {
            auth: Arc::new(Authenticator::new(store.clone())),
            store,
        });
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(addr)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct KeyList {
    total_count: i64,
    has_next_page: bool,
    end_cursor: Option<String>,
    items: Vec<KeyItem>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct KeyItem {
    cursor: String,
    id: String,
    description: String,
    token_prefix: Option<String>,
    state: &'static str,
    created_at: String,
    expires_at: Option<String>,
    permissions: Vec<&'static str>,
    visibility: &'static str,
}

impl KeyItem {
    fn new(key: ApiKey, now: Timestamp) -> Self {
        KeyItem {
            cursor: URL_SAFE_NO_PAD.encode(format!("kd:{}", key.seq)),
            state: match key.state_at(now) {
                ApiKeyState::Enabled => "ENABLED",
                ApiKeyState::Disabled => "DISABLED",
                ApiKeyState::Expired => "EXPIRED",
            },
            created_at: key.created_at.rfc3339(),
            expires_at: key.expires_at.map(Timestamp::rfc3339),
            permissions: key
                .permissions
                .iter()
                .map(|p| match p {
                    Permission::Read => "READ",
                    Permission::Write => "WRITE",
                })
                .collect(),
            visibility: key.visibility.as_str(),
            token_prefix: key.token_prefix,
            description: key.description,
            id: key.id,
        }
    }
}

/// The hand-written service's state: the store, and the principal cache the GraphQL
/// service authenticates through.
#[derive(Clone)]
struct Plain {
    store: Store,
    auth: Arc<Authenticator>,
}

async fn list_keys(State(Plain { store, auth }): State<Plain>, headers: HeaderMap) -> Response {
    let caller = match auth::token_from_headers(&headers) {
        Ok(token) => auth.authenticate(token).await,
        Err(e) => Err(e),
    };
    let caller = match caller {
        Ok(caller) => caller,
        Err(AuthError::Store(e)) => return plain_error(StatusCode::SERVICE_UNAVAILABLE, e),
        Err(e) => return plain_error(StatusCode::UNAUTHORIZED, e),
    };
    // The GraphQL service's permission gate: queries need READ.
    if !caller.key.allows(Permission::Read) {
        return plain_error(StatusCode::FORBIDDEN, "the key lacks READ");
    }
    let scope = caller.visible_keys();
    let filter = ApiKeyFilter::default();
    let page = match store.list_keys(&scope, &filter, None, PAGE as i64).await {
        Ok(page) => page,
        Err(e) => return plain_error(StatusCode::SERVICE_UNAVAILABLE, e),
    };
    let total_count = match store.count_keys(&scope, &filter).await {
        Ok(n) => n,
        Err(e) => return plain_error(StatusCode::SERVICE_UNAVAILABLE, e),
    };
    let now = Timestamp::now();
    let items: Vec<KeyItem> = page
        .items
        .into_iter()
        .map(|k| KeyItem::new(k, now))
        .collect();
    Json(KeyList {
        total_count,
        has_next_page: page.has_next,
        end_cursor: items.last().map(|i| i.cursor.clone()),
        items,
    })
    .into_response()
}

fn plain_error(status: StatusCode, message: impl std::fmt::Display) -> Response {
    (status, Json(json!({ "error": message.to_string() }))).into_response()
}

#[derive(Clone, Copy)]
enum Kind {
    Graphql,
    Plain,
}

#[derive(Clone)]
struct Target {
    name: &'static str,
    kind: Kind,
    url: String,
}

/// One request, checked: HTTP 200, no errors, 50 keys of the 10,000.
async fn check(target: &Target, token: &str, body: &str) -> Result<(), String> {
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .map_err(|e| e.to_string())?;
    let builder = match target.kind {
        Kind::Graphql => client
            .post(&target.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_owned()),
        Kind::Plain => client.get(&target.url),
    };
    let response = builder
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| format!("request failed: {e}"))?;
    let status = response.status();
    let body = response
        .bytes()
        .await
        .map_err(|e| format!("reading the body failed: {e}"))?;
    if status != reqwest::StatusCode::OK {
        return Err(format!(
            "HTTP {status}: {}",
            String::from_utf8_lossy(&body[..body.len().min(300)])
        ));
    }
    let value: Value =
        serde_json::from_slice(&body).map_err(|e| format!("the body is not JSON: {e}"))?;
    let (list, items) = match target.kind {
        Kind::Graphql => {
            if let Some(errors) = value.get("errors") {
                return Err(format!("GraphQL errors: {errors}"));
            }
            let list = &value["data"]["apiKeys"];
            (list, &list["edges"])
        }
        Kind::Plain => (&value, &value["items"]),
    };
    let n = items.as_array().map_or(0, Vec::len);
    let total = list["totalCount"].as_i64();
    if n != PAGE || total != Some(STORE_KEYS as i64) {
        return Err(format!(
            "expected {PAGE} of {STORE_KEYS} keys, got {n} of {total:?}"
        ));
    }
    Ok(())
}
