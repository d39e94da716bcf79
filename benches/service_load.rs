//! A bounded loopback load test: the real GraphQL service against a hand-written axum
//! handler doing the same work (authenticate, list 50 keys, count them) without GraphQL.
//!
//! Both serve one store holding 10,000 keys (a temporary SQLite file, or a new database on
//! the PostgreSQL server `BENCH_DB` names), on 127.0.0.1 ports the OS picks. Each target gets
//! `LOAD_REQUESTS` requests (default 4,000) from `LOAD_CONCURRENCY` concurrent reqwest
//! clients (default 16), stopping at 60 s whatever happens. Every response
//! must be HTTP 200 with 50 keys; any failure is counted and makes the run exit non-zero.
//!
//! Run: `cargo bench --bench service_load`
//! (e.g. `LOAD_CONCURRENCY=32 LOAD_REQUESTS=10000 cargo bench --bench service_load`).

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keydeck::server::auth::{self, AuthError};
use keydeck::server::model::{ApiKey, ApiKeyFilter, ApiKeyState, Permission, Timestamp};
use keydeck::server::stats::Monitor;
use keydeck::server::store::Store;
use keydeck::server::{Services, Settings};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::net::TcpListener;

mod common;

/// Keys in the store, the bootstrap key included.
const STORE_KEYS: usize = 10_000;
const PAGE: usize = 50;
/// Whatever happens, a target's run stops after this long.
const TIME_CAP: Duration = Duration::from_secs(60);
/// Requests sent to each target, outside the measurement, to open connections and warm caches.
const WARM_UP_REQUESTS: usize = 200;
const DEFAULT_CONCURRENCY: usize = 16;
const DEFAULT_REQUESTS: usize = 4_000;

const QUERY: &str = "{ apiKeys(first: 50) { totalCount pageInfo { hasNextPage endCursor } \
    edges { cursor node { id description tokenPrefix state createdAt expiresAt permissions \
    visibility } } } }";

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("service_load: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Ok(false) when some request failed.
fn run() -> anyhow::Result<bool> {
    let concurrency = env_count("LOAD_CONCURRENCY", DEFAULT_CONCURRENCY)?;
    let requests = env_count("LOAD_REQUESTS", DEFAULT_REQUESTS)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("building the tokio runtime")?;
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    let url = runtime.block_on(common::bench_store(dir.path(), "load.db"))?;
    let ok = runtime.block_on(load(&url, concurrency, requests));
    // Stops the servers (spawned tasks) and closes the store before its directory goes.
    runtime.shutdown_timeout(Duration::from_secs(5));
    drop(dir);
    ok
}

fn env_count(name: &str, default: usize) -> anyhow::Result<usize> {
    match std::env::var(name) {
        Err(_) => Ok(default),
        Ok(s) => match s.trim().parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => bail!("{name} must be a positive integer, got {s:?}"),
        },
    }
}

async fn load(url: &str, concurrency: usize, requests: usize) -> anyhow::Result<bool> {
    let (store, token) = common::seeded_store(url, STORE_KEYS).await?;

    let graphql = serve_graphql(store.clone()).await?;
    let plain = serve_plain(store.clone()).await?;
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

    let mut results = Vec::new();
    for target in &targets {
        let target = Arc::new(target.clone());
        let warm = drive(&target, &token, concurrency, WARM_UP_REQUESTS).await?;
        if warm.failures > 0 {
            bail!(
                "{}: {} of {} warm-up requests failed; first: {}",
                target.name,
                warm.failures,
                warm.latencies.len() + warm.failures,
                warm.first_failure.as_deref().unwrap_or("?")
            );
        }
        results.push((
            target.name,
            drive(&target, &token, concurrency, requests).await?,
        ));
    }

    println!();
    println!(
        "store: {STORE_KEYS} keys ({}); query: 50 keys + totalCount; loopback 127.0.0.1; {} cores",
        common::backend_name(url),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "| {:<30} | {:>8} | {:>11} | {:>10} | {:>9} | {:>9} | {:>9} |",
        "target", "requests", "concurrency", "requests/s", "p50", "p99", "max"
    );
    println!(
        "|{:-<32}|{:->10}|{:->13}|{:->12}|{:->11}|{:->11}|{:->11}|",
        "", "", "", "", "", "", ""
    );
    let mut all_ok = true;
    for (name, run) in &results {
        let mut lat = run.latencies.clone();
        lat.sort_unstable();
        let done = lat.len();
        println!(
            "| {:<30} | {:>8} | {:>11} | {:>10.0} | {:>9} | {:>9} | {:>9} |",
            name,
            done,
            concurrency,
            done as f64 / run.elapsed.as_secs_f64(),
            common::fmt_ms(common::percentile(&lat, 50.0)),
            common::fmt_ms(common::percentile(&lat, 99.0)),
            common::fmt_ms(lat.last().copied()),
        );
        if run.failures > 0 {
            all_ok = false;
            eprintln!(
                "FAILED: {name}: {} of {} requests failed; first failure: {}",
                run.failures,
                done + run.failures,
                run.first_failure.as_deref().unwrap_or("?")
            );
        }
        if run.capped {
            eprintln!(
                "note: {name} stopped at the {} s cap after {done} of {requests} requests",
                TIME_CAP.as_secs()
            );
        }
    }
    if !all_ok {
        eprintln!("service_load: some requests failed (see above)");
    }
    Ok(all_ok)
}

