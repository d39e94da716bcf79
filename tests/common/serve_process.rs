//! `keydeck serve` as its own process (the real binary), for the tests that must see the
//! whole process: whether it died, its peak memory, what a SIGKILL leaves in the store, several
//! replicas on one PostgreSQL database.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the binary prints on stderr once it accepts requests.
const READY: &str = "keydeck: serving GraphQL on http://";
/// How many of the last stderr lines are kept to explain a failure.
const TAIL_LINES: usize = 40;

/// A running `keydeck serve` over `DIR/k.db`. Dropping it kills the process (SIGKILL) and
/// waits for it, so a failing test never leaves a server behind.
pub struct ServeProcess {
    child: Child,
    pub addr: SocketAddr,
    /// The last lines the process wrote on stderr.
    stderr_tail: Arc<Mutex<Vec<String>>>,
}

impl ServeProcess {
    /// Starts the binary on an ephemeral loopback port over the store in `dir` (created on
    /// the first start, with the bootstrap token in `DIR/admin.token`), plus `extra` flags,
    /// and waits until it says where it listens.
    pub fn start(dir: &Path, extra: &[&str]) -> ServeProcess {
        let db = format!("sqlite:{}", Self::db_path_in(dir).display());
        Self::start_on(&db, dir, extra)
    }

    /// Like [`ServeProcess::start`], over the store at `db` (e.g. `postgres://…`); `dir`
    /// holds only the bootstrap token file.
    pub fn start_on(db: &str, dir: &Path, extra: &[&str]) -> ServeProcess {
        Self::start_listening(db, "127.0.0.1:0", dir, extra)
    }

    /// Starts the service of the store in `dir` again where it listened before (`addr`):
    /// clients that knew it find it back.
    pub fn restart_at(dir: &Path, addr: SocketAddr, extra: &[&str]) -> ServeProcess {
        let db = format!("sqlite:{}", Self::db_path_in(dir).display());
        Self::start_listening(&db, &addr.to_string(), dir, extra)
    }

    // The child goes into the returned value, whose Drop kills and waits for it.
    #[allow(clippy::zombie_processes)]
    fn start_listening(db: &str, listen: &str, dir: &Path, extra: &[&str]) -> ServeProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_keydeck"))
            .args(["serve", "--listen", listen, "--db", db])
            .arg("--bootstrap-token-file")
            .arg(Self::token_path_in(dir))
            .args(extra)
            .env_remove("KEYDECK_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("keydeck serve starts");
        let stderr = child.stderr.take().expect("stderr is piped");
        let stderr_tail = Arc::new(Mutex::new(Vec::new()));
        let (ready_tx, ready_rx) = mpsc::channel();
        let tail = Arc::clone(&stderr_tail);
        // Drains stderr for the whole life of the process: a full pipe would block the server.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.strip_prefix(READY) {
                    let addr = rest.trim_end_matches("/graphql").parse::<SocketAddr>();
                    let _ = ready_tx.send(addr);
                }
                let mut tail = tail.lock().unwrap();
                if tail.len() == TAIL_LINES {
                    tail.remove(0);
                }
                tail.push(line);
            }
        });
        let addr = match ready_rx.recv_timeout(Duration::from_mins(1)) {
            Ok(Ok(addr)) => addr,
            outcome => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "keydeck serve did not say where it listens ({outcome:?}); stderr:\n{}",
                    stderr_tail.lock().unwrap().join("\n")
                );
            }
        };
        ServeProcess {
            child,
            addr,
            stderr_tail,
        }
    }

    /// The SQLite file of a store directory.
    pub fn db_path_in(dir: &Path) -> PathBuf {
        dir.join("k.db")
    }

    /// Where the first start wrote the bootstrap super_admin token.
    pub fn token_path_in(dir: &Path) -> PathBuf {
        dir.join("admin.token")
    }

    /// The bootstrap super_admin token of the store in `dir`.
    pub fn admin_token_in(dir: &Path) -> String {
        std::fs::read_to_string(Self::token_path_in(dir))
            .expect("the bootstrap token file")
            .trim()
            .to_owned()
    }

    pub fn graphql_url(&self) -> String {
        format!("http://{}/graphql", self.addr)
    }

    /// `Some` once the process has exited, for whatever reason.
    pub fn exit_status(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().expect("the child can be polled")
    }

    /// The process's peak resident set size (VmHWM), in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("/proc/PID/status of a live process");
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM in /proc/PID/status")
    }

    /// SIGKILL, then reap: the process gets no chance to finish anything.
    pub fn kill(mut self) {
        self.kill_now();
    }

    fn kill_now(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The last lines of stderr, for failure messages.
    pub fn stderr_tail(&self) -> String {
        self.stderr_tail.lock().unwrap().join("\n")
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        self.kill_now();
    }
}

/// A direct connection to a store's SQLite file, to check what the service wrote.
pub async fn open_db(db: &Path) -> sqlx::SqliteConnection {
    use sqlx::Connection as _;
    sqlx::SqliteConnection::connect(&format!("sqlite:{}", db.display()))
        .await
        .expect("the store opens")
}

/// `PRAGMA integrity_check` of a SQLite file, through sqlx, after its server stopped.
pub async fn integrity_check(db: &Path) -> String {
    let rows: Vec<(String,)> = sqlx::query_as("PRAGMA integrity_check")
        .fetch_all(&mut open_db(db).await)
        .await
        .expect("integrity_check runs");
    rows.into_iter()
        .map(|(r,)| r)
        .collect::<Vec<_>>()
        .join("; ")
}
