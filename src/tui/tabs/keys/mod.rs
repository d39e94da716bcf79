//! The Keys tab: every key the caller can see, with filter, sort, details and paging.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use time::OffsetDateTime;

mod details;

use details::{KeyUsage, details, render_detail};
pub use details::{UsageSpan, usage_window};

use super::audit::History;
use super::columns::{Column, Width, min_width, table};
use super::follow::Follow;
use super::paged::{PagedList, Row, Want};
use super::search::Search;
use super::view::{Shared, TabView, move_cursor};
use super::{Tab, framed, message};
use crate::api::ops::Key;
use crate::api::ops::list_keys::{ApiKeyState, Visibility};
use crate::api::wording::{
    grants_label, last_day, permissions_label, scope_label, state_label, visibility_label,
};
use crate::api::{ApiError, KeyQuery, KeySort, KeySortField, Page, UsagePoint};
use crate::text::visible;
use crate::tui::action::{About, Effect};
use crate::tui::keymap::{Command, Context};
use crate::tui::modal::Look;
use crate::tui::overlays::Overlay;
use crate::tui::overlays::create_key::CreateKeyForm;
use crate::tui::overlays::dialog::Confirm;
use crate::tui::overlays::rotate::RotateKeyForm;
use crate::tui::tabs::view::Reply;
use crate::tui::theme::Theme;
use crate::tui::widgets::messages::Note;
use crate::tui::widgets::numbers::compact;
use crate::tui::widgets::time::{SOON_SECS, relative, seconds_until};
use crate::tui::widgets::{Load, fit};

/// Rows fetched per request.
pub const PAGE_SIZE: i64 = 200;

/// The column the service orders the keys by: every page comes sorted, so the order holds
/// over the whole store, not the rows loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortBy {
    #[default]
    Created,
    Name,
    Expires,
    LastUsed,
    State,
}

impl SortBy {
    pub fn next(self) -> SortBy {
        match self {
            SortBy::Created => SortBy::Name,
            SortBy::Name => SortBy::Expires,
            SortBy::Expires => SortBy::LastUsed,
            SortBy::LastUsed => SortBy::State,
            SortBy::State => SortBy::Created,
        }
    }

    /// The table column it sorts by, as the header names it.
    pub fn column(self) -> &'static str {
        match self {
            SortBy::Created => "Created",
            SortBy::Name => "Name",
            SortBy::Expires => "Expires",
            SortBy::LastUsed => "Last used",
            SortBy::State => "State",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            SortBy::Created => "created",
            SortBy::Name => "name",
            SortBy::Expires => "expires",
            SortBy::LastUsed => "last used",
            SortBy::State => "state",
        }
    }

    fn field(self) -> KeySortField {
        match self {
            SortBy::Created => KeySortField::Created,
            SortBy::Name => KeySortField::Name,
            SortBy::Expires => KeySortField::Expires,
            SortBy::LastUsed => KeySortField::LastUsed,
            SortBy::State => KeySortField::State,
        }
    }
}

#[derive(Debug, Default)]
pub struct KeysTab {
    /// The keys around the cursor, in the service's order.
    pub list: PagedList<Key>,
    pub search: Search,
    pub sort: SortBy,
    /// Sort the other way round.
    pub descending: bool,
    /// Show disabled and expired keys too.
    pub show_inactive: bool,
    pub detail_open: bool,
    /// Keys marked (`space`) for `d`/`e` on them all, by id, in marking order.
    marked: Vec<String>,
    /// The selected key's history, while its details are open.
    pub history: History,
    /// The selected key's requests over the last day, week or month (`w`), for its details.
    usage: KeyUsage,
    pub usage_span: UsageSpan,
    /// The details follow the cursor at most once a tick.
    follow: Follow,
}

impl Row for Key {
    fn id(&self) -> &str {
        &self.id
    }
}

impl KeysTab {
    /// The selected key's usage, when its details are open and it is not loaded (or loading)
    /// already.
    fn load_usage(&mut self) -> Vec<Effect> {
        let Some(id) = self
            .selected()
            .map(|k| k.id.clone())
            .filter(|_| self.detail_open)
        else {
            return Vec::new();
        };
        if self.usage.key_id == id && self.usage.load != Load::Idle {
            return Vec::new();
        }
        self.usage = KeyUsage {
            key_id: id.clone(),
            load: Load::Loading,
            points: Vec::new(),
        };
        vec![Effect::LoadKeyUsage {
            key_id: id,
            seconds: self.usage_span.seconds(),
        }]
    }

