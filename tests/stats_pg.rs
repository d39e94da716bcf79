//! Query statistics read from a real PostgreSQL's `pg_stat_statements`, asked for the way
//! pganalyze documents it.
//!
//! Needs `KEYDECK_TEST_PG_URL=postgres://…`: a database where `CREATE EXTENSION
//! pg_stat_statements` works and the library is preloaded (`.ci/pg-cluster start` prints
//! one). Without it the PostgreSQL test is skipped, loudly, unless `KEYDECK_REQUIRE_PG=1`.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

mod common;

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::Connection as _;
use sqlx::postgres::PgPool;

use keydeck::server::stats::Sampling;

use common::pg::pg_url;
use common::*;

const TABLE: &str = "pgbench_like_accounts";
const DATABASES: &str = "{ databases { id name } }";
const STATS: &str = "query($id: ID!) { getQueryStats(databaseId: $id) { id } }";
const SERIES: &str =
    "query($id: ID!) { getQueryStatSeries(databaseId: $id, queryId: \"1\") { calls } }";

/// A service monitoring `url` as `app` (id 1), sampling every second, after its first round:
/// what the test does next falls inside the default window.
async fn sampled_from_now(url: &str) -> TestServer {
    let server = TestServer::monitoring(vec![("app".into(), url.to_owned())]).await;
    server.next_round().await;
    server
}

