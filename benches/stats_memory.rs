//! The service's memory under statement texts that a monitored database's users choose:
//! `STATS_STATEMENTS` (5,000) distinct statements, each with a `STATS_COMMENT_KIB` (64 KiB)
//! comment and all run again and again, sampled every second by the release `keydeck serve`
//! for `STATS_SECONDS` (30 s); then six requests at once of the heaviest kind the cost budget
//! accepts (two windows' texts each), and the ten-alias request it refuses.
//!
//! `KEYDECK_TEST_PG_URL=postgres://… cargo bench --bench stats_memory` (a superuser URL; `eval
//! "$(.ci/pg-cluster start)"` prints one; pg_stat_statements.max must exceed the statements).
//! Resets the cluster's pg_stat_statements.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde_json::{Value, json};

mod common;
use common::monitored::{
    Service, drop_database, env_usize, free_port, fresh_database, run_all, statements,
};

/// The process's resident set now and at its highest, in MiB (`/proc/PID/status`).
fn rss_mib(pid: u32) -> anyhow::Result<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| -> anyhow::Result<f64> {
        let line = status
            .lines()
            .find(|l| l.starts_with(name))
            .with_context(|| format!("{name} in /proc/{pid}/status"))?;
        let kib: f64 = line
            .split_whitespace()
            .nth(1)
            .context("a number")?
            .parse()?;
        Ok(kib / 1024.0)
    };
    Ok((field("VmRSS:")?, field("VmHWM:")?))
}

