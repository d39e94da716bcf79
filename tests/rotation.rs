//! Rotation with a grace period (issue 20, part 2): `rotateApiKey` makes a successor holding
//! everything the old key held, the old key works on for the grace period and then stops, and
//! both keys name each other. Through the real router over loopback HTTP, on both stores
//! (`KEYDECK_TEST_STORE=postgres` in `.ci/run`).
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

mod common;

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use common::*;

const ROTATE: &str = concat!(
    "mutation($id: String!, $gracePeriod: String, $tokenHash: String) { \
     rotateApiKey(id: $id, gracePeriod: $gracePeriod, tokenHash: $tokenHash) { \
     ok error { code developerMessage } \
     result { apiKey { id token identity { id } key { ",
    "id type description enabled state createdAt expiresAt permissions visibility tokenPrefix \
     identity { id roles } owner { id } project { slug } rotatedFrom { id } rotatedTo { id }",
    " } } previous { id enabled state expiresAt rotatedTo { id description } \
     rotatedFrom { id } } } } }"
);

const KEY: &str = "query($id: String!) { apiKeys(filter: { idPrefix: $id, includeDisabled: true, \
     includeExpired: true }) { nodes { id description expiresAt rotatedTo { id } \
     rotatedFrom { id } owner { id } } } }";

/// The key `id` as the super admin reads it (`apiKeys`, disabled and expired ones included).
async fn read_key(server: &TestServer, id: &Value) -> Value {
    let data = server.data(&server.admin, KEY, json!({ "id": id })).await;
    let nodes = data["apiKeys"]["nodes"].as_array().expect("nodes");
    assert_eq!(nodes.len(), 1, "{data:#}");
    nodes[0].clone()
}

const AUDIT: &str =
    "query { auditLog(first: 200) { nodes { actorId action target outcome detail } } }";

async fn rotate(server: &TestServer, by: &str, id: &str, variables: Value) -> Value {
    let mut all = json!({ "id": id });
    if let (Some(all), Some(more)) = (all.as_object_mut(), variables.as_object()) {
        all.extend(more.clone());
    }
    server.mutate(by, ROTATE, all).await
}

/// The new key's token from a successful rotation.
fn new_token(reply: &Value) -> String {
    string(&ok(reply)["apiKey"]["token"])
}

/// `a` is within `slack` seconds of `b`.
fn near(a: i64, b: i64, slack: i64) -> bool {
    (a - b).abs() <= slack
}

#[tokio::test]
async fn the_successor_holds_everything_the_old_key_held() {
    let server = TestServer::start().await;
    server.blog().await;
    // A read-only project key with two memberships, living a week.
    let reply = server
        .create_project_key(
            &server.admin,
            json!({
                "projectSlug": "my-blog",
                "description": "blog publisher",
                "memberships": admin_and_editor(),
                "options": { "expiresIn": "7d", "permissions": ["READ"] },
            }),
        )
        .await;
    let old = Key::from_reply(&reply);
    // A personal global key with a role, living three days, created by a super admin key.
    let ops = server.global_key("ops", &["super_admin"]).await;
    let personal = server
        .global_key_with(
            &ops.token,
            "ops monitor",
            &["monitor"],
            json!({ "visibility": "PERSONAL", "expiresIn": "3d" }),
        )
        .await;
    for (old, lifetime) in [(&old, 7 * 86_400), (&personal, 3 * 86_400)] {
        let held = access(&server, &old.token).await;
        assert!(held.as_ref().is_some_and(|h| !h.is_empty()), "{held:?}");
        let reply = rotate(
            &server,
            &server.admin,
            &old.id,
            json!({ "gracePeriod": "1h" }),
        )
        .await;
        let result = ok(&reply);
        let new = &result["apiKey"]["key"];
        let token = new_token(&reply);
        assert!(token.starts_with("kd_"), "{reply:#}");
        assert_ne!(result["apiKey"]["id"], json!(old.id));
        for field in [
            "description",
            "type",
            "permissions",
            "visibility",
            "owner",
            "project",
        ] {
            assert_eq!(new[field], old.record[field], "{field}: {reply:#}");
        }
        assert_eq!(new["identity"]["roles"], old.record["identity"]["roles"]);
        assert_ne!(new["identity"]["id"], json!(old.identity_id));
        assert_eq!(
            access(&server, &token).await,
            held,
            "the successor's grants"
        );
        assert_eq!(new["state"], json!("ENABLED"));
        assert!(
            near(seconds_until(&new["expiresAt"]), lifetime, 10),
            "a fresh lifetime as long as the old key's: {reply:#}"
        );
        // Linked both ways, in the reply and on reading.
        assert_eq!(new["rotatedFrom"]["id"], json!(old.id));
        assert_eq!(new["rotatedTo"], Value::Null);
        let previous = &result["previous"];
        assert_eq!(previous["id"], json!(old.id));
        assert_eq!(previous["rotatedTo"]["id"], result["apiKey"]["id"]);
        assert_eq!(
            previous["rotatedTo"]["description"],
            old.record["description"]
        );
        assert!(near(seconds_until(&previous["expiresAt"]), 3600, 10));
        let read = read_key(&server, &json!(old.id)).await;
        assert_eq!(read["rotatedTo"]["id"], result["apiKey"]["id"]);
        let read = read_key(&server, &result["apiKey"]["id"]).await;
        assert_eq!(read["rotatedFrom"]["id"], json!(old.id));
        // The old key still works during its grace period.
        assert_eq!(access(&server, &old.token).await, held);
    }
    // The personal key's owner sees both, and may rotate it itself.
    let visible = server
        .visible_key_ids(&ops.token, json!({ "search": "ops monitor" }))
        .await;
    assert_eq!(visible.len(), 2, "{visible:?}");
}