/// Makes sure the extension exists and the statistics hold an UPDATE on [`TABLE`].
async fn generate_statistics(url: &str) {
    let pool = PgPool::connect(url)
        .await
        .expect("connecting to KEYDECK_TEST_PG_URL");
    // Tests run at once; CREATE … IF NOT EXISTS is not safe against itself.
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("SELECT pg_advisory_xact_lock(7100)")
        .execute(&mut *tx)
        .await
        .unwrap();
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
            .execute(&mut *tx)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    tx.commit().await.unwrap();
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
    let server = sampled_from_now(&url).await;
    generate_statistics(&url).await;
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

    server.next_round().await;
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

    // The fields pganalyze added later, and windows it refuses.
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
    for window in [
        "{ getQueryStats(databaseId: 1, startTs: 0) { id } }",
        "{ getQueryStats(databaseId: 1, startTs: 2000000000, endTs: 1999999999) { id } }",
    ] {
        assert_eq!(
            server.error_code(&key.token, window, json!({})).await,
            "BAD_USER_INPUT",
            "{window}"
        );
    }
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
        for query in [STATS, SERIES] {
            let (_, body) = server.gql(token, query, json!({ "id": "2" })).await;
            assert_eq!(first_error_code(&body), "DATABASE_NOT_FOUND");
            assert!(string(&body["errors"][0]["message"]).contains("1 (app)"));
        }
        // A series is bounded: 1 to 240 intervals.
        for points in [0, 241] {
            let query = format!(
                "{{ getQueryStatSeries(databaseId: 1, queryId: \"1\", points: {points}) {{ calls }} }}"
            );
            let (_, body) = server.gql(token, &query, json!({})).await;
            assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "{body}");
        }
    }

    let others = [
        server.global_key("plain", &[]).await,
        server.global_key("project admin", &["project_admin"]).await,
        server
            .project_key("my-blog", "editor", editor(&["cs"]))
            .await,
    ];
    for key in &others {
        for (query, variables) in [
            (DATABASES, json!({})),
            (STATS, json!({ "id": "1" })),
            (SERIES, json!({ "id": "1" })),
        ] {
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

/// Runs `sql` on the test cluster's database as its superuser.
async fn run_as_owner(url: &str, statements: &[&str]) {
    let pool = PgPool::connect(url)
        .await
        .expect("connecting to KEYDECK_TEST_PG_URL");
    for sql in statements {
        sqlx::query(sql)
            .execute(&pool)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    pool.close().await;
}

/// `url` with another user and password.
fn as_user(url: &str, user: &str, password: &str) -> String {
    let mut url = reqwest::Url::parse(url).expect("KEYDECK_TEST_PG_URL is a URL");
    url.set_username(user).unwrap();
    url.set_password(Some(password)).unwrap();
    url.to_string()
}

const EVERYTHING: &str = "query($id: ID!) { getQueryStats(databaseId: $id) { id normalizedQuery statementType tableNames totalCalls } }";

#[tokio::test]
async fn the_services_own_queries_never_appear() {
    let Some(url) = pg_url("query statistics against PostgreSQL") else {
        return;
    };
    let server = sampled_from_now(&url).await;
    generate_statistics(&url).await;
    server.next_round().await;
    let states = "{ databases { state } }";
    assert_eq!(
        server.data(&server.admin, states, json!({})).await["databases"],
        json!([{ "state": "OK" }])
    );
    // Twice: the second answer would hold the first's query if it were not left out.
    server
        .data(&server.admin, EVERYTHING, json!({ "id": "1" }))
        .await;
    let data = server
        .data(&server.admin, EVERYTHING, json!({ "id": "1" }))
        .await;
    let texts: Vec<String> = data["getQueryStats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| string(&s["normalizedQuery"]))
        .collect();
    assert!(!texts.is_empty());
    assert!(
        texts.iter().all(|t| !t.contains("keydeck:monitor")),
        "{texts:#?}"
    );

    // They are in pg_stat_statements, marked: left out by the service, not missing.
    let pool = PgPool::connect(&url).await.unwrap();
    let marked: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_statements WHERE query LIKE '%/* keydeck:monitor */%pg_stat_statements%'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(
        marked >= 2,
        "the statistics and the probe queries: {marked}"
    );
    pool.close().await;
}

#[tokio::test]
async fn databases_say_whether_they_can_be_read() {
    let Some(url) = pg_url("query statistics against PostgreSQL") else {
        return;
    };
    generate_statistics(&url).await;
    // A database of the same cluster without the extension.
    let pool = PgPool::connect(&url).await.unwrap();
    let bare_exists: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'keydeck_bare')",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    if !bare_exists {
        sqlx::query("CREATE DATABASE keydeck_bare")
            .execute(&pool)
            .await
            .unwrap();
    }
    pool.close().await;
    let mut bare = reqwest::Url::parse(&url).unwrap();
    bare.set_path("/keydeck_bare");
    let server = TestServer::monitoring(vec![
        ("app".into(), url.clone()),
        ("bare".into(), bare.to_string()),
        (
            "gone".into(),
            "postgres://keydeck@127.0.0.1:1/never_connected".into(),
        ),
    ])
    .await;
    let query = "{ databases { id name state stateReason } }";
    let data = server.data(&server.admin, query, json!({})).await;
    let databases = data["databases"].as_array().unwrap();
    assert_eq!(
        databases[0],
        json!({ "id": "1", "name": "app", "state": "OK", "stateReason": null })
    );
    assert_eq!(databases[1]["state"], "PG_STAT_STATEMENTS_MISSING");
    let reason = string(&databases[1]["stateReason"]);
    assert!(
        reason.contains("pg_stat_statements") && reason.contains("CREATE EXTENSION"),
        "{reason}"
    );
    assert_eq!(databases[2]["state"], "UNREACHABLE");
    assert!(
        string(&databases[2]["stateReason"]).contains("connect"),
        "{}",
        databases[2]
    );
}

#[tokio::test]
async fn a_role_with_only_pg_read_all_stats_sees_other_roles_statements() {
    let Some(url) = pg_url("query statistics against PostgreSQL") else {
        return;
    };
    generate_statistics(&url).await;
    // The README's SQL, and a role without the grant to compare with.
    run_as_owner(
        &url,
        &[
            "DROP ROLE IF EXISTS keydeck_monitor_test",
            "DROP ROLE IF EXISTS keydeck_nobody_test",
            "CREATE ROLE keydeck_monitor_test LOGIN PASSWORD 'monitor-test'",
            "GRANT pg_read_all_stats TO keydeck_monitor_test",
            "CREATE ROLE keydeck_nobody_test LOGIN PASSWORD 'nobody-test'",
            "CREATE TABLE IF NOT EXISTS owner_only_ledger (id integer)",
        ],
    )
    .await;
    let server = TestServer::monitoring(vec![
        (
            "granted".into(),
            as_user(&url, "keydeck_monitor_test", "monitor-test"),
        ),
        (
            "plain".into(),
            as_user(&url, "keydeck_nobody_test", "nobody-test"),
        ),
    ])
    .await;
    let on_ledger = |data: &Value| -> Vec<Value> {
        data["getQueryStats"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["tableNames"] == json!(["owner_only_ledger"]))
            .cloned()
            .collect()
    };
    // After both databases' first rounds, so that it falls inside the window.
    server.next_round().await;
    server.next_round().await;
    run_as_owner(
        &url,
        &["SELECT count(*) FROM owner_only_ledger WHERE id > 7"],
    )
    .await;
    let granted = || server.data(&server.admin, EVERYTHING, json!({ "id": "1" }));
    eventually("the owner's SELECT sampled", || async {
        !on_ledger(&granted().await).is_empty()
    })
    .await;
    let seen = on_ledger(&granted().await);
    assert!(
        seen.iter().any(|s| s["statementType"] == json!(["SELECT"])
            && string(&s["normalizedQuery"]).contains("id > $1")),
        "the owner's SELECT, in full: {seen:#?}"
    );
    let plain = server
        .data(&server.admin, EVERYTHING, json!({ "id": "2" }))
        .await;
    assert_eq!(on_ledger(&plain), Vec::<Value>::new());

    // The service's marker, written by another role than the service's, hides nothing; and
    // a statement padded with a megabyte of comment is stored and answered cut.
    let padded = format!(
        "SELECT count(*) FROM owner_only_ledger WHERE id < 3 /* {} */",
        "x".repeat(1 << 20)
    );
    run_as_owner(
        &url,
        &[
            "SELECT /* keydeck:monitor */ count(*) FROM owner_only_ledger WHERE id <> 5",
            &padded,
        ],
    )
    .await;
    // (Cut inside its comment, the padded one no longer parses: it keeps only its type.)
    let texts = || async {
        granted().await["getQueryStats"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| string(&s["normalizedQuery"]))
            .filter(|t| t.contains("owner_only_ledger"))
            .collect::<Vec<_>>()
    };
    eventually("the marked and the padded SELECTs sampled", || async {
        let texts = texts().await;
        texts.iter().any(|t| t.contains("keydeck:monitor"))
            && texts.iter().any(|t| t.contains("id < $1"))
    })
    .await;
    let padded = texts()
        .await
        .into_iter()
        .find(|t| t.contains("id < $1"))
        .unwrap();
    assert_eq!(padded.chars().count(), 65_536, "cut at 64 Ki characters");
}

#[tokio::test]
async fn the_query_page_shows_the_whole_statement() {
    let Some(url) = pg_url("query statistics against PostgreSQL") else {
        return;
    };
    generate_statistics(&url).await;
    // Longer than truncatedQuery, with characters HTML must escape.
    let long = format!(
        "SELECT aid, abalance FROM {TABLE} WHERE aid < 5 AND abalance >= 0 AND '<b>' <> 'x' \
         AND aid IN (SELECT aid FROM {TABLE} WHERE abalance < 1000000) ORDER BY aid"
    );
    let server = sampled_from_now(&url).await;
    run_as_owner(&url, &[&long]).await;
    server.next_round().await;
    let key = server.global_key("pganalyze", &["monitor"]).await;
    let data = server
        .data(
            &key.token,
            "query($id: ID!) { getQueryStats(databaseId: $id) { id queryUrl normalizedQuery truncatedQuery totalCalls } }",
            json!({ "id": "1" }),
        )
        .await;
    let stat = data["getQueryStats"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| string(&s["normalizedQuery"]).contains("abalance < $"))
        .unwrap_or_else(|| panic!("the long SELECT among {data:#?}"))
        .clone();
    let whole = string(&stat["normalizedQuery"]);
    assert!(whole.chars().count() > 100 && string(&stat["truncatedQuery"]).ends_with('…'));
    let page_url = string(&stat["queryUrl"]);

    let client = reqwest::Client::new();
    let page = client
        .get(&page_url)
        .header("Authorization", format!("Token {}", key.token))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let headers = page.headers().clone();
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    let html = page.text().await.unwrap();
    let escaped = whole
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;");
    assert!(html.contains(&escaped), "{html}");
    assert!(!html.contains("<b>"), "{html}");
    assert!(
        html.contains(&format!("<td>{}</td>", stat["totalCalls"])),
        "{html}"
    );
    assert!(html.contains(&format!("Statement {} on app", string(&stat["id"]))));

    // A statement the database does not have.
    let missing = client
        .get(page_url.replace(
            &format!("/queries/{}", string(&stat["id"])),
            "/queries/12345",
        ))
        .header("Authorization", format!("Token {}", key.token))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert!(
        missing
            .text()
            .await
            .unwrap()
            .contains("no statement with id 12345")
    );
}

#[tokio::test]
async fn the_query_page_needs_getquerystats_authentication() {
    // Refused before any connection: an unreachable database is enough here.
    let unreachable = "postgres://keydeck@127.0.0.1:1/never_connected".to_owned();
    let server = TestServer::monitoring(vec![("app".into(), unreachable)]).await;
    let page = server
        .graphql_url()
        .replace("/graphql", "/databases/1/queries/42");
    let client = reqwest::Client::new();

    // A browser: no Authorization header.
    let response = client.get(&page).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = response.text().await.unwrap();
    assert!(text.contains("Authorization: Token <token>"), "{text}");

    let get = |token: String| {
        client
            .get(&page)
            .header("Authorization", format!("Token {token}"))
            .send()
    };
    let rejected = get("not-a-key".into()).await.unwrap();
    assert_eq!(rejected.status(), StatusCode::UNAUTHORIZED);
    let plain = server.global_key("plain", &[]).await;
    let response = get(plain.token).await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.text().await.unwrap().contains("monitor"));
    let write_only = server
        .global_key_with(
            &server.admin,
            "write only",
            &["monitor"],
            json!({ "permissions": ["WRITE"] }),
        )
        .await;
    let response = get(write_only.token).await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.text().await.unwrap().contains("READ"));

    // Past the gate: the database is named, then its trouble.
    let monitor = server.global_key("monitor", &["monitor"]).await;
    let response = get(monitor.token.clone()).await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let unknown = client
        .get(page.replace("/databases/1/", "/databases/9/"))
        .header("Authorization", format!("Token {}", monitor.token))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert!(unknown.text().await.unwrap().contains("1 (app)"));
}

