//! Sends graphql_client operations with reqwest and maps every failure to [`ApiError`].

use std::fmt;
use std::time::Duration;

use graphql_client::{GraphQLQuery, QueryBody, Response};
use reqwest::StatusCode;
use serde::Serialize;

use crate::text::visible;

/// How the token is presented: `Authorization: Bearer …` or pganalyze's `Token …`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthScheme {
    #[default]
    Bearer,
    Token,
}

impl AuthScheme {
    fn header_value(self, token: &str) -> String {
        match self {
            AuthScheme::Bearer => format!("Bearer {token}"),
            AuthScheme::Token => format!("Token {token}"),
        }
    }
}

/// A mutation's `error { code developerMessage membershipValidation }`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Refusal {
    pub code: String,
    pub message: String,
    /// `(code, role, variable)` per membership problem.
    pub memberships: Vec<(String, String, Option<String>)>,
}

/// The fields stay exact (forms match on them); Display, what users read, shows them through
/// [`visible`], since a message may quote a name or value someone else stored.
impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}{}",
            visible(&self.code),
            visible(&self.message),
            self.problems()
        )
    }
}

impl Refusal {
    /// The membership problems in words, each after `; `: `; role editor, variable
    /// language: no value given (VARIABLE_EMPTY)`; empty without any.
    pub fn problems(&self) -> String {
        let mut out = String::new();
        for (code, role, variable) in &self.memberships {
            let what = membership_problem(code);
            let (code, role) = (visible(code), visible(role));
            out.push_str(&match variable {
                Some(v) => format!("; role {role}, variable {}: {what} ({code})", visible(v)),
                None => format!("; role {role}: {what} ({code})"),
            });
        }
        out
    }
}

/// A membership problem's code (`MembershipValidationErrorCode`) in words.
fn membership_problem(code: &str) -> &'static str {
    match code {
        "ROLE_NOT_FOUND" => "the project defines no such role",
        "VARIABLE_NOT_FOUND" => "the role has no such variable",
        "VARIABLE_EMPTY" => "no value given",
        "VARIABLE_INVALID" => {
            "a value is blank, too long, given twice or holds an invisible or control character"
        }
        _ => "refused",
    }
}

/// Everything that can go wrong talking to the service, each with a clear message. The
/// messages quote what the service sent, so Display shows that text through [`visible`]:
/// an error is printed to a terminal, and the service's text is not ours to trust.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// The endpoint is not a URL keydeck can use (no scheme, or credentials in it).
    #[error("the endpoint {} {}", visible(.endpoint), .reason)]
    BadEndpoint {
        endpoint: String,
        reason: &'static str,
    },
    /// The service could not be reached or did not answer in time.
    #[error("cannot reach {}: {}", visible(.endpoint), visible(.reason))]
    Network { endpoint: String, reason: String },
    /// HTTP 401: the token is missing, wrong, disabled or expired.
    #[error("the service refused the token: {}", visible(.0))]
    Unauthorized(String),
    /// Another non-success HTTP status, with the URL that was asked: a wrong path or a proxy
    /// in the way shows as such instead of as a bare number.
    #[error("{} answered HTTP {status}{}", visible(.url), status_text(*.status, .message))]
    Http {
        status: u16,
        url: String,
        /// An excerpt of the body (empty when there was none).
        message: String,
    },
    /// The answer was not a GraphQL response.
    #[error("the service answered something that is not a GraphQL response: {}", visible(.0))]
    Garbage(String),
    /// Top-level GraphQL errors (with `extensions.code` when given).
    #[error("{}", .0.iter().map(|(code, msg)| match code { Some(c) => format!("{}: {}", visible(c), visible(msg)), None => visible(msg).into_owned() }).collect::<Vec<_>>().join("; "))]
    GraphQl(Vec<(Option<String>, String)>),
    /// The mutation ran and answered `ok: false`.
    #[error("{0}")]
    Refused(Refusal),
}

