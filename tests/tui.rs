//! The terminal app without a terminal: `update()` transitions, and every screen rendered
//! at a fixed size into ratatui's TestBackend and compared with insta snapshots; and the
//! Query Stats tab as a user meets it, in a pseudo-terminal against a real service and a real
//! PostgreSQL.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

mod common;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use keydeck::api::ops::{AuditEntry, Identity, Key};
use keydeck::api::{ApiError, CreatedKey, Database, DatabaseProblem, Page, Refusal, UsagePoint};
use keydeck::platform::CopyPath;
use keydeck::tui::action::{About, Action, Effect};
use keydeck::tui::app::{App, Overlay, Session};
use keydeck::tui::keymap::Keymap;
use keydeck::tui::tabs::Tab;
use keydeck::tui::theme::Theme;
use keydeck::tui::widgets::status_bar::Connection;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::json;
use time::macros::datetime;

const NOW: &str = "2026-11-23T12:00:00Z";

fn app() -> App {
    let session = Session {
        profile: "default".into(),
        endpoint: "http://127.0.0.1:7100/graphql".into(),
        credential_store: "kernel keyring".into(),
    };
    App::new(
        session,
        Keymap::defaults(),
        Theme::mono(),
        datetime!(2026-11-23 12:00 UTC),
    )
}

fn keys(n: usize) -> Vec<Key> {
    keydeck::tui::fixtures::sample_keys(n).unwrap()
}

fn page<T>(items: Vec<T>, has_next: bool) -> Page<T> {
    let total = items.len() as i64 + if has_next { 100 } else { 0 };
    Page {
        items,
        has_next,
        end_cursor: Some("cursor".into()),
        has_previous: false,
        start_cursor: None,
        total,
    }
}

fn press(app: &mut App, code: KeyCode) -> Vec<Effect> {
    app.update(Action::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        press(app, KeyCode::Char(c));
    }
}

fn loaded(n: usize) -> App {
    let mut app = app();
    app.start();
    app.update(Action::KeysLoaded {
        append: false,
        result: Ok(page(keys(n), false)),
    });
    app.update(Action::Me(Ok(serde_json::from_value(
        json!({"id": "me", "description": "bootstrap admin", "roles": ["super_admin"], "projects": []}),
    )
    .unwrap())));
    app.update(Action::RolesLoaded(Ok(serde_json::from_value(json!([
        {"name": "super_admin", "description": ""}, {"name": "project_admin", "description": ""}, {"name": "monitor", "description": ""}
    ])).unwrap())));
    app.update(Action::ProjectsLoaded(Ok(serde_json::from_value(json!([
        {"slug": "my-blog", "name": "My Blog", "roles": [{"name": "editor", "variables": [{"name": "language"}]}, {"name": "viewer", "variables": []}]}
    ])).unwrap())));
    app
}

fn screen(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|f| app.render(f.area(), f.buffer_mut()))
        .unwrap();
    terminal.backend().to_string()
}

fn down() -> ApiError {
    ApiError::Network {
        endpoint: "http://127.0.0.1:1/graphql".into(),
        reason: "connection refused".into(),
    }
}

// ---- update() transitions ------------------------------------------------------------------

#[test]
fn start_loads_identity_projects_roles_and_keys() {
    let mut app = app();
    let effects = app.start();
    assert!(effects.contains(&Effect::LoadMe));
    assert!(effects.contains(&Effect::LoadProjects));
    assert!(effects.contains(&Effect::LoadRoles));
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::LoadKeys { append: false, .. }))
    );
}

#[test]
fn scrolling_near_the_end_loads_the_next_page_once() {
    let mut app = app();
    app.update(Action::KeysLoaded {
        append: false,
        result: Ok(page(keys(60), true)),
    });
    for _ in 0..39 {
        assert!(press(&mut app, KeyCode::Char('j')).is_empty());
    }
    let effects = press(&mut app, KeyCode::Char('j'));
    assert!(
        matches!(&effects[..], [Effect::LoadKeys { append: true, query }] if query.after.as_deref() == Some("cursor"))
    );
    // While that page loads, moving again does not ask twice.
    assert!(press(&mut app, KeyCode::Char('j')).is_empty());
    app.update(Action::KeysLoaded {
        append: true,
        result: Ok(page(keys(5), false)),
    });
    assert_eq!(app.keys.loaded(), 65);
}

#[test]
fn a_service_that_is_down_is_retried_with_backoff_and_recovers() {
    let mut app = app();
    let first = app.update(Action::KeysLoaded {
        append: false,
        result: Err(down()),
    });
    let delay = |effects: &[Effect]| match effects {
        [Effect::Later { delay, effect }] if matches!(**effect, Effect::LoadKeys { .. }) => *delay,
        other => panic!("expected a retry, got {other:?}"),
    };
    // The retry runs when it was due, and fails again.
    app.now += delay(&first);
    let second = app.update(Action::KeysLoaded {
        append: false,
        result: Err(down()),
    });
    assert!(delay(&second) > delay(&first));
    assert!(matches!(
        app.connection,
        Connection::Down { attempt: 2, .. }
    ));
    app.update(Action::KeysLoaded {
        append: false,
        result: Ok(page(keys(3), false)),
    });
    assert_eq!(app.connection, Connection::Online);
    assert_eq!(app.message(), Some("service reachable again"));
}

#[test]
fn an_outage_is_said_once_and_everything_is_retried_when_the_bar_says() {
    let mut app = app();
    let now = app.now;
    let mut retries = Vec::new();
    // Everything the app loads at start fails, and fails again at each retry.
    for round in 0..3 {
        let failed = [
            Action::Me(Err(down())),
            Action::ProjectsLoaded(Err(down())),
            Action::RolesLoaded(Err(down())),
            Action::KeysLoaded {
                append: false,
                result: Err(down()),
            },
        ];
        let mut delays = Vec::new();
        for action in failed {
            for effect in app.update(action) {
                match effect {
                    Effect::Later { delay, .. } => delays.push(delay),
                    other => panic!("expected a retry, got {other:?}"),
                }
            }
        }
        let Connection::Down { attempt, retry_at } = app.connection else {
            panic!("down: {:?}", app.connection);
        };
        assert_eq!(attempt, round + 1);
        // All four retry together, when the status bar's countdown ends.
        assert_eq!(delays.len(), 4);
        assert!(
            delays.iter().all(|d| app.now + *d == retry_at),
            "{delays:?} vs {retry_at}"
        );
        retries.push(retry_at - now);
        app.now = retry_at;
    }
    assert!(retries.windows(2).all(|w| w[1] > w[0]), "{retries:?}");
    let said: Vec<&str> = app.log.entries().map(|(_, n)| n.text.as_str()).collect();
    assert_eq!(said.len(), 1, "one message for the outage: {said:?}");
    assert!(said[0].contains("cannot reach"), "{said:?}");
    // Back: said once, whatever loads succeed.
    app.update(Action::ProjectsLoaded(Ok(Vec::new())));
    app.update(Action::RolesLoaded(Ok(Vec::new())));
    let said: Vec<&str> = app.log.entries().map(|(_, n)| n.text.as_str()).collect();
    assert_eq!(said[1..], ["service reachable again"], "{said:?}");
}

#[test]
fn a_refused_keydeck_token_says_to_fix_the_variable() {
    let mut app = App::new(
        Session {
            profile: "env".into(),
            endpoint: "http://127.0.0.1:1/graphql".into(),
            credential_store: "KEYDECK_TOKEN".into(),
        },
        Keymap::defaults(),
        Theme::mono(),
        datetime!(2026-11-23 12:00 UTC),
    );
    app.update(Action::Me(Err(ApiError::Unauthorized(
        "invalid token".into(),
    ))));
    let text = app.message().unwrap_or_default();
    assert!(text.contains("Set KEYDECK_TOKEN"), "{text}");
    assert!(!text.contains("login"), "{text}");
    assert_eq!(app.connection, Connection::SignedOut);
}

#[test]
fn creating_a_key_shows_the_token_once_and_copies_it() {
    let mut app = loaded(3);
    press(&mut app, KeyCode::Char('n'));
    type_text(&mut app, "deploy bot");
    let effects = press(&mut app, KeyCode::Enter);
    assert!(
        matches!(&effects[..], [Effect::CreateKey { key, local_token: None }] if key.name == "deploy bot")
    );
    let token = "kd_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA000000".to_string();
    let effects = app.update(Action::KeyCreated {
        local_token: None,
        result: Ok(CreatedKey {
            id: "k".into(),
            token: Some(token.clone()),
            expires_at: None,
        }),
    });
    assert!(effects.contains(&Effect::Copy(token.clone())));
    assert!(matches!(&app.overlay, Some(Overlay::Token(d)) if d.token == token));
    app.update(Action::Copied(Ok(CopyPath::Osc52)));
    assert_eq!(
        press(&mut app, KeyCode::Char('y')),
        vec![Effect::Copy(token)]
    );
    press(&mut app, KeyCode::Esc);
    assert!(app.overlay.is_none(), "closing the dialog drops the token");
}

#[test]
fn a_new_key_is_selected_wherever_it_falls_in_the_order() {
    let mut app = loaded(3);
    press(&mut app, KeyCode::Char('n'));
    type_text(&mut app, "zz last by name");
    press(&mut app, KeyCode::Enter);
    let effects = app.update(Action::KeyCreated {
        local_token: None,
        result: Ok(CreatedKey {
            id: "new-key".into(),
            token: Some("kd_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA000000".into()),
            expires_at: None,
        }),
    });
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::LocateKey { id, .. } if id == "new-key")),
        "{effects:?}"
    );
    assert_eq!(app.message(), Some("created key “zz last by name”"));
    // The service answers the keys just before it, far down the order; the page that
    // starts with it is asked for next, and it is selected when it comes.
    let mut before = keys(5);
    for (i, k) in before.iter_mut().enumerate() {
        k.id = format!("before-{i}");
    }
    let effects = app.update(Action::KeysLoaded {
        append: false,
        result: Ok(Page {
            has_previous: true,
            ..page(before, false)
        }),
    });
    assert!(
        matches!(&effects[..], [Effect::LoadKeys { append: true, query }] if query.after.as_deref() == Some("cursor")),
        "{effects:?}"
    );
    let mut new = keys(1);
    new[0].id = "new-key".into();
    new[0].description = "zz last by name".into();
    app.update(Action::KeysLoaded {
        append: true,
        result: Ok(page(new, false)),
    });
    assert_eq!(app.keys.selected().map(|k| k.id.as_str()), Some("new-key"));
}

