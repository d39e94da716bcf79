//! `apiKeys` and `identities` page latency at 1,000 and at 1,000,000 keys (an identity each),
//! over real HTTP against the real service (`keydeck::server::start` on a loopback port), one
//! request at a time.
//!
//! For each size: a fresh store (a temporary SQLite file, or a new database on the PostgreSQL
//! server `BENCH_DB` names) seeded with that many
//! keys (the seeding time is printed), then `KEY_PAGES_RUNS` requests (default 200, after 20
//! to warm up) of each case:
//! - the first page, without `totalCount`;
//! - a page deep into the list: after the key at 90 % of it, by cursor;
//! - a search (`filter: {search: "needle"}`) matching the 5 seeded needles;
//! - the first page with `totalCount`;
//! - pages in the other orders (`orderBy`): by name from the start and deep into it, the end
//!   by expiry (`last`), by last use going down;
//! - the Keys tab's page: the `ListKeys` operation of `graphql/keys.graphql` exactly as the
//!   TUI sends it, 200 keys with `totalCount` and every field and relation the tab shows;
//! - `identities` pages (the store holds an identity per key): by name from the start, deep
//!   into it and its end going down (`last`), and deep into creation order and its end.
//!
//! Prints median and p99 per case and size, and the ratio largest size / smallest size of
//! each (the goal is at most 1.5). Every response is checked (HTTP 200, no errors, the
//! expected number of keys); a wrong one stops the bench.
//!
//! Run: `cargo bench --bench key_pages`
//! (`KEY_PAGES_SIZES=1000,100000` changes the sizes; `BENCH_DB=postgres://…` runs on PostgreSQL).
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

mod common;

use common::pages;

const DEFAULT_SIZES: [usize; 2] = [1_000, 1_000_000];
const DEFAULT_RUNS: usize = 200;
const PAGE: usize = 50;

const NODE: &str = "id description tokenPrefix state createdAt expiresAt permissions visibility";

/// The Keys tab's own page: the `ListKeys` operation exactly as the TUI sends it.
const KEYS_TAB_PAGE: &str = "Keys tab page (ListKeys, 200)";
/// What `ListKeys` asks for its "Req 24h" column.
const LAST_DAY: &str =
    "lastDay: usage(startTs: $dayFrom, endTs: $dayTo, points: 1) { requests refused }";
/// The variables `ListKeys` declares for it.
const LAST_DAY_VARIABLES: &str = "$dayFrom: Int\n  $dayTo: Int\n";
/// Requests each key of the Keys tab's first page made every minute of the last day
/// ([`common::seed_busy_day`]), so that its "Req 24h" column is measured at its costliest.
const BUSY_PER_MINUTE: i64 = 5;

/// `ListKeys` from `operations`, for the first page as the TUI asks for it.
fn keys_tab_body(operations: &str) -> String {
    let now = keydeck::server::model::Timestamp::now().0;
    let (day_from, day_to) = keydeck::api::last_day_window(now);
    let mut variables = json!({
        "filter": {"includeDisabled": false, "includeExpired": false},
        "first": keydeck::tui::tabs::keys::PAGE_SIZE,
    });
    if operations.contains(LAST_DAY) {
        variables["dayFrom"] = json!(day_from);
        variables["dayTo"] = json!(day_to);
    }
    json!({ "query": operations, "operationName": "ListKeys", "variables": variables }).to_string()
}

/// One measured request shape.
struct Case {
    name: &'static str,
    /// The request's JSON body.
    body: fn(size: usize) -> String,
    with_total: bool,
    /// How many keys the page must hold.
    expected: fn(size: usize) -> usize,
}

