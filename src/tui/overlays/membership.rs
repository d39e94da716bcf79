//! Grants or revokes one role of an identity in a project. The project is picked with the
//! new-key form's searchable picker, so it works at any number of projects; only projects the
//! caller administers and roles it may grant are offered. Granting takes the role's variable
//! values (`language=cs,en`, or the `editor(language=cs)` form listings print) and replaces
//! them if the role is held; other roles held in that project are kept. Revoking the last
//! role removes the identity from the project.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::form::{choices, labelled, render_form, text_value, variables_hint};
use super::grantor::{self, Grantor};
use super::picker::{self, Pick, ProjectPicker};
use crate::api::ops::projects::ProjectsProjectsRoles as ProjectRole;
use crate::api::{ApiError, Me, MembershipSpec, Project, parse_variables};
use crate::tui::action::Effect;
use crate::tui::keymap::{Command, Context};
use crate::tui::modal::{Look, Modal, Outcome};
use crate::tui::widgets::centered;
use crate::tui::widgets::text_input::TextInput;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Action,
    Project,
    Role,
    Variables,
}

#[derive(Debug, Clone)]
pub struct MembershipEditor {
    pub identity_id: String,
    pub identity_name: String,
    /// The projects offered: those the caller administers.
    pub projects: Vec<Project>,
    /// The identity's current memberships, per project slug.
    pub current: Vec<(String, Vec<MembershipSpec>)>,
    /// The project picked, an index into `projects`.
    pub project: Option<usize>,
    /// The role chosen, an index into [`MembershipEditor::offered_roles`]: none at first, so
    /// that nothing powerful is granted by a hurried enter.
    pub role: Option<usize>,
    pub variables: TextInput,
    /// Revoke the role instead of granting it.
    pub revoke: bool,
    pub focus: Field,
    pub error: Option<String>,
    pub submitting: bool,
    /// Open while the user searches for the project.
    pub picker: Option<ProjectPicker>,
    grantor: Option<Grantor>,
}

/// What to send: the project, the full new membership list, and whether it is a member.
pub type MembershipChange = (String, Vec<MembershipSpec>, bool);

/// Widest the editor gets.
const MAX_WIDTH: u16 = 96;

impl MembershipEditor {
    /// An editor offering what `me` may change (everything while `me` is not loaded; the
    /// service decides in the end). It starts on the first project the identity belongs to.
    pub fn new(
        identity_id: String,
        identity_name: String,
        projects: Vec<Project>,
        current: Vec<(String, Vec<MembershipSpec>)>,
        me: Option<&Me>,
    ) -> Self {
        let grantor = me.map(Grantor::of);
        let projects: Vec<Project> = projects
            .into_iter()
            .filter(|p| grantor.as_ref().is_none_or(|g| g.administers(&p.slug)))
            .collect();
        let project = current
            .iter()
            .find_map(|(slug, _)| projects.iter().position(|p| p.slug == *slug))
            .or((!projects.is_empty()).then_some(0));
        let mut editor = MembershipEditor {
            identity_id,
            identity_name,
            projects,
            current,
            project,
            role: None,
            variables: TextInput::default(),
            revoke: false,
            focus: Field::Project,
            error: None,
            submitting: false,
            picker: None,
            grantor,
        };
        editor.fill_variables();
        editor
    }

    /// Whether there is anything to edit: a project the caller administers.
    pub fn has_projects(&self) -> bool {
        !self.projects.is_empty()
    }

    fn picked(&self) -> Option<&Project> {
        self.project.and_then(|i| self.projects.get(i))
    }

    /// The memberships held in the picked project.
    fn held(&self) -> &[MembershipSpec] {
        let Some(project) = self.picked() else {
            return &[];
        };
        self.current
            .iter()
            .find(|(slug, _)| *slug == project.slug)
            .map_or(&[], |(_, m)| m.as_slice())
    }