#[tokio::test]
async fn retention_keeps_the_store_bounded() {
    let Some(url) = pg_url("query statistics against PostgreSQL") else {
        return;
    };
    // Every second; full resolution for 2 s, then one round per 2 s for 4 s more.
    let sampling = Sampling {
        interval: Duration::from_secs(1),
        retention: Duration::from_secs(2),
        rollup: Duration::from_secs(2),
        rollup_retention: Duration::from_secs(6),
    };
    let server = TestServer::sampling(vec![("app".into(), url.clone())], sampling).await;
    let pool = PgPool::connect(&url).await.unwrap();
    server.next_round().await;
    // The first round holds every statement pg_stat_statements has; later ones what changed.
    let (_, first) = server.sample_counts().await;
    let mut most = (0, 0);
    for round in 0..12 {
        // A new statement every round (aliases and constants do not make one; the number of
        // columns does), so that every round stores samples.
        let columns = vec!["1"; round + 1].join(", ");
        sqlx::query(&format!("SELECT {columns}"))
            .execute(&pool)
            .await
            .unwrap();
        server.next_round().await;
        let (rounds, samples) = server.sample_counts().await;
        most = (most.0.max(rounds), most.1.max(samples));
    }
    pool.close().await;
    eprintln!("retention: first round {first} samples; at most {most:?} (rounds, samples)");
    // 2–3 full-resolution rounds and 3–4 rolled-up ones, however long it runs.
    assert!(most.0 <= 8, "rounds kept: {most:?}");
    // Removed rounds' samples fold into kept ones, so samples are bounded by the statements
    // (each one's latest value stays, as the base of later differences) plus what changed
    // in the kept rounds, not by the rounds taken.
    assert!(
        most.1 <= first + 8 * 10,
        "samples kept: {most:?}, first round {first}"
    );
    let stats = server
        .data(
            &server.admin,
            "{ getQueryStats(databaseId: 1) { id totalCalls } }",
            json!({}),
        )
        .await;
    assert!(stats["getQueryStats"].is_array(), "{stats}");
}

