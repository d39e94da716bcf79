//! The demo's own PostgreSQL: a throwaway cluster in the demo's temporary directory, found
//! where the server binaries usually are, started in the background and stopped with the demo.
//!
//! Layout: `<demo dir>/pg` holds the cluster's unix socket (`.s.PGSQL.5432`; it listens on no
//! TCP port, so it never competes for one) and logs, `<demo dir>/pg/data` the cluster. As root
//! (initdb refuses root) the cluster is owned by and runs as the `postgres` user: `pg` is
//! theirs, and the demo directory lets the `postgres` group through (mode 0710).
//!
//! The postmaster is a child of a thread of its own that lives as long as the cluster, started
//! through `setpriv --pdeathsig KILL` where util-linux has it: when keydeck dies in any way
//! (SIGKILL included) the postmaster is killed with it, and its backends follow. [`Cluster`]'s
//! drop stops it cleanly (SIGQUIT, PostgreSQL's immediate shutdown) and waits for it; the
//! demo's directory goes after. Only after a SIGKILL does the directory stay behind in the
//! temporary directory.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use sqlx::Connection as _;
use sqlx::postgres::{PgConnectOptions, PgConnection};

/// The port in the socket's name; no TCP port is opened.
const PORT: u16 = 5432;
/// The superuser initdb creates, whom the demo connects as.
const SUPERUSER: &str = "postgres";
/// The unprivileged user the cluster runs as when keydeck runs as root.
const RUN_AS: &str = "postgres";
/// How long the server may take to accept connections.
const READY_WITHIN: Duration = Duration::from_mins(1);
/// How long an immediate shutdown may take before the postmaster is killed.
const STOP_WITHIN: Duration = Duration::from_secs(5);

/// Where the demo looked for PostgreSQL's server binaries, for the message that says it found
/// none.
pub const LOOKED_IN: &str = "PATH, pg_config --bindir, /usr/lib/postgresql/*/bin, \
     /opt/homebrew/opt/postgresql*/bin, /usr/local/opt/postgresql*/bin";

/// The directory holding `initdb` and `postgres`: the first of `PATH`, `pg_config --bindir`,
/// the newest `/usr/lib/postgresql/*/bin`, Homebrew's prefixes (newest first).
pub fn find_binaries() -> Option<PathBuf> {
    let has_server = |dir: &Path| dir.join("initdb").is_file() && dir.join("postgres").is_file();
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default();
    let pg_config = Command::new("pg_config")
        .arg("--bindir")
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
    on_path
        .into_iter()
        .chain(pg_config)
        .chain(newest_first("/usr/lib/postgresql", "", "bin"))
        .chain(newest_first("/opt/homebrew/opt", "postgresql", "bin"))
        .chain(newest_first("/usr/local/opt", "postgresql", "bin"))
        .find(|dir| has_server(dir))
}

/// `parent/<prefix>…/<sub>` for every entry of `parent` whose name starts with `prefix`, the
/// highest version first (`postgresql@17` before `postgresql@9`; `15` before `9.6`).
fn newest_first(parent: &str, prefix: &str, sub: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return Vec::new();
    };
    let mut found: Vec<(Vec<u32>, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let rest = name.strip_prefix(prefix)?;
            let version: Vec<u32> = rest
                .split(|c: char| !c.is_ascii_digit())
                .filter(|part| !part.is_empty())
                .filter_map(|part| part.parse().ok())
                .collect();
            Some((version, entry.path().join(sub)))
        })
        .collect();
    found.sort_by(|a, b| b.0.cmp(&a.0));
    found.into_iter().map(|(_, path)| path).collect()
}

/// A cluster to be, in `<demo dir>/pg`, and the user it runs as.
#[derive(Debug, Clone)]
pub struct Plan {
    bin: PathBuf,
    /// `<demo dir>/pg`: the socket, the logs, and `data`.
    home: PathBuf,
    /// Who runs the binaries, when not keydeck's own user (`postgres`, as root).
    user: Option<String>,
    /// `setpriv`, when util-linux has it: the postmaster then dies with keydeck.
    setpriv: bool,
}

