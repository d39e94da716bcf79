//! The accept loop of `keydeck serve`, in place of `axum::serve`, which has no header-read
//! timeout and no cap on connections: with it, silent clients held sockets until the process
//! ran out of file descriptors and real requests were no longer accepted.
//!
//! Here every connection is HTTP/1.1 through hyper with a header-read timeout (which also
//! bounds the idle time between requests), every request runs under a timeout, and the open
//! connections are capped. At the cap, the oldest *idle* connection (no request being
//! answered: silent, half-sent headers, or kept alive between requests) is closed to make room
//! for the new one, so idle sockets can never lock out a real client; only when every
//! connection is busy does accepting wait for one to end.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::StatusCode;
use axum::response::Response;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tower::ServiceExt as _;

use crate::server::transport::http::error_response;
use crate::server::transport::limits::Limits;

/// File descriptors kept for everything but client connections: the SQLite pools (database,
/// -wal and -shm per connection), the listener, the log, the runtime.
const RESERVED_FDS: u64 = 64;

/// How long a closed idle connection may take to finish writing before it is dropped.
const IDLE_CLOSE_GRACE: Duration = Duration::from_secs(1);

/// Raises the soft open-file limit to the hard one and returns how many connections fit
/// under it: `requested`, or fewer when the limit is too low for that many (with a warning).
pub fn connection_cap(requested: usize) -> usize {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(soft) => {
            let room = usize::try_from(soft.saturating_sub(RESERVED_FDS))
                .unwrap_or(usize::MAX)
                .max(1);
            if requested > room {
                tracing::warn!(
                    requested,
                    open_file_limit = soft,
                    cap = room,
                    "the open-file limit is too low for --max-connections; serving fewer"
                );
                room
            } else {
                requested
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "could not read or raise the open-file limit");
            requested
        }
    }
}

/// Serves `app` on `listener` under `limits` until `shutdown` completes; then stops accepting,
/// lets the requests being answered finish and closes every connection.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let connections = Arc::new(Connections::default());
    let max = limits.max_connections.max(1);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(&e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // At the cap: make room, or wait until a connection ends (the new client waits too).
        while !connections.make_room(max) {
            tokio::select! {
                () = connections.ended.notified() => {}
                () = &mut shutdown => {
                    connections.close_all();
                    connections.wait_until_empty().await;
                    return Ok(());
                }
            }
        }
        let (id, conn) = connections.open();
        let app = app.clone();
        let limits = limits.clone();
        let connections = Arc::clone(&connections);
        tokio::spawn(async move {
            serve_connection(stream, peer, app, &limits, &conn).await;
            connections.ended(id);
        });
    }
    connections.close_all();
    connections.wait_until_empty().await;
    Ok(())
}

/// An accept that failed: a client gone before we took it is nothing; anything else (out of
/// file descriptors) is logged, and accepting pauses a moment rather than spinning.
async fn accept_failed(e: &io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::warn!(error = %e, "accepting a connection failed");
    tokio::time::sleep(Duration::from_millis(50)).await;
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    limits: &Limits,
    conn: &Arc<Conn>,
) {
    let _ = stream.set_nodelay(true);
    let request_timeout = limits.request_timeout;
    let service = {
        let conn = Arc::clone(conn);
        hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            let busy = Busy::start(&conn);
            let app = app.clone();
            async move {
                let response = tokio::time::timeout(request_timeout, app.oneshot(request)).await;
                drop(busy);
                Ok::<_, Infallible>(match response {
                    Ok(Ok(response)) => response,
                    Ok(Err(never)) => match never {},
                    Err(_elapsed) => request_timed_out(request_timeout),
                })
            }
        })
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    let mut connection = std::pin::pin!(connection);
    tokio::select! {
        result = connection.as_mut() => {
            if let Err(e) = result {
                tracing::debug!(error = %e, %peer, "connection ended with an error");
            }
            return;
        }
        () = conn.close.notified() => {}
    }
    // Closing: finish the response being written, if any, then drop the socket.
    connection.as_mut().graceful_shutdown();
    let grace = if conn.in_flight.load(Ordering::Acquire) == 0 {
        IDLE_CLOSE_GRACE
    } else {
        request_timeout
    };
    let _ = tokio::time::timeout(grace, connection).await;
}

fn request_timed_out(limit: Duration) -> Response {
    error_response(
        StatusCode::REQUEST_TIMEOUT,
        "REQUEST_TIMEOUT",
        &format!(
            "the request took longer than {} ms to send and answer",
            limit.as_millis()
        ),
    )
}

/// One open connection, as the accept loop sees it.
#[derive(Default)]
struct Conn {
    /// Requests being answered now; 0 means idle.
    in_flight: AtomicUsize,
    /// Tells the connection to close (at the cap, or on shutdown).
    close: Notify,
}

/// Marks a connection busy while a request on it is being answered.
struct Busy(Arc<Conn>);

impl Busy {
    fn start(conn: &Arc<Conn>) -> Busy {
        conn.in_flight.fetch_add(1, Ordering::AcqRel);
        Busy(Arc::clone(conn))
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The open connections, oldest first.
#[derive(Default)]
struct Connections {
    registry: Mutex<Registry>,
    /// Signalled whenever a connection ends.
    ended: Notify,
}

#[derive(Default)]
struct Registry {
    next_id: u64,
    /// Each connection, and whether it was already told to close to make room.
    open: BTreeMap<u64, (Arc<Conn>, bool)>,
    /// Connections not told to close: the ones the cap counts.
    live: usize,
}

impl Connections {
    fn registry(&self) -> MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether one more connection fits under `max`, closing the oldest idle one if that is
    /// what it takes.
    fn make_room(&self, max: usize) -> bool {
        let mut registry = self.registry();
        if registry.live < max {
            return true;
        }
        let oldest_idle = registry
            .open
            .values_mut()
            .find(|(conn, closing)| !*closing && conn.in_flight.load(Ordering::Acquire) == 0);
        match oldest_idle {
            Some((conn, closing)) => {
                *closing = true;
                conn.close.notify_one();
                registry.live -= 1;
                true
            }
            None => false,
        }
    }

    fn open(&self) -> (u64, Arc<Conn>) {
        let mut registry = self.registry();
        let id = registry.next_id;
        registry.next_id += 1;
        let conn = Arc::new(Conn::default());
        registry.open.insert(id, (Arc::clone(&conn), false));
        registry.live += 1;
        (id, conn)
    }

    fn ended(&self, id: u64) {
        let mut registry = self.registry();
        if let Some((_, closing)) = registry.open.remove(&id)
            && !closing
        {
            registry.live -= 1;
        }
        drop(registry);
        self.ended.notify_one();
    }

    fn close_all(&self) {
        for (conn, _) in self.registry().open.values() {
            conn.close.notify_one();
        }
    }

    async fn wait_until_empty(&self) {
        loop {
            let ended = self.ended.notified();
            if self.registry().open.is_empty() {
                return;
            }
            ended.await;
        }
    }
}
