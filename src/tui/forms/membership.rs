//! Grants or revokes one role of an identity in a project. Granting takes the role's
//! variable values and replaces them if the role is held; other roles held in that project
//! are kept. Revoking the last role removes the identity from the project.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use super::{choices, field_line, render_form, text_value, variables_hint};
use crate::api::{ApiError, MembershipSpec, Project, parse_variables};
use crate::tui::action::Effect;
use crate::tui::keymap::{Command, Context};
use crate::tui::overlay::{Look, Modal, Outcome};
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
    pub projects: Vec<Project>,
    /// The identity's current memberships, per project slug.
    pub current: Vec<(String, Vec<MembershipSpec>)>,
    pub project: usize,
    pub role: usize,
    pub variables: TextInput,
    /// Revoke the role instead of granting it.
    pub revoke: bool,
    pub focus: Field,
    pub error: Option<String>,
    pub submitting: bool,
}

/// What to send: the project, the full new membership list, and whether it is a member.
pub type MembershipChange = (String, Vec<MembershipSpec>, bool);

impl MembershipEditor {
    pub fn new(
        identity_id: String,
        identity_name: String,
        projects: Vec<Project>,
        current: Vec<(String, Vec<MembershipSpec>)>,
    ) -> Self {
        MembershipEditor {
            identity_id,
            identity_name,
            projects,
            current,
            project: 0,
            role: 0,
            variables: TextInput::default(),
            revoke: false,
            focus: Field::Action,
            error: None,
            submitting: false,
        }
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
        if self.focus == Field::Variables
            && matches!(event.code, KeyCode::Char(_) | KeyCode::Backspace)
            && self.variables.on_key(event)
        {
            return None;
        }
        let roles = self
            .projects
            .get(self.project)
            .map_or(0, |p| p.roles.len())
            .max(1);
        let n_projects = self.projects.len().max(1);
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
                let step = |i: usize, n: usize| {
                    if forward {
                        (i + 1) % n
                    } else {
                        (i + n - 1) % n
                    }
                };
                match self.focus {
                    Field::Action => self.revoke = !self.revoke,
                    Field::Project => {
                        self.project = step(self.project, n_projects);
                        self.role = 0;
                    }
                    Field::Role => self.role = step(self.role, roles),
                    Field::Variables => {}
                }
            }
            Command::Submit => return self.submit(),
            _ => {}
        }
        None
    }

    fn submit(&mut self) -> Option<MembershipChange> {
        let Some(project) = self.projects.get(self.project) else {
            self.error = Some("there is no project to join".into());
            return None;
        };
        let Some(role) = project.roles.get(self.role) else {
            self.error = Some("the project defines no roles".into());
            return None;
        };
        let existing = self
            .current
            .iter()
            .find(|(slug, _)| *slug == project.slug)
            .map(|(_, m)| m.clone());
        let already_member = existing.is_some();
        let held = existing
            .as_ref()
            .is_some_and(|ms| ms.iter().any(|m| m.role == role.name));
        let mut memberships: Vec<MembershipSpec> = existing
            .unwrap_or_default()
            .into_iter()
            .filter(|m| m.role != role.name)
            .collect();
        if self.revoke {
            if !held {
                self.error = Some(format!(
                    "{} does not hold {} in {}",
                    self.identity_name, role.name, project.slug
                ));
                return None;
            }
        } else {
            let variables = match parse_variables(self.variables.as_str()) {
                Ok(v) => v,
                Err(e) => {
                    self.error = Some(e);
                    return None;
                }
            };
            memberships.push(MembershipSpec {
                role: role.name.clone(),
                variables,
            });
        }
        self.submitting = true;
        self.error = None;
        Some((project.slug.clone(), memberships, already_member))
    }
}

impl Modal for MembershipEditor {
    fn contexts(&self) -> &'static [Context] {
        &[Context::Form]
    }

    fn hints(&self) -> &'static [Command] {
        &[
            Command::NextField,
            Command::ChooseRight,
            Command::Submit,
            Command::Cancel,
        ]
    }

    fn on_key(&mut self, event: &KeyEvent, command: Option<Command>) -> Outcome {
        if command == Some(Command::Cancel) {
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

    fn render(&self, area: Rect, buf: &mut Buffer, look: &Look) {
        let theme = look.theme;
        let area = centered(area, 90, 12);
        let f = |field| self.focus == field;
        let slugs: Vec<String> = self.projects.iter().map(|p| p.slug.clone()).collect();
        let on: Vec<bool> = (0..slugs.len()).map(|i| i == self.project).collect();
        let roles: Vec<String> = self
            .projects
            .get(self.project)
            .map(|p| p.roles.iter().map(|r| r.name.clone()).collect())
            .unwrap_or_default();
        let role_on: Vec<bool> = (0..roles.len()).map(|i| i == self.role).collect();
        let hint = variables_hint(
            self.projects
                .get(self.project)
                .and_then(|p| p.roles.get(self.role)),
        );
        let actions = ["grant".to_string(), "revoke".to_string()];
        let mut lines = vec![
            field_line(
                "Action",
                choices(&actions, &[!self.revoke, self.revoke], None, theme),
                f(Field::Action),
                None,
                theme,
            ),
            field_line(
                "Project",
                choices(&slugs, &on, None, theme),
                f(Field::Project),
                None,
                theme,
            ),
            field_line(
                "Role",
                choices(&roles, &role_on, None, theme),
                f(Field::Role),
                None,
                theme,
            ),
        ];
        if !self.revoke {
            lines.push(field_line(
                "Variables",
                text_value(self.variables.as_str(), f(Field::Variables), &hint, theme),
                f(Field::Variables),
                None,
                theme,
            ));
        }
        render_form(
            lines,
            self.error.as_deref(),
            self.submitting.then_some("Saving"),
            &look.hints,
            format!(" Project membership of {} ", self.identity_name),
            theme,
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
        let mut editor =
            MembershipEditor::new("id".into(), "bot".into(), vec![project()], held.clone());
        editor.focus = Field::Variables;
        for c in "language=cs".chars() {
            editor.change(&key(KeyCode::Char(c)), None);
        }
        let (slug, ms, member) = editor
            .change(&key(KeyCode::Enter), Some(Command::Submit))
            .unwrap();
        assert_eq!((slug.as_str(), member), ("my-blog", true));
        assert_eq!(
            ms.iter().map(|m| m.role.as_str()).collect::<Vec<_>>(),
            ["viewer", "editor"]
        );

        let mut editor = MembershipEditor::new("id".into(), "bot".into(), vec![project()], held);
        editor.revoke = true;
        editor.role = 1;
        let (_, ms, _) = editor
            .change(&key(KeyCode::Enter), Some(Command::Submit))
            .unwrap();
        assert!(ms.is_empty(), "revoking the only role removes the member");
    }

    #[test]
    fn revoking_a_role_not_held_is_refused_here() {
        let mut editor = MembershipEditor::new("id".into(), "bot".into(), vec![project()], vec![]);
        editor.revoke = true;
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
}