    /// A key's usage arrived; an answer for another key than the one selected now is dropped.
    pub fn usage_loaded(&mut self, key_id: &str, result: Result<Vec<UsagePoint>, ApiError>) {
        if self.usage.key_id != key_id {
            return;
        }
        match result {
            Ok(points) => {
                self.usage.points = points;
                self.usage.load = Load::Loaded;
            }
            Err(e) => self.usage.load = Load::Failed(e.to_string()),
        }
    }

    /// The loaded usage of `key`, if that is the key it was loaded for.
    fn usage_of(&self, key: &Key) -> Option<(&[UsagePoint], UsageSpan)> {
        (self.usage.key_id == key.id && self.usage.load == Load::Loaded)
            .then_some((self.usage.points.as_slice(), self.usage_span))
    }

    /// `w`: the next span of the usage sparkline, loaded at once.
    fn step_usage_span(&mut self, shared: &Shared) -> Reply {
        if !self.detail_open {
            let open = shared.keymap.key_for(Context::Keys, Command::Open);
            return Reply::note(Note::info(
                format!("the usage chart is in a key's details: {open} opens them"),
                Some(Tab::Keys),
            ));
        }
        self.usage_span = self.usage_span.next();
        self.usage = KeyUsage::default();
        Reply::effects(self.load_usage())
    }

    /// Takes a page the service sent, and asks for the next one when the cursor is already
    /// near its end (or the end, when `G` was pressed while it was under way).
    pub fn on_page(&mut self, page: Page<Key>, append: bool) -> Vec<Effect> {
        let filter = self.filter();
        self.list.apply(page, append, filter);
        let mut effects = self.more();
        // The details follow the selection, wherever the page put it.
        effects.extend(self.load_details());
        effects
    }

    /// A page failed: said in the title; the effect that asks for it again.
    pub fn on_failure(&mut self, why: String) -> Effect {
        let want = self.list.failed(why);
        self.effect(want)
    }

    /// The effect that reads `want` in the tab's filter and order.
    fn effect(&self, want: Want) -> Effect {
        let append = want.appends();
        let base = self.query(None);
        match want {
            Want::Around(id) => Effect::LocateKey { id, query: base },
            want => Effect::LoadKeys {
                query: want.query(base.clone(), PAGE_SIZE).unwrap_or(base),
                append,
            },
        }
    }

    fn effects(&self, wants: impl IntoIterator<Item = Want>) -> Vec<Effect> {
        wants.into_iter().map(|w| self.effect(w)).collect()
    }

    /// The rows the filter keeps: the test the service applies to `search`, so what
    /// narrows here at once is what the service answers after the pause.
    fn filter(&self) -> impl Fn(&Key) -> bool + use<> {
        let needle = self.search.needle();
        let typed = self.search.typed().to_owned();
        move |k: &Key| {
            needle.is_empty()
                || k.description.to_lowercase().contains(&needle)
                || matches_token(k, &typed)
        }
    }

    /// Re-applies the filter to the loaded rows.
    pub fn recompute(&mut self) {
        let filter = self.filter();
        self.list.refilter(filter);
    }

    /// What to ask the service for: the page after `after`, with the filter as sent.
    pub fn query(&self, after: Option<String>) -> KeyQuery {
        KeyQuery {
            all: self.show_inactive,
            search: self.search.sent.clone(),
            sort: KeySort {
                field: self.sort.field(),
                descending: self.descending,
            },
            first: PAGE_SIZE,
            after,
            ..KeyQuery::default()
        }
    }

    /// The first page again.
    pub fn reload(&mut self) -> Effect {
        let want = self.list.first();
        self.effect(want)
    }

    /// The keys around `id` (just created), wherever it falls in the order, and it selected.
    pub fn show_key(&mut self, id: String) -> Effect {
        let want = self.list.around_row(id);
        self.effect(want)
    }

    /// The next page, when the cursor is near the end of what is loaded.
    pub fn more(&mut self) -> Vec<Effect> {
        let want = self.list.following();
        self.effects(want)
    }

