//! The new-key form without a terminal: keys in, submissions and errors out.

use super::view::scroll_offset;
use super::*;
use crate::api::Refusal;
use crossterm::event::{KeyCode, KeyModifiers};
use ratatui::text::Line;

fn type_text(form: &mut CreateKeyForm, text: &str) {
    for c in text.chars() {
        form.on_key(&KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE), None);
    }
}

#[test]
fn submit_builds_a_read_only_global_key_by_default() {
    let mut form = CreateKeyForm::new(vec![], vec!["monitor".into()]);
    type_text(&mut form, "ci deploy");
    let enter = KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE);
    let sub = form.on_key(&enter, Some(Command::Submit)).unwrap();
    assert_eq!(sub.key.name, "ci deploy");
    assert!(sub.key.read && !sub.key.write);
    assert_eq!(sub.key.ttl.as_deref(), Some("30d"));
    assert!(sub.local_token.is_none());
    assert!(form.submitting);
}

#[test]
fn a_bad_ttl_is_refused_here_and_keeps_the_name() {
    let mut form = CreateKeyForm::new(vec![], vec![]);
    type_text(&mut form, "x");
    form.focus = Field::Ttl;
    form.ttl = TextInput::new("3y");
    let enter = KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE);
    assert!(form.on_key(&enter, Some(Command::Submit)).is_none());
    assert!(form.error(Field::Ttl).is_some());
    assert_eq!(form.name.as_str(), "x");
}

#[test]
fn a_ttl_beyond_the_services_maximum_is_refused_as_it_is_typed() {
    let mut form = CreateKeyForm::new(vec![], vec![]).max_ttl(Some("30d".parse().unwrap()));
    type_text(&mut form, "x");
    form.ttl = TextInput::new("31d");
    assert_eq!(
        form.typed_ttl(),
        Err("longer than this service allows: at most 30d".into())
    );
    let enter = KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE);
    assert!(form.on_key(&enter, Some(Command::Submit)).is_none());
    assert!(form.error(Field::Ttl).is_some());
    form.ttl = TextInput::new("30d");
    assert!(form.on_key(&enter, Some(Command::Submit)).is_some());
}

#[test]
fn no_project_role_is_chosen_for_the_user() {
    let mut form = CreateKeyForm::new(projects(2), vec![]);
    type_text(&mut form, "x");
    form.set_scope(1);
    let enter = KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE);
    assert!(form.on_key(&enter, Some(Command::Submit)).is_none());
    assert_eq!(form.error(Field::Grants), Some("choose a role (→ on Role)"));
    form.focus = Field::Grants;
    form.on_key(
        &KeyEvent::new(KeyCode::Right, KeyModifiers::NONE),
        Some(Command::ChooseRight),
    );
    let sub = form.on_key(&enter, Some(Command::Submit)).unwrap();
    assert!(
        matches!(&sub.key.scope, KeyScope::Project { memberships, .. } if memberships[0].role == "admin")
    );
}

#[test]
fn esc_on_a_touched_form_asks_before_discarding() {
    let esc = KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE);
    let mut untouched = CreateKeyForm::new(vec![], vec![]);
    assert_eq!(
        Modal::on_key(&mut untouched, &esc, Some(Command::Cancel)),
        Outcome::Close
    );
    let mut form = CreateKeyForm::new(vec![], vec![]);
    type_text(&mut form, "half");
    assert_eq!(
        Modal::on_key(&mut form, &esc, Some(Command::Cancel)),
        Outcome::Stay
    );
    assert_eq!(form.form_error.as_deref(), Some(DISCARD_QUESTION));
    // Any other key goes on editing, and the question goes.
    Modal::on_key(
        &mut form,
        &KeyEvent::new(KeyCode::Char('!'), KeyModifiers::NONE),
        None,
    );
    assert_eq!(form.name.as_str(), "half!");
    assert!(form.form_error.is_none());
    Modal::on_key(&mut form, &esc, Some(Command::Cancel));
    assert_eq!(
        Modal::on_key(&mut form, &esc, Some(Command::Cancel)),
        Outcome::Close
    );
}

#[test]
fn server_errors_land_next_to_their_field_and_nothing_is_lost() {
    let mut form = CreateKeyForm::new(vec![], vec![]);
    type_text(&mut form, "dup");
    form.submitting = true;
    form.fail(&ApiError::Refused(Refusal {
        code: "NAME_TAKEN".into(),
        message: "taken".into(),
        memberships: vec![],
    }));
    assert_eq!(form.error(Field::Name), Some("taken"));
    assert_eq!(form.focus, Field::Name);
    assert!(!form.submitting);
    assert_eq!(form.name.as_str(), "dup");
}

