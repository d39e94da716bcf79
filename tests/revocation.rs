//! Taking access away (issue 17): a personal key can never do more than its owner can do now.
//!
//! The matrix: every way to take access from an identity (remove a global role, remove it
//! from a project, narrow its membership, narrow a variable value, disable its key, let its
//! key expire) × every key derived from it (a personal child, a personal grandchild, an
//! org-wide child). Personal keys lose what their owner lost, before their next request;
//! org-wide keys belong to the organisation and keep what they were given. Runs on both
//! stores (`KEYDECK_TEST_STORE=postgres` in `.ci/run`).
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

mod common;

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use common::*;

fn held(items: &[&str]) -> Option<Vec<String>> {
    let mut v: Vec<String> = items.iter().map(|s| (*s).to_owned()).collect();
    v.sort();
    Some(v)
}

/// A key and the keys derived from it.
struct Family {
    parent: Key,
    /// A personal key the parent created.
    child: Key,
    /// A personal key the child created.
    grandchild: Key,
    /// An org-wide key the parent created.
    org_wide: Key,
}

impl Family {
    /// The keys below `parent`, each made by `make(creator, name, visibility)`: a personal
    /// child, its personal child, and an org-wide child.
    async fn grow<F, Fut>(parent: Key, make: F) -> Family
    where
        F: Fn(&Key, &str, &str) -> Fut,
        Fut: std::future::Future<Output = Key>,
    {
        let child = make(&parent, "child", PERSONAL).await;
        let grandchild = make(&child, "grandchild", PERSONAL).await;
        let org_wide = make(&parent, "org-wide child", ORG_WIDE).await;
        Family {
            parent,
            child,
            grandchild,
            org_wide,
        }
    }

    /// The personal keys below the parent, sorted.
    fn personal_ids(&self) -> Vec<String> {
        let mut ids = vec![self.child.id.clone(), self.grandchild.id.clone()];
        ids.sort();
        ids
    }
}

const PERSONAL: &str = "PERSONAL";
const ORG_WIDE: &str = "ORG_WIDE";

/// A global family: the parent (org-wide, by the super admin) holds `super_admin` and
/// `monitor`; each key below holds both too.
async fn global_family(server: &TestServer, parent_options: Value) -> Family {
    let roles = ["super_admin", "monitor"];
    let parent = server
        .global_key_with(&server.admin, "parent", &roles, parent_options)
        .await;
    Family::grow(parent, |creator, name, visibility| {
        let (token, name) = (creator.token.clone(), name.to_owned());
        let options = json!({ "visibility": visibility, "expiresIn": "1d" });
        async move { server.global_key_with(&token, &name, &roles, options).await }
    })
    .await
}

const BLOG_GRANTS: [&str; 2] = ["my-blog:admin()", "my-blog:editor(language=cs,en)"];

/// A project family in `my-blog`: every key holds `admin` and `editor(language=cs,en)`.
async fn blog_family(server: &TestServer) -> Family {
    server.blog().await;
    let parent = server
        .project_key("my-blog", "parent", admin_and_editor())
        .await;
    Family::grow(parent, |creator, name, visibility| {
        let request = json!({
            "projectSlug": "my-blog",
            "description": name,
            "memberships": admin_and_editor(),
            "options": { "visibility": visibility },
        });
        let token = creator.token.clone();
        async move { Key::from_reply(&server.create_project_key(&token, request).await) }
    })
    .await
}

/// What every key of `family` holds now: (child, grandchild, org-wide child).
async fn below(server: &TestServer, family: &Family) -> [Option<Vec<String>>; 3] {
    [
        access(server, &family.child.token).await,
        access(server, &family.grandchild.token).await,
        access(server, &family.org_wide.token).await,
    ]
}

/// The ids of a removing mutation's `narrowedKeys`, sorted.
fn narrowed(reply: &Value) -> Vec<String> {
    let mut ids: Vec<String> = ok(reply)["narrowedKeys"]
        .as_array()
        .expect("narrowedKeys")
        .iter()
        .map(string)
        .collect();
    ids.sort();
    ids
}

const AUDIT: &str = "query { auditLog(first: 100) { nodes { action target outcome detail } } }";

/// The audit rows about `key` whose detail says it was narrowed.
async fn narrowing_rows(server: &TestServer, key: &str) -> Vec<Value> {
    let log = server.data(&server.admin, AUDIT, json!({})).await;
    log["auditLog"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| {
            row["target"] == json!(key)
                && row["detail"]
                    .as_str()
                    .is_some_and(|d| d.contains("narrowed"))
        })
        .cloned()
        .collect()
}

