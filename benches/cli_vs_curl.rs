//! Wall time of `keydeck keys list --json` beside `curl` sending the same GraphQL request,
//! against a real service on loopback holding 200 keys (one page for both).
//! Run: cargo bench --bench cli_vs_curl   (needs curl on PATH)

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use keydeck::server::{self, ServeConfig};

mod common;

const KEYS: usize = 200;
const RUNS: usize = 30;

fn measure(mut run: impl FnMut() -> bool) -> (Duration, Duration) {
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            assert!(run(), "a run failed");
            start.elapsed()
        })
        .collect();
    times.sort();
    (times[RUNS / 2], times[0])
}

fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite:{}", dir.path().join("bench.db").display());
    let rt = tokio::runtime::Runtime::new()?;
    let (running, token) = rt.block_on(async {
        let (store, token) = common::seeded_store(&url, KEYS).await?;
        drop(store);
        let running = server::start(&ServeConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            database_url: url.clone(),
            bootstrap_token_file: None,
            max_key_ttl: None,
            public_url: None,
            monitor: vec![],
            sampling: Default::default(),
            limits: server::Limits::default(),
        })
        .await?;
        anyhow::Ok((running, token))
    })?;
    let endpoint = running.graphql_url();
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home)?;

    let keydeck = || {
        Command::new(env!("CARGO_BIN_EXE_keydeck"))
            .args(["keys", "list", "--json"])
            .env("KEYDECK_ENDPOINT", &endpoint)
            .env("KEYDECK_TOKEN", &token)
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", &home)
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let body = serde_json::json!({
        "query": include_str!("../graphql/keys.graphql"),
        "operationName": "ListKeys",
        "variables": {"filter": {"includeDisabled": false, "includeExpired": false}, "first": 500}
    })
    .to_string();
    let auth = format!("Authorization: Bearer {token}");
    let curl = || {
        Command::new("curl")
            .args([
                "-sf",
                "-o",
                "/dev/null",
                "-H",
                "Content-Type: application/json",
                "-H",
                &auth,
                "--data",
                &body,
                &endpoint,
            ])
            .status()
            .is_ok_and(|s| s.success())
    };
    let (k_median, k_min) = measure(keydeck);
    let (c_median, c_min) = measure(curl);
    println!("{KEYS} keys, {RUNS} runs each, one ListKeys request per run");
    println!("{:<28} {:>10} {:>10}", "command", "median", "min");
    println!(
        "{:<28} {:>8.1}ms {:>8.1}ms",
        "keydeck keys list --json",
        k_median.as_secs_f64() * 1e3,
        k_min.as_secs_f64() * 1e3
    );
    println!(
        "{:<28} {:>8.1}ms {:>8.1}ms",
        "curl (same request)",
        c_median.as_secs_f64() * 1e3,
        c_min.as_secs_f64() * 1e3
    );
    running.task.abort();
    Ok(())
}