#[test]
fn a_key_reads_expired_the_moment_it_expires() {
    let mut app = loaded(0);
    let mut key = keydeck::tui::fixtures::sample_key(0).unwrap();
    key.state = keydeck::api::ops::list_keys::ApiKeyState::ENABLED;
    key.expires_at = Some("2026-11-23T12:00:58Z".into());
    key.description = "short lived".into();
    app.update(Action::KeysLoaded {
        append: false,
        result: Ok(page(vec![key], false)),
    });
    let before = screen(&app, 120, 14);
    assert!(
        before.contains("enabled") && before.contains("in 58s"),
        "{before}"
    );
    app.now = datetime!(2026-11-23 12:01 UTC);
    let after = screen(&app, 120, 14);
    let row = after
        .lines()
        .find(|l| l.contains("short lived"))
        .unwrap_or("");
    assert!(
        row.contains("expired") && !row.contains("enabled"),
        "{after}"
    );
    // And enabling it says why not, without asking the service.
    press(&mut app, KeyCode::Char('e'));
    assert!(
        app.message().is_some_and(|m| m.contains("has expired")),
        "{:?}",
        app.message()
    );
}

#[test]
fn a_refused_create_keeps_everything_typed() {
    let mut app = loaded(3);
    press(&mut app, KeyCode::Char('n'));
    type_text(&mut app, "taken name");
    press(&mut app, KeyCode::Enter);
    let refusal = Refusal {
        code: "NAME_TAKEN".into(),
        message: "an enabled key named `taken name` already exists".into(),
        memberships: vec![],
    };
    app.update(Action::KeyCreated {
        local_token: None,
        result: Err(ApiError::Refused(refusal)),
    });
    let Some(Overlay::CreateKey(form)) = &app.overlay else {
        panic!("the form must stay open")
    };
    assert_eq!(form.name.as_str(), "taken name");
    assert!(!form.submitting);
    assert!(
        form.errors
            .iter()
            .any(|(_, e)| e.contains("already exists"))
    );
}

#[test]
fn disabling_asks_for_confirmation_naming_the_key() {
    let mut app = loaded(3);
    press(&mut app, KeyCode::Char('d'));
    assert!(
        matches!(&app.overlay, Some(Overlay::Confirm(c)) if c.key_name == "key number 0" && !c.enable)
    );
    let effects = press(&mut app, KeyCode::Char('y'));
    assert!(matches!(
        &effects[..],
        [Effect::SetKeyEnabled { enabled: false, .. }]
    ));
    // Enabling an enabled key is refused locally, with a message.
    press(&mut app, KeyCode::Char('e'));
    assert!(app.overlay.is_none());
    assert!(app.message().is_some_and(|e| e.contains("already enabled")));
}

#[test]
fn tabs_load_their_data_on_first_visit() {
    let mut app = loaded(1);
    assert!(matches!(
        &press(&mut app, KeyCode::Char('2'))[..],
        [Effect::LoadIdentities { append: false, .. }]
    ));
    assert_eq!(app.tab, Tab::Identities);
    assert_eq!(
        press(&mut app, KeyCode::Char('3')),
        vec![Effect::LoadDatabases]
    );
    assert!(matches!(
        &press(&mut app, KeyCode::Tab)[..],
        [Effect::LoadAudit { .. }]
    ));
    assert_eq!(app.tab, Tab::Audit);
    assert!(press(&mut app, KeyCode::Tab).is_empty());
    assert_eq!(app.tab, Tab::Keys);
    press(&mut app, KeyCode::BackTab);
    assert_eq!(app.tab, Tab::Audit);
}

fn audit_entry(action: &str, key_id: Option<&str>, outcome: &str) -> (String, AuditEntry) {
    let entry = serde_json::from_value(json!({
        "at": NOW, "actorId": "11111111-aaaa", "actorName": "bootstrap admin", "action": action,
        "target": key_id.unwrap_or("p-1"), "targetKind": if key_id.is_some() { "KEY" } else { "PROJECT" },
        "targetName": "deploy bot", "keyId": key_id, "projectId": null, "outcome": outcome,
        "detail": null, "count": 1
    }))
    .unwrap();
    ("c".into(), entry)
}

#[test]
fn the_audit_tab_filters_on_the_service_and_enter_jumps_to_the_key() {
    let mut app = loaded(1);
    press(&mut app, KeyCode::Char('4'));
    app.update(Action::AuditLoaded(Ok(page(
        vec![
            audit_entry("disableApiKey", Some("k-9"), "OK"),
            audit_entry("createProject", None, "FORBIDDEN"),
        ],
        false,
    ))));
    let shown = screen(&app, 120, 14);
    assert!(shown.contains("Audit: 2 of 2, newest first"), "{shown}");
    assert!(
        shown.contains("disableApiKey") && shown.contains("FORBIDDEN"),
        "{shown}"
    );
    // `/` sends the filter's parts to the service.
    press(&mut app, KeyCode::Char('/'));
    type_text(&mut app, "action:disableApiKey FORBIDDEN");
    let effects = press(&mut app, KeyCode::Enter);
    assert!(
        matches!(&effects[..], [Effect::LoadAudit { query }]
            if query.action.as_deref() == Some("disableApiKey") && query.outcome.as_deref() == Some("FORBIDDEN")),
        "{effects:?}"
    );
    app.update(Action::AuditLoaded(Ok(page(
        vec![audit_entry("disableApiKey", Some("k-9"), "OK")],
        false,
    ))));
    // Enter on an entry about a key shows that key, selected, with its details.
    let effects = press(&mut app, KeyCode::Enter);
    assert_eq!(app.tab, Tab::Keys);
    assert!(app.keys.detail_open);
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::LocateKey { id, .. } if id == "k-9")),
        "{effects:?}"
    );
}

#[test]
fn filter_narrows_rows_and_escape_keeps_it_until_cleared() {
    let mut app = loaded(30);
    press(&mut app, KeyCode::Char('/'));
    type_text(&mut app, "number 2");
    assert_eq!(app.keys.len(), 11); // 2, 20..29
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.keys.len(), 30);
}

#[test]
fn help_scrolls_at_80x24_is_searched_and_only_its_keys_close_it() {
    let mut app = loaded(1);
    press(&mut app, KeyCode::Char('?'));
    assert!(app.help.is_some());
    // A stray key keeps it open.
    press(&mut app, KeyCode::Char('x'));
    assert!(app.help.is_some());
    let first = screen(&app, 80, 24);
    assert!(first.contains("more below"), "{first}");
    for _ in 0..40 {
        press(&mut app, KeyCode::Char('j'));
    }
    let last = screen(&app, 80, 24);
    assert!(last.contains("· end"), "{last}");
    assert_ne!(first, last);
    // Searching keeps the lines that match, under their heading.
    press(&mut app, KeyCode::Char('/'));
    type_text(&mut app, "suspend");
    let found = screen(&app, 80, 24);
    assert!(
        found.contains("ctrl-z") && found.contains("Everywhere"),
        "{found}"
    );
    assert!(!found.contains("create a key"), "{found}");
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Esc);
    assert!(app.help.is_some(), "the first esc clears the search");
    press(&mut app, KeyCode::Esc);
    assert!(app.help.is_none());
    press(&mut app, KeyCode::Char('?'));
    press(&mut app, KeyCode::Char('q'));
    assert!(app.help.is_none() && !app.should_quit);
    assert_eq!(press(&mut app, KeyCode::Char('q')), vec![Effect::Quit]);
    assert!(app.should_quit);
}

// ---- snapshots -------------------------------------------------------------------------------

#[test]
fn snapshot_keys_tab() {
    let mut app = loaded(12);
    press(&mut app, KeyCode::Char('j'));
    insta::assert_snapshot!(screen(&app, 120, 24));
}

#[test]
fn snapshot_keys_detail_pane() {
    let mut app = loaded(4);
    press(&mut app, KeyCode::Char('j'));
    press(&mut app, KeyCode::Enter);
    insta::assert_snapshot!(screen(&app, 120, 24));
}

#[test]
fn snapshot_keys_empty_and_failed() {
    let mut app = app();
    app.update(Action::KeysLoaded {
        append: false,
        result: Ok(page(vec![], false)),
    });
    insta::assert_snapshot!("keys_empty", screen(&app, 100, 12));
    app.update(Action::KeysLoaded {
        append: false,
        result: Err(down()),
    });
    insta::assert_snapshot!("keys_service_down", screen(&app, 100, 12));
}

#[test]
fn snapshot_create_form_with_a_server_error() {
    let mut app = loaded(3);
    press(&mut app, KeyCode::Char('n'));
    type_text(&mut app, "blog bot");
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Right); // project my-blog
    insta::assert_snapshot!("form", screen(&app, 120, 24));
    press(&mut app, KeyCode::Enter);
    let refusal = Refusal {
        code: "INVALID_MEMBERSHIP".into(),
        message: "memberships do not match".into(),
        memberships: vec![(
            "VARIABLE_EMPTY".into(),
            "editor".into(),
            Some("language".into()),
        )],
    };
    app.update(Action::KeyCreated {
        local_token: None,
        result: Err(ApiError::Refused(refusal)),
    });
    insta::assert_snapshot!("form_error", screen(&app, 120, 24));
}