/// The highest resident set of `pid` while `work` runs, sampled every 50 ms.
async fn peak_during<T>(pid: u32, work: impl Future<Output = T>) -> anyhow::Result<(T, f64)> {
    let done = Arc::new(AtomicBool::new(false));
    let watch = {
        let done = Arc::clone(&done);
        tokio::spawn(async move {
            let mut most: f64 = 0.0;
            while !done.load(Ordering::Relaxed) {
                most = most.max(rss_mib(pid)?.0);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            anyhow::Ok(most)
        })
    };
    let out = work.await;
    done.store(true, Ordering::Relaxed);
    let most = watch.await??.max(rss_mib(pid)?.0);
    Ok((out, most))
}

async fn post(url: &str, token: &str, query: &str) -> anyhow::Result<(usize, Value)> {
    let body = reqwest::Client::new()
        .post(url)
        .bearer_auth(token)
        .json(&json!({ "query": query }))
        .send()
        .await?
        .bytes()
        .await?;
    Ok((body.len(), serde_json::from_slice(&body)?))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let Ok(url) = std::env::var("KEYDECK_TEST_PG_URL") else {
        eprintln!("SKIPPED: set KEYDECK_TEST_PG_URL (eval \"$(.ci/pg-cluster start)\") to run");
        return Ok(());
    };
    let count = env_usize("STATS_STATEMENTS", 5_000);
    let comment_kib = env_usize("STATS_COMMENT_KIB", 64);
    let seconds = env_usize("STATS_SECONDS", 30) as u64;

    let name = format!("keydeck_bench_memory_{}", std::process::id());
    let (db_url, db) = fresh_database(&url, &name).await?;
    let padding = "x".repeat(comment_kib << 10);
    let work: Vec<String> = statements(count)
        .into_iter()
        .map(|s| format!("{s} /* {padding} */"))
        .collect();
    let started = Instant::now();
    run_all(&db, &work, 50).await?;
    eprintln!(
        "{count} statements run once in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let dir = tempfile::tempdir()?;
    let token_file = dir.path().join("admin.token");
    let addr = free_port()?;
    let service = Service(
        Command::new(env!("CARGO_BIN_EXE_keydeck"))
            .arg("serve")
            .arg("--db")
            .arg(format!("sqlite:{}", dir.path().join("stats.db").display()))
            .args(["--listen", &addr.to_string(), "--stats-interval", "1s"])
            .args(["--monitor", &format!("bench={db_url}")])
            .arg("--bootstrap-token-file")
            .arg(&token_file)
            .arg("--log-file")
            .arg(dir.path().join("serve.log"))
            .env("HOME", dir.path())
            .env("XDG_DATA_HOME", dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .context("starting keydeck serve")?,
    );
    let pid = service.0.id();
    let graphql = format!("http://{addr}/graphql");
    let started = Instant::now();
    let token = loop {
        if let Ok(token) = std::fs::read_to_string(&token_file)
            && post(&graphql, token.trim(), "{ me { id } }").await.is_ok()
        {
            break token.trim().to_owned();
        }
        if started.elapsed() > Duration::from_secs(30) {
            bail!("keydeck serve did not answer within 30 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let (idle_rss, _) = rss_mib(pid)?;

    // Sampled every second while every statement runs again and again.
    let until = Instant::now() + Duration::from_secs(seconds);
    let (passes, sampling_peak) = peak_during(pid, async {
        let mut passes = 0;
        while Instant::now() < until {
            run_all(&db, &work, 50).await?;
            passes += 1;
        }
        anyhow::Ok(passes)
    })
    .await?;
    let passes = passes?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (after_sampling, _) = rss_mib(pid)?;
    let stored = {
        let (_, reply) = post(&graphql, &token, "{ getQueryStats(databaseId: 1) { id } }").await?;
        reply["data"]["getQueryStats"]
            .as_array()
            .with_context(|| format!("getQueryStats answered {reply}"))?
            .len()
    };

    // The heaviest request the budget accepts: two windows' answers with their texts.
    let start_ts = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs()
        - 3600;
    let heaviest = format!(
        "{{ day: getQueryStats(databaseId: 1) {{ id normalizedQuery }} \
         hour: getQueryStats(databaseId: 1, startTs: {start_ts}) {{ id normalizedQuery }} }}"
    );
    let started = Instant::now();
    let (answers, requests_peak) = peak_during(pid, async {
        let asks = (0..6).map(|_| post(&graphql, &token, &heaviest));
        futures::future::join_all(asks).await
    })
    .await?;
    let six = started.elapsed();
    let mut sizes = Vec::new();
    for answer in answers {
        let (size, reply) = answer?;
        if reply.get("errors").is_some() {
            bail!("the heaviest accepted request failed: {reply}");
        }
        sizes.push(size);
    }
    let aliases: Vec<String> = (0..10)
        .map(|i| format!("a{i}: getQueryStats(databaseId: 1) {{ normalizedQuery }}"))
        .collect();
    let (refused_size, refused) =
        post(&graphql, &token, &format!("{{ {} }}", aliases.join(" "))).await?;
    let refused_code = refused["errors"][0]["extensions"]["code"].clone();
    let (end_rss, hwm) = rss_mib(pid)?;
    drop(service);
    db.close().await;
    drop_database(&url, &name).await?;

    let mib = |bytes: usize| bytes as f64 / f64::from(1 << 20);
    println!(
        "statement texts: {count} distinct statements with a {comment_kib} KiB comment, sampled every second for {seconds} s ({passes} passes of all of them)\n"
    );
    println!("| what | figure |");
    println!("|---|---|");
    println!("| `keydeck serve` RSS, started | {idle_rss:.1} MiB |");
    println!("| RSS at its highest while sampling | {sampling_peak:.1} MiB |");
    println!("| RSS after sampling | {after_sampling:.1} MiB |");
    println!("| statements answered by `getQueryStats` after it | {stored} |");
    println!(
        "| six requests at once, each two windows' texts (the most the budget accepts): RSS at its highest | {requests_peak:.1} MiB |"
    );
    println!(
        "| … each answer | {:.1} MiB, the six in {:.2} s |",
        mib(sizes.iter().copied().max().unwrap_or(0)),
        six.as_secs_f64()
    );
    println!(
        "| ten aliases of `getQueryStats {{ normalizedQuery }}` | {refused_code}, {refused_size} bytes |"
    );
    println!("| RSS at the end; highest of the run (VmHWM) | {end_rss:.1} MiB; {hwm:.1} MiB |");
    Ok(())
}