/// A database of the test cluster with pg_stat_statements, made once: for the tests that
/// lock or load its statistics without touching the other tests' database.
async fn side_database(url: &str, name: &str) -> String {
    let pool = PgPool::connect(url).await.unwrap();
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("SELECT pg_advisory_xact_lock(7101)")
        .execute(&mut *tx)
        .await
        .unwrap();
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(name)
            .fetch_one(&mut *tx)
            .await
            .unwrap();
    tx.commit().await.unwrap();
    if !exists {
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&pool)
            .await
            .unwrap();
    }
    pool.close().await;
    let mut side = reqwest::Url::parse(url).unwrap();
    side.set_path(&format!("/{name}"));
    let side = side.to_string();
    run_as_owner(
        &side,
        &["CREATE EXTENSION IF NOT EXISTS pg_stat_statements"],
    )
    .await;
    side
}

#[tokio::test]
async fn a_locked_pg_stat_statements_never_collects_the_services_connections() {
    let Some(url) = pg_url("query statistics against PostgreSQL") else {
        return;
    };
    let hung = side_database(&url, "keydeck_hung").await;
    let server = sampled_from_now(&hung).await;
    // Another session holds pg_stat_statements exclusively, as a hostile user may.
    let mut locker = sqlx::PgConnection::connect(&hung).await.unwrap();
    let locker_pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut locker)
        .await
        .unwrap();
    sqlx::query("BEGIN").execute(&mut locker).await.unwrap();
    sqlx::query("LOCK TABLE pg_stat_statements IN ACCESS EXCLUSIVE MODE")
        .execute(&mut locker)
        .await
        .unwrap();
    // Counted from the test's own database: the service's backends on the locked one.
    let watcher = PgPool::connect(&url).await.unwrap();
    let backends = || async {
        sqlx::query_as::<_, (i32, Option<String>)>(
            "SELECT pid, application_name FROM pg_stat_activity \
             WHERE datname = 'keydeck_hung' AND pid <> $1",
        )
        .bind(locker_pid)
        .fetch_all(&watcher)
        .await
        .unwrap()
    };
    let monitor = server.global_key("monitor", &["monitor"]).await;
    let (mut most, mut states, mut names) = (0, Vec::new(), Vec::new());
    // Past two probes' reuse (10 s each, after a 2 s wait): before the fix, each probe left a
    // backend waiting on the lock, and the sampler one more.
    for _ in 0..20 {
        let data = server
            .data(&monitor.token, "{ databases { state } }", json!({}))
            .await;
        states.push(string(&data["databases"][0]["state"]));
        let (_, body) = server
            .gql(&monitor.token, STATS, json!({ "id": "1" }))
            .await;
        assert!(
            body["data"]["getQueryStats"].is_array()
                || first_error_code(&body) == "DATABASE_UNAVAILABLE",
            "{body}"
        );
        let seen = backends().await;
        most = most.max(seen.len());
        assert!(seen.len() <= 2, "the service's backends: {seen:?}");
        names.extend(seen.into_iter().map(|(_, name)| name));
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    eprintln!("locked pg_stat_statements: at most {most} backends, states {states:?}");
    assert!(states.iter().any(|s| s == "UNREACHABLE"), "{states:?}");
    // Named, so that the database's administrator sees whose they are.
    assert!(
        names
            .iter()
            .all(|n| n.as_deref() == Some("keydeck-monitor")),
        "{names:?}"
    );
    sqlx::query("ROLLBACK").execute(&mut locker).await.unwrap();
    locker.close().await.unwrap();
    // Released: the service reads it again (once the last answer's 10 s have passed).
    eventually_within("the state OK again", Duration::from_secs(20), || async {
        let data = server
            .data(&monitor.token, "{ databases { state } }", json!({}))
            .await;
        data["databases"][0]["state"] == "OK"
    })
    .await;
    server.next_round().await;
    assert!(backends().await.len() <= 2);
    watcher.close().await;
}

