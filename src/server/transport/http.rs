//! HTTP: `POST /graphql` with a JSON body, or a form body (multipart or urlencoded) with a
//! `query` field as pganalyze's `curl -F 'query=…'` sends. Authentication happens here,
//! before the schema sees the request, and so does everything a hostile body could do to the
//! parsers: too large (413, with or without a Content-Length), nested too deeply (400).
//! `GET /databases/{db}/queries/{id}` is the page `queryUrl` points at, behind the same
//! authentication.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequest, Multipart, Path, Request, State};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, RETRY_AFTER,
    WWW_AUTHENTICATE, X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use tower_http::trace::TraceLayer;

use crate::server::auth::{self, AuthError, Authenticator, Caller};
use crate::server::authz::Denied;
use crate::server::model::Permission;
use crate::server::schema::{KeydeckSchema, Services};
use crate::server::stats;
use crate::server::transport::limits::Limits;
use crate::server::transport::nesting::{self, MAX_NESTING, Syntax, TooDeep};
use crate::server::transport::throttle::AuthThrottle;

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
        .route("/databases/{database}/queries/{query}", get(query_page))
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
    let caller = match authenticate(&http, &headers, client_address(&request)).await {
        Ok(caller) => caller,
        Err(refused) => return refused.into_response(error_response),
    };
    let request = match read_request(request).await {
        Ok(r) => r,
        Err(Rejection(status, message)) => return error_response(status, "BAD_REQUEST", &message),
    };
    let key_id = caller.key.id.clone();
    let (response, refused) = http.schema.execute_judged(request, caller).await;
    if refused {
        http.auth.record_refusal(&key_id);
    }
    match ResponseMedia::accepted_by(&headers) {
        ResponseMedia::Json => Json(response).into_response(),
        ResponseMedia::GraphqlResponse => graphql_response(&response),
    }
}

/// The media type of a GraphQL answer, as the client's `Accept` asks (GraphQL over HTTP).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ResponseMedia {
    /// `application/json`: always 200 with `{data, errors}`, as the seeds' clients expect;
    /// the default without an `Accept`.
    Json,
    /// `application/graphql-response+json`: a request that fails before execution (parse,
    /// validation, variable coercion, a refusal by the gate) is answered 4xx without `data`.
    GraphqlResponse,
}

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

