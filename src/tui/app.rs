//! The app's state and its one `update`: actions in, effects out. Rendering reads the state
//! and never changes it.

use std::time::Duration;

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Tabs, Widget, Wrap};
use time::OffsetDateTime;

use super::action::{Action, Effect};
use super::forms::create_key::CreateKeyForm;
use super::forms::membership::MembershipEditor;
use super::forms::roles::RolesEditor;
use super::keymap::{Command, Context, Keymap};
use super::tabs::Tab;
use super::tabs::identities::IdentitiesTab;
use super::tabs::keys::{self, KeysTab};
use super::tabs::stats::{Pane, StatsTab};
use super::theme::Theme;
use super::widgets::dialog::{Confirm, TokenDialog};
use super::widgets::status_bar::{Connection, StatusBar};
use super::widgets::{Load, help};
use crate::api::{ApiError, KeyQuery, Me, MembershipSpec, Project};

/// Smallest terminal the app draws in; below it shows a message instead.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 12;
/// Rows moved by page up/down.
const PAGE: usize = 10;
/// Longest wait between retries while the service is down.
const MAX_BACKOFF_SECS: u64 = 30;

/// Who is using the app and where it points; shown in the status bar.
#[derive(Debug, Clone)]
pub struct Session {
    pub profile: String,
    pub endpoint: String,
    /// Which credential store holds the token ("kernel keyring", "memory", …).
    pub credential_store: String,
}

/// A modal layer over the tabs.
#[derive(Debug)]
pub enum Overlay {
    CreateKey(Box<CreateKeyForm>),
    Confirm(Confirm),
    Token(TokenDialog),
    Roles(RolesEditor),
    Membership(Box<MembershipEditor>),
}

pub struct App {
    pub session: Session,
    pub keymap: Keymap,
    pub theme: Theme,
    pub tab: Tab,
    pub keys: KeysTab,
    pub identities: IdentitiesTab,
    pub stats: StatsTab,
    pub me: Option<Me>,
    pub projects: Vec<Project>,
    pub catalog: Vec<String>,
    pub overlay: Option<Overlay>,
    pub show_help: bool,
    pub connection: Connection,
    pub last_error: Option<String>,
    pub tick: u64,
    pub now: OffsetDateTime,
    pub should_quit: bool,
    failures: u32,
}

impl App {
    pub fn new(session: Session, keymap: Keymap, theme: Theme, now: OffsetDateTime) -> Self {
        App {
            session,
            keymap,
            theme,
            tab: Tab::Keys,
            keys: KeysTab::default(),
            identities: IdentitiesTab::default(),
            stats: StatsTab::default(),
            me: None,
            projects: Vec::new(),
            catalog: Vec::new(),
            overlay: None,
            show_help: false,
            connection: Connection::Connecting,
            last_error: None,
            tick: 0,
            now,
            should_quit: false,
            failures: 0,
        }
    }

    /// What to load when the app opens.
    pub fn start(&mut self) -> Vec<Effect> {
        let mut effects = vec![Effect::LoadMe, Effect::LoadProjects, Effect::LoadRoles];
        effects.push(self.reload_keys());
        effects
    }

    fn key_query(&self, after: Option<String>) -> KeyQuery {
        KeyQuery {
            all: self.keys.show_inactive,
            search: None,
            first: keys::PAGE_SIZE,
            after,
        }
    }

    fn reload_keys(&mut self) -> Effect {
        self.keys.paging.load = Load::Loading;
        Effect::LoadKeys {
            query: self.key_query(None),
            append: false,
        }
    }

    fn reload_identities(&mut self) -> Effect {
        self.identities.paging.load = Load::Loading;
        Effect::LoadIdentities {
            after: None,
            append: false,
        }
    }

    /// The keymap contexts that apply now, most specific first.
    pub fn contexts(&self) -> Vec<Context> {
        match &self.overlay {
            Some(Overlay::CreateKey(_) | Overlay::Membership(_)) => vec![Context::Form],
            Some(Overlay::Roles(_)) => vec![Context::Form, Context::List],
            Some(Overlay::Confirm(_)) => vec![Context::Confirm],
            Some(Overlay::Token(_)) => vec![Context::Token],
            None => {
                let tab = match self.tab {
                    Tab::Keys => Some(Context::Keys),
                    Tab::Identities => Some(Context::Identities),
                    Tab::Stats => None,
                };
                tab.into_iter()
                    .chain([Context::List, Context::Global])
                    .collect()
            }
        }
    }

