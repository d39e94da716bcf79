//! The store's generation: how many changes to keys, identities, roles or memberships have
//! been committed, which authenticated principals are cached against (`auth::Authenticator`).
//!
//! On SQLite every change goes through this process, which counts it at commit. On
//! PostgreSQL other replicas change the database too: each write transaction announces itself
//! with `pg_notify` (delivered only if it commits), and every store listens on that channel
//! and counts what it hears. When the listening connection drops, notifications may be lost:
//! the store counts one change on losing it and on getting it back, and in between polls the
//! `changes` row (bumped by every write transaction) every [`POLL`]. Together with the cache's
//! own expiry that keeps the documented bound: a change on one replica reaches the others'
//! authentication within one second.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use sqlx::postgres::PgListener;
use sqlx::{Any, AnyConnection, AnyPool};
use tokio::task::JoinHandle;

use super::StoreResult;

/// The notification channel of committed changes.
const CHANNEL: &str = "keydeck_changes";
/// How often the `changes` row is read while not listening.
const POLL: Duration = Duration::from_millis(250);

#[derive(Default)]
pub struct Changes {
    generation: AtomicU64,
    /// The listener of a PostgreSQL store; stopped when the last clone of the store goes.
    watcher: Option<JoinHandle<()>>,
}

impl Drop for Changes {
    fn drop(&mut self) {
        if let Some(watcher) = &self.watcher {
            watcher.abort();
        }
    }
}

impl Changes {
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Records that a change was committed (here or, on PostgreSQL, by any replica).
    pub fn bump(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// A generation kept current with the changes of every replica on the PostgreSQL database
    /// at `url` (which `pool` connects to).
    pub fn listening(url: &str, pool: AnyPool) -> Arc<Self> {
        let url = url.to_owned();
        Arc::new_cyclic(|me: &Weak<Changes>| Changes {
            generation: AtomicU64::new(0),
            watcher: Some(tokio::spawn(watch(me.clone(), url, pool))),
        })
    }
}

/// Inside a write transaction: bumps the `changes` row and notifies the listeners. Both take
/// effect only if the transaction commits.
pub async fn announce(conn: &mut AnyConnection) -> StoreResult<()> {
    sqlx::query("UPDATE changes SET n = n + 1 WHERE id = 1")
        .execute(&mut *conn)
        .await?;
    sqlx::query::<Any>("SELECT pg_notify($1, '')")
        .bind(CHANNEL)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Listens for announced changes for as long as the store lives; polls while it cannot.
async fn watch(changes: Weak<Changes>, url: String, pool: AnyPool) {
    loop {
        let mut listener = tokio::select! {
            listener = listen(&url) => listener,
            () = poll(&changes, &pool) => return,
        };
        // Whatever was announced before this connection listened is lost: count it.
        let Some(live) = changes.upgrade() else {
            return;
        };
        live.bump();
        drop(live);
        while let Ok(Some(_)) = listener.try_recv().await {
            let Some(live) = changes.upgrade() else {
                return;
            };
            live.bump();
        }
        tracing::warn!("lost the connection listening for changes; polling until it is back");
        let Some(live) = changes.upgrade() else {
            return;
        };
        live.bump();
    }
}

/// A listener on [`CHANNEL`], retrying until it has one.
async fn listen(url: &str) -> PgListener {
    loop {
        match PgListener::connect(url).await {
            Ok(mut listener) => {
                // Reconnecting is this module's business: a lost connection ends `try_recv`.
                listener.eager_reconnect(false);
                match listener.listen(CHANNEL).await {
                    Ok(()) => return listener,
                    Err(e) => tracing::warn!("cannot listen for changes: {e}"),
                }
            }
            Err(e) => tracing::warn!("cannot connect to listen for changes: {e}"),
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Counts a change whenever the `changes` row moves; returns only when the store is gone.
async fn poll(changes: &Weak<Changes>, pool: &AnyPool) {
    let mut last: Option<i64> = None;
    loop {
        let now: Option<i64> = sqlx::query_scalar("SELECT n FROM changes WHERE id = 1")
            .fetch_one(pool)
            .await
            .ok();
        let Some(live) = changes.upgrade() else {
            return;
        };
        if now.is_none() || (last.is_some() && now != last) {
            // A failed read may hide a change: count one, to be safe.
            live.bump();
        }
        if now.is_some() {
            last = now;
        }
        drop(live);
        tokio::time::sleep(POLL).await;
    }
}
