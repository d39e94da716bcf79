//! The create-key form (`n`): name, scope, grants, permissions, visibility, TTL, token source.
//!
//! It has to work at real size: a service with a thousand projects, a terminal of 80×24. So
//! the scope is picked from a searchable list rather than shown as radios, choices wrap, and
//! the fields scroll so that the focused one is always on screen.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use time::OffsetDateTime;

use super::form::{choices, labelled, text_value, variables_hint};
use super::grantor::Grantor;
use super::picker::{self, Pick, ProjectPicker};
use crate::api::ops::projects::ProjectsProjectsRoles as ProjectRole;
use crate::api::{ApiError, KeyScope, Me, MembershipSpec, NewKey, Project, parse_variables};
use crate::text::visible;
use crate::token;
use crate::ttl::Ttl;
use crate::tui::action::Effect;
use crate::tui::keymap::{Command, Context};
use crate::tui::modal::{Look, Modal, Outcome};
use crate::tui::theme::Theme;
use crate::tui::widgets::fit::wrap;
use crate::tui::widgets::text_input::TextInput;
use crate::tui::widgets::time::absolute;
use crate::tui::widgets::{centered, popup};

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
        let Some(project) = self.project() else {
            return Vec::new();
        };
        project
            .roles
            .iter()
            .filter(|r| {
                self.grantor
                    .as_ref()
                    .is_none_or(|g| g.may_grant_in(&project.slug, &r.name))
            })
            .collect()
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

    /// The form's fields as lines `width` cells wide, each with the field it belongs to.
    fn field_lines(
        &self,
        width: usize,
        theme: &Theme,
        now: OffsetDateTime,
    ) -> Vec<(Field, Line<'static>)> {
        let f = |field: Field| self.focus == field;
        let mut out = Vec::new();
        let field = |field: Field, label: &str, value: Vec<Span<'static>>| {
            let lines = labelled(label, value, f(field), self.error(field), width, theme);
            lines.into_iter().map(move |l| (field, l))
        };
        out.extend(field(
            Field::Name,
            "Name",
            text_value(
                self.name.as_str(),
                f(Field::Name),
                "what is this key for?",
                theme,
            ),
        ));
        match &self.picker {
            Some(picker) => {
                let lines = picker.lines(
                    "Scope",
                    Some(self.scope),
                    |scope| self.scope_name(scope),
                    self.projects.len(),
                    (self.error(Field::Scope), width),
                    theme,
                );
                out.extend(lines.into_iter().map(|l| (Field::Scope, l)));
            }
            None => out.extend(field(
                Field::Scope,
                "Scope",
                self.scope_value(f(Field::Scope), theme),
            )),
        }
        match self.project() {
            None => out.extend(field(
                Field::Grants,
                "Roles",
                choices(
                    &self.catalog,
                    &self.roles_on,
                    f(Field::Grants).then_some(self.grant_cursor),
                    theme,
                ),
            )),
            Some(_) => {
                let offered = self.offered_roles();
                let names: Vec<String> = offered.iter().map(|r| r.name.clone()).collect();
                let on: Vec<bool> = (0..names.len())
                    .map(|i| Some(i) == self.project_role)
                    .collect();
                let value = if names.is_empty() {
                    vec![Span::styled("(no role you may grant here)", theme.dim)]
                } else {
                    choices(
                        &names,
                        &on,
                        self.project_role.filter(|_| f(Field::Grants)),
                        theme,
                    )
                };
                let hint = variables_hint(self.project_role.and_then(|r| offered.get(r).copied()));
                out.extend(field(Field::Grants, "Role", value));
                out.extend(field(
                    Field::Variables,
                    "Variables",
                    text_value(self.variables.as_str(), f(Field::Variables), &hint, theme),
                ));
            }
        }
        let perm_names = [
            Permissions::Read,
            Permissions::Write,
            Permissions::ReadWrite,
        ];
        out.extend(field(
            Field::Permissions,
            "Permissions",
            choices(
                &perm_names.map(|p| p.label().to_owned()),
                &perm_names.map(|p| p == self.permissions),
                None,
                theme,
            ),
        ));
        out.extend(field(
            Field::Visibility,
            "Visibility",
            choices(
                &["Personal".into(), "Org-wide".into()],
                &[self.personal, !self.personal],
                None,
                theme,
            ),
        ));
        let mut ttl_spans = text_value(self.ttl.as_str(), f(Field::Ttl), "30d", theme);
        match self.typed_ttl() {
            Ok(ttl) => ttl_spans.push(Span::styled(
                format!(
                    "   → expires {}",
                    absolute(now + time::Duration::seconds(ttl.seconds()))
                ),
                theme.dim,
            )),
            Err(e) if self.error(Field::Ttl).is_none() => {
                ttl_spans.push(Span::styled(format!("   {}", visible(&e)), theme.warn))
            }
            Err(_) => {}
        }
        out.extend(field(Field::Ttl, "TTL", ttl_spans));
        out.extend(field(
            Field::TokenSource,
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
        ));
        out
    }

    fn scope_name(&self, scope: usize) -> String {
        match scope.checked_sub(1).and_then(|i| self.projects.get(i)) {
            None => "global".into(),
            Some(p) => format!("project {} · {}", p.slug, p.name),
        }
    }

    fn scope_value(&self, focused: bool, theme: &Theme) -> Vec<Span<'static>> {
        let mut value = vec![Span::raw(
            visible(&self.scope_name(self.scope)).into_owned(),
        )];
        if focused && !self.projects.is_empty() {
            value.push(Span::raw("  "));
            value.push(Span::styled(
                format!(
                    "space or type to search {} project{}",
                    self.projects.len(),
                    if self.projects.len() == 1 { "" } else { "s" }
                ),
                theme.dim,
            ));
        }
        value
    }

    /// Draws the form centred in `area`, as tall as its fields when they fit; otherwise the
    /// fields scroll so that the focused one is in view, and the footer stays put.
    pub fn render(&self, area: Rect, buf: &mut Buffer, look: &Look) {
        let (theme, now) = (look.theme, look.now);
        const MAX_WIDTH: u16 = 96;
        let outer_width = MAX_WIDTH.min(area.width);
        let inner = (outer_width as usize).saturating_sub(2).max(1);
        let fields = self.field_lines(inner, theme, now);
        let mut footer = vec![Line::default()];
        if let Some(e) = &self.form_error {
            footer.extend(wrap(
                &Line::from(Span::styled(format!("✗ {}", visible(e)), theme.error)),
                inner,
            ));
        }
        let status = match self.submitting {
            true => "Creating…",
            false => look.hints.as_str(),
        };
        footer.extend(wrap(&Line::from(Span::styled(status, theme.dim)), inner));
        let height = (fields.len() + footer.len() + 2).min(area.height as usize);
        let room = height.saturating_sub(footer.len() + 2);
        let offset = scroll_offset(&fields, self.focus, room);
        let below = fields.len().saturating_sub(offset + room);
        let mut title = " New API key ".to_owned();
        match (offset > 0, below > 0) {
            (true, true) => title.push_str("· ↑↓ more "),
            (true, false) => title.push_str("· ↑ more "),
            (false, true) => title.push_str("· ↓ more "),
            (false, false) => {}
        }
        let mut lines: Vec<Line<'static>> = fields
            .into_iter()
            .skip(offset)
            .take(room)
            .map(|(_, l)| l)
            .collect();
        lines.extend(footer);
        let area = centered(area, outer_width, height as u16);
        popup(
            lines,
            Span::styled(title, theme.accent),
            theme.accent,
            area,
            buf,
        );
    }
}

/// The first field line to show in `room` lines so that all of `focus`'s lines are in view
/// (its first ones, if it is taller than `room`), scrolling no further than needed.
fn scroll_offset(fields: &[(Field, Line<'_>)], focus: Field, room: usize) -> usize {
    let first = fields.iter().position(|(f, _)| *f == focus).unwrap_or(0);
    let last = fields
        .iter()
        .rposition(|(f, _)| *f == focus)
        .unwrap_or(first);
    (last + 1).saturating_sub(room).min(first)
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
        let mut member = CreateKeyForm::new(projects(3), catalog())
            .granted_by(Some(&me(&["monitor"], editor_in_1)));
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
}
