//! The terminal app without a terminal: `update()` transitions, and every screen rendered
//! at a fixed size into ratatui's TestBackend and compared with insta snapshots.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use keydeck::api::ops::{Identity, Key};
use keydeck::api::{ApiError, CreatedKey, Database, Page, Refusal};
use keydeck::platform::CopyPath;
use keydeck::tui::action::{Action, Effect};
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
    let second = app.update(Action::KeysLoaded {
        append: false,
        result: Err(down()),
    });
    let delay = |effects: &[Effect]| match effects {
        [Effect::Later { delay, effect }] if matches!(**effect, Effect::LoadKeys { .. }) => *delay,
        other => panic!("expected a retry, got {other:?}"),
    };
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
    assert_eq!(app.message(), None);
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
    assert!(press(&mut app, KeyCode::Tab).is_empty());
    assert_eq!(app.tab, Tab::Keys);
    press(&mut app, KeyCode::BackTab);
    assert_eq!(app.tab, Tab::Stats);
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
fn help_opens_and_any_key_closes_it_and_q_quits() {
    let mut app = loaded(1);
    press(&mut app, KeyCode::Char('?'));
    assert!(app.show_help);
    press(&mut app, KeyCode::Char('x'));
    assert!(!app.show_help);
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
    }])));
    press(&mut app, KeyCode::Enter);
    let stats = serde_json::from_value(json!([
        {"id": "1", "truncatedQuery": "SELECT * FROM accounts WHERE id = $1", "statementTypes": ["SELECT"], "tableNames": ["accounts"], "totalCalls": 1000, "avgTime": 0.05, "bufferHitRatio": 100.0, "pctOfTotal": 12.5, "avgIoTime": 0.0},
        {"id": "2", "truncatedQuery": "UPDATE \"pgbench_accounts\" SET abalance = $1 WHERE \"aid\" = $2", "statementTypes": ["UPDATE"], "tableNames": ["pgbench_accounts"], "totalCalls": 1887313, "avgTime": 35.3, "bufferHitRatio": 69.5, "pctOfTotal": 87.5, "avgIoTime": 1.2}
    ])).unwrap();
    app.update(Action::StatsLoaded {
        database_id: "1".into(),
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
    assert!(!app.should_quit && !app.show_help);
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Char('3'));
    let stats = footer(&app);
    assert!(
        !stats.contains("/ ") && stats.contains("enter open"),
        "{stats}"
    );
    press(&mut app, KeyCode::Char('?'));
    let help = screen(&app, 100, 40);
    assert!(!help.contains("search the service"), "{help}");
    press(&mut app, KeyCode::Char('x'));
    press(&mut app, KeyCode::Char('2'));
    let identities = footer(&app);
    assert!(identities.contains("enter roles"), "{identities}");
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
    assert!(text.contains("expired  3d ago   2d ago"), "{text}");
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
fn sorting_goes_both_ways_with_the_header_marked() {
    let mut app = loaded(3);
    press(&mut app, KeyCode::Char('s')); // by name
    assert!(screen(&app, 120, 12).contains("Name ▲"));
    assert_eq!(app.keys.selected().unwrap().description, "key number 0");
    press(&mut app, KeyCode::Char('S'));
    assert!(screen(&app, 120, 12).contains("Name ▼"));
    press(&mut app, KeyCode::Char('g'));
    assert_eq!(app.keys.selected().unwrap().description, "key number 2");
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
