//! Wall time of `keydeck keys list --json` beside one `curl` process sending the same
//! GraphQL requests (the CLI's pages of 500, chained with `--next` on one connection, the
//! cursors computed as the service issues them), against a real service on loopback holding
//! 1,000 keys (a temporary SQLite file, or `BENCH_DB`).
//! Run: cargo bench --bench cli_vs_curl   (needs curl on PATH)
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

mod common;

const KEYS: usize = 1_000;
/// The CLI's page size (`keydeck keys list` asks for 500 keys a request).
const PAGE: usize = 500;
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
    let rt = tokio::runtime::Runtime::new()?;
    let url = rt.block_on(common::bench_store(dir.path(), "bench.db"))?;
    let (running, token) = rt.block_on(async {
        let (store, token) = common::seeded_store(&url, KEYS).await?;
        drop(store);
        let running = common::start_service(&url).await?;
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
    // Key `i` has sequence number `i + 1` (`common::seeded_store`), so the page after the
    // first `n` keys starts after cursor `kd:n`.
    let bodies: Vec<String> = (0..KEYS.div_ceil(PAGE))
        .map(|page| {
            let after = (page > 0).then(|| URL_SAFE_NO_PAD.encode(format!("kd:{}", page * PAGE)));
            serde_json::json!({
                "query": include_str!("../graphql/keys.graphql"),
                "operationName": "ListKeys",
                "variables": {
                    "filter": {"includeDisabled": false, "includeExpired": false},
                    "first": PAGE,
                    "after": after,
                }
            })
            .to_string()
        })
        .collect();
    rt.block_on(check_pages(&endpoint, &token, &bodies))?;
    let auth = format!("Authorization: Bearer {token}");
    let mut curl_args: Vec<&str> = Vec::new();
    for (i, body) in bodies.iter().enumerate() {
        if i > 0 {
            curl_args.push("--next");
        }
        curl_args.extend([
            "-sf",
            "-o",
            "/dev/null",
            "-H",
            "Content-Type: application/json",
            "-H",
            &auth,
            "--data",
            body,
            &endpoint,
        ]);
    }
    let curl = || {
        Command::new("curl")
            .args(&curl_args)
            .status()
            .is_ok_and(|s| s.success())
    };
    let (k_median, k_min) = measure(keydeck);
    let (c_median, c_min) = measure(curl);
    println!(
        "{KEYS} keys ({}), {RUNS} runs each, {} ListKeys requests of {PAGE} per run",
        common::backend_name(&url),
        bodies.len()
    );
    println!("{:<28} {:>10} {:>10}", "command", "median", "min");
    println!(
        "{:<28} {:>8.1}ms {:>8.1}ms",
        "keydeck keys list --json",
        k_median.as_secs_f64() * 1e3,
        k_min.as_secs_f64() * 1e3
    );
    println!(
        "{:<28} {:>8.1}ms {:>8.1}ms",
        "curl (same requests)",
        c_median.as_secs_f64() * 1e3,
        c_min.as_secs_f64() * 1e3
    );
    println!(
        "keydeck / curl (median): {:.2}",
        k_median.as_secs_f64() / c_median.as_secs_f64()
    );
    running.task.abort();
    Ok(())
}

/// The requests curl sends list every key once, with no errors.
async fn check_pages(endpoint: &str, token: &str, bodies: &[String]) -> anyhow::Result<()> {
    let client = reqwest::Client::builder().no_proxy().build()?;
    let mut listed = 0;
    for body in bodies {
        let reply: serde_json::Value = client
            .post(endpoint)
            .bearer_auth(token)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.clone())
            .send()
            .await?
            .json()
            .await?;
        anyhow::ensure!(reply.get("errors").is_none(), "{reply}");
        listed += reply["data"]["apiKeys"]["nodes"]
            .as_array()
            .map_or(0, Vec::len);
    }
    anyhow::ensure!(listed == KEYS, "the pages list {listed} keys, not {KEYS}");
    Ok(())
}
