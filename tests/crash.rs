//! kill -9 in the middle of a write burst, five times over one store: whatever the service
//! answered `ok: true` to must survive, with its audit row, in a store that passes
//! `PRAGMA integrity_check`. This is the evidence that every change commits before its reply
//! and together with its audit entry.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use reqwest::StatusCode;
use reqwest::header::AUTHORIZATION;
use serde_json::{Value, json};

use common::CREATE_GLOBAL_API_KEY_IDS;
use common::serve_process::{ServeProcess, integrity_check, open_db};

const ROUNDS: usize = 5;
const WRITERS: usize = 20;

/// A key the service said it created: its id and token.
#[derive(Debug, Clone)]
struct Created {
    id: String,
    token: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn keys_answered_ok_survive_sigkill_mid_burst_with_their_audit_rows() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let db = ServeProcess::db_path_in(dir.path());
    let mut rng = StdRng::seed_from_u64(0x6b69_6c6c);
    let client = reqwest::Client::new();
    let mut created: Vec<Created> = Vec::new();
    for round in 0..ROUNDS {
        let mut server = ServeProcess::start(dir.path(), &[]);
        let admin = ServeProcess::admin_token_in(dir.path());
        // Everything acknowledged before this start must have survived the previous kill.
        check_tokens(&client, &server, &created, round).await;

        let acknowledged = Arc::new(Mutex::new(Vec::new()));
        let answered = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let writers: Vec<_> = (0..WRITERS)
            .map(|writer| {
                let burst = Burst {
                    client: client.clone(),
                    url: server.graphql_url(),
                    admin: admin.clone(),
                    acknowledged: Arc::clone(&acknowledged),
                    answered: Arc::clone(&answered),
                    stop: Arc::clone(&stop),
                };
                tokio::spawn(burst.run(round, writer))
            })
            .collect();
        // Mid-burst: every writer is running and some keys are already in; then a random
        // moment later, SIGKILL.
        common::eventually("the writers to get answers", || {
            let answered = Arc::clone(&answered);
            async move { answered.load(Ordering::SeqCst) >= WRITERS }
        })
        .await;
        tokio::time::sleep(Duration::from_millis(rng.random_range(0..400))).await;
        assert_eq!(
            server.exit_status(),
            None,
            "round {round}: the server died before the kill:\n{}",
            server.stderr_tail()
        );
        server.kill();
        stop.store(true, Ordering::SeqCst);
        for writer in writers {
            writer.await.expect("a writer task");
        }
        let acknowledged = std::mem::take(&mut *acknowledged.lock().unwrap());
        assert!(
            !acknowledged.is_empty(),
            "round {round}: no key was created before the kill"
        );
        println!(
            "round {round}: {} keys acknowledged before SIGKILL ({} answers in all)",
            acknowledged.len(),
            answered.load(Ordering::SeqCst)
        );
        created.extend(acknowledged);

        assert_eq!(integrity_check(&db).await, "ok", "round {round}");
        check_audit_rows(&db, &created, round).await;
    }
    let server = ServeProcess::start(dir.path(), &[]);
    check_tokens(&client, &server, &created, ROUNDS).await;
    server.kill();
    assert_eq!(integrity_check(&db).await, "ok", "after the last round");
}

/// One writer: creates keys as fast as the service answers, until the service is gone.
struct Burst {
    client: reqwest::Client,
    url: String,
    admin: String,
    acknowledged: Arc<Mutex<Vec<Created>>>,
    answered: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl Burst {
    async fn run(self, round: usize, writer: usize) {
        for n in 0.. {
            if self.stop.load(Ordering::SeqCst) {
                return;
            }
            let variables = json!({ "description": format!("crash r{round} w{writer} n{n}") });
            let sent = self
                .client
                .post(&self.url)
                .header(AUTHORIZATION, format!("Bearer {}", self.admin))
                .json(&json!({ "query": CREATE_GLOBAL_API_KEY_IDS, "variables": variables }))
                .timeout(Duration::from_secs(30))
                .send()
                .await;
            // The kill cuts connections: a reply that never came acknowledges nothing.
            let Ok(response) = sent else { return };
            let status = response.status();
            let Ok(reply) = response.json::<Value>().await else {
                return;
            };
            assert_eq!(status, StatusCode::OK, "{reply}");
            self.answered.fetch_add(1, Ordering::SeqCst);
            let reply = &reply["data"]["createGlobalApiKey"];
            assert_eq!(reply["ok"], json!(true), "{reply}");
            let key = &reply["result"]["apiKey"];
            self.acknowledged.lock().unwrap().push(Created {
                id: common::string(&key["id"]),
                token: common::string(&key["token"]),
            });
        }
    }
}

/// Every acknowledged token still authenticates.
async fn check_tokens(
    client: &reqwest::Client,
    server: &ServeProcess,
    created: &[Created],
    round: usize,
) {
    for key in created {
        let response = client
            .post(server.graphql_url())
            .header(AUTHORIZATION, format!("Bearer {}", key.token))
            .json(&json!({ "query": "{ me { id } }" }))
            .send()
            .await
            .expect("the restarted server answers");
        let status = response.status();
        let reply: Value = response.json().await.expect("a JSON reply");
        assert_eq!(
            status,
            StatusCode::OK,
            "start {round}: key {} acknowledged before a kill no longer authenticates: {reply}",
            key.id
        );
        assert!(reply["data"]["me"]["id"].is_string(), "{reply}");
    }
}

/// Every acknowledged key is in the store, and every key in the store has the audit row of
/// its creation (the bootstrap key, of the bootstrap).
async fn check_audit_rows(db: &std::path::Path, created: &[Created], round: usize) {
    let mut conn = open_db(db).await;
    let keys: Vec<(String,)> = sqlx::query_as("SELECT id FROM api_keys")
        .fetch_all(&mut conn)
        .await
        .expect("the keys");
    let stored: std::collections::HashSet<String> = keys.into_iter().map(|(id,)| id).collect();
    for key in created {
        assert!(
            stored.contains(&key.id),
            "round {round}: key {} was acknowledged but is not in the store",
            key.id
        );
    }
    let unaudited: Vec<(String,)> = sqlx::query_as(
        "SELECT k.id FROM api_keys k WHERE NOT EXISTS (SELECT 1 FROM audit_log a \
         WHERE a.target = k.id AND a.action IN ('createGlobalApiKey', 'bootstrap'))",
    )
    .fetch_all(&mut conn)
    .await
    .expect("the audit query");
    assert!(
        unaudited.is_empty(),
        "round {round}: keys without the audit row of their creation: {unaudited:?}"
    );
    println!(
        "round {round}: {} keys stored, every one with its audit row",
        stored.len()
    );
}