const CASES: [Case; 15] = [
    Case {
        name: "first page, no count",
        body: |_| page_body("first: 50", false),
        with_total: false,
        expected: |_| PAGE,
    },
    Case {
        name: "deep page (after key at 90 %)",
        body: |size| {
            page_body(
                &format!("first: 50, after: \"{}\"", deep_cursor(size)),
                false,
            )
        },
        with_total: false,
        expected: |_| PAGE,
    },
    Case {
        name: "search (5 matches)",
        body: |_| {
            page_body(
                &format!("first: 50, filter: {{search: \"{}\"}}", common::NEEDLE),
                false,
            )
        },
        with_total: false,
        expected: |_| common::NEEDLES,
    },
    Case {
        name: "first page + totalCount",
        body: |_| page_body("first: 50", true),
        with_total: true,
        expected: |_| PAGE,
    },
    Case {
        name: "first page by name",
        body: |_| page_body("first: 50, orderBy: {field: NAME}", false),
        with_total: false,
        expected: |_| PAGE,
    },
    Case {
        name: "deep page by name (after “bench key 9”)",
        body: |_| {
            let cursor = URL_SAFE_NO_PAD.encode("kd:NAME:0:sbench key 9");
            page_body(
                &format!("first: 50, orderBy: {{field: NAME}}, after: \"{cursor}\""),
                false,
            )
        },
        with_total: false,
        expected: |_| PAGE,
    },
    Case {
        name: "the end by expiry (last: 50)",
        body: |_| page_body("last: 50, orderBy: {field: EXPIRES_AT}", false),
        with_total: false,
        expected: |_| PAGE,
    },
    Case {
        name: "first page by last use, descending",
        body: |_| {
            page_body(
                "first: 50, orderBy: {field: LAST_USED_AT, direction: DESC}",
                false,
            )
        },
        with_total: false,
        expected: |_| PAGE,
    },
    Case {
        name: KEYS_TAB_PAGE,
        body: |_| keys_tab_body(include_str!("../graphql/keys.graphql")),
        with_total: true,
        expected: |size| size.min(keydeck::tui::tabs::keys::PAGE_SIZE as usize),
    },
    Case {
        name: "Keys tab page without Req 24h",
        body: |_| {
            let operations = include_str!("../graphql/keys.graphql");
            let without = operations
                .replace(LAST_DAY, "")
                .replacen(LAST_DAY_VARIABLES, "", 1);
            assert_eq!(
                without.len(),
                operations.len() - LAST_DAY.len() - LAST_DAY_VARIABLES.len(),
                "ListKeys no longer asks for {LAST_DAY}"
            );
            keys_tab_body(&without)
        },
        with_total: true,
        expected: |size| size.min(keydeck::tui::tabs::keys::PAGE_SIZE as usize),
    },
    Case {
        name: "identities: first page by name",
        body: |_| identities_body("first: 50, orderBy: {field: NAME}"),
        with_total: false,
        expected: |_| PAGE,
    },
    Case {
        name: "identities: deep by name",
        body: |_| {
            let cursor = URL_SAFE_NO_PAD.encode("kd:NAME:0:sbench key 9");
            identities_body(&format!(
                "first: 50, orderBy: {{field: NAME}}, after: \"{cursor}\""
            ))
        },
        with_total: false,
        expected: |_| PAGE,
    },
    Case {
        name: "identities: end by name, desc",
        body: |_| identities_body("last: 50, orderBy: {field: NAME, direction: DESC}"),
        with_total: false,
        expected: |_| PAGE,
    },
    Case {
        name: "identities: deep by creation",
        body: |size| {
            identities_body(&format!(
                "first: 50, orderBy: {{field: CREATED_AT}}, after: \"{}\"",
                deep_cursor(size)
            ))
        },
        with_total: false,
        expected: |_| PAGE,
    },
    Case {
        name: "identities: end by creation",
        body: |_| identities_body("last: 50, orderBy: {field: CREATED_AT}"),
        with_total: false,
        expected: |_| PAGE,
    },
];

/// An `identities` page (each identity's id, description and creation) with these arguments.
fn identities_body(arguments: &str) -> String {
    let query = format!(
        "{{ identities({arguments}) {{ pageInfo {{ hasNextPage endCursor }} \
         edges {{ cursor node {{ id description createdAt }} }} }} }}"
    );
    json!({ "query": query }).to_string()
}

/// An `apiKeys` page of [`NODE`]s with these arguments.
fn page_body(arguments: &str, with_total: bool) -> String {
    let total = if with_total { " totalCount" } else { "" };
    let query = format!(
        "{{ apiKeys({arguments}) {{{total} pageInfo {{ hasNextPage endCursor }} \
         edges {{ cursor node {{ {NODE} }} }} }} }}"
    );
    json!({ "query": query }).to_string()
}