    pub fn update(&mut self, action: Action) -> Vec<Effect> {
        match action {
            Action::Key(event) => self.on_key(&event),
            Action::Resize => Vec::new(),
            Action::Tick => {
                self.tick = self.tick.wrapping_add(1);
                self.now = OffsetDateTime::now_utc();
                Vec::new()
            }
            Action::Quit => {
                self.should_quit = true;
                vec![Effect::Quit]
            }
            Action::Me(result) => match result {
                Ok(me) => {
                    self.online();
                    self.me = Some(me);
                    Vec::new()
                }
                Err(e) => self.failed(&e, Effect::LoadMe),
            },
            Action::KeysLoaded { append, result } => match result {
                Ok(page) => {
                    self.online();
                    self.keys.apply_page(
                        page.items,
                        append,
                        page.has_next,
                        page.end_cursor,
                        page.total,
                    );
                    self.more_keys()
                }
                Err(e) => {
                    self.keys.paging.load = Load::Failed(e.to_string());
                    let retry = Effect::LoadKeys {
                        query: self.key_query(if append {
                            self.keys.paging.next_cursor.clone()
                        } else {
                            None
                        }),
                        append,
                    };
                    self.failed(&e, retry)
                }
            },
            Action::IdentitiesLoaded { append, result } => match result {
                Ok(page) => {
                    self.online();
                    self.identities.apply_page(
                        page.items,
                        append,
                        page.has_next,
                        page.end_cursor,
                        page.total,
                    );
                    Vec::new()
                }
                Err(e) => {
                    self.identities.paging.load = Load::Failed(e.to_string());
                    let after = if append {
                        self.identities.paging.next_cursor.clone()
                    } else {
                        None
                    };
                    self.failed(&e, Effect::LoadIdentities { after, append })
                }
            },
            Action::ProjectsLoaded(result) => match result {
                Ok(projects) => {
                    self.online();
                    self.projects = projects;
                    Vec::new()
                }
                Err(e) => self.failed(&e, Effect::LoadProjects),
            },
            Action::RolesLoaded(result) => match result {
                Ok(roles) => {
                    self.online();
                    self.catalog = roles.into_iter().map(|r| r.name).collect();
                    Vec::new()
                }
                Err(e) => self.failed(&e, Effect::LoadRoles),
            },
            Action::DatabasesLoaded(result) => match result {
                Ok(databases) => {
                    self.online();
                    self.stats.databases = databases;
                    self.stats.databases_load = Load::Loaded;
                    self.stats.db_cursor.clamp(self.stats.databases.len());
                    Vec::new()
                }
                Err(e) => {
                    self.stats.databases_load = Load::Failed(e.to_string());
                    self.failed(&e, Effect::LoadDatabases)
                }
            },
            Action::StatsLoaded {
                database_id,
                result,
            } => {
                if self.stats.open_database.as_deref() != Some(&database_id) {
                    return Vec::new();
                }
                match result {
                    Ok(stats) => {
                        self.online();
                        self.stats.set_stats(stats);
                        Vec::new()
                    }
                    Err(e) => {
                        self.stats.stats_load = Load::Failed(e.to_string());
                        self.failed(&e, Effect::LoadStats { database_id })
                    }
                }
            }
            Action::KeyCreated {
                local_token,
                result,
            } => self.key_created(local_token, result),
            Action::KeyToggled {
                name,
                enabled,
                result,
            } => match result {
                Ok(_also_disabled) => {
                    self.online();
                    self.last_error = None;
                    vec![self.reload_keys()]
                }
                Err(e) => {
                    let verb = if enabled { "enable" } else { "disable" };
                    self.last_error = Some(format!("could not {verb} “{name}”: {e}"));
                    Vec::new()
                }
            },
            Action::IdentityChanged(result) => match result {
                Ok(()) => {
                    self.online();
                    self.overlay = None;
                    vec![self.reload_identities(), self.reload_keys()]
                }
                Err(e) => {
                    let message = e.to_string();
                    match &mut self.overlay {
                        Some(Overlay::Roles(editor)) => editor.fail(message),
                        Some(Overlay::Membership(editor)) => editor.fail(message),
                        _ => self.last_error = Some(message),
                    }
                    Vec::new()
                }
            },
            Action::Copied(result) => {
                if let Some(Overlay::Token(dialog)) = &mut self.overlay {
                    dialog.copied = Some(result);
                }
                Vec::new()
            }
        }
    }

