//! The audit log, readable (issue 20, part 1): `auditLog(filter:)` through the real router over
//! loopback HTTP on a real store (SQLite, or PostgreSQL with `KEYDECK_TEST_STORE=postgres`):
//! each filter alone and combined, paging newest first, since/until, who reads what (super
//! admin, global project admin, a project's `admin` member, a plain key), counted refusals;
//! and `keydeck audit` through the real binary.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

mod common;

use common::{
    DISABLE_API_KEY, ENABLE_API_KEY, Key, TestServer, UPDATE_PROJECT_MEMBER, editor, ok, string,
};

const BIN: &str = env!("CARGO_BIN_EXE_keydeck");

const AUDIT: &str = "query($filter: AuditFilter, $first: Int, $after: String) { \
     auditLog(filter: $filter, first: $first, after: $after) { totalCount \
     pageInfo { hasNextPage endCursor } \
     nodes { at actorId actorName action target targetKind targetName keyId projectId \
     outcome detail count } } }";

/// Everyone the tests read the log as, and what they did.
struct World {
    server: TestServer,
    blog_id: String,
    shop_id: String,
    /// Global `project_admin`.
    pm: Key,
    /// `admin` of my-blog.
    boss: Key,
    /// `editor(language=cs)` of my-blog, then `cs,en`.
    ed: Key,
    /// An org-wide key of the shop project.
    shop_bot: Key,
    /// A global key without roles.
    pat: Key,
    /// The personal key `pat` created.
    child: Key,
    /// What `pat`'s refused disabling of `shop_bot` answered.
    refused_code: String,
}

async fn world() -> World {
    let server = TestServer::start().await;
    let blog_id = string(&server.blog().await["id"]);
    let shop_id = string(&server.project("shop", json!([{ "name": "admin" }])).await["id"]);
    let pm = server.global_key("pm-global", &["project_admin"]).await;
    let boss = server
        .project_key(
            "my-blog",
            "blog-boss",
            json!([{ "role": "admin", "variables": [] }]),
        )
        .await;
    let ed = server
        .project_key("my-blog", "ed-cs", editor(&["cs"]))
        .await;
    let shop_bot = server
        .project_key(
            "shop",
            "shop-bot",
            json!([{ "role": "admin", "variables": [] }]),
        )
        .await;
    let pat = server.global_key("plain-pat", &[]).await;
    let child = server
        .global_key_with(
            &pat.token,
            "pat-child",
            &[],
            json!({ "visibility": "PERSONAL", "permissions": ["READ"] }),
        )
        .await;
    let admin = server.admin.clone();
    ok(&server
        .mutate(&admin, DISABLE_API_KEY, json!({ "id": ed.id }))
        .await);
    ok(&server
        .mutate(&admin, ENABLE_API_KEY, json!({ "id": ed.id }))
        .await);
    ok(&server
        .mutate(
            &admin,
            UPDATE_PROJECT_MEMBER,
            json!({ "projectSlug": "my-blog", "identityId": ed.identity_id,
                    "memberships": editor(&["cs", "en"]) }),
        )
        .await);
    ok(&server
        .mutate(&pat.token, DISABLE_API_KEY, json!({ "id": child.id }))
        .await);
    let mut refused_code = String::new();
    for _ in 0..3 {
        let reply = server
            .mutate(&pat.token, DISABLE_API_KEY, json!({ "id": shop_bot.id }))
            .await;
        assert_eq!(reply["ok"], json!(false), "{reply:#}");
        refused_code = string(&reply["error"]["code"]);
    }
    World {
        server,
        blog_id,
        shop_id,
        pm,
        boss,
        ed,
        shop_bot,
        pat,
        child,
        refused_code,
    }
}

impl World {
    /// The whole log `token` reads with `filter`, newest first, a page of `first` at a time;
    /// checks every page's `totalCount` against what the pages held.
    async fn read(&self, token: &str, filter: Value, first: i64) -> Vec<Value> {
        let mut out = Vec::new();
        let mut after = Value::Null;
        let mut total = None;
        loop {
            let data = self
                .server
                .data(
                    token,
                    AUDIT,
                    json!({ "filter": filter, "first": first, "after": after }),
                )
                .await;
            let log = &data["auditLog"];
            let count = log["totalCount"].as_i64().unwrap();
            assert_eq!(*total.get_or_insert(count), count, "{log:#}");
            out.extend(log["nodes"].as_array().unwrap().iter().cloned());
            if log["pageInfo"]["hasNextPage"] != json!(true) {
                break;
            }
            after = log["pageInfo"]["endCursor"].clone();
        }
        assert_eq!(
            total,
            Some(out.len() as i64),
            "totalCount and the pages agree"
        );
        out
    }