/// The personal keys lost exactly what their owner lost, each with an audit row; the reply
/// named them.
async fn assert_narrowed(server: &TestServer, family: &Family, reply: &Value, action: &str) {
    assert_eq!(
        narrowed(reply),
        family.personal_ids(),
        "{action}: {reply:#}"
    );
    for key in [&family.child, &family.grandchild] {
        let rows = narrowing_rows(server, &key.id).await;
        assert_eq!(rows.len(), 1, "{action}: one audit row for {}", key.id);
        assert_eq!(rows[0]["action"], json!(action));
    }
}

#[tokio::test]
async fn removing_a_global_role_narrows_personal_keys_at_any_depth() {
    let server = TestServer::start().await;
    let family = global_family(&server, json!({})).await;
    let all = held(&["monitor", "super_admin"]);
    assert_eq!(
        below(&server, &family).await,
        [all.clone(), all.clone(), all.clone()]
    );
    let reply = server
        .mutate(
            &server.admin,
            REMOVE_GLOBAL_IDENTITY_ROLES_NARROWED,
            json!({ "identityId": family.parent.identity_id, "roles": ["super_admin"] }),
        )
        .await;
    assert_narrowed(&server, &family, &reply, "removeGlobalIdentityRoles").await;
    let monitor = held(&["monitor"]);
    assert_eq!(access(&server, &family.parent.token).await, monitor);
    assert_eq!(
        below(&server, &family).await,
        [monitor.clone(), monitor, all],
        "personal keys lose the role; the org-wide key keeps it"
    );
}

#[tokio::test]
async fn removing_a_member_narrows_personal_keys_at_any_depth() {
    let server = TestServer::start().await;
    let family = blog_family(&server).await;
    let all = held(&BLOG_GRANTS);
    assert_eq!(
        below(&server, &family).await,
        [all.clone(), all.clone(), all.clone()]
    );
    let reply = server
        .mutate(
            &server.admin,
            REMOVE_PROJECT_MEMBER_NARROWED,
            json!({ "projectSlug": "my-blog", "identityId": family.parent.identity_id }),
        )
        .await;
    assert_narrowed(&server, &family, &reply, "removeProjectMember").await;
    let nothing = held(&[]);
    assert_eq!(
        below(&server, &family).await,
        [nothing.clone(), nothing, all]
    );
}

/// The parent of a blog family narrowed to `memberships`: the personal keys hold `after`.
async fn narrowing_the_parent_leaves(memberships: Value, after: &[&str]) {
    let server = TestServer::start().await;
    let family = blog_family(&server).await;
    let reply = server
        .mutate(
            &server.admin,
            UPDATE_PROJECT_MEMBER_NARROWED,
            json!({
                "projectSlug": "my-blog",
                "identityId": family.parent.identity_id,
                "memberships": memberships,
            }),
        )
        .await;
    assert_narrowed(&server, &family, &reply, "updateProjectMember").await;
    let after = held(after);
    assert_eq!(
        below(&server, &family).await,
        [after.clone(), after, held(&BLOG_GRANTS)]
    );
}

#[tokio::test]
async fn narrowing_a_membership_narrows_personal_keys_at_any_depth() {
    // `admin` goes, `editor` stays whole.
    narrowing_the_parent_leaves(editor(&["cs", "en"]), &["my-blog:editor(language=cs,en)"]).await;
}

#[tokio::test]
async fn narrowing_a_variable_value_narrows_personal_keys_at_any_depth() {
    narrowing_the_parent_leaves(editor(&["cs"]), &["my-blog:editor(language=cs)"]).await;
}

#[tokio::test]
async fn disabling_a_key_stops_its_personal_keys_at_any_depth() {
    let server = TestServer::start().await;
    let family = global_family(&server, json!({})).await;
    let reply = server
        .mutate(
            &server.admin,
            DISABLE_API_KEY,
            json!({ "id": family.parent.id }),
        )
        .await;
    ok(&reply);
    assert_eq!(
        below(&server, &family).await,
        [None, None, held(&["monitor", "super_admin"])]
    );
}

#[tokio::test]
async fn an_expired_key_stops_its_personal_keys_at_any_depth() {
    let server = TestServer::start().await;
    // A super admin's key may create keys that outlive it: they must not act once it expired.
    let family = global_family(&server, json!({ "expiresIn": "3s" })).await;
    let all = held(&["monitor", "super_admin"]);
    assert_eq!(
        below(&server, &family).await,
        [all.clone(), all.clone(), all.clone()]
    );
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(access(&server, &family.parent.token).await, None);
    assert_eq!(below(&server, &family).await, [None, None, all]);
}