    /// Shows the change of a key the service confirmed, before the reload arrives (which
    /// may never come when the key was the session's own).
    pub fn set_enabled(&mut self, id: &str, enabled: bool) {
        if let Some(key) = self.list.rows_mut().find(|k| k.id == id) {
            key.enabled = enabled;
            key.state = if enabled {
                ApiKeyState::ENABLED
            } else {
                ApiKeyState::DISABLED
            };
        }
    }

    /// The confirmation for `d`/`e`, or why there is nothing to confirm.
    /// Marks the selected key, or unmarks it.
    fn mark(&mut self) {
        let Some(id) = self.selected().map(|k| k.id.clone()) else {
            return;
        };
        if let Some(at) = self.marked.iter().position(|m| *m == id) {
            self.marked.remove(at);
        } else {
            self.marked.push(id);
        }
        let len = self.list.len();
        self.list.cursor.down(len, 1);
    }

    /// Forgets every mark (after `d`/`e` acted on them).
    pub fn clear_marks(&mut self) {
        self.marked.clear();
    }

    /// `o`: the rotation dialog for the selected key, if it is one that can be rotated.
    fn rotate(&self) -> Reply {
        let Some(key) = self.selected() else {
            return Reply::default();
        };
        if key.state != ApiKeyState::ENABLED {
            let name = visible(&key.description);
            let state = if key.state == ApiKeyState::EXPIRED {
                "expired"
            } else {
                "disabled"
            };
            return Reply::note(Note::error(
                format!("“{name}” is {state}: only a key in use is rotated"),
                Some(Tab::Keys),
            ));
        }
        Reply::open(Overlay::Rotate(RotateKeyForm::new(key)))
    }

    fn toggle(&self, enable: bool, shared: &Shared) -> Reply {
        if !self.marked.is_empty() {
            return Reply::open(Overlay::Confirm(Confirm {
                key_id: String::new(),
                key_name: String::new(),
                enable,
                created_personal: 0,
                own_key: false,
                marked: self.marked.clone(),
            }));
        }
        let Some(key) = self.selected() else {
            return Reply::default();
        };
        let name = visible(&key.description).into_owned();
        if enable && live_state(key, shared.now) == ApiKeyState::EXPIRED {
            let new = shared.keymap.key_for(Context::Keys, Command::NewKey);
            return Reply::note(Note::error(
                format!(
                    "“{name}” has expired and cannot be enabled again; create a new key with {new}"
                ),
                Some(Tab::Keys),
            ));
        }
        if key.enabled == enable {
            let state = if enable { "enabled" } else { "disabled" };
            return Reply::note(Note::info(
                format!("“{name}” is already {state}"),
                Some(Tab::Keys),
            ));
        }
        let created_personal = key
            .identity
            .as_ref()
            .map_or(0, |identity| self.created_personal(&identity.id));
        let own_key = match (&key.identity, shared.me) {
            (Some(identity), Some(me)) => identity.id == me.id,
            _ => false,
        };
        Reply::open(Overlay::Confirm(Confirm {
            key_id: key.id.clone(),
            key_name: key.description.clone(),
            enable,
            created_personal,
            own_key,
            marked: Vec::new(),
        }))
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// How many enabled personal keys among those loaded `identity_id` created.
    pub fn created_personal(&self, identity_id: &str) -> usize {
        self.list
            .rows()
            .iter()
            .filter(|k| {
                k.enabled
                    && k.visibility == Visibility::PERSONAL
                    && k.owner.as_ref().is_some_and(|o| o.id == identity_id)
            })
            .count()
    }

    pub fn selected(&self) -> Option<&Key> {
        self.list.selected()
    }

    pub fn loaded(&self) -> usize {
        self.list.loaded()
    }

    /// The selected key's history, when its details are open and it is not loaded.
    /// The cursor moved: the new key's history and usage, now or at the next tick.
    fn follow_cursor(&mut self) -> Vec<Effect> {
        if !self.detail_open {
            return Vec::new();
        }
        if self.follow.moved() {
            self.load_details()
        } else {
            self.history.forget();
            self.usage = KeyUsage::default();
            Vec::new()
        }
    }

    /// The selected key's history and usage, when its details are open and they are not
    /// loaded (or loading) already.
    fn load_details(&mut self) -> Vec<Effect> {
        let mut effects: Vec<Effect> = self.load_history().into_iter().collect();
        effects.extend(self.load_usage());
        effects
    }

    fn load_history(&mut self) -> Option<Effect> {
        let id = self
            .selected()
            .map(|k| k.id.clone())
            .filter(|_| self.detail_open)?;
        self.history.want(About::Key(id))
    }

    /// The details pane: the key's fields, then its history.
    fn detail_lines(&self, key: &Key, look: &Look) -> Vec<Line<'static>> {
        let mut lines = details(key, look.theme, look.now);
        lines.push(Line::default());
        lines.extend(self.history.lines("History", look));
        lines
    }

