//! HTTP: `POST /graphql` with a JSON body, or a form body (multipart or urlencoded) with a
//! `query` field as pganalyze's `curl -F 'query=…'` sends. Authentication happens here,
//! before the schema sees the request.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Request, State};
use axum::http::header::{CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;

use crate::server::auth::{self, AuthError};
use crate::server::schema::{KeydeckSchema, Services};

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

#[derive(Clone)]
struct Http {
    schema: KeydeckSchema,
    services: Services,
}

/// The service's routes over `schema` and `services`.
pub fn router(schema: KeydeckSchema, services: Services) -> Router {
    Router::new()
        .route("/graphql", post(graphql))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(Http { schema, services })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(TraceLayer::new_for_http())
}

async fn graphql(State(http): State<Http>, headers: HeaderMap, request: Request) -> Response {
    let caller = match auth::token_from_headers(&headers) {
        Ok(token) => auth::authenticate(&http.services.store, token).await,
        Err(e) => Err(e),
    };
    let caller = match caller {
        Ok(caller) => caller,
        Err(AuthError::Store(e)) => {
            tracing::error!(error = %e, "authentication lookup failed");
            return error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                "INTERNAL_SERVER_ERROR",
                "the service could not check the token; try again",
            );
        }
        Err(e) => {
            let mut response =
                error_response(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", &e.to_string());
            response
                .headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return response;
        }
    };
    let request = match read_request(request).await {
        Ok(r) => r,
        Err(Rejection(status, message)) => return error_response(status, "BAD_REQUEST", &message),
    };
    Json(http.schema.execute(request.data(caller)).await).into_response()
}

/// The fields of a form-encoded GraphQL request.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FormRequest {
    query: Option<String>,
    variables: Option<String>,
    operation_name: Option<String>,
}

impl FormRequest {
    fn into_request(self) -> Result<async_graphql::Request, Rejection> {
        let query = self
            .query
            .ok_or_else(|| bad_request("the form has no `query` field"))?;
        let mut request = async_graphql::Request::new(query);
        if let Some(variables) = self.variables.filter(|v| !v.trim().is_empty()) {
            let value: serde_json::Value = serde_json::from_str(&variables)
                .map_err(|e| bad_request(&format!("`variables` is not JSON: {e}")))?;
            request = request.variables(async_graphql::Variables::from_json(value));
        }
        if let Some(name) = self.operation_name.filter(|n| !n.is_empty()) {
            request = request.operation_name(name);
        }
        Ok(request)
    }
}

/// Why a body is not a GraphQL request: the status to answer and a message.
struct Rejection(StatusCode, String);

impl<R: axum::response::IntoResponse + HasStatus> From<R> for Rejection {
    fn from(r: R) -> Self {
        Rejection(r.status(), r.body_text())
    }
}

/// axum's extractor rejections, which know their status and message.
trait HasStatus {
    fn status(&self) -> StatusCode;
    fn body_text(&self) -> String;
}

macro_rules! has_status {
    ($($t:ty),*) => {$(
        impl HasStatus for $t {
            fn status(&self) -> StatusCode {
                <$t>::status(self)
            }
            fn body_text(&self) -> String {
                <$t>::body_text(self)
            }
        }
    )*};
}

has_status!(
    axum::extract::multipart::MultipartRejection,
    axum::extract::multipart::MultipartError,
    axum::extract::rejection::BytesRejection
);

async fn read_request(request: Request) -> Result<async_graphql::Request, Rejection> {
    let content_type = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .to_ascii_lowercase();
    if content_type.starts_with("multipart/form-data") {
        let mut multipart = Multipart::from_request(request, &())
            .await
            .map_err(Rejection::from)?;
        let mut form = FormRequest {
            query: None,
            variables: None,
            operation_name: None,
        };
        while let Some(field) = multipart.next_field().await.map_err(Rejection::from)? {
            let name = field.name().unwrap_or_default().to_owned();
            let slot = match name.as_str() {
                "query" => &mut form.query,
                "variables" => &mut form.variables,
                "operationName" => &mut form.operation_name,
                _ => continue,
            };
            *slot = Some(field.text().await.map_err(Rejection::from)?);
        }
        return form.into_request();
    }
    let body = Bytes::from_request(request, &())
        .await
        .map_err(Rejection::from)?;
    if content_type.starts_with("application/x-www-form-urlencoded") {
        let form: FormRequest = serde_urlencoded::from_bytes(&body)
            .map_err(|e| bad_request(&format!("the form body is malformed: {e}")))?;
        return form.into_request();
    }
    let value: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|e| bad_request(&format!("the body is not JSON: {e}")))?;
    if value.is_array() {
        return Err(bad_request(
            "batched requests are not supported: send one operation per request",
        ));
    }
    serde_json::from_value(value).map_err(|e| {
        bad_request(&format!(
            "the body is not a GraphQL request {{query, variables, operationName}}: {e}"
        ))
    })
}

fn bad_request(message: &str) -> Rejection {
    Rejection(StatusCode::BAD_REQUEST, message.to_owned())
}

fn error_response(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({ "errors": [{ "message": message, "extensions": { "code": code } }] });
    (status, Json(body)).into_response()
}