#[test]
fn local_tokens_are_sent_only_as_hashes() {
    let mut form = CreateKeyForm::new(vec![], vec![]);
    type_text(&mut form, "local");
    form.local_token = true;
    let enter = KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE);
    let sub = form.on_key(&enter, Some(Command::Submit)).unwrap();
    let token = sub.local_token.unwrap();
    assert_eq!(sub.key.token_hash, Some(token::hash(&token)));
}

fn projects(n: usize) -> Vec<Project> {
    (0..n)
        .map(|i| {
            serde_json::from_value(serde_json::json!({
                "slug": format!("project-{i:04}"),
                "name": format!("Project number {i}"),
                "roles": [
                    {"name": "admin", "variables": []},
                    {"name": "editor", "variables": [{"name": "language"}]},
                    {"name": "viewer", "variables": []}
                ]
            }))
            .unwrap()
        })
        .collect()
}

fn me(roles: &[&str], memberships: serde_json::Value) -> Me {
    serde_json::from_value(serde_json::json!({
        "id": "me", "description": "me", "roles": roles, "projects": memberships
    }))
    .unwrap()
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

#[test]
fn only_roles_the_caller_may_grant_are_offered() {
    let catalog = || {
        vec![
            "super_admin".into(),
            "project_admin".into(),
            "monitor".into(),
        ]
    };
    let editor_in_1 = serde_json::json!([{
        "project": {"slug": "project-0001"},
        "memberships": [{"role": "editor", "variables": [{"name": "language", "values": ["cs"]}]}]
    }]);
    let mut member =
        CreateKeyForm::new(projects(3), catalog()).granted_by(Some(&me(&["monitor"], editor_in_1)));
    assert_eq!(member.catalog, ["monitor"]);
    member.scope = 2;
    let names = |f: &CreateKeyForm| -> Vec<String> {
        f.offered_roles().iter().map(|r| r.name.clone()).collect()
    };
    assert_eq!(names(&member), ["editor"]);
    member.scope = 1;
    assert!(names(&member).is_empty());

    let admin_of_0 = serde_json::json!([{
        "project": {"slug": "project-0000"}, "memberships": [{"role": "admin", "variables": []}]
    }]);
    let mut project_admin =
        CreateKeyForm::new(projects(3), catalog()).granted_by(Some(&me(&[], admin_of_0)));
    project_admin.scope = 1;
    assert_eq!(names(&project_admin), ["admin", "editor", "viewer"]);

    let mut global_admin = CreateKeyForm::new(projects(3), catalog())
        .granted_by(Some(&me(&["project_admin"], serde_json::json!([]))));
    assert_eq!(global_admin.catalog, ["project_admin"]);
    global_admin.scope = 3;
    assert_eq!(names(&global_admin).len(), 3);

    let root = CreateKeyForm::new(projects(3), catalog())
        .granted_by(Some(&me(&["super_admin"], serde_json::json!([]))));
    assert_eq!(root.catalog.len(), 3);
}

#[test]
fn a_project_is_found_among_a_thousand_by_typing() {
    let mut form = CreateKeyForm::new(projects(1000), vec![]);
    form.on_key(&key(KeyCode::Tab), Some(Command::NextField));
    assert_eq!(form.focus, Field::Scope);
    type_text(&mut form, "0742");
    assert!(form.picking());
    assert_eq!(form.picker.as_ref().unwrap().matches, [743]);
    form.on_key(&key(KeyCode::Enter), Some(Command::Submit));
    assert!(!form.picking());
    assert_eq!(form.project().unwrap().slug, "project-0742");
    // Space opens the whole list; moving and Esc leave the scope as it was.
    form.on_key(&key(KeyCode::Char(' ')), Some(Command::Toggle));
    assert_eq!(form.picker.as_ref().unwrap().matches.len(), 1001);
    form.on_key(&key(KeyCode::Down), Some(Command::NextField));
    form.on_key(&key(KeyCode::Esc), Some(Command::Cancel));
    assert!(!form.picking());
    assert_eq!(form.scope, 743);
}

#[test]
fn the_focused_field_scrolls_into_view() {
    let fields: Vec<(Field, Line<'_>)> = [
        (Field::Name, 1),
        (Field::Scope, 9),
        (Field::Grants, 2),
        (Field::Ttl, 1),
    ]
    .into_iter()
    .flat_map(|(f, n)| std::iter::repeat_n((f, Line::default()), n))
    .collect();
    assert_eq!(scroll_offset(&fields, Field::Name, 5), 0);
    assert_eq!(scroll_offset(&fields, Field::Ttl, 5), 8);
    assert_eq!(scroll_offset(&fields, Field::Grants, 5), 7);
    // Taller than the room: its first lines.
    assert_eq!(scroll_offset(&fields, Field::Scope, 5), 1);
    assert_eq!(scroll_offset(&fields, Field::Ttl, 50), 0);
}