/// Refuses, before any request, an endpoint without a scheme (`keys.example.com/graphql`) and
/// one carrying credentials (`http://user:pw@host/…`), which keydeck never sends: the API
/// token is the credential.
fn check_endpoint(endpoint: &str) -> Result<(), ApiError> {
    let bad = |reason| ApiError::BadEndpoint {
        endpoint: endpoint.to_owned(),
        reason,
    };
    if !endpoint.contains("://") {
        return Err(bad(
            "has no scheme: write it as https://host/graphql (or http:// on loopback)",
        ));
    }
    let url = reqwest::Url::parse(endpoint)
        .map_err(|_| bad("is not a URL: write it as https://host/graphql"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("is not an http:// or https:// URL"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        // Named without them: the password is not echoed to the terminal or a log.
        let mut shown = url.clone();
        let _ = shown.set_password(None);
        let _ = shown.set_username("");
        return Err(ApiError::BadEndpoint {
            endpoint: shown.to_string(),
            reason: "carries credentials (user:password@), which keydeck never sends: the API \
                     token is the credential; remove them from the URL",
        });
    }
    Ok(())
}

impl ApiError {
    /// Worth retrying later (the service is down or overloaded), as opposed to a wrong request.
    pub fn is_transient(&self) -> bool {
        match self {
            ApiError::Network { .. } => true,
            ApiError::Http { status, .. } => *status >= 500,
            _ => false,
        }
    }

    /// The machine-readable code, when the service gave one.
    pub fn code(&self) -> Option<&str> {
        match self {
            ApiError::Refused(r) => Some(&r.code),
            ApiError::GraphQl(errors) => errors.iter().find_map(|(c, _)| c.as_deref()),
            ApiError::Unauthorized(_) => Some("UNAUTHENTICATED"),
            _ => None,
        }
    }
}

/// One client for one endpoint and credential. Cheap to clone.
#[derive(Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    endpoint: String,
    authorization: String,
}

impl fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the credential.
        f.debug_struct("ApiClient")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

/// How long one request may take, end to end.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// How long establishing the connection (TCP and TLS) may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The environment variables through which reqwest finds a proxy.
const PROXY_VARIABLES: [&str; 6] = [
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
];

/// Whether a client for `endpoint` may have to speak TLS: to an `https://` endpoint, or to a
/// proxy (which may be an `https://` one) when one of [`PROXY_VARIABLES`] is set (`is_set`).
/// Redirects are not followed, so a plain-HTTP endpoint reached directly never does.
fn may_speak_tls(endpoint: &str, is_set: impl Fn(&str) -> bool) -> bool {
    let plain = endpoint
        .get(..7)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("http://"));
    !plain || PROXY_VARIABLES.iter().any(|name| is_set(name))
}