    /// Whether the text sent is a token's start (`kd_…`), which the service matches against
    /// token prefixes rather than names.
    fn searching_tokens(&self) -> bool {
        self.search
            .sent
            .as_deref()
            .is_some_and(|sent| sent.starts_with(crate::token::PREFIX))
    }

    fn render_table(&self, area: Rect, buf: &mut Buffer, look: &Look) {
        let (theme, now) = (look.theme, look.now);
        let shown = if self.show_inactive {
            "all keys"
        } else {
            "enabled keys"
        };
        let mut title = format!(
            " Keys: {} {shown} · sort: {} {} ",
            self.list.extent(),
            self.sort.label(),
            self.arrow()
        );
        if !self.marked.is_empty() {
            title.push_str(&format!("· {} marked ", self.marked.len()));
        }
        if self.search.active() {
            title.push_str(&self.search.describe(
                if self.searching_tokens() {
                    "tokens starting with"
                } else {
                    "key names containing"
                },
                self.list.load.is_loading(),
            ));
        }
        title.push_str(&self.list.load.badge(look.tick));
        let inner = framed(title, theme.border, theme, area, buf);
        if self.list.is_empty() {
            let text = match &self.list.load {
                Load::Failed(e) => format!("Could not load keys: {e}"),
                Load::Loading | Load::Idle => "Loading keys…".to_owned(),
                Load::Loaded if self.search.active() && self.searching_tokens() => format!(
                    "No key you can see has a token starting “{}” ({} clears the filter).",
                    self.search.input.as_str().trim(),
                    look.keymap.key_for(Context::Keys, Command::Back)
                ),
                Load::Loaded if self.search.active() => format!(
                    "No key name contains “{}”{} ({} clears the filter).",
                    self.search.input.as_str().trim(),
                    if self.search.changed() {
                        " among the loaded keys; the service is asked when you pause"
                    } else {
                        ", on the service"
                    },
                    look.keymap.key_for(Context::Keys, Command::Back)
                ),
                Load::Loaded => format!(
                    "No keys yet. Press {} to create one.",
                    look.keymap.key_for(Context::Keys, Command::NewKey)
                ),
            };
            return message(text, theme, inner, buf);
        }
        // Only the visible rows are built: drawing costs O(height), not O(keys).
        let (visible, at) = self.list.visible(inner.height.saturating_sub(1) as usize);
        let rows = visible.map(|key| {
            let mut cells = key_cells(key, theme, now);
            if self.marked.contains(&key.id) {
                // A mark before the name: `d`/`e` act on every marked key.
                cells[0] = Span::styled(format!("✓ {}", cells[0].content), theme.accent);
            }
            cells
        });
        table(&self.columns(), rows, Some(at), theme, inner, buf);
    }

    /// The table's columns, the sorted one marked. Name, Prefix, State and Expires say
    /// which key it is and whether it works, so they are the last to give way.
    fn columns(&self) -> Vec<Column> {
        let fill = |min, weight| Width::Fill { min, weight };
        let columns = [
            ("Name", fill(16, 3), 9),
            ("Prefix", Width::Fixed(10), 8),
            ("Scope", Width::Fixed(10), 6),
            ("Vis.", Width::Fixed(5), 1),
            ("Perm.", Width::Fixed(5), 5),
            ("Roles / memberships", fill(10, 2), 3),
            ("State", Width::Fixed(8), 8),
            ("Created", Width::Fixed(8), 2),
            ("Expires", Width::Fixed(9), 7),
            ("Last used", Width::Fixed(9), 4),
            ("Req 24h", Width::Fixed(7), 3),
        ];
        columns
            .into_iter()
            .map(|(title, width, priority)| {
                // Every column the service can order by says so; the one in use, which way.
                let title = if self.sort.column() == title {
                    format!("{title} {}", self.arrow())
                } else if SORTABLE.contains(&title) {
                    format!("{title} ·")
                } else {
                    title.to_owned()
                };
                Column::new(title, width, priority)
            })
            .collect()
    }
}