impl Plan {
    /// Prepares `<demo_dir>/pg` for a cluster of the binaries in `bin`: as root, owned by the
    /// `postgres` user, with `demo_dir` open to its group.
    pub fn new(bin: PathBuf, demo_dir: &Path) -> Result<Plan, String> {
        let home = demo_dir.join("pg");
        std::fs::create_dir(&home).map_err(|e| format!("creating {}: {e}", home.display()))?;
        let setpriv = Command::new("setpriv")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        let user = if owned_by_root(demo_dir) {
            hand_over(demo_dir, &home)?;
            if !setpriv {
                return Err(
                    "keydeck runs as root and needs setpriv (util-linux) to run \
                            PostgreSQL as the postgres user"
                        .into(),
                );
            }
            Some(RUN_AS.to_owned())
        } else {
            None
        };
        Ok(Plan {
            bin,
            home,
            user,
            setpriv,
        })
    }

    /// The URL of database `name` of the cluster, through its socket.
    pub fn url(&self, name: &str) -> String {
        format!(
            "postgres://{SUPERUSER}@localhost/{name}?host={}&port={PORT}",
            percent_encode(&self.home.to_string_lossy())
        )
    }

    /// How the demo connects to database `name`.
    pub fn connect_options(&self, name: &str) -> PgConnectOptions {
        PgConnectOptions::new()
            .socket(&self.home)
            .port(PORT)
            .username(SUPERUSER)
            .database(name)
            .application_name("keydeck-demo-workload")
    }

    fn data(&self) -> PathBuf {
        self.home.join("data")
    }

    /// `program` of the binaries, run as the cluster's user; `die_with_keydeck` adds the
    /// parent-death signal when `setpriv` is there.
    fn command(&self, program: &str, die_with_keydeck: bool) -> Command {
        let binary = self.bin.join(program);
        if !self.setpriv {
            return Command::new(binary);
        }
        let mut command = Command::new("setpriv");
        if let Some(user) = &self.user {
            command.args(["--reuid", user, "--regid", user, "--init-groups"]);
        }
        if die_with_keydeck {
            command.args(["--pdeathsig", "KILL"]);
        }
        command.arg("--").arg(binary);
        command
    }

    /// `initdb`, its output in `pg/initdb.log`; on failure, the log's last line says why.
    fn initdb(&self) -> Result<(), String> {
        let log_path = self.home.join("initdb.log");
        let log = File::create(&log_path).map_err(|e| format!("creating the initdb log: {e}"))?;
        let err = log
            .try_clone()
            .map_err(|e| format!("opening the initdb log: {e}"))?;
        let status = self
            .command("initdb", false)
            .arg("-D")
            .arg(self.data())
            .args([
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--no-sync",
                "--no-locale",
                "-E",
                "UTF8",
            ])
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .status()
            .map_err(|e| format!("running initdb: {e}"))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("initdb failed: {}", log_tail(&log_path)))
        }
    }

    /// The postmaster, in a process group of its own (a signal meant for the terminal's
    /// foreground job is not for it), its output in `pg/server.log`.
    fn spawn_postmaster(&self) -> Result<std::process::Child, String> {
        let log =
            File::create(self.server_log()).map_err(|e| format!("creating the server log: {e}"))?;
        let err = log
            .try_clone()
            .map_err(|e| format!("opening the server log: {e}"))?;
        let mut command = self.command("postgres", true);
        command
            .arg("-D")
            .arg(self.data())
            .arg("-k")
            .arg(&self.home)
            .arg("-p")
            .arg(PORT.to_string());
        for setting in [
            "listen_addresses=",
            "shared_preload_libraries=pg_stat_statements",
            "pg_stat_statements.track=top",
            "track_io_timing=on",
            "fsync=off",
            "synchronous_commit=off",
            "full_page_writes=off",
            "max_connections=20",
            "shared_buffers=32MB",
        ] {
            command.arg("-c").arg(setting);
        }
        command.stdin(Stdio::null()).stdout(log).stderr(err);
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        command
            .spawn()
            .map_err(|e| format!("starting postgres: {e}"))
    }

    fn server_log(&self) -> PathBuf {
        self.home.join("server.log")
    }
}

/// Whether `path` (made by this process) is root's: keydeck runs as root.
fn owned_by_root(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        std::fs::metadata(path).is_ok_and(|m| m.uid() == 0)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        false
    }
}