    fn key_created(
        &mut self,
        local_token: Option<String>,
        result: Result<crate::api::CreatedKey, ApiError>,
    ) -> Vec<Effect> {
        let Some(Overlay::CreateKey(form)) = &mut self.overlay else {
            return Vec::new();
        };
        match result {
            Ok(created) => {
                let name = form.name.as_str().trim().to_owned();
                let local = local_token.is_some();
                let Some(token) = created.token.or(local_token) else {
                    self.overlay = None;
                    self.last_error = Some("the key was created but no token came back".into());
                    return vec![self.reload_keys()];
                };
                self.overlay = Some(Overlay::Token(TokenDialog {
                    token: token.clone(),
                    key_name: name,
                    local,
                    copied: None,
                }));
                vec![Effect::Copy(token), self.reload_keys()]
            }
            Err(e) => {
                form.fail(&e);
                if e.is_transient() {
                    self.connection_down();
                }
                Vec::new()
            }
        }
    }

    fn online(&mut self) {
        if matches!(self.connection, Connection::Down { .. }) {
            self.last_error = None;
        }
        self.connection = Connection::Online;
        self.failures = 0;
    }

    fn connection_down(&mut self) -> Duration {
        self.failures += 1;
        let secs = (1u64 << self.failures.min(5)).min(MAX_BACKOFF_SECS);
        self.connection = Connection::Down {
            attempt: self.failures,
            retry_in_secs: secs,
        };
        Duration::from_secs(secs)
    }

    /// Shows the error; when the service is unreachable, retries the load with backoff.
    fn failed(&mut self, error: &ApiError, retry: Effect) -> Vec<Effect> {
        self.last_error = Some(error.to_string());
        if error.is_transient() {
            let delay = self.connection_down();
            vec![Effect::Later {
                delay,
                effect: Box::new(retry),
            }]
        } else {
            self.connection = Connection::Online;
            Vec::new()
        }
    }

    fn more_keys(&mut self) -> Vec<Effect> {
        if self.keys.wants_more() {
            self.keys.paging.load = Load::Loading;
            vec![Effect::LoadKeys {
                query: self.key_query(self.keys.paging.next_cursor.clone()),
                append: true,
            }]
        } else {
            Vec::new()
        }
    }

    fn more_identities(&mut self) -> Vec<Effect> {
        if self.identities.wants_more() {
            self.identities.paging.load = Load::Loading;
            vec![Effect::LoadIdentities {
                after: self.identities.paging.next_cursor.clone(),
                append: true,
            }]
        } else {
            Vec::new()
        }
    }

