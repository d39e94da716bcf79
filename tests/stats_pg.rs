//! Query statistics read from a real PostgreSQL's `pg_stat_statements`, asked for the way
//! pganalyze documents it.
//!
//! Needs `KEYDECK_TEST_PG_URL=postgres://…`: a database where `CREATE EXTENSION
//! pg_stat_statements` works and the library is preloaded (`.ci/pg-cluster start` prints
//! one). Without it the PostgreSQL test is skipped, loudly, unless `KEYDECK_REQUIRE_PG=1`.

mod common;

use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::postgres::PgPool;

use common::*;

const TABLE: &str = "pgbench_like_accounts";
const DATABASES: &str = "{ databases { id name } }";
const STATS: &str = "query($id: ID!) { getQueryStats(databaseId: $id) { id } }";

/// Makes sure the extension exists and the statistics hold an UPDATE on [`TABLE`].
async fn generate_statistics(url: &str) {
    let pool = PgPool::connect(url)
        .await
        .expect("connecting to KEYDECK_TEST_PG_URL");
    let statements = [
        "CREATE EXTENSION IF NOT EXISTS pg_stat_statements".to_owned(),
        format!(
            "CREATE TABLE IF NOT EXISTS {TABLE} (aid integer PRIMARY KEY, abalance integer NOT NULL DEFAULT 0)"
        ),
        format!(
            "INSERT INTO {TABLE} (aid) SELECT g FROM generate_series(1, 100) g ON CONFLICT DO NOTHING"
        ),
    ];
    for sql in statements {
        sqlx::query(&sql)
            .execute(&pool)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    let update = format!("UPDATE {TABLE} SET abalance = abalance + $1 WHERE aid = $2");
    for aid in 1..=10 {
        sqlx::query(&update)
            .bind(aid * 10)
            .bind(aid)
            .execute(&pool)
            .await
            .unwrap();
    }
    let counted: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {TABLE}"))
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(counted >= 100);
    pool.close().await;
}

#[tokio::test]
async fn query_stats_come_from_pg_stat_statements() {
    let Some(url) = pg_url("query statistics against PostgreSQL") else {
        return;
    };
    generate_statistics(&url).await;
    let server = TestServer::monitoring(vec![("app".into(), url)]).await;
    // pganalyze hands out a read-only key for this; here it holds the monitor role.
    let key = server
        .global_key_with(
            &server.admin,
            "pganalyze",
            &["monitor"],
            json!({ "permissions": ["READ"] }),
        )
        .await;

    let databases = server.data(&key.token, DATABASES, json!({})).await;
    assert_eq!(
        databases["databases"],
        json!([{ "id": "1", "name": "app" }])
    );

    let (status, body) = server.curl_form(&key.token, &pganalyze_query("1")).await;
    assert_eq!(status, StatusCode::OK, "{body:#}");
    assert!(body.get("errors").is_none(), "{body:#}");
    let stats = body["data"]["getQueryStats"].as_array().expect("a list");
    assert!(!stats.is_empty());
    for stat in stats {
        let pct = stat["pctOfTotal"].as_f64().unwrap();
        assert!((0.0..=100.0).contains(&pct), "{stat}");
        assert!(stat["avgTime"].as_f64().unwrap() >= 0.0, "{stat}");
        let id = string(&stat["id"]);
        let url = format!(
            "{}/databases/1/queries/{id}",
            server.graphql_url().trim_end_matches("/graphql")
        );
        assert_eq!(stat["queryUrl"], json!(url));
        if let Some(ratio) = stat["bufferHitRatio"].as_f64() {
            assert!((0.0..=100.0).contains(&ratio), "{stat}");
        }
    }
    let update = stats
        .iter()
        .find(|s| {
            s["statementType"] == json!(["UPDATE"])
                && s["tableNames"].as_array().unwrap().contains(&json!(TABLE))
        })
        .unwrap_or_else(|| panic!("no UPDATE on {TABLE} among {stats:#?}"));
    assert!(update["totalCalls"].as_i64().unwrap() >= 1, "{update}");
    let truncated = string(&update["truncatedQuery"]);
    assert!(
        truncated.starts_with(&format!("UPDATE {TABLE} SET")),
        "{truncated}"
    );

    // The fields pganalyze added later, and the window it cannot serve yet.
    let full = "query($id: ID!) { getQueryStats(databaseId: $id) { id normalizedQuery statementType statementTypes avgIoTime } }";
    let data = server.data(&key.token, full, json!({ "id": "1" })).await;
    let same = data["getQueryStats"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == update["id"])
        .expect("the UPDATE again");
    assert_eq!(same["statementTypes"], same["statementType"]);
    assert!(string(&same["normalizedQuery"]).contains("$1"));
    let window = "{ getQueryStats(databaseId: 1, startTs: 0) { id } }";
    assert_eq!(
        server.error_code(&key.token, window, json!({})).await,
        "BAD_USER_INPUT"
    );
}

#[tokio::test]
async fn only_monitors_and_super_admins_read_query_stats() {
    // The gate comes before any connection: an unreachable database is enough here.
    let unreachable = "postgres://keydeck@127.0.0.1:1/never_connected".to_owned();
    let server = TestServer::monitoring(vec![("app".into(), unreachable)]).await;
    server.blog().await;
    let monitor = server.global_key("monitor", &["monitor"]).await;
    let listed = json!([{ "id": "1", "name": "app" }]);
    for token in [&server.admin, &monitor.token] {
        let data = server.data(token, DATABASES, json!({})).await;
        assert_eq!(data["databases"], listed);
        // Past the gate: an unknown id is reported as such, naming the known ones.
        let (_, body) = server.gql(token, STATS, json!({ "id": "2" })).await;
        assert_eq!(first_error_code(&body), "DATABASE_NOT_FOUND");
        assert!(string(&body["errors"][0]["message"]).contains("1 (app)"));
    }

    let others = [
        server.global_key("plain", &[]).await,
        server.global_key("project admin", &["project_admin"]).await,
        server
            .project_key("my-blog", "editor", editor(&["cs"]))
            .await,
    ];
    for key in &others {
        for (query, variables) in [(DATABASES, json!({})), (STATS, json!({ "id": "1" }))] {
            let (status, body) = server.gql(&key.token, query, variables).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(first_error_code(&body), "FORBIDDEN", "{query}: {body}");
            assert_eq!(body["data"], Value::Null);
        }
    }
    // The same refusal through pganalyze's form request.
    let (_, body) = server
        .curl_form(&others[0].token, &pganalyze_query("1"))
        .await;
    assert_eq!(first_error_code(&body), "FORBIDDEN");
}