/// The columns `s` steps through, as the header names them.
const SORTABLE: [&str; 5] = ["Name", "Created", "Expires", "Last used", "State"];

impl KeysTab {
    /// ▲ for ascending, ▼ for descending.
    fn arrow(&self) -> &'static str {
        if self.descending { "▼" } else { "▲" }
    }
}

impl TabView for KeysTab {
    fn context(&self) -> Context {
        Context::Keys
    }

    fn on_command(&mut self, command: Command, shared: &Shared) -> Reply {
        let len = self.len();
        match command {
            Command::Last | Command::First => {
                let want = if command == Command::Last {
                    self.list.tail()
                } else {
                    self.list.head()
                };
                let mut effects = self.effects(want);
                effects.extend(self.load_details());
                return Reply::effects(effects);
            }
            _ => {}
        }
        if move_cursor(&mut self.list.cursor, command, len) {
            let wants = self.list.around();
            let mut effects = self.effects(wants);
            effects.extend(self.follow_cursor());
            return Reply::effects(effects);
        }
        match command {
            Command::NewKey => Reply::open(Overlay::CreateKey(Box::new(
                CreateKeyForm::new(shared.projects.to_vec(), shared.catalog.to_vec())
                    .granted_by(shared.me)
                    .max_ttl(shared.max_key_ttl),
            ))),
            Command::RotateKey => self.rotate(),
            Command::DisableKey | Command::EnableKey => {
                self.toggle(command == Command::EnableKey, shared)
            }
            Command::UsageSpan => self.step_usage_span(shared),
            Command::Mark => {
                self.mark();
                Reply::default()
            }
            Command::ToggleInactive => {
                self.show_inactive = !self.show_inactive;
                Reply::effects(vec![self.reload()])
            }
            Command::Sort => {
                self.sort = self.sort.next();
                self.list.cursor.index = 0;
                Reply::effects(vec![self.reload()])
            }
            Command::ReverseSort => {
                self.descending = !self.descending;
                self.list.cursor.index = 0;
                Reply::effects(vec![self.reload()])
            }
            Command::Open => {
                self.detail_open = !self.detail_open;
                Reply::effects(self.load_details())
            }
            Command::Filter => self.start_filter(),
            Command::Back if self.detail_open => {
                self.detail_open = false;
                Reply::default()
            }
            Command::Back => self.clear_filter(),
            Command::CopyId => match self.selected() {
                Some(key) => Reply {
                    effects: vec![Effect::Copy(key.id.clone())],
                    copying: Some(format!("the id of “{}”", visible(&key.description))),
                    ..Reply::default()
                },
                None => Reply::default(),
            },
            _ => Reply::default(),
        }
    }

    fn offers(&self, command: Command) -> bool {
        command != Command::Back || self.detail_open || self.search.active()
    }

    fn search(&self) -> Option<&Search> {
        Some(&self.search)
    }

    fn search_mut(&mut self) -> Option<&mut Search> {
        Some(&mut self.search)
    }

    fn narrow(&mut self) {
        self.recompute();
    }

    fn reload_rows(&mut self) -> Effect {
        self.reload()
    }

    fn owed_details(&mut self) -> Vec<Effect> {
        if self.follow.tick() {
            self.load_details()
        } else {
            Vec::new()
        }
    }

    fn load(&self) -> &Load {
        &self.list.load
    }

    fn refresh(&mut self) -> Vec<Effect> {
        vec![self.reload(), Effect::LoadProjects, Effect::LoadRoles]
    }