    fn on_key(&mut self, event: &crossterm::event::KeyEvent) -> Vec<Effect> {
        if self.show_help {
            self.show_help = false;
            return Vec::new();
        }
        let contexts = self.contexts();
        let command = self.keymap.lookup(&contexts, event);
        if let Some(overlay) = &mut self.overlay {
            return match overlay {
                Overlay::CreateKey(form) => {
                    if command == Some(Command::Cancel) && !form.submitting && !form.picking() {
                        self.overlay = None;
                        return Vec::new();
                    }
                    match form.on_key(event, command) {
                        Some(sub) => vec![Effect::CreateKey {
                            key: sub.key,
                            local_token: sub.local_token,
                        }],
                        None => Vec::new(),
                    }
                }
                Overlay::Confirm(confirm) => match command {
                    Some(Command::Confirm) => {
                        let effect = Effect::SetKeyEnabled {
                            id: confirm.key_id.clone(),
                            name: confirm.key_name.clone(),
                            enabled: confirm.enable,
                        };
                        self.overlay = None;
                        vec![effect]
                    }
                    Some(Command::Close) => {
                        self.overlay = None;
                        Vec::new()
                    }
                    _ => Vec::new(),
                },
                Overlay::Token(dialog) => match command {
                    Some(Command::CopyAgain) => {
                        dialog.copied = None;
                        vec![Effect::Copy(dialog.token.clone())]
                    }
                    Some(Command::Close) => {
                        // The token leaves memory with the dialog.
                        self.overlay = None;
                        Vec::new()
                    }
                    _ => Vec::new(),
                },
                Overlay::Roles(editor) => match command {
                    Some(Command::Cancel) => {
                        self.overlay = None;
                        Vec::new()
                    }
                    Some(c) => match editor.on_command(c) {
                        Some((add, remove)) => vec![Effect::ChangeRoles {
                            identity_id: editor.identity_id.clone(),
                            add,
                            remove,
                        }],
                        None => Vec::new(),
                    },
                    None => Vec::new(),
                },
                Overlay::Membership(editor) => {
                    if command == Some(Command::Cancel) {
                        self.overlay = None;
                        return Vec::new();
                    }
                    match editor.on_key(event, command) {
                        Some((project_slug, memberships, already_member)) => {
                            vec![Effect::SetMembership {
                                project_slug,
                                identity_id: editor.identity_id.clone(),
                                memberships,
                                already_member,
                            }]
                        }
                        None => Vec::new(),
                    }
                }
            };
        }
        if self.tab == Tab::Keys && self.keys.filtering {
            use crossterm::event::KeyCode;
            match event.code {
                KeyCode::Esc | KeyCode::Enter => self.keys.filtering = false,
                _ => {
                    if self.keys.filter.on_key(event) {
                        self.keys.recompute();
                    }
                }
            }
            return Vec::new();
        }
        match command {
            Some(command) => self.on_command(command),
            None => Vec::new(),
        }
    }

    fn on_command(&mut self, command: Command) -> Vec<Effect> {
        match command {
            Command::Quit => {
                self.should_quit = true;
                vec![Effect::Quit]
            }
            Command::Help => {
                self.show_help = true;
                Vec::new()
            }
            Command::NextTab => self.switch(self.tab.next()),
            Command::PrevTab => self.switch(self.tab.prev()),
            Command::TabKeys => self.switch(Tab::Keys),
            Command::TabIdentities => self.switch(Tab::Identities),
            Command::TabStats => self.switch(Tab::Stats),
            Command::Refresh => match self.tab {
                Tab::Keys => vec![self.reload_keys(), Effect::LoadProjects, Effect::LoadRoles],
                Tab::Identities => vec![self.reload_identities()],
                Tab::Stats => {
                    self.stats.databases_load = Load::Loading;
                    let mut effects = vec![Effect::LoadDatabases];
                    if let Some(id) = self.stats.open_database.clone() {
                        self.stats.stats_load = Load::Loading;
                        effects.push(Effect::LoadStats { database_id: id });
                    }
                    effects
                }
            },
            Command::Down
            | Command::Up
            | Command::PageDown
            | Command::PageUp
            | Command::First
            | Command::Last => self.move_cursor(command),
            _ => match self.tab {
                Tab::Keys => self.keys_command(command),
                Tab::Identities => self.identities_command(command),
                Tab::Stats => self.stats_command(command),
            },
        }
    }

    fn switch(&mut self, tab: Tab) -> Vec<Effect> {
        self.tab = tab;
        match tab {
            Tab::Identities if self.identities.paging.load == Load::Idle => {
                vec![self.reload_identities()]
            }
            Tab::Stats if self.stats.databases_load == Load::Idle => {
                self.stats.databases_load = Load::Loading;
                vec![Effect::LoadDatabases]
            }
            _ => Vec::new(),
        }
    }

