//! The gate bounds a document before validation, and audits only documents that passed it;
//! what it does audit is capped.

use serde_json::{Value, json};

use crate::common::*;

/// How many entries the audit log holds.
async fn audit_entries(server: &TestServer) -> i64 {
    let data = server
        .data(&server.admin, "{ auditLog { totalCount } }", json!({}))
        .await;
    data["auditLog"]["totalCount"].as_i64().unwrap()
}

/// A global key with no roles and these permissions, created by the super admin.
async fn key_allowed(server: &TestServer, name: &str, permissions: &[&str]) -> Key {
    server
        .global_key_with(
            &server.admin,
            name,
            &[],
            json!({ "permissions": permissions }),
        )
        .await
}

const NEWEST_AUDIT: &str =
    "{ auditLog(first: 1) { nodes { action target outcome detail actorId } } }";

async fn newest_audit(server: &TestServer) -> Value {
    server.data(&server.admin, NEWEST_AUDIT, json!({})).await["auditLog"]["nodes"][0].clone()
}

#[tokio::test]
async fn a_request_runs_at_most_twenty_mutations() {
    let server = TestServer::start().await;
    let writer = key_allowed(&server, "writer", &["READ", "WRITE"]).await;
    let before = audit_entries(&server).await;
    let fields = |n: usize| -> String {
        let aliases: Vec<String> = (0..n)
            .map(|i| format!("d{i}: disableApiKey(id: $id) {{ ok }}"))
            .collect();
        format!("mutation($id: String!) {{ {} }}", aliases.join(" "))
    };
    let (_, body) = server
        .gql(&writer.token, &fields(21), json!({ "id": "x" }))
        .await;
    assert_eq!(first_error_code(&body), "BAD_REQUEST", "{body}");
    assert!(string(&body["errors"][0]["message"]).contains("at most 20"));
    assert_eq!(
        audit_entries(&server).await,
        before,
        "nothing ran, nothing audited"
    );
    let data = server
        .data(&writer.token, &fields(20), json!({ "id": "x" }))
        .await;
    assert_eq!(data.as_object().unwrap().len(), 20);
    // Twenty refusals of one action to one actor: one counted row (two across a minute).
    let added = audit_entries(&server).await - before;
    assert!((1..=2).contains(&added), "{added} rows");
}

#[tokio::test]
async fn an_invalid_document_is_refused_before_anything_is_audited() {
    let server = TestServer::start().await;
    let reader = key_allowed(&server, "reader", &["READ"]).await;
    let before = audit_entries(&server).await;
    // 900,000 characters of field name: refused before any parsing, as too long a query.
    let unknown = "f".repeat(900_000);
    let (status, body) = server
        .gql(
            &reader.token,
            &format!("mutation {{ {unknown} }}"),
            json!({}),
        )
        .await;
    assert_eq!(status, 413, "{}", &body.to_string()[..200]);
    // 60,000: parsed, and refused by validation.
    let unknown = "f".repeat(60_000);
    let (_, body) = server
        .gql(
            &reader.token,
            &format!("mutation {{ {unknown} }}"),
            json!({}),
        )
        .await;
    assert_eq!(
        first_error_code(&body),
        "GRAPHQL_VALIDATION_FAILED",
        "{}",
        &body.to_string()[..300]
    );
    assert_eq!(audit_entries(&server).await, before);
    // A valid mutation from the same read-only key is refused and audited, by its name.
    let (_, body) = server
        .gql(
            &reader.token,
            "mutation { disableApiKey(id: \"x\") { ok } }",
            json!({}),
        )
        .await;
    assert_eq!(first_error_code(&body), "FORBIDDEN");
    let entry = newest_audit(&server).await;
    assert_eq!(entry["action"], "disableApiKey");
    assert_eq!(entry["outcome"], "FORBIDDEN");
}

