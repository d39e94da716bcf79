//! Running `wrk` (a C load generator: it costs the machine far less per request than any
//! client we could write) and reading its report. Scripts live beside this file.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context as _, bail, ensure};

/// What `wrk` reported.
pub struct WrkRun {
    pub requests_per_second: f64,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
}

/// How `wrk` runs: threads, connections, how long, and the environment its script reads.
pub struct Load<'a> {
    pub threads: usize,
    pub connections: usize,
    pub duration: &'a str,
    pub env: &'a [(&'a str, &'a str)],
}

/// `benches/wrk/NAME`.
pub fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("benches/wrk")
        .join(name)
}

/// Runs `wrk` with `script` against `url` and reads its report; any non-2xx answer or socket
/// error fails the run.
pub fn run(script: &Path, url: &str, load: &Load<'_>) -> anyhow::Result<WrkRun> {
    let output = Command::new("wrk")
        .arg("-t")
        .arg(load.threads.to_string())
        .arg("-c")
        .arg(load.connections.to_string())
        .args(["-d", load.duration, "--latency", "-s"])
        .arg(script)
        .arg(url)
        .envs(load.env.iter().copied())
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
    // "Latency   1.18ms  771.49us  12.27ms   80.54%": average, deviation, max, share.
    let max = field("Latency")?
        .split_whitespace()
        .nth(2)
        .with_context(|| format!("no maximum latency in wrk's report:\n{report}"))?;
    Ok(WrkRun {
        requests_per_second: field("Requests/sec:")?.parse()?,
        p50: duration(field("50%")?)?,
        p99: duration(field("99%")?)?,
        max: duration(max)?,
    })
}

/// Prints `runs` as a Markdown table: requests/s, p50, p99 and max per target.
pub fn print_table(runs: &[(&str, WrkRun)]) {
    let width = runs.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    println!(
        "| {:<width$} | {:>10} | {:>9} | {:>9} | {:>9} |",
        "target", "requests/s", "p50", "p99", "max"
    );
    println!(
        "|{:-<rule$}|{:->12}|{:->11}|{:->11}|{:->11}|",
        "",
        "",
        "",
        "",
        "",
        rule = width + 2
    );
    for (name, run) in runs {
        println!(
            "| {:<width$} | {:>10.0} | {:>9} | {:>9} | {:>9} |",
            name,
            run.requests_per_second,
            super::common::fmt_ms(Some(run.p50)),
            super::common::fmt_ms(Some(run.p99)),
            super::common::fmt_ms(Some(run.max)),
        );
    }
}

/// `190.00us`, `1.20ms`, `2.00s`, `1.00m` as wrk prints them.
fn duration(text: &str) -> anyhow::Result<Duration> {
    let (number, scale) = if let Some(n) = text.strip_suffix("us") {
        (n, 1e-6)
    } else if let Some(n) = text.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60.0)
    } else {
        bail!("{text:?} is not a wrk duration")
    };
    let n: f64 = number.parse().with_context(|| format!("{text:?}"))?;
    Ok(Duration::from_secs_f64(n * scale))
}