    /// The picked project's roles the caller may grant.
    pub fn offered_roles(&self) -> Vec<&ProjectRole> {
        self.picked()
            .map_or_else(Vec::new, |p| grantor::grantable(self.grantor.as_ref(), p))
    }

    fn chosen_role(&self) -> Option<&ProjectRole> {
        self.role.and_then(|r| self.offered_roles().get(r).copied())
    }

    /// The chosen role's values as held, ready to change; empty when it is not held.
    fn fill_variables(&mut self) {
        let role = self.chosen_role().map(|r| r.name.clone());
        let held = self
            .held()
            .iter()
            .find(|m| Some(&m.role) == role.as_ref())
            .map(|m| {
                m.variables
                    .iter()
                    .map(|(name, values)| format!("{name}={}", values.join(",")))
                    .collect::<Vec<_>>()
                    .join(";")
            })
            .unwrap_or_default();
        self.variables = TextInput::new(&held);
    }

    fn pick(&mut self, project: usize) {
        self.project = Some(project);
        self.role = None;
        self.fill_variables();
        self.error = None;
    }

    /// Handles a key; returns the change to send when the user applies a valid one.
    pub fn change(
        &mut self,
        event: &KeyEvent,
        command: Option<Command>,
    ) -> Option<MembershipChange> {
        if self.submitting {
            return None;
        }
        if let Some(picker) = &mut self.picker {
            match picker.on_key(event, command, &self.projects) {
                Pick::Choosing => {}
                Pick::Picked(i) => {
                    self.picker = None;
                    self.pick(i);
                }
                Pick::Closed => self.picker = None,
            }
            return None;
        }
        let printable = matches!(event.code, KeyCode::Char(_) | KeyCode::Backspace);
        // Typing on the project starts a search; space opens the list as it is.
        if self.focus == Field::Project && (printable || command == Some(Command::Toggle)) {
            let mut picker = ProjectPicker::open(&self.projects, false, self.project.unwrap_or(0));
            if command != Some(Command::Toggle) {
                picker.on_key(event, None, &self.projects);
            }
            self.picker = Some(picker);
            return None;
        }
        if self.focus == Field::Variables && printable && self.variables.on_key(event) {
            self.error = None;
            return None;
        }
        let roles = self.offered_roles().len().max(1);
        match command? {
            Command::NextField => {
                self.focus = match self.focus {
                    Field::Action => Field::Project,
                    Field::Project => Field::Role,
                    Field::Role if self.revoke => Field::Action,
                    Field::Role => Field::Variables,
                    Field::Variables => Field::Action,
                }
            }
            Command::PrevField => {
                self.focus = match self.focus {
                    Field::Action if self.revoke => Field::Role,
                    Field::Action => Field::Variables,
                    Field::Project => Field::Action,
                    Field::Role => Field::Project,
                    Field::Variables => Field::Role,
                }
            }
            c @ (Command::ChooseLeft | Command::ChooseRight | Command::Toggle) => {
                let forward = c != Command::ChooseLeft;
                match self.focus {
                    Field::Action => self.revoke = !self.revoke,
                    Field::Role => {
                        self.role = Some(match self.role {
                            None if forward => 0,
                            None => roles - 1,
                            Some(r) if forward => (r + 1) % roles,
                            Some(r) => (r + roles - 1) % roles,
                        });
                        self.fill_variables();
                    }
                    Field::Project | Field::Variables => {}
                }
            }
            Command::Submit => return self.submit(),
            _ => {}
        }
        None
    }

    /// The variables as typed: `NAME=V,…;…`, or `role(NAME=V,…)` as listings print it,
    /// which also chooses that role.
    fn typed_variables(&mut self) -> Result<Vec<(String, Vec<String>)>, String> {
        let text = self.variables.as_str().trim().to_owned();
        if !text.ends_with(')') {
            return parse_variables(&text);
        }
        let spec = MembershipSpec::parse(&text)?;
        let at = self
            .offered_roles()
            .iter()
            .position(|r| r.name == spec.role);
        match at {
            Some(at) => {
                self.role = Some(at);
                Ok(spec.variables)
            }
            None => Err(format!(
                "`{}` is not a role you may grant in this project",
                spec.role
            )),
        }
    }