#[tokio::test]
async fn audit_targets_and_details_are_capped() {
    let server = TestServer::start().await;
    let writer = server.global_key("writer", &[]).await;
    let huge_id = "i".repeat(100_000);
    let reply = server
        .mutate(&writer.token, DISABLE_API_KEY, json!({ "id": huge_id }))
        .await;
    refused(&reply, "KEY_NOT_FOUND");
    assert!(
        string(&reply["error"]["developerMessage"]).len() < 200,
        "a refusal does not echo the request back: {reply}"
    );
    let entry = newest_audit(&server).await;
    let target = string(&entry["target"]);
    assert!(target.len() <= 256, "{}", target.len());
    assert!(target.ends_with("…[cut]"), "{target}");
    // A detail (the refusal's message) is capped as well.
    let long_slug = "s".repeat(10_000);
    let reply = server
        .mutate(
            &server.admin,
            CREATE_PROJECT,
            json!({ "slug": long_slug, "name": "x", "roles": [] }),
        )
        .await;
    refused(&reply, "INVALID_SLUG");
    let entry = newest_audit(&server).await;
    assert!(string(&entry["target"]).len() <= 256);
    assert!(entry["detail"].as_str().is_none_or(|d| d.len() <= 2048));
}

#[tokio::test]
async fn fragment_bombs_and_cycles_are_refused_before_validation() {
    let server = TestServer::start().await;
    // Each fragment spreads the one below twice: 2^30 fields once expanded, in 1 KB.
    let mut document = String::from("query { ...F0 }\nfragment F30 on QueryRoot { me { id } }\n");
    for i in 0..30 {
        document.push_str(&format!(
            "fragment F{i} on QueryRoot {{ ...F{n} ...F{n} }}\n",
            n = i + 1
        ));
    }
    let (_, body) = server.gql(&server.admin, &document, json!({})).await;
    assert_eq!(first_error_code(&body), "BAD_REQUEST", "{body}");
    assert!(
        string(&body["errors"][0]["message"]).contains("expanded"),
        "{body}"
    );
    // The same bomb under an operation name the document does not have, by a key that may
    // only read: refused at once, before anything expands it (async-graphql's own recursion
    // check would walk all 2^30 spreads).
    let reader = key_allowed(&server, "reader", &["READ"]).await;
    for document in [
        document.clone(),
        document.replacen("query {", "query Bomb {", 1),
    ] {
        let body = json!({ "query": document, "operationName": "nope" });
        let request = server
            .post()
            .bearer_auth(&reader.token)
            .json(&body)
            .timeout(std::time::Duration::from_secs(20));
        let (_, body) = send(request).await;
        assert_eq!(first_error_code(&body), "BAD_REQUEST", "{body}");
        assert!(
            string(&body["errors"][0]["message"]).contains("no operation named `nope`"),
            "{body}"
        );
    }

    let cycle = "query { ...A } fragment A on QueryRoot { ...B } fragment B on QueryRoot { ...A }";
    let (_, body) = server.gql(&server.admin, cycle, json!({})).await;
    assert_eq!(first_error_code(&body), "BAD_REQUEST", "{body}");
    assert!(
        string(&body["errors"][0]["message"]).contains("spreads itself"),
        "{body}"
    );

    // Deeper chains of fragments are refused by the parser's own recursion limit.
    let mut document = String::from("query { ...F0 }\nfragment F40 on QueryRoot { me { id } }\n");
    for i in 0..40 {
        document.push_str(&format!(
            "fragment F{i} on QueryRoot {{ ...F{n} }}\n",
            n = i + 1
        ));
    }
    let (_, body) = server.gql(&server.admin, &document, json!({})).await;
    assert_eq!(first_error_code(&body), "GRAPHQL_PARSE_FAILED", "{body}");
}

/// Documents are parsed once and kept (with their validation, when sent without variables),
/// but every verdict that depends on the key or the variables is taken again each time.
#[tokio::test]
async fn a_kept_document_is_still_judged_per_key_and_per_variables() {
    let server = TestServer::start().await;
    let writer = key_allowed(&server, "writer", &["WRITE"]).await;
    let me = "{ me { id roles } }";
    for _ in 0..3 {
        assert_eq!(
            server.error_code(&writer.token, me, json!({})).await,
            "FORBIDDEN"
        );
        let data = server.data(&server.admin, me, json!({})).await;
        assert_eq!(data["me"]["roles"], json!(["super_admin"]));
    }
    // An invalid document is refused every time, not remembered as valid.
    for _ in 0..2 {
        assert_eq!(
            server
                .error_code(&server.admin, "{ me { nope } }", json!({}))
                .await,
            "GRAPHQL_VALIDATION_FAILED"
        );
    }
    // The same document with other variables is validated again: a page within the limits
    // first, then one over them, then the first again.
    let page = "query($n: Int) { apiKeys(first: $n) { nodes { id } } }";
    for (n, refused) in [(10, false), (1_000_000, true), (10, false)] {
        let (_, body) = server.gql(&server.admin, page, json!({ "n": n })).await;
        assert_eq!(body.get("errors").is_some(), refused, "first: {n}: {body}");
    }
    let wrong_type = server
        .error_code(&server.admin, page, json!({ "n": "ten" }))
        .await;
    assert_eq!(wrong_type, "GRAPHQL_VALIDATION_FAILED");
}