/// Gives `home` to the `postgres` user and lets its group through `demo_dir` (0710).
fn hand_over(demo_dir: &Path, home: &Path) -> Result<(), String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let id = |flag: &str| -> Result<u32, String> {
            let out = Command::new("id")
                .args([flag, RUN_AS])
                .output()
                .map_err(|e| format!("running id: {e}"))?;
            String::from_utf8_lossy(&out.stdout)
                .trim()
                .parse()
                .map_err(|_| {
                    format!(
                        "keydeck runs as root and there is no `{RUN_AS}` user to run \
                         PostgreSQL as (initdb refuses root)"
                    )
                })
        };
        let (uid, gid) = (id("-u")?, id("-g")?);
        let fail =
            |what: &str, path: &Path, e: std::io::Error| format!("{what} {}: {e}", path.display());
        std::os::unix::fs::chown(home, Some(uid), Some(gid))
            .map_err(|e| fail("handing over", home, e))?;
        std::fs::set_permissions(home, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| fail("setting the mode of", home, e))?;
        std::os::unix::fs::chown(demo_dir, None, Some(gid))
            .map_err(|e| fail("opening", demo_dir, e))?;
        std::fs::set_permissions(demo_dir, std::fs::Permissions::from_mode(0o710))
            .map_err(|e| fail("setting the mode of", demo_dir, e))?;
        Ok(())
    }
    #[cfg(not(unix))]
    {
        let _ = (demo_dir, home);
        Ok(())
    }
}

/// `path` for a URL's query: everything but unreserved characters and `/` percent-encoded.
fn percent_encode(path: &str) -> String {
    path.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The last non-empty line of a log, for a one-line reason.
fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .rev()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .map_or_else(
            || format!("no output (see {})", path.display()),
            str::to_owned,
        )
}

/// What the thread keeping the postmaster and the [`Cluster`] guard share.
#[derive(Default)]
struct Keep {
    /// The postmaster's pid, once spawned.
    pid: Option<u32>,
    /// The postmaster exited (or never will start).
    exited: bool,
    /// The demo is ending: start nothing more.
    stopping: bool,
}

#[derive(Default)]
struct Keeper {
    state: Mutex<Keep>,
    changed: Condvar,
}

impl Keeper {
    fn lock(&self) -> MutexGuard<'_, Keep> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn mark_exited(&self) {
        self.lock().exited = true;
        self.changed.notify_all();
    }

    /// Waits up to `within` for the postmaster to exit; whether it did.
    fn wait_exit<'a>(
        &self,
        mut state: MutexGuard<'a, Keep>,
        within: Duration,
    ) -> (MutexGuard<'a, Keep>, bool) {
        let deadline = Instant::now() + within;
        while !state.exited {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return (state, false);
            }
            state = self
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        (state, true)
    }
}

/// The running (or starting) cluster. Dropping it stops the postmaster and waits for it.
pub struct Cluster {
    plan: Plan,
    keeper: Arc<Keeper>,
    thread: Option<std::thread::JoinHandle<()>>,
    started: Option<tokio::sync::oneshot::Receiver<Result<(), String>>>,
}

