//! The whole pipeline of query statistics over time, as a new user would try it: pgbench on
//! a fresh monitored database sampled every second, pganalyze's request, then a
//! `pg_stat_statements_reset()` and more transactions, and a window that starts between the
//! two runs.
//!
//! Needs `KEYDECK_TEST_PG_URL` (`eval "$(.ci/pg-cluster start)"`) as a superuser and pgbench
//! from the same PostgreSQL; skips loudly without it, fails under `KEYDECK_REQUIRE_PG=1`.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

mod common;

use std::path::PathBuf;
use std::process::Command;

use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::postgres::PgPool;

use common::pg::pg_url;
use common::*;

/// pgbench, found where `.ci/pg-cluster` finds PostgreSQL's binaries.
fn pgbench() -> PathBuf {
    let from_pg_config = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let newest_installed = || {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path().join("bin"))
            .collect();
        dirs.sort_by_key(|d| {
            d.parent()
                .and_then(|v| v.file_name())
                .and_then(|v| v.to_str())
                .and_then(|v| v.parse::<u32>().ok())
        });
        dirs.pop()
    };
    let bin = from_pg_config
        .filter(|d| d.join("pgbench").exists())
        .or_else(newest_installed)
        .expect("PostgreSQL's bin directory (pg_config --bindir or /usr/lib/postgresql/*/bin)");
    bin.join("pgbench")
}

fn run_pgbench(url: &str, args: &[&str]) {
    let out = Command::new(pgbench())
        .args(args)
        .arg(url)
        .output()
        .expect("pgbench runs");
    assert!(
        out.status.success(),
        "pgbench {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `url` with its database replaced by `database`.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let (server, _) = base.rsplit_once('/').expect("a URL with a database");
    format!("{server}/{database}{query}")
}

fn now_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The `UPDATE pgbench_accounts …` statement of an answer, if there.
fn account_update(body: &Value) -> Option<Value> {
    body["data"]["getQueryStats"]
        .as_array()?
        .iter()
        .find(|s| string(&s["truncatedQuery"]).starts_with("UPDATE pgbench_accounts"))
        .cloned()
}

#[tokio::test]
async fn pgbench_runs_are_answered_per_window_across_a_reset() {
    let Some(url) = pg_url("query statistics against PostgreSQL") else {
        return;
    };
    let admin = PgPool::connect(&url).await.unwrap();
    let name = format!("keydeck_pipeline_{}", std::process::id());
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&admin)
        .await
        .unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&admin)
        .await
        .unwrap();
    let db_url = with_database(&url, &name);
    let db = PgPool::connect(&db_url).await.unwrap();
    sqlx::query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        .execute(&db)
        .await
        .unwrap();

    let server = TestServer::monitoring(vec![("bench".into(), db_url.clone())]).await;
    let key = server.global_key("pganalyze", &["monitor"]).await;
    server.next_round().await;
    run_pgbench(&db_url, &["-i", "-q"]);
    run_pgbench(&db_url, &["-t", "300", "-c", "1", "-n"]);

    // The seed's request, as pganalyze documents it.
    let seed = pganalyze_query("1");
    eventually("the 300 UPDATEs sampled", || async {
        let (_, body) = server.curl_form(&key.token, &seed).await;
        account_update(&body).is_some_and(|u| u["totalCalls"] == json!(300))
    })
    .await;
    let (status, body) = server.curl_form(&key.token, &seed).await;
    assert_eq!(status, StatusCode::OK, "{body:#}");
    let update = account_update(&body).expect("the UPDATE");
    assert_eq!(update["statementType"], json!(["UPDATE"]), "{update}");
    assert_eq!(
        update["tableNames"],
        json!(["pgbench_accounts"]),
        "{update}"
    );
    assert_eq!(update["totalCalls"], json!(300), "{update}");

    // T: after a round that follows run 1, and before run 2 starts.
    server.next_round().await;
    let t = now_s() + 1;
    eventually("the clock passes T", || async { now_s() > t }).await;
    sqlx::query("SELECT pg_stat_statements_reset()")
        .execute(&db)
        .await
        .unwrap();
    run_pgbench(&db_url, &["-t", "200", "-c", "1", "-n"]);

    let since_t = format!(
        "query {{ getQueryStats(databaseId: 1, startTs: {t}) {{ id truncatedQuery totalCalls pctOfTotal }} }}"
    );
    eventually("the 200 UPDATEs after the reset sampled", || async {
        let (_, body) = server.curl_form(&key.token, &since_t).await;
        account_update(&body).is_some_and(|u| u["totalCalls"] == json!(200))
    })
    .await;
    // The whole day holds both runs: the reset loses nothing and subtracts nothing.
    let (_, body) = server.curl_form(&key.token, &seed).await;
    let update = account_update(&body).expect("the UPDATE");
    assert_eq!(update["totalCalls"], json!(500), "{update}");

    // Its series: calls per interval, which add up to the window's total on either side of
    // the reset, and never go below zero. Only whole intervals are answered: two more rounds
    // close the one that holds the last UPDATEs.
    server.next_round().await;
    server.next_round().await;
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let id = string(&update["id"]);
    let first_round_s = {
        let mut store = server.store_connection().await;
        let ms: i64 = sqlx::query_scalar("SELECT min(taken_ms) FROM stats_rounds")
            .fetch_one(&mut store)
            .await
            .expect("the store holds rounds");
        ms / 1000
    };
    for (start, total) in [(String::new(), 500), (format!(", startTs: {t}"), 200)] {
        let series = format!(
            "{{ getQueryStatSeries(databaseId: 1, queryId: \"{id}\", points: 240{start}) \
             {{ startTs endTs rounds calls totalTime avgTime }} }}"
        );
        let (status, body) = server.curl_form(&key.token, &series).await;
        assert_eq!(status, StatusCode::OK, "{body:#}");
        let points = body["data"]["getQueryStatSeries"]
            .as_array()
            .unwrap_or_else(|| panic!("a series: {body:#}"));
        // Asked for 240 intervals of a window monitored for a few seconds, sampled every
        // second: one per second since the first round (none before it), fewer than 240.
        assert!(
            !points.is_empty() && points.len() < 240,
            "{} points: {body:#}",
            points.len()
        );
        let bound = |p: &Value, k: &str| p[k].as_i64().unwrap();
        assert!(bound(&points[0], "startTs") >= first_round_s, "{body:#}");
        assert!(
            points
                .iter()
                .all(|p| bound(p, "endTs") - bound(p, "startTs") == 1),
            "{body:#}"
        );
        assert!(bound(&points[points.len() - 1], "endTs") <= now_s());
        let calls: Vec<i64> = points
            .iter()
            .map(|p| p["calls"].as_i64().unwrap())
            .collect();
        assert!(calls.iter().all(|&c| c >= 0), "{calls:?}");
        assert_eq!(calls.iter().sum::<i64>(), total, "{start}: {calls:?}");
        let busy = points.iter().filter(|p| p["calls"] != json!(0)).count();
        assert!(busy >= 1 && points.iter().any(|p| p["rounds"] != json!(0)));
    }

    db.close().await;
    drop(server);
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&admin)
        .await
        .unwrap();
}
