//! Nobody widens their own access: variable values, lifetimes, names, the last super admin.

use serde_json::{Value, json};

use crate::common::*;

const DAY: i64 = 86_400;

fn project_request(name: &str, memberships: Value, options: Value) -> Value {
    json!({
        "projectSlug": "my-blog",
        "description": name,
        "memberships": memberships,
        "options": options,
    })
}

#[tokio::test]
async fn a_member_grants_only_variable_values_it_holds() {
    let server = TestServer::start().await;
    server.blog().await;
    let editor_cs = server
        .project_key("my-blog", "editor cs", editor(&["cs"]))
        .await;
    let personal = json!({ "visibility": "PERSONAL" });
    for values in [&["cs", "en"][..], &["en"], &["cs", "en", "de", "*"], &["*"]] {
        let request = project_request("wider", editor(values), personal.clone());
        let reply = server.create_project_key(&editor_cs.token, request).await;
        refused_for(&reply, "FORBIDDEN", format!("{values:?}"));
    }
    let request = project_request("same", editor(&["cs"]), personal.clone());
    ok(&server.create_project_key(&editor_cs.token, request).await);
    // The project's admins grant any value of the project's roles.
    let admin = server
        .project_key(
            "my-blog",
            "blog admin",
            json!([{ "role": "admin", "variables": [] }]),
        )
        .await;
    let request = project_request("any", editor(&["cs", "en", "de"]), json!({}));
    ok(&server.create_project_key(&admin.token, request).await);
}

#[tokio::test]
async fn a_key_never_outlives_the_key_that_creates_it() {
    let server = TestServer::start().await;
    let hour = server
        .global_key_with(
            &server.admin,
            "one hour",
            &["monitor"],
            json!({ "expiresIn": "1h" }),
        )
        .await;
    let personal = |ttl: Option<&str>| {
        let mut options = json!({ "visibility": "PERSONAL" });
        if let Some(ttl) = ttl {
            options["expiresIn"] = json!(ttl);
        }
        json!({ "description": format!("child {ttl:?}"), "roles": ["monitor"], "options": options })
    };
    let reply = server
        .create_global(&hour.token, personal(Some("30d")))
        .await;
    let error = refused(&reply, "INVALID_TTL");
    assert!(
        string(&error["developerMessage"]).contains("outlive"),
        "{error}"
    );
    // Without expiresIn the child gets the longest life it may have: its creator's.
    let reply = server.create_global(&hour.token, personal(None)).await;
    let expires = &ok(&reply)["apiKey"]["key"]["expiresAt"];
    assert_eq!(expires, &hour.record["expiresAt"]);
    ok(&server
        .create_global(&hour.token, personal(Some("30m")))
        .await);
    // Super admins aside.
    let admin_hour = server
        .global_key_with(
            &server.admin,
            "admin hour",
            &["super_admin"],
            json!({ "expiresIn": "1h" }),
        )
        .await;
    let reply = server
        .create_global(&admin_hour.token, personal(Some("30d")))
        .await;
    let left = seconds_until(&ok(&reply)["apiKey"]["key"]["expiresAt"]);
    assert!(left > 29 * DAY, "{left}");
}

const DISABLE_CASCADE: &str = "mutation($id: String!) { disableApiKey(id: $id) { \
     ok error { code developerMessage } result { apiKey { id state } alsoDisabled } } }";

#[tokio::test]
async fn disabling_a_key_disables_the_personal_keys_it_created() {
    let server = TestServer::start().await;
    let parent = server.global_key("parent", &["project_admin"]).await;
    let personal = json!({ "visibility": "PERSONAL" });
    let child = server
        .global_key_with(&parent.token, "child", &["project_admin"], personal.clone())
        .await;
    let grandchild = server
        .global_key_with(&child.token, "grandchild", &[], personal.clone())
        .await;
    let sibling = server.global_key("sibling", &[]).await;

    let reply = server
        .mutate(&server.admin, DISABLE_CASCADE, json!({ "id": parent.id }))
        .await;
    let mut also = ok(&reply)["alsoDisabled"].as_array().unwrap().clone();
    also.sort_by_key(std::string::ToString::to_string);
    let mut expected = vec![json!(child.id), json!(grandchild.id)];
    expected.sort_by_key(std::string::ToString::to_string);
    assert_eq!(also, expected);
    for key in [&parent, &child, &grandchild] {
        assert_eq!(server.status_of(&key.token).await, 401);
    }
    assert_eq!(server.status_of(&sibling.token).await, 200);
    // Each cascaded key has its own audit entry saying why.
    let log = server
        .data(
            &server.admin,
            "{ auditLog(first: 5) { nodes { action target detail } } }",
            json!({}),
        )
        .await;
    let entries = log["auditLog"]["nodes"].as_array().unwrap();
    for key in [&child, &grandchild] {
        let entry = entries
            .iter()
            .find(|e| e["target"] == json!(key.id))
            .unwrap_or_else(|| panic!("no audit entry for {}: {log}", key.id));
        assert_eq!(entry["action"], "disableApiKey");
        assert!(string(&entry["detail"]).contains(&parent.id), "{entry}");
    }
}

