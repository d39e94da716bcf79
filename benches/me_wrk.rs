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

use std::net::{SocketAddr, TcpListener as StdListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use serde_json::{Value, json};

mod bare_handler;
mod common;

/// The bare handler runs on the allocator the service runs on (`src/main.rs`), so the two
/// differ only in what they do.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const STORE_KEYS: usize = 10_000;
const CONNECTIONS: &str = "16";
const THREADS: &str = "2";
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

/// What `wrk` reported.
struct WrkRun {
    requests_per_second: f64,
    p50: Duration,
    p99: Duration,
}

fn run() -> anyhow::Result<()> {
    let seconds = match std::env::var("WRK_SECONDS") {
        Ok(s) => s
            .trim()
            .parse::<u64>()
            .context("WRK_SECONDS must be a number")?,
        Err(_) => DEFAULT_SECONDS,
    };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/wrk/me.lua");
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
        wrk(&script, target, &token, WARM_UP).with_context(|| format!("warming up {name}"))?;
        results.push((
            name,
            wrk(&script, target, &token, &duration).with_context(|| format!("measuring {name}"))?,
        ));
    }
    bare.abort();
    drop(service);

    println!();
    println!(
        "{{ me {{ id roles }} }}, wrk -t{THREADS} -c{CONNECTIONS} -d{duration}, loopback; store: {} keys ({}); {} cores",
        STORE_KEYS,
        common::backend_name(&url),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "| {:<36} | {:>10} | {:>9} | {:>9} |",
        "target", "requests/s", "p50", "p99"
    );
    println!("|{:-<38}|{:->12}|{:->11}|{:->11}|", "", "", "", "");
    for (name, r) in &results {
        println!(
            "| {:<36} | {:>10.0} | {:>9} | {:>9} |",
            name,
            r.requests_per_second,
            common::fmt_ms(Some(r.p50)),
            common::fmt_ms(Some(r.p99))
        );
    }
    if let [(_, bare), (_, service)] = results.as_slice() {
        println!(
            "service / bare handler: {:.1} % of the throughput",
            100.0 * service.requests_per_second / bare.requests_per_second
        );
    }
    Ok(())
}

/// The `keydeck serve` child, killed when dropped, however the bench ends.
struct Service(Child);

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A loopback address nobody listens on (the OS's pick, released for the child to take).
fn free_port() -> anyhow::Result<SocketAddr> {
    Ok(StdListener::bind("127.0.0.1:0")?.local_addr()?)
}

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

/// Runs `wrk` with the script against `url` for `duration` and reads its report.
fn wrk(script: &PathBuf, url: &str, token: &str, duration: &str) -> anyhow::Result<WrkRun> {
    let output = Command::new("wrk")
        .args([
            "-t",
            THREADS,
            "-c",
            CONNECTIONS,
            "-d",
            duration,
            "--latency",
            "-s",
        ])
        .arg(script)
        .arg(url)
        .env("KEYDECK_TOKEN", token)
        .output()
        .context("running wrk (is it installed?)")?;
    let report = String::from_utf8_lossy(&output.stdout);
    ensure!(
        output.status.success(),
        "wrk failed: {}{}",
        report,
        String::from_utf8_lossy(&output.stderr)
    );
    ensure!(
        !report.contains("Non-2xx") && !report.contains("Socket errors"),
        "some requests failed:\n{report}"
    );
    let field = |label: &str| {
        report
            .lines()
            .find_map(|l| l.trim().strip_prefix(label))
            .map(str::trim)
            .with_context(|| format!("no {label:?} in wrk's report:\n{report}"))
    };
    Ok(WrkRun {
        requests_per_second: field("Requests/sec:")?.parse()?,
        p50: wrk_duration(field("50%")?)?,
        p99: wrk_duration(field("99%")?)?,
    })
}

/// `190.00us`, `1.20ms`, `2.00s` as wrk prints them.
fn wrk_duration(text: &str) -> anyhow::Result<Duration> {
    let (number, scale) = if let Some(n) = text.strip_suffix("us") {
        (n, 1e-6)
    } else if let Some(n) = text.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1.0)
    } else {
        bail!("{text:?} is not a wrk duration")
    };
    let n: f64 = number.parse().with_context(|| format!("{text:?}"))?;
    Ok(Duration::from_secs_f64(n * scale))
}
