//! The create-key form (`n`): name, scope, grants, permissions, visibility, TTL, token source.
//!
//! It has to work at real size: a service with a thousand projects, a terminal of 80×24. So
//! the scope is picked from a searchable list rather than shown as radios, choices wrap, and
//! the fields scroll so that the focused one is always on screen. This file holds the form's
//! state and keys; `view.rs` draws it.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use super::grantor::{self, Grantor};
use super::picker::{self, Pick, ProjectPicker};
use crate::api::ops::projects::ProjectsProjectsRoles as ProjectRole;
use crate::api::{ApiError, KeyScope, Me, MembershipSpec, NewKey, Project, parse_variables};
use crate::token;
use crate::ttl::Ttl;
mod view;

use crate::tui::action::Effect;
use crate::tui::keymap::{Command, Context};
use crate::tui::modal::{Look, Modal, Outcome};
use crate::tui::widgets::text_input::TextInput;

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
        use Permissions::{Read, ReadWrite, Write};
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
    /// The global roles offered: the catalog's, less those the caller may not grant.
    pub catalog: Vec<String>,
    /// Global roles chosen, parallel to `catalog`.
    pub roles_on: Vec<bool>,
    /// Cursor among global roles, or the chosen project role (an index into `offered_roles`).
    pub grant_cursor: usize,
    /// The project role chosen, an index into `offered_roles`: none until the user picks
    /// one, so that a hurried enter grants nothing powerful.
    pub project_role: Option<usize>,
    pub variables: TextInput,
    pub permissions: Permissions,
    pub personal: bool,
    pub ttl: TextInput,
    pub local_token: bool,
    pub focus: Field,
    pub errors: Vec<(Field, String)>,
    pub form_error: Option<String>,
    pub submitting: bool,
    /// Open while the user searches for a project (space or typing on the scope).
    pub picker: Option<ProjectPicker>,
    /// Who is asking; `None` until `me` has loaded, when everything is offered.
    pub grantor: Option<Grantor>,
    /// Esc was pressed once on a touched form: a second one discards it.
    pub discard_asked: bool,
    /// The longest TTL the service grants, when it says.
    pub max_ttl: Option<Ttl>,
}

/// What the form says after a first esc on something typed.
const DISCARD_QUESTION: &str =
    "Discard this key? esc again discards it; any other key goes on editing.";

impl CreateKeyForm {
    pub fn new(projects: Vec<Project>, catalog: Vec<String>) -> Self {
        CreateKeyForm {
            name: TextInput::default(),
            scope: 0,
            roles_on: vec![false; catalog.len()],
            projects,
            catalog,
            grant_cursor: 0,
            project_role: None,
            variables: TextInput::default(),
            permissions: Permissions::Read,
            personal: false,
            ttl: TextInput::new("30d"),
            local_token: false,
            focus: Field::Name,
            errors: Vec::new(),
            form_error: None,
            submitting: false,
            picker: None,
            grantor: None,
            discard_asked: false,
            max_ttl: None,
        }
    }

    /// Projects that arrived after the form opened: offered unless the user is already
    /// choosing among or has chosen one of the earlier list.
    pub fn offer_projects(&mut self, projects: &[Project]) {
        if self.scope == 0 && self.picker.is_none() {
            self.projects = projects.to_vec();
        }
    }

    /// Offers only what `me` may grant (see [`Grantor`]).
    pub fn granted_by(mut self, me: Option<&Me>) -> Self {
        let Some(grantor) = me.map(Grantor::of) else {
            return self;
        };
        self.catalog.retain(|r| grantor.may_grant_global(r));
        self.roles_on = vec![false; self.catalog.len()];
        self.grantor = Some(grantor);
        self
    }

    /// The project roles offered for the chosen project.
    pub fn offered_roles(&self) -> Vec<&ProjectRole> {
        self.project()
            .map_or_else(Vec::new, |p| grantor::grantable(self.grantor.as_ref(), p))
    }

    /// The TTL as typed, refused here when it does not parse or is longer than the service
    /// allows (which it would refuse).
    fn typed_ttl(&self) -> Result<Ttl, String> {
        let ttl = self
            .ttl
            .as_str()
            .trim()
            .parse::<Ttl>()
            .map_err(|e| e.to_string())?;
        match self.max_ttl {
            Some(max) if ttl.seconds() > max.seconds() => {
                Err(format!("longer than this service allows: at most {max}"))
            }
            _ => Ok(ttl),
        }
    }

    /// Checks the TTL against the service's maximum (`None`: no maximum, or not known yet).
    pub fn max_ttl(mut self, max: Option<Ttl>) -> Self {
        self.max_ttl = max;
        self
    }

    /// Whether the user changed anything: then esc asks before discarding it.
    fn touched(&self) -> bool {
        let fresh = CreateKeyForm::new(Vec::new(), Vec::new());
        !self.name.as_str().is_empty()
            || self.scope != 0
            || self.roles_on.iter().any(|on| *on)
            || !self.variables.as_str().is_empty()
            || self.permissions != fresh.permissions
            || self.personal
            || self.ttl.as_str() != fresh.ttl.as_str()
            || self.local_token
    }

