//! Every relation obeys the rule of the listing it leads to, and a key without READ learns
//! nothing from a mutation's reply. One test per relation field.

use serde_json::{Value, json};

use crate::common::*;

/// `apiKeys` nodes as `token` sees them, with `selection`.
async fn nodes(server: &TestServer, token: &str, selection: &str) -> Vec<Value> {
    let query = format!("{{ apiKeys(first: 500) {{ nodes {{ id {selection} }} }} }}");
    let data = server.data(token, &query, json!({})).await;
    data["apiKeys"]["nodes"].as_array().unwrap().clone()
}

fn node<'a>(nodes: &'a [Value], id: &str) -> &'a Value {
    nodes
        .iter()
        .find(|n| n["id"] == json!(id))
        .unwrap_or_else(|| panic!("{id} is not listed: {nodes:?}"))
}

/// A key with no roles, and the bootstrap key's id.
async fn nobody(server: &TestServer) -> (Key, String) {
    let nobody = server.global_key("nobody", &[]).await;
    let keys = server.api_keys(&server.admin, json!({})).await;
    (nobody, string(&keys["nodes"][0]["id"]))
}

#[tokio::test]
async fn api_key_identity_is_shown_where_the_identity_is() {
    let server = TestServer::start().await;
    let (nobody, bootstrap) = nobody(&server).await;
    let seen = nodes(&server, &nobody.token, "identity { id roles }").await;
    assert_eq!(
        node(&seen, &bootstrap)["identity"],
        Value::Null,
        "no super_admin to see"
    );
    assert_eq!(
        node(&seen, &nobody.id)["identity"]["id"],
        json!(nobody.identity_id)
    );
    // The creator of a key sees what it granted.
    let child = server
        .global_key_with(
            &nobody.token,
            "child",
            &[],
            json!({ "visibility": "PERSONAL" }),
        )
        .await;
    let seen = nodes(&server, &nobody.token, "identity { id }").await;
    assert_eq!(
        node(&seen, &child.id)["identity"]["id"],
        json!(child.identity_id)
    );
    // Admins see them all.
    let seen = nodes(&server, &server.admin, "identity { roles }").await;
    assert_eq!(
        node(&seen, &bootstrap)["identity"]["roles"],
        json!(["super_admin"])
    );
}

#[tokio::test]
async fn api_key_owner_is_shown_where_the_identity_is() {
    let server = TestServer::start().await;
    let (nobody, _) = nobody(&server).await;
    let seen = nodes(&server, &nobody.token, "owner { id roles }").await;
    assert_eq!(
        node(&seen, &nobody.id)["owner"],
        Value::Null,
        "its owner is the super admin"
    );
    let seen = nodes(&server, &server.admin, "owner { id }").await;
    assert!(node(&seen, &nobody.id)["owner"]["id"].is_string());
}

#[tokio::test]
async fn api_key_project_is_shown_to_members_and_admins_only() {
    let server = TestServer::start().await;
    server.blog().await;
    let blog_key = server
        .project_key("my-blog", "blog key", editor(&["cs"]))
        .await;
    let (nobody, _) = nobody(&server).await;
    let selection = "project { name roles { name } apiKeys { description } }";
    let seen = nodes(&server, &nobody.token, selection).await;
    assert_eq!(node(&seen, &blog_key.id)["project"], Value::Null);
    let seen = nodes(&server, &blog_key.token, "project { slug }").await;
    assert_eq!(node(&seen, &blog_key.id)["project"]["slug"], "my-blog");
    assert_eq!(
        server
            .data(&nobody.token, "{ projects { slug } }", json!({}))
            .await["projects"],
        json!([])
    );
}

