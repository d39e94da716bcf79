//! The limit `{ me { id roles } }` is measured against: an axum handler that does only what
//! no key service can skip, hashing the bearer token (SHA-256) and looking it up in a
//! `HashMap`, then answering the same JSON the service answers.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use tokio::net::TcpListener;

/// Token hash → the reply to `{ me { id roles } }` for that key.
type Replies = Arc<HashMap<String, String>>;

/// Serves `POST /graphql` on `listener` with `identities` (token hash, identity id, roles)
/// until the runtime stops.
pub async fn serve(
    listener: TcpListener,
    identities: Vec<(String, String, Vec<String>)>,
) -> std::io::Result<()> {
    let replies: HashMap<String, String> = identities
        .into_iter()
        .map(|(hash, id, roles)| {
            let reply = serde_json::json!({ "data": { "me": { "id": id, "roles": roles } } });
            (hash, reply.to_string())
        })
        .collect();
    let app = Router::new()
        .route("/graphql", post(me))
        .with_state(Arc::new(replies));
    axum::serve(listener, app).await
}

async fn me(State(replies): State<Replies>, headers: HeaderMap, _query: Bytes) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match token.and_then(|t| replies.get(&keydeck::token::hash(t))) {
        Some(reply) => {
            ([(header::CONTENT_TYPE, "application/json")], reply.clone()).into_response()
        }
        None => StatusCode::UNAUTHORIZED.into_response(),
    }
}