/// The issue's own reproduction: a project admin's personal child keeps nothing of a revoked
/// role, cannot create projects with it, and cannot give it back to its owner.
#[tokio::test]
async fn a_child_cannot_keep_or_give_back_its_owners_revoked_role() {
    let server = TestServer::start().await;
    let pa = server.global_key("PA", &["project_admin"]).await;
    let personal = json!({ "visibility": PERSONAL });
    let child = server
        .global_key_with(&pa.token, "CHILD", &["project_admin"], personal)
        .await;
    // Even before the revocation, a key cannot change the access of the key above it.
    let regrant = json!({ "identityId": pa.identity_id, "roles": ["project_admin"] });
    let reply = server
        .mutate(&child.token, ADD_GLOBAL_IDENTITY_ROLES, regrant.clone())
        .await;
    refused(&reply, "FORBIDDEN");

    let reply = server
        .mutate(
            &server.admin,
            REMOVE_GLOBAL_IDENTITY_ROLES_NARROWED,
            json!({ "identityId": pa.identity_id, "roles": ["project_admin"] }),
        )
        .await;
    assert_eq!(narrowed(&reply), vec![child.id.clone()]);
    assert_eq!(access(&server, &pa.token).await, held(&[]));
    assert_eq!(access(&server, &child.token).await, held(&[]));
    let project = json!({ "slug": "after", "name": "After", "roles": [] });
    let reply = server
        .mutate(&child.token, CREATE_PROJECT_IDS, project)
        .await;
    refused(&reply, "FORBIDDEN");
    let reply = server
        .mutate(&child.token, ADD_GLOBAL_IDENTITY_ROLES, regrant)
        .await;
    refused(&reply, "FORBIDDEN");
    assert_eq!(access(&server, &pa.token).await, held(&[]));

    // Giving the role back to PA does not give it back to CHILD, and nobody can give CHILD
    // more than PA holds.
    let restore = json!({ "identityId": pa.identity_id, "roles": ["project_admin"] });
    ok(&server
        .mutate(&server.admin, ADD_GLOBAL_IDENTITY_ROLES, restore)
        .await);
    assert_eq!(access(&server, &child.token).await, held(&[]));
    let beyond = json!({ "identityId": child.identity_id, "roles": ["monitor"] });
    let reply = server
        .mutate(&server.admin, ADD_GLOBAL_IDENTITY_ROLES, beyond)
        .await;
    refused(&reply, "FORBIDDEN");
}

/// An editor's personal key loses the values its owner lost (the second case).
#[tokio::test]
async fn an_editors_personal_key_loses_the_values_its_owner_lost() {
    let server = TestServer::start().await;
    server.blog().await;
    let editor_key = server
        .project_key("my-blog", "editor", editor(&["cs", "en"]))
        .await;
    let request = json!({
        "projectSlug": "my-blog",
        "description": "mine",
        "memberships": editor(&["cs", "en"]),
        "options": { "visibility": PERSONAL },
    });
    let child = Key::from_reply(&server.create_project_key(&editor_key.token, request).await);
    let reply = server
        .mutate(
            &server.admin,
            UPDATE_PROJECT_MEMBER_NARROWED,
            json!({
                "projectSlug": "my-blog",
                "identityId": editor_key.identity_id,
                "memberships": editor(&["en"]),
            }),
        )
        .await;
    assert_eq!(narrowed(&reply), vec![child.id.clone()]);
    assert_eq!(
        access(&server, &child.token).await,
        held(&["my-blog:editor(language=en)"])
    );
    // A project admin cannot hand the child back what its owner lacks.
    let reply = server
        .mutate(
            &server.admin,
            UPDATE_PROJECT_MEMBER_NARROWED,
            json!({
                "projectSlug": "my-blog",
                "identityId": child.identity_id,
                "memberships": editor(&["cs", "en"]),
            }),
        )
        .await;
    refused(&reply, "FORBIDDEN");
}