#[test]
fn snapshot_token_dialog() {
    let mut app = loaded(3);
    press(&mut app, KeyCode::Char('n'));
    type_text(&mut app, "deploy bot");
    press(&mut app, KeyCode::Enter);
    app.update(Action::KeyCreated {
        local_token: None,
        result: Ok(CreatedKey {
            id: "k".into(),
            token: Some("kd_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA000000".into()),
            expires_at: None,
        }),
    });
    app.update(Action::Copied(Ok(CopyPath::Osc52)));
    insta::assert_snapshot!(screen(&app, 100, 24));
}

#[test]
fn snapshot_confirm_dialog() {
    let mut app = loaded(3);
    press(&mut app, KeyCode::Char('d'));
    insta::assert_snapshot!(screen(&app, 100, 20));
}

#[test]
fn snapshot_help_overlay() {
    let mut app = loaded(3);
    press(&mut app, KeyCode::Char('?'));
    insta::assert_snapshot!(screen(&app, 100, 50));
}

#[test]
fn snapshot_identities_tab() {
    let mut app = loaded(1);
    press(&mut app, KeyCode::Char('2'));
    let identities: Vec<Identity> = serde_json::from_value(json!([
        {"id": "11111111-aaaa", "description": "bootstrap admin", "createdAt": NOW, "roles": ["super_admin"], "projects": [], "apiKey": {"id": "k1", "state": "ENABLED"}},
        {"id": "22222222-bbbb", "description": "blog editor (cs)", "createdAt": NOW, "roles": [], "projects": [{"project": {"slug": "my-blog"}, "memberships": [{"role": "editor", "variables": [{"name": "language", "values": ["cs"]}]}]}], "apiKey": {"id": "k2", "state": "DISABLED"}}
    ])).unwrap();
    app.update(Action::IdentitiesLoaded {
        append: false,
        result: Ok(page(identities, false)),
    });
    insta::assert_snapshot!("identities", screen(&app, 110, 12));
    press(&mut app, KeyCode::Char('R'));
    insta::assert_snapshot!("identities_roles_editor", screen(&app, 110, 16));
    // Taking a role away says, before saving, that the identity's personal keys lose it too;
    // after saving, how many did.
    let hint = "A role taken away goes from the personal keys it created too.";
    assert!(
        screen(&app, 110, 16).contains("[x]"),
        "the identity holds a role"
    );
    assert!(
        !screen(&app, 110, 16).contains(hint),
        "nothing taken away yet"
    );
    // Every role toggled: the one held is taken away.
    for _ in 0..3 {
        press(&mut app, KeyCode::Char(' '));
        press(&mut app, KeyCode::Down);
    }
    assert!(
        screen(&app, 110, 16).contains(hint),
        "{}",
        screen(&app, 110, 16)
    );
    app.update(Action::IdentityChanged(Ok(vec!["a".into(), "b".into()])));
    assert!(
        app.message()
            .is_some_and(|m| m.contains("2 personal keys it created lost the same")),
        "{:?}",
        app.message()
    );
}

#[test]
fn an_identitys_details_list_the_keys_it_created() {
    let mut app = loaded(1);
    press(&mut app, KeyCode::Char('2'));
    let identities: Vec<Identity> = serde_json::from_value(json!([
        {"id": "11111111-aaaa", "description": "leaving admin", "createdAt": NOW, "roles": ["project_admin"], "projects": [{"project": {"slug": "my-blog"}, "memberships": [{"role": "editor", "variables": [{"name": "language", "values": ["cs", "en"]}]}]}], "apiKey": {"id": "k1", "state": "ENABLED"}},
        {"id": "22222222-bbbb", "description": "someone else", "createdAt": NOW, "roles": [], "projects": [], "apiKey": null}
    ])).unwrap();
    app.update(Action::IdentitiesLoaded {
        append: false,
        result: Ok(page(identities, false)),
    });
    let effects = press(&mut app, KeyCode::Enter);
    assert_eq!(
        effects,
        vec![
            Effect::LoadCreatedKeys {
                identity_id: "11111111-aaaa".into()
            },
            Effect::LoadHistory {
                about: About::Actor("11111111-aaaa".into())
            }
        ]
    );
    app.update(Action::HistoryLoaded {
        about: About::Actor("11111111-aaaa".into()),
        result: Ok(page(
            vec![audit_entry("disableApiKey", Some("k-9"), "OK")],
            false,
        )),
    });
    let shown = screen(&app, 140, 30);
    assert!(shown.contains("What it did (1)"), "{shown}");
    assert!(
        shown.contains("disableApiKey by bootstrap admin"),
        "{shown}"
    );
    assert!(screen(&app, 140, 20).contains("Keys it created: loading…"));
    let created = keys(2);
    // An answer for an identity no longer selected is dropped.
    app.update(Action::CreatedKeysLoaded {
        identity_id: "22222222-bbbb".into(),
        result: Ok(page(created.clone(), false)),
    });
    assert!(screen(&app, 140, 20).contains("loading…"));
    app.update(Action::CreatedKeysLoaded {
        identity_id: "11111111-aaaa".into(),
        result: Ok(Page {
            total: 75,
            ..page(created.clone(), true)
        }),
    });
    let shown = screen(&app, 140, 20);
    assert!(shown.contains("Keys it created (75)"), "{shown}");
    assert!(shown.contains(&created[1].description), "{shown}");
    assert!(shown.contains("my-blog:editor(language=cs,en)"), "{shown}");
    assert!(
        shown.contains("… and 73 more (keydeck keys list --created-by"),
        "{shown}"
    );
    // Moving to the next identity asks for its keys; esc closes the details.
    let effects = press(&mut app, KeyCode::Down);
    assert!(effects.contains(&Effect::LoadCreatedKeys {
        identity_id: "22222222-bbbb".into()
    }));
    press(&mut app, KeyCode::Esc);
    assert!(!screen(&app, 140, 20).contains("Keys it created"));
}

#[test]
fn stats_databases_show_their_state_and_a_failure_says_why() {
    let mut app = loaded(1);
    press(&mut app, KeyCode::Char('3'));
    app.update(Action::DatabasesLoaded(Ok(vec![
        Database {
            id: "1".into(),
            name: "app".into(),
            ..Default::default()
        },
        Database {
            id: "2".into(),
            name: "reports".into(),
            problem: Some(DatabaseProblem {
                label: "unreachable",
                reason: "connection refused\u{1b}[2J".into(),
            }),
        },
    ])));
    let shown = screen(&app, 110, 12);
    assert!(shown.contains("ok"), "{shown}");
    assert!(shown.contains("unreachable"), "{shown}");
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Enter);
    app.update(Action::StatsLoaded {
        database_id: "2".into(),
        since: None,
        result: Err(down()),
    });
    let shown = screen(&app, 110, 12);
    assert!(
        shown.contains("reports the database as unreachable"),
        "{shown}"
    );
    assert!(!shown.contains('\u{1b}'), "{shown}");
}

#[test]
fn snapshot_query_stats_tab() {
    let mut app = loaded(1);
    press(&mut app, KeyCode::Char('3'));
    app.update(Action::DatabasesLoaded(Ok(vec![])));
    insta::assert_snapshot!("stats_none_monitored", screen(&app, 110, 12));
    app.update(Action::DatabasesLoaded(Ok(vec![Database {
        id: "1".into(),
        name: "app".into(),
        ..Default::default()
    }])));
    press(&mut app, KeyCode::Enter);
    let stats = serde_json::from_value(json!([
        {"id": "1", "queryUrl": "http://127.0.0.1:7100/databases/1/queries/1", "normalizedQuery": "SELECT * FROM accounts WHERE id = $1", "truncatedQuery": "SELECT * FROM accounts WHERE id = $1", "statementTypes": ["SELECT"], "tableNames": ["accounts"], "totalCalls": 1000, "avgTime": 0.05, "bufferHitRatio": 100.0, "pctOfTotal": 12.5, "avgIoTime": 0.0},
        {"id": "2", "queryUrl": "http://127.0.0.1:7100/databases/1/queries/2", "normalizedQuery": "UPDATE \"pgbench_accounts\" SET abalance = $1 WHERE \"aid\" = $2", "truncatedQuery": "UPDATE \"pgbench_accounts\" SET abalance = $1 WHERE \"aid\" = $2", "statementTypes": ["UPDATE"], "tableNames": ["pgbench_accounts"], "totalCalls": 1887313, "avgTime": 35.3, "bufferHitRatio": 69.5, "pctOfTotal": 87.5, "avgIoTime": 1.2}
    ])).unwrap();
    app.update(Action::StatsLoaded {
        database_id: "1".into(),
        since: None,
        result: Ok(stats),
    });
    insta::assert_snapshot!("stats_loaded", screen(&app, 110, 12));
}

#[test]
fn snapshot_tiny_terminal() {
    let app = loaded(3);
    insta::assert_snapshot!(screen(&app, 40, 8));
}

#[test]
fn the_disable_confirmation_says_the_keys_it_created_go_with_it() {
    let mut app = loaded(3);
    press(&mut app, KeyCode::Char('d'));
    let text = screen(&app, 100, 30);
    assert!(
        text.contains("Personal keys it created, if any, are disabled with it."),
        "{text}"
    );
    if let Some(Overlay::Confirm(confirm)) = &mut app.overlay {
        confirm.created_personal = 2;
    }
    let text = screen(&app, 100, 30);
    assert!(
        text.contains("The 2 personal keys it created are disabled with it."),
        "{text}"
    );
}

// ---- issue 7: the shell at real size -----------------------------------------------------------

fn ctrl(app: &mut App, c: char) -> Vec<Effect> {
    app.update(Action::Key(KeyEvent::new(
        KeyCode::Char(c),
        KeyModifiers::CONTROL,
    )))
}

fn footer(app: &App) -> String {
    app.hints()
        .into_iter()
        .map(|(key, what)| format!("{key} {what}"))
        .collect::<Vec<_>>()
        .join(" · ")
}

fn ticks(app: &mut App, n: usize) -> Vec<Effect> {
    (0..n).flat_map(|_| app.update(Action::Tick)).collect()
}

