//! The harness of the page benches (`key_pages`, `audit_pages`): sizes and runs from the
//! environment, a fresh store per size, the latencies of one request shape, and the table
//! that compares the sizes.

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use keydeck::tui::widgets::numbers::thousands;
use serde_json::Value;

/// Requests sent before the measured ones, per case.
pub const WARM_UP: usize = 20;

/// Latencies of one size, sorted, one list per case.
pub struct Measured {
    pub size: usize,
    pub seeding: Duration,
    pub cases: Vec<Vec<Duration>>,
}

/// The sizes `var` lists (`1000,100000`), each at least `least`; `default` without it.
pub fn sizes(var: &str, default: &[usize], least: usize) -> anyhow::Result<Vec<usize>> {
    let Ok(list) = std::env::var(var) else {
        return Ok(default.to_vec());
    };
    list.split(',')
        .map(|s| match s.trim().parse::<usize>() {
            Ok(n) if n >= least => Ok(n),
            _ => bail!("{var}: {s:?} is not a size of at least {least}"),
        })
        .collect()
}

/// The measured requests per case `var` asks for; `default` without it.
pub fn runs(var: &str, default: usize) -> anyhow::Result<usize> {
    match std::env::var(var) {
        Ok(s) => s
            .trim()
            .parse()
            .with_context(|| format!("{var} must be a number")),
        Err(_) => Ok(default),
    }
}

/// `measure` at each size, each on a fresh store (a temporary SQLite file `db_name`, or a new
/// database on the server `BENCH_DB` names); the measurements and the store's kind.
pub fn each_size<F, Fut>(
    sizes: &[usize],
    db_name: &str,
    mut measure: F,
) -> anyhow::Result<(Vec<Measured>, &'static str)>
where
    F: FnMut(String, usize) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Measured>>,
{
    let mut measured = Vec::new();
    let mut backend = "";
    for &size in sizes {
        let runtime = tokio::runtime::Runtime::new().context("building the tokio runtime")?;
        let dir = tempfile::tempdir().context("creating a temporary directory")?;
        let url = runtime.block_on(super::bench_store(dir.path(), db_name))?;
        backend = super::backend_name(&url);
        measured.push(runtime.block_on(measure(url, size))?);
        // Stops the service (a spawned task) and closes the store before its directory goes.
        runtime.shutdown_timeout(Duration::from_secs(5));
        drop(dir);
    }
    Ok((measured, backend))
}

/// One request shape (`label`) sent `WARM_UP + runs` times, one at a time, each reply
/// checked by `check`: the latencies of the last `runs`, sorted; the median is printed.
pub async fn latencies(
    label: &str,
    client: &reqwest::Client,
    endpoint: &str,
    token: &str,
    body: &str,
    runs: usize,
    check: impl Fn(reqwest::StatusCode, &[u8]) -> anyhow::Result<()>,
) -> anyhow::Result<Vec<Duration>> {
    let authorization = format!("Bearer {token}");
    let mut latencies = Vec::with_capacity(runs);
    for i in 0..WARM_UP + runs {
        let sent = Instant::now();
        let response = client
            .post(endpoint)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(reqwest::header::AUTHORIZATION, &authorization)
            .body(body.to_owned())
            .send()
            .await?;
        let status = response.status();
        let bytes = response.bytes().await?;
        let elapsed = sent.elapsed();
        check(status, &bytes).with_context(|| label.to_owned())?;
        if i >= WARM_UP {
            latencies.push(elapsed);
        }
    }
    latencies.sort_unstable();
    eprintln!(
        "{label}: median {}",
        super::fmt_ms(super::percentile(&latencies, 50.0))
    );
    Ok(latencies)
}

/// A reply's data, once it is HTTP 200, JSON and free of GraphQL errors.
pub fn data(status: reqwest::StatusCode, body: &[u8]) -> anyhow::Result<Value> {
    ensure!(
        status == reqwest::StatusCode::OK,
        "HTTP {status}: {}",
        String::from_utf8_lossy(&body[..body.len().min(300)])
    );
    let mut value: Value = serde_json::from_slice(body).context("the reply is not JSON")?;
    if let Some(errors) = value.get("errors") {
        bail!("GraphQL errors: {errors}");
    }
    Ok(value["data"].take())
}

/// Prints `title`, the seeding time of each size (of `what` is seeded), and a Markdown table:
/// median and p99 per case and size, and the ratio of the largest size's median to the
/// smallest's.
pub fn print_table(title: &str, what: &str, cases: &[&str], measured: &[Measured]) {
    let (Some(small), Some(large)) = (measured.first(), measured.last()) else {
        return;
    };
    println!();
    println!(
        "{title}; {} cores",
        std::thread::available_parallelism().map_or(0, std::num::NonZero::get)
    );
    for m in measured {
        println!(
            "seeding {} {what}: {:.1} s",
            thousands(m.size),
            m.seeding.as_secs_f64()
        );
    }
    let name_width = cases.iter().map(|c| c.chars().count()).max().unwrap_or(4);
    let mut header = format!("| {:<name_width$} |", "case");
    let mut rule = format!("|{}|", "-".repeat(name_width + 2));
    for m in measured {
        for what in ["median", "p99"] {
            header.push_str(&format!(
                " {:>20} |",
                format!("{} {what}", thousands(m.size))
            ));
            rule.push_str(&format!("{:->22}|", ""));
        }
    }
    let compared = measured.len() > 1;
    if compared {
        header.push_str(&format!(" {:>14} |", "ratio (median)"));
        rule.push_str(&format!("{:->16}|", ""));
    }
    println!("{header}");
    println!("{rule}");
    for (i, case) in cases.iter().enumerate() {
        let mut line = format!("| {case:<name_width$} |");
        for m in measured {
            for p in [50.0, 99.0] {
                line.push_str(&format!(
                    " {:>20} |",
                    super::fmt_ms(super::percentile(&m.cases[i], p))
                ));
            }
        }
        if compared {
            let ratio = match (
                super::percentile(&small.cases[i], 50.0),
                super::percentile(&large.cases[i], 50.0),
            ) {
                (Some(a), Some(b)) if !a.is_zero() => {
                    format!("{:.2}", b.as_secs_f64() / a.as_secs_f64())
                }
                _ => "-".to_owned(),
            };
            line.push_str(&format!(" {ratio:>14} |"));
        }
        println!("{line}");
    }
}