/// Issue 17.2: an owner cannot undo an admin's disable of its personal key.
#[tokio::test]
async fn an_owner_cannot_enable_a_key_an_admin_disabled() {
    let server = TestServer::start().await;
    let owner = server.global_key("N", &[]).await;
    let personal = json!({ "visibility": PERSONAL });
    let child = server
        .global_key_with(&owner.token, "C", &[], personal)
        .await;
    let admin_id = server.me(&server.admin).await;

    // The owner disables and enables its own key freely.
    let id = json!({ "id": child.id });
    ok(&server
        .mutate(&owner.token, DISABLE_API_KEY_BY, id.clone())
        .await);
    ok(&server
        .mutate(&owner.token, ENABLE_API_KEY, id.clone())
        .await);

    let reply = server
        .mutate(&server.admin, DISABLE_API_KEY_BY, id.clone())
        .await;
    let key = &ok(&reply)["apiKey"];
    assert_eq!(key["disabledBy"], json!(admin_id));
    assert_eq!(key["disabledAs"], json!("SUPER_ADMIN"));
    let reply = server
        .mutate(&owner.token, ENABLE_API_KEY, id.clone())
        .await;
    refused(&reply, "DISABLED_BY_ADMIN");
    assert_eq!(
        server.status_of(&child.token).await,
        StatusCode::UNAUTHORIZED
    );
    // The listing says who disabled it.
    let listed = server
        .data(
            &owner.token,
            "query { apiKeys(filter: { includeDisabled: true }) { nodes { id disabledBy disabledAs } } }",
            json!({}),
        )
        .await;
    let row = listed["apiKeys"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == json!(child.id))
        .cloned()
        .expect("the child is listed to its owner");
    assert_eq!(row["disabledBy"], json!(admin_id));
    // The admin may enable it; then it is its owner's to manage again.
    ok(&server
        .mutate(&server.admin, ENABLE_API_KEY, id.clone())
        .await);
    assert_eq!(server.status_of(&child.token).await, StatusCode::OK);
    let reply = server.mutate(&owner.token, DISABLE_API_KEY_BY, id).await;
    assert_eq!(ok(&reply)["apiKey"]["disabledBy"], json!(owner.identity_id));
}

const REMOVE_GLOBAL_IDENTITY_ROLES_NARROWED: &str = "mutation($identityId: String!, $roles: [String!]!) { \
    removeGlobalIdentityRoles(identityId: $identityId, roles: $roles) { \
    ok error { code developerMessage } result { identity { id roles } narrowedKeys } } }";

const REMOVE_PROJECT_MEMBER_NARROWED: &str = "mutation($projectSlug: String!, $identityId: String!) { \
    removeProjectMember(projectSlug: $projectSlug, identityId: $identityId) { \
    ok error { code developerMessage } result { narrowedKeys } } }";

const UPDATE_PROJECT_MEMBER_NARROWED: &str = "mutation($projectSlug: String!, $identityId: String!, \
    $memberships: [MembershipInput!]!) { \
    updateProjectMember(projectSlug: $projectSlug, identityId: $identityId, \
    memberships: $memberships) { ok error { code developerMessage } result { narrowedKeys } } }";

const DISABLE_API_KEY_BY: &str = "mutation($id: String!) { disableApiKey(id: $id) { \
    ok error { code developerMessage } result { apiKey { id disabledBy disabledAs } } } }";

/// Revocation races: while a super admin takes a role from an owner and gives it back, over and
/// over, its personal child keeps minting grandchildren with the role and trying to hand the
/// role to its owner. Once the role is finally taken, nothing below the owner holds it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_racing_with_its_keys_leaves_nothing_behind() {
    let server = TestServer::start().await;
    let owner = server.global_key("owner", &["project_admin"]).await;
    let personal = json!({ "visibility": PERSONAL });
    let child = server
        .global_key_with(&owner.token, "child", &["project_admin"], personal.clone())
        .await;
    let role = json!({ "identityId": owner.identity_id, "roles": ["project_admin"] });
    let admin_side = async {
        for _ in 0..10 {
            server
                .mutate(&server.admin, REMOVE_GLOBAL_IDENTITY_ROLES, role.clone())
                .await;
            server
                .mutate(&server.admin, ADD_GLOBAL_IDENTITY_ROLES, role.clone())
                .await;
        }
        server
            .mutate(&server.admin, REMOVE_GLOBAL_IDENTITY_ROLES, role.clone())
            .await;
    };
    let child_side = async {
        for i in 0..20 {
            let vars = json!({
                "description": format!("grandchild {i}"),
                "roles": ["project_admin"],
                "options": personal,
            });
            // Refused or not, whichever way the race goes.
            let _ = server.gql(&child.token, CREATE_GLOBAL_API_KEY, vars).await;
            let reply = server
                .mutate(&child.token, ADD_GLOBAL_IDENTITY_ROLES, role.clone())
                .await;
            assert_eq!(reply["ok"], json!(false), "a key never grants above itself");
        }
    };
    futures::join!(admin_side, child_side);
    // Within the principal cache's bound, nothing below the owner holds the role.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let below = server
        .api_keys(&server.admin, json!({ "includeDisabled": true }))
        .await;
    for key in below["nodes"].as_array().unwrap() {
        let name = string(&key["description"]);
        if name == "child" || name.starts_with("grandchild") || name == "owner" {
            assert_eq!(key["identity"]["roles"], json!([]), "{name} kept the role");
        }
    }
    assert_eq!(access(&server, &child.token).await, held(&[]));
}