/// Issue 17.5: NUL in any string argument, literal or variable, is `BAD_USER_INPUT` before the
/// store is touched (no raw database error, on either store), and a refused mutation is
/// audited like any refusal.
#[tokio::test]
async fn nul_in_a_string_argument_is_bad_user_input_before_the_store() {
    let server = TestServer::start().await;
    let before = audit_entries(&server).await;
    let asks = [
        (
            r#"{ apiKeys(filter: { search: "a\u0000b" }) { totalCount } }"#,
            json!({}),
        ),
        (
            "query($f: ApiKeyFilter) { apiKeys(filter: $f) { totalCount } }",
            json!({ "f": { "search": "a\u{0}b" } }),
        ),
        (
            "query($s: String!) { projectBySlug(slug: $s) { id } }",
            json!({ "s": "x\u{0}" }),
        ),
        (
            "query($f: IdentityFilter) { identities(filter: $f) { totalCount } }",
            json!({ "f": { "idPrefix": "\u{0}" } }),
        ),
    ];
    for (query, variables) in asks {
        let (status, body) = server.gql(&server.admin, query, variables).await;
        assert_eq!(status, 200, "{body:#}");
        assert_eq!(
            first_error_code(&body),
            "BAD_USER_INPUT",
            "{query}: {body:#}"
        );
        let text = body.to_string();
        assert!(!text.contains("database"), "{text}");
    }
    assert_eq!(
        audit_entries(&server).await,
        before,
        "queries are not audited"
    );
    let code = server
        .error_code(
            &server.admin,
            CREATE_GLOBAL_API_KEY,
            json!({ "description": "nul\u{0}name" }),
        )
        .await;
    assert_eq!(code, "BAD_USER_INPUT");
    let row = newest_audit(&server).await;
    assert_eq!(row["action"], json!("createGlobalApiKey"));
    assert_eq!(row["outcome"], json!("BAD_USER_INPUT"));
    let keys = server.api_keys(&server.admin, json!({})).await;
    assert_eq!(keys["totalCount"], json!(1), "only the bootstrap key");
    // The same document twice: the second time the gate has kept it, and refuses it again.
    for _ in 0..2 {
        let code = server
            .error_code(
                &server.admin,
                r#"mutation { createGlobalApiKey(description: "x\u0000") { ok } }"#,
                json!({}),
            )
            .await;
        assert_eq!(code, "BAD_USER_INPUT");
    }
}

/// Issue 17.8: a key refused over and over adds one counted audit row per action and outcome
/// a minute, not a row per refusal.
#[tokio::test]
async fn refusals_are_counted_on_one_audit_row_a_minute() {
    let server = TestServer::start().await;
    let nobody = key_allowed(&server, "no roles", &["READ", "WRITE"]).await;
    let before = audit_entries(&server).await;
    let aliases: Vec<String> = (0..20)
        .map(|i| format!("p{i}: createProject(slug: \"p{i}\", name: \"P\", roles: []) {{ ok }}"))
        .collect();
    let mutation = format!("mutation {{ {} }}", aliases.join(" "));
    for _ in 0..3 {
        let data = server.data(&nobody.token, &mutation, json!({})).await;
        assert_eq!(data["p0"]["ok"], json!(false));
    }
    let after = audit_entries(&server).await;
    // Two rows at most: the minute may turn between the requests.
    assert!(
        (1..=2).contains(&(after - before)),
        "60 refusals added {} rows",
        after - before
    );
    let rows = server
        .data(
            &server.admin,
            "{ auditLog(first: 2) { nodes { action outcome count actorId } } }",
            json!({}),
        )
        .await;
    let counted: i64 = rows["auditLog"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .take(usize::try_from(after - before).unwrap())
        .inspect(|row| {
            assert_eq!(row["action"], json!("createProject"));
            assert_eq!(row["outcome"], json!("FORBIDDEN"));
        })
        .map(|row| row["count"].as_i64().unwrap())
        .sum();
    assert_eq!(counted, 60, "{rows:#}");
}
