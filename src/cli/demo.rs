//! `keydeck demo`: the key service in-process on a temporary SQLite file, seeded through the
//! API, with the TUI logged in as its bootstrap admin. The credential stays in memory.

use std::net::SocketAddr;

use anyhow::Context;

use crate::api::{ApiClient, AuthScheme, KeyScope, MembershipSpec, NewKey};
use crate::server::stats::Sampling;
use crate::server::{self, ServeConfig};

/// A running demo service and its admin client.
pub struct Demo {
    pub running: server::Running,
    pub client: ApiClient,
    /// Keeps the temporary database alive as long as the demo runs.
    _dir: tempfile::TempDir,
}

/// Starts and seeds the demo service. `monitor` adds PostgreSQL databases for Query Stats.
/// How often the demo samples monitored databases.
const DEMO_STATS_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

pub async fn start(monitor: Vec<(String, String)>) -> anyhow::Result<Demo> {
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
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
        limits: server::Limits::default(),
        audit_retention: None,
    };
    let running = server::start(&config).await?;
    let token = running
        .bootstrap_token
        .clone()
        .context("the demo store was not empty")?;
    let client = ApiClient::new(&running.graphql_url(), AuthScheme::Bearer, &token)?;
    seed(&client).await.context("seeding the demo data")?;
    Ok(Demo {
        running,
        client,
        _dir: dir,
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
