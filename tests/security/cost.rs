//! Lists cost their page size times their items; a query over the budget is refused before
//! it runs; every list is paged or capped.

use serde_json::json;

use crate::common::*;

/// The keys of the `my-blog` project, created by the super admin.
async fn blog_keys(server: &TestServer, n: usize) {
    server.blog().await;
    for i in 0..n {
        server
            .project_key("my-blog", &format!("blog key {i}"), editor(&["cs"]))
            .await;
    }
}

#[tokio::test]
async fn the_nested_project_keys_bomb_is_refused_before_it_runs() {
    let server = TestServer::start().await;
    blog_keys(&server, 30).await;
    // 116 bytes that took 22 s and 451 MiB before: lists inside lists inside lists.
    let bomb = "{apiKeys(first:500,filter:{type:PROJECT}){nodes{project{apiKeys{project{apiKeys{project{apiKeys{description}}}}}}}}}";
    let (status, body) = server.gql(&server.admin, bomb, json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(first_error_code(&body), "QUERY_TOO_COSTLY", "{body}");
    assert!(body["data"].is_null(), "nothing ran: {body}");
    assert!(
        string(&body["errors"][0]["message"]).contains("60000"),
        "{body}"
    );
}

#[tokio::test]
async fn aliases_count_each() {
    let server = TestServer::start().await;
    let alias = |i: usize, selection: &str| {
        format!("a{i}: apiKeys(first: 500) {{ nodes {{ {selection} }} }}")
    };
    let document = |n: usize, selection: &str| {
        let aliases: Vec<String> = (0..n).map(|i| alias(i, selection)).collect();
        format!("{{ {} }}", aliases.join(" "))
    };
    // The flood that took 76 s and 4.1 GiB before.
    let (_, body) = server
        .gql(
            &server.admin,
            &document(1250, "identity { roles }"),
            json!({}),
        )
        .await;
    assert_eq!(first_error_code(&body), "BAD_REQUEST", "{body}");
    // Ten full pages of keys with their identities' memberships cost too much together…
    let rich = "identity { roles projects { project { slug } } } owner { roles }";
    let (_, body) = server
        .gql(&server.admin, &document(10, rich), json!({}))
        .await;
    assert_eq!(first_error_code(&body), "QUERY_TOO_COSTLY", "{body}");
    // …and a few pages are a fair request.
    server
        .data(&server.admin, &document(5, "identity { roles }"), json!({}))
        .await;
}

#[tokio::test]
async fn one_item_pages_cannot_scan_the_store_thousands_of_times() {
    let server = TestServer::start().await;
    let scan =
        |i: usize| format!("s{i}: apiKeys(first: 1, filter: {{search: \"x\"}}) {{ totalCount }}");
    let flood: Vec<String> = (0..11).map(scan).collect();
    let (_, body) = server
        .gql(
            &server.admin,
            &format!("{{ {} }}", flood.join(" ")),
            json!({}),
        )
        .await;
    assert_eq!(first_error_code(&body), "BAD_REQUEST", "{body}");
    assert!(
        string(&body["errors"][0]["message"]).contains("at most 10 listings"),
        "{body}"
    );
    let ten: Vec<String> = (0..10).map(scan).collect();
    server
        .data(
            &server.admin,
            &format!("{{ {} }}", ten.join(" ")),
            json!({}),
        )
        .await;
}

#[tokio::test]
async fn the_clients_own_pages_fit_the_budget() {
    let server = TestServer::start().await;
    blog_keys(&server, 3).await;
    // The very document the TUI and CLI send, with the largest page.
    let document = include_str!("../../graphql/keys.graphql");
    let body = json!({
        "query": document,
        "operationName": "ListKeys",
        "variables": { "first": 500, "filter": { "includeDisabled": true } },
    });
    let (status, reply) = send(server.json_body(body.to_string())).await;
    assert_eq!(status, 200);
    assert!(reply.get("errors").is_none(), "{reply:#}");
    assert_eq!(reply["data"]["apiKeys"]["totalCount"], 4);
}

#[tokio::test]
async fn relation_lists_are_paged() {
    let server = TestServer::start().await;
    blog_keys(&server, 60).await;
    let count = |first: &str| {
        format!(
            "{{ projectBySlug(slug: \"my-blog\") {{ apiKeys{first} {{ id }} members{first} {{ identity {{ id }} }} }} }}"
        )
    };
    let data = server.data(&server.admin, &count(""), json!({})).await;
    assert_eq!(
        data["projectBySlug"]["apiKeys"].as_array().unwrap().len(),
        50
    );
    assert_eq!(
        data["projectBySlug"]["members"].as_array().unwrap().len(),
        60
    );
    let data = server
        .data(&server.admin, &count("(first: 7)"), json!({}))
        .await;
    assert_eq!(
        data["projectBySlug"]["apiKeys"].as_array().unwrap().len(),
        7
    );
    assert_eq!(
        data["projectBySlug"]["members"].as_array().unwrap().len(),
        7
    );
    let (_, body) = server
        .gql(&server.admin, &count("(first: 501)"), json!({}))
        .await;
    assert_eq!(first_error_code(&body), "BAD_USER_INPUT", "{body}");
    let projects = server
        .data(&server.admin, "{ projects(first: 1) { slug } }", json!({}))
        .await;
    assert_eq!(projects["projects"], json!([{ "slug": "my-blog" }]));
}

#[tokio::test]
async fn only_the_operation_that_runs_is_priced() {
    let server = TestServer::start().await;
    // An operation of the document that does not run, over budget, does not count…
    let document = "query Cheap { me { id } } \
                    query Dear { a: apiKeys(first: 500) { nodes { identity { projects { project { members { identity { id } } } } } } } }";
    let body = json!({ "query": document, "operationName": "Cheap" });
    let (_, reply) = send(server.json_body(body.to_string())).await;
    assert!(reply.get("errors").is_none(), "{reply:#}");
    // …until it is the one that runs.
    let body = json!({ "query": document, "operationName": "Dear" });
    let (_, reply) = send(server.json_body(body.to_string())).await;
    assert_eq!(first_error_code(&reply), "QUERY_TOO_COSTLY", "{reply:#}");
}

#[tokio::test]
async fn statement_texts_cost_their_size() {
    // Priced before anything runs: an unreachable database is enough here.
    let unreachable = "postgres://keydeck@127.0.0.1:1/never_connected".to_owned();
    let server = TestServer::monitoring(vec![("app".into(), unreachable)]).await;
    let monitor = server.global_key("monitor", &["monitor"]).await;
    let texts = |n: usize| {
        let aliases: Vec<String> = (0..n)
            .map(|i| format!("a{i}: getQueryStats(databaseId: 1) {{ id normalizedQuery }}"))
            .collect();
        format!("{{ {} }}", aliases.join(" "))
    };
    // The request that answered 345 MB in 4.8 s, and anything past two answers' texts.
    for n in [10, 3] {
        let (_, body) = server.gql(&monitor.token, &texts(n), json!({})).await;
        assert_eq!(first_error_code(&body), "QUERY_TOO_COSTLY", "{n}: {body}");
        assert!(body["data"].is_null(), "nothing ran: {body}");
    }
    // Two answers' texts (8 MiB each at most) run, as does the TUI's own document; the
    // unreachable database is what they are told.
    let (_, body) = server.gql(&monitor.token, &texts(2), json!({})).await;
    assert_eq!(first_error_code(&body), "DATABASE_UNAVAILABLE", "{body}");
    let document = json!({
        "query": include_str!("../../graphql/stats.graphql"),
        "operationName": "QueryStats",
        "variables": { "databaseId": "1" },
    });
    let request = server
        .post()
        .header("Authorization", format!("Bearer {}", monitor.token))
        .header("Content-Type", "application/json")
        .body(document.to_string());
    let (status, reply) = send(request).await;
    assert_eq!(status, 200);
    assert_eq!(first_error_code(&reply), "DATABASE_UNAVAILABLE", "{reply}");
}