    /// `(action, target)` of every entry `token` reads with `filter`.
    async fn seen(&self, token: &str, filter: Value) -> BTreeSet<(String, String)> {
        self.read(token, filter, 50)
            .await
            .iter()
            .map(|e| {
                (
                    string(&e["action"]),
                    e["target"].as_str().unwrap_or("-").into(),
                )
            })
            .collect()
    }
}

fn pair(action: &str, target: &str) -> (String, String) {
    (action.to_owned(), target.to_owned())
}

fn actions(entries: &[Value]) -> Vec<String> {
    entries.iter().map(|e| string(&e["action"])).collect()
}

#[tokio::test]
async fn each_filter_alone_and_combined() {
    let w = world().await;
    let admin = w.server.admin.clone();

    // A key's history: the key's own entries and its identity's, newest first, by its id or
    // its identity's id alike.
    let history = w.read(&admin, json!({ "target": w.ed.id }), 50).await;
    assert_eq!(
        actions(&history),
        [
            "updateProjectMember",
            "enableApiKey",
            "disableApiKey",
            "createApiKey"
        ]
    );
    assert_eq!(
        w.read(&admin, json!({ "target": w.ed.identity_id }), 50)
            .await,
        history
    );
    let member = &history[0];
    assert_eq!(member["target"], json!(w.ed.identity_id));
    assert_eq!(member["targetKind"], json!("IDENTITY"));
    assert_eq!(member["keyId"], json!(w.ed.id));
    assert_eq!(member["targetName"], json!("ed-cs"));
    assert_eq!(member["projectId"], json!(w.blog_id));
    let created = &history[3];
    assert_eq!(created["targetKind"], json!("KEY"));
    assert_eq!(
        created["actorName"],
        json!("bootstrap admin"),
        "{created:#}"
    );
    assert_eq!(created["projectId"], json!(w.blog_id));

    // By actor.
    let by_pat = w
        .read(&admin, json!({ "actorId": w.pat.identity_id }), 50)
        .await;
    assert_eq!(
        actions(&by_pat),
        ["disableApiKey", "disableApiKey", "createGlobalApiKey"]
    );
    assert!(by_pat.iter().all(|e| e["actorName"] == json!("plain-pat")));

    // By action, by outcome.
    let disables = w.seen(&admin, json!({ "action": "disableApiKey" })).await;
    assert_eq!(
        disables,
        BTreeSet::from([
            pair("disableApiKey", &w.ed.id),
            pair("disableApiKey", &w.child.id),
            pair("disableApiKey", &w.shop_bot.id),
        ])
    );
    let refusals = w
        .read(&admin, json!({ "outcome": w.refused_code }), 50)
        .await;
    assert_eq!(refusals.len(), 1, "three refusals in a minute, one row");
    assert_eq!(refusals[0]["count"], json!(3));
    assert_eq!(refusals[0]["keyId"], json!(w.shop_bot.id));
    assert_eq!(refusals[0]["projectId"], json!(w.shop_id));

    // Combined: every condition holds.
    let combined = w
        .read(
            &admin,
            json!({ "action": "disableApiKey", "actorId": w.pat.identity_id, "outcome": "OK" }),
            50,
        )
        .await;
    assert_eq!(combined.len(), 1);
    assert_eq!(combined[0]["target"], json!(w.child.id));
    let none = w
        .read(
            &admin,
            json!({ "target": w.ed.id, "actorId": w.pat.identity_id }),
            50,
        )
        .await;
    assert!(none.is_empty());
    // A target that names no key matches as recorded: a project's id.
    let project = w.read(&admin, json!({ "target": w.blog_id }), 50).await;
    assert_eq!(actions(&project), ["createProject"]);
    assert_eq!(project[0]["targetKind"], json!("PROJECT"));
    assert_eq!(project[0]["targetName"], json!("Project my-blog"));
}