#[test]
fn the_filter_asks_the_service_after_a_pause_and_says_what_it_searched() {
    let mut app = loaded(0);
    app.update(Action::KeysLoaded {
        append: false,
        result: Ok(page(keys(200), true)),
    });
    press(&mut app, KeyCode::Char('/'));
    type_text(&mut app, "number 449");
    assert_eq!(app.keys.len(), 0, "nothing loaded matches yet");
    // Typing alone sends nothing; a pause sends the term once.
    let effects = ticks(&mut app, 4);
    let searched: Vec<_> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::LoadKeys {
                query,
                append: false,
            } => Some(query.search.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(searched, vec![Some("number 449".to_string())]);
    let found = keydeck::tui::fixtures::sample_key(449).unwrap();
    app.update(Action::KeysLoaded {
        append: false,
        result: Ok(Page {
            items: vec![found],
            has_next: false,
            end_cursor: None,
            has_previous: false,
            start_cursor: None,
            total: 1,
        }),
    });
    assert_eq!(app.keys.selected().unwrap().description, "key number 449");
    let text = screen(&app, 120, 20);
    assert!(
        text.contains("service searched for key names containing “number 449”"),
        "{text}"
    );
    // Leaving the filter and clearing it asks for everything again.
    press(&mut app, KeyCode::Enter);
    let effects = press(&mut app, KeyCode::Esc);
    assert!(
        matches!(&effects[..], [Effect::LoadKeys { query, .. }] if query.search.is_none()),
        "{effects:?}"
    );
}

#[test]
fn identities_filter_like_keys_do() {
    let mut app = loaded(1);
    press(&mut app, KeyCode::Char('2'));
    press(&mut app, KeyCode::Char('/'));
    type_text(&mut app, "blog");
    let effects = press(&mut app, KeyCode::Enter);
    assert!(
        matches!(&effects[..], [Effect::LoadIdentities { query, append: false }] if query.search.as_deref() == Some("blog")),
        "{effects:?}"
    );
}

#[test]
fn footers_and_help_offer_only_what_works_where_the_user_is() {
    let mut app = loaded(3);
    assert!(footer(&app).contains("/ filter"));
    press(&mut app, KeyCode::Char('/'));
    let typing = footer(&app);
    assert!(typing.contains("enter search"), "{typing}");
    assert!(
        !typing.contains("help") && !typing.contains("quit"),
        "{typing}"
    );
    // `q` and `?` are text while typing a filter.
    type_text(&mut app, "q?");
    assert!(!app.should_quit && app.help.is_none());
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Char('3'));
    let stats = footer(&app);
    assert!(
        stats.contains("/ filter") && stats.contains("enter open"),
        "{stats}"
    );
    press(&mut app, KeyCode::Char('?'));
    // The statements filter narrows what is loaded; it never says it searches the service.
    let help = screen(&app, 100, 50);
    assert!(!help.contains("search the service"), "{help}");
    assert!(help.contains("table:NAME"), "{help}");
    assert!(help.contains("calls and time per interval"), "{help}");
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Char('2'));
    let identities = footer(&app);
    assert!(
        identities.contains("enter open") && identities.contains("R roles"),
        "{identities}"
    );
    // The create form's hints are the form's keys.
    press(&mut app, KeyCode::Char('1'));
    press(&mut app, KeyCode::Char('n'));
    assert!(footer(&app).contains("esc cancel"));
}

#[test]
fn ctrl_c_quits_even_when_the_profile_rebinds_quit() {
    let overrides = std::collections::BTreeMap::from([("quit".to_string(), "ctrl-q".to_string())]);
    let mut app = loaded(1);
    app.keymap = Keymap::with_overrides(&overrides).unwrap();
    press(&mut app, KeyCode::Char('n'));
    assert_eq!(ctrl(&mut app, 'c'), vec![Effect::Quit]);
    assert!(app.should_quit);
    let mut app = loaded(1);
    app.keymap = Keymap::with_overrides(&overrides).unwrap();
    press(&mut app, KeyCode::Char('/'));
    assert_eq!(ctrl(&mut app, 'c'), vec![Effect::Quit]);
}

#[test]
fn messages_wrap_clear_with_their_tab_confirm_success_and_are_logged() {
    let mut app = loaded(3);
    press(&mut app, KeyCode::Char('d'));
    press(&mut app, KeyCode::Char('y'));
    app.update(Action::KeyToggled {
        id: "00000000-0000-0000-0000-000000000000".into(),
        name: "key number 0".into(),
        enabled: false,
        result: Ok(vec![]),
    });
    assert_eq!(app.message(), Some("disabled “key number 0”"));
    let text = screen(&app, 120, 20);
    assert!(text.contains("disabled “key number 0”"), "{text}");
    // The row says so before the reload arrives.
    assert!(!app.keys.selected().unwrap().enabled);
    press(&mut app, KeyCode::Char('2'));
    assert_eq!(app.message(), None, "a message about Keys leaves with Keys");
    // A long error wraps instead of being cut, and the log keeps its full text.
    let long = "x".repeat(150) + " the end of a long refusal";
    app.update(Action::IdentityChanged(Err(ApiError::GraphQl(vec![(
        None,
        long.clone(),
    )]))));
    let text = screen(&app, 80, 20);
    assert!(
        text.contains("of a long refusal"),
        "the whole message wraps: {text}"
    );
    press(&mut app, KeyCode::Char('L'));
    assert!(matches!(app.overlay, Some(Overlay::Log(_))));
    let log = screen(&app, 120, 30);
    assert!(log.contains("disabled “key number 0”"), "{log}");
    insta::assert_snapshot!("message_log", log);
}

#[test]
fn the_retry_countdown_counts_down() {
    let mut app = loaded(1);
    app.update(Action::KeysLoaded {
        append: false,
        result: Err(down()),
    });
    let text = screen(&app, 100, 14);
    assert!(text.contains("retry 1 in 2s"), "{text}");
    app.now += time::Duration::seconds(1);
    assert!(screen(&app, 100, 14).contains("retry 1 in 1s"));
    app.now += time::Duration::seconds(1);
    assert!(screen(&app, 100, 14).contains("retry 1 now"));
}

fn expired_key() -> Key {
    let mut key = keydeck::tui::fixtures::sample_key(1).unwrap();
    key.state = keydeck::api::ops::list_keys::ApiKeyState::EXPIRED;
    key.expires_at = Some("2026-11-21T12:00:00Z".into());
    key
}

#[test]
fn enabling_an_expired_key_says_it_expired_and_what_to_do() {
    let mut app = loaded(0);
    app.update(Action::KeysLoaded {
        append: false,
        result: Ok(page(vec![expired_key()], false)),
    });
    press(&mut app, KeyCode::Char('e'));
    assert!(app.overlay.is_none());
    let message = app.message().unwrap();
    assert!(
        message.contains("has expired") && message.contains("create a new key with n"),
        "{message}"
    );
}

#[test]
fn expiry_reads_the_same_in_the_list_and_the_details() {
    let mut app = loaded(2);
    press(&mut app, KeyCode::Char('j')); // key 1 expires in 3d
    press(&mut app, KeyCode::Enter);
    let text = screen(&app, 140, 30);
    assert!(
        !text.contains("in 3d!") && !text.contains("(in 3d)"),
        "{text}"
    );
    assert!(
        text.contains("Expires     in 3d · 2026-11-26T12:00:00Z"),
        "{text}"
    );
    let mut app = loaded(0);
    app.update(Action::KeysLoaded {
        append: false,
        result: Ok(page(vec![expired_key()], false)),
    });
    let text = screen(&app, 120, 12);
    assert!(text.contains("expired  3d ago    2d ago"), "{text}");
}

#[test]
fn disabling_your_own_key_warns_and_a_refused_token_ends_the_session() {
    let mut app = loaded(3);
    app.update(Action::Me(Ok(serde_json::from_value(
        json!({"id": "identity-0", "description": "me", "roles": ["super_admin"], "projects": []}),
    )
    .unwrap())));
    press(&mut app, KeyCode::Char('d'));
    let text = screen(&app, 120, 24);
    assert!(text.contains("This is your own key"), "{text}");
    press(&mut app, KeyCode::Char('y'));
    let effects = app.update(Action::KeysLoaded {
        append: false,
        result: Err(ApiError::Unauthorized("token disabled".into())),
    });
    assert!(effects.is_empty(), "a refused token is not retried");
    assert_eq!(app.connection, Connection::SignedOut);
    let message = app.message().unwrap();
    assert!(
        message.contains("session ended")
            && message.contains(
                "keydeck --profile default login --endpoint http://127.0.0.1:7100/graphql"
            ),
        "{message}"
    );
    let text = screen(&app, 120, 24);
    assert!(text.contains("● signed out"), "{text}");
    assert!(!text.contains("online"), "{text}");
}

#[test]
fn sorting_asks_the_service_both_ways_with_the_header_marked() {
    use keydeck::api::{KeySort, KeySortField};
    let mut app = loaded(3);
    // `s` asks the service for the keys in the new order: the whole store, not the rows
    // loaded, is sorted.
    let effects = press(&mut app, KeyCode::Char('s'));
    let by_name = KeySort {
        field: KeySortField::Name,
        descending: false,
    };
    assert!(
        matches!(&effects[..], [Effect::LoadKeys { query, append: false }] if query.sort == by_name),
        "{effects:?}"
    );
    assert!(screen(&app, 120, 12).contains("Name ▲"));
    // Every other sortable column says it can sort.
    assert!(
        screen(&app, 120, 12).contains("Expires ·"),
        "{}",
        screen(&app, 120, 12)
    );
    let effects = press(&mut app, KeyCode::Char('S'));
    assert!(
        matches!(&effects[..], [Effect::LoadKeys { query, .. }] if query.sort.descending),
        "{effects:?}"
    );
    assert!(screen(&app, 120, 12).contains("Name ▼"));
    // The page comes in the service's order, and is shown so.
    let mut rows = keys(3);
    rows.reverse();
    app.update(Action::KeysLoaded {
        append: false,
        result: Ok(page(rows, false)),
    });
    // The key selected before stays selected, wherever the order put it.
    assert_eq!(app.keys.selected().unwrap().description, "key number 0");
    assert_eq!(app.keys.list.cursor.index, 2);
}