#[tokio::test]
async fn identity_projects_shows_other_members_only_to_the_projects_admins() {
    let server = TestServer::start().await;
    server.blog().await;
    server.project("shop", json!([{ "name": "support" }])).await;
    let editor_key = server
        .project_key(
            "my-blog",
            "blog admin",
            json!([{ "role": "admin", "variables": [] }]),
        )
        .await;
    let colleague = server
        .project_key("my-blog", "colleague", editor(&["en"]))
        .await;
    // An org-wide key the blog's admin made, which then also gets a membership in `shop` (a
    // personal key could not: it never holds more than its owner).
    let own = server
        .create_project_key(
            &editor_key.token,
            json!({ "projectSlug": "my-blog", "description": "mine",
                    "memberships": editor(&["cs"]), "options": { "visibility": "ORG_WIDE" } }),
        )
        .await;
    let own = Key::from_reply(&own);
    ok(&server
        .mutate(
            &server.admin,
            ADD_PROJECT_MEMBER,
            json!({ "projectSlug": "shop", "identityId": own.identity_id,
                    "memberships": [{ "role": "support", "variables": [] }] }),
        )
        .await);
    let selection = "identity { projects { project { slug } memberships { role } } }";
    let seen = nodes(&server, &editor_key.token, selection).await;
    assert_eq!(node(&seen, &colleague.id)["identity"], Value::Null);
    let projects = &node(&seen, &own.id)["identity"]["projects"];
    assert_eq!(
        projects,
        &json!([{ "project": { "slug": "my-blog" }, "memberships": [{ "role": "editor" }] }]),
        "the key it made, in the project it sees; not shop"
    );
    let seen = nodes(&server, &server.admin, selection).await;
    assert_eq!(
        node(&seen, &own.id)["identity"]["projects"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn without_read_a_mutation_reply_carries_only_ok_error_and_ids() {
    let server = TestServer::start().await;
    server.blog().await;
    let blog_admin = server
        .create_project_key(
            &server.admin,
            json!({ "projectSlug": "my-blog", "description": "write-only blog admin",
                    "memberships": [{ "role": "admin", "variables": [] }],
                    "options": { "permissions": ["WRITE"] } }),
        )
        .await;
    let writer = Key::from_reply(&blog_admin);
    let target = server
        .project_key("my-blog", "target", editor(&["cs"]))
        .await;
    let reads = "mutation($id: String!) { enableApiKey(id: $id) { ok result { apiKey { \
                 id description identity { projects { project { members { identity { id } } apiKeys { description } } } } } } } }";
    let (_, body) = server
        .gql(&writer.token, reads, json!({ "id": target.id }))
        .await;
    assert_eq!(first_error_code(&body), "FORBIDDEN", "{body}");
    assert!(
        string(&body["errors"][0]["message"]).contains("description"),
        "{body}"
    );
    let ids = "mutation($id: String!) { enableApiKey(id: $id) { ok error { code developerMessage } \
               result { apiKey { id identity { id } } alsoDisabled } } }";
    let data = server
        .data(&writer.token, ids, json!({ "id": target.id }))
        .await;
    assert_eq!(
        data["enableApiKey"]["result"]["apiKey"]["id"],
        json!(target.id)
    );
}

/// Issue 17.7: a project the caller cannot see answers every field, filter and error exactly
/// as a project that does not exist.
#[tokio::test]
async fn a_hidden_project_answers_as_a_missing_one() {
    let server = TestServer::start().await;
    server.project("beta", blog_roles()).await;
    let org_wide = server
        .project_key(
            "beta",
            "beta deploy",
            json!([{ "role": "viewer", "variables": [] }]),
        )
        .await;
    // Not a member of beta; a project_admin would see every project.
    let outsider = server.global_key("outsider", &["monitor"]).await;
    let viewer = json!([{ "role": "viewer", "variables": [] }]);
    let asks: Vec<(&str, Value)> = vec![
        (
            "query($s: String!) { projectBySlug(slug: $s) { id } }",
            json!({}),
        ),
        (
            "query($s: String!) { apiKeys(filter: { projectSlug: $s, includeDisabled: true, \
             includeExpired: true }) { totalCount pageInfo { hasNextPage } nodes { id } } }",
            json!({}),
        ),
        ("query { projects { slug } }", json!({})),
        (
            "mutation($s: String!, $m: [MembershipInput!]!) { createApiKey(projectSlug: $s, \
             memberships: $m, description: \"x\", options: { visibility: PERSONAL }) \
             { ok error { code developerMessage } } }",
            json!({ "m": viewer }),
        ),
        (
            "mutation($s: String!, $i: String!, $m: [MembershipInput!]!) { \
             addProjectMember(projectSlug: $s, identityId: $i, memberships: $m) \
             { ok error { code developerMessage } } }",
            json!({ "i": outsider.identity_id, "m": viewer }),
        ),
        (
            "mutation($s: String!, $i: String!, $m: [MembershipInput!]!) { \
             updateProjectMember(projectSlug: $s, identityId: $i, memberships: $m) \
             { ok error { code developerMessage } } }",
            json!({ "i": outsider.identity_id, "m": viewer }),
        ),
        (
            "mutation($s: String!, $i: String!) { \
             removeProjectMember(projectSlug: $s, identityId: $i) \
             { ok error { code developerMessage } } }",
            json!({ "i": outsider.identity_id }),
        ),
    ];
    for (query, variables) in asks {
        let answer = |slug: &'static str| {
            let mut variables = variables.clone();
            if query.contains("$s") {
                variables["s"] = json!(slug);
            }
            let server = &server;
            let token = outsider.token.clone();
            async move {
                let (status, body) = server.gql(&token, query, variables).await;
                (status, body.to_string().replace(slug, "SLUG"))
            }
        };
        assert_eq!(answer("beta").await, answer("nope").await, "{query}");
    }
    // The org-wide key of the hidden project is listed (org-wide keys are visible to every
    // key), but its project is not.
    let seen = nodes(&server, &outsider.token, "project { slug }").await;
    assert_eq!(node(&seen, &org_wide.id)["project"], Value::Null);
}