impl ApiClient {
    pub fn new(endpoint: &str, scheme: AuthScheme, token: &str) -> Result<Self, ApiError> {
        check_endpoint(endpoint)?;
        let mut builder = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(concat!("keydeck/", env!("CARGO_PKG_VERSION")))
            // An operation goes to the endpoint the user named or nowhere: a redirect would
            // move the credential and the request to an address nobody chose.
            .redirect(reqwest::redirect::Policy::none());
        if !may_speak_tls(endpoint, |name| std::env::var_os(name).is_some()) {
            // Its client need not load the system's root certificates, a large share of
            // `keydeck keys list`'s own CPU time (`cargo bench --bench cli_vs_curl`).
            builder = builder.tls_certs_only([]);
        }
        let http = builder.build().map_err(|e| ApiError::Network {
            endpoint: endpoint.to_owned(),
            reason: e.to_string(),
        })?;
        Ok(ApiClient {
            http,
            endpoint: endpoint.to_owned(),
            authorization: scheme.header_value(token),
        })
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Sends one operation and returns its data, or the reason there is none.
    pub async fn execute<Q: GraphQLQuery>(
        &self,
        variables: Q::Variables,
    ) -> Result<Q::ResponseData, ApiError> {
        let body: QueryBody<Q::Variables> = Q::build_query(variables);
        let response = self
            .http
            .post(&self.endpoint)
            .header(reqwest::header::AUTHORIZATION, &self.authorization)
            .json(&body)
            .send()
            .await
            .map_err(|e| self.network(&e))?;
        let status = response.status();
        let text = response.text().await.map_err(|e| self.network(&e))?;
        let parsed: Result<Response<Q::ResponseData>, _> = serde_json::from_str(&text);
        if status == StatusCode::UNAUTHORIZED {
            let message = parsed
                .ok()
                .and_then(|r| r.errors)
                .and_then(|e| e.into_iter().next())
                .map_or_else(|| "unauthorized".to_owned(), |e| e.message);
            return Err(ApiError::Unauthorized(message));
        }
        let parsed = match parsed {
            Ok(p) => p,
            Err(_) if !status.is_success() => return Err(self.http(status, &text)),
            Err(e) => return Err(ApiError::Garbage(format!("{e} in {}", snippet(&text)))),
        };
        if let Some(errors) = parsed.errors.filter(|e| !e.is_empty()) {
            return Err(ApiError::GraphQl(
                errors
                    .into_iter()
                    .map(|e| {
                        let code = e
                            .extensions
                            .as_ref()
                            .and_then(|x| x.get("code"))
                            .and_then(|c| c.as_str())
                            .map(str::to_owned);
                        (code, e.message)
                    })
                    .collect(),
            ));
        }
        if !status.is_success() {
            return Err(self.http(status, &text));
        }
        parsed
            .data
            .ok_or_else(|| ApiError::Garbage("a response without data or errors".into()))
    }

    /// A failure to reach the service, said by which part failed.
    fn network(&self, e: &reqwest::Error) -> ApiError {
        ApiError::Network {
            endpoint: self.endpoint.clone(),
            reason: describe(e, &self.endpoint),
        }
    }

    /// A non-success status other than 401, with the URL asked.
    fn http(&self, status: StatusCode, body: &str) -> ApiError {
        ApiError::Http {
            status: status.as_u16(),
            url: self.endpoint.clone(),
            message: snippet(body),
        }
    }
}

/// `" Not Found: <excerpt>"`, or `" Not Found (empty body)"`: the status's name and what the
/// body began with, so a proxy's error page or a wrong path says something.
fn status_text(status: u16, body: &str) -> String {
    let name = StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .map_or_else(String::new, |r| format!(" {r}"));
    if body.is_empty() {
        format!("{name} (empty body)")
    } else {
        format!("{name}: {}", visible(body))
    }
}

/// Says which part of reaching the service failed: name resolution, the TCP connection
/// (refused, unreachable), a timeout, or the TLS handshake. reqwest only tells "connect" from
/// "timeout", so the rest is read from the chain of causes: an `io::Error`'s kind where there
/// is one, and hyper-util's "dns error" layer, which has no type of its own to match on.
fn describe(e: &reqwest::Error, endpoint: &str) -> String {
    let causes = causes(e);
    let io_kind = causes.iter().find_map(|c| {
        c.downcast_ref::<std::io::Error>()
            .map(std::io::Error::kind)
            .filter(|k| *k != std::io::ErrorKind::Other)
    });
    let host = reqwest::Url::parse(endpoint)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| endpoint.to_owned());
    let dns = causes.iter().any(|c| {
        let text = c.to_string();
        text.starts_with("dns error") || text.contains("resolving DNS")
    });
    if e.is_timeout() {
        if e.is_connect() {
            format!("no connection within {} s", CONNECT_TIMEOUT.as_secs())
        } else {
            format!("no answer within {} s", REQUEST_TIMEOUT.as_secs())
        }
    } else if dns {
        format!(
            "name resolution failed: no address found for host {host} ({})",
            innermost(&causes)
        )
    } else if io_kind == Some(std::io::ErrorKind::ConnectionRefused) {
        "connection refused (is the service running?)".to_owned()
    } else if io_kind == Some(std::io::ErrorKind::TimedOut) {
        "connection timed out".to_owned()
    } else if e.is_connect() && endpoint.starts_with("https:") {
        // The TCP connection was made (neither refused nor unresolved): what failed is the
        // handshake, e.g. a plain-HTTP port, an unknown certificate authority, a wrong name.
        format!("TLS handshake failed: {}", innermost(&causes))
    } else if e.is_connect() {
        format!("cannot connect: {}", innermost(&causes))
    } else {
        causes
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(": ")
    }
}

/// `e` and its sources, outermost first.
fn causes(e: &reqwest::Error) -> Vec<&(dyn std::error::Error + 'static)> {
    let mut out: Vec<&(dyn std::error::Error + 'static)> = vec![e];
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        out.push(s);
        source = s.source();
    }
    out
}

/// The deepest cause's message: the operating system's or the TLS library's own words.
fn innermost(causes: &[&(dyn std::error::Error + 'static)]) -> String {
    causes.last().map(ToString::to_string).unwrap_or_default()
}

fn snippet(text: &str) -> String {
    let flat: String = text.chars().take(200).collect();
    flat.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_plain_http_endpoint_reached_directly_skips_tls() {
        let none = |_: &str| false;
        assert!(!may_speak_tls("http://127.0.0.1:8080/graphql", none));
        assert!(!may_speak_tls("HTTP://localhost/graphql", none));
        assert!(may_speak_tls("https://keys.example.com/graphql", none));
        assert!(may_speak_tls("http:/", none));
        // A proxy, which may itself be reached over TLS.
        let proxied = |name: &str| name == "http_proxy";
        assert!(may_speak_tls("http://127.0.0.1:8080/graphql", proxied));
    }
}