#[test]
fn the_end_is_one_request_away_and_the_title_has_the_exact_count() {
    let mut app = loaded(3);
    app.update(Action::KeysLoaded {
        append: false,
        result: Ok(Page {
            total: 3129,
            ..page(keys(3), true)
        }),
    });
    assert!(
        screen(&app, 120, 12).contains("3 of 3,129"),
        "{}",
        screen(&app, 120, 12)
    );
    // The next page is under way (the cursor is near the end of the loaded rows): `G` waits
    // for it, then asks for the end.
    assert!(press(&mut app, KeyCode::Char('G')).is_empty());
    let effects = app.update(Action::KeysLoaded {
        append: true,
        result: Ok(Page {
            total: 3129,
            ..page(keys(3), true)
        }),
    });
    assert!(
        matches!(&effects[..], [Effect::LoadKeys { query, .. }] if query.last == Some(200) && query.before.is_none()),
        "{effects:?}"
    );
    let tail = Page {
        has_previous: true,
        start_cursor: Some("start".into()),
        total: 3129,
        ..page(keys(3), false)
    };
    app.update(Action::KeysLoaded {
        append: false,
        result: Ok(tail),
    });
    assert_eq!(app.keys.selected().unwrap().description, "key number 2");
    // Going back up asks for what lies before the loaded rows.
    let effects = press(&mut app, KeyCode::Up);
    assert!(
        matches!(&effects[..], [Effect::LoadKeys { query, .. }] if query.before.as_deref() == Some("start")),
        "{effects:?}"
    );
    // `gg` goes to the first key again: the first page, reloaded.
    press(&mut app, KeyCode::Char('g'));
    let effects = press(&mut app, KeyCode::Char('g'));
    assert!(
        matches!(&effects[..], [Effect::LoadKeys { query, .. }] if query.last.is_none() && query.after.is_none()),
        "{effects:?}"
    );
}

#[test]
fn a_created_key_is_selected_and_y_copies_a_rows_id() {
    let mut app = loaded(3);
    press(&mut app, KeyCode::Char('n'));
    type_text(&mut app, "newest");
    press(&mut app, KeyCode::Enter);
    let new_id = "00000000-0000-0000-0000-000000000003";
    app.update(Action::KeyCreated {
        local_token: None,
        result: Ok(CreatedKey {
            id: new_id.into(),
            token: Some("kd_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA000000".into()),
            expires_at: None,
        }),
    });
    press(&mut app, KeyCode::Esc);
    app.update(Action::KeysLoaded {
        append: false,
        result: Ok(page(keys(4), false)),
    });
    assert_eq!(app.keys.selected().unwrap().id, new_id);
    assert_eq!(
        press(&mut app, KeyCode::Char('y')),
        vec![Effect::Copy(new_id.into())]
    );
    app.update(Action::Copied(Ok(CopyPath::Osc52)));
    assert!(
        app.message()
            .is_some_and(|m| m.starts_with("copied the id of “key number 3”")),
        "{:?}",
        app.message()
    );
}

// ---- issue 7: widgets at real size ---------------------------------------------------------

/// An app whose caller sees `n` projects, each with three roles.
fn with_projects(n: usize) -> App {
    let mut app = loaded(3);
    let projects: Vec<serde_json::Value> = (0..n)
        .map(|i| json!({"slug": format!("proj-{i:02}"), "name": format!("Project {i}"), "roles": [
            {"name": "admin", "variables": []}, {"name": "editor", "variables": [{"name": "language"}]}, {"name": "viewer", "variables": []}
        ]}))
        .collect();
    app.update(Action::ProjectsLoaded(Ok(serde_json::from_value(json!(
        projects
    ))
    .unwrap())));
    app
}

#[test]
fn the_create_form_keeps_the_focused_field_on_a_small_screen() {
    let mut app = with_projects(44);
    press(&mut app, KeyCode::Char('n'));
    // Name, Scope, Roles, Permissions, Visibility, then TTL.
    for _ in 0..5 {
        press(&mut app, KeyCode::Tab);
    }
    let text = screen(&app, 60, 12);
    assert!(text.contains("▸ TTL"), "{text}");
    assert!(text.contains("↑↓ more"), "{text}");
    insta::assert_snapshot!("form_scrolled_to_ttl", text);
    press(&mut app, KeyCode::Tab);
    let text = screen(&app, 60, 12);
    assert!(text.contains("▸ Token"), "{text}");
}

#[test]
fn the_create_form_picks_a_project_by_search() {
    let mut app = with_projects(44);
    press(&mut app, KeyCode::Char('n'));
    press(&mut app, KeyCode::Tab);
    type_text(&mut app, "proj-4");
    let text = screen(&app, 80, 24);
    insta::assert_snapshot!("form_project_picker", text);
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Enter);
    // Esc from the picker goes back to the form, not out of it.
    press(&mut app, KeyCode::Char(' '));
    press(&mut app, KeyCode::Esc);
    let Some(Overlay::CreateKey(form)) = &app.overlay else {
        panic!("the form must stay open")
    };
    assert!(!form.picking());
    assert_eq!(form.projects[form.scope - 1].slug, "proj-41");
    // The caller is a super admin: every role of the project is offered.
    assert_eq!(form.offered_roles().len(), 3);
}

#[test]
fn the_token_dialog_shows_every_line_of_a_long_name() {
    let mut app = loaded(3);
    let name = format!("{} end", "long name ".repeat(20).trim_end());
    press(&mut app, KeyCode::Char('n'));
    type_text(&mut app, &name);
    press(&mut app, KeyCode::Enter);
    app.update(Action::KeyCreated {
        local_token: None,
        result: Ok(CreatedKey {
            id: "k".into(),
            token: Some("kd_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA000000".into()),
            expires_at: None,
        }),
    });
    app.update(Action::Copied(Ok(CopyPath::Osc52)));
    let text = screen(&app, 100, 24);
    for line in [
        "long name end",
        "kd_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA000000",
        "This token will not be shown again",
        "sent to your terminal via OSC 52",
        "y copy again",
    ] {
        assert!(text.contains(line), "`{line}` is missing:\n{text}");
    }
    insta::assert_snapshot!("token_dialog_long_name", text);
}

// ---- issue 7, item 10: truncation is marked; the layout gives way in a chosen order --------

/// Keys whose second one has a 200-character name.
fn with_long_name() -> App {
    let mut rows = keys(6);
    rows[1].description = format!("deploy {}", "x".repeat(193));
    let mut app = loaded(0);
    app.update(Action::KeysLoaded {
        append: false,
        result: Ok(page(rows, false)),
    });
    app
}

/// The header line of the Keys table.
fn header(text: &str) -> &str {
    text.lines().nth(2).unwrap_or_default()
}

#[test]
fn a_long_name_is_cut_with_an_ellipsis_at_80_and_120_columns() {
    let app = with_long_name();
    for (width, height, name) in [
        (80, 24, "keys_long_name_80x24"),
        (120, 35, "keys_long_name_120x35"),
    ] {
        let text = screen(&app, width, height);
        let row = text.lines().find(|l| l.contains("deploy xxx")).unwrap();
        assert!(row.contains("x… "), "{text}");
        // The cut name leaves the other columns where they are.
        assert!(row.contains("kd_000001"), "{text}");
        insta::assert_snapshot!(name, text);
    }
}

#[test]
fn at_80_columns_the_keys_table_keeps_name_prefix_state_and_expires() {
    let text = screen(&with_long_name(), 80, 24);
    for column in ["Name", "Prefix", "State", "Expires"] {
        assert!(header(&text).contains(column), "{text}");
    }
    // The least important columns gave way, whole: no header is cut.
    assert!(!header(&text).contains("Vis."), "{text}");
    assert!(!header(&text).contains('…'), "{text}");
}

#[test]
fn the_details_pane_gives_way_first_at_80x24() {
    let mut app = with_long_name();
    press(&mut app, KeyCode::Char('j'));
    press(&mut app, KeyCode::Enter);
    let text = screen(&app, 80, 24);
    // The table keeps its essential columns and some rows; the details go below it, and the
    // lines they could not show are counted.
    for column in ["Name", "Prefix", "State", "Expires"] {
        assert!(header(&text).contains(column), "{text}");
    }
    assert!(text.contains("key number 0"), "{text}");
    assert!(text.contains("┌ Details"), "{text}");
    assert!(text.contains("more lines"), "{text}");
    insta::assert_snapshot!("keys_detail_pane_80x24", text);
    // Wide enough, the details stand beside the table, which still keeps its columns.
    let text = screen(&app, 120, 35);
    let top = text.lines().nth(1).unwrap();
    assert!(top.contains("┐┌ Details"), "{text}");
    for column in ["Name", "Prefix", "State", "Expires"] {
        assert!(header(&text).contains(column), "{text}");
    }
}

#[test]
fn the_footer_at_80_columns_shows_whole_hints_with_help_last() {
    let app = loaded(3);
    let text = screen(&app, 80, 24);
    let footer_line = text.lines().nth(22).unwrap().trim_matches('"').trim_end();
    assert!(footer_line.ends_with("? help"), "{footer_line}");
    // The status bar below it is cut too, and says so.
    let status = text.lines().nth(23).unwrap().trim_matches('"');
    assert!(status.ends_with('…'), "{status}");
    let shown: Vec<&str> = footer_line.split("  ").map(str::trim).collect();
    let hints: Vec<String> = app
        .hints()
        .into_iter()
        .map(|(key, what)| format!("{key} {what}"))
        .collect();
    // Every hint shown is one of the app's, whole; the first ones are kept, in order.
    assert!(shown.len() < hints.len(), "{footer_line}");
    for (i, hint) in shown[..shown.len() - 1].iter().enumerate() {
        assert_eq!(*hint, hints[i], "{footer_line}");
    }
    // In filter mode the footer holds other hints, still whole.
    let mut app = app;
    press(&mut app, KeyCode::Char('/'));
    let text = screen(&app, 80, 24);
    let footer_line = text.lines().nth(22).unwrap();
    assert!(footer_line.contains("enter search"), "{footer_line}");
}

