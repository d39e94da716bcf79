//! Authenticated `{ me { id roles } }` under `wrk -t2 -c16` against the release binary
//! (`keydeck serve` on a store of 10,000 keys) and, in the same run, against the bare handler
//! (`bare_handler/mod.rs`: hash the token, look it up in a `HashMap`), the limit the goal
//! is stated against. The request is `benches/wrk/me.lua`.
//!
//! Each target gets a 2 s warm-up run, then `WRK_SECONDS` (default 10) measured; the bench
//! prints requests/s, p50 and p99 of both and the service's share of the bare handler's
//! throughput. Any non-2xx answer or socket error fails the bench.
//!
//! Run: `cargo bench --bench me_wrk` (needs `wrk` on PATH; `BENCH_DB` picks the store).
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

use std::net::TcpListener as StdListener;
use std::process::{Child, Command, ExitCode, Stdio};

use common::monitored::{Service, free_port};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use serde_json::{Value, json};

mod bare_handler;
mod common;
mod wrk;

const STORE_KEYS: usize = 10_000;
const CONNECTIONS: usize = 16;
const THREADS: usize = 2;
const WARM_UP: &str = "2s";
const DEFAULT_SECONDS: u64 = 10;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("me_wrk: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    let seconds = match std::env::var("WRK_SECONDS") {
        Ok(s) => s
            .trim()
            .parse::<u64>()
            .context("WRK_SECONDS must be a number")?,
        Err(_) => DEFAULT_SECONDS,
    };
    let script = wrk::script("me.lua");
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    let runtime = tokio::runtime::Runtime::new().context("building the tokio runtime")?;
    let url = runtime.block_on(common::bench_store(dir.path(), "me.db"))?;
    let token = runtime.block_on(async {
        let (store, token) = common::seeded_store(&url, STORE_KEYS).await?;
        drop(store);
        anyhow::Ok(token)
    })?;

    let service_addr = free_port()?;
    let mut service = Service(
        Command::new(env!("CARGO_BIN_EXE_keydeck"))
            .args(["serve", "--db", &url, "--listen", &service_addr.to_string()])
            .arg("--log-file")
            .arg(dir.path().join("serve.log"))
            .env("HOME", dir.path())
            .env("XDG_CONFIG_HOME", dir.path())
            .env("XDG_DATA_HOME", dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .context("starting keydeck serve")?,
    );
    let service_url = format!("http://{service_addr}/graphql");
    let me = runtime.block_on(wait_for_me(&service_url, &token, &mut service.0))?;

    // The bare handler knows the bench token and as many others as the store holds keys.
    let mut identities = vec![(
        keydeck::token::hash(&token),
        me["id"]
            .as_str()
            .context("me.id is not a string")?
            .to_owned(),
        serde_json::from_value::<Vec<String>>(me["roles"].clone()).context("me.roles")?,
    )];
    for _ in 1..STORE_KEYS {
        let other = keydeck::token::generate()?;
        identities.push((
            keydeck::token::hash(&other),
            uuid::Uuid::new_v4().to_string(),
            vec![],
        ));
    }
    let bare_listener = StdListener::bind("127.0.0.1:0")?;
    bare_listener.set_nonblocking(true)?;
    let bare_url = format!("http://{}/graphql", bare_listener.local_addr()?);
    let bare = runtime.spawn(async move {
        let listener = tokio::net::TcpListener::from_std(bare_listener)?;
        bare_handler::serve(listener, identities).await
    });
    let bare_me = runtime.block_on(wait_for_me(&bare_url, &token, &mut service.0))?;
    ensure!(
        bare_me == me,
        "the bare handler answers {bare_me}, the service {me}"
    );

    let duration = format!("{seconds}s");
    let mut results = Vec::new();
    for (name, target) in [
        ("bare axum handler (hash + HashMap)", &bare_url),
        ("keydeck serve (release)", &service_url),
    ] {
        let env = [("KEYDECK_TOKEN", token.as_str())];
        let load = |duration| wrk::Load {
            threads: THREADS,
            connections: CONNECTIONS,
            duration,
            env: &env,
        };
        wrk::run(&script, target, &load(WARM_UP)).with_context(|| format!("warming up {name}"))?;
        results.push((
            name,
            wrk::run(&script, target, &load(&duration))
                .with_context(|| format!("measuring {name}"))?,
        ));
    }
    bare.abort();
    drop(service);

    println!();
    println!(
        "{{ me {{ id roles }} }}, wrk -t{THREADS} -c{CONNECTIONS} -d{duration}, loopback; store: {} keys ({}); {} cores",
        STORE_KEYS,
        common::backend_name(&url),
        std::thread::available_parallelism().map_or(0, std::num::NonZero::get)
    );
    wrk::print_table(&results);
    if let [(_, bare), (_, service)] = results.as_slice() {
        println!(
            "service / bare handler: {:.1} % of the throughput",
            100.0 * service.requests_per_second / bare.requests_per_second
        );
    }
    Ok(())
}

/// The `keydeck serve` child, killed when dropped, however the bench ends.
/// Asks `{ me { id roles } }` until `url` answers (at most 30 s) and returns `me`.
async fn wait_for_me(url: &str, token: &str, service: &mut Child) -> anyhow::Result<Value> {
    let client = reqwest::Client::builder().no_proxy().build()?;
    let started = Instant::now();
    loop {
        if let Some(status) = service.try_wait()? {
            bail!("keydeck serve exited: {status}");
        }
        let reply = client
            .post(url)
            .bearer_auth(token)
            .json(&json!({ "query": "{ me { id roles } }" }))
            .send()
            .await;
        if let Ok(reply) = reply {
            let status = reply.status();
            let body: Value = reply.json().await?;
            ensure!(status.is_success(), "{url} answered HTTP {status}: {body}");
            ensure!(body.get("errors").is_none(), "{url} answered {body}");
            return Ok(body["data"]["me"].clone());
        }
        ensure!(
            started.elapsed() < Duration::from_secs(30),
            "{url} did not answer within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
