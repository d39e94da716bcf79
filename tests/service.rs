//! The key service end to end: a real `keydeck serve` on loopback, real HTTP, a real SQLite
//! file. Every test starts its own service over its own store.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

mod common;

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use serde_json::{Value, json};

use common::*;

const DAY: i64 = 86_400;

/// `base` with the fields of `overrides` replaced.
fn merged(base: &Value, overrides: Value) -> Value {
    let mut out = base.clone();
    for (field, value) in overrides.as_object().expect("an object") {
        out[field] = value.clone();
    }
    out
}

/// `[{role, variables: [{name, values}]}]` in one line.
fn membership(role: &str, variables: &[(&str, &[&str])]) -> Value {
    let variables: Vec<Value> = variables
        .iter()
        .map(|(name, values)| json!({ "name": name, "values": values }))
        .collect();
    json!([{ "role": role, "variables": variables }])
}

const IDENTITY_ROLES: &str = "query($id: String!) { identity(id: $id) { id roles } }";

async fn roles_of(server: &TestServer, identity_id: &str) -> Value {
    server
        .data(&server.admin, IDENTITY_ROLES, json!({ "id": identity_id }))
        .await["identity"]["roles"]
        .clone()
}

/// The projects `token` sees, as `[{slug}]`.
async fn project_slugs(server: &TestServer, token: &str) -> Value {
    server.data(token, "{ projects { slug } }", json!({})).await["projects"].clone()
}

