//! `keydeck serve`: the reference key service (axum + async-graphql + sqlx).

pub mod auth;
pub mod domain;
pub mod fifo_cache;
pub mod grants;
pub mod harness;
pub mod model;
pub mod schema;
pub mod stats;
pub mod store;
pub mod transport;

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use tokio::net::TcpListener;

use crate::server::domain::authz;
use crate::server::model::{Permission, Timestamp, Visibility};
pub use crate::server::schema::{Services, Settings, schema, sdl};
use crate::server::stats::{Monitor, Sampling};
use crate::server::store::{Audit, NewKey, Store, redacted};
use crate::token;
use crate::ttl::Ttl;

use transport::http::router_with;
use transport::limits::Limits;
use transport::listener;

/// Everything `keydeck serve` is configured with.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    /// `sqlite:PATH` (or a plain path), or `postgres://…` for a shared PostgreSQL store.
    pub database_url: String,
    /// Where the bootstrap token goes (mode 0600, never overwritten); stderr when `None`.
    pub bootstrap_token_file: Option<PathBuf>,
    pub max_key_ttl: Option<Ttl>,
    pub public_url: Option<String>,
    /// `([ID:]NAME, postgres URL)` of the databases whose query statistics are served.
    pub monitor: Vec<(String, String)>,
    /// How often those are sampled and how long samples are kept.
    pub sampling: Sampling,
    /// Timeouts, the connection cap and the failed-authentication budget.
    pub limits: Limits,
    /// Audit entries older than this are deleted (hourly); `None` keeps them all.
    pub audit_retention: Option<std::time::Duration>,
    /// `--usage-retention`: keys' hourly usage rows older than this are deleted (hourly);
    /// minute rows, after a day.
    pub usage_retention: std::time::Duration,
}

/// `--usage-retention` by default: 90 days of hourly usage per key.
pub const DEFAULT_USAGE_RETENTION: std::time::Duration = std::time::Duration::from_hours(2160);

/// A service listening on a socket, as tests and `keydeck demo` run it.
pub struct Running {
    pub addr: SocketAddr,
    /// The bootstrap token, when this start created it and no file was asked for.
    pub bootstrap_token: Option<String>,
    pub task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    pub fn graphql_url(&self) -> String {
        format!("http://{}/graphql", self.addr)
    }
}

/// Opens the store, bootstraps it if empty, binds and serves in a background task.
pub async fn start(config: &ServeConfig) -> anyhow::Result<Running> {
    let store = Store::open(&config.database_url)
        .await
        .with_context(|| format!("opening the store at {}", redacted(&config.database_url)))?;
    let bootstrap_token = bootstrap(&store, config.bootstrap_token_file.as_deref()).await?;
    let socket = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("listening on {}", config.listen))?;
    let addr = socket.local_addr()?;
    let public_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    let monitor = Monitor::open(&store, &config.monitor, config.sampling, public_url).await?;
    let services = Services {
        store,
        settings: Settings {
            max_key_ttl: config.max_key_ttl,
        },
        monitor,
    };
    let samplers = services.monitor.start_sampling(&services.store);
    let pruning = config
        .audit_retention
        .map(|keep| tokio::spawn(prune_audit_log(services.store.clone(), keep)));
    let usage_upkeep = tokio::spawn(prune_usage(services.store.clone(), config.usage_retention));
    let app = router_with(schema(services.clone()), services, &config.limits);
    let limits = Limits {
        max_connections: listener::connection_cap(config.limits.max_connections),
        ..config.limits.clone()
    };
    let serving = listener::serve(socket, app, limits, shutdown_signal());
    // The samplers live as long as the service: they stop when it ends or is aborted.
    let task = tokio::spawn(async move {
        let _samplers = samplers;
        let result = serving.await;
        if let Some(pruning) = pruning {
            pruning.abort();
        }
        usage_upkeep.abort();
        result
    });
    Ok(Running {
        addr,
        bootstrap_token,
        task,
    })
}

/// How often audit entries past `--audit-retention` are deleted.
const AUDIT_PRUNE_EVERY: std::time::Duration = std::time::Duration::from_hours(1);

/// Deletes the audit entries older than `keep`, at start and then every hour.
async fn prune_audit_log(store: Store, keep: std::time::Duration) {
    let keep = i64::try_from(keep.as_secs()).unwrap_or(i64::MAX);
    loop {
        let before = model::Timestamp::now().plus_seconds(-keep);
        match store.prune_audit_log(before).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "audit entries past --audit-retention deleted"),
            Err(e) => tracing::warn!(error = %e, "could not prune the audit log"),
        }
        tokio::time::sleep(AUDIT_PRUNE_EVERY).await;
    }
}

