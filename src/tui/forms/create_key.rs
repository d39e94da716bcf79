//! The create-key form (`n`): name, scope, grants, permissions, visibility, TTL, token source.

use crossterm::event::KeyEvent;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Span;

use super::{choices, field_line, render_form, text_value, variables_hint};
use crate::api::{ApiError, KeyScope, MembershipSpec, NewKey, Project, parse_variables};
use crate::token;
use crate::ttl::Ttl;
use crate::tui::action::Effect;
use crate::tui::keymap::{Command, Context};
use crate::tui::overlay::{Look, Modal, Outcome};
use crate::tui::widgets::centered;
use crate::tui::widgets::text_input::TextInput;
use crate::tui::widgets::time::absolute;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Name,
    Scope,
    Grants,
    Variables,
    Permissions,
    Visibility,
    Ttl,
    TokenSource,
}

const ORDER: [Field; 8] = [
    Field::Name,
    Field::Scope,
    Field::Grants,
    Field::Variables,
    Field::Permissions,
    Field::Visibility,
    Field::Ttl,
    Field::TokenSource,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Permissions {
    #[default]
    Read,
    Write,
    ReadWrite,
}

impl Permissions {
    fn cycle(self, forward: bool) -> Self {
        use Permissions::*;
        match (self, forward) {
            (Read, true) | (ReadWrite, false) => Write,
            (Write, true) | (Read, false) => ReadWrite,
            (ReadWrite, true) | (Write, false) => Read,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Permissions::Read => "Read",
            Permissions::Write => "Write",
            Permissions::ReadWrite => "Read + Write",
        }
    }
}

/// What a submit asks the service to do.
#[derive(Debug, Clone, PartialEq)]
pub struct Submission {
    pub key: NewKey,
    /// Generated here; only its hash is sent.
    pub local_token: Option<String>,
}

#[derive(Debug, Clone)]
pub struct CreateKeyForm {
    pub name: TextInput,
    /// 0 is global; `i` is `projects[i - 1]`.
    pub scope: usize,
    pub projects: Vec<Project>,
    pub catalog: Vec<String>,
    /// Global roles chosen, parallel to `catalog`.
    pub roles_on: Vec<bool>,
    /// Cursor among global roles, or the chosen project role.
    pub grant_cursor: usize,
    pub variables: TextInput,
    pub permissions: Permissions,
    pub personal: bool,
    pub ttl: TextInput,
    pub local_token: bool,
    pub focus: Field,
    pub errors: Vec<(Field, String)>,
    pub form_error: Option<String>,
    pub submitting: bool,
}

impl CreateKeyForm {
    pub fn new(projects: Vec<Project>, catalog: Vec<String>) -> Self {
        CreateKeyForm {
            name: TextInput::default(),
            scope: 0,
            roles_on: vec![false; catalog.len()],
            projects,
            catalog,
            grant_cursor: 0,
            variables: TextInput::default(),
            permissions: Permissions::Read,
            personal: false,
            ttl: TextInput::new("30d"),
            local_token: false,
            focus: Field::Name,
            errors: Vec::new(),
            form_error: None,
            submitting: false,
        }
    }

    fn project(&self) -> Option<&Project> {
        self.scope.checked_sub(1).and_then(|i| self.projects.get(i))
    }

    fn visible(&self, field: Field) -> bool {
        field != Field::Variables || self.project().is_some()
    }

    fn step(&mut self, forward: bool) {
        let mut i = ORDER.iter().position(|f| *f == self.focus).unwrap_or(0);
        loop {
            i = if forward {
                (i + 1) % ORDER.len()
            } else {
                (i + ORDER.len() - 1) % ORDER.len()
            };
            if self.visible(ORDER[i]) {
                self.focus = ORDER[i];
                return;
            }
        }
    }

    fn is_text(&self) -> bool {
        matches!(self.focus, Field::Name | Field::Variables | Field::Ttl)
    }

    /// Handles a key. Returns a submission when the user submits a locally valid form.
    pub fn on_key(&mut self, event: &KeyEvent, command: Option<Command>) -> Option<Submission> {
        if self.submitting {
            return None;
        }
        // While typing, printable keys are text, not commands.
        let typing = self.is_text()
            && matches!(
                event.code,
                crossterm::event::KeyCode::Char(_) | crossterm::event::KeyCode::Backspace
            );
        if typing {
            let input = match self.focus {
                Field::Name => &mut self.name,
                Field::Variables => &mut self.variables,
                _ => &mut self.ttl,
            };
            if input.on_key(event) {
                self.clear_error(self.focus);
                return None;
            }
        }
        match command? {
            Command::NextField => self.step(true),
            Command::PrevField => self.step(false),
            Command::Toggle => self.choose(true, true),
            Command::ChooseRight => self.choose(true, false),
            Command::ChooseLeft => self.choose(false, false),
            Command::Submit => return self.submit(),
            _ => {}
        }
        None
    }

    fn choose(&mut self, forward: bool, toggle: bool) {
        match self.focus {
            Field::Scope => {
                let n = self.projects.len() + 1;
                self.scope = if forward {
                    (self.scope + 1) % n
                } else {
                    (self.scope + n - 1) % n
                };
                self.grant_cursor = 0;
                self.variables = TextInput::default();
                self.clear_error(Field::Scope);
            }
            Field::Grants => {
                let n = match self.project() {
                    Some(p) => p.roles.len(),
                    None => self.catalog.len(),
                };
                if toggle && self.project().is_none() {
                    if let Some(on) = self.roles_on.get_mut(self.grant_cursor) {
                        *on = !*on;
                    }
                } else if n > 0 {
                    self.grant_cursor = if forward {
                        (self.grant_cursor + 1) % n
                    } else {
                        (self.grant_cursor + n - 1) % n
                    };
                }
                self.clear_error(Field::Grants);
            }
            Field::Permissions => self.permissions = self.permissions.cycle(forward),
            Field::Visibility => self.personal = !self.personal,
            Field::TokenSource => self.local_token = !self.local_token,
            Field::Name | Field::Variables | Field::Ttl => {}
        }
    }

    fn clear_error(&mut self, field: Field) {
        self.errors.retain(|(f, _)| *f != field);
        self.form_error = None;
    }

    fn error(&self, field: Field) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, e)| e.as_str())
    }

    /// Validates what can be checked here; on success the form waits for the service.
    fn submit(&mut self) -> Option<Submission> {
        self.errors.clear();
        self.form_error = None;
        let name = self.name.as_str().trim().to_owned();
        if name.is_empty() {
            self.errors.push((Field::Name, "a name is required".into()));
        }
        let ttl = self.ttl.as_str().trim().to_owned();
        if let Err(e) = ttl.parse::<Ttl>() {
            self.errors.push((Field::Ttl, e.to_string()));
        }
        let scope = match self.project() {
            None => KeyScope::Global {
                roles: self
                    .catalog
                    .iter()
                    .zip(&self.roles_on)
                    .filter(|(_, on)| **on)
                    .map(|(r, _)| r.clone())
                    .collect(),
            },
            Some(project) => {
                let role = project.roles.get(self.grant_cursor).map(|r| r.name.clone());
                let variables = parse_variables(self.variables.as_str());
                match (role, variables) {
                    (None, _) => {
                        self.errors
                            .push((Field::Grants, "the project defines no roles".into()));
                        KeyScope::Global { roles: vec![] }
                    }
                    (_, Err(e)) => {
                        self.errors.push((Field::Variables, e));
                        KeyScope::Global { roles: vec![] }
                    }
                    (Some(role), Ok(variables)) => KeyScope::Project {
                        slug: project.slug.clone(),
                        memberships: vec![MembershipSpec { role, variables }],
                    },
                }
            }
        };
        if !self.errors.is_empty() {
            return None;
        }
        let local_token = if self.local_token {
            match token::generate() {
                Ok(t) => Some(t),
                Err(e) => {
                    self.form_error = Some(format!("cannot generate a token here: {e}"));
                    return None;
                }
            }
        } else {
            None
        };
        self.submitting = true;
        Some(Submission {
            key: NewKey {
                name,
                scope,
                ttl: Some(ttl),
                read: self.permissions != Permissions::Write,
                write: self.permissions != Permissions::Read,
                personal: self.personal,
                token_hash: local_token.as_deref().map(token::hash),
            },
            local_token,
        })
    }

    /// Puts the service's refusal next to the field it concerns; everything typed stays.
    pub fn fail(&mut self, error: &ApiError) {
        self.submitting = false;
        let field = match error.code() {
            Some("INVALID_DESCRIPTION" | "NAME_TAKEN") => Some(Field::Name),
            Some("PROJECT_NOT_FOUND") => Some(Field::Scope),
            Some("INVALID_ROLE") => Some(Field::Grants),
            Some("INVALID_MEMBERSHIP") => Some(
                if self
                    .project()
                    .is_some_and(|p| p.roles.iter().any(|r| !r.variables.is_empty()))
                {
                    Field::Variables
                } else {
                    Field::Grants
                },
            ),
            Some("INVALID_TTL") => Some(Field::Ttl),
            Some("INVALID_TOKEN_HASH") => Some(Field::TokenSource),
            Some("INVALID_PERMISSIONS") => Some(Field::Permissions),
            _ => None,
        };
        let message = match error {
            ApiError::Refused(r) => {
                let mut m = r.message.clone();
                for (code, role, variable) in &r.memberships {
                    m.push_str(&format!(
                        "; {role}{}: {code}",
                        variable
                            .as_deref()
                            .map(|v| format!(".{v}"))
                            .unwrap_or_default()
                    ));
                }
                m
            }
            other => other.to_string(),
        };
        match field {
            Some(f) => {
                self.errors.push((f, message));
                self.focus = f;
            }
            None => self.form_error = Some(message),
        }
    }

    pub fn render(&self, area: Rect, buf: &mut Buffer, look: &Look) {
        let (theme, now) = (look.theme, look.now);
        let area = centered(area, 96, 15);
        let f = |field: Field| self.focus == field;
        let scope_names: Vec<String> = std::iter::once("global".to_string())
            .chain(self.projects.iter().map(|p| format!("project {}", p.slug)))
            .collect();
        let scope_on: Vec<bool> = (0..scope_names.len()).map(|i| i == self.scope).collect();
        let mut lines = vec![
            field_line(
                "Name",
                text_value(
                    self.name.as_str(),
                    f(Field::Name),
                    "what is this key for?",
                    theme,
                ),
                f(Field::Name),
                self.error(Field::Name),
                theme,
            ),
            field_line(
                "Scope",
                choices(
                    &scope_names,
                    &scope_on,
                    f(Field::Scope).then_some(self.scope),
                    theme,
                ),
                f(Field::Scope),
                self.error(Field::Scope),
                theme,
            ),
        ];
        match self.project() {
            None => lines.push(field_line(
                "Roles",
                choices(
                    &self.catalog,
                    &self.roles_on,
                    f(Field::Grants).then_some(self.grant_cursor),
                    theme,
                ),
                f(Field::Grants),
                self.error(Field::Grants),
                theme,
            )),
            Some(p) => {
                let names: Vec<String> = p.roles.iter().map(|r| r.name.clone()).collect();
                let on: Vec<bool> = (0..names.len()).map(|i| i == self.grant_cursor).collect();
                lines.push(field_line(
                    "Role",
                    choices(
                        &names,
                        &on,
                        f(Field::Grants).then_some(self.grant_cursor),
                        theme,
                    ),
                    f(Field::Grants),
                    self.error(Field::Grants),
                    theme,
                ));
                let hint = variables_hint(p.roles.get(self.grant_cursor));
                lines.push(field_line(
                    "Variables",
                    text_value(self.variables.as_str(), f(Field::Variables), &hint, theme),
                    f(Field::Variables),
                    self.error(Field::Variables),
                    theme,
                ));
            }
        }
        let perm_names = ["Read", "Write", "Read + Write"].map(String::from);
        let perm_on = [
            Permissions::Read,
            Permissions::Write,
            Permissions::ReadWrite,
        ]
        .map(|p| p == self.permissions);
        let _ = self.permissions.label();
        lines.push(field_line(
            "Permissions",
            choices(&perm_names, &perm_on, None, theme),
            f(Field::Permissions),
            self.error(Field::Permissions),
            theme,
        ));
        lines.push(field_line(
            "Visibility",
            choices(
                &["Personal".into(), "Org-wide".into()],
                &[self.personal, !self.personal],
                None,
                theme,
            ),
            f(Field::Visibility),
            None,
            theme,
        ));
        let mut ttl_spans = text_value(self.ttl.as_str(), f(Field::Ttl), "30d", theme);
        match self.ttl.as_str().trim().parse::<Ttl>() {
            Ok(ttl) => ttl_spans.push(Span::styled(
                format!(
                    "   → expires {}",
                    absolute(now + time::Duration::seconds(ttl.seconds()))
                ),
                theme.dim,
            )),
            Err(e) if self.error(Field::Ttl).is_none() => ttl_spans.push(Span::styled(
                format!("   {}", crate::text::visible(&e.to_string())),
                theme.warn,
            )),
            Err(_) => {}
        }
        lines.push(field_line(
            "TTL",
            ttl_spans,
            f(Field::Ttl),
            self.error(Field::Ttl),
            theme,
        ));
        lines.push(field_line(
            "Token",
            choices(
                &[
                    "generated by the service".into(),
                    "generated here, only its hash is sent".into(),
                ],
                &[!self.local_token, self.local_token],
                None,
                theme,
            ),
            f(Field::TokenSource),
            self.error(Field::TokenSource),
            theme,
        ));
        render_form(
            lines,
            self.form_error.as_deref(),
            self.submitting.then_some("Creating"),
            &look.hints,
            " New API key ".into(),
            theme,
            area,
            buf,
        );
    }
}

impl Modal for CreateKeyForm {
    fn contexts(&self) -> &'static [Context] {
        &[Context::Form]
    }

    fn hints(&self) -> &'static [Command] {
        &[
            Command::NextField,
            Command::ChooseRight,
            Command::Toggle,
            Command::Submit,
            Command::Cancel,
        ]
    }

    fn on_key(&mut self, event: &KeyEvent, command: Option<Command>) -> Outcome {
        if command == Some(Command::Cancel) && !self.submitting {
            return Outcome::Close;
        }
        match CreateKeyForm::on_key(self, event, command) {
            Some(sub) => Outcome::Send(Effect::CreateKey {
                key: sub.key,
                local_token: sub.local_token,
            }),
            None => Outcome::Stay,
        }
    }

    fn fail(&mut self, error: &ApiError) {
        CreateKeyForm::fail(self, error)
    }

    fn render(&self, area: Rect, buf: &mut Buffer, look: &Look) {
        CreateKeyForm::render(self, area, buf, look)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Refusal;
    use crossterm::event::{KeyCode, KeyModifiers};

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
}
