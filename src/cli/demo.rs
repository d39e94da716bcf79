//! `keydeck demo`: the key service in-process on a temporary SQLite file, seeded through the
//! API, with the TUI logged in as its bootstrap admin. The credential stays in memory.
//!
//! Where PostgreSQL's server binaries are on the machine, the demo also brings its own
//! database for Query Stats ([`postgres`]): a throwaway cluster in the demo's temporary
//! directory, started in the background (the TUI does not wait for it), with a small shop
//! schema and a workload running inside keydeck ([`workload`]), monitored as `shop`. The
//! TUI hears how it stands through a watch channel ([`BuiltIn`]).

mod postgres;
mod workload;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use anyhow::Context;
use sqlx::postgres::PgPoolOptions;
use tokio::sync::watch;

use crate::api::{ApiClient, AuthScheme, KeyScope, MembershipSpec, NewKey};
use crate::server::stats::{Sampling, Target};
use crate::server::{self, ServeConfig};
use crate::tui::built_in::BuiltIn;

/// The name the demo's own database is monitored under.
pub const BUILT_IN_NAME: &str = "shop";

/// A running demo service and its admin client. Dropping it stops the workload and the
/// demo's PostgreSQL (waiting for it), then removes the temporary directory.
pub struct Demo {
    pub running: server::Running,
    pub client: ApiClient,
    /// How the demo's own PostgreSQL stands, for the TUI.
    pub built_in: watch::Receiver<BuiltIn>,
    /// Starts the cluster's database and then runs the workload.
    workload: Option<tokio::task::JoinHandle<()>>,
    /// The cluster and the temporary directory, shared with the hang-up exit.
    teardown: Arc<Mutex<Teardown>>,
}

/// What goes when the demo ends: the cluster (stopped, waited for), then the temporary
/// directory with the demo's database and the cluster's files.
struct Teardown {
    cluster: Option<postgres::Cluster>,
    dir: Option<tempfile::TempDir>,
}

impl Teardown {
    fn run(&mut self) {
        if let Some(mut cluster) = self.cluster.take() {
            cluster.stop();
        }
        if let Some(dir) = self.dir.take()
            && let Err(e) = dir.close()
        {
            tracing::warn!(error = %e, "removing the demo's temporary directory failed");
        }
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        if let Some(workload) = self.workload.take() {
            workload.abort();
        }
        self.teardown
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .run();
    }
}

/// How often the demo samples monitored databases.
const DEMO_STATS_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

/// Starts and seeds the demo service. `monitor` adds PostgreSQL databases for Query Stats;
/// `own_postgres` starts the demo's own (`shop`) when the binaries are there.
pub async fn start(mut monitor: Vec<(String, String)>, own_postgres: bool) -> anyhow::Result<Demo> {
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    let (status, built_in) = watch::channel(BuiltIn::Skipped);
    let mut cluster = None;
    if own_postgres {
        if let Some((label, _)) = monitor.iter().find(|(label, url)| {
            Target::from_parts(label, url).is_ok_and(|t| t.name == BUILT_IN_NAME)
        }) {
            anyhow::bail!(
                "--monitor {label}: `{BUILT_IN_NAME}` is the demo's own database; give yours \
                 another name, or add --no-postgres"
            );
        }
        match postgres::find_binaries() {
            None => {
                status.send_replace(BuiltIn::Missing(postgres::LOOKED_IN.to_owned()));
            }
            Some(bin) => {
                tracing::info!(bin = %bin.display(), "starting the demo's own PostgreSQL");
                let started = postgres::Plan::new(bin, dir.path()).and_then(|plan| {
                    monitor.insert(0, (BUILT_IN_NAME.to_owned(), plan.url(BUILT_IN_NAME)));
                    postgres::Cluster::start(plan)
                });
                match started {
                    Ok(started) => {
                        status.send_replace(BuiltIn::Starting(BUILT_IN_NAME.to_owned()));
                        cluster = Some(started);
                    }
                    Err(why) => {
                        status.send_replace(BuiltIn::Failed {
                            name: BUILT_IN_NAME.to_owned(),
                            why,
                        });
                    }
                }
            }
        }
    }
    let config = ServeConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        database_url: format!("sqlite:{}", dir.path().join("demo.db").display()),
        bootstrap_token_file: None,
        max_key_ttl: "30d".parse().ok(),
        public_url: None,
        monitor,
        // A demo is watched as it happens: statistics a few seconds old, not a minute.
        sampling: Sampling {
            interval: DEMO_STATS_INTERVAL,
            ..Sampling::default()
        },
        limits: server::transport::limits::Limits::default(),
        audit_retention: None,
        usage_retention: crate::server::DEFAULT_USAGE_RETENTION,
    };
    let running = server::start(&config).await?;
    let token = running
        .bootstrap_token
        .clone()
        .context("the demo store was not empty")?;
    let client = ApiClient::new(&running.graphql_url(), AuthScheme::Bearer, &token)?;
    seed(&client).await.context("seeding the demo data")?;
    let workload = cluster.as_mut().map(|cluster| bring_up(cluster, status));
    let teardown = Arc::new(Mutex::new(Teardown {
        cluster,
        dir: Some(dir),
    }));
    // A terminal that goes away ends the process without a drop.
    let on_hangup = Arc::clone(&teardown);
    crate::tui::before_hangup_exit(move || {
        on_hangup
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .run();
    });
    Ok(Demo {
        running,
        client,
        built_in,
        workload,
        teardown,
    })
}

