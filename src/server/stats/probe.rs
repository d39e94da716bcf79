//! Whether a monitored database can be read: reachable, and with a usable pg_stat_statements.
//! `databases` shows it beside each name, so a misconfigured target says so before anyone
//! asks it for statistics.

use std::time::{Duration, Instant};

use async_graphql::Enum;
use sqlx::postgres::PgPool;
use sqlx::{ConnectOptions, Connection};
use tokio::sync::Mutex;

/// How long a probe may take: an unreachable database must not hold `databases` up.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a probe's answer is reused: `databases` is asked on every screen refresh.
const PROBE_TTL: Duration = Duration::from_secs(10);

/// A monitored database's state.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum DatabaseState {
    /// Reachable, and pg_stat_statements answers.
    Ok,
    /// No connection within the probe's time, or the server refused the login.
    Unreachable,
    /// Connected, but pg_stat_statements cannot be read: not created in this database, not in
    /// `shared_preload_libraries`, or not visible to the monitoring role.
    PgStatStatementsMissing,
}

/// A probe's answer: the state, and why when not [`DatabaseState::Ok`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Probed {
    pub state: DatabaseState,
    pub reason: Option<String>,
}

/// The last probe of one database, shared by the requests that ask within [`PROBE_TTL`].
#[derive(Default)]
pub struct Prober {
    last: Mutex<Option<(Instant, Probed)>>,
}

impl Prober {
    /// The database's state, probed now unless a recent answer exists. Concurrent callers
    /// wait for one probe rather than each opening a connection.
    pub async fn state(&self, pool: &PgPool) -> Probed {
        let mut last = self.last.lock().await;
        if let Some((at, probed)) = last.as_ref()
            && at.elapsed() < PROBE_TTL
        {
            return probed.clone();
        }
        let probed = probe(pool).await;
        *last = Some((Instant::now(), probed.clone()));
        probed
    }
}

async fn probe(pool: &PgPool) -> Probed {
    let unreachable = |reason: String| Probed {
        state: DatabaseState::Unreachable,
        reason: Some(reason),
    };
    let answer = tokio::time::timeout(PROBE_TIMEOUT, async {
        // A connection of its own rather than the pool's: the pool retries a refused
        // connection until its timeout, and the reason would be lost.
        let mut connection = match pool.connect_options().connect().await {
            Ok(connection) => connection,
            Err(e) => return unreachable(format!("cannot connect: {e}")),
        };
        let answer = sqlx::query(super::PROBE_SQL).execute(&mut connection).await;
        let _ = connection.close().await;
        match answer {
            Ok(_) => Probed {
                state: DatabaseState::Ok,
                reason: None,
            },
            Err(e) => Probed {
                state: DatabaseState::PgStatStatementsMissing,
                reason: Some(format!(
                    "pg_stat_statements cannot be read: {e}; it needs \
                     shared_preload_libraries = 'pg_stat_statements' and \
                     CREATE EXTENSION pg_stat_statements in this database"
                )),
            },
        }
    })
    .await;
    answer.unwrap_or_else(|_| {
        unreachable(format!(
            "no connection and answer within {} s",
            PROBE_TIMEOUT.as_secs()
        ))
    })
}