/// A monitored database that lies (issue 17): its `pg_stat_statements` is a function of its
/// own, ahead on the search path (over this database's rows only, so that a round stays quick
/// however busy the cluster's statistics are), answering negative and overflowing counters, NaN and
/// infinite times. The service keeps serving: every answer is a clear GraphQL reply, every
/// number in it finite and no count negative.
#[tokio::test]
async fn a_lying_pg_stat_statements_cannot_hurt_the_service() {
    let Some(url) = pg_url("query statistics against PostgreSQL") else {
        return;
    };
    let liar = side_database(&url, "keydeck_liar").await;
    run_as_owner(
        &liar,
        &[
            "CREATE SCHEMA IF NOT EXISTS liar",
            "CREATE OR REPLACE FUNCTION liar.pg_stat_statements(showtext boolean) \
             RETURNS SETOF public.pg_stat_statements LANGUAGE sql AS $$ \
               SELECT (jsonb_populate_record(s, jsonb_build_object( \
                 'calls', -7, 'total_exec_time', 'NaN', 'shared_blks_hit', -1, \
                 'shared_blks_read', 9223372036854775807))).* \
               FROM public.pg_stat_statements s WHERE s.dbid = \
                 (SELECT oid FROM pg_database WHERE datname = current_database()) \
               UNION ALL \
               SELECT (jsonb_populate_record(s, jsonb_build_object( \
                 'total_exec_time', 'Infinity', 'calls', 4611686018427387904, \
                 'queryid', 42, 'query', repeat('lie ', 100)))).* \
               FROM public.pg_stat_statements s WHERE s.dbid = \
                 (SELECT oid FROM pg_database WHERE datname = current_database()) \
             $$",
            "ALTER DATABASE keydeck_liar SET search_path = liar, public",
            "SELECT 1 AS warm",
            "SELECT count(*) FROM pg_class",
        ],
    )
    .await;
    let server = sampled_from_now(&liar).await;
    server.next_round().await;
    const ASK: &str = "query($id: ID!) { getQueryStats(databaseId: $id) { id totalCalls \
        avgTime avgIoTime pctOfTotal bufferHitRatio normalizedQuery } }";
    for _ in 0..3 {
        let (status, body) = server.gql(&server.admin, ASK, json!({ "id": "1" })).await;
        assert_eq!(status, 200, "{body}");
        assert!(body.get("data").is_some(), "{body}");
        if let Some(stats) = body["data"]["getQueryStats"].as_array() {
            for stat in stats {
                for field in ["avgTime", "avgIoTime", "pctOfTotal"] {
                    let n = &stat[field];
                    assert!(
                        n.is_null() || n.as_f64().is_some_and(f64::is_finite),
                        "{field}: {stat}"
                    );
                    assert!(n.as_f64().is_none_or(|n| n >= 0.0), "{field}: {stat}");
                }
                assert!(
                    stat["totalCalls"].as_i64().is_some_and(|n| n >= 0),
                    "{stat}"
                );
            }
        }
        server.next_round().await;
    }
    // And the service answers everything else as before.
    assert_eq!(server.status_of(&server.admin).await, 200);
}