    fn submit(&mut self) -> Option<MembershipChange> {
        let Some(project) = self.picked().cloned() else {
            self.error = Some("pick a project first (type to search)".into());
            return None;
        };
        let variables = if self.revoke {
            Vec::new()
        } else {
            match self.typed_variables() {
                Ok(v) => v,
                Err(e) => {
                    self.error = Some(e);
                    return None;
                }
            }
        };
        let Some(chosen) = self.chosen_role() else {
            self.error = Some(if self.offered_roles().is_empty() {
                format!("{} has no role you may grant", project.slug)
            } else {
                "choose a role (→ on Role)".to_owned()
            });
            return None;
        };
        let role = chosen.name.clone();
        if let Some((name, _)) = variables
            .iter()
            .find(|(name, _)| !chosen.variables.iter().any(|v| v.name == *name))
        {
            let has: Vec<&str> = chosen.variables.iter().map(|v| v.name.as_str()).collect();
            self.error = Some(match has.as_slice() {
                [] => format!("{role} has no variables; `{name}` is not one of them"),
                has => format!("{role} has the variables {}; not `{name}`", has.join(", ")),
            });
            return None;
        }
        let existing = self
            .current
            .iter()
            .find(|(slug, _)| *slug == project.slug)
            .map(|(_, m)| m.clone());
        let already_member = existing.is_some();
        let held = existing
            .as_ref()
            .is_some_and(|ms| ms.iter().any(|m| m.role == role));
        let mut memberships: Vec<MembershipSpec> = existing
            .unwrap_or_default()
            .into_iter()
            .filter(|m| m.role != role)
            .collect();
        if self.revoke {
            if !held {
                self.error = Some(format!(
                    "{} does not hold {role} in {}",
                    self.identity_name, project.slug
                ));
                return None;
            }
        } else {
            memberships.push(MembershipSpec { role, variables });
        }
        self.submitting = true;
        self.error = None;
        Some((project.slug, memberships, already_member))
    }

    /// The form's lines at `width`.
    fn lines(&self, width: usize, look: &Look) -> Vec<Line<'static>> {
        let theme = look.theme;
        let f = |field| self.focus == field;
        let actions = ["grant".to_string(), "revoke".to_string()];
        let mut lines = labelled(
            "Action",
            choices(&actions, &[!self.revoke, self.revoke], None, theme),
            f(Field::Action),
            None,
            width,
            theme,
        );
        let name = |i: usize| {
            self.projects
                .get(i)
                .map_or_else(String::new, |p| format!("{} · {}", p.slug, p.name))
        };
        if let Some(picker) = &self.picker {
            lines.extend(picker.lines(
                "Project",
                self.project,
                name,
                self.projects.len(),
                (None, width),
                theme,
            ));
        } else {
            let mut value = match self.project {
                Some(i) => vec![Span::raw(crate::text::visible(&name(i)).into_owned())],
                None => vec![Span::styled("none", theme.dim)],
            };
            if f(Field::Project) {
                value.push(Span::styled(
                    format!("  type to search {} projects", self.projects.len()),
                    theme.dim,
                ));
            }
            lines.extend(labelled(
                "Project",
                value,
                f(Field::Project),
                None,
                width,
                theme,
            ));
        }
        let held: Vec<String> = self.held().iter().map(MembershipSpec::label).collect();
        let held = if held.is_empty() {
            vec![Span::styled("not a member", theme.dim)]
        } else {
            vec![Span::raw(
                crate::text::visible(&held.join(", ")).into_owned(),
            )]
        };
        lines.extend(labelled("Holds", held, false, None, width, theme));
        let offered = self.offered_roles();
        let names: Vec<String> = offered.iter().map(|r| r.name.clone()).collect();
        let on: Vec<bool> = (0..names.len()).map(|i| Some(i) == self.role).collect();
        let roles = if names.is_empty() {
            vec![Span::styled("(no role you may grant here)", theme.dim)]
        } else {
            choices(&names, &on, self.role.filter(|_| f(Field::Role)), theme)
        };
        lines.extend(labelled("Role", roles, f(Field::Role), None, width, theme));
        if !self.revoke {
            let hint = variables_hint(self.role.and_then(|r| offered.get(r).copied()));
            lines.extend(labelled(
                "Variables",
                text_value(self.variables.as_str(), f(Field::Variables), &hint, theme),
                f(Field::Variables),
                None,
                width,
                theme,
            ));
        }
        lines
    }
}