/// The cursor after the key at 90 % of a store of `size` keys: the service's own format
/// (`kd:` and the key's sequence number, base64url), which the seeding makes predictable.
fn deep_cursor(size: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("kd:{}", size / 10 * 9))
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("key_pages: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    let sizes = pages::sizes("KEY_PAGES_SIZES", &DEFAULT_SIZES, 10 * PAGE)?;
    let runs = pages::runs("KEY_PAGES_RUNS", DEFAULT_RUNS)?;
    let (measured, backend) = pages::each_size(&sizes, "pages.db", |url, size| async move {
        measure(&url, size, runs).await
    })?;
    let names: Vec<&str> = CASES.iter().map(|c| c.name).collect();
    pages::print_table(
        &format!(
            "apiKeys and identities pages, one request at a time, {runs} runs per case; {backend}"
        ),
        "keys",
        &names,
        &measured,
    );
    Ok(())
}

async fn measure(url: &str, size: usize, runs: usize) -> anyhow::Result<pages::Measured> {
    let started = Instant::now();
    let (store, token) = common::seeded_store(url, size).await?;
    let seeding = started.elapsed();
    drop(store);
    let running = common::start_service(url).await?;
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()?;
    let endpoint = running.graphql_url();
    // The keys of the Keys tab's first page were busy all day: their usage is read at its most.
    let first_page: Value = client
        .post(&endpoint)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .bearer_auth(&token)
        .body(keys_tab_body(include_str!("../graphql/keys.graphql")))
        .send()
        .await?
        .json()
        .await?;
    let ids: Vec<String> = first_page["data"]["apiKeys"]["nodes"]
        .as_array()
        .context("the Keys tab's first page")?
        .iter()
        .filter_map(|n| n["id"].as_str().map(str::to_owned))
        .collect();
    let started = Instant::now();
    common::seed_busy_day(url, &ids, BUSY_PER_MINUTE).await?;
    eprintln!(
        "seeded a busy day of usage for {} keys in {:.1} s",
        ids.len(),
        started.elapsed().as_secs_f64()
    );
    let mut cases = Vec::new();
    for case in &CASES {
        let body = (case.body)(size);
        let expected = (case.expected)(size);
        let label = format!("{size} keys, {}", case.name);
        let latencies = pages::latencies(
            &label,
            &client,
            &endpoint,
            &token,
            &body,
            runs,
            |status, bytes| check(case, status, bytes, expected, size),
        )
        .await?;
        cases.push(latencies);
    }
    running.task.abort();
    Ok(pages::Measured {
        size,
        seeding,
        cases,
    })
}

/// The reply is a page of `expected` keys or identities (and, when asked, the right total).
fn check(
    case: &Case,
    status: reqwest::StatusCode,
    body: &[u8],
    expected: usize,
    size: usize,
) -> anyhow::Result<()> {
    let data = pages::data(status, body)?;
    let list = if data["identities"].is_object() {
        &data["identities"]
    } else {
        &data["apiKeys"]
    };
    // The pages of `NODE`s list edges, `ListKeys` lists nodes.
    let items = list["edges"].as_array().or(list["nodes"].as_array());
    let n = items.map_or(0, Vec::len);
    ensure!(n == expected, "expected {expected} keys, got {n}");
    if case.name == KEYS_TAB_PAGE {
        // Every key of the page carries its busy day: at least the 23 whole hours of it that
        // the window (the clock hours up to the end of the current one) holds.
        let least = items
            .into_iter()
            .flatten()
            .map(|k| k["lastDay"][0]["requests"].as_i64().unwrap_or(0))
            .min();
        ensure!(
            least >= Some(BUSY_PER_MINUTE * 1_380),
            "a key of the page lacks its day of requests: {least:?}"
        );
    }
    if case.with_total {
        let total = list["totalCount"].as_i64();
        ensure!(
            total == i64::try_from(size).ok(),
            "expected totalCount {size}, got {total:?}"
        );
    }
    Ok(())
}
