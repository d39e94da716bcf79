//! Several `keydeck serve` replicas (the real binary) on one PostgreSQL database, as behind a
//! load balancer: a check-then-write is safe across them, and a change made through one is
//! honoured by the others within the documented second.
//!
//! Needs `KEYDECK_TEST_PG_URL=postgres://…` (`.ci/pg-cluster start` prints one); without it
//! the tests are skipped, loudly, unless `KEYDECK_REQUIRE_PG=1`.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

mod common;

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use common::serve_process::ServeProcess;
use common::*;

/// How soon a change through one replica must reach the others' authentication: the
/// documented second, plus the time of a request.
const BOUND: Duration = Duration::from_millis(1500);

/// Two replicas on a fresh database, and the bootstrap super_admin token.
struct Replicas {
    a: ServeProcess,
    b: ServeProcess,
    admin: String,
    client: reqwest::Client,
    _dirs: [tempfile::TempDir; 2],
    // Last: dropped after the processes are gone.
    _db: PgDatabase,
}

impl Replicas {
    async fn start(what: &str) -> Option<Replicas> {
        let base = pg_url(what)?;
        let db = PgDatabase::create(&base).await;
        let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
        // Both start at once on the empty database: one migrates it (the other waits for
        // sqlx's migration lock) and one bootstraps the admin key, the other starts without.
        let (a, b) = std::thread::scope(|scope| {
            let start = |dir: &tempfile::TempDir| {
                let (url, dir) = (db.url.clone(), dir.path().to_owned());
                scope.spawn(move || ServeProcess::start_on(&url, &dir, &[]))
            };
            let (a, b) = (start(&dirs[0]), start(&dirs[1]));
            (a.join().unwrap(), b.join().unwrap())
        });
        let minted: Vec<_> = dirs
            .iter()
            .filter(|dir| ServeProcess::token_path_in(dir.path()).exists())
            .collect();
        assert_eq!(minted.len(), 1, "exactly one replica bootstraps");
        let admin = ServeProcess::admin_token_in(minted[0].path());
        Some(Replicas {
            a,
            b,
            admin,
            client: reqwest::Client::new(),
            _dirs: dirs,
            _db: db,
        })
    }

    async fn gql(&self, on: &ServeProcess, token: &str, query: &str, vars: Value) -> Value {
        let (status, body) = send(
            self.client
                .post(on.graphql_url())
                .bearer_auth(token)
                .json(&json!({ "query": query, "variables": vars })),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body:#}");
        body
    }

    async fn status_of(&self, on: &ServeProcess, token: &str) -> StatusCode {
        let (status, _) = send(
            self.client
                .post(on.graphql_url())
                .bearer_auth(token)
                .json(&json!({ "query": ME })),
        )
        .await;
        status
    }
}

#[tokio::test]
async fn the_same_name_created_through_both_replicas_at_once_exists_once() {
    let Some(replicas) = Replicas::start("two replicas on one PostgreSQL database").await else {
        return;
    };
    const PER_REPLICA: usize = 20;
    let attempts = (0..2 * PER_REPLICA).map(|i| {
        let on = if i % 2 == 0 { &replicas.a } else { &replicas.b };
        replicas.gql(
            on,
            &replicas.admin,
            CREATE_GLOBAL_API_KEY,
            json!({ "description": "deploy-bot" }),
        )
    });
    let replies = futures::future::join_all(attempts).await;
    let mut created = 0;
    for body in &replies {
        assert!(body.get("errors").is_none(), "{body:#}");
        let reply = only_field(body["data"].clone());
        if reply["ok"] == json!(true) {
            created += 1;
        } else {
            refused(&reply, "NAME_TAKEN");
        }
    }
    assert_eq!(
        created, 1,
        "exactly one of the concurrent creations succeeds"
    );
}

#[tokio::test]
async fn a_key_disabled_through_one_replica_is_refused_by_the_other_within_a_second() {
    let Some(replicas) = Replicas::start("two replicas on one PostgreSQL database").await else {
        return;
    };
    let body = replicas
        .gql(
            &replicas.a,
            &replicas.admin,
            CREATE_GLOBAL_API_KEY,
            json!({ "description": "short-lived" }),
        )
        .await;
    let key = Key::from_reply(&only_field(body["data"].clone()));
    // Both replicas have authenticated it, so both hold it in their caches.
    assert_eq!(replicas.status_of(&replicas.a, &key.token).await, 200);
    assert_eq!(replicas.status_of(&replicas.b, &key.token).await, 200);

    let body = replicas
        .gql(
            &replicas.a,
            &replicas.admin,
            DISABLE_API_KEY,
            json!({ "id": key.id }),
        )
        .await;
    ok(&only_field(body["data"].clone()));
    assert_eq!(replicas.status_of(&replicas.a, &key.token).await, 401);
    eventually_within(
        "the other replica refuses the disabled key",
        BOUND,
        || async { replicas.status_of(&replicas.b, &key.token).await == 401 },
    )
    .await;
}

/// Issue 17: a role taken from an identity through one replica is gone from the personal key
/// it created on the other replica within the bound, even though that replica had the key's
/// principal cached.
#[tokio::test]
async fn a_role_revoked_through_one_replica_is_gone_from_personal_keys_on_the_other() {
    let Some(replicas) = Replicas::start("two replicas on one PostgreSQL database").await else {
        return;
    };
    let (a, b) = (&replicas.a, &replicas.b);
    let create = |by: &str, name: &str, visibility: &str| {
        let (by, name, visibility) = (by.to_owned(), name.to_owned(), visibility.to_owned());
        let replicas = &replicas;
        async move {
            let vars = json!({
                "description": name,
                "roles": ["project_admin"],
                "options": { "visibility": visibility },
            });
            let body = replicas.gql(a, &by, CREATE_GLOBAL_API_KEY, vars).await;
            Key::from_reply(&only_field(body["data"].clone()))
        }
    };
    let parent = create(&replicas.admin, "PA", "ORG_WIDE").await;
    let child = create(&parent.token, "CHILD", "PERSONAL").await;
    let roles_on = |on, token: String| {
        let replicas = &replicas;
        async move {
            let body = replicas
                .gql(on, &token, "{ me { roles } }", json!({}))
                .await;
            body["data"]["me"]["roles"].clone()
        }
    };
    assert_eq!(
        roles_on(b, child.token.clone()).await,
        json!(["project_admin"])
    );
    let body = replicas
        .gql(
            a,
            &replicas.admin,
            REMOVE_GLOBAL_IDENTITY_ROLES,
            json!({ "identityId": parent.identity_id, "roles": ["project_admin"] }),
        )
        .await;
    ok(&only_field(body["data"].clone()));
    eventually_within(
        "the other replica no longer gives the child the revoked role",
        BOUND,
        || async { roles_on(b, child.token.clone()).await == json!([]) },
    )
    .await;
}

/// A key whose creation counts as a change, for the store-level tests below.
fn new_key<'a>(description: &'a str, token_hash: &'a str) -> keydeck::server::store::NewKey<'a> {
    keydeck::server::store::NewKey {
        description,
        project_id: None,
        token_hash,
        token_prefix: None,
        expires_at: None,
        permissions: &[],
        visibility: keydeck::server::model::Visibility::OrgWide,
        owner_id: None,
        global_roles: &[],
        memberships: &[],
    }
}

const AUDIT: keydeck::server::store::Audit<'static> = keydeck::server::store::Audit {
    actor_id: None,
    action: "test",
};