#[test]
fn identities_and_query_stats_cut_with_an_ellipsis_and_drop_columns_at_80() {
    let mut app = loaded(1);
    press(&mut app, KeyCode::Char('2'));
    let identities: Vec<Identity> = serde_json::from_value(json!([
        {"id": "11111111-aaaa", "description": format!("ci {}", "y".repeat(120)), "createdAt": NOW, "roles": ["super_admin"], "projects": [], "apiKey": {"id": "k1", "state": "ENABLED"}}
    ])).unwrap();
    app.update(Action::IdentitiesLoaded {
        append: false,
        result: Ok(page(identities, false)),
    });
    let text = screen(&app, 80, 24);
    assert!(text.contains("yy… 11111111"), "{text}");
    press(&mut app, KeyCode::Char('3'));
    app.update(Action::DatabasesLoaded(Ok(vec![Database {
        id: "1".into(),
        name: "app".into(),
        ..Default::default()
    }])));
    press(&mut app, KeyCode::Enter);
    let stats = serde_json::from_value(json!([
        {"id": "2", "queryUrl": "http://127.0.0.1:7100/databases/1/queries/2", "normalizedQuery": "UPDATE \"pgbench_accounts\" SET abalance = $1 WHERE \"aid\" = $2", "truncatedQuery": "UPDATE \"pgbench_accounts\" SET abalance = $1 WHERE \"aid\" = $2", "statementTypes": ["UPDATE"], "tableNames": ["pgbench_accounts"], "totalCalls": 1887313, "avgTime": 35.3, "bufferHitRatio": 69.5, "pctOfTotal": 87.5, "avgIoTime": 1.2}
    ])).unwrap();
    app.update(Action::StatsLoaded {
        database_id: "1".into(),
        since: None,
        result: Ok(stats),
    });
    let text = screen(&app, 80, 24);
    // Under the window line, the share of the time and the query stay; the counts give way.
    let header = text.lines().nth(3).unwrap();
    assert!(
        header.contains("% total") && header.contains("Query"),
        "{text}"
    );
    assert!(!header.contains("Hit"), "{text}");
    assert!(text.contains("UPDATE \"pgbench"), "{text}");
    assert!(text.contains('…'), "{text}");
    insta::assert_snapshot!("stats_80x24", text);
}

// ---- the Query Stats tab -------------------------------------------------------------------

/// The statement the detail view must show whole: far longer than the 100 characters of
/// `truncatedQuery`, with its last words far past any column.
const LONG_STATEMENT: &str = "SELECT a.aid, a.abalance, b.bbalance, t.tbalance FROM pgbench_accounts a JOIN pgbench_branches b ON b.bid = a.bid JOIN pgbench_tellers t ON t.bid = b.bid WHERE a.aid = $1 AND t.tid = $2 ORDER BY a.abalance DESC LIMIT $3 -- the very end";

/// A statement of `kind` on `table`, with its `figures`: totalCalls, avgTime, bufferHitRatio
/// and pctOfTotal, as the service names them.
fn statement(
    id: &str,
    query: &str,
    kind: &str,
    table: &str,
    figures: serde_json::Value,
) -> keydeck::api::QueryStat {
    let mut stat = json!({
        "id": id,
        "queryUrl": format!("http://127.0.0.1:7100/databases/1/queries/{id}"),
        "normalizedQuery": query,
        "truncatedQuery": query.chars().take(100).collect::<String>(),
        "statementTypes": [kind],
        "tableNames": [table],
        "avgIoTime": 0.25
    });
    for (name, value) in figures.as_object().unwrap() {
        stat[name] = value.clone();
    }
    serde_json::from_value(stat).unwrap()
}

/// Three statements: the busiest by share of time is neither the most called nor the
/// slowest on average.
fn three_statements(scale: i64) -> Vec<keydeck::api::QueryStat> {
    vec![
        statement(
            "10",
            "UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2",
            "UPDATE",
            "pgbench_accounts",
            json!({"totalCalls": 300 * scale, "avgTime": 2.0, "bufferHitRatio": 99.0, "pctOfTotal": 60.0}),
        ),
        statement(
            "11",
            LONG_STATEMENT,
            "SELECT",
            "pgbench_branches",
            json!({"totalCalls": 20 * scale, "avgTime": 9.0, "bufferHitRatio": 50.0, "pctOfTotal": 30.0}),
        ),
        statement(
            "12",
            "INSERT INTO pgbench_history (tid, bid, aid, delta) VALUES ($1, $2, $3, $4)",
            "INSERT",
            "pgbench_history",
            json!({"totalCalls": 900 * scale, "avgTime": 0.1, "bufferHitRatio": null, "pctOfTotal": 10.0}),
        ),
    ]
}

/// The app on the Query Stats tab with database `shop` (id 1) open and `three_statements`.
fn stats_open() -> App {
    let mut app = loaded(1);
    press(&mut app, KeyCode::Char('3'));
    app.update(Action::DatabasesLoaded(Ok(vec![Database {
        id: "1".into(),
        name: "shop".into(),
        ..Default::default()
    }])));
    let effects = press(&mut app, KeyCode::Enter);
    assert_eq!(
        effects,
        [Effect::LoadStats {
            database_id: "1".into(),
            since: None
        }],
        "no window is sent by default: the service's own"
    );
    app.update(Action::StatsLoaded {
        database_id: "1".into(),
        since: None,
        result: Ok(three_statements(1)),
    });
    app
}

fn shown_ids(app: &App) -> Vec<String> {
    app.stats.shown().map(|s| s.id.clone()).collect()
}

#[test]
fn stats_title_names_the_database_and_the_detail_shows_the_whole_statement() {
    let mut app = stats_open();
    let text = screen(&app, 120, 30);
    assert!(text.contains("Statements of shop: 3 of 3"), "{text}");
    assert!(!text.contains("database 1"), "{text}");
    assert!(!text.contains("the very end"), "the table cuts it: {text}");
    // The long SELECT is second by share of time.
    press(&mut app, KeyCode::Char('j'));
    press(&mut app, KeyCode::Enter);
    let text = screen(&app, 120, 30);
    for field in [
        "Statement 11 of shop",
        "% of total",
        "30.00%",
        "Avg I/O time",
        "0.250 ms",
        "Hit ratio",
        "50.0%",
        "pgbench_branches",
        "http://127.0.0.1:7100/databases/1/queries/11",
    ] {
        assert!(text.contains(field), "`{field}` missing:\n{text}");
    }
    // Wrapped, the whole statement is there, up to its last words.
    assert!(text.contains("the very end"), "{text}");
    let joined: String = text
        .lines()
        .map(|l| l.trim_matches(|c| c == '│' || c == ' '))
        .collect::<Vec<_>>()
        .join(" ");
    assert!(joined.contains("ORDER BY a.abalance DESC"), "{text}");
    // Esc goes back to the list.
    press(&mut app, KeyCode::Esc);
    assert!(screen(&app, 120, 30).contains("Statements of shop"));
}

#[test]
fn stats_sort_by_each_column_both_ways_with_the_arrow_shown() {
    let mut app = stats_open();
    assert_eq!(shown_ids(&app), ["10", "11", "12"]);
    assert!(screen(&app, 120, 12).contains("% total ▼"));
    press(&mut app, KeyCode::Char('s'));
    assert_eq!(shown_ids(&app), ["11", "10", "12"], "average time");
    let text = screen(&app, 120, 12);
    assert!(
        text.contains("Avg ms ▼") && !text.contains("% total ▼"),
        "{text}"
    );
    press(&mut app, KeyCode::Char('S'));
    assert_eq!(shown_ids(&app), ["12", "10", "11"]);
    assert!(screen(&app, 120, 12).contains("Avg ms ▲"));
    press(&mut app, KeyCode::Char('s'));
    assert_eq!(shown_ids(&app), ["11", "10", "12"], "calls, ascending");
    assert!(screen(&app, 120, 12).contains("Calls ▲"));
    press(&mut app, KeyCode::Char('S'));
    press(&mut app, KeyCode::Char('s'));
    assert_eq!(
        shown_ids(&app),
        ["10", "11", "12"],
        "hit ratio; none read last"
    );
    assert!(screen(&app, 120, 12).contains("Hit ▼"));
}

#[test]
fn stats_filter_narrows_by_text_table_and_type() {
    let mut app = stats_open();
    press(&mut app, KeyCode::Char('/'));
    type_text(&mut app, "abalance");
    assert_eq!(shown_ids(&app), ["10", "11"]);
    press(&mut app, KeyCode::Enter);
    assert!(screen(&app, 120, 12).contains("Statements of shop: 2 of 3"));
    press(&mut app, KeyCode::Esc);
    assert_eq!(shown_ids(&app).len(), 3, "esc clears the filter");
    press(&mut app, KeyCode::Char('/'));
    type_text(&mut app, "table:history");
    assert_eq!(shown_ids(&app), ["12"]);
    for _ in 0.."table:history".len() {
        press(&mut app, KeyCode::Backspace);
    }
    type_text(&mut app, "type:update");
    assert_eq!(shown_ids(&app), ["10"]);
    type_text(&mut app, " nothing");
    press(&mut app, KeyCode::Enter);
    let text = screen(&app, 120, 12);
    assert!(text.contains("No statement matches"), "{text}");
    // Narrowing asks the service nothing, even after a pause.
    assert!(ticks(&mut app, 8).is_empty());
}

