//! The app's state and its one `update`: actions in, effects out. `App` routes: keys go to
//! the overlay if one is open, else to the active tab ([`TabView`]); network results go to
//! the tab or overlay they belong to. Drawing is in `render.rs`.

use std::time::Duration;

use time::OffsetDateTime;

use super::action::{About, Action, Effect};
use super::keymap::{Command, Context, Keymap};
use super::modal::Outcome;
pub use super::overlays::Overlay;
use super::overlays::dialog::TokenDialog;
use super::overlays::log::LogView;
use super::tabs::Tab;
use super::tabs::audit::AuditTab;
use super::tabs::identities::IdentitiesTab;
use super::tabs::keys::KeysTab;
use super::tabs::stats::StatsTab;
use super::tabs::view::{Jump, Reply};
use super::tabs::view::{Shared, TabView};
use super::theme::Theme;
use super::widgets::Load;
use super::widgets::help::Help;
use super::widgets::messages::{MessageLog, Note, Tone};
use super::widgets::status_bar::Connection;
use super::widgets::time::{relative, seconds_until};
use crate::api::{ApiError, CreatedKey, Me, Project, RotatedKey};

/// Smallest terminal the app draws in; below it shows a message instead.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 12;
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

pub struct App {
    pub session: Session,
    pub keymap: Keymap,
    pub theme: Theme,
    pub tab: Tab,
    pub keys: KeysTab,
    pub identities: IdentitiesTab,
    pub stats: StatsTab,
    pub audit: AuditTab,
    pub me: Option<Me>,
    pub projects: Vec<Project>,
    pub catalog: Vec<String>,
    pub overlay: Option<Overlay>,
    /// The `?` overlay while it is open.
    pub help: Option<Help>,
    pub connection: Connection,
    /// The message on screen.
    pub note: Option<Note>,
    /// Recent messages in full.
    pub log: MessageLog,
    pub tick: u64,
    pub now: OffsetDateTime,
    pub should_quit: bool,
    /// The longest key lifetime the service grants, once it said.
    pub max_key_ttl: Option<crate::ttl::Ttl>,
    /// What the copy under way holds, for its confirmation.
    copying: Option<String>,
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
            audit: AuditTab::default(),
            me: None,
            projects: Vec::new(),
            catalog: Vec::new(),
            overlay: None,
            help: None,
            connection: Connection::Connecting,
            note: None,
            log: MessageLog::default(),
            tick: 0,
            now,
            should_quit: false,
            max_key_ttl: None,
            copying: None,
            failures: 0,
        }
    }

    /// What to load when the app opens.
    pub fn start(&mut self) -> Vec<Effect> {
        let mut effects = vec![
            Effect::LoadMe,
            Effect::LoadProjects,
            Effect::LoadRoles,
            Effect::LoadSettings,
        ];
        effects.push(self.keys.reload());
        effects
    }

    /// The text of the message on screen, if any.
    pub fn message(&self) -> Option<&str> {
        self.note.as_ref().map(|n| n.text.as_str())
    }

    /// Shows `note` and keeps it in the log.
    pub fn say(&mut self, note: Note) {
        self.log.push(self.now, note.clone());
        self.note = Some(note);
    }

    fn active(&self) -> &dyn TabView {
        match self.tab {
            Tab::Keys => &self.keys,
            Tab::Identities => &self.identities,
            Tab::Stats => &self.stats,
            Tab::Audit => &self.audit,
        }
    }

    fn active_mut(&mut self) -> &mut dyn TabView {
        match self.tab {
            Tab::Keys => &mut self.keys,
            Tab::Identities => &mut self.identities,
            Tab::Stats => &mut self.stats,
            Tab::Audit => &mut self.audit,
        }
    }

    /// The keymap contexts that apply now, most specific first.
    pub fn contexts(&self) -> Vec<Context> {
        if let Some(overlay) = &self.overlay {
            return overlay.modal().contexts().to_vec();
        }
        let tab = self.active();
        if tab.typing() {
            return vec![Context::Filter];
        }
        vec![tab.context(), Context::List, Context::Global]
    }

    /// The footer: the commands of the overlay, the filter, or the tab and the global ones.
    pub fn hints(&self) -> Vec<(String, &'static str)> {
        let contexts = self.contexts();
        if let Some(overlay) = &self.overlay {
            return self.keymap.hints(&contexts, overlay.modal().hints());
        }
        let mut commands = self.keymap.footer_commands(contexts[0]);
        commands.retain(|c| self.active().offers(*c));
        if contexts.contains(&Context::Global) {
            commands.extend([Command::Help, Command::Messages, Command::Quit]);
        }
        self.keymap.hints(&contexts, &commands)
    }

    pub fn update(&mut self, action: Action) -> Vec<Effect> {
        match action {
            Action::Key(event) => self.on_key(&event),
            Action::Resize => Vec::new(),
            Action::Tick => {
                self.tick = self.tick.wrapping_add(1);
                self.now = OffsetDateTime::now_utc();
                let tick = self.tick;
                self.active_mut().on_tick(tick)
            }
            Action::Quit => self.quit(),
            Action::BuiltIn(built_in) => self.stats.set_built_in(built_in),
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
                    self.keys.on_page(page, append)
                }
                Err(e) => {
                    let retry = self.keys.on_failure(e.to_string());
                    self.failed(&e, retry)
                }
            },
            Action::IdentitiesLoaded { append, result } => match result {
                Ok(page) => {
                    self.online();
                    self.identities.on_page(page, append)
                }
                Err(e) => {
                    let retry = self.identities.on_failure(e.to_string());
                    self.failed(&e, retry)
                }
            },
            Action::CreatedKeysLoaded {
                identity_id,
                result,
            } => {
                if result.is_ok() {
                    self.online();
                }
                self.identities.created_loaded(&identity_id, result);
                Vec::new()
            }
            Action::HistoryLoaded { about, result } => {
                match &about {
                    About::Key(_) => self.keys.history.loaded(&about, result),
                    About::Actor(_) => self.identities.history.loaded(&about, result),
                }
                Vec::new()
            }
            Action::AuditLoaded(result) => {
                if result.is_ok() {
                    self.online();
                }
                self.audit.on_page(result)
            }
            Action::KeyUsageLoaded { key_id, result } => {
                if result.is_ok() {
                    self.online();
                }
                self.keys.usage_loaded(&key_id, result);
                Vec::new()
            }
            Action::ProjectsLoaded(result) => match result {
                Ok(projects) => {
                    self.online();
                    if let Some(Overlay::CreateKey(form)) = &mut self.overlay {
                        form.offer_projects(&projects);
                    }
                    self.projects = projects;
                    Vec::new()
                }
                Err(e) => self.failed(&e, Effect::LoadProjects),
            },
            Action::SettingsLoaded(result) => match result {
                Ok(max) => {
                    self.online();
                    self.max_key_ttl = max;
                    Vec::new()
                }
                // A service older than the field answers an error: the form then checks
                // no maximum, and the service still refuses what is too long.
                Err(e) if e.is_transient() => self.failed(&e, Effect::LoadSettings),
                Err(_) => Vec::new(),
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
                    self.stats.set_databases(databases)
                }
                Err(e) => {
                    self.stats.databases_load = Load::Failed(e.to_string());
                    self.failed(&e, Effect::LoadDatabases)
                }
            },
            Action::StatsLoaded {
                database_id,
                since,
                result,
            } => {
                if !self.stats.awaits(&database_id, since) {
                    return Vec::new();
                }
                match result {
                    Ok(stats) => {
                        self.online();
                        self.stats.set_stats(stats, self.now)
                    }
                    Err(e) => {
                        // The rows on screen stay: an old service refusing a window, or a
                        // failed refresh, should not blank what was already there.
                        if self.stats.expects_failure(&database_id) {
                            // The demo's own database coming up: asked again shortly, and
                            // no failure shown.
                            self.stats.stats_load = Load::Idle;
                            return Vec::new();
                        }
                        self.stats.stats_load = Load::Failed(e.to_string());
                        self.failed(&e, Effect::LoadStats { database_id, since })
                    }
                }
            }
            Action::SeriesLoaded {
                database_id,
                query_id,
                since,
                result,
            } => {
                // A chart that could not load says so in its place; the rest of the tab is
                // unaffected, so this is no connection error.
                let result = result.map_err(|e| e.to_string());
                self.stats.set_series(database_id, query_id, since, result);
                Vec::new()
            }
            Action::KeyCreated {
                local_token,
                result,
            } => self.key_created(local_token, result),
            Action::KeyRotated(result) => self.key_rotated(result),
            Action::KeyToggled {
                id,
                name,
                enabled,
                result,
            } => self.key_toggled(&id, &name, enabled, result),
            Action::KeysToggled {
                enabled,
                done,
                cascaded,
                failed,
            } => {
                self.online();
                self.keys.clear_marks();
                let verb = if enabled { "enabled" } else { "disabled" };
                let mut text = format!("{verb} {} marked key(s)", done.len());
                if !cascaded.is_empty() {
                    text.push_str(&format!(
                        " and {} personal key(s) they created",
                        cascaded.len()
                    ));
                }
                if failed.is_empty() {
                    self.say(Note::done(text, Tab::Keys));
                } else {
                    let why: Vec<String> = failed
                        .iter()
                        .map(|(id, e)| format!("{}: {e}", crate::text::visible(id)))
                        .collect();
                    self.say(Note::error(
                        format!("{text}; {} refused: {}", failed.len(), why.join("; ")),
                        Some(Tab::Keys),
                    ));
                }
                vec![self.keys.reload()]
            }
            Action::IdentityChanged(result) => match result {
                Ok(narrowed) => {
                    self.online();
                    self.overlay = None;
                    let text = format!(
                        "saved the identity’s roles and memberships.{}",
                        crate::api::wording::narrowed_note(narrowed.len())
                    );
                    self.say(Note::done(text, Tab::Identities));
                    vec![self.identities.reload(), self.keys.reload()]
                }
                Err(e) => {
                    if self.session_ended(&e) {
                        return Vec::new();
                    }
                    match &mut self.overlay {
                        Some(overlay) => overlay.modal_mut().fail(&e),
                        None => self.say(Note::error(e.to_string(), Some(Tab::Identities))),
                    }
                    Vec::new()
                }
            },
            Action::Copied(result) => {
                if let Some(Overlay::Token(dialog)) = &mut self.overlay {
                    dialog.copied = Some(result);
                    return Vec::new();
                }
                let what = self.copying.take().unwrap_or_else(|| "the text".into());
                let note = match result {
                    Ok(path) => Note::done(format!("copied {what}: {}", path.describe()), self.tab),
                    Err(e) => Note::error(format!("could not copy {what}: {e}"), Some(self.tab)),
                };
                self.say(note);
                Vec::new()
            }
        }
    }

    fn quit(&mut self) -> Vec<Effect> {
        self.should_quit = true;
        vec![Effect::Quit]
    }

    fn key_created(
        &mut self,
        local_token: Option<String>,
        result: Result<CreatedKey, ApiError>,
    ) -> Vec<Effect> {
        let Some(Overlay::CreateKey(form)) = &mut self.overlay else {
            return Vec::new();
        };
        match result {
            Ok(created) => {
                let name = form.name.as_str().trim().to_owned();
                let local = local_token.is_some();
                // Shown and selected wherever it falls in the order.
                let show = self.keys.show_key(created.id.clone());
                let Some(token) = created.token.or(local_token) else {
                    self.overlay = None;
                    self.say(Note::error(
                        "the key was created but no token came back",
                        Some(Tab::Keys),
                    ));
                    return vec![show];
                };
                self.say(Note::done(
                    format!("created key “{}”", crate::text::visible(&name)),
                    Tab::Keys,
                ));
                self.overlay = Some(Overlay::Token(TokenDialog {
                    token: token.clone(),
                    key_name: name,
                    local,
                    rotated: false,
                    copied: None,
                }));
                vec![Effect::Copy(token), show]
            }
            Err(e) => {
                form.fail(&e);
                if e.is_transient() {
                    self.connection_down(&e);
                }
                self.session_ended(&e);
                Vec::new()
            }
        }
    }

    /// A rotation answered: the new token's dialog, the keys reloaded with the successor
    /// selected and when the old key stops said; or the refusal in the rotation dialog.
    fn key_rotated(&mut self, result: Result<RotatedKey, ApiError>) -> Vec<Effect> {
        let Some(Overlay::Rotate(form)) = &mut self.overlay else {
            return Vec::new();
        };
        match result {
            Ok(rotated) => {
                self.online();
                let name = crate::text::visible(&rotated.name).into_owned();
                let until = match rotated.previous_expires_at.as_deref() {
                    None => "never".to_owned(),
                    Some(at) if seconds_until(at, self.now).is_none_or(|s| s <= 0) => {
                        "at once".to_owned()
                    }
                    Some(at) => relative(at, self.now),
                };
                // Shown and selected wherever it falls in the order.
                let show = self.keys.show_key(rotated.created.id.clone());
                self.say(Note::done(
                    format!("rotated “{name}”: the previous key stops working {until}"),
                    Tab::Keys,
                ));
                let Some(token) = rotated.created.token else {
                    self.overlay = None;
                    return vec![show];
                };
                self.overlay = Some(Overlay::Token(TokenDialog {
                    token: token.clone(),
                    key_name: rotated.name,
                    local: false,
                    rotated: true,
                    copied: None,
                }));
                vec![Effect::Copy(token), show]
            }
            Err(e) => {
                super::modal::Modal::fail(form, &e);
                if e.is_transient() {
                    self.connection_down(&e);
                }
                self.session_ended(&e);
                Vec::new()
            }
        }
    }

    fn key_toggled(
        &mut self,
        id: &str,
        name: &str,
        enabled: bool,
        result: Result<Vec<String>, ApiError>,
    ) -> Vec<Effect> {
        let name = crate::text::visible(name).into_owned();
        match result {
            Ok(also_disabled) => {
                self.online();
                self.keys.set_enabled(id, enabled);
                for other in &also_disabled {
                    self.keys.set_enabled(other, false);
                }
                let verb = if enabled { "enabled" } else { "disabled" };
                let text = match also_disabled.len() {
                    0 => format!("{verb} “{name}”"),
                    1 => format!("{verb} “{name}” and the personal key it created"),
                    n => format!("{verb} “{name}” and the {n} personal keys it created"),
                };
                self.say(Note::done(text, Tab::Keys));
                vec![self.keys.reload()]
            }
            Err(e) => {
                if !self.session_ended(&e) {
                    let verb = if enabled { "enable" } else { "disable" };
                    self.say(Note::error(
                        format!("could not {verb} “{name}”: {e}"),
                        Some(Tab::Keys),
                    ));
                }
                Vec::new()
            }
        }
    }

    /// A load succeeded: after an outage, says once that the service is back.
    fn online(&mut self) {
        if matches!(self.connection, Connection::Down { .. }) {
            self.say(Note {
                text: "service reachable again".into(),
                tone: Tone::Done,
                about: None,
            });
        }
        self.connection = Connection::Online;
        self.failures = 0;
    }

    /// The service could not be reached: how long until the next try. One retry schedule for
    /// everything that failed: a load failing while a retry is pending joins it (the status
    /// bar counts down to when it actually runs); a retry failing waits longer. Said once per
    /// outage, not once per failed load.
    fn connection_down(&mut self, error: &ApiError) -> Duration {
        if let Connection::Down { retry_at, .. } = self.connection {
            let left = retry_at - self.now;
            // A retry that just ran (the clock here moves with the ticks) fails anew.
            if left >= time::Duration::milliseconds(500) {
                return left.try_into().unwrap_or(Duration::ZERO);
            }
        } else {
            self.say(Note::error(format!("{error}; retrying"), None));
        }
        self.failures += 1;
        let secs = (1u64 << self.failures.min(5)).min(MAX_BACKOFF_SECS);
        self.connection = Connection::Down {
            attempt: self.failures,
            retry_at: self.now + Duration::from_secs(secs),
        };
        Duration::from_secs(secs)
    }

    /// When the service refused the session's token (HTTP 401), says that the session ended
    /// and how to log in again; nothing is retried with a token that will not work.
    fn session_ended(&mut self, error: &ApiError) -> bool {
        if !matches!(error, ApiError::Unauthorized(_)) {
            return false;
        }
        self.connection = Connection::SignedOut;
        let profile = &self.session.profile;
        let endpoint = &self.session.endpoint;
        let source = &self.session.credential_store;
        let next = if source == "KEYDECK_TOKEN" {
            "Set KEYDECK_TOKEN to a token the service accepts and start keydeck again".to_owned()
        } else if source.starts_with("token file ") {
            format!("Put a token the service accepts in the {source} and start keydeck again")
        } else {
            format!(
                "Log in again with another token: keydeck --profile {profile} login --endpoint {endpoint}"
            )
        };
        self.say(Note::error(
            format!(
                "The session ended: the service no longer accepts this token (disabled, expired or removed). {next}"
            ),
            None,
        ));
        true
    }

    /// Shows the error; when the service is unreachable, retries the load with backoff.
    fn failed(&mut self, error: &ApiError, retry: Effect) -> Vec<Effect> {
        if self.session_ended(error) {
            return Vec::new();
        }
        if error.is_transient() {
            let delay = self.connection_down(error);
            vec![Effect::Later {
                delay,
                effect: Box::new(retry),
            }]
        } else {
            self.say(Note::error(error.to_string(), None));
            self.connection = Connection::Online;
            Vec::new()
        }
    }

    fn on_key(&mut self, event: &crossterm::event::KeyEvent) -> Vec<Effect> {
        if Keymap::is_interrupt(event) {
            return self.quit();
        }
        if let Some(help) = &mut self.help {
            if !help.on_key(event) {
                self.help = None;
            }
            return Vec::new();
        }
        let contexts = self.contexts();
        let command = self.keymap.lookup(&contexts, event);
        if let Some(overlay) = &mut self.overlay {
            return match overlay.modal_mut().on_key(event, command) {
                Outcome::Stay => Vec::new(),
                Outcome::Close => {
                    self.overlay = None;
                    Vec::new()
                }
                Outcome::Send(effect) => vec![effect],
                Outcome::CloseAndSend(effect) => {
                    self.overlay = None;
                    vec![effect]
                }
            };
        }
        let tick = self.tick;
        if self.active().typing() {
            let reply = self.active_mut().on_filter_key(event, command, tick);
            return self.apply(reply);
        }
        match command {
            Some(command) => self.on_command(command),
            None => Vec::new(),
        }
    }

    fn on_command(&mut self, command: Command) -> Vec<Effect> {
        match command {
            Command::Quit => self.quit(),
            Command::Help => {
                self.help = Some(Help::new(self.contexts()));
                Vec::new()
            }
            Command::Messages => {
                self.overlay = Some(Overlay::Log(LogView {
                    log: self.log.clone(),
                    scroll: 0,
                }));
                Vec::new()
            }
            Command::NextTab => self.switch(self.tab.next()),
            Command::PrevTab => self.switch(self.tab.prev()),
            Command::TabKeys => self.switch(Tab::Keys),
            Command::TabIdentities => self.switch(Tab::Identities),
            Command::TabStats => self.switch(Tab::Stats),
            Command::TabAudit => self.switch(Tab::Audit),
            Command::Refresh => self.active_mut().refresh(),
            Command::Suspend => vec![Effect::Suspend],
            command => {
                // A message about this tab described it before this command.
                if self
                    .note
                    .as_ref()
                    .is_some_and(|n| n.about == Some(self.tab))
                {
                    self.note = None;
                }
                let shared = Shared {
                    me: self.me.as_ref(),
                    projects: &self.projects,
                    catalog: &self.catalog,
                    keymap: &self.keymap,
                    now: self.now,
                    max_key_ttl: self.max_key_ttl,
                };
                let tab: &mut dyn TabView = match self.tab {
                    Tab::Keys => &mut self.keys,
                    Tab::Identities => &mut self.identities,
                    Tab::Stats => &mut self.stats,
                    Tab::Audit => &mut self.audit,
                };
                let reply = tab.on_command(command, &shared);
                self.apply(reply)
            }
        }
    }

    /// Carries out what a tab replied.
    fn apply(&mut self, reply: Reply) -> Vec<Effect> {
        if let Some(overlay) = reply.open {
            self.overlay = Some(overlay);
        }
        if let Some(note) = reply.note {
            self.say(note);
        }
        if reply.copying.is_some() {
            self.copying = reply.copying;
        }
        let mut effects = reply.effects;
        if let Some(jump) = reply.jump {
            effects.extend(self.jump(jump));
        }
        effects
    }

    /// Shows a key or an identity in its own tab, selected, its details open.
    fn jump(&mut self, jump: Jump) -> Vec<Effect> {
        match jump {
            Jump::Key(id) => {
                self.switch(Tab::Keys);
                self.keys.detail_open = true;
                // Disabled and expired keys too: an audit entry is often about one.
                self.keys.show_inactive = true;
                vec![self.keys.show_key(id)]
            }
            Jump::Identity(id) => {
                self.switch(Tab::Identities);
                vec![self.identities.show(id)]
            }
        }
    }

    fn switch(&mut self, tab: Tab) -> Vec<Effect> {
        if self
            .note
            .as_ref()
            .is_some_and(|n| n.about.is_some_and(|about| about != tab))
        {
            self.note = None;
        }
        self.tab = tab;
        self.active_mut().visit()
    }
}