    /// The details pane gives way first: beside the table while the table keeps its
    /// essential columns, below it otherwise, in the rows the table leaves; its lines are
    /// cut with a count of those hidden, and it is left out when no line would fit.
    fn render(&self, area: Rect, buf: &mut Buffer, look: &Look) {
        let Some(key) = self.selected().filter(|_| self.detail_open) else {
            return self.render_table(area, buf, look);
        };
        let table_width = min_width(&self.columns(), ESSENTIAL) + 2;
        let (table_area, detail_area) = if area.width >= table_width + DETAIL_WIDTH {
            let [t, d] =
                Layout::horizontal([Constraint::Fill(1), Constraint::Length(DETAIL_WIDTH)])
                    .areas(area);
            (t, d)
        } else {
            let lines = self.detail_lines(key, look);
            let wanted =
                fit::wrap_all(&lines, area.width.saturating_sub(2).into()).len() as u16 + 2;
            let table_height = TABLE_MIN_HEIGHT.max(area.height / 2);
            let height = wanted.min(area.height.saturating_sub(table_height));
            if height < 3 {
                return self.render_table(area, buf, look);
            }
            let [t, d] =
                Layout::vertical([Constraint::Fill(1), Constraint::Length(height)]).areas(area);
            (t, d)
        };
        self.render_table(table_area, buf, look);
        render_detail(
            &self.detail_lines(key, look),
            self.usage_of(key),
            detail_area,
            buf,
            look.theme,
        );
    }
}

/// Columns of this priority or more stay in the table when the details pane is open.
const ESSENTIAL: u8 = 7;
/// Cells the details pane takes beside the table.
const DETAIL_WIDTH: u16 = 56;
/// Rows the table keeps above the details pane, at least: borders, header and three keys;
/// and at least half the height.
const TABLE_MIN_HEIGHT: u16 = 6;

/// The key's state at `now`: an enabled key whose expiry has passed reads as expired at once,
/// before any reload says so.
pub fn live_state(key: &Key, now: OffsetDateTime) -> ApiKeyState {
    let expired = key
        .expires_at
        .as_deref()
        .and_then(|at| seconds_until(at, now))
        .is_some_and(|s| s <= 0);
    match &key.state {
        ApiKeyState::ENABLED if expired => ApiKeyState::EXPIRED,
        state => state.clone(),
    }
}

/// Whether `typed` is the start of `key`'s token, as the service's `search` decides it: a
/// text starting `kd_`, compared case-sensitively with the printed prefix (a longer text by its
/// first characters).
fn matches_token(key: &Key, typed: &str) -> bool {
    let Some(prefix) = key.token_prefix.as_deref() else {
        return false;
    };
    typed.starts_with(crate::token::PREFIX)
        && (prefix.starts_with(typed) || typed.starts_with(prefix))
}

/// The one way an expiry is worded, in the list and in the details: `never`, `in 7d`,
/// `2d ago`; marked when it is less than a week away, dimmed once past.
pub fn expiry(key: &Key, theme: &Theme, now: OffsetDateTime) -> Span<'static> {
    let Some(at) = &key.expires_at else {
        return Span::raw("never");
    };
    match seconds_until(at, now) {
        Some(s) if s <= 0 => Span::styled(relative(at, now), theme.dim),
        Some(s) if s < SOON_SECS => Span::styled(relative(at, now), theme.warn),
        _ => Span::raw(relative(at, now)),
    }
}

/// One table row, a span per column of [`KeysTab::columns`].
fn key_cells(key: &Key, theme: &Theme, now: OffsetDateTime) -> Vec<Span<'static>> {
    let state = live_state(key, now);
    let state_style = match state {
        ApiKeyState::ENABLED => theme.ok,
        _ => theme.dim,
    };
    // Names, slugs, roles and variable values come from other users: shown, never obeyed.
    let text = |s: &str| Span::raw(visible(s).into_owned());
    vec![
        text(&key.description),
        text(key.token_prefix.as_deref().unwrap_or("(hash)")),
        text(&scope_label(key)),
        Span::raw(visibility_label(&key.visibility)),
        Span::raw(permissions_label(&key.permissions)),
        text(&grants_label(key)),
        Span::styled(state_label(&state), state_style),
        Span::raw(relative(&key.created_at, now)),
        expiry(key, theme, now),
        Span::raw(
            key.last_used_at
                .as_deref()
                .map_or_else(|| "never".into(), |t| relative(t, now)),
        ),
        last_day_cell(key, theme),
    ]
}

/// The key's requests over the last 24 hours, as the page brought them: marked in the
/// warning style, with a `!`, when any were refused.
fn last_day_cell(key: &Key, theme: &Theme) -> Span<'static> {
    let (requests, refused) = last_day(key);
    if refused > 0 {
        Span::styled(format!("{}!", compact(requests)), theme.warn)
    } else {
        Span::raw(compact(requests))
    }
}
