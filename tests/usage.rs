//! Usage over time, through the real router over loopback (both stores, as
//! `KEYDECK_TEST_STORE` says) and the real binary: every request of a key counted, refusals
//! counted as refused, `ApiKey.usage` as a series, `apiKeys(filter: { unusedSince })`, the
//! CLI's `keys show` and `keys list --unused-since`, and two replicas on one PostgreSQL
//! database counting without loss or doubling.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use common::serve_process::ServeProcess;
use common::*;

const BIN: &str = env!("CARGO_BIN_EXE_keydeck");

/// A key's usage series, read by `token`.
const USAGE: &str = "query($id: String!, $startTs: Int, $points: Int) { \
     apiKeys(filter: { idPrefix: $id, includeDisabled: true, includeExpired: true }, first: 1) { \
     nodes { id usage(startTs: $startTs, points: $points) { startTs endTs requests refused } } } }";

/// A key's usage in one point over a window of its own.
const USAGE_WINDOW: &str = "query($id: String!, $startTs: Int, $endTs: Int) { \
     apiKeys(filter: { idPrefix: $id, includeDisabled: true, includeExpired: true }, first: 1) { \
     nodes { id usage(startTs: $startTs, endTs: $endTs, points: 1) { requests refused } } } }";

/// `(requests, refused)` of key `id` over `[start, end]` in one point, as `url` answers it.
async fn one_point(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    id: &str,
    (start, end): (i64, i64),
) -> (i64, i64) {
    let (status, body) = send(client.post(url).bearer_auth(token).json(&json!({
        "query": USAGE_WINDOW,
        "variables": { "id": id, "startTs": start, "endTs": end },
    })))
    .await;
    assert_eq!(status, StatusCode::OK, "{body:#}");
    let point = &body["data"]["apiKeys"]["nodes"][0]["usage"][0];
    match (point["requests"].as_i64(), point["refused"].as_i64()) {
        (Some(requests), Some(refused)) => (requests, refused),
        _ => panic!("one point: {body:#}"),
    }
}

/// Counted requests are written within about a second; this leaves room on a busy machine.
const FLUSHED: Duration = Duration::from_secs(10);

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// `(requests, refused)` summed over key `id`'s series, as `url` answers it to `token`.
async fn totals(client: &reqwest::Client, url: &str, token: &str, id: &str) -> (i64, i64) {
    let series = series(client, url, token, id, None, None).await;
    series.iter().fold((0, 0), |(r, f), p| {
        (
            r + p["requests"].as_i64().unwrap(),
            f + p["refused"].as_i64().unwrap(),
        )
    })
}

async fn series(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    id: &str,
    start_ts: Option<i64>,
    points: Option<i64>,
) -> Vec<Value> {
    let (status, body) = send(client.post(url).bearer_auth(token).json(&json!({
        "query": USAGE,
        "variables": { "id": id, "startTs": start_ts, "points": points },
    })))
    .await;
    assert_eq!(status, StatusCode::OK, "{body:#}");
    assert!(body.get("errors").is_none(), "{body:#}");
    body["data"]["apiKeys"]["nodes"][0]["usage"]
        .as_array()
        .unwrap_or_else(|| panic!("a usage series: {body:#}"))
        .clone()
}

/// `per_client` `{ me { id } }` requests from each of `clients` concurrent clients, each as
/// fast as it is answered, on `urls` in turn; how many were answered 200.
async fn hammer(urls: &[String], token: &str, clients: usize, per_client: usize) -> i64 {
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let (url, token) = (urls[c % urls.len()].clone(), token.to_owned());
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                let mut ok = 0;
                for _ in 0..per_client {
                    let response = client
                        .post(&url)
                        .bearer_auth(&token)
                        .json(&json!({ "query": "{ me { id } }" }))
                        .send()
                        .await
                        .unwrap();
                    if response.status() == StatusCode::OK {
                        ok += 1;
                    }
                }
                ok
            })
        })
        .collect();
    let mut sent = 0;
    for task in tasks {
        sent += task.await.unwrap();
    }
    sent
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_of_sixteen_clients_at_full_speed_is_counted() {
    let server = TestServer::start().await;
    let key = server.global_key("busy", &[]).await;
    let sent = hammer(&[server.graphql_url()], &key.token, 16, 100).await;
    assert_eq!(sent, 1600, "every request answered");
    let client = reqwest::Client::new();
    let url = server.graphql_url();
    eventually_within("every request counted", FLUSHED, || async {
        totals(&client, &url, &server.admin, &key.id).await == (sent, 0)
    })
    .await;
    // And no more arrive later (nothing counted twice).
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        totals(&client, &url, &server.admin, &key.id).await,
        (sent, 0)
    );
}

