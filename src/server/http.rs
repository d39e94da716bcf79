//! HTTP: `POST /graphql` with a JSON body, or a form body (multipart or urlencoded) with a
//! `query` field as pganalyze's `curl -F 'query=…'` sends. Authentication happens here,
//! before the schema sees the request, and so does everything a hostile body could do to the
//! parsers: too large (413, with or without a Content-Length), nested too deeply (400).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequest, Multipart, Request, State};
use axum::http::header::{CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use tower_http::trace::TraceLayer;

use crate::server::auth::{self, AuthError, Authenticator};
use crate::server::limits::Limits;
use crate::server::nesting::{self, MAX_NESTING, Syntax, TooDeep};
use crate::server::schema::{self, KeydeckSchema, Services};
use crate::server::throttle::AuthThrottle;

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

#[derive(Clone)]
struct Http {
    schema: KeydeckSchema,
    services: Services,
    auth: Arc<Authenticator>,
    throttle: Arc<AuthThrottle>,
}

/// The service's routes over `schema` and `services`, with the default [`Limits`].
pub fn router(schema: KeydeckSchema, services: Services) -> Router {
    router_with(schema, services, &Limits::default())
}

/// The service's routes over `schema` and `services`, failed authentications limited as
/// `limits` says (the transport limits are the listener's).
pub fn router_with(schema: KeydeckSchema, services: Services, limits: &Limits) -> Router {
    let throttle = Arc::new(AuthThrottle::new(limits.auth_failures_per_minute));
    Router::new()
        .route("/graphql", post(graphql))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(Http {
            schema,
            auth: Arc::new(Authenticator::new(services.store.clone())),
            services,
            throttle,
        })
        // The limit is applied where the body is read (after authentication), so that a body
        // over it gets the same JSON 413 with or without a Content-Length; tower-http's
        // RequestBodyLimitLayer answered announced ones with a bare text/plain 413.
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(TraceLayer::new_for_http())
}

async fn graphql(State(http): State<Http>, headers: HeaderMap, request: Request) -> Response {
    // Known when our listener serves the router; a router served otherwise is not throttled.
    let client = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    if let Some(wait) = client.and_then(|ip| http.throttle.refused(ip)) {
        return too_many_failures(wait);
    }
    let caller = match auth::token_from_headers(&headers) {
        Ok(token) => http.auth.authenticate(token).await,
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
            // A missing header guesses nothing; a rejected token is a guess.
            let over = match (&e, client) {
                (AuthError::Rejected, Some(ip)) => http.throttle.failed(ip),
                _ => None,
            };
            if let Some(wait) = over {
                return too_many_failures(wait);
            }
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
    let request = schema::request_data(request, caller, &http.services.store);
    Json(http.schema.execute(request).await).into_response()
}

/// 429 for an address over its failed-authentication budget, with when to come back.
fn too_many_failures(wait: Duration) -> Response {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let mut response = error_response(
        StatusCode::TOO_MANY_REQUESTS,
        "TOO_MANY_FAILED_AUTHENTICATIONS",
        &format!("too many failed authentications from this address; try again in {seconds} s"),
    );
    response
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from(seconds));
    response
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
            nesting::check(&variables, Syntax::Json, MAX_NESTING, "`variables`")
                .map_err(|e| bad_request(&e.to_string()))?;
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

/// Longest query text accepted. Real documents are a few kilobytes; GraphQL's parser spends
/// far more per byte than a JSON one, so a megabyte of query text would hold a worker for
/// seconds. Large values belong in `variables`, which may fill the rest of the body.
pub const MAX_QUERY_BYTES: usize = 64 * 1024;

/// The GraphQL request in a body, refused when its query is too long or nests too deeply
/// for the parsers.
async fn read_request(request: Request) -> Result<async_graphql::Request, Rejection> {
    let request = read_body(request).await?;
    nesting::check(&request.query, Syntax::GraphQl, MAX_NESTING, "the query")
        .map_err(|e| bad_request(&e.to_string()))?;
    if request.query.len() > MAX_QUERY_BYTES {
        return Err(Rejection(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the query text has {} bytes; at most {MAX_QUERY_BYTES}: send large values as variables",
                request.query.len()
            ),
        ));
    }
    Ok(request)
}

async fn read_body(request: Request) -> Result<async_graphql::Request, Rejection> {
    let content_type = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .to_ascii_lowercase();
    // The whole body first, within the limit: a chunked body (no Content-Length) over it gets
    // 413 like any other, whatever its content type.
    let (parts, body) = request.into_parts();
    let body = Bytes::from_request(Request::from_parts(parts.clone(), body), &())
        .await
        .map_err(Rejection::from)?;
    if content_type.starts_with("multipart/form-data") {
        let request = Request::from_parts(parts, Body::from(body));
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
    if content_type.starts_with("application/x-www-form-urlencoded") {
        let form: FormRequest = serde_urlencoded::from_bytes(&body)
            .map_err(|e| bad_request(&format!("the form body is malformed: {e}")))?;
        return form.into_request();
    }
    // The envelope `{"query": …, "variables": …}` is one level more than the variables.
    let text = std::str::from_utf8(&body)
        .map_err(|e| bad_request(&format!("the body is not UTF-8 JSON: {e}")))?;
    nesting::check(text, Syntax::Json, MAX_NESTING + 1, "the body").map_err(|e| {
        let in_variables = TooDeep {
            what: "`variables`",
            limit: MAX_NESTING,
            ..e
        };
        bad_request(&in_variables.to_string())
    })?;
    let value: serde_json::Value = serde_json::from_str(text)
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

/// A GraphQL-shaped error body (`{errors: [{message, extensions: {code}}]}`) with `status`.
pub(crate) fn error_response(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({ "errors": [{ "message": message, "extensions": { "code": code } }] });
    (status, Json(body)).into_response()
}