/// A key's record as the super admin sees it, whatever its state.
async fn record_of(server: &TestServer, id: &str) -> Value {
    let all = json!({ "includeDisabled": true, "includeExpired": true });
    let keys = server.api_keys(&server.admin, all).await;
    keys["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == json!(id))
        .unwrap_or_else(|| panic!("key {id} is not listed"))
        .clone()
}

// ---- createApiKey -----------------------------------------------------------------------

#[tokio::test]
async fn create_api_key_returns_a_working_token_and_its_record() {
    let server = TestServer::start().await;
    server.blog().await;
    let admin_id = server.me(&server.admin).await;

    let key = server
        .project_key("my-blog", "CI deploy", editor(&["cs", "en"]))
        .await;

    assert!(
        keydeck::token::verify_format(&key.token).is_ok(),
        "{}",
        key.token
    );
    let record = &key.record;
    assert_eq!(record["id"], json!(key.id));
    assert_eq!(record["type"], "PROJECT");
    assert_eq!(record["description"], "CI deploy");
    assert_eq!(record["state"], "ENABLED");
    assert_eq!(record["permissions"], json!(["READ", "WRITE"]));
    assert_eq!(record["visibility"], "ORG_WIDE");
    assert_eq!(record["tokenPrefix"], json!(key.token[..9]));
    assert_eq!(record["project"]["slug"], "my-blog");
    assert_eq!(record["owner"]["id"], json!(admin_id));
    assert_eq!(record["lastUsedAt"], Value::Null);

    assert_eq!(server.me(&key.token).await, key.identity_id);
    let projects = server
        .data(
            &key.token,
            "{ projects { slug } me { projects { project { slug } memberships { role variables { name values } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(projects["projects"], json!([{ "slug": "my-blog" }]));
    assert_eq!(
        projects["me"]["projects"][0]["memberships"],
        json!([{ "role": "editor", "variables": [{ "name": "language", "values": ["cs", "en"] }] }])
    );
}

#[tokio::test]
async fn create_api_key_refusals() {
    let server = TestServer::start().await;
    server.blog().await;
    let base =
        json!({ "projectSlug": "my-blog", "description": "a key", "memberships": editor(&["cs"]) });
    let cases = [
        (
            json!({ "projectSlug": "no-such-project" }),
            "PROJECT_NOT_FOUND",
        ),
        (json!({ "description": "" }), "INVALID_DESCRIPTION"),
        (json!({ "description": "   " }), "INVALID_DESCRIPTION"),
        (
            json!({ "description": "x".repeat(201) }),
            "INVALID_DESCRIPTION",
        ),
        (
            json!({ "description": "two\nlines" }),
            "INVALID_DESCRIPTION",
        ),
        (json!({ "tokenHash": "not-a-sha256" }), "INVALID_TOKEN_HASH"),
        (
            json!({ "tokenHash": "ab".repeat(31) }),
            "INVALID_TOKEN_HASH",
        ),
        // Another key's hash is taken: this one is the bootstrap key's.
        (
            json!({ "tokenHash": sha256(&server.admin) }),
            "INVALID_TOKEN_HASH",
        ),
        (json!({ "options": { "expiresIn": "31d" } }), "INVALID_TTL"),
        (json!({ "options": { "expiresIn": "soon" } }), "INVALID_TTL"),
        (
            json!({ "options": { "permissions": [] } }),
            "INVALID_PERMISSIONS",
        ),
    ];
    for (overrides, code) in cases {
        let request = merged(&base, overrides);
        let reply = server
            .create_project_key(&server.admin, request.clone())
            .await;
        refused_for(&reply, code, &request);
    }

    // A 200-character name is fine; the same name again in the same project is not.
    let long = "é".repeat(200);
    let reply = server
        .create_project_key(&server.admin, merged(&base, json!({ "description": long })))
        .await;
    ok(&reply);
    let reply = server
        .create_project_key(&server.admin, merged(&base, json!({ "description": long })))
        .await;
    let error = refused(&reply, "NAME_TAKEN");
    assert!(
        string(&error["developerMessage"]).contains(&long),
        "{error}"
    );
    // Other scopes may use the name: another project, and the global keys.
    server.project("my-shop", blog_roles()).await;
    let reply = server
        .create_project_key(
            &server.admin,
            merged(
                &base,
                json!({ "projectSlug": "my-shop", "description": long }),
            ),
        )
        .await;
    ok(&reply);
    let reply = server
        .create_global(&server.admin, json!({ "description": long }))
        .await;
    ok(&reply);
}

#[tokio::test]
async fn create_api_key_reports_each_membership_problem() {
    let server = TestServer::start().await;
    server.blog().await;
    let problem = |code: &str, role: &str, variable: Option<&str>| json!({ "code": code, "role": role, "variable": variable });
    let cases = [
        (
            membership("owner", &[]),
            vec![problem("ROLE_NOT_FOUND", "owner", None)],
        ),
        (
            membership("editor", &[("language", &["cs"]), ("site", &["blog"])]),
            vec![problem("VARIABLE_NOT_FOUND", "editor", Some("site"))],
        ),
        (
            membership("editor", &[]),
            vec![problem("VARIABLE_EMPTY", "editor", Some("language"))],
        ),
        (
            membership("editor", &[("language", &[])]),
            vec![problem("VARIABLE_EMPTY", "editor", Some("language"))],
        ),
        (
            membership("editor", &[("language", &[" "])]),
            vec![problem("VARIABLE_INVALID", "editor", Some("language"))],
        ),
        (
            membership("editor", &[("language", &["cs", "cs"])]),
            vec![problem("VARIABLE_INVALID", "editor", Some("language"))],
        ),
        (
            json!([{ "role": "owner", "variables": [] }, { "role": "editor", "variables": [] }]),
            vec![
                problem("ROLE_NOT_FOUND", "owner", None),
                problem("VARIABLE_EMPTY", "editor", Some("language")),
            ],
        ),
    ];
    for (memberships, expected) in cases {
        let request =
            json!({ "projectSlug": "my-blog", "description": "k", "memberships": memberships });
        let reply = server.create_project_key(&server.admin, request).await;
        let error = refused(&reply, "INVALID_MEMBERSHIP");
        assert_eq!(
            error["membershipValidation"],
            json!(expected),
            "{memberships}"
        );
    }
    // Nothing was created along the way.
    let keys = server
        .api_keys(&server.admin, json!({ "type": "PROJECT" }))
        .await;
    assert_eq!(keys["totalCount"], 0);
}

// ---- createGlobalApiKey -----------------------------------------------------------------

#[tokio::test]
async fn create_global_api_key_with_roles() {
    let server = TestServer::start().await;
    let key = server.global_key("monitoring", &["monitor"]).await;
    assert_eq!(key.record["type"], "GLOBAL");
    assert_eq!(key.record["project"], Value::Null);
    assert_eq!(key.record["identity"]["roles"], json!(["monitor"]));
    assert_eq!(server.me(&key.token).await, key.identity_id);
    assert_eq!(
        roles_of(&server, &key.identity_id).await,
        json!(["monitor"])
    );

    let plain = server.global_key("no roles", &[]).await;
    assert_eq!(roles_of(&server, &plain.identity_id).await, json!([]));
}

#[tokio::test]
async fn create_global_api_key_refusals() {
    let server = TestServer::start().await;
    server.global_key("taken", &[]).await;
    let cases = [
        (
            json!({ "description": "k", "roles": ["wizard"] }),
            "INVALID_ROLE",
        ),
        (
            json!({ "description": "k", "roles": ["monitor", "SUPER_ADMIN"] }),
            "INVALID_ROLE",
        ),
        (json!({ "description": "" }), "INVALID_DESCRIPTION"),
        (
            json!({ "description": "k", "options": { "expiresIn": "2M" } }),
            "INVALID_TTL",
        ),
        (
            json!({ "description": "k", "tokenHash": "zz".repeat(32) }),
            "INVALID_TOKEN_HASH",
        ),
        (
            json!({ "description": "k", "options": { "permissions": [] } }),
            "INVALID_PERMISSIONS",
        ),
        (json!({ "description": "taken" }), "NAME_TAKEN"),
    ];
    for (request, code) in cases {
        let reply = server.create_global(&server.admin, request.clone()).await;
        refused_for(&reply, code, &request);
    }
}

// ---- tokenHash ----------------------------------------------------------------------------

#[tokio::test]
async fn a_key_made_from_a_token_hash_authenticates_with_the_chosen_token() {
    let server = TestServer::start().await;
    server.blog().await;
    // Any shape of token, not only ours; and a kd_ token given by its upper-case hash.
    let custom = "my-own-secret-token-123";
    let ours = keydeck::token::generate().unwrap();
    let requests = [
        (
            custom.to_owned(),
            server
                .create_global(
                    &server.admin,
                    json!({ "description": "custom", "tokenHash": sha256(custom) }),
                )
                .await,
        ),
        (
            ours.clone(),
            server
                .create_project_key(
                    &server.admin,
                    json!({
                        "projectSlug": "my-blog",
                        "description": "ours",
                        "memberships": editor(&["cs"]),
                        "tokenHash": sha256(&ours).to_uppercase(),
                    }),
                )
                .await,
        ),
    ];
    for (token, reply) in requests {
        let api_key = &ok(&reply)["apiKey"];
        assert_eq!(
            api_key["token"],
            Value::Null,
            "the service never saw the token"
        );
        assert_eq!(api_key["key"]["tokenPrefix"], Value::Null);
        assert_eq!(server.me(&token).await, string(&api_key["identity"]["id"]));
    }
    // The hash is taken now, in whatever case it comes.
    let reply = server
        .create_global(
            &server.admin,
            json!({ "description": "again", "tokenHash": sha256(&ours) }),
        )
        .await;
    let error = refused(&reply, "INVALID_TOKEN_HASH");
    assert!(string(&error["developerMessage"]).contains("already registered"));
}

// ---- TTL ----------------------------------------------------------------------------------

async fn expiry_in(server: &TestServer, expires_in: Option<&str>) -> Value {
    let options = expires_in.map_or(json!({}), |ttl| json!({ "expiresIn": ttl }));
    let name = format!("ttl {expires_in:?}");
    let key = server
        .global_key_with(&server.admin, &name, &[], options)
        .await;
    key.record["expiresAt"].clone()
}

/// Asserts `expires_at` is `seconds` from now, give or take the test's own run time.
fn assert_expires_in(expires_at: &Value, seconds: i64) {
    let left = seconds_until(expires_at);
    assert!(
        (seconds - 300..=seconds).contains(&left),
        "expected expiry in {seconds} s, got {left} s ({expires_at})"
    );
}

#[tokio::test]
async fn ttl_defaults_to_and_is_capped_by_the_service_maximum() {
    let server = TestServer::start().await;

    assert_expires_in(&expiry_in(&server, None).await, 30 * DAY);
    for (ttl, seconds) in [
        ("45s", 45),
        ("90m", 5_400),
        ("12h", 43_200),
        ("2w", 14 * DAY),
        ("30d", 30 * DAY),
        ("1M", 30 * DAY),
    ] {
        assert_expires_in(&expiry_in(&server, Some(ttl)).await, seconds);
    }

    let cases = [
        ("31d", "maximum of 30d"),
        ("5w", "maximum of 30d"),
        ("2M", "maximum of 30d"),
        ("12", "needs a unit"),
        ("3y", "unknown unit"),
        ("0d", "greater than zero"),
        ("1.5h", "whole number"),
        ("", "empty"),
    ];
    for (ttl, message) in cases {
        let request = json!({ "description": "k", "options": { "expiresIn": ttl } });
        let reply = server.create_global(&server.admin, request).await;
        let error = refused(&reply, "INVALID_TTL");
        let said = string(&error["developerMessage"]);
        assert!(said.contains(message), "`{ttl}`: {said}");
    }
}

#[tokio::test]
async fn without_a_maximum_long_and_endless_keys_are_allowed() {
    let server = TestServer::with_max_ttl(None).await;
    assert_expires_in(&expiry_in(&server, Some("1000d")).await, 1000 * DAY);
    assert_eq!(
        expiry_in(&server, None).await,
        Value::Null,
        "no expiry without a maximum"
    );
}

#[tokio::test]
async fn a_lower_maximum_is_named_in_the_refusal() {
    let server = TestServer::with_max_ttl(Some("12h".parse().unwrap())).await;
    assert_expires_in(&expiry_in(&server, None).await, 12 * 3_600);
    let reply = server
        .create_global(
            &server.admin,
            json!({ "description": "k", "options": { "expiresIn": "1d" } }),
        )
        .await;
    let error = refused(&reply, "INVALID_TTL");
    assert!(
        string(&error["developerMessage"]).contains("maximum of 12h"),
        "{error}"
    );
}

#[tokio::test]
async fn an_expired_key_is_rejected_and_listed_only_on_request() {
    let server = TestServer::start().await;
    let key = server
        .global_key_with(
            &server.admin,
            "short-lived",
            &[],
            json!({ "expiresIn": "1s" }),
        )
        .await;
    tokio::time::sleep(Duration::from_millis(2_100)).await;

    assert_eq!(server.status_of(&key.token).await, StatusCode::UNAUTHORIZED);
    assert!(
        !server
            .visible_key_ids(&server.admin, json!({}))
            .await
            .contains(&key.id)
    );
    let expired = server
        .visible_key_ids(&server.admin, json!({ "includeExpired": true }))
        .await;
    assert!(expired.contains(&key.id));
    assert_eq!(record_of(&server, &key.id).await["state"], "EXPIRED");
    // An expired key no longer holds its name.
    server.global_key("short-lived", &[]).await;
}

/// `totalCount` of an unnarrowed listing comes from counters, not from counting the keys: it
/// must still agree with the keys listed, whichever of disabled and expired keys are asked for.
#[tokio::test]
async fn total_count_agrees_with_the_listing_after_disabling_and_expiry() {
    let server = TestServer::start().await;
    for i in 0..3 {
        server.global_key(&format!("lasting {i}"), &[]).await;
    }
    let disabled = server.global_key("disabled", &[]).await;
    server
        .mutate(&server.admin, DISABLE_API_KEY, json!({ "id": disabled.id }))
        .await;
    let short = json!({ "expiresIn": "1s" });
    server
        .global_key_with(&server.admin, "expired", &[], short.clone())
        .await;
    let expired_then_disabled = server
        .global_key_with(&server.admin, "expired, disabled", &[], short)
        .await;
    server
        .mutate(
            &server.admin,
            DISABLE_API_KEY,
            json!({ "id": expired_then_disabled.id }),
        )
        .await;
    tokio::time::sleep(Duration::from_millis(2_100)).await;

    for (filter, expected) in [
        (json!({}), 4),
        (json!({ "includeDisabled": true }), 5),
        (json!({ "includeExpired": true }), 5),
        (
            json!({ "includeDisabled": true, "includeExpired": true }),
            7,
        ),
        (json!({ "search": "lasting" }), 3),
    ] {
        let page = server.api_keys(&server.admin, filter.clone()).await;
        let listed = page["nodes"].as_array().unwrap().len();
        assert_eq!(listed, expected, "{filter}");
        assert_eq!(page["totalCount"], expected, "{filter}");
    }
}

// ---- disable and enable -------------------------------------------------------------------

#[tokio::test]
async fn disabling_stops_a_key_and_enabling_restores_it() {
    let server = TestServer::start().await;
    let key = server.global_key("rotated", &[]).await;
    assert_eq!(server.status_of(&key.token).await, StatusCode::OK);

    let reply = server
        .mutate(&server.admin, DISABLE_API_KEY, json!({ "id": key.id }))
        .await;
    let disabled = &ok(&reply)["apiKey"];
    assert_eq!(disabled["enabled"], false);
    assert_eq!(disabled["state"], "DISABLED");
    assert!(disabled["disabledAt"].is_string());
    assert_eq!(server.status_of(&key.token).await, StatusCode::UNAUTHORIZED);
    assert!(
        !server
            .visible_key_ids(&server.admin, json!({}))
            .await
            .contains(&key.id)
    );
    let with_disabled = server
        .visible_key_ids(&server.admin, json!({ "includeDisabled": true }))
        .await;
    assert!(with_disabled.contains(&key.id));

    let reply = server
        .mutate(&server.admin, ENABLE_API_KEY, json!({ "id": key.id }))
        .await;
    let enabled = &ok(&reply)["apiKey"];
    assert_eq!(enabled["state"], "ENABLED");
    assert_eq!(enabled["disabledAt"], Value::Null);
    assert_eq!(server.status_of(&key.token).await, StatusCode::OK);
    assert!(
        server
            .visible_key_ids(&server.admin, json!({}))
            .await
            .contains(&key.id)
    );
}

#[tokio::test]
async fn disable_and_enable_refusals() {
    let server = TestServer::start().await;
    server.blog().await;
    let project_admin = server.global_key("project admin", &["project_admin"]).await;
    let monitor = server.global_key("monitor", &["monitor"]).await;
    let project_key = server
        .project_key("my-blog", "blog key", editor(&["cs"]))
        .await;
    let bootstrap_id = server
        .visible_key_ids(&server.admin, json!({ "search": "bootstrap" }))
        .await[0]
        .clone();

    for mutation in [DISABLE_API_KEY, ENABLE_API_KEY] {
        let reply = server
            .mutate(&server.admin, mutation, json!({ "id": "no-such-key" }))
            .await;
        refused(&reply, "KEY_NOT_FOUND");
        // Org-wide global keys are the super admins' to change.
        let reply = server
            .mutate(
                &project_admin.token,
                mutation,
                json!({ "id": bootstrap_id }),
            )
            .await;
        refused(&reply, "FORBIDDEN");
        // Org-wide project keys are their project's admins' to change.
        let reply = server
            .mutate(&monitor.token, mutation, json!({ "id": project_key.id }))
            .await;
        refused(&reply, "FORBIDDEN");
    }
    let reply = server
        .mutate(
            &project_admin.token,
            DISABLE_API_KEY,
            json!({ "id": project_key.id }),
        )
        .await;
    ok(&reply);

    // The replacement took the name meanwhile: the old key cannot come back under it.
    server
        .project_key("my-blog", "blog key", editor(&["cs"]))
        .await;
    let reply = server
        .mutate(
            &server.admin,
            ENABLE_API_KEY,
            json!({ "id": project_key.id }),
        )
        .await;
    let error = refused(&reply, "NAME_TAKEN");
    assert!(string(&error["developerMessage"]).contains("blog key"));
    assert_eq!(
        server.status_of(&project_key.token).await,
        StatusCode::UNAUTHORIZED
    );
}

// ---- global roles -------------------------------------------------------------------------

#[tokio::test]
async fn global_roles_are_added_and_removed() {
    let server = TestServer::start().await;
    let key = server.global_key("grows", &[]).await;
    assert_eq!(
        server
            .error_code(&key.token, "{ databases { id } }", json!({}))
            .await,
        "FORBIDDEN"
    );

    let variables = json!({ "identityId": key.identity_id, "roles": ["monitor", "project_admin"] });
    let reply = server
        .mutate(&server.admin, ADD_GLOBAL_IDENTITY_ROLES, variables)
        .await;
    assert_eq!(
        ok(&reply)["identity"]["roles"],
        json!(["monitor", "project_admin"])
    );
    // Roles count from the next request on.
    let data = server
        .data(&key.token, "{ databases { id } }", json!({}))
        .await;
    assert_eq!(data["databases"], json!([]));

    let variables = json!({ "identityId": key.identity_id, "roles": ["monitor"] });
    let reply = server
        .mutate(&server.admin, REMOVE_GLOBAL_IDENTITY_ROLES, variables)
        .await;
    assert_eq!(ok(&reply)["identity"]["roles"], json!(["project_admin"]));
    assert_eq!(
        roles_of(&server, &key.identity_id).await,
        json!(["project_admin"])
    );
    assert_eq!(
        server
            .error_code(&key.token, "{ databases { id } }", json!({}))
            .await,
        "FORBIDDEN"
    );
}

#[tokio::test]
async fn global_role_refusals() {
    let server = TestServer::start().await;
    let project_admin = server.global_key("project admin", &["project_admin"]).await;
    let monitor = server.global_key("monitor", &["monitor"]).await;
    let plain = server.global_key("plain", &[]).await;
    let admin_identity = server.me(&server.admin).await;

    for mutation in [ADD_GLOBAL_IDENTITY_ROLES, REMOVE_GLOBAL_IDENTITY_ROLES] {
        let cases = [
            (
                &server.admin,
                "no-such-identity",
                json!(["monitor"]),
                "IDENTITY_NOT_FOUND",
            ),
            (
                &server.admin,
                plain.identity_id.as_str(),
                json!(["wizard"]),
                "INVALID_ROLE",
            ),
            // Changing roles needs project_admin or super_admin,
            (
                &monitor.token,
                plain.identity_id.as_str(),
                json!(["monitor"]),
                "FORBIDDEN",
            ),
            // and a project_admin only hands out what it holds,
            (
                &project_admin.token,
                plain.identity_id.as_str(),
                json!(["super_admin"]),
                "FORBIDDEN",
            ),
            (
                &project_admin.token,
                plain.identity_id.as_str(),
                json!(["monitor"]),
                "FORBIDDEN",
            ),
            // and never touches a super admin.
            (
                &project_admin.token,
                admin_identity.as_str(),
                json!(["project_admin"]),
                "FORBIDDEN",
            ),
        ];
        for (by, identity_id, roles, code) in cases {
            let variables = json!({ "identityId": identity_id, "roles": roles });
            let reply = server.mutate(by, mutation, variables).await;
            refused_for(&reply, code, format_args!("{mutation} {roles}"));
        }
    }
    // What a project_admin holds, it may grant.
    let variables = json!({ "identityId": plain.identity_id, "roles": ["project_admin"] });
    ok(&server
        .mutate(&project_admin.token, ADD_GLOBAL_IDENTITY_ROLES, variables)
        .await);
    assert_eq!(
        roles_of(&server, &plain.identity_id).await,
        json!(["project_admin"])
    );
    assert_eq!(
        roles_of(&server, &admin_identity).await,
        json!(["super_admin"])
    );
}

// ---- project members ----------------------------------------------------------------------

const PROJECT_MEMBERS: &str = "query($slug: String!) { projectBySlug(slug: $slug) { members { identity { id } memberships { role } } } }";

#[tokio::test]
async fn project_members_are_added_updated_and_removed() {
    let server = TestServer::start().await;
    server.blog().await;
    let member = server.global_key("future member", &[]).await;
    let target = |memberships: Value| json!({ "projectSlug": "my-blog", "identityId": member.identity_id, "memberships": memberships });
    assert_eq!(project_slugs(&server, &member.token).await, json!([]));

    let reply = server
        .mutate(&server.admin, ADD_PROJECT_MEMBER, target(editor(&["cs"])))
        .await;
    let result = ok(&reply);
    assert_eq!(result["identity"]["id"], json!(member.identity_id));
    assert_eq!(result["memberships"], editor(&["cs"]));
    assert_eq!(
        project_slugs(&server, &member.token).await,
        json!([{ "slug": "my-blog" }])
    );

    let reply = server
        .mutate(
            &server.admin,
            UPDATE_PROJECT_MEMBER,
            target(json!([{ "role": "viewer", "variables": [] }])),
        )
        .await;
    assert_eq!(
        ok(&reply)["memberships"],
        json!([{ "role": "viewer", "variables": [] }])
    );
    let members = server
        .data(&server.admin, PROJECT_MEMBERS, json!({ "slug": "my-blog" }))
        .await;
    assert_eq!(
        members["projectBySlug"]["members"],
        json!([{ "identity": { "id": member.identity_id }, "memberships": [{ "role": "viewer" }] }])
    );

    let variables = json!({ "projectSlug": "my-blog", "identityId": member.identity_id });
    let reply = server
        .mutate(&server.admin, REMOVE_PROJECT_MEMBER, variables)
        .await;
    assert_eq!(ok(&reply)["memberships"], json!([]));
    assert_eq!(project_slugs(&server, &member.token).await, json!([]));
}

#[tokio::test]
async fn project_member_refusals() {
    let server = TestServer::start().await;
    server.blog().await;
    let outsider = server.global_key("outsider", &[]).await;
    let member = server.global_key("member", &[]).await;
    let editor_key = server
        .project_key("my-blog", "editor key", editor(&["cs"]))
        .await;
    let add = |identity_id: &str, memberships: Value| json!({ "projectSlug": "my-blog", "identityId": identity_id, "memberships": memberships });
    let remove = |identity_id: &str| json!({ "projectSlug": "my-blog", "identityId": identity_id });
    ok(&server
        .mutate(
            &server.admin,
            ADD_PROJECT_MEMBER,
            add(&member.identity_id, editor(&["en"])),
        )
        .await);

    let no_project = merged(
        &add(&member.identity_id, editor(&["en"])),
        json!({ "projectSlug": "nope" }),
    );
    let cases = [
        (
            ADD_PROJECT_MEMBER,
            &server.admin,
            no_project.clone(),
            "PROJECT_NOT_FOUND",
        ),
        (
            UPDATE_PROJECT_MEMBER,
            &server.admin,
            no_project.clone(),
            "PROJECT_NOT_FOUND",
        ),
        (
            REMOVE_PROJECT_MEMBER,
            &server.admin,
            no_project,
            "PROJECT_NOT_FOUND",
        ),
        // A project the caller is not part of does not exist for it.
        (
            ADD_PROJECT_MEMBER,
            &outsider.token,
            add(&outsider.identity_id, editor(&["en"])),
            "PROJECT_NOT_FOUND",
        ),
        (
            ADD_PROJECT_MEMBER,
            &server.admin,
            add("no-such-identity", editor(&["en"])),
            "IDENTITY_NOT_FOUND",
        ),
        (
            REMOVE_PROJECT_MEMBER,
            &server.admin,
            remove("no-such-identity"),
            "IDENTITY_NOT_FOUND",
        ),
        (
            ADD_PROJECT_MEMBER,
            &server.admin,
            add(&member.identity_id, editor(&["cs"])),
            "ALREADY_MEMBER",
        ),
        (
            UPDATE_PROJECT_MEMBER,
            &server.admin,
            add(&outsider.identity_id, editor(&["cs"])),
            "NOT_MEMBER",
        ),
        (
            REMOVE_PROJECT_MEMBER,
            &server.admin,
            remove(&outsider.identity_id),
            "NOT_MEMBER",
        ),
        (
            ADD_PROJECT_MEMBER,
            &server.admin,
            add(&outsider.identity_id, json!([])),
            "INVALID_MEMBERSHIP",
        ),
        (
            UPDATE_PROJECT_MEMBER,
            &server.admin,
            add(&member.identity_id, membership("editor", &[])),
            "INVALID_MEMBERSHIP",
        ),
        // Members who are not the project's admins cannot change its members.
        (
            ADD_PROJECT_MEMBER,
            &editor_key.token,
            add(&outsider.identity_id, editor(&["cs"])),
            "FORBIDDEN",
        ),
        (
            REMOVE_PROJECT_MEMBER,
            &editor_key.token,
            remove(&member.identity_id),
            "FORBIDDEN",
        ),
    ];
    for (mutation, by, variables, code) in cases {
        let reply = server.mutate(by, mutation, variables.clone()).await;
        refused_for(&reply, code, format_args!("{mutation} {variables}"));
    }

    let reply = server
        .mutate(
            &server.admin,
            ADD_PROJECT_MEMBER,
            add(&outsider.identity_id, membership("owner", &[])),
        )
        .await;
    let error = refused(&reply, "INVALID_MEMBERSHIP");
    assert_eq!(
        error["membershipValidation"],
        json!([{ "code": "ROLE_NOT_FOUND", "role": "owner", "variable": null }])
    );

    // A project's own admin role may manage its members.
    let blog_admin = server
        .project_key(
            "my-blog",
            "blog admin",
            json!([{ "role": "admin", "variables": [] }]),
        )
        .await;
    ok(&server
        .mutate(
            &blog_admin.token,
            ADD_PROJECT_MEMBER,
            add(&outsider.identity_id, editor(&["cs"])),
        )
        .await);
}

// ---- createProject ------------------------------------------------------------------------

#[tokio::test]
async fn create_project_and_its_refusals() {
    let server = TestServer::start().await;
    let project = server.blog().await;
    assert_eq!(project["slug"], "my-blog");
    assert_eq!(
        project["roles"],
        json!([
            { "name": "admin", "variables": [] },
            { "name": "editor", "variables": [{ "name": "language" }] },
            { "name": "viewer", "variables": [] },
        ])
    );
    let monitor = server.global_key("monitor", &["monitor"]).await;
    let project_admin = server.global_key("project admin", &["project_admin"]).await;

    let request = |slug: &str| json!({ "slug": slug, "name": "A project", "roles": [] });
    let cases = [
        (&server.admin, request("my-blog"), "ALREADY_EXISTS"),
        (&server.admin, request("My Blog"), "INVALID_SLUG"),
        (&server.admin, request("-blog"), "INVALID_SLUG"),
        (&server.admin, request(""), "INVALID_SLUG"),
        (&server.admin, request(&"a".repeat(65)), "INVALID_SLUG"),
        (
            &server.admin,
            json!({ "slug": "ok", "name": " ", "roles": [] }),
            "INVALID_NAME",
        ),
        (
            &server.admin,
            json!({ "slug": "ok", "name": "x", "roles": [{ "name": "a" }, { "name": "a" }] }),
            "INVALID_ROLE_DEFINITION",
        ),
        (
            &server.admin,
            json!({ "slug": "ok", "name": "x", "roles": [{ "name": "a", "variables": ["has space"] }] }),
            "INVALID_ROLE_DEFINITION",
        ),
        (&monitor.token, request("monitored"), "FORBIDDEN"),
    ];
    for (by, variables, code) in cases {
        let reply = server.mutate(by, CREATE_PROJECT, variables.clone()).await;
        refused_for(&reply, code, &variables);
    }
    let reply = server
        .mutate(
            &project_admin.token,
            CREATE_PROJECT,
            request("by-project-admin"),
        )
        .await;
    assert_eq!(ok(&reply)["project"]["slug"], "by-project-admin");
}

// ---- authorization ------------------------------------------------------------------------

#[tokio::test]
async fn a_read_only_key_cannot_mutate_and_a_write_only_key_cannot_query() {
    let server = TestServer::start().await;
    // Even with super_admin: the permission is the key's, not the identity's.
    let read_only = server
        .global_key_with(
            &server.admin,
            "reader",
            &["super_admin"],
            json!({ "permissions": ["READ"] }),
        )
        .await;
    let write_only = server
        .global_key_with(
            &server.admin,
            "writer",
            &["super_admin"],
            json!({ "permissions": ["WRITE"] }),
        )
        .await;
    assert_eq!(read_only.record["permissions"], json!(["READ"]));

    let project = json!({ "slug": "p", "name": "P", "roles": [] });
    let (status, body) = server
        .gql(&read_only.token, CREATE_PROJECT, project.clone())
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(first_error_code(&body), "FORBIDDEN");
    assert!(string(&body["errors"][0]["message"]).contains("WRITE"));
    assert_eq!(body["data"], Value::Null);
    assert_eq!(server.me(&read_only.token).await, read_only.identity_id);

    let (_, body) = server.gql(&write_only.token, ME, json!({})).await;
    assert_eq!(first_error_code(&body), "FORBIDDEN");
    assert!(string(&body["errors"][0]["message"]).contains("READ"));
    // Without READ, a mutation reply carries ok, error and ids only.
    let (_, body) = server
        .gql(&write_only.token, CREATE_PROJECT, project.clone())
        .await;
    assert_eq!(first_error_code(&body), "FORBIDDEN");
    assert!(
        string(&body["errors"][0]["message"]).contains("READ"),
        "{body}"
    );
    ok(&server
        .mutate(&write_only.token, CREATE_PROJECT_IDS, project)
        .await);
    // The refused mutation left nothing behind but its audit entry.
    assert_eq!(
        project_slugs(&server, &server.admin).await,
        json!([{ "slug": "p" }])
    );
    let log = server
        .data(&server.admin, AUDIT_LOG, json!({ "first": 100 }))
        .await;
    let refused: Vec<&Value> = log["auditLog"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "createProject" && e["outcome"] == "FORBIDDEN")
        .collect();
    // One for the read-only key, one for the write-only key that asked to read.
    let actors: Vec<&Value> = refused.iter().map(|e| &e["actorId"]).collect();
    assert_eq!(
        actors,
        [
            &json!(write_only.identity_id),
            &json!(read_only.identity_id)
        ],
        "{log}"
    );
}

#[tokio::test]
async fn personal_keys_are_visible_to_their_owner_and_super_admins_only() {
    let server = TestServer::start().await;
    let owner = server.global_key("owner", &["project_admin"]).await;
    let other = server.global_key("other", &["monitor"]).await;
    let personal = server
        .global_key_with(
            &owner.token,
            "owner's own",
            &[],
            json!({ "visibility": "PERSONAL" }),
        )
        .await;
    assert_eq!(personal.record["visibility"], "PERSONAL");
    assert_eq!(personal.record["owner"]["id"], json!(owner.identity_id));

    assert!(
        server
            .visible_key_ids(&owner.token, json!({}))
            .await
            .contains(&personal.id)
    );
    assert!(
        server
            .visible_key_ids(&server.admin, json!({}))
            .await
            .contains(&personal.id)
    );
    let seen_by_other = server.visible_key_ids(&other.token, json!({})).await;
    assert!(!seen_by_other.contains(&personal.id), "{seen_by_other:?}");
    let personal_for_other = server
        .api_keys(&other.token, json!({ "visibility": "PERSONAL" }))
        .await;
    assert_eq!(personal_for_other["totalCount"], 0);
    let identity = "query($id: String!) { identity(id: $id) { apiKey { id } } }";
    let seen = server
        .data(
            &owner.token,
            identity,
            json!({ "id": personal.identity_id }),
        )
        .await;
    assert_eq!(seen["identity"]["apiKey"]["id"], json!(personal.id));

    // What one cannot see, one cannot disable either.
    let reply = server
        .mutate(&other.token, DISABLE_API_KEY, json!({ "id": personal.id }))
        .await;
    refused(&reply, "KEY_NOT_FOUND");
    ok(&server
        .mutate(&owner.token, DISABLE_API_KEY, json!({ "id": personal.id }))
        .await);
}

#[tokio::test]
async fn no_key_grants_more_than_it_holds() {
    let server = TestServer::start().await;
    server.blog().await;
    let monitor = server.global_key("monitor", &["monitor"]).await;
    let personal = json!({ "visibility": "PERSONAL" });
    let global = |name: &str, roles: Value, options: &Value| json!({ "description": name, "roles": roles, "options": options });

    let forbidden = [
        global("escalated", json!(["super_admin"]), &personal),
        global("escalated", json!(["project_admin"]), &personal),
        global("org-wide", json!([]), &json!({})),
        global("org-wide", json!([]), &json!({ "visibility": "ORG_WIDE" })),
    ];
    for request in forbidden {
        let reply = server.create_global(&monitor.token, request.clone()).await;
        refused_for(&reply, "FORBIDDEN", &request);
    }
    let request = global("monitor's own", json!(["monitor"]), &personal);
    ok(&server.create_global(&monitor.token, request).await);

    // Within a project: a non-admin member passes on its own role, on a personal key only.
    let editor_key = server
        .project_key("my-blog", "editor", editor(&["cs"]))
        .await;
    let project = |name: &str, memberships: Value, options: &Value| json!({ "projectSlug": "my-blog", "description": name, "memberships": memberships, "options": options });
    let forbidden = [
        project("org-wide", editor(&["cs"]), &json!({})),
        project("admin", membership("admin", &[]), &personal),
    ];
    for request in forbidden {
        let reply = server
            .create_project_key(&editor_key.token, request.clone())
            .await;
        refused_for(&reply, "FORBIDDEN", &request);
    }
    let request = project("editor's own", editor(&["cs"]), &personal);
    ok(&server
        .create_project_key(&editor_key.token, request.clone())
        .await);
    // A project the caller has no part in does not exist for it.
    let reply = server.create_project_key(&monitor.token, request).await;
    refused(&reply, "PROJECT_NOT_FOUND");

    // Nor may a key hand out a permission it lacks.
    let writer = server
        .global_key_with(
            &server.admin,
            "writer",
            &["project_admin"],
            json!({ "permissions": ["WRITE"] }),
        )
        .await;
    let reply = server
        .mutate(
            &writer.token,
            CREATE_GLOBAL_API_KEY_IDS,
            global("read-write", json!([]), &personal),
        )
        .await;
    refused(&reply, "FORBIDDEN");
    let write_only = merged(&personal, json!({ "permissions": ["WRITE"] }));
    ok(&server
        .mutate(
            &writer.token,
            CREATE_GLOBAL_API_KEY_IDS,
            global("write-only", json!([]), &write_only),
        )
        .await);

    // Listings reserved to admins are refused to the others.
    assert_eq!(
        server
            .error_code(&monitor.token, "{ identities { totalCount } }", json!({}))
            .await,
        "FORBIDDEN"
    );
    // The audit log shows them only their own key's entries and what they did (issue 20).
    let own = server
        .data(
            &monitor.token,
            "{ auditLog(first: 500) { nodes { keyId actorId } } }",
            json!({}),
        )
        .await;
    let entries = own["auditLog"]["nodes"].as_array().unwrap();
    assert!(!entries.is_empty());
    assert!(
        entries
            .iter()
            .all(|e| e["keyId"] == json!(monitor.id) || e["actorId"] == json!(monitor.identity_id)),
        "{own:#}"
    );
}

// ---- authentication -----------------------------------------------------------------------

#[tokio::test]
async fn unknown_disabled_and_malformed_tokens_get_the_same_401() {
    let server = TestServer::start().await;
    let disabled = server.global_key("disabled", &[]).await;
    ok(&server
        .mutate(&server.admin, DISABLE_API_KEY, json!({ "id": disabled.id }))
        .await);
    let mut truncated = server.admin.clone();
    truncated.pop();

    let unknown = keydeck::token::generate().unwrap();
    let (status, expected) = server.gql(&unknown, ME, json!({})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(first_error_code(&expected), "UNAUTHENTICATED");
    for token in [
        disabled.token.as_str(),
        &truncated,
        "kd_short",
        "not-a-token-at-all",
    ] {
        let (status, body) = server.gql(token, ME, json!({})).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{token}");
        assert_eq!(
            body, expected,
            "{token}: the reply tells nothing about the key"
        );
    }

    let response = server
        .post()
        .json(&json!({ "query": ME }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()[WWW_AUTHENTICATE], "Bearer");
    let body: Value = response.json().await.unwrap();
    assert!(
        string(&body["errors"][0]["message"]).contains("authentication required"),
        "{body}"
    );
    for header in [format!("Basic {}", server.admin), server.admin.clone()] {
        let (status, _) = send(
            server
                .post()
                .header(AUTHORIZATION, header)
                .json(&json!({ "query": ME })),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn the_token_scheme_works_like_bearer() {
    let server = TestServer::start().await;
    let me = server.me(&server.admin).await;
    for scheme in ["Token", "token", "Bearer", "bearer"] {
        let request = server
            .post()
            .header(AUTHORIZATION, format!("{scheme} {}", server.admin))
            .json(&json!({ "query": ME }));
        let (status, body) = send(request).await;
        assert_eq!(status, StatusCode::OK, "{scheme}: {body}");
        assert_eq!(body["data"]["me"]["id"], json!(me), "{scheme}");
    }
}

#[tokio::test]
async fn last_used_at_is_recorded_when_a_key_is_used() {
    let server = TestServer::start().await;
    let key = server.global_key("used", &[]).await;
    assert_eq!(key.record["lastUsedAt"], Value::Null);
    server.me(&key.token).await;
    eventually("lastUsedAt is set", || async {
        let last_used = record_of(&server, &key.id).await["lastUsedAt"].clone();
        last_used.is_string() && (-300..=1).contains(&seconds_until(&last_used))
    })
    .await;
}

// ---- the store ----------------------------------------------------------------------------

/// Every value of every column of every table, as text.
async fn dump_store(server: &TestServer) -> Vec<String> {
    use sqlx::Row;
    let mut conn = server.store_connection().await;
    let (tables_sql, columns_sql, cast) = if on_postgres() {
        (
            "SELECT CAST(table_name AS TEXT) FROM information_schema.tables \
             WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
            "SELECT CAST(column_name AS TEXT) FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name = '{table}'",
            "TEXT",
        )
    } else {
        (
            "SELECT name FROM sqlite_master WHERE type = 'table'",
            "SELECT name FROM pragma_table_info('{table}')",
            "BLOB",
        )
    };
    let tables: Vec<String> = sqlx::query_scalar(tables_sql)
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert!(tables.iter().any(|t| t == "api_keys"), "{tables:?}");
    let mut values = Vec::new();
    for table in tables {
        let columns: Vec<String> = sqlx::query_scalar(&columns_sql.replace("{table}", &table))
            .fetch_all(&mut conn)
            .await
            .unwrap();
        for column in columns {
            let sql = format!("SELECT CAST(\"{column}\" AS {cast}) FROM \"{table}\"");
            for row in sqlx::query(&sql).fetch_all(&mut conn).await.unwrap() {
                let value = if on_postgres() {
                    row.get::<Option<String>, _>(0)
                } else {
                    row.get::<Option<Vec<u8>>, _>(0)
                        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
                };
                values.extend(value);
            }
        }
    }
    values
}

#[tokio::test]
async fn the_store_keeps_no_plaintext_token() {
    let server = TestServer::start().await;
    server.blog().await;
    let custom = "my-own-secret-token-123";
    ok(&server
        .create_global(
            &server.admin,
            json!({ "description": "custom", "tokenHash": sha256(custom) }),
        )
        .await);
    let global = server.global_key("global", &["monitor"]).await;
    let project = server
        .project_key("my-blog", "project", editor(&["cs"]))
        .await;
    ok(&server
        .mutate(&server.admin, DISABLE_API_KEY, json!({ "id": project.id }))
        .await);
    let tokens = [server.admin.as_str(), custom, &global.token, &project.token];
    for token in tokens {
        server.status_of(token).await;
    }

    // Every value of every table, read through the store's own URL (SQLite file or
    // PostgreSQL database alike); on SQLite the files themselves too, WAL included.
    let values = dump_store(&server).await;
    let files: Vec<Vec<u8>> = if on_postgres() {
        Vec::new()
    } else {
        let files: Vec<Vec<u8>> = ["keydeck.db", "keydeck.db-wal"]
            .iter()
            .filter_map(|name| std::fs::read(server.db_path().with_file_name(name)).ok())
            .collect();
        assert!(!files.is_empty());
        files
    };
    for token in tokens {
        let hash = sha256(token);
        assert!(values.contains(&hash), "the hash of {token} is stored");
        assert!(
            !values.iter().any(|v| v.contains(token)),
            "{token} is stored in plain text"
        );
        for file in &files {
            let found = file.windows(token.len()).any(|w| w == token.as_bytes());
            assert!(!found, "{token} is in the database files");
        }
    }
}

// ---- pagination ---------------------------------------------------------------------------

#[tokio::test]
async fn api_keys_page_with_cursors() {
    let server = TestServer::start().await;
    let mut expected = server.visible_key_ids(&server.admin, json!({})).await; // the bootstrap key
    for i in 0..65 {
        expected.push(server.global_key(&format!("key {i:02}"), &[]).await.id);
    }

    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let data = server
            .data(
                &server.admin,
                API_KEYS,
                json!({ "first": 20, "after": after }),
            )
            .await;
        let page = &data["apiKeys"];
        assert_eq!(page["totalCount"], 66);
        // Past a cursor, keys lie before the page.
        assert_eq!(page["pageInfo"]["hasPreviousPage"], !after.is_null());
        let nodes = page["nodes"].as_array().unwrap();
        seen.extend(nodes.iter().map(|k| string(&k["id"])));
        let last_cursor = &page["edges"].as_array().unwrap().last().unwrap()["cursor"];
        assert_eq!(&page["pageInfo"]["endCursor"], last_cursor);
        let has_next = page["pageInfo"]["hasNextPage"].as_bool().unwrap();
        assert_eq!(has_next, seen.len() < 66, "after {} keys", seen.len());
        if !has_next {
            assert_eq!(nodes.len(), 6);
            break;
        }
        assert_eq!(nodes.len(), 20);
        after = last_cursor.clone();
    }
    assert_eq!(seen, expected, "every key once, oldest first");

    let filtered = server
        .api_keys(&server.admin, json!({ "search": "KEY 6" }))
        .await;
    assert_eq!(filtered["totalCount"], 5);

    for variables in [
        json!({ "first": 501 }),
        json!({ "first": 0 }),
        json!({ "first": -1 }),
        json!({ "after": "garbage" }),
        json!({ "after": "aGVsbG8" }), // base64 of "hello": not one of ours
    ] {
        assert_eq!(
            server
                .error_code(&server.admin, API_KEYS, variables.clone())
                .await,
            "BAD_USER_INPUT",
            "{variables}"
        );
    }
    assert_eq!(
        server
            .data(&server.admin, API_KEYS, json!({ "first": 500 }))
            .await["apiKeys"]["nodes"]
            .as_array()
            .unwrap()
            .len(),
        66
    );
}

// ---- audit --------------------------------------------------------------------------------

const AUDIT_LOG: &str = "query($first: Int, $after: String) { auditLog(first: $first, after: $after) { \
     totalCount pageInfo { hasNextPage endCursor } nodes { at actorId action target outcome detail } } }";

#[tokio::test]
async fn every_mutation_is_audited() {
    let server = TestServer::start().await;
    let admin = server.admin.clone();
    let admin_id = json!(server.me(&admin).await);
    let project_id = string(&server.blog().await["id"]);
    let project_key = server
        .project_key("my-blog", "audited", editor(&["cs"]))
        .await;
    let member = server.global_key("member", &[]).await;
    let on_key = json!({ "id": member.id });
    let roles = json!({ "identityId": member.identity_id, "roles": ["monitor"] });
    let membership = json!({ "projectSlug": "my-blog", "identityId": member.identity_id, "memberships": editor(&["cs"]) });
    for (mutation, variables) in [
        (DISABLE_API_KEY, &on_key),
        (ENABLE_API_KEY, &on_key),
        (ADD_GLOBAL_IDENTITY_ROLES, &roles),
        (REMOVE_GLOBAL_IDENTITY_ROLES, &roles),
        (ADD_PROJECT_MEMBER, &membership),
        (UPDATE_PROJECT_MEMBER, &membership),
        (REMOVE_PROJECT_MEMBER, &membership),
    ] {
        ok(&server.mutate(&admin, mutation, variables.clone()).await);
    }
    let bad_slug = json!({ "slug": "Bad Slug", "name": "x", "roles": [] });
    refused(
        &server.mutate(&admin, CREATE_PROJECT, bad_slug).await,
        "INVALID_SLUG",
    );
    let by_member = json!({ "slug": "mine", "name": "x", "roles": [] });
    refused(
        &server
            .mutate(&member.token, CREATE_PROJECT, by_member)
            .await,
        "FORBIDDEN",
    );

    let data = server
        .data(&admin, AUDIT_LOG, json!({ "first": 100 }))
        .await;
    let log = &data["auditLog"];
    let mut entries: Vec<Value> = log["nodes"].as_array().unwrap().clone();
    entries.reverse(); // the log is newest first
    let bootstrap = entries.remove(0);
    assert_eq!(bootstrap["action"], "bootstrap");
    assert_eq!(bootstrap["actorId"], Value::Null);

    let summary: Vec<Value> = entries
        .iter()
        .map(|e| json!([e["actorId"], e["action"], e["target"], e["outcome"]]))
        .collect();
    let member_id = json!(member.identity_id);
    let expected = [
        json!([admin_id, "createProject", project_id, "OK"]),
        json!([admin_id, "createApiKey", project_key.id, "OK"]),
        json!([admin_id, "createGlobalApiKey", member.id, "OK"]),
        json!([admin_id, "disableApiKey", member.id, "OK"]),
        json!([admin_id, "enableApiKey", member.id, "OK"]),
        json!([admin_id, "addGlobalIdentityRoles", member_id, "OK"]),
        json!([admin_id, "removeGlobalIdentityRoles", member_id, "OK"]),
        json!([admin_id, "addProjectMember", member_id, "OK"]),
        json!([admin_id, "updateProjectMember", member_id, "OK"]),
        json!([admin_id, "removeProjectMember", member_id, "OK"]),
        json!([admin_id, "createProject", "Bad Slug", "INVALID_SLUG"]),
        json!([member_id, "createProject", "mine", "FORBIDDEN"]),
    ];
    assert_eq!(summary, expected);
    assert!(
        string(&entries[10]["detail"]).contains("slug"),
        "a refusal says why"
    );
    assert_eq!(entries[0]["detail"], Value::Null);
    assert!(
        entries
            .iter()
            .all(|e| (-300..=1).contains(&seconds_until(&e["at"])))
    );

    // The log pages like the other listings.
    let first = server.data(&admin, AUDIT_LOG, json!({ "first": 5 })).await;
    assert_eq!(first["auditLog"]["totalCount"], 13);
    let after = first["auditLog"]["pageInfo"]["endCursor"].clone();
    let second = server
        .data(&admin, AUDIT_LOG, json!({ "first": 5, "after": after }))
        .await;
    let paged: Vec<&Value> = [&first, &second]
        .iter()
        .flat_map(|d| d["auditLog"]["nodes"].as_array().unwrap())
        .collect();
    let all: Vec<&Value> = log["nodes"].as_array().unwrap().iter().take(10).collect();
    assert_eq!(paged, all);
}

// ---- the vendor documents, verbatim -------------------------------------------------------

/// Contember's "API keys management" page: the five documents as published.
const CONTEMBER_CREATE_API_KEY: &str = r#"mutation {
  createApiKey(
    projectSlug: "my-blog",
    description: "User-friendly description of the key",
    memberships: [{role: "editor", variables: [{name: "language", values: ["cs"]}]}]
  ) {
    ok
    error {
      code
    }
    result {
      apiKey {
        id
        token
        identity {
          id
        }
      }
    }
  }
}"#;

const CONTEMBER_CREATE_GLOBAL_API_KEY: &str = r#"mutation {
  createGlobalApiKey(
    description: "Global API key description",
    roles: ["super_admin", "monitor"]
  ) {
    ok
    error {
      code
    }
    result {
      apiKey {
        id
        token
        identity {
          id
        }
      }
    }
  }
}"#;

const CONTEMBER_ADD_GLOBAL_IDENTITY_ROLES: &str = r#"mutation {
  addGlobalIdentityRoles(
    identityId: "some-identity-id",
    roles: ["super_admin", "monitor"]
  ) {
    ok
    error {
      code
    }
  }
}"#;

const CONTEMBER_REMOVE_GLOBAL_IDENTITY_ROLES: &str = r#"mutation {
  removeGlobalIdentityRoles(
    identityId: "some-identity-id",
    roles: ["monitor"]
  ) {
    ok
    error {
      code
    }
  }
}"#;

const CONTEMBER_DISABLE_API_KEY: &str = r#"mutation {
  disableApiKey(id: "some-api-key-id") {
    ok
  }
}"#;

/// Runs a Contember document as the super admin; its reply.
async fn contember(server: &TestServer, document: &str) -> Value {
    server.mutate(&server.admin, document, json!({})).await
}

#[tokio::test]
async fn contember_documents_work_verbatim() {
    let server = TestServer::start().await;
    server.blog().await;

    let reply = contember(&server, CONTEMBER_CREATE_API_KEY).await;
    assert_eq!(reply["error"], Value::Null);
    let project_key = Key::from_reply(&reply);
    assert!(project_key.token.starts_with("kd_"));
    assert_eq!(server.me(&project_key.token).await, project_key.identity_id);

    let reply = contember(&server, CONTEMBER_CREATE_GLOBAL_API_KEY).await;
    let global_key = Key::from_reply(&reply);
    assert_eq!(
        roles_of(&server, &global_key.identity_id).await,
        json!(["monitor", "super_admin"])
    );
    assert_eq!(server.me(&global_key.token).await, global_key.identity_id);

    let with_identity =
        |document: &str| document.replace("some-identity-id", &project_key.identity_id);
    let reply = contember(&server, &with_identity(CONTEMBER_ADD_GLOBAL_IDENTITY_ROLES)).await;
    assert_eq!(reply, json!({ "ok": true, "error": null }));
    assert_eq!(
        roles_of(&server, &project_key.identity_id).await,
        json!(["monitor", "super_admin"])
    );

    let reply = contember(
        &server,
        &with_identity(CONTEMBER_REMOVE_GLOBAL_IDENTITY_ROLES),
    )
    .await;
    assert_eq!(reply, json!({ "ok": true, "error": null }));
    assert_eq!(
        roles_of(&server, &project_key.identity_id).await,
        json!(["super_admin"])
    );

    let disable = CONTEMBER_DISABLE_API_KEY.replace("some-api-key-id", &global_key.id);
    assert_eq!(contember(&server, &disable).await, json!({ "ok": true }));
    assert_eq!(
        server.status_of(&global_key.token).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(server.status_of(&project_key.token).await, StatusCode::OK);
}

#[tokio::test]
async fn pganalyze_form_requests_get_a_clear_error_without_monitored_databases() {
    let server = TestServer::start().await;
    // pganalyze hands out a read-only key for this.
    let read_key = server
        .global_key_with(
            &server.admin,
            "pganalyze read",
            &["monitor"],
            json!({ "permissions": ["READ"] }),
        )
        .await;
    let query = pganalyze_query("12345");
    let urlencoded = server
        .post()
        .header(AUTHORIZATION, format!("Token {}", read_key.token))
        .form(&[("query", query.as_str())]);
    let replies = [
        ("multipart", server.curl_form(&read_key.token, &query).await),
        ("urlencoded", send(urlencoded).await),
    ];
    for (encoding, (status, body)) in replies {
        assert_eq!(status, StatusCode::OK, "{encoding}: {body}");
        assert_eq!(first_error_code(&body), "DATABASE_NOT_FOUND", "{encoding}");
        let message = string(&body["errors"][0]["message"]);
        assert!(
            message.contains("12345") && message.contains("--monitor"),
            "{encoding}: {message}"
        );
        assert_eq!(body["data"], Value::Null);
    }
    // Still serving.
    let health = reqwest::get(format!("http://{}/healthz", server.running.addr))
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(server.me(&read_key.token).await, read_key.identity_id);
}

#[tokio::test]
async fn form_requests_carry_variables_and_need_a_query() {
    let server = TestServer::start().await;
    let query = "query($id: String!) { identity(id: $id) { id } }";
    let me = server.me(&server.admin).await;
    let variables = json!({ "id": me }).to_string();
    let form = reqwest::multipart::Form::new()
        .text("query", query)
        .text("variables", variables.clone())
        .text("operationName", "");
    let (status, body) = send(server.authorized_post().multipart(form)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["identity"]["id"], json!(me));
    let form = [("query", query), ("variables", variables.as_str())];
    let (_, body) = send(server.authorized_post().form(&form)).await;
    assert_eq!(body["data"]["identity"]["id"], json!(me));

    let bad = [
        server
            .authorized_post()
            .multipart(reqwest::multipart::Form::new().text("variables", "{}")),
        server.authorized_post().form(&[("variables", "{}")]),
        server
            .authorized_post()
            .form(&[("query", ME), ("variables", "{not json")]),
    ];
    for request in bad {
        let (status, body) = send(request).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(first_error_code(&body), "BAD_REQUEST");
    }
}

// ---- HTTP ---------------------------------------------------------------------------------

#[tokio::test]
async fn malformed_and_batched_json_bodies_get_400() {
    let server = TestServer::start().await;
    let batch = json!([{ "query": ME }, { "query": ME }]).to_string();
    for (body, says) in [
        ("{\"query\": ", "not JSON"),
        ("not json at all", "not JSON"),
        (batch.as_str(), "batched requests are not supported"),
        ("{\"query\": 42}", "not a GraphQL request"),
    ] {
        let (status, reply) = send(server.json_body(body.to_owned())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(first_error_code(&reply), "BAD_REQUEST");
        assert!(
            string(&reply["errors"][0]["message"]).contains(says),
            "{reply}"
        );
    }
}

#[tokio::test]
async fn bodies_over_one_mebibyte_get_413() {
    let server = TestServer::start().await;
    let limit = keydeck::server::transport::http::MAX_BODY_BYTES;
    // `{ me }` padded with an unused variable to exactly `size` bytes.
    let body_of = |size: usize| {
        let empty = json!({ "query": ME, "variables": { "padding": "" } }).to_string();
        let body =
            json!({ "query": ME, "variables": { "padding": "x".repeat(size - empty.len()) } })
                .to_string();
        assert_eq!(body.len(), size);
        body
    };
    let (status, _) = send(server.json_body(body_of(limit + 1))).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let (status, body) = send(server.json_body(body_of(limit))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn total_count_follows_every_change_and_expiry_at_once() {
    let server = TestServer::start().await;
    let count = || async {
        let data = server
            .data(&server.admin, "{ apiKeys { totalCount } }", json!({}))
            .await;
        data["apiKeys"]["totalCount"].as_i64().expect("a count")
    };
    let before = count().await;
    assert_eq!(count().await, before, "asked again, the same");
    let short = server
        .global_key_with(&server.admin, "short", &[], json!({ "expiresIn": "2s" }))
        .await;
    assert_eq!(count().await, before + 1, "a key created");
    let other = server.global_key("other", &[]).await;
    assert_eq!(count().await, before + 2);
    ok(&server
        .mutate(&server.admin, DISABLE_API_KEY, json!({ "id": other.id }))
        .await);
    assert_eq!(count().await, before + 1, "a key disabled");
    let all = "{ apiKeys(filter: { includeDisabled: true }) { totalCount } }";
    let everything = server.data(&server.admin, all, json!({})).await;
    assert_eq!(everything["apiKeys"]["totalCount"], json!(before + 2));
    // The short key expires: counted out from the second it does, not a second later.
    eventually("the short key expires", || async {
        server.status_of(&short.token).await == reqwest::StatusCode::UNAUTHORIZED
    })
    .await;
    assert_eq!(count().await, before, "a key expired");
}
