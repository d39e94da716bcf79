//! The client side of the contract through the real `ApiClient`, against the real service
//! over loopback; and against things that are not our service (down, answering garbage).
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

mod common;

use common::TestServer;

use keydeck::api::{ApiClient, ApiError, AuthScheme, KeyQuery, KeyScope, MembershipSpec, NewKey};
use keydeck::token;

/// The service and an admin client for it.
struct Service {
    client: ApiClient,
    url: String,
    server: TestServer,
}

async fn service() -> Service {
    let server = TestServer::start().await;
    let url = server.graphql_url();
    let client = ApiClient::new(&url, AuthScheme::Bearer, &server.admin).unwrap();
    Service {
        client,
        url,
        server,
    }
}

fn new_key(name: &str, scope: KeyScope) -> NewKey {
    NewKey {
        name: name.into(),
        scope,
        ttl: Some("1d".into()),
        read: true,
        write: false,
        personal: false,
        token_hash: None,
    }
}

#[tokio::test]
async fn create_list_disable_enable_through_the_client() {
    let s = service().await;
    let me = s.client.me().await.unwrap();
    assert_eq!(me.description, "bootstrap admin");
    s.client
        .create_project("my-blog", "Blog", &[("editor", &["language"])])
        .await
        .unwrap();
    let global = s
        .client
        .create_key(&new_key(
            "reader",
            KeyScope::Global {
                roles: vec!["monitor".into()],
            },
        ))
        .await
        .unwrap();
    let token = global.token.clone().unwrap();
    token::verify_format(&token).unwrap();
    let memberships = vec![MembershipSpec::parse("editor:language=cs").unwrap()];
    s.client
        .create_key(&new_key(
            "editor",
            KeyScope::Project {
                slug: "my-blog".into(),
                memberships,
            },
        ))
        .await
        .unwrap();

    let page = s
        .client
        .list_keys(&KeyQuery {
            first: 2,
            ..KeyQuery::default()
        })
        .await
        .unwrap();
    assert_eq!((page.items.len(), page.total, page.has_next), (2, 3, true));
    let rest = s
        .client
        .list_keys(&KeyQuery {
            first: 2,
            after: page.end_cursor,
            ..KeyQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(rest.items[0].description, "editor");
    assert_eq!(
        rest.items[0].identity.as_ref().unwrap().projects[0].memberships[0].variables[0].values,
        ["cs"]
    );

    s.client.set_key_enabled(&global.id, false).await.unwrap();
    let enabled = s
        .client
        .list_keys(&KeyQuery {
            first: 50,
            ..KeyQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(enabled.total, 2);
    let all = s
        .client
        .list_keys(&KeyQuery {
            first: 50,
            all: true,
            ..KeyQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(all.total, 3);
    // The disabled key's own token no longer works.
    let as_reader = ApiClient::new(&s.url, AuthScheme::Token, &token).unwrap();
    assert!(matches!(
        as_reader.me().await,
        Err(ApiError::Unauthorized(_))
    ));
    s.client.set_key_enabled(&global.id, true).await.unwrap();
    assert_eq!(as_reader.me().await.unwrap().roles, ["monitor"]);
}

#[tokio::test]
async fn a_locally_generated_token_never_crosses_the_network_and_works() {
    let s = service().await;
    let local = token::generate().unwrap();
    let created = s
        .client
        .create_key(&NewKey {
            token_hash: Some(token::hash(&local)),
            ..new_key("local", KeyScope::Global { roles: vec![] })
        })
        .await
        .unwrap();
    assert_eq!(created.token, None);
    let client = ApiClient::new(&s.url, AuthScheme::Bearer, &local).unwrap();
    assert_eq!(client.me().await.unwrap().description, "local");
}

#[tokio::test]
async fn refusals_carry_their_code_and_membership_details() {
    let s = service().await;
    s.client
        .create_project("my-blog", "Blog", &[("editor", &["language"])])
        .await
        .unwrap();
    let bad = NewKey {
        ttl: Some("90d".into()),
        ..new_key("x", KeyScope::Global { roles: vec![] })
    };
    let err = s.client.create_key(&bad).await.unwrap_err();
    assert_eq!(err.code(), Some("INVALID_TTL"));
    assert!(err.to_string().contains("maximum of 30d"), "{err}");
    let memberships = vec![MembershipSpec::parse("editor").unwrap()];
    let err = s
        .client
        .create_key(&new_key(
            "y",
            KeyScope::Project {
                slug: "my-blog".into(),
                memberships,
            },
        ))
        .await
        .unwrap_err();
    let ApiError::Refused(refusal) = err else {
        panic!("expected a refusal")
    };
    assert_eq!(refusal.code, "INVALID_MEMBERSHIP");
    assert_eq!(
        refusal.memberships,
        [(
            "VARIABLE_EMPTY".to_string(),
            "editor".to_string(),
            Some("language".to_string())
        )]
    );
    let err = s
        .client
        .set_key_enabled("missing", false)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("KEY_NOT_FOUND"));
    let err = s.client.query_stats("1", None).await.unwrap_err();
    assert_eq!(err.code(), Some("DATABASE_NOT_FOUND"));
}

#[tokio::test]
async fn a_wrong_token_a_dead_service_and_garbage_get_clear_errors() {
    let s = service().await;
    let wrong = ApiClient::new(&s.url, AuthScheme::Bearer, "kd_wrong").unwrap();
    let err = wrong.me().await.unwrap_err();
    assert!(matches!(err, ApiError::Unauthorized(_)), "{err:?}");
    assert!(!err.is_transient());

    let dead = ApiClient::new("http://127.0.0.1:9/graphql", AuthScheme::Bearer, "t").unwrap();
    let err = dead.me().await.unwrap_err();
    assert!(
        matches!(err, ApiError::Network { .. }) && err.is_transient(),
        "{err:?}"
    );

    // Something listening that is not a GraphQL service.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new()
        .route(
            "/html",
            axum::routing::post(|| async { "<html>hello</html>" }),
        )
        .route(
            "/boom",
            axum::routing::post(|| async {
                (axum::http::StatusCode::BAD_GATEWAY, "upstream down")
            }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await });
    let html = ApiClient::new(&format!("http://{addr}/html"), AuthScheme::Bearer, "t").unwrap();
    assert!(matches!(html.me().await, Err(ApiError::Garbage(_))));
    let boom = ApiClient::new(&format!("http://{addr}/boom"), AuthScheme::Bearer, "t").unwrap();
    let err = boom.me().await.unwrap_err();
    assert!(
        matches!(err, ApiError::Http { status: 502, .. }) && err.is_transient(),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_redirect_is_reported_and_never_followed() {
    let s = service().await;
    // A server that answers every operation with a redirect to the real service.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let target = s.url.clone();
    let app = axum::Router::new().route(
        "/graphql",
        axum::routing::post(move || async move { axum::response::Redirect::temporary(&target) }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    let admin = s.server.admin.clone();
    let moved = ApiClient::new(
        &format!("http://{addr}/graphql"),
        AuthScheme::Bearer,
        &admin,
    )
    .unwrap();
    let err = moved.me().await.unwrap_err();
    assert!(matches!(err, ApiError::Http { status: 307, .. }), "{err:?}");
    assert!(err.to_string().contains("307"), "{err}");
    // The redirect's target answers: the error above is the refusal to follow it.
    assert!(s.client.me().await.is_ok());
}

#[tokio::test]
async fn disabling_answers_the_personal_keys_disabled_with_it() {
    let s = service().await;
    let parent = s
        .client
        .create_key(&NewKey {
            write: true,
            ..new_key("parent", KeyScope::Global { roles: vec![] })
        })
        .await
        .unwrap();
    let parent_client =
        ApiClient::new(&s.url, AuthScheme::Bearer, parent.token.as_deref().unwrap()).unwrap();
    let child = parent_client
        .create_key(&NewKey {
            personal: true,
            ttl: None,
            ..new_key("child", KeyScope::Global { roles: vec![] })
        })
        .await
        .unwrap();
    let also = s.client.set_key_enabled(&parent.id, false).await.unwrap();
    assert_eq!(also, vec![child.id.clone()]);
    assert!(
        s.client
            .set_key_enabled(&parent.id, true)
            .await
            .unwrap()
            .is_empty()
    );
}
