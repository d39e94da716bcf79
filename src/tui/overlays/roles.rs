//! Edits an identity's global roles, picked from the role catalog.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use crossterm::event::KeyEvent;

use super::form::render_form;
use crate::api::ApiError;
use crate::tui::action::Effect;
use crate::tui::keymap::{Command, Context};
use crate::tui::modal::{Look, Modal, Outcome};
use crate::tui::widgets::centered;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolesEditor {
    pub identity_id: String,
    pub identity_name: String,
    pub catalog: Vec<String>,
    pub on: Vec<bool>,
    original: Vec<bool>,
    pub cursor: usize,
    pub error: Option<String>,
    pub submitting: bool,
}

/// The roles to add and to remove.
pub type RoleChange = (Vec<String>, Vec<String>);

impl RolesEditor {
    pub fn new(
        identity_id: String,
        identity_name: String,
        catalog: Vec<String>,
        held: &[String],
    ) -> Self {
        let on: Vec<bool> = catalog.iter().map(|r| held.contains(r)).collect();
        RolesEditor {
            identity_id,
            identity_name,
            catalog,
            original: on.clone(),
            on,
            cursor: 0,
            error: None,
            submitting: false,
        }
    }

    /// Returns the change to apply when the user submits one.
    pub fn on_command(&mut self, command: Command) -> Option<RoleChange> {
        if self.submitting {
            return None;
        }
        let n = self.catalog.len().max(1);
        match command {
            Command::NextField | Command::Down => self.cursor = (self.cursor + 1) % n,
            Command::PrevField | Command::Up => self.cursor = (self.cursor + n - 1) % n,
            Command::Toggle => {
                if let Some(on) = self.on.get_mut(self.cursor) {
                    *on = !*on;
                }
            }
            Command::Submit => {
                let pick = |want: bool| -> Vec<String> {
                    self.catalog
                        .iter()
                        .zip(self.on.iter().zip(&self.original))
                        .filter(|(_, (now, before))| **now == want && **now != **before)
                        .map(|(r, _)| r.clone())
                        .collect()
                };
                let change = (pick(true), pick(false));
                if change.0.is_empty() && change.1.is_empty() {
                    self.error = Some("nothing changed".into());
                    return None;
                }
                self.submitting = true;
                self.error = None;
                return Some(change);
            }
            _ => {}
        }
        None
    }
}

impl Modal for RolesEditor {
    fn contexts(&self) -> &'static [Context] {
        &[Context::Form, Context::List]
    }

    fn hints(&self) -> &'static [Command] {
        &[
            Command::NextField,
            Command::Toggle,
            Command::Submit,
            Command::Cancel,
        ]
    }

    fn on_key(&mut self, _event: &KeyEvent, command: Option<Command>) -> Outcome {
        match command {
            Some(Command::Cancel) => Outcome::Close,
            Some(c) => match self.on_command(c) {
                Some((add, remove)) => Outcome::Send(Effect::ChangeRoles {
                    identity_id: self.identity_id.clone(),
                    add,
                    remove,
                }),
                None => Outcome::Stay,
            },
            None => Outcome::Stay,
        }
    }

    fn fail(&mut self, error: &ApiError) {
        self.submitting = false;
        self.error = Some(error.to_string());
    }

    fn render(&self, area: Rect, buf: &mut Buffer, look: &Look) {
        let theme = look.theme;
        let removing = self
            .on
            .iter()
            .zip(&self.original)
            .any(|(on, was)| !on && *was);
        let area = centered(
            area,
            70,
            self.catalog.len() as u16 + 7 + u16::from(removing),
        );
        let mut lines: Vec<Line> = self
            .catalog
            .iter()
            .enumerate()
            .map(|(i, role)| {
                let mark = if self.on[i] { "[x]" } else { "[ ]" };
                let changed = if self.on[i] == self.original[i] {
                    ""
                } else {
                    " *"
                };
                let style = if i == self.cursor {
                    theme.selected
                } else {
                    ratatui::style::Style::new()
                };
                let role = crate::text::visible(role);
                Line::from(Span::styled(format!("{mark} {role}{changed}"), style))
            })
            .collect();
        if removing {
            // What saving will do beyond this identity, said before it is done.
            lines.push(Line::from(Span::styled(
                "A role taken away goes from the personal keys it created too.",
                theme.dim,
            )));
        }
        render_form(
            lines,
            self.error.as_deref(),
            self.submitting.then_some("Saving"),
            &look.hints,
            format!(" Global roles of {} ", self.identity_name),
            theme,
            area,
            buf,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn submit_reports_only_what_changed() {
        let catalog = vec!["super_admin".to_string(), "monitor".to_string()];
        let mut editor = RolesEditor::new(
            "id".into(),
            "x".into(),
            catalog,
            &["super_admin".to_string()],
        );
        assert_eq!(editor.on_command(Command::Submit), None);
        editor.on_command(Command::Toggle); // super_admin off
        editor.on_command(Command::Down);
        editor.on_command(Command::Toggle); // monitor on
        let (add, remove) = editor.on_command(Command::Submit).unwrap();
        assert_eq!(add, ["monitor"]);
        assert_eq!(remove, ["super_admin"]);
    }
}