/// The real service, built as `keydeck::server::start` builds it.
async fn serve_graphql(store: Store) -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let services = Services {
        store,
        settings: Settings {
            max_key_ttl: None,
            public_url: format!("http://{addr}"),
        },
        monitor: Monitor::default(),
    };
    let app = keydeck::server::router(keydeck::server::schema(services.clone()), services);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(addr)
}

/// The same work without GraphQL.
async fn serve_plain(store: Store) -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = Router::new()
        .route("/keys", get(list_keys))
        .with_state(store);
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

async fn list_keys(State(store): State<Store>, headers: HeaderMap) -> Response {
    let caller = match auth::token_from_headers(&headers) {
        Ok(token) => auth::authenticate(&store, token).await,
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
    let scope = caller.key_scope();
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

/// The GraphQL request body, serialized once.
fn graphql_body() -> Bytes {
    Bytes::from(json!({ "query": QUERY }).to_string())
}

#[derive(Default)]
struct Run {
    /// One per successful request.
    latencies: Vec<Duration>,
    failures: usize,
    first_failure: Option<String>,
    elapsed: Duration,
    capped: bool,
}

/// Sends `total` requests to `target` from `concurrency` clients, each with its own
/// connection pool, and collects latencies of the ones that succeeded.
async fn drive(
    target: &Arc<Target>,
    token: &str,
    concurrency: usize,
    total: usize,
) -> anyhow::Result<Run> {
    let issued = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = tokio::time::Instant::from_std(started + TIME_CAP);
    let mut workers = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .build()
            .context("building a reqwest client")?;
        let target = Arc::clone(target);
        let issued = Arc::clone(&issued);
        let authorization = format!("Bearer {token}");
        let body = graphql_body();
        workers.push(tokio::spawn(async move {
            let mut run = Run::default();
            while issued.fetch_add(1, Ordering::Relaxed) < total {
                let sent = Instant::now();
                let outcome = tokio::time::timeout_at(
                    deadline,
                    request(&client, &target, &authorization, &body),
                )
                .await;
                match outcome {
                    Err(_) => {
                        run.capped = true;
                        break;
                    }
                    Ok(Ok(())) => run.latencies.push(sent.elapsed()),
                    Ok(Err(e)) => {
                        run.failures += 1;
                        run.first_failure.get_or_insert(e);
                    }
                }
                if tokio::time::Instant::now() >= deadline {
                    run.capped = true;
                    break;
                }
            }
            run
        }));
    }
    let mut merged = Run::default();
    for worker in workers {
        let run = worker.await.context("a load worker panicked")?;
        merged.latencies.extend(run.latencies);
        merged.failures += run.failures;
        merged.capped |= run.capped;
        if merged.first_failure.is_none() {
            merged.first_failure = run.first_failure;
        }
    }
    merged.elapsed = started.elapsed();
    Ok(merged)
}

/// One request, checked: HTTP 200, no errors, 50 keys of the 10,000.
async fn request(
    client: &reqwest::Client,
    target: &Target,
    authorization: &str,
    body: &Bytes,
) -> Result<(), String> {
    let builder = match target.kind {
        Kind::Graphql => client
            .post(&target.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.clone()),
        Kind::Plain => client.get(&target.url),
    };
    let response = builder
        .header(reqwest::header::AUTHORIZATION, authorization)
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