#[test]
fn stats_window_is_sent_and_a_refusing_service_keeps_the_rows() {
    let mut app = stats_open();
    let effects = press(&mut app, KeyCode::Char('w'));
    assert_eq!(
        effects,
        [Effect::LoadStats {
            database_id: "1".into(),
            since: Some("1h".parse().unwrap())
        }]
    );
    // An answer for the window left behind is dropped.
    app.update(Action::StatsLoaded {
        database_id: "1".into(),
        since: None,
        result: Ok(vec![]),
    });
    assert_eq!(shown_ids(&app).len(), 3);
    let refusal =
        "startTs/endTs need stored snapshots, which this service does not keep yet\u{1b}[2J";
    app.update(Action::StatsLoaded {
        database_id: "1".into(),
        since: Some("1h".parse().unwrap()),
        result: Err(ApiError::GraphQl(vec![(
            Some("BAD_USER_INPUT".into()),
            refusal.into(),
        )])),
    });
    assert_eq!(shown_ids(&app).len(), 3, "the rows stay");
    let text = screen(&app, 140, 14);
    assert!(text.contains("Window: last 1h"), "{text}");
    assert!(text.contains("need stored snapshots"), "{text}");
    assert!(!text.contains('\u{1b}'), "sanitized: {text:?}");
    // A refused window is not asked again by the automatic refresh.
    assert!(ticks(&mut app, 60).is_empty());
    // The rest of the presets, then the service's default again.
    for expected in [Some("24h"), Some("7d"), None] {
        let effects = press(&mut app, KeyCode::Char('w'));
        assert_eq!(
            effects,
            [Effect::LoadStats {
                database_id: "1".into(),
                since: expected.map(|w| w.parse().unwrap())
            }]
        );
    }
}

#[test]
fn stats_custom_window_is_typed_and_checked() {
    let mut app = stats_open();
    press(&mut app, KeyCode::Char('W'));
    type_text(&mut app, "90m");
    assert!(screen(&app, 120, 12).contains("Window: last 90m▏"));
    let effects = press(&mut app, KeyCode::Enter);
    assert_eq!(
        effects,
        [Effect::LoadStats {
            database_id: "1".into(),
            since: Some("90m".parse().unwrap())
        }]
    );
    assert_eq!(
        app.stats.window.map(keydeck::ttl::Ttl::seconds),
        Some(5_400)
    );
    press(&mut app, KeyCode::Char('W'));
    type_text(&mut app, "3y");
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    assert!(
        app.message().unwrap().contains("not a time window"),
        "{:?}",
        app.message()
    );
    assert_eq!(
        app.stats.window.map(keydeck::ttl::Ttl::seconds),
        Some(5_400),
        "kept"
    );
    press(&mut app, KeyCode::Char('W'));
    type_text(&mut app, "3d");
    assert!(press(&mut app, KeyCode::Esc).is_empty(), "esc cancels");
}

#[test]
fn stats_refresh_every_ten_seconds_unless_paused_and_chart_the_service_series() {
    let mut app = stats_open();
    let text = screen(&app, 140, 12);
    assert!(
        text.contains("auto-refresh every 10 s") && text.contains("refreshed 12:00:00 UTC"),
        "{text}"
    );
    let effects = ticks(&mut app, 40);
    assert_eq!(
        effects,
        [Effect::LoadStats {
            database_id: "1".into(),
            since: None
        }]
    );
    app.update(Action::StatsLoaded {
        database_id: "1".into(),
        since: None,
        result: Ok(three_statements(2)),
    });
    // Opening a statement asks for its series: an interval per column of its charts.
    screen(&app, 120, 34);
    let series = Effect::LoadSeries {
        database_id: "1".into(),
        query_id: "10".into(),
        since: None,
        points: 118,
    };
    assert_eq!(
        press(&mut app, KeyCode::Enter),
        std::slice::from_ref(&series)
    );
    assert!(screen(&app, 120, 34).contains("Loading calls and time per interval"));
    // 118 intervals of 12 minutes: nothing sampled in the first 98, then 300 UPDATEs
    // at 2 ms in each of the last ten, after ten idle ones.
    let points: Vec<_> = (0..118)
        .map(|i| {
            let calls = if i >= 108 { 300 } else { 0 };
            serde_json::from_value(json!({
                "startTs": i * 720, "endTs": (i + 1) * 720, "rounds": if i >= 98 { 12 } else { 0 },
                "calls": calls, "totalTime": 2.0 * f64::from(calls)
            }))
            .unwrap()
        })
        .collect();
    // An answer for another statement is not this one's.
    app.update(Action::SeriesLoaded {
        database_id: "1".into(),
        query_id: "11".into(),
        since: None,
        result: Ok(points.clone()),
    });
    assert!(screen(&app, 120, 34).contains("Loading calls and time per interval"));
    app.update(Action::SeriesLoaded {
        database_id: "1".into(),
        query_id: "10".into(),
        since: None,
        result: Ok(points),
    });
    let text = screen(&app, 120, 34);
    assert!(
        text.contains("Calls per 12m interval (service default, most 300; · no samples)"),
        "{text}"
    );
    assert!(
        text.contains("Time per 12m interval, ms (most 600.00)"),
        "{text}"
    );
    // A refresh while the details are open asks for the series again.
    let effects = ticks(&mut app, 40);
    assert!(effects.contains(&series), "{effects:?}");
    insta::assert_snapshot!("stats_detail", text);
    press(&mut app, KeyCode::Char('p'));
    assert!(ticks(&mut app, 80).is_empty(), "paused");
    press(&mut app, KeyCode::Esc);
    assert!(screen(&app, 140, 12).contains("auto-refresh paused"));
}

#[test]
fn stats_copy_the_statement_or_its_url() {
    let mut app = stats_open();
    assert_eq!(
        press(&mut app, KeyCode::Char('y')),
        [Effect::Copy(
            "UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2".into()
        )]
    );
    app.update(Action::Copied(Ok(CopyPath::Osc52)));
    assert!(
        app.message().unwrap().contains("copied the statement"),
        "{:?}",
        app.message()
    );
    assert_eq!(
        press(&mut app, KeyCode::Char('Y')),
        [Effect::Copy(
            "http://127.0.0.1:7100/databases/1/queries/10".into()
        )]
    );
}

// ---- the Query Stats tab in a pseudo-terminal, against PostgreSQL ------------------------------

/// A statement longer than `truncatedQuery`'s 100 characters, its marker past them.
const PTY_LONG: &str = "SELECT count(*) FROM (SELECT id, customer_name, note FROM tui_pty_orders WHERE customer_name <> $1 AND note <> $2 AND id > $3) AS tui_pty_end_of_statement";