impl ResponseMedia {
    /// The supported type the `Accept` header prefers (highest `q`, then the first listed);
    /// JSON when it names neither or is absent.
    fn accepted_by(headers: &HeaderMap) -> Self {
        let Some(accept) = headers
            .get(axum::http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
        else {
            return ResponseMedia::Json;
        };
        let mut best: Option<(f32, ResponseMedia)> = None;
        for item in accept.split(',') {
            let mut parts = item.split(';').map(str::trim);
            let media = parts.next().unwrap_or_default().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.strip_prefix("q="))
                .find_map(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            let kind = match media.as_str() {
                GRAPHQL_RESPONSE => ResponseMedia::GraphqlResponse,
                "application/json" | "application/*" | "*/*" => ResponseMedia::Json,
                _ => continue,
            };
            if q > 0.0 && best.is_none_or(|(b, _)| q > b) {
                best = Some((q, kind));
            }
        }
        best.map_or(ResponseMedia::Json, |(_, kind)| kind)
    }
}

/// `response` as `application/graphql-response+json`: a request error (no data at all: the
/// request failed before execution) is 400 with only `errors` (401, 403 and 429 stay the
/// transport's own answers); anything that executed is 200.
fn graphql_response(response: &async_graphql::Response) -> Response {
    let request_error = response.data == async_graphql::Value::Null && !response.errors.is_empty();
    let mut body = serde_json::to_value(response).unwrap_or_else(
        |e| json!({ "errors": [{ "message": format!("the answer could not be encoded: {e}") }] }),
    );
    let status = if request_error {
        if let Some(object) = body.as_object_mut() {
            object.remove("data");
        }
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    (
        status,
        [(CONTENT_TYPE, HeaderValue::from_static(GRAPHQL_RESPONSE))],
        Json(body),
    )
        .into_response()
}

/// The page of one statement (`queryUrl`): the same key as `getQueryStats` needs, READ and
/// the monitor or super_admin role; refusals are plain text, for the person at the browser.
async fn query_page(
    State(http): State<Http>,
    Path((database, query)): Path<(String, String)>,
    headers: HeaderMap,
    request: Request,
) -> Response {
    let text = |status: StatusCode, _code: &str, message: &str| text_response(status, message);
    let caller = match authenticate(&http, &headers, client_address(&request)).await {
        Ok(caller) => caller,
        Err(refused) => return refused.into_response(text),
    };
    if !caller.key.allows(Permission::Read) {
        http.auth.record_refusal(&caller.key.id);
        return text_response(StatusCode::FORBIDDEN, "this page needs a key with READ");
    }
    if let Err(Denied(message)) = caller.may_read_query_stats() {
        http.auth.record_refusal(&caller.key.id);
        return text_response(StatusCode::FORBIDDEN, &message);
    }
    let monitor = &http.services.monitor;
    let found = match monitor
        .query_stat(&http.services.store, &database, &query)
        .await
    {
        Ok(found) => found,
        Err(e) => {
            let status = match e.code() {
                "DATABASE_NOT_FOUND" => StatusCode::NOT_FOUND,
                "DATABASE_UNAVAILABLE" => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::BAD_REQUEST,
            };
            return text_response(status, &e.to_string());
        }
    };
    let Some((name, stat)) = found else {
        return text_response(
            StatusCode::NOT_FOUND,
            &format!("database {database} has no statement with id {query} in its samples"),
        );
    };
    let mut response = Html(stats::page::render(&name, &stat)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(stats::page::CONTENT_SECURITY_POLICY),
    );
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The client's address: known when our listener serves the router; a router served otherwise
/// is not throttled.
fn client_address(request: &Request) -> Option<IpAddr> {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
}

/// Why a request was not let in; the GraphQL endpoint answers it as JSON, pages as text.
struct Refused {
    status: StatusCode,
    code: &'static str,
    message: String,
    /// Seconds to wait, for a client over its failed-authentication budget.
    retry_after: Option<u64>,
}

impl Refused {
    fn into_response(self, body: impl Fn(StatusCode, &str, &str) -> Response) -> Response {
        let mut response = body(self.status, self.code, &self.message);
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// The caller behind `headers`' token, with failed authentications counted per address.
async fn authenticate(
    http: &Http,
    headers: &HeaderMap,
    client: Option<IpAddr>,
) -> Result<Caller, Refused> {
    if let Some(wait) = client.and_then(|ip| http.throttle.refused(ip)) {
        return Err(too_many_failures(wait));
    }
    let caller = match auth::token_from_headers(headers) {
        Ok(token) => http.auth.authenticate(token).await,
        Err(e) => Err(e),
    };
    match caller {
        Ok(caller) => Ok(caller),
        Err(AuthError::Store(e)) => {
            tracing::error!(error = %e, "authentication lookup failed");
            Err(Refused {
                status: StatusCode::SERVICE_UNAVAILABLE,
                code: "INTERNAL_SERVER_ERROR",
                message: "the service could not check the token; try again".to_owned(),
                retry_after: None,
            })
        }
        Err(e) => {
            // A missing header guesses nothing; a rejected token is a guess.
            let over = match (&e, client) {
                (AuthError::Rejected, Some(ip)) => http.throttle.failed(ip),
                _ => None,
            };
            Err(over.map_or_else(
                || Refused {
                    status: StatusCode::UNAUTHORIZED,
                    code: "UNAUTHENTICATED",
                    message: e.to_string(),
                    retry_after: None,
                },
                too_many_failures,
            ))
        }
    }
}

/// 429 for an address over its failed-authentication budget, with when to come back.
fn too_many_failures(wait: Duration) -> Refused {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    Refused {
        status: StatusCode::TOO_MANY_REQUESTS,
        code: "TOO_MANY_FAILED_AUTHENTICATIONS",
        message: format!(
            "too many failed authentications from this address; try again in {seconds} s"
        ),
        retry_after: Some(seconds),
    }
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
    // A POST says what its body is (GraphQL over HTTP): without a Content-Type it is refused
    // rather than guessed.
    let Some(content_type) = request.headers().get(CONTENT_TYPE) else {
        return Err(Rejection(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the request has no Content-Type: send `application/json` (or a form, as curl -F \
             does)"
                .to_owned(),
        ));
    };
    let content_type = content_type
        .to_str()
        .unwrap_or_default()
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
    if !content_type.starts_with("application/json") {
        return Err(Rejection(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "a body of type `{}` is not a GraphQL request: send `application/json` (or a \
                 form, as curl -F does)",
                crate::text::visible(&content_type)
            ),
        ));
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

/// A plain-text answer, for pages a person opens in a browser.
fn text_response(status: StatusCode, message: &str) -> Response {
    (status, format!("{message}\n")).into_response()
}

/// A GraphQL-shaped error body (`{errors: [{message, extensions: {code}}]}`) with `status`.
pub(crate) fn error_response(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({ "errors": [{ "message": message, "extensions": { "code": code } }] });
    (status, Json(body)).into_response()
}