    /// Whether the project picker is open: Esc closes it, not the form.
    pub fn picking(&self) -> bool {
        self.picker.is_some()
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
        if self.picker.is_some() {
            self.on_picker_key(event, command);
            return None;
        }
        let printable = matches!(event.code, KeyCode::Char(_) | KeyCode::Backspace);
        // Typing on the scope starts a search; space (toggle) opens the list as it is.
        if self.focus == Field::Scope && printable && command != Some(Command::Toggle) {
            self.open_picker();
            self.on_picker_key(event, None);
            return None;
        }
        // While typing, printable keys are text, not commands.
        if self.is_text() && printable {
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
            Command::Toggle if self.focus == Field::Scope => self.open_picker(),
            Command::Toggle => self.choose(true, true),
            Command::ChooseRight => self.choose(true, false),
            Command::ChooseLeft => self.choose(false, false),
            Command::Submit => return self.submit(),
            _ => {}
        }
        None
    }

    fn open_picker(&mut self) {
        self.picker = Some(ProjectPicker::open(&self.projects, true, self.scope));
    }

    /// In the picker, text searches, the field keys move, submit picks and cancel goes back.
    fn on_picker_key(&mut self, event: &KeyEvent, command: Option<Command>) {
        let Some(picker) = &mut self.picker else {
            return;
        };
        match picker.on_key(event, command, &self.projects) {
            Pick::Choosing => {}
            Pick::Picked(scope) => {
                self.set_scope(scope);
                self.picker = None;
            }
            Pick::Closed => self.picker = None,
        }
    }

    fn set_scope(&mut self, scope: usize) {
        self.scope = scope;
        self.grant_cursor = 0;
        self.project_role = None;
        self.variables = TextInput::default();
        self.clear_error(Field::Scope);
    }

    fn choose(&mut self, forward: bool, toggle: bool) {
        match self.focus {
            Field::Scope => {
                let n = self.projects.len() + 1;
                self.set_scope(if forward {
                    (self.scope + 1) % n
                } else {
                    (self.scope + n - 1) % n
                });
            }
            Field::Grants => {
                let n = match self.project() {
                    Some(_) => self.offered_roles().len(),
                    None => self.catalog.len(),
                };
                if toggle && self.project().is_none() {
                    if let Some(on) = self.roles_on.get_mut(self.grant_cursor) {
                        *on = !*on;
                    }
                } else if n > 0 && self.project().is_some() {
                    self.project_role = Some(match self.project_role {
                        None if forward => 0,
                        None => n - 1,
                        Some(r) if forward => (r + 1) % n,
                        Some(r) => (r + n - 1) % n,
                    });
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
        if let Err(e) = self.typed_ttl() {
            self.errors.push((Field::Ttl, e));
        }
        let scope = match self.project().cloned() {
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
                let offered = self.offered_roles().len();
                let role = self
                    .project_role
                    .and_then(|r| self.offered_roles().get(r).map(|r| r.name.clone()));
                let variables = parse_variables(self.variables.as_str());
                match (role, variables) {
                    (None, _) => {
                        let why = if project.roles.is_empty() {
                            "the project defines no roles"
                        } else if offered == 0 {
                            "you hold no role in this project that you could grant"
                        } else {
                            "choose a role (→ on Role)"
                        };
                        self.errors.push((Field::Grants, why.into()));
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
            ApiError::Refused(r) => format!("{}{}", r.message, r.problems()),
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
}

impl Modal for CreateKeyForm {
    fn contexts(&self) -> &'static [Context] {
        if self.picking() {
            picker::CONTEXTS
        } else {
            &[Context::Form]
        }
    }

    fn hints(&self) -> &'static [Command] {
        if self.picking() {
            picker::HINTS
        } else {
            &[
                Command::NextField,
                Command::ChooseRight,
                Command::Toggle,
                Command::Submit,
                Command::Cancel,
            ]
        }
    }

    fn on_key(&mut self, event: &KeyEvent, command: Option<Command>) -> Outcome {
        // Esc in the project picker goes back to the form; on a form with something typed in
        // it, esc asks first and a second esc discards.
        if command == Some(Command::Cancel) && !self.submitting && !self.picking() {
            if self.discard_asked || !self.touched() {
                return Outcome::Close;
            }
            self.discard_asked = true;
            self.form_error = Some(DISCARD_QUESTION.into());
            return Outcome::Stay;
        }
        if std::mem::take(&mut self.discard_asked) {
            self.form_error = None;
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
        CreateKeyForm::fail(self, error);
    }

    fn render(&self, area: Rect, buf: &mut Buffer, look: &Look) {
        CreateKeyForm::render(self, area, buf, look);
    }
}

#[cfg(test)]
mod tests;