/// The counts in the statements' title, `Statements of shop: SHOWN of LOADED`.
fn title_counts(screen: &str) -> (usize, usize) {
    let rest = screen
        .split("Statements of shop: ")
        .nth(1)
        .unwrap_or_else(|| panic!("no statements title:\n{screen}"));
    let mut numbers = rest
        .split(|c: char| !c.is_ascii_digit())
        .filter(|n| !n.is_empty())
        .map(|n| n.parse::<usize>().unwrap());
    (numbers.next().unwrap(), numbers.next().unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn pty_query_stats_open_a_statement_sort_and_filter() {
    let Some(url) = common::pg_url("the Query Stats tab against PostgreSQL") else {
        return;
    };
    let pool = sqlx::postgres::PgPool::connect(&url).await.unwrap();
    for sql in [
        "CREATE EXTENSION IF NOT EXISTS pg_stat_statements",
        "CREATE TABLE IF NOT EXISTS tui_pty_orders (id integer PRIMARY KEY, customer_name text NOT NULL DEFAULT '', note text NOT NULL DEFAULT '')",
        "INSERT INTO tui_pty_orders (id) SELECT g FROM generate_series(1, 50) g ON CONFLICT DO NOTHING",
    ] {
        sqlx::query(sql).execute(&pool).await.unwrap();
    }
    // The service samples every second; what follows its first round is in its window.
    let service = common::TestServer::monitoring(vec![("shop".into(), url)]).await;
    service.next_round().await;
    for i in 1..=5 {
        sqlx::query("UPDATE tui_pty_orders SET note = $1 WHERE id = $2")
            .bind(format!("note {i}"))
            .bind(i)
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query(PTY_LONG)
            .bind("x")
            .bind("y")
            .bind(i)
            .execute(&pool)
            .await
            .unwrap();
    }
    pool.close().await;
    service.next_round().await;
    let mut tui = common::pty::Tui::start(&service.graphql_url(), &service.admin);
    tui.screen.wait_for("● online");
    tui.send("3");
    tui.screen.wait_for("shop");
    tui.send("\r");
    let screen = tui.screen.wait_for("Window: service default");
    let (shown, loaded) = title_counts(&screen);
    assert_eq!(shown, loaded);
    assert!(screen.contains("% total ▼"), "{screen}");

    // Sorting: another column, then the other way round, each marked in the header.
    tui.send("s");
    tui.screen.wait_for("Avg ms ▼");
    tui.send("S");
    let screen = tui.screen.wait_for("Avg ms ▲");
    assert!(!screen.contains("% total ▼"), "{screen}");

    // The filter narrows by table and type, then by the statement's words.
    tui.send("/");
    tui.send("table:tui_pty type:update");
    tui.send("\r");
    let screen = tui.screen.wait_for("filter: table:tui_pty type:update");
    let (narrowed, all) = title_counts(&screen);
    // The window holds the UPDATE and the long SELECT: what ran after the first round.
    assert!(narrowed == 1 && all >= 2, "{screen}");
    assert!(screen.contains("UPDATE tui_pty_orders SET"), "{screen}");
    tui.send("\x1b");
    tui.send("/");
    tui.send("tui_pty_end_of_statement");
    tui.send("\r");
    let screen = tui.screen.wait_for("filter: tui_pty_end_of_statement");
    assert_eq!(title_counts(&screen).0, 1, "{screen}");
    assert!(
        !screen.contains("AS tui_pty_end_of_statement"),
        "the table shows the first 100 characters:\n{screen}"
    );

    // Its details hold the whole statement and every field.
    tui.send("\r");
    let screen = tui.screen.wait_for("AS tui_pty_end_of_statement");
    for field in [
        "Statement ",
        " of shop",
        "% of total",
        "Calls",
        "5",
        "Tables",
        "tui_pty_orders",
        "/databases/1/queries/",
    ] {
        assert!(screen.contains(field), "`{field}` missing:\n{screen}");
    }
    // Its charts come from the service's samples: the five runs, in the last intervals.
    let screen = tui.screen.wait_for("most 5;");
    assert!(screen.contains("Calls per "), "{screen}");
    tui.send("\x1b");
    tui.send("q");
    let status = tui.child.wait().unwrap();
    assert!(status.success(), "keydeck exited with {status:?}");
}

/// Issue 18.5, offboarding: `space` marks keys (a count in the title), and `d` asks once for
/// all of them, naming how many; the service is asked once per key.
#[test]
fn marked_keys_are_disabled_after_one_confirmation() {
    let mut app = loaded(3);
    press(&mut app, KeyCode::Char(' '));
    press(&mut app, KeyCode::Char(' '));
    let shown = screen(&app, 120, 12);
    assert!(shown.contains("2 marked"), "{shown}");
    assert!(
        shown.contains("✓ key number 0") && shown.contains("✓ key number 1"),
        "{shown}"
    );
    press(&mut app, KeyCode::Char('d'));
    let shown = screen(&app, 120, 16);
    assert!(shown.contains("Disable 2 marked keys?"), "{shown}");
    let effects = press(&mut app, KeyCode::Char('y'));
    let ids: Vec<String> = keys(2).into_iter().map(|k| k.id).collect();
    assert!(
        matches!(&effects[..], [Effect::SetKeysEnabled { ids: sent, enabled: false }] if *sent == ids),
        "{effects:?}"
    );
    app.update(Action::KeysToggled {
        enabled: false,
        done: ids,
        cascaded: Vec::new(),
        failed: Vec::new(),
    });
    assert!(
        app.message()
            .is_some_and(|m| m.contains("disabled 2 marked key(s)")),
        "{:?}",
        app.message()
    );
    let shown = screen(&app, 120, 12);
    assert!(
        !shown.contains("· 2 marked") && !shown.contains('✓'),
        "the marks are gone: {shown}"
    );
}

// ---- rotation (issue 20) -------------------------------------------------------------------

#[test]
fn rotating_asks_for_a_grace_period_then_shows_the_new_token_once() {
    use keydeck::api::RotatedKey;
    let mut app = loaded(3);
    let key = app.keys.selected().expect("a selected key").clone();
    press(&mut app, KeyCode::Char('o'));
    let Some(Overlay::Rotate(form)) = &app.overlay else {
        panic!("o opens the rotation dialog")
    };
    assert_eq!(form.key_name, key.description);
    assert_eq!(form.grace.as_str(), "24h");
    // When the old key stops, as typed: a day from now by default…
    let shown = screen(&app, 120, 24);
    assert!(shown.contains("Rotate key"), "{shown}");
    assert!(shown.contains("2026-11-24 12:00 UTC"), "{shown}");
    // …nothing for what is no duration, and Enter sends nothing…
    for _ in 0..3 {
        press(&mut app, KeyCode::Backspace);
    }
    type_text(&mut app, "soon");
    let shown = screen(&app, 120, 24);
    assert!(shown.contains("✗ TTL `soon`"), "{shown}");
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    // …at once for 0s, and an hour from now for 1h.
    for _ in 0..4 {
        press(&mut app, KeyCode::Backspace);
    }
    type_text(&mut app, "0s");
    assert!(screen(&app, 120, 24).contains("at once"));
    press(&mut app, KeyCode::Backspace);
    press(&mut app, KeyCode::Backspace);
    type_text(&mut app, "1h");
    assert!(screen(&app, 120, 24).contains("2026-11-23 13:00 UTC"));
    let rotate = Effect::RotateKey {
        id: key.id.clone(),
        name: key.description.clone(),
        grace: "1h".into(),
    };
    assert_eq!(press(&mut app, KeyCode::Enter), vec![rotate.clone()]);

    // A refusal stays in the dialog with what was typed.
    app.update(Action::KeyRotated(Err(ApiError::Refused(Refusal {
        code: "KEY_ROTATED".into(),
        message: "this key was already rotated to k2; rotate that key instead".into(),
        memberships: vec![],
    }))));
    let Some(Overlay::Rotate(form)) = &app.overlay else {
        panic!("the dialog stays open")
    };
    assert!(!form.submitting);
    assert!(
        form.error
            .as_deref()
            .is_some_and(|e| e.contains("already rotated"))
    );
    assert_eq!(form.grace.as_str(), "1h");
    assert_eq!(press(&mut app, KeyCode::Enter), vec![rotate]);

    // The successor's token, shown once and copied; the keys reload with it selected.
    let token = "kd_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB000000".to_string();
    let effects = app.update(Action::KeyRotated(Ok(RotatedKey {
        created: CreatedKey {
            id: "successor".into(),
            token: Some(token.clone()),
            expires_at: Some("2026-12-23T12:00:00Z".into()),
        },
        name: key.description.clone(),
        previous_id: key.id.clone(),
        previous_expires_at: Some("2026-11-23T13:00:00Z".into()),
    })));
    assert!(effects.contains(&Effect::Copy(token.clone())));
    // The successor is located and selected wherever it falls in the order.
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::LocateKey { id, .. } if id == "successor"))
    );
    assert!(matches!(&app.overlay, Some(Overlay::Token(d)) if d.token == token && d.rotated));
    assert_eq!(app.keys.list.select_id.as_deref(), Some("successor"));
    let said = app.message().unwrap_or_default();
    assert!(said.contains("stops working in 1h"), "{said}");
    press(&mut app, KeyCode::Esc);
    assert!(app.overlay.is_none(), "closing the dialog drops the token");
}

#[test]
fn a_disabled_key_is_not_offered_for_rotation() {
    let mut app = loaded(3);
    let mut key = app.keys.selected().expect("a selected key").clone();
    key.enabled = false;
    key.state = keydeck::api::ops::list_keys::ApiKeyState::DISABLED;
    app.update(Action::KeysLoaded {
        append: false,
        result: Ok(page(vec![key], false)),
    });
    assert!(press(&mut app, KeyCode::Char('o')).is_empty());
    assert!(app.overlay.is_none());
    let said = app.message().unwrap_or_default();
    assert!(said.contains("disabled"), "{said}");
}

#[test]
fn the_keys_details_load_and_chart_the_selected_keys_requests_over_24h() {
    let mut app = loaded(4);
    press(&mut app, KeyCode::Char('j'));
    let effects = press(&mut app, KeyCode::Enter);
    let id = app.keys.selected().unwrap().id.clone();
    assert!(
        effects.iter().any(
            |e| matches!(e, Effect::LoadKeyUsage { key_id, seconds: 86_400 } if *key_id == id)
        ),
        "{effects:?}"
    );
    let points: Vec<UsagePoint> = (0..48)
        .map(|i| UsagePoint {
            start_ts: 1_795_000_000 + i * 1800,
            end_ts: 1_795_000_000 + (i + 1) * 1800,
            requests: i % 7,
            refused: i64::from(i == 40),
        })
        .collect();
    // An answer for another key is dropped.
    app.update(Action::KeyUsageLoaded {
        key_id: "another".into(),
        result: Ok(points.clone()),
    });
    assert!(!screen(&app, 120, 35).contains("in 24h"));
    app.update(Action::KeyUsageLoaded {
        key_id: id,
        result: Ok(points),
    });
    let text = screen(&app, 120, 35);
    let total: i64 = (0..48).map(|i| i % 7).sum();
    assert!(
        text.contains(&format!("Requests    {total} in 24h (1 refused)")),
        "{text}"
    );
    assert!(text.contains('█'), "a sparkline: {text}");
    // `w` steps the span: the last 7 days, loaded at once.
    let effects = press(&mut app, KeyCode::Char('w'));
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::LoadKeyUsage { seconds, .. } if *seconds == 7 * 86_400)),
        "{effects:?}"
    );
    // Moving to another key asks for its usage.
    let effects = press(&mut app, KeyCode::Char('j'));
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::LoadKeyUsage { .. })),
        "{effects:?}"
    );
}

/// Holding `j` with the details open asks for a key's history and usage at most once a tick
/// (four times a second), not once a row; a tick after the key is let go asks for the row
/// the cursor stopped on, and the pane never shows the history of a row it left.
#[test]
fn holding_j_with_the_details_open_costs_a_request_a_tick_not_one_a_row() {
    let mut app = loaded(60);
    press(&mut app, KeyCode::Enter);
    let details = |effects: &[Effect]| {
        effects
            .iter()
            .filter(|e| matches!(e, Effect::LoadHistory { .. } | Effect::LoadKeyUsage { .. }))
            .count()
    };
    // The first move of a tick answers at once: history and usage of the next key.
    assert_eq!(details(&press(&mut app, KeyCode::Char('j'))), 2);
    let mut asked = 0;
    let mut last_tick = Vec::new();
    for _ in 0..3 {
        for _ in 0..10 {
            asked += details(&press(&mut app, KeyCode::Char('j')));
        }
        last_tick = app.update(Action::Tick);
        asked += details(&last_tick);
    }
    assert!(
        asked <= 3 * 2,
        "{asked} detail requests for 30 rows in 3 ticks"
    );
    // Let go: the last tick asked for the row the cursor stopped on, and the pane says it is
    // loading rather than showing another key's history; the tick after asks for nothing.
    let stopped = app.keys.selected().unwrap().id.clone();
    assert!(
        last_tick
            .iter()
            .any(|e| matches!(e, Effect::LoadKeyUsage { key_id, .. } if *key_id == stopped)),
        "{last_tick:?}"
    );
    assert!(screen(&app, 120, 35).contains("History: loading…"));
    assert_eq!(details(&app.update(Action::Tick)), 0);
    let effects = press(&mut app, KeyCode::Char('k'));
    let previous = app.keys.selected().unwrap().id.clone();
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::LoadKeyUsage { key_id, .. } if *key_id == previous)),
        "a single press after a rest answers at once: {effects:?}"
    );
    assert_ne!(stopped, previous);
}