impl Modal for MembershipEditor {
    fn contexts(&self) -> &'static [Context] {
        if self.picker.is_some() {
            picker::CONTEXTS
        } else {
            &[Context::Form]
        }
    }

    fn hints(&self) -> &'static [Command] {
        if self.picker.is_some() {
            return picker::HINTS;
        }
        &[
            Command::NextField,
            Command::ChooseRight,
            Command::Submit,
            Command::Cancel,
        ]
    }

    fn on_key(&mut self, event: &KeyEvent, command: Option<Command>) -> Outcome {
        // Esc in the picker goes back to the form.
        if command == Some(Command::Cancel) && self.picker.is_none() {
            return Outcome::Close;
        }
        match self.change(event, command) {
            Some((project_slug, memberships, already_member)) => {
                Outcome::Send(Effect::SetMembership {
                    project_slug,
                    identity_id: self.identity_id.clone(),
                    memberships,
                    already_member,
                })
            }
            None => Outcome::Stay,
        }
    }

    fn fail(&mut self, error: &ApiError) {
        self.submitting = false;
        self.error = Some(error.to_string());
    }

    /// As tall as its lines, up to the screen; the footer stays.
    fn render(&self, area: Rect, buf: &mut Buffer, look: &Look) {
        let width = MAX_WIDTH.min(area.width);
        let lines = self.lines(usize::from(width.saturating_sub(2)).max(1), look);
        let errors = usize::from(self.error.is_some());
        let height = u16::try_from(lines.len() + errors + 4).unwrap_or(u16::MAX);
        let area = centered(area, width, height);
        let room = usize::from(area.height.saturating_sub(4)).saturating_sub(errors);
        let lines = lines.into_iter().take(room).collect();
        render_form(
            lines,
            self.error.as_deref(),
            self.submitting.then_some("Saving"),
            &look.hints,
            format!(" Project membership of {} ", self.identity_name),
            look.theme,
            area,
            buf,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyModifiers;

    fn project() -> Project {
        serde_json::from_value(serde_json::json!({
            "slug": "my-blog", "name": "Blog",
            "roles": [{"name": "editor", "variables": [{"name": "language"}]}, {"name": "viewer", "variables": []}]
        }))
        .unwrap()
    }

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn granting_keeps_other_roles_and_revoking_the_last_removes_the_member() {
        let held = vec![(
            "my-blog".to_string(),
            vec![MembershipSpec {
                role: "viewer".into(),
                variables: vec![],
            }],
        )];
        let mut editor = MembershipEditor::new(
            "id".into(),
            "bot".into(),
            vec![project()],
            held.clone(),
            None,
        );
        // No role is chosen at first: enter asks for one.
        assert!(
            editor
                .change(&key(KeyCode::Enter), Some(Command::Submit))
                .is_none()
        );
        assert_eq!(editor.error.as_deref(), Some("choose a role (→ on Role)"));
        editor.focus = Field::Role;
        editor.change(&key(KeyCode::Right), Some(Command::ChooseRight));
        editor.focus = Field::Variables;
        for c in "region=eu".chars() {
            editor.change(&key(KeyCode::Char(c)), None);
        }
        assert!(
            editor
                .change(&key(KeyCode::Enter), Some(Command::Submit))
                .is_none()
        );
        assert_eq!(
            editor.error.as_deref(),
            Some("editor has the variables language; not `region`")
        );
        editor.variables = TextInput::new("language=cs");
        let (slug, ms, member) = editor
            .change(&key(KeyCode::Enter), Some(Command::Submit))
            .unwrap();
        assert_eq!((slug.as_str(), member), ("my-blog", true));
        assert_eq!(
            ms.iter().map(|m| m.role.as_str()).collect::<Vec<_>>(),
            ["viewer", "editor"]
        );

        let mut editor =
            MembershipEditor::new("id".into(), "bot".into(), vec![project()], held, None);
        editor.revoke = true;
        editor.role = Some(1);
        let (_, ms, _) = editor
            .change(&key(KeyCode::Enter), Some(Command::Submit))
            .unwrap();
        assert!(ms.is_empty(), "revoking the only role removes the member");
    }

    #[test]
    fn revoking_a_role_not_held_is_refused_here() {
        let mut editor =
            MembershipEditor::new("id".into(), "bot".into(), vec![project()], vec![], None);
        editor.revoke = true;
        editor.role = Some(0);
        assert!(
            editor
                .change(&key(KeyCode::Enter), Some(Command::Submit))
                .is_none()
        );
        assert!(
            editor
                .error
                .as_deref()
                .is_some_and(|e| e.contains("does not hold"))
        );
    }

    fn projects(n: usize) -> Vec<Project> {
        (0..n)
            .map(|i| {
                serde_json::from_value(serde_json::json!({
                    "slug": format!("p-{i:03}"), "name": format!("Project {i}"),
                    "roles": [{"name": "editor", "variables": [{"name": "language"}]}, {"name": "viewer", "variables": []}]
                }))
                .unwrap()
            })
            .collect()
    }

    fn type_text(editor: &mut MembershipEditor, text: &str) {
        for c in text.chars() {
            editor.change(&key(KeyCode::Char(c)), None);
        }
    }

    #[test]
    fn a_project_among_300_is_found_by_typing_and_the_listed_form_is_accepted() {
        let mut editor =
            MembershipEditor::new("id".into(), "bot".into(), projects(300), vec![], None);
        assert_eq!(editor.focus, Field::Project);
        type_text(&mut editor, "p-250");
        assert_eq!(editor.picker.as_ref().unwrap().matches, [250]);
        editor.change(&key(KeyCode::Enter), Some(Command::Submit));
        assert!(editor.picker.is_none());
        assert_eq!(editor.project, Some(250));
        editor.focus = Field::Variables;
        type_text(&mut editor, "editor(language=cs,en)");
        let (slug, ms, member) = editor
            .change(&key(KeyCode::Enter), Some(Command::Submit))
            .unwrap();
        assert_eq!((slug.as_str(), member), ("p-250", false));
        assert_eq!(
            ms,
            [MembershipSpec {
                role: "editor".into(),
                variables: vec![("language".into(), vec!["cs".into(), "en".into()])],
            }]
        );
    }

    #[test]
    fn only_projects_the_caller_administers_are_offered_and_held_values_are_filled_in() {
        let me: Me = serde_json::from_value(serde_json::json!({
            "id": "me", "description": "me", "roles": [],
            "projects": [{"project": {"slug": "p-002"}, "memberships": [{"role": "admin", "variables": []}]}]
        }))
        .unwrap();
        let held = vec![(
            "p-002".to_string(),
            vec![MembershipSpec {
                role: "editor".into(),
                variables: vec![("language".into(), vec!["de".into()])],
            }],
        )];
        let mut editor =
            MembershipEditor::new("id".into(), "bot".into(), projects(5), held, Some(&me));
        assert_eq!(
            editor
                .projects
                .iter()
                .map(|p| p.slug.as_str())
                .collect::<Vec<_>>(),
            ["p-002"]
        );
        editor.focus = Field::Role;
        editor.change(&key(KeyCode::Right), Some(Command::ChooseRight));
        assert_eq!(editor.variables.as_str(), "language=de");
    }
}