    fn move_cursor(&mut self, command: Command) -> Vec<Effect> {
        let apply = |cursor: &mut super::tabs::Cursor, len: usize| match command {
            Command::Down => cursor.down(len, 1),
            Command::Up => cursor.up(1),
            Command::PageDown => cursor.down(len, PAGE),
            Command::PageUp => cursor.up(PAGE),
            Command::First => cursor.index = 0,
            _ => cursor.index = len.saturating_sub(1),
        };
        match self.tab {
            Tab::Keys => {
                let len = self.keys.len();
                apply(&mut self.keys.cursor, len);
                self.more_keys()
            }
            Tab::Identities => {
                let len = self.identities.rows.len();
                apply(&mut self.identities.cursor, len);
                self.more_identities()
            }
            Tab::Stats => {
                match self.stats.pane {
                    Pane::Databases => {
                        let len = self.stats.databases.len();
                        apply(&mut self.stats.db_cursor, len);
                    }
                    Pane::Statements => {
                        let len = self.stats.stats.len();
                        apply(&mut self.stats.cursor, len);
                    }
                }
                Vec::new()
            }
        }
    }

    fn keys_command(&mut self, command: Command) -> Vec<Effect> {
        match command {
            Command::NewKey => {
                let form = CreateKeyForm::new(self.projects.clone(), self.catalog.clone())
                    .granted_by(self.me.as_ref());
                self.overlay = Some(Overlay::CreateKey(Box::new(form)));
                Vec::new()
            }
            Command::DisableKey | Command::EnableKey => {
                let enable = command == Command::EnableKey;
                let Some(key) = self.keys.selected() else {
                    return Vec::new();
                };
                if key.enabled == enable {
                    self.last_error = Some(format!(
                        "“{}” is already {}",
                        key.description,
                        if enable { "enabled" } else { "disabled" }
                    ));
                    return Vec::new();
                }
                let created_personal = key
                    .identity
                    .as_ref()
                    .map_or(0, |identity| self.keys.created_personal(&identity.id));
                self.overlay = Some(Overlay::Confirm(Confirm {
                    key_id: key.id.clone(),
                    key_name: key.description.clone(),
                    enable,
                    created_personal,
                }));
                Vec::new()
            }
            Command::ToggleInactive => {
                self.keys.show_inactive = !self.keys.show_inactive;
                vec![self.reload_keys()]
            }
            Command::Sort => {
                self.keys.cycle_sort();
                Vec::new()
            }
            Command::Open => {
                self.keys.detail_open = !self.keys.detail_open;
                Vec::new()
            }
            Command::Filter => {
                self.keys.filtering = true;
                Vec::new()
            }
            Command::Back => {
                if self.keys.detail_open {
                    self.keys.detail_open = false;
                } else if !self.keys.filter.as_str().is_empty() {
                    self.keys.filter.value.clear();
                    self.keys.recompute();
                }
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    fn identities_command(&mut self, command: Command) -> Vec<Effect> {
        let Some(identity) = self.identities.selected() else {
            return Vec::new();
        };
        match command {
            Command::EditRoles | Command::Open => {
                let editor = RolesEditor::new(
                    identity.id.clone(),
                    identity.description.clone(),
                    self.catalog.clone(),
                    &identity.roles,
                );
                self.overlay = Some(Overlay::Roles(editor));
            }
            Command::EditMembership => {
                if self.projects.is_empty() {
                    self.last_error = Some("there are no projects you administer".into());
                    return Vec::new();
                }
                let current = identity
                    .projects
                    .iter()
                    .map(|p| {
                        let specs = p
                            .memberships
                            .iter()
                            .map(|m| MembershipSpec {
                                role: m.role.clone(),
                                variables: m
                                    .variables
                                    .iter()
                                    .map(|v| (v.name.clone(), v.values.clone()))
                                    .collect(),
                            })
                            .collect();
                        (p.project.slug.clone(), specs)
                    })
                    .collect();
                let editor = MembershipEditor::new(
                    identity.id.clone(),
                    identity.description.clone(),
                    self.projects.clone(),
                    current,
                );
                self.overlay = Some(Overlay::Membership(Box::new(editor)));
            }
            _ => {}
        }
        Vec::new()
    }

    fn stats_command(&mut self, command: Command) -> Vec<Effect> {
        match (command, self.stats.pane) {
            (Command::Open, Pane::Databases) => {
                let Some(db) = self.stats.selected_database() else {
                    return Vec::new();
                };
                let id = db.id.clone();
                self.stats.open_database = Some(id.clone());
                self.stats.stats.clear();
                self.stats.stats_load = Load::Loading;
                self.stats.pane = Pane::Statements;
                vec![Effect::LoadStats { database_id: id }]
            }
            (Command::Back, Pane::Statements) => {
                self.stats.pane = Pane::Databases;
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    /// Draws the whole screen into `buf`.
    pub fn render(&self, area: Rect, buf: &mut Buffer) {
        if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
            let message = format!(
                "keydeck needs at least {MIN_WIDTH}×{MIN_HEIGHT}; this terminal is {}×{}. Enlarge it or press q.",
                area.width, area.height
            );
            Paragraph::new(message)
                .wrap(Wrap { trim: true })
                .render(area, buf);
            return;
        }
        let [top, main, hints, status] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Min(3),
            Constraint::Length(1),
            Constraint::Length(1),
        ])
        .areas(area);
        let titles = Tab::ALL
            .iter()
            .enumerate()
            .map(|(i, t)| format!("{} {}", i + 1, t.title()));
        let selected = Tab::ALL.iter().position(|t| *t == self.tab);
        let [brand, tabs] =
            Layout::horizontal([Constraint::Length(10), Constraint::Min(10)]).areas(top);
        Span::styled(" keydeck ", self.theme.accent).render(brand, buf);
        Tabs::new(titles)
            .select(selected)
            .highlight_style(self.theme.selected)
            .divider("│")
            .render(tabs, buf);
        match self.tab {
            Tab::Keys => self
                .keys
                .render(main, buf, &self.theme, self.now, self.tick),
            Tab::Identities => self.identities.render(main, buf, &self.theme, self.tick),
            Tab::Stats => self.stats.render(main, buf, &self.theme, self.tick),
        }
        self.render_hints(hints, buf);
        StatusBar {
            profile: &self.session.profile,
            endpoint: &self.session.endpoint,
            identity: self.me.as_ref().map(|m| m.description.as_str()),
            credential_store: &self.session.credential_store,
            connection: &self.connection,
            last_error: self.last_error.as_deref(),
            theme: &self.theme,
        }
        .render(status, buf);
        match &self.overlay {
            Some(Overlay::CreateKey(form)) => form.render(main, buf, &self.theme, self.now),
            Some(Overlay::Confirm(c)) => c.render(main, buf, &self.theme),
            Some(Overlay::Token(t)) => t.render(main, buf, &self.theme),
            Some(Overlay::Roles(r)) => r.render(main, buf, &self.theme),
            Some(Overlay::Membership(m)) => m.render(main, buf, &self.theme),
            None => {}
        }
        if self.show_help {
            help::render(&self.keymap, &self.contexts(), area, buf, &self.theme);
        }
    }

    fn render_hints(&self, area: Rect, buf: &mut Buffer) {
        let k = |ctx, cmd| self.keymap.key_for(ctx, cmd);
        let mut hints: Vec<(String, &str)> = match self.tab {
            Tab::Keys if self.keys.filtering => {
                vec![("enter".into(), "done"), ("esc".into(), "done")]
            }
            Tab::Keys => vec![
                (k(Context::Keys, Command::NewKey), "new"),
                (k(Context::Keys, Command::DisableKey), "disable"),
                (k(Context::Keys, Command::EnableKey), "enable"),
                (
                    k(Context::Keys, Command::ToggleInactive),
                    if self.keys.show_inactive {
                        "hide inactive"
                    } else {
                        "show all"
                    },
                ),
                (k(Context::List, Command::Filter), "filter"),
                (k(Context::Keys, Command::Sort), "sort"),
                (k(Context::List, Command::Open), "details"),
            ],
            Tab::Identities => vec![
                (k(Context::Identities, Command::EditRoles), "roles"),
                (
                    k(Context::Identities, Command::EditMembership),
                    "membership",
                ),
            ],
            Tab::Stats => vec![
                (k(Context::List, Command::Open), "open"),
                (k(Context::List, Command::Back), "back"),
            ],
        };
        hints.push((k(Context::Global, Command::Help), "help"));
        hints.push((k(Context::Global, Command::Quit), "quit"));
        let mut spans = vec![Span::raw(" ")];
        for (key, what) in hints {
            spans.push(Span::styled(key, self.theme.accent));
            spans.push(Span::styled(format!(" {what}  "), self.theme.dim));
        }
        Line::from(spans).render(area, buf);
    }
}