#[tokio::test]
async fn refusals_are_counted_as_refused() {
    let server = TestServer::start().await;
    let key = server.global_key("no roles", &[]).await;
    for _ in 0..3 {
        // The domain refuses it in the reply: one cannot grant what one does not hold.
        let reply = server
            .create_global(
                &key.token,
                json!({ "description": "escalation", "roles": ["super_admin"] }),
            )
            .await;
        refused(&reply, "FORBIDDEN");
    }
    for _ in 0..2 {
        // A resolver refuses it with a FORBIDDEN error: query statistics need the monitor role.
        let code = server
            .error_code(
                &key.token,
                "{ getQueryStats(databaseId: \"1\") { id } }",
                json!({}),
            )
            .await;
        assert_eq!(code, "FORBIDDEN");
    }
    for _ in 0..5 {
        server.me(&key.token).await;
    }
    let client = reqwest::Client::new();
    let url = server.graphql_url();
    eventually_within("requests and refusals counted", FLUSHED, || async {
        totals(&client, &url, &server.admin, &key.id).await == (10, 5)
    })
    .await;
    // The hour rows, written by the same flushes, hold the same: a day of whole clock hours
    // is read from them alone.
    let hour = now() / 3600 * 3600;
    let window = (hour - 23 * 3600, hour + 3599);
    assert_eq!(
        one_point(&client, &url, &server.admin, &key.id, window).await,
        (10, 5)
    );
}

/// A page of keys with each key's own count over the last day, as the TUI's "Req 24h"
/// column asks for it: one `usage(points: 1)` per key, answered for the whole page at once.
#[tokio::test]
async fn a_page_of_keys_carries_each_keys_own_last_day() {
    let server = TestServer::start().await;
    let mut keys = Vec::new();
    for (i, uses) in [3, 0, 7, 1].into_iter().enumerate() {
        let key = server.global_key(&format!("page-{i}"), &[]).await;
        for _ in 0..uses {
            server.me(&key.token).await;
        }
        keys.push((key.id, uses));
    }
    let client = reqwest::Client::new();
    let url = server.graphql_url();
    let page = || async {
        let (status, body) = send(client.post(&url).bearer_auth(&server.admin).json(&json!({
            "query": "{ apiKeys(filter: { search: \"page-\" }, first: 10) { \
                      nodes { id lastDay: usage(points: 1) { requests refused } } } }",
        })))
        .await;
        assert_eq!(status, StatusCode::OK, "{body:#}");
        assert!(body.get("errors").is_none(), "{body:#}");
        body["data"]["apiKeys"]["nodes"].as_array().unwrap().clone()
    };
    eventually_within("each key's own count on the page", FLUSHED, || async {
        let nodes = page().await;
        nodes.len() == keys.len()
            && keys.iter().all(|(id, uses)| {
                nodes.iter().any(|n| {
                    n["id"] == *id.as_str()
                        && n["lastDay"] == json!([{ "requests": uses, "refused": 0 }])
                })
            })
    })
    .await;
}