#[tokio::test]
async fn personal_names_are_per_owner_and_cannot_squat_org_wide_ones() {
    let server = TestServer::start().await;
    let member = server.global_key("member", &[]).await;
    let other = server.global_key("other", &[]).await;
    let personal = json!({ "visibility": "PERSONAL" });
    let named = |name: &str, options: &Value| json!({ "description": name, "options": options });
    ok(&server
        .create_global(&member.token, named("prod-deploy", &personal))
        .await);
    // The admin's org-wide key of that name is not blocked, nor is another owner's.
    ok(&server
        .create_global(&server.admin, named("prod-deploy", &json!({})))
        .await);
    ok(&server
        .create_global(&other.token, named("prod-deploy", &personal))
        .await);
    // The same owner's same name, however spelled, is taken.
    for spelling in ["Prod-Deploy", " prod-deploy ", "PROD-DEPLOY"] {
        let reply = server
            .create_global(&member.token, named(spelling, &personal))
            .await;
        refused_for(&reply, "NAME_TAKEN", spelling);
    }
    // Org-wide names compare case-insensitively and NFC-normalised.
    ok(&server
        .create_global(&server.admin, named("Caf\u{e9}", &json!({})))
        .await);
    let reply = server
        .create_global(&server.admin, named("cafe\u{301}", &json!({})))
        .await;
    refused(&reply, "NAME_TAKEN");
}

#[tokio::test]
async fn the_last_lasting_super_admin_cannot_be_disabled_or_lose_the_role() {
    let server = TestServer::start().await;
    let bootstrap = server.me(&server.admin).await;
    let keys = server.api_keys(&server.admin, json!({})).await;
    let bootstrap_key = string(&keys["nodes"][0]["id"]);

    let reply = server
        .mutate(
            &server.admin,
            DISABLE_API_KEY,
            json!({ "id": bootstrap_key }),
        )
        .await;
    refused(&reply, "LAST_SUPER_ADMIN");
    let reply = server
        .mutate(
            &server.admin,
            REMOVE_GLOBAL_IDENTITY_ROLES,
            json!({ "identityId": bootstrap, "roles": ["super_admin"] }),
        )
        .await;
    refused(&reply, "LAST_SUPER_ADMIN");
    assert_eq!(server.status_of(&server.admin).await, 200);

    // A super admin key that expires does not keep the service administrable…
    server
        .global_key_with(
            &server.admin,
            "temporary admin",
            &["super_admin"],
            json!({ "expiresIn": "1d" }),
        )
        .await;
    let reply = server
        .mutate(
            &server.admin,
            DISABLE_API_KEY,
            json!({ "id": bootstrap_key }),
        )
        .await;
    refused(&reply, "LAST_SUPER_ADMIN");
    // …one that never expires does: then the bootstrap key can be rotated away.
    let lasting = server
        .global_key_with(
            &server.admin,
            "next admin",
            &["super_admin"],
            json!({ "expiresIn": "never" }),
        )
        .await;
    assert!(lasting.record["expiresAt"].is_null());
    ok(&server
        .mutate(
            &lasting.token,
            DISABLE_API_KEY,
            json!({ "id": bootstrap_key }),
        )
        .await);
    // Only super admins mint keys that never expire, and only super_admin ones.
    let reply = server
        .create_global(
            &lasting.token,
            json!({ "description": "forever", "roles": [], "options": { "expiresIn": "never" } }),
        )
        .await;
    refused(&reply, "INVALID_TTL");
}

#[tokio::test]
async fn an_operator_recovers_a_super_admin_offline() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("recovered.token");
    let recover = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_keydeck"))
            .args(["serve", "--recover-admin", "--db"])
            .arg(server.database_url())
            .arg("--bootstrap-token-file")
            .arg(&file)
            .output()
            .unwrap()
    };
    let out = recover();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = std::fs::read_to_string(&file).unwrap().trim().to_owned();
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains(&token),
        "the token goes to the file only"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    // The running service accepts it as a super admin, and the audit log says so.
    let me = server.data(&token, "{ me { roles } }", json!({})).await;
    assert_eq!(me["me"]["roles"], json!(["super_admin"]));
    let log = server
        .data(
            &token,
            "{ auditLog(first: 1) { nodes { action actorId outcome } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        log["auditLog"]["nodes"][0],
        json!({ "action": "recoverAdmin", "actorId": null, "outcome": "OK" })
    );
    // The token file is never overwritten.
    let again = recover();
    assert!(!again.status.success());
    assert_eq!(std::fs::read_to_string(&file).unwrap().trim(), token);
}
