//! The service's router in process, without a socket: for the fuzzer (tests/fuzz), which
//! drives requests through it as fast as it can build them.

use anyhow::Context as _;
use axum::Router;

use crate::server::bootstrap;
use crate::server::schema::{Services, Settings, schema};
use crate::server::stats::Monitor;
use crate::server::store::{Store, redacted};
use crate::server::transport::http::router;

/// The router over a store at `database_url` (bootstrapped if empty, like `keydeck serve`),
/// and the bootstrap super_admin token when this call created it.
pub async fn in_process(database_url: &str) -> anyhow::Result<(Router, Option<String>)> {
    let store = Store::open(database_url)
        .await
        .with_context(|| format!("opening the store at {}", redacted(database_url)))?;
    let admin = bootstrap(&store, None).await?;
    let services = Services {
        store,
        settings: Settings {
            max_key_ttl: Some("30d".parse().context("the default maximum TTL")?),
        },
        monitor: Monitor::default(),
    };
    Ok((router(schema(services.clone()), services), admin))
}