/// The Keys tab of the real binary shows each key's requests of the last day, and marks a
/// key that had requests refused.
#[tokio::test(flavor = "multi_thread")]
async fn the_keys_tab_shows_each_keys_requests_of_the_last_day() {
    let server = TestServer::start().await;
    let busy = server.global_key("busy reader", &[]).await;
    let refused_key = server.global_key("refused writer", &[]).await;
    for _ in 0..7 {
        server.me(&busy.token).await;
    }
    let code = server
        .error_code(
            &refused_key.token,
            "{ getQueryStats(databaseId: \"1\") { id } }",
            json!({}),
        )
        .await;
    assert_eq!(code, "FORBIDDEN");
    let client = reqwest::Client::new();
    let url = server.graphql_url();
    eventually_within("both keys' requests counted", FLUSHED, || async {
        totals(&client, &url, &server.admin, &busy.id).await == (7, 0)
            && totals(&client, &url, &server.admin, &refused_key.id).await == (1, 1)
    })
    .await;
    let mut tui = common::pty::Tui::start(&url, &server.admin);
    let screen = tui.screen.wait_for("refused writer");
    assert!(screen.contains("Req 24h"), "{screen}");
    let last_cell = |name: &str| {
        let row = screen
            .lines()
            .find(|l| l.contains(name))
            .unwrap_or_default();
        row.trim_end_matches(['│', ' ', '"'])
            .rsplit(' ')
            .next()
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(last_cell("busy reader"), "7", "{screen}");
    assert_eq!(last_cell("refused writer"), "1!", "{screen}");
    tui.send("q");
    let status = tui.child.wait().unwrap();
    assert!(status.success(), "keydeck exited with {status:?}");
}

#[tokio::test]
async fn usage_answers_a_series_of_points() {
    let server = TestServer::start().await;
    let key = server.global_key("charted", &[]).await;
    for _ in 0..7 {
        server.me(&key.token).await;
    }
    let client = reqwest::Client::new();
    let url = server.graphql_url();
    eventually_within("counted", FLUSHED, || async {
        totals(&client, &url, &server.admin, &key.id).await == (7, 0)
    })
    .await;
    // The last 24 hours in 12 points: twelve two-hour intervals, the newest holding now.
    let points = series(&client, &url, &server.admin, &key.id, None, Some(12)).await;
    assert_eq!(points.len(), 12, "{points:#?}");
    for pair in points.windows(2) {
        assert_eq!(pair[0]["endTs"], pair[1]["startTs"]);
        assert_eq!(
            pair[0]["endTs"].as_i64().unwrap() - pair[0]["startTs"].as_i64().unwrap(),
            7200
        );
    }
    let last = points.last().unwrap();
    assert!(last["endTs"].as_i64().unwrap() > now());
    assert_eq!(last["requests"], json!(7));
    // The last ten minutes, per minute at most: 10 points of 60 s.
    let recent = series(
        &client,
        &url,
        &server.admin,
        &key.id,
        Some(now() - 600),
        Some(240),
    )
    .await;
    assert!(recent.len() <= 11 && recent.len() >= 10, "{recent:#?}");
    assert!(
        recent
            .iter()
            .all(|p| p["endTs"].as_i64().unwrap() - p["startTs"].as_i64().unwrap() == 60)
    );
    // Bounded as getQueryStatSeries: at most 240 points.
    let code = server
        .error_code(&server.admin, USAGE, json!({ "id": key.id, "points": 241 }))
        .await;
    assert_eq!(code, "BAD_USER_INPUT");
}

#[tokio::test]
async fn unused_since_finds_stale_and_never_used_keys() {
    let server = TestServer::start().await;
    let used = server.global_key("used", &[]).await;
    let never = server.global_key("never used", &[]).await;
    server.me(&used.token).await;
    let since = now() - 3600;
    let stale = || async {
        server
            .visible_key_ids(&server.admin, json!({ "unusedSince": since }))
            .await
    };
    eventually("the used key's lastUsedAt is written", || async {
        !stale().await.contains(&used.id)
    })
    .await;
    let ids = stale().await;
    assert!(
        ids.contains(&never.id),
        "never used counts as unused: {ids:?}"
    );
    let count = server
        .api_keys(&server.admin, json!({ "unusedSince": since }))
        .await["totalCount"]
        .clone();
    assert_eq!(count, json!(ids.len()));
}

/// The binary in an isolated environment, against `endpoint` as `token`.
fn keydeck(home: &Path, endpoint: &str, token: &str, args: &[&str]) -> (i32, String, String) {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .args(args)
        .env("KEYDECK_ENDPOINT", endpoint)
        .env("KEYDECK_TOKEN", token)
        .stdin(Stdio::null());
    isolate(home, |k, v| {
        cmd.env(k, v);
    });
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cli_shows_usage_and_lists_unused_keys() {
    let server = TestServer::start().await;
    let home = tempfile::tempdir().unwrap();
    let used = server.global_key("used by ci", &[]).await;
    let never = server.global_key("forgotten", &[]).await;
    for _ in 0..4 {
        server.me(&used.token).await;
    }
    let refusal = server
        .error_code(
            &used.token,
            "{ getQueryStats(databaseId: \"1\") { id } }",
            json!({}),
        )
        .await;
    assert_eq!(refusal, "FORBIDDEN");
    let client = reqwest::Client::new();
    let url = server.graphql_url();
    eventually_within("counted", FLUSHED, || async {
        totals(&client, &url, &server.admin, &used.id).await == (5, 1)
    })
    .await;

    let (code, stdout, stderr) = keydeck(
        home.path(),
        &url,
        &server.admin,
        &["keys", "show", &used.id],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("24h: 5 (1 refused) · 7d: 5 (1 refused) · 30d: 5 (1 refused)"),
        "{stdout}"
    );
    let (code, stdout, stderr) = keydeck(
        home.path(),
        &url,
        &server.admin,
        &["keys", "show", &used.id, "--json"],
    );
    assert_eq!(code, 0, "{stderr}");
    let shown: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        shown["usage"],
        json!([
            { "window": "24h", "requests": 5, "refused": 1 },
            { "window": "7d", "requests": 5, "refused": 1 },
            { "window": "30d", "requests": 5, "refused": 1 },
        ])
    );

    let (code, stdout, stderr) = keydeck(
        home.path(),
        &url,
        &server.admin,
        &["keys", "list", "--unused-since", "30d", "--json"],
    );
    assert_eq!(code, 0, "{stderr}");
    let listed: Vec<Value> = serde_json::from_str(&stdout).unwrap();
    let ids: Vec<&str> = listed.iter().map(|k| k["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&never.id.as_str()), "{stdout}");
    assert!(!ids.contains(&used.id.as_str()), "{stdout}");

    let (code, _, stderr) = keydeck(
        home.path(),
        &url,
        &server.admin,
        &["keys", "list", "--unused-since", "soon"],
    );
    assert_eq!(code, 2, "a bad duration is a usage error: {stderr}");
    assert!(stderr.contains("--unused-since"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_on_one_postgresql_database_count_without_loss_or_doubling() {
    let Some(base) = pg::pg_url("two replicas counting usage") else {
        return;
    };
    let db = PgDatabase::create(&base).await;
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let a = ServeProcess::start_on(&db.url, dirs[0].path(), &[]);
    let b = ServeProcess::start_on(&db.url, dirs[1].path(), &[]);
    let minted: Vec<_> = dirs
        .iter()
        .filter(|dir| ServeProcess::token_path_in(dir.path()).exists())
        .collect();
    let admin = ServeProcess::admin_token_in(minted[0].path());
    let client = reqwest::Client::new();
    let (status, body) = send(
        client
            .post(a.graphql_url())
            .bearer_auth(&admin)
            .json(&json!({
                "query": CREATE_GLOBAL_API_KEY,
                "variables": { "description": "shared" },
            })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body:#}");
    let key = Key::from_reply(&only_field(body["data"].clone()));

    let urls = [a.graphql_url(), b.graphql_url()];
    let sent = hammer(&urls, &key.token, 16, 60).await;
    assert_eq!(sent, 960);
    for url in &urls {
        eventually_within("both replicas' counts added up", FLUSHED, || async {
            totals(&client, url, &admin, &key.id).await == (sent, 0)
        })
        .await;
    }

    // The same requests read from the hour rows: the 24 clock hours up to the end of this
    // one, in one interval (as the Keys tab asks), lie whole in it.
    let hour = now() / 3600 * 3600;
    let window = (hour - 23 * 3600, hour + 3599);
    assert_eq!(
        one_point(&client, &urls[0], &admin, &key.id, window).await,
        (sent, 0)
    );
    // Both replicas' hourly upkeep at once, as if two days had passed: the minute rows go,
    // once, and the hour rows keep every request.
    let (one, two) = (
        keydeck::server::store::Store::open(&db.url).await.unwrap(),
        keydeck::server::store::Store::open(&db.url).await.unwrap(),
    );
    let later = keydeck::server::model::Timestamp(now() + 2 * 86_400);
    let keep_all = keydeck::server::model::Timestamp(0);
    let (r1, r2) = tokio::join!(
        one.prune_usage(later, keep_all),
        two.prune_usage(later, keep_all)
    );
    let pruned = r1.unwrap().0 + r2.unwrap().0;
    assert!(pruned >= 1, "the minute rows were deleted");
    assert_eq!(
        one_point(&client, &urls[1], &admin, &key.id, window).await,
        (sent, 0)
    );
    drop((a, b));
}