#[tokio::test]
async fn a_change_in_one_store_moves_the_generation_of_another_even_after_its_listener_drops() {
    use keydeck::server::store::Store;
    let Some(base) = pg_url("two stores on one PostgreSQL database") else {
        return;
    };
    let db = PgDatabase::create(&base).await;
    let writer = Store::open(&db.url).await.unwrap();
    let reader = Store::open(&db.url).await.unwrap();

    // Heard through LISTEN/NOTIFY.
    let before = reader.generation();
    writer
        .insert_key(new_key("first", &sha256("first")), AUDIT)
        .await
        .unwrap();
    eventually("the other store counts the change", || async {
        reader.generation() > before
    })
    .await;

    // The listening connections are cut (a failover, a proxy's idle timeout): changes made
    // meanwhile are still counted, by the poll and on reconnecting.
    sqlx::any::install_default_drivers();
    let admin = sqlx::AnyPool::connect(&db.url).await.unwrap();
    let cut: Vec<i64> = sqlx::query_scalar(
        "SELECT CAST(count(pg_terminate_backend(pid)) AS BIGINT) FROM pg_stat_activity \
         WHERE datname = current_database() AND query LIKE 'LISTEN%'",
    )
    .fetch_all(&admin)
    .await
    .unwrap();
    assert!(cut[0] >= 2, "both stores were listening: {cut:?}");
    let before = reader.generation();
    writer
        .insert_key(new_key("second", &sha256("second")), AUDIT)
        .await
        .unwrap();
    eventually(
        "the other store counts the change made while cut off",
        || async { reader.generation() > before },
    )
    .await;
}

/// The backends holding the sampling lock of monitored database 1 (the store's
/// `pg_try_advisory_lock` key: class "kdst" in the high 32 bits, the database id below).
async fn sampling_lock_holders(cluster: &sqlx::PgPool) -> Vec<i32> {
    sqlx::query_scalar(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted \
         AND classid::bigint = $1 AND objid::bigint = 1 AND objsubid = 1",
    )
    .bind(0x6b64_7374_i64)
    .fetch_all(cluster)
    .await
    .unwrap()
}

#[tokio::test]
async fn one_replica_samples_a_database_at_a_time_and_another_takes_over() {
    let Some(base) = pg_url("sampling by one replica at a time") else {
        return;
    };
    let store = PgDatabase::create(&base).await;
    let cluster = sqlx::PgPool::connect(&base).await.unwrap();
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let monitor = format!("1:app={base}");
    let flags = ["--monitor", monitor.as_str(), "--stats-interval", "1s"];
    let first = ServeProcess::start_on(&store.url, dirs[0].path(), &flags);
    eventually("the first replica holds the sampling lock", || async {
        sampling_lock_holders(&cluster).await.len() == 1
    })
    .await;
    let holder = sampling_lock_holders(&cluster).await;
    let second = ServeProcess::start_on(&store.url, dirs[1].path(), &flags);
    // Several intervals with both running: still the one holder.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    assert_eq!(sampling_lock_holders(&cluster).await, holder);
    first.kill();
    eventually("the second replica takes the sampling over", || async {
        let now = sampling_lock_holders(&cluster).await;
        now.len() == 1 && now != holder
    })
    .await;
    drop(second);
}
