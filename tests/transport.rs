//! The HTTP transport of `keydeck serve` against hostile clients: brackets nested deep enough
//! to overflow a parser's stack, bodies too large without a Content-Length, silent and slow
//! connections, thousands of idle sockets, token guessing, and the modes of the files it
//! writes. All against the real service on loopback, some against the real binary.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

mod common;

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use common::*;
use keydeck::server::transport::limits::Limits;

const BIN: &str = env!("CARGO_BIN_EXE_keydeck");

/// The depths the issue reported and asked about: past the limit, past serde's own limit, and
/// far past where a worker's stack overflowed.
const DEPTHS: [usize; 3] = [100, 2_000, 100_000];

/// Generous bound for the server to close a connection whose test timeout is a fraction of it.
const CLOSE_BOUND: Duration = Duration::from_secs(10);

/// `[[[…1…]]]`, `depth` deep, as GraphQL or JSON (the same text).
fn nested_list(depth: usize) -> String {
    format!("{}1{}", "[".repeat(depth), "]".repeat(depth))
}

/// `{a: {a: … {a: 1} … }}`, `depth` deep, as a GraphQL input object.
fn nested_object(depth: usize) -> String {
    format!("{}1{}", "{a: ".repeat(depth), "}".repeat(depth))
}

/// A POST of `query` (and `variables`, a JSON text) as a multipart form.
fn multipart_post(
    server: &TestServer,
    token: &str,
    query: &str,
    variables: Option<&str>,
) -> reqwest::RequestBuilder {
    let mut form = reqwest::multipart::Form::new().text("query", query.to_owned());
    if let Some(variables) = variables {
        form = form.text("variables", variables.to_owned());
    }
    server
        .post()
        .header(AUTHORIZATION, format!("Token {token}"))
        .multipart(form)
}

/// A POST of a raw JSON body.
fn json_post(server: &TestServer, token: &str, body: String) -> reqwest::RequestBuilder {
    server
        .post()
        .header(AUTHORIZATION, format!("Bearer {token}"))
        .header(CONTENT_TYPE, "application/json")
        .body(body)
}

/// Asserts a 400 that names the nesting limit.
fn assert_too_deep(what: &str, status: StatusCode, body: &Value) {
    assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {body:.300}");
    assert_eq!(first_error_code(body), "BAD_REQUEST", "{what}");
    let message = string(&body["errors"][0]["message"]);
    assert!(
        message.contains("deeper than 64 levels"),
        "{what}: the message names the limit: {message}"
    );
}

#[tokio::test]
async fn deeply_nested_requests_get_400_and_the_service_lives_on() {
    let server = TestServer::start().await;
    // Parsing runs before the permission gate: a read-only key inside a mutation is enough.
    let reader = server
        .global_key_with(
            &server.admin,
            "reader",
            &[],
            json!({ "permissions": ["READ"] }),
        )
        .await
        .token;
    for depth in DEPTHS {
        let in_argument = format!(
            "mutation {{ disableApiKey(id: {}) {{ ok }} }}",
            nested_list(depth)
        );
        let in_input_object = format!(
            "mutation {{ createGlobalApiKey(description: \"x\", options: {{ expiresIn: {} }}) {{ ok }} }}",
            nested_object(depth)
        );
        let in_filter = format!(
            "query {{ apiKeys(filter: {{ search: {} }}) {{ totalCount }} }}",
            nested_object(depth)
        );
        for (what, query) in [
            ("argument", &in_argument),
            ("input object", &in_input_object),
            ("filter", &in_filter),
        ] {
            let body = json!({ "query": query }).to_string();
            let (status, reply) = send(json_post(&server, &reader, body)).await;
            assert_too_deep(&format!("{what} at {depth}, JSON"), status, &reply);
            let (status, reply) = send(multipart_post(&server, &reader, query, None)).await;
            assert_too_deep(&format!("{what} at {depth}, multipart"), status, &reply);
        }

        let with_variable = "mutation($id: String!) { disableApiKey(id: $id) { ok } }";
        let variables = format!("{{\"id\": {}}}", nested_list(depth));
        let body = format!(
            "{{\"query\": {}, \"variables\": {variables}}}",
            json!(with_variable)
        );
        let (status, reply) = send(json_post(&server, &reader, body)).await;
        assert_too_deep(&format!("variables at {depth}, JSON"), status, &reply);
        let (status, reply) = send(multipart_post(
            &server,
            &reader,
            with_variable,
            Some(&variables),
        ))
        .await;
        assert_too_deep(&format!("variables at {depth}, multipart"), status, &reply);
        let form = serde_urlencoded::to_string([
            ("query", with_variable),
            ("variables", variables.as_str()),
        ])
        .unwrap();
        let (status, reply) = send(
            server
                .post()
                .header(AUTHORIZATION, format!("Bearer {reader}"))
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(form),
        )
        .await;
        assert_too_deep(&format!("variables at {depth}, urlencoded"), status, &reply);
    }
    // Still the same process, answering.
    assert_eq!(server.status_of(&reader).await, StatusCode::OK);
}