#[tokio::test]
async fn pages_read_newest_first_and_since_until_bound_the_time() {
    let w = world().await;
    let admin = w.server.admin.clone();
    let all = w.read(&admin, json!({}), 500).await;
    // Paged one at a time, two at a time, or unfiltered (the old arguments): the same rows.
    assert_eq!(w.read(&admin, json!({}), 1).await, all);
    assert_eq!(w.read(&admin, json!({}), 2).await, all);
    let old = w
        .server
        .data(
            &admin,
            "{ auditLog(first: 500) { nodes { action target } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        old["auditLog"]["nodes"].as_array().unwrap().len(),
        all.len()
    );
    // Newest first: the bootstrap key's creation is the oldest entry.
    assert_eq!(all.last().unwrap()["action"], json!("bootstrap"));
    assert_eq!(all.last().unwrap()["actorId"], Value::Null);
    assert_eq!(all[0]["outcome"], json!(w.refused_code));
    let times: Vec<String> = all.iter().map(|e| string(&e["at"])).collect();
    assert!(times.windows(2).all(|p| p[0] >= p[1]), "{times:?}");

    // The projects were created two days ago (as far as the log knows).
    let mut conn = w.server.store_connection().await;
    sqlx::query("UPDATE audit_log SET at = at - 172800 WHERE action = 'createProject'")
        .execute(&mut conn)
        .await
        .unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let day_ago = now - 86_400;
    let recent = w.read(&admin, json!({ "since": day_ago }), 50).await;
    assert_eq!(recent.len(), all.len() - 2);
    assert!(!actions(&recent).contains(&"createProject".to_owned()));
    let before = w.read(&admin, json!({ "until": day_ago }), 50).await;
    assert_eq!(actions(&before), ["createProject", "createProject"]);
    let window = w
        .read(
            &admin,
            json!({ "since": day_ago - 86_400 * 2, "until": day_ago, "target": w.shop_id }),
            50,
        )
        .await;
    assert_eq!(window.len(), 1);
    assert!(
        w.read(&admin, json!({ "since": now + 3600 }), 50)
            .await
            .is_empty()
    );

    // A scoped reader pages through its union of slices the same way.
    let pats = w.read(&w.pat.token, json!({}), 50).await;
    assert_eq!(w.read(&w.pat.token, json!({}), 1).await, pats);
}

#[tokio::test]
async fn each_caller_reads_what_it_may() {
    let w = world().await;
    let everything = w.seen(&w.server.admin, json!({})).await;

    // The global project admin: every project's entries, and its own key's.
    let pm = w.seen(&w.pm.token, json!({})).await;
    let project_entries = BTreeSet::from([
        pair("createProject", &w.blog_id),
        pair("createProject", &w.shop_id),
        pair("createApiKey", &w.boss.id),
        pair("createApiKey", &w.ed.id),
        pair("createApiKey", &w.shop_bot.id),
        pair("disableApiKey", &w.ed.id),
        pair("enableApiKey", &w.ed.id),
        pair("updateProjectMember", &w.ed.identity_id),
        pair("disableApiKey", &w.shop_bot.id),
    ]);
    let own_pm = BTreeSet::from([pair("createGlobalApiKey", &w.pm.id)]);
    assert_eq!(pm, &project_entries | &own_pm);

    // my-blog's admin: my-blog's entries only.
    let boss = w.seen(&w.boss.token, json!({})).await;
    assert_eq!(
        boss,
        BTreeSet::from([
            pair("createProject", &w.blog_id),
            pair("createApiKey", &w.boss.id),
            pair("createApiKey", &w.ed.id),
            pair("disableApiKey", &w.ed.id),
            pair("enableApiKey", &w.ed.id),
            pair("updateProjectMember", &w.ed.identity_id),
        ])
    );
    // Filters narrow within the scope; the shop's key is not the blog admin's to read.
    assert!(
        w.read(&w.boss.token, json!({ "target": w.shop_bot.id }), 50)
            .await
            .is_empty()
    );

    // A member who is not an admin: its own key's entries.
    let ed = w.seen(&w.ed.token, json!({})).await;
    assert_eq!(
        ed,
        BTreeSet::from([
            pair("createApiKey", &w.ed.id),
            pair("disableApiKey", &w.ed.id),
            pair("enableApiKey", &w.ed.id),
            pair("updateProjectMember", &w.ed.identity_id),
        ])
    );

    // A plain key: its own, the key it created, and what it did (its refusals, counted).
    let pat_entries = w.read(&w.pat.token, json!({}), 50).await;
    let pat: BTreeSet<_> = pat_entries
        .iter()
        .map(|e| (string(&e["action"]), string(&e["target"])))
        .collect();
    assert_eq!(
        pat,
        BTreeSet::from([
            pair("createGlobalApiKey", &w.pat.id),
            pair("createGlobalApiKey", &w.child.id),
            pair("disableApiKey", &w.child.id),
            pair("disableApiKey", &w.shop_bot.id),
        ])
    );
    let refused = pat_entries
        .iter()
        .find(|e| e["outcome"] == json!(w.refused_code))
        .unwrap();
    assert_eq!(refused["count"], json!(3));

    // The child reads its own entries (created and disabled), not its creator's.
    let _ = &w.child;
    // Everyone's view is within the super admin's.
    for view in [&pm, &boss, &ed, &pat] {
        assert!(view.is_subset(&everything));
    }
    assert!(everything.len() > pm.len());
}

