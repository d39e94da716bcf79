//! Authentication from memory: principals are cached, and still every change is seen — at
//! once when made through this service, within `MAX_STALENESS` (one second) when made to the
//! store by anything else. Uses of keys are written together.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

mod common;

use std::time::{Duration, Instant};

use serde_json::json;

use common::*;
use keydeck::server::auth::MAX_STALENESS;

#[tokio::test]
async fn a_change_through_the_service_is_seen_by_the_next_request() {
    let server = TestServer::start().await;
    let key = server.global_key("cached", &["monitor"]).await;
    // Cached now, with its roles.
    let roles = server.data(&key.token, "{ me { roles } }", json!({})).await;
    assert_eq!(roles["me"]["roles"], json!(["monitor"]));
    ok(&server
        .mutate(
            &server.admin,
            REMOVE_GLOBAL_IDENTITY_ROLES,
            json!({ "identityId": key.identity_id, "roles": ["monitor"] }),
        )
        .await);
    let (_, body) = server
        .gql(&key.token, "{ databases { id } }", json!({}))
        .await;
    assert_eq!(
        first_error_code(&body),
        "FORBIDDEN",
        "the role is gone at once: {body}"
    );
    ok(&server
        .mutate(&server.admin, DISABLE_API_KEY, json!({ "id": key.id }))
        .await);
    assert_eq!(server.status_of(&key.token).await, 401);
}

#[tokio::test]
async fn a_change_made_behind_the_services_back_is_seen_within_a_second() {
    let server = TestServer::start().await;
    let key = server.global_key("cached", &[]).await;
    assert_eq!(server.status_of(&key.token).await, 200);
    // Another process (an operator with sqlite3 or psql) disables it in the store, without
    // the announcement a service's own write makes.
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(server.database_url()).await.unwrap();
    sqlx::query("UPDATE api_keys SET enabled = 0 WHERE id = $1")
        .bind(&key.id)
        .execute(&pool)
        .await
        .unwrap();
    let changed = Instant::now();
    while server.status_of(&key.token).await == 200 {
        assert!(
            changed.elapsed() < MAX_STALENESS + Duration::from_millis(500),
            "still accepted {:?} after the change",
            changed.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn uses_of_several_keys_are_all_recorded() {
    let server = TestServer::start().await;
    let keys = [
        server.global_key("first", &[]).await,
        server.global_key("second", &[]).await,
        server.global_key("third", &[]).await,
    ];
    for key in &keys {
        server.me(&key.token).await;
    }
    eventually("every used key has its lastUsedAt", || async {
        let all = server.api_keys(&server.admin, json!({})).await;
        keys.iter().all(|key| {
            all["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|n| n["id"] == json!(key.id) && n["lastUsedAt"].is_string())
        })
    })
    .await;
}