#[tokio::test]
async fn nesting_within_the_limit_reaches_the_schema() {
    let server = TestServer::start().await;
    // 60 levels of list where a String is expected: a GraphQL error, not a transport one.
    let query = format!(
        "query {{ apiKeys(after: {}) {{ totalCount }} }}",
        nested_list(60)
    );
    let (status, body) = server.gql(&server.admin, &query, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body:#}");
    assert!(body["errors"].is_array(), "{body:#}");
    // Brackets inside strings and comments do not count.
    let query = format!(
        "query {{ apiKeys(filter: {{ search: \"{}\" }}) {{ totalCount }} }} # {}",
        "[".repeat(1_000),
        "{".repeat(1_000)
    );
    let data = server.data(&server.admin, &query, json!({})).await;
    assert_eq!(data["apiKeys"]["totalCount"], json!(0));
}

/// A body streamed in chunks, so no Content-Length announces its size.
fn chunked(bytes: Vec<u8>) -> reqwest::Body {
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        bytes.chunks(64 * 1024).map(|c| Ok(c.to_vec())).collect();
    reqwest::Body::wrap_stream(futures::stream::iter(chunks))
}

#[tokio::test]
async fn oversized_chunked_bodies_get_413_whatever_their_type() {
    let server = TestServer::start().await;
    let size = 2 * keydeck::server::transport::http::MAX_BODY_BYTES;
    let padding = "x".repeat(size);
    let boundary = "keydeck-test-boundary";
    let multipart = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"query\"\r\n\r\n{{ me {{ id }} }}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"padding\"\r\n\r\n{padding}\r\n\
         --{boundary}--\r\n"
    );
    for (content_type, body) in [
        (
            "application/json".to_owned(),
            json!({ "query": ME, "variables": { "padding": padding } }).to_string(),
        ),
        (
            format!("multipart/form-data; boundary={boundary}"),
            multipart,
        ),
        (
            "application/x-www-form-urlencoded".to_owned(),
            format!("query=%7B+me+%7B+id+%7D+%7D&padding={padding}"),
        ),
    ] {
        let (status, reply) = send(
            server
                .authorized_post()
                .header(CONTENT_TYPE, &content_type)
                .body(chunked(body.into_bytes())),
        )
        .await;
        assert_eq!(
            status,
            StatusCode::PAYLOAD_TOO_LARGE,
            "{content_type}: {reply:.300}"
        );
    }
    // The same multipart form under the limit is a request like any other.
    let small = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"query\"\r\n\r\n{{ me {{ id }} }}\r\n\
         --{boundary}--\r\n"
    );
    let (status, reply) = send(
        server
            .authorized_post()
            .header(
                CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(chunked(small.into_bytes())),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{reply:#}");
    assert!(reply["data"]["me"]["id"].is_string(), "{reply:#}");
}

/// Limits with short timeouts, for tests that wait for them.
fn short_timeouts() -> Limits {
    Limits {
        header_timeout: Duration::from_millis(300),
        request_timeout: Duration::from_millis(500),
        ..Limits::default()
    }
}

/// Reads until the server closes the connection; what it sent. Fails when it stays open
/// past [`CLOSE_BOUND`].
async fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut received = Vec::new();
    let read = tokio::time::timeout(CLOSE_BOUND, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(
        read.is_ok(),
        "the server kept the connection open; it sent {:?}",
        String::from_utf8_lossy(&received)
    );
    received
}

#[tokio::test]
async fn a_silent_connection_is_closed_after_the_header_timeout() {
    let server = TestServer::with_limits(short_timeouts()).await;
    let mut stream = TcpStream::connect(server.running.addr).await.unwrap();
    read_until_closed(&mut stream).await;
}

#[tokio::test]
async fn a_connection_with_partial_headers_is_closed_after_the_header_timeout() {
    let server = TestServer::with_limits(short_timeouts()).await;
    let mut stream = TcpStream::connect(server.running.addr).await.unwrap();
    stream
        .write_all(b"POST /graphql HTTP/1.1\r\nHost: keydeck\r\nContent-Type: appl")
        .await
        .unwrap();
    read_until_closed(&mut stream).await;
}

#[tokio::test]
async fn a_connection_idle_after_a_request_is_closed_after_the_header_timeout() {
    let server = TestServer::with_limits(short_timeouts()).await;
    let mut stream = TcpStream::connect(server.running.addr).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: keydeck\r\n\r\n")
        .await
        .unwrap();
    let received = read_until_closed(&mut stream).await;
    assert!(
        received.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&received)
    );
}

#[tokio::test]
async fn a_body_slower_than_the_request_timeout_gets_408() {
    let server = TestServer::with_limits(short_timeouts()).await;
    let mut stream = TcpStream::connect(server.running.addr).await.unwrap();
    let head = format!(
        "POST /graphql HTTP/1.1\r\nHost: keydeck\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"query\": ",
        server.admin
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let received = read_until_closed(&mut stream).await;
    let text = String::from_utf8_lossy(&received);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("REQUEST_TIMEOUT"), "{text}");
}

#[tokio::test]
async fn at_the_connection_cap_idle_sockets_make_room_for_a_real_request() {
    let server = TestServer::with_limits(Limits {
        max_connections: 4,
        ..Limits::default()
    })
    .await;
    let mut idle = Vec::new();
    for _ in 0..10 {
        idle.push(TcpStream::connect(server.running.addr).await.unwrap());
    }
    // Fresh clients each time, so each request opens a new connection at the cap.
    for _ in 0..3 {
        let status = send(
            reqwest::Client::new()
                .post(server.graphql_url())
                .header(AUTHORIZATION, format!("Bearer {}", server.admin))
                .json(&json!({ "query": ME })),
        )
        .await
        .0;
        assert_eq!(status, StatusCode::OK);
    }
    // The oldest idle sockets were closed to make that room.
    read_until_closed(&mut idle[0]).await;
}

/// `keydeck serve` as a child process, killed when dropped.
struct ServeProcess {
    child: Child,
    addr: SocketAddr,
    dir: tempfile::TempDir,
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ServeProcess {
    /// Starts `keydeck serve` on an ephemeral port with `extra` arguments, under a shell that
    /// first runs `setup` (e.g. `ulimit -n 1024`), and waits until it listens.
    fn start(setup: &str, extra: &[&str]) -> ServeProcess {
        let extra: Vec<&OsStr> = extra.iter().map(OsStr::new).collect();
        Self::start_in(tempfile::tempdir().unwrap(), setup, &extra)
    }

    /// Like [`ServeProcess::start`], with the store and token file in `dir`.
    fn start_in(dir: tempfile::TempDir, setup: &str, extra: &[&OsStr]) -> ServeProcess {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(format!("{setup} && exec \"$0\" \"$@\""))
            .arg(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--db"])
            .arg(format!("sqlite:{}", dir.path().join("keys.db").display()))
            .arg("--bootstrap-token-file")
            .arg(dir.path().join("admin.token"))
            .args(extra)
            .env("KEYDECK_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let mut lines = BufReader::new(stderr).lines();
        let addr = loop {
            let Some(Ok(line)) = lines.next() else {
                let _ = child.kill();
                panic!("keydeck serve ended before it listened");
            };
            if let Some(url) = line.strip_prefix("keydeck: serving GraphQL on http://") {
                break url.trim_end_matches("/graphql").parse().unwrap();
            }
        };
        // Keep draining stderr so the child never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        ServeProcess { child, addr, dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn admin_token(&self) -> String {
        std::fs::read_to_string(self.path("admin.token"))
            .unwrap()
            .trim()
            .to_owned()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_2000_idle_sockets_a_real_request_is_answered_within_a_second() {
    // The service gets 1,024 file descriptors, hard limit included, as a default Linux login
    // does; the header timeout is long, so it is the cap that has to make room.
    let service = ServeProcess::start("ulimit -n 1024", &["--header-timeout", "5m"]);
    let token = service.admin_token();
    let mut idle = Vec::with_capacity(2_000);
    for _ in 0..2_000 {
        idle.push(TcpStream::connect(service.addr).await.unwrap());
    }
    let url = format!("http://{}/graphql", service.addr);
    let client = reqwest::Client::new();
    let started = Instant::now();
    let answered = tokio::time::timeout(
        Duration::from_secs(30),
        send(
            client
                .post(&url)
                .header(AUTHORIZATION, format!("Bearer {token}"))
                .json(&json!({ "query": ME })),
        ),
    )
    .await;
    let elapsed = started.elapsed();
    let (status, body) = answered.expect("the service answers at all");
    assert_eq!(status, StatusCode::OK, "{body:#}");
    assert!(
        elapsed < Duration::from_secs(1),
        "answered in {elapsed:?} with 2,000 idle sockets open"
    );
    drop(idle);
}

/// A client whose connections come from `local` (127.0.0.2 is as much loopback as 127.0.0.1).
fn client_from(local: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(local.parse::<IpAddr>().unwrap())
        .build()
        .unwrap()
}

/// `{ me }` from `client` with `token`.
async fn me_from(client: &reqwest::Client, server: &TestServer, token: &str) -> reqwest::Response {
    client
        .post(server.graphql_url())
        .header(AUTHORIZATION, format!("Bearer {token}"))
        .json(&json!({ "query": ME }))
        .send()
        .await
        .expect("the service answers")
}

#[tokio::test]
async fn failed_authentications_past_the_budget_get_429_before_any_token_check() {
    const BUDGET: u32 = 3;
    let server = TestServer::with_limits(Limits {
        auth_failures_per_minute: NonZeroU32::new(BUDGET).unwrap(),
        ..Limits::default()
    })
    .await;
    let guesser = client_from("127.0.0.1");
    let bad = "kd_not-a-real-token";
    // A request without credentials guesses nothing and is not counted.
    for _ in 0..5 {
        let response = guesser
            .post(server.graphql_url())
            .json(&json!({ "query": ME }));
        assert_eq!(send(response).await.0, StatusCode::UNAUTHORIZED);
    }
    for _ in 0..BUDGET {
        let response = me_from(&guesser, &server, bad).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let response = me_from(&guesser, &server, bad).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = response.headers()[RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1..=60).contains(&retry_after),
        "Retry-After: {retry_after}"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(first_error_code(&body), "TOO_MANY_FAILED_AUTHENTICATIONS");
    // Now even the right token learns nothing from this address.
    let response = me_from(&guesser, &server, &server.admin).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key(RETRY_AFTER));
    // Another address has its own budget and is served.
    let other = client_from("127.0.0.2");
    let response = me_from(&other, &server, &server.admin).await;
    assert_eq!(response.status(), StatusCode::OK);
    let response = me_from(&other, &server, bad).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[cfg(unix)]
#[tokio::test]
async fn the_database_its_wal_and_shm_and_the_log_file_are_owner_only() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("serve.log");
    // umask 022: what SQLite and a plain create turn into 0644.
    let service =
        ServeProcess::start_in(dir, "umask 022", &["--log-file".as_ref(), log.as_os_str()]);
    let files = [
        "keys.db",
        "keys.db-wal",
        "keys.db-shm",
        "serve.log",
        "admin.token",
    ];
    eventually("the service has created its files", || async {
        files.iter().all(|name| service.path(name).exists())
    })
    .await;
    for name in files {
        assert_eq!(mode(&service.path(name)), 0o600, "{name}");
    }
}

#[tokio::test]
async fn sigterm_ends_the_service_cleanly_with_connections_open() {
    let mut service = ServeProcess::start("true", &[]);
    let _idle = TcpStream::connect(service.addr).await.unwrap();
    let mut half_sent = TcpStream::connect(service.addr).await.unwrap();
    half_sent
        .write_all(b"POST /graphql HTTP/1.1\r\n")
        .await
        .unwrap();
    let _ = TcpStream::connect(service.addr).await.unwrap();
    let killed = Command::new("kill")
        .args(["-TERM", &service.child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + CLOSE_BOUND;
    let status = loop {
        if let Some(status) = service.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "keydeck serve still runs after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "{status:?}");
}

/// Issue 17.9, GraphQL over HTTP: `Accept: application/graphql-response+json` gets that media
/// type, and a request that fails before execution gets 400 without `data`; JSON answers stay
/// 200 as the seeds' clients expect; a POST must say what its body is (415 otherwise).
/// `.ci/graphql-http/run` runs the whole graphql-http audit (no warnings).
#[tokio::test]
async fn the_answer_follows_accept_and_a_body_needs_a_content_type() {
    let server = TestServer::start().await;
    let ask = |accept: Option<&str>, query: &str| {
        let mut request = json_post(
            &server,
            &server.admin,
            json!({ "query": query }).to_string(),
        );
        if let Some(accept) = accept {
            request = request.header(ACCEPT, accept);
        }
        async move {
            let response = request.send().await.unwrap();
            let media = response
                .headers()
                .get(CONTENT_TYPE)
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default();
            let status = response.status();
            let body: Value = response.json().await.unwrap();
            (status, media, body)
        }
    };
    let graphql_response = "application/graphql-response+json";
    for accept in [
        Some(graphql_response),
        Some("application/json;q=0.5, application/graphql-response+json"),
    ] {
        let (status, media, body) = ask(accept, "{ me { id } }").await;
        assert_eq!((status, media.as_str()), (StatusCode::OK, graphql_response));
        assert!(body["data"]["me"]["id"].is_string(), "{body}");
        for broken in ["{", "{ nope }", "query($x: Int!) { me { id } }"] {
            let (status, media, body) = ask(accept, broken).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{broken}: {body}");
            assert_eq!(media, graphql_response);
            assert!(body.get("data").is_none(), "{broken}: {body}");
            assert!(body["errors"][0]["message"].is_string());
        }
    }
    for accept in [None, Some("application/json"), Some("*/*")] {
        let (status, media, body) = ask(accept, "{").await;
        assert_eq!(status, StatusCode::OK, "{accept:?}");
        assert!(media.starts_with("application/json"), "{media}");
        assert_eq!(body["data"], Value::Null);
    }
    for content_type in [None, Some("text/plain"), Some("application/xml")] {
        let mut request = server
            .post()
            .header(AUTHORIZATION, format!("Bearer {}", server.admin))
            .body(json!({ "query": "{ me { id } }" }).to_string());
        if let Some(content_type) = content_type {
            request = request.header(CONTENT_TYPE, content_type);
        }
        let (status, body) = send(request).await;
        assert_eq!(
            status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{content_type:?}"
        );
        assert_eq!(first_error_code(&body), "BAD_REQUEST");
    }
}

/// Issue 17.8: a password in a `--monitor` URL is visible in `ps`: the service warns at
/// start-up and names the alternatives; one without a password starts quietly.
#[tokio::test]
async fn a_password_in_a_monitor_url_is_warned_about() {
    use common::serve_process::ServeProcess;
    let dir = tempfile::tempdir().unwrap();
    let serve = ServeProcess::start(
        dir.path(),
        &["--monitor", "app=postgres://app:s3cret@127.0.0.1:1/app"],
    );
    let said = serve.stderr_tail();
    assert!(
        said.contains("carries a password") && said.contains("--monitor-file"),
        "{said}"
    );
    assert!(
        !said.contains("s3cret"),
        "the warning does not repeat it: {said}"
    );
    drop(serve);
    let dir = tempfile::tempdir().unwrap();
    let serve = ServeProcess::start(
        dir.path(),
        &["--monitor", "app=postgres://app@127.0.0.1:1/app"],
    );
    assert!(!serve.stderr_tail().contains("password"));
}
