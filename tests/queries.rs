//! No N+1: a page of keys with every field the TUI asks for costs a small constant number of
//! SQL statements, whatever the page size. Statements are counted from sqlx's own
//! `sqlx::query` trace events, with a global subscriber (hence a test binary of its own).
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::json;
use tracing::Subscriber;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::{Context, SubscriberExt};

use common::*;

/// Counts sqlx's statement events.
struct Statements(Arc<AtomicUsize>);

impl<S: Subscriber> Layer<S> for Statements {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if event.metadata().target() == "sqlx::query" {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// The statements the service runs to answer the TUI's page of `first` keys.
async fn statements_for_page(server: &TestServer, counter: &AtomicUsize, first: usize) -> usize {
    let body = json!({
        "query": include_str!("../graphql/keys.graphql"),
        "operationName": "ListKeys",
        "variables": { "first": first, "filter": { "includeDisabled": true } },
    });
    // Let the writes of earlier requests (last use) settle first.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let before = counter.load(Ordering::SeqCst);
    let (status, reply) = send(server.json_body(body.to_string())).await;
    let after = counter.load(Ordering::SeqCst);
    assert_eq!(status, 200);
    assert!(reply.get("errors").is_none(), "{reply:#}");
    let nodes = reply["data"]["apiKeys"]["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), first);
    assert!(nodes.iter().all(|n| n["identity"]["projects"].is_array()));
    after - before
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_of_keys_costs_a_constant_number_of_statements() {
    let counter = Arc::new(AtomicUsize::new(0));
    let subscriber = tracing_subscriber::registry()
        .with(Statements(counter.clone()).with_filter(LevelFilter::DEBUG));
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");

    let server = TestServer::start().await;
    server.blog().await;
    let creator = server.global_key("creator", &["super_admin"]).await;
    for i in 0..199 {
        server
            .create_project_key(
                &creator.token,
                json!({ "projectSlug": "my-blog", "description": format!("key {i}"),
                        "memberships": editor(&["cs"]) }),
            )
            .await;
    }
    let small = statements_for_page(&server, &counter, 10).await;
    let large = statements_for_page(&server, &counter, 200).await;
    println!("statements: {small} for 10 keys, {large} for 200 keys");
    assert!(large <= 15, "{large} statements for a page of 200");
    assert!(large <= small + 1, "{small} for 10 keys, {large} for 200");

    // `{ me { id roles } }` of an authenticated, cached caller asks nothing of the store (the
    // last-use flush may land in between: at most that one statement).
    let me = json!({ "query": "{ me { id roles } }" }).to_string();
    let (status, _) = send(server.json_body(me.clone())).await;
    assert_eq!(status, 200);
    let before = counter.load(Ordering::SeqCst);
    let (status, reply) = send(server.json_body(me)).await;
    let cached = counter.load(Ordering::SeqCst) - before;
    assert_eq!(status, 200);
    assert!(reply["data"]["me"]["roles"].is_array(), "{reply:#}");
    println!("statements: {cached} for a cached caller's me");
    assert!(
        cached <= 1,
        "{cached} statements for {{ me {{ id roles }} }}"
    );
}