/// How often keys' usage rows are pruned.
const USAGE_UPKEEP_EVERY: std::time::Duration = std::time::Duration::from_hours(1);

/// Deletes keys' minute usage rows older than a day (their hour rows hold the same counts)
/// and hour rows older than `keep` (`--usage-retention`), at start and then every hour, as
/// the audit pruning.
async fn prune_usage(store: Store, keep: std::time::Duration) {
    let keep = i64::try_from(keep.as_secs()).unwrap_or(i64::MAX);
    loop {
        let now = model::Timestamp::now();
        match store.prune_usage(now, now.plus_seconds(-keep)).await {
            Ok((0, 0)) => {}
            Ok((minutes, hours)) => {
                tracing::info!(minutes, hours, "key usage rows past their keeping deleted");
            }
            Err(e) => tracing::warn!(error = %e, "could not prune key usage"),
        }
        tokio::time::sleep(USAGE_UPKEEP_EVERY).await;
    }
}

/// Runs `keydeck serve` until SIGINT or SIGTERM.
pub async fn serve(config: ServeConfig) -> anyhow::Result<()> {
    let running = start(&config).await?;
    if let Some(token) = &running.bootstrap_token {
        // Shown once, on the terminal only: never through the log.
        eprintln!(
            "keydeck: created the bootstrap super_admin key. Its token is shown this once:\n\n    {token}\n"
        );
    }
    tracing::info!(addr = %running.addr, "keydeck serve listening");
    eprintln!("keydeck: serving GraphQL on {}", running.graphql_url());
    running.task.await??;
    Ok(())
}

/// SIGTERM or Ctrl-C, registered at once (before the service says it listens), so that a
/// signal arriving before the accept loop first waits still ends it cleanly rather than
/// killing it.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate());
        let interrupt = signal(SignalKind::interrupt());
        async move {
            match (term, interrupt) {
                (Ok(mut term), Ok(mut interrupt)) => {
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = interrupt.recv() => {}
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// On an empty store, creates the one super_admin key. Its token goes to `file` (created with
/// mode 0600, never overwritten) or is returned to the caller; later starts do nothing.
pub async fn bootstrap(store: &Store, file: Option<&Path>) -> anyhow::Result<Option<String>> {
    if !store.has_no_keys().await? {
        return Ok(None);
    }
    match mint_super_admin(store, file, "bootstrap", "bootstrap admin").await {
        // Another replica on the same PostgreSQL store bootstrapped it first (its key holds
        // the name): nothing left to do here.
        Err(_) if !store.has_no_keys().await? => Ok(None),
        minted => minted,
    }
}

/// `keydeck serve --recover-admin`: an operator with access to the store mints a new
/// super_admin key offline, when no usable one is left (as Grafana's `grafana cli admin
/// reset-admin-password`). The token goes to `file` only (0600, never overwritten); the
/// audit log records it with no actor.
pub async fn recover_admin(database_url: &str, file: &Path) -> anyhow::Result<()> {
    let store = Store::open(database_url)
        .await
        .with_context(|| format!("opening the store at {}", redacted(database_url)))?;
    let name = format!("recovered admin {}", Timestamp::now().rfc3339());
    mint_super_admin(&store, Some(file), "recoverAdmin", &name).await?;
    Ok(())
}

/// Creates an org-wide super_admin key that never expires, with its audit entry. The token
/// goes to `file` or, without one, back to the caller.
async fn mint_super_admin(
    store: &Store,
    file: Option<&Path>,
    action: &str,
    name: &str,
) -> anyhow::Result<Option<String>> {
    let mut out = match file {
        Some(path) => Some(create_private_file(path).with_context(|| {
            format!(
                "cannot write the token to {} (it is never overwritten)",
                path.display()
            )
        })?),
        None => None,
    };
    let token = token::generate().context("the OS random source failed")?;
    let prefix = token::display_prefix(&token);
    let roles = [crate::roles::SUPER_ADMIN.to_owned()];
    let new = NewKey {
        description: name,
        project_id: None,
        token_hash: &token::hash(&token),
        token_prefix: Some(&prefix),
        // The keys that keep the service administrable must not lapse; rotate them instead.
        expires_at: None,
        permissions: &[Permission::Read, Permission::Write],
        visibility: Visibility::OrgWide,
        owner_id: None,
        global_roles: &roles,
        memberships: &[],
    };
    let audit = Audit {
        actor_id: None,
        action,
    };
    if let Err(e) = store.insert_key(new, audit).await {
        if let Some(path) = file {
            let _ = std::fs::remove_file(path);
        }
        return Err(e.into());
    }
    match out.as_mut() {
        Some(f) => {
            writeln!(f, "{token}")?;
            f.sync_all()?;
            Ok(None)
        }
        None => Ok(Some(token)),
    }
}

fn create_private_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}
