//! Arbitrary bytes through the service's real router, in process, over a real SQLite store:
//! the first byte picks the content type, the second the Authorization header, the rest is
//! the body. Whatever the bytes, the answer is never a 5xx (and the process never panics or
//! aborts, which libFuzzer reports by itself).
#![no_main]

use std::sync::OnceLock;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, header};
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt as _;

/// Built once per fuzzing process: the runtime, the router and its store, the admin token.
struct Service {
    runtime: tokio::runtime::Runtime,
    router: Router,
    admin: String,
    _dir: tempfile::TempDir,
}

fn service() -> &'static Service {
    static SERVICE: OnceLock<Service> = OnceLock::new();
    SERVICE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let url = format!("sqlite:{}", dir.path().join("fuzz.db").display());
        let (router, admin) = runtime
            .block_on(keydeck::server::harness::in_process(&url))
            .expect("the router over a fresh store");
        Service {
            runtime,
            router,
            admin: admin.expect("a fresh store hands out the bootstrap token"),
            _dir: dir,
        }
    })
}

const BOUNDARY: &str = "fuzzBoundary";

fuzz_target!(|data: &[u8]| {
    let [kind, auth, body @ ..] = data else {
        return;
    };
    let service = service();
    let mut request = Request::post("/graphql");
    let content_type = match kind % 7 {
        0 => Some("application/json".to_owned()),
        1 => Some("application/x-www-form-urlencoded".to_owned()),
        2 => Some(format!("multipart/form-data; boundary={BOUNDARY}")),
        3 => Some("multipart/form-data".to_owned()),
        4 => Some("text/plain".to_owned()),
        5 => Some("application/json; charset=utf-8".to_owned()),
        _ => None,
    };
    if let Some(content_type) = content_type {
        request = request.header(header::CONTENT_TYPE, content_type);
    }
    let authorization = match auth % 5 {
        0 | 1 => Some(format!("Bearer {}", service.admin)),
        2 => Some(format!("Token {}", service.admin)),
        3 => Some("Bearer kd_00000000000000000000000000000000000000".to_owned()),
        _ => None,
    };
    if let Some(authorization) = authorization {
        request = request.header(header::AUTHORIZATION, authorization);
    }
    let request = request
        .body(Body::from(body.to_vec()))
        .expect("a request from valid parts");
    let response = service
        .runtime
        .block_on(service.router.clone().oneshot(request))
        .expect("the router is infallible");
    assert!(
        !response.status().is_server_error(),
        "{} for {:?}",
        response.status(),
        String::from_utf8_lossy(data)
    );
});