/// The binary in an isolated environment, as `tests/cli.rs` runs it.
fn keydeck(home: &Path, server: &TestServer, token: &str, args: &[&str]) -> (i32, String, String) {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .args(args)
        .env("KEYDECK_ENDPOINT", server.graphql_url())
        .env("KEYDECK_TOKEN", token)
        .stdin(Stdio::null());
    common::isolate(home, |k, v| {
        cmd.env(k, v);
    });
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json_of(args: &[&str], (code, stdout, stderr): (i32, String, String)) -> Vec<Value> {
    assert_eq!(
        code, 0,
        "keydeck {args:?}\nstdout: {stdout}\nstderr: {stderr}"
    );
    serde_json::from_str::<Value>(&stdout)
        .unwrap_or_else(|e| panic!("{e}: {stdout}"))
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn keydeck_audit_through_the_real_binary() {
    let w = world().await;
    let home = tempfile::tempdir().unwrap();
    let admin = w.server.admin.clone();
    let run = |token: &str, args: &[&str]| keydeck(home.path(), &w.server, token, args);

    // --key by name, --json whole.
    let args = ["audit", "--key", "ed-cs", "--json"];
    let history = json_of(&args, run(&admin, &args));
    assert_eq!(
        actions(&history),
        [
            "updateProjectMember",
            "enableApiKey",
            "disableApiKey",
            "createApiKey"
        ]
    );
    assert_eq!(history[0]["targetName"], json!("ed-cs"));
    assert_eq!(history[0]["targetKind"], json!("identity"));
    assert_eq!(history[3]["keyId"], json!(w.ed.id));
    assert_eq!(history[3]["count"], json!(1));
    // By token prefix, too.
    let prefix = string(&w.ed.record["tokenPrefix"]);
    let args = ["audit", "--key", prefix.as_str(), "--json"];
    assert_eq!(json_of(&args, run(&admin, &args)), history);

    // --actor by description, with --action and --outcome.
    let args = ["audit", "--actor", "plain-pat", "--json"];
    let by_pat = json_of(&args, run(&admin, &args));
    assert_eq!(
        actions(&by_pat),
        ["disableApiKey", "disableApiKey", "createGlobalApiKey"]
    );
    let args = [
        "audit",
        "--actor",
        "plain-pat",
        "--action",
        "disableApiKey",
        "--outcome",
        "OK",
        "--json",
    ];
    let combined = json_of(&args, run(&admin, &args));
    assert_eq!(combined.len(), 1);
    assert_eq!(combined[0]["target"], json!(w.child.id));

    // --since: the entries from before it stay out.
    let mut conn = w.server.store_connection().await;
    sqlx::query("UPDATE audit_log SET at = at - 172800 WHERE action = 'createProject'")
        .execute(&mut conn)
        .await
        .unwrap();
    let args = ["audit", "--json"];
    let all = json_of(&args, run(&admin, &args));
    let args = ["audit", "--since", "24h", "--json"];
    let recent = json_of(&args, run(&admin, &args));
    assert_eq!(recent.len(), all.len() - 2);
    assert!(!actions(&recent).contains(&"createProject".to_owned()));
    let args = ["audit", "--limit", "2", "--json"];
    assert_eq!(json_of(&args, run(&admin, &args)), all[..2]);

    // The table: newest first, names where known.
    let (code, table, stderr) = run(&admin, &["audit", "--key", "ed-cs"]);
    assert_eq!(code, 0, "{stderr}");
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("AT"), "{table}");
    assert!(lines[1].contains("updateProjectMember"), "{table}");
    assert!(lines[4].contains("createApiKey"), "{table}");
    assert!(lines[4].contains("bootstrap admin"), "{table}");
    assert_eq!(lines.len(), 5, "{table}");

    // A plain key reads its own; a bad window is a usage error.
    let args = ["audit", "--json"];
    let pats = json_of(&args, run(&w.pat.token, &args));
    assert_eq!(pats.len(), 4);
    let (code, _, stderr) = run(&admin, &["audit", "--since", "3y"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--since"), "{stderr}");
}
