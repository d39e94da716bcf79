//! Whether a monitored database can be read: reachable, and with a usable pg_stat_statements.
//! `databases` shows it beside each name, so a misconfigured target says so before anyone
//! asks it for statistics.

use std::time::{Duration, Instant};

use async_graphql::Enum;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection};
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

use super::STATEMENT_TIMEOUT;

/// How long a caller waits for a probe: an unreachable database must not hold `databases` up.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a probe's answer is reused: `databases` is asked on every screen refresh.
const PROBE_TTL: Duration = Duration::from_secs(10);
/// How long a probe may keep its connection at all. Longer than the server's own
/// `statement_timeout`, which ends the probe's statement first: the connection is closed by
/// the probe, not dropped with a statement still running.
const PROBE_LIFETIME: Duration = STATEMENT_TIMEOUT.saturating_add(Duration::from_secs(5));

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

/// The last probe of one database, shared by the requests that ask within [`PROBE_TTL`], and
/// the probe under way.
#[derive(Default)]
pub struct Prober {
    inner: Mutex<ProberState>,
}

#[derive(Default)]
struct ProberState {
    last: Option<(Instant, Probed)>,
    /// A probe that outlived its caller's [`PROBE_TIMEOUT`]: it still holds its connection,
    /// so the next caller waits for it rather than opening another.
    running: Option<JoinHandle<Probed>>,
}

impl Prober {
    /// The database's state, probed now unless a recent answer exists. Concurrent callers
    /// wait for one probe, and a probe still under way is waited for rather than joined by
    /// another: at most one probe connection per database at any time.
    pub async fn state(&self, options: &PgConnectOptions) -> Probed {
        let mut inner = self.inner.lock().await;
        if let Some((at, probed)) = inner.last.as_ref()
            && at.elapsed() < PROBE_TTL
        {
            return probed.clone();
        }
        let mut task = match inner.running.take() {
            Some(task) if !task.is_finished() => task,
            // A probe that ended after its caller left answers for a moment long gone.
            _ => tokio::spawn(probe(options.clone())),
        };
        let probed = match tokio::time::timeout(PROBE_TIMEOUT, &mut task).await {
            Ok(Ok(probed)) => probed,
            Ok(Err(e)) => unreachable(format!("the probe failed: {e}")),
            Err(_) => {
                inner.running = Some(task);
                unreachable(format!(
                    "no connection and answer within {} s",
                    PROBE_TIMEOUT.as_secs()
                ))
            }
        };
        inner.last = Some((Instant::now(), probed.clone()));
        probed
    }
}

fn unreachable(reason: String) -> Probed {
    Probed {
        state: DatabaseState::Unreachable,
        reason: Some(reason),
    }
}

/// Connects, reads pg_stat_statements and closes the connection: within [`PROBE_LIFETIME`],
/// whoever waits for the answer.
async fn probe(options: PgConnectOptions) -> Probed {
    let answer = tokio::time::timeout(PROBE_LIFETIME, async {
        // A connection of its own rather than the pool's: the pool retries a refused
        // connection until its timeout, and the reason would be lost.
        let mut connection = match options.connect().await {
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
            Err(e) if timed_out(&e) => unreachable(format!(
                "pg_stat_statements did not answer in time (is it locked?): {e}"
            )),
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
            "no answer within {} s; the connection was closed",
            PROBE_LIFETIME.as_secs()
        ))
    })
}

/// Whether the server gave up on the statement: `lock_timeout` (55P03) or `statement_timeout`
/// (57014).
fn timed_out(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(sqlx::error::DatabaseError::code)
        .is_some_and(|code| code == "55P03" || code == "57014")
}