/// Creates `shop` on the running cluster, with pg_stat_statements and the shop schema; a
/// pool on it for the workload.
async fn set_up(plan: postgres::Plan) -> Result<sqlx::PgPool, String> {
    let admin = PgPoolOptions::new()
        .max_connections(1)
        .connect_with(plan.connect_options("postgres"))
        .await
        .map_err(|e| format!("connecting: {e}"))?;
    let create = format!("CREATE DATABASE {BUILT_IN_NAME}");
    let created = sqlx::raw_sql(&create).execute(&admin).await;
    admin.close().await;
    created.map_err(|e| format!("creating the database: {e}"))?;
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect_with(plan.connect_options(BUILT_IN_NAME))
        .await
        .map_err(|e| format!("connecting to {BUILT_IN_NAME}: {e}"))?;
    sqlx::raw_sql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        .execute(&pool)
        .await
        .map_err(|e| format!("creating pg_stat_statements: {e}"))?;
    workload::create(&pool)
        .await
        .map_err(|e| format!("creating the shop schema: {e}"))?;
    Ok(pool)
}

/// Waits for the cluster in the background, creates `shop` with its schema, reports it up,
/// then runs the workload; a failure is reported in one line.
fn bring_up(
    cluster: &mut postgres::Cluster,
    status: watch::Sender<BuiltIn>,
) -> tokio::task::JoinHandle<()> {
    let plan = cluster.plan().clone();
    let ready = cluster.ready_later();
    tokio::spawn(async move {
        let up = async {
            ready.await?;
            set_up(plan).await
        };
        match up.await {
            Ok(pool) => {
                tracing::info!("the demo's own PostgreSQL is up");
                status.send_replace(BuiltIn::Up(BUILT_IN_NAME.to_owned()));
                workload::run(pool).await;
            }
            Err(why) => {
                tracing::warn!(%why, "the demo's own PostgreSQL did not start");
                status.send_replace(BuiltIn::Failed {
                    name: BUILT_IN_NAME.to_owned(),
                    why,
                });
            }
        }
    })
}

fn key(name: &str, scope: KeyScope, ttl: &str, write: bool, personal: bool) -> NewKey {
    NewKey {
        name: name.into(),
        scope,
        ttl: Some(ttl.into()),
        read: true,
        write,
        personal,
        token_hash: None,
    }
}

fn member(role: &str, vars: &[(&str, &[&str])]) -> MembershipSpec {
    MembershipSpec {
        role: role.into(),
        variables: vars
            .iter()
            .map(|(n, vs)| ((*n).into(), vs.iter().map(|v| (*v).into()).collect()))
            .collect(),
    }
}

/// A project with role definitions that have variables, keys of every kind, a few identities.
async fn seed(client: &ApiClient) -> anyhow::Result<()> {
    client
        .create_project(
            "my-blog",
            "My Blog",
            &[("editor", &["language"]), ("viewer", &[]), ("admin", &[])],
        )
        .await?;
    client
        .create_project("shop", "Shop", &[("support", &["region"]), ("admin", &[])])
        .await?;
    let global = |roles: &[&str]| KeyScope::Global {
        roles: roles.iter().map(|r| (*r).into()).collect(),
    };
    let project = |slug: &str, m: Vec<MembershipSpec>| KeyScope::Project {
        slug: slug.into(),
        memberships: m,
    };
    let keys = [
        key("ci deploy", global(&[]), "30d", true, false),
        key("metrics reader", global(&["monitor"]), "14d", false, false),
        key(
            "ops lead",
            global(&["project_admin", "monitor"]),
            "30d",
            true,
            true,
        ),
        key(
            "blog editor (cs)",
            project("my-blog", vec![member("editor", &[("language", &["cs"])])]),
            "30d",
            true,
            false,
        ),
        key(
            "blog editor (en, de)",
            project(
                "my-blog",
                vec![member("editor", &[("language", &["en", "de"])])],
            ),
            "3d",
            true,
            false,
        ),
        key(
            "blog preview",
            project("my-blog", vec![member("viewer", &[])]),
            "12h",
            false,
            false,
        ),
        key(
            "shop support EU",
            project("shop", vec![member("support", &[("region", &["eu"])])]),
            "1M",
            true,
            false,
        ),
        key("old rotation key", global(&[]), "30d", true, false),
        key("one-second key", global(&[]), "1s", false, false),
    ];
    let mut created = Vec::new();
    for k in &keys {
        created.push(client.create_key(k).await?);
    }
    // A key registered from a hash (its token never reached the service), and a disabled one.
    let local = crate::token::generate()?;
    client
        .create_key(&NewKey {
            token_hash: Some(crate::token::hash(&local)),
            ..key("imported from vault", global(&[]), "30d", false, false)
        })
        .await?;
    if let Some(old) = created.get(7) {
        client.set_key_enabled(&old.id, false).await?;
    }
    Ok(())
}