impl Cluster {
    /// Starts `initdb` and then the postmaster on a thread of their own; [`Cluster::ready`]
    /// says when it accepts connections.
    pub fn start(plan: Plan) -> Result<Cluster, String> {
        let keeper = Arc::new(Keeper::default());
        let (tx, rx) = tokio::sync::oneshot::channel();
        let thread = {
            let (plan, keeper) = (plan.clone(), Arc::clone(&keeper));
            std::thread::Builder::new()
                .name("demo-postgres".into())
                .spawn(move || keep(&plan, &keeper, tx))
                .map_err(|e| format!("starting a thread: {e}"))?
        };
        Ok(Cluster {
            plan,
            keeper,
            thread: Some(thread),
            started: Some(rx),
        })
    }

    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// What waits until the server accepts connections (why not, in one line): a future of
    /// its own, to await in a task while the guard stays with the demo.
    pub fn ready_later(
        &mut self,
    ) -> impl std::future::Future<Output = Result<(), String>> + Send + 'static {
        let started = self.started.take();
        let (plan, keeper) = (self.plan.clone(), Arc::clone(&self.keeper));
        async move {
            let started = started.ok_or("the cluster was already awaited")?;
            started
                .await
                .map_err(|_| "the PostgreSQL thread ended".to_owned())??;
            let options = plan.connect_options("postgres");
            let deadline = Instant::now() + READY_WITHIN;
            loop {
                match PgConnection::connect_with(&options).await {
                    Ok(conn) => {
                        let _ = conn.close().await;
                        return Ok(());
                    }
                    Err(e) => {
                        if keeper.lock().exited {
                            return Err(format!(
                                "postgres exited: {}",
                                log_tail(&plan.server_log())
                            ));
                        }
                        if Instant::now() > deadline {
                            return Err(format!(
                                "postgres did not accept connections within {} s: {e}",
                                READY_WITHIN.as_secs()
                            ));
                        }
                    }
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }

    /// Stops the postmaster (immediate shutdown, then a kill if it lingers) and waits for the
    /// thread keeping it. Blocking; idempotent.
    pub fn stop(&mut self) {
        let mut state = self.keeper.lock();
        state.stopping = true;
        if let Some(pid) = state.pid
            && !state.exited
        {
            signal(pid, "QUIT");
            let (after, stopped) = self.keeper.wait_exit(state, STOP_WITHIN);
            state = after;
            if !stopped {
                tracing::warn!(pid, "the demo's postgres ignored SIGQUIT; killing it");
                signal(pid, "KILL");
                state = self.keeper.wait_exit(state, STOP_WITHIN).0;
            }
        }
        drop(state);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The keeping thread: initdb, the postmaster, then wait for it to exit.
fn keep(plan: &Plan, keeper: &Keeper, started: tokio::sync::oneshot::Sender<Result<(), String>>) {
    if let Err(e) = plan.initdb() {
        keeper.mark_exited();
        let _ = started.send(Err(e));
        return;
    }
    let mut child = {
        let mut state = keeper.lock();
        if state.stopping {
            state.exited = true;
            return;
        }
        match plan.spawn_postmaster() {
            Ok(child) => {
                state.pid = Some(child.id());
                child
            }
            Err(e) => {
                state.exited = true;
                drop(state);
                let _ = started.send(Err(e));
                return;
            }
        }
    };
    let _ = started.send(Ok(()));
    let status = child.wait();
    tracing::info!(?status, "the demo's postgres exited");
    keeper.mark_exited();
}

/// Sends `signal` to `pid` (the postmaster; as root, the `postgres` user's) with kill(1): the
/// standard library sends only SIGKILL, and keydeck has no unsafe code.
fn signal(pid: u32, signal: &str) {
    let sent = Command::new("kill")
        .args(["-s", signal, &pid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !sent.is_ok_and(|s| s.success()) {
        tracing::warn!(pid, signal, "signalling the demo's postgres failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_sort_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["9.6", "15", "13", "postgresql@17", "postgresql@9", "other"] {
            std::fs::create_dir(dir.path().join(name)).unwrap();
        }
        let parent = dir.path().to_str().unwrap();
        let names = |found: Vec<PathBuf>| -> Vec<String> {
            found
                .iter()
                .map(|p| p.parent().unwrap().file_name().unwrap())
                .map(|n| n.to_string_lossy().into_owned())
                .collect()
        };
        assert_eq!(
            names(newest_first(parent, "postgresql", "bin")),
            ["postgresql@17", "postgresql@9"]
        );
        assert_eq!(
            names(newest_first(parent, "", "bin"))[..3],
            ["postgresql@17", "15", "13"]
        );
    }

    #[test]
    fn a_socket_url_names_the_directory() {
        let plan = Plan {
            bin: PathBuf::from("/usr/bin"),
            home: PathBuf::from("/tmp/a b/pg"),
            user: None,
            setpriv: false,
        };
        let url = plan.url("shop");
        assert_eq!(
            url,
            "postgres://postgres@localhost/shop?host=/tmp/a%20b/pg&port=5432"
        );
        let options: PgConnectOptions = url.parse().unwrap();
        assert_eq!(
            options.get_socket().map(PathBuf::as_path),
            Some(Path::new("/tmp/a b/pg"))
        );
        assert_eq!(options.get_database(), Some("shop"));
    }
}