#[tokio::test]
async fn the_old_key_stops_after_the_grace_period() {
    let server = TestServer::start().await;
    let at_once = server.global_key("at once", &["monitor"]).await;
    let reply = rotate(
        &server,
        &server.admin,
        &at_once.id,
        json!({ "gracePeriod": "0s" }),
    )
    .await;
    let successor = new_token(&reply);
    assert_eq!(ok(&reply)["previous"]["state"], json!("EXPIRED"));
    assert_eq!(
        server.status_of(&at_once.token).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(server.status_of(&successor).await, StatusCode::OK);

    let shortly = server.global_key("shortly", &["monitor"]).await;
    let reply = rotate(
        &server,
        &server.admin,
        &shortly.id,
        json!({ "gracePeriod": "2s" }),
    )
    .await;
    let successor = new_token(&reply);
    assert_eq!(server.status_of(&shortly.token).await, StatusCode::OK);
    eventually_within(
        "the old token stops authenticating after its 2s grace",
        Duration::from_secs(6),
        || async { server.status_of(&shortly.token).await == StatusCode::UNAUTHORIZED },
    )
    .await;
    assert_eq!(server.status_of(&successor).await, StatusCode::OK);
}

#[tokio::test]
async fn the_grace_period_defaults_to_a_day_within_the_old_keys_life() {
    let server = TestServer::start().await;
    let month = server.global_key("month", &["monitor"]).await;
    let reply = rotate(&server, &server.admin, &month.id, json!({})).await;
    let previous = &ok(&reply)["previous"];
    assert!(
        near(seconds_until(&previous["expiresAt"]), 86_400, 10),
        "{reply:#}"
    );
    // Never later than it would have expired anyway; its successor lives an hour too.
    let hour = server
        .global_key_with(
            &server.admin,
            "hour",
            &["monitor"],
            json!({ "expiresIn": "1h" }),
        )
        .await;
    let reply = rotate(
        &server,
        &server.admin,
        &hour.id,
        json!({ "gracePeriod": "7d" }),
    )
    .await;
    let result = ok(&reply);
    assert_eq!(result["previous"]["expiresAt"], hour.record["expiresAt"]);
    assert!(near(
        seconds_until(&result["apiKey"]["key"]["expiresAt"]),
        3600,
        10
    ));
}

#[tokio::test]
async fn a_grace_period_beyond_the_maximum_or_unreadable_is_refused() {
    let server = TestServer::start().await;
    let key = server.global_key("ci deploy", &["monitor"]).await;
    for grace in ["31d", "2M", "soon", "0", "-1h", ""] {
        let reply = rotate(
            &server,
            &server.admin,
            &key.id,
            json!({ "gracePeriod": grace }),
        )
        .await;
        refused_for(&reply, "INVALID_GRACE_PERIOD", grace);
    }
    let read = read_key(&server, &json!(key.id)).await;
    assert_eq!(read["rotatedTo"], Value::Null);
    assert_eq!(read["expiresAt"], key.record["expiresAt"]);
    // The maximum itself is allowed.
    let reply = rotate(
        &server,
        &server.admin,
        &key.id,
        json!({ "gracePeriod": "30d" }),
    )
    .await;
    ok(&reply);
}

#[tokio::test]
async fn disabled_expired_rotated_and_unknown_keys_are_refused() {
    let server = TestServer::start().await;
    let disabled = server.global_key("disabled", &["monitor"]).await;
    ok(&server
        .mutate(&server.admin, DISABLE_API_KEY, json!({ "id": disabled.id }))
        .await);
    let reply = rotate(&server, &server.admin, &disabled.id, json!({})).await;
    refused(&reply, "KEY_DISABLED");

    let expired = server
        .global_key_with(
            &server.admin,
            "expired",
            &["monitor"],
            json!({ "expiresIn": "1s" }),
        )
        .await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let reply = rotate(&server, &server.admin, &expired.id, json!({})).await;
    refused(&reply, "KEY_EXPIRED");

    let rotated = server.global_key("rotated", &["monitor"]).await;
    let first = rotate(&server, &server.admin, &rotated.id, json!({})).await;
    let successor = string(&ok(&first)["apiKey"]["id"]);
    let again = rotate(&server, &server.admin, &rotated.id, json!({})).await;
    let error = refused(&again, "KEY_ROTATED");
    assert!(string(&error["developerMessage"]).contains(&successor));

    let reply = rotate(&server, &server.admin, "no-such-key", json!({})).await;
    refused(&reply, "KEY_NOT_FOUND");
}

#[tokio::test]
async fn who_may_not_disable_a_key_may_not_rotate_it() {
    let server = TestServer::start().await;
    server.blog().await;
    let blog_admin = server
        .project_key("my-blog", "blog admin", admin_and_editor())
        .await;
    let global = server.global_key("global", &["monitor"]).await;
    // A project's admin may disable neither a global key nor rotate it…
    let disable = server
        .mutate(
            &blog_admin.token,
            DISABLE_API_KEY,
            json!({ "id": global.id }),
        )
        .await;
    refused(&disable, "FORBIDDEN");
    let reply = rotate(&server, &blog_admin.token, &global.id, json!({})).await;
    refused(&reply, "FORBIDDEN");
    // …but rotates the project's keys it may disable.
    let writer = server
        .project_key("my-blog", "blog writer", editor(&["cs"]))
        .await;
    let reply = rotate(&server, &blog_admin.token, &writer.id, json!({})).await;
    ok(&reply);
    // Someone else's personal key is not even seen.
    let ops = server.global_key("ops", &["super_admin"]).await;
    let mine = server
        .global_key_with(
            &ops.token,
            "mine",
            &["monitor"],
            json!({ "visibility": "PERSONAL" }),
        )
        .await;
    let reply = rotate(&server, &blog_admin.token, &mine.id, json!({})).await;
    refused(&reply, "KEY_NOT_FOUND");
    // A key cannot rotate a key above it in its chain of creators, whatever its roles.
    let child = server
        .global_key_with(&ops.token, "child", &["super_admin"], json!({}))
        .await;
    let reply = rotate(&server, &child.token, &ops.id, json!({})).await;
    refused(&reply, "FORBIDDEN");
    // Every refusal is audited under the mutation's name.
    let log = server.data(&server.admin, AUDIT, json!({})).await;
    let refusals = log["auditLog"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| row["action"] == json!("rotateApiKey") && row["outcome"] != json!("OK"))
        .count();
    assert!(refusals >= 2, "{log:#}");
}

#[tokio::test]
async fn a_client_generated_token_works_for_the_successor() {
    let server = TestServer::start().await;
    let key = server.global_key("hashed", &["monitor"]).await;
    let reply = rotate(
        &server,
        &server.admin,
        &key.id,
        json!({ "tokenHash": "nope" }),
    )
    .await;
    refused(&reply, "INVALID_TOKEN_HASH");
    let taken = json!({ "tokenHash": sha256(&server.admin) });
    let reply = rotate(&server, &server.admin, &key.id, taken).await;
    refused(&reply, "INVALID_TOKEN_HASH");
    let ours = keydeck::token::generate().unwrap();
    let reply = rotate(
        &server,
        &server.admin,
        &key.id,
        json!({ "tokenHash": sha256(&ours).to_uppercase(), "gracePeriod": "0s" }),
    )
    .await;
    let result = ok(&reply);
    assert_eq!(result["apiKey"]["token"], Value::Null, "{reply:#}");
    assert_eq!(result["apiKey"]["key"]["tokenPrefix"], Value::Null);
    assert_eq!(
        server.me(&ours).await,
        string(&result["apiKey"]["identity"]["id"])
    );
    assert_eq!(server.status_of(&key.token).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn one_audit_row_names_both_keys() {
    let server = TestServer::start().await;
    let key = server.global_key("audited", &["monitor"]).await;
    let reply = rotate(
        &server,
        &server.admin,
        &key.id,
        json!({ "gracePeriod": "1h" }),
    )
    .await;
    let new_id = string(&ok(&reply)["apiKey"]["id"]);
    let log = server.data(&server.admin, AUDIT, json!({})).await;
    let rows: Vec<&Value> = log["auditLog"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| row["action"] == json!("rotateApiKey"))
        .collect();
    assert_eq!(rows.len(), 1, "{log:#}");
    let row = rows[0];
    assert_eq!(row["outcome"], json!("OK"));
    assert_eq!(row["target"], json!(key.id));
    assert_eq!(row["actorId"], json!(server.me(&server.admin).await));
    let detail = string(&row["detail"]);
    assert!(
        detail.contains(&key.id) && detail.contains(&new_id),
        "{detail}"
    );
    // No other row was written for the successor's creation.
    let about_new = log["auditLog"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| row["target"] == json!(new_id))
        .count();
    assert_eq!(about_new, 0, "{log:#}");
}

#[tokio::test]
async fn the_successor_takes_the_name_and_the_keys_the_old_one_created() {
    let server = TestServer::start().await;
    let parent = server
        .global_key("parent", &["super_admin", "monitor"])
        .await;
    let child = server
        .global_key_with(
            &parent.token,
            "child",
            &["monitor"],
            json!({ "visibility": "PERSONAL", "expiresIn": "1d" }),
        )
        .await;
    let reply = rotate(
        &server,
        &server.admin,
        &parent.id,
        json!({ "gracePeriod": "0s" }),
    )
    .await;
    let new_identity = string(&ok(&reply)["apiKey"]["identity"]["id"]);
    assert_eq!(
        server.status_of(&parent.token).await,
        StatusCode::UNAUTHORIZED
    );
    // The personal key it created lives on, now the successor's.
    assert_eq!(server.status_of(&child.token).await, StatusCode::OK);
    let read = read_key(&server, &json!(child.id)).await;
    assert_eq!(read["owner"]["id"], json!(new_identity));
    // The name belongs to the successor: a new key may not take it.
    let reply = server
        .create_global(
            &server.admin,
            json!({ "description": "parent", "roles": ["monitor"] }),
        )
        .await;
    refused(&reply, "NAME_TAKEN");
}

#[tokio::test]
async fn a_super_admin_key_that_never_expires_is_replaced_by_one_that_never_expires() {
    let server = TestServer::start().await;
    let admin_key = server.visible_key_ids(&server.admin, json!({})).await;
    let admin_id = admin_key.first().cloned().expect("the bootstrap key");
    let reply = rotate(
        &server,
        &server.admin,
        &admin_id,
        json!({ "gracePeriod": "0s" }),
    )
    .await;
    let result = ok(&reply);
    assert_eq!(
        result["apiKey"]["key"]["expiresAt"],
        Value::Null,
        "{reply:#}"
    );
    assert_eq!(
        result["apiKey"]["key"]["identity"]["roles"],
        json!(["super_admin"])
    );
    let token = new_token(&reply);
    assert_eq!(
        server.status_of(&server.admin).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(server.status_of(&token).await, StatusCode::OK);
}
