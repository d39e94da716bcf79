//! The Query Stats tab: pick a monitored database, then its statements over a time window,
//! sorted, filtered and refreshed every few seconds; a statement's details show its whole
//! text, every field, and charts of what it did per interval of the window.

mod series;

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Sparkline, Widget};
use time::OffsetDateTime;

use super::columns::{Column, Width, table};
use super::search::Search;
use super::view::{Shared, TabView, move_cursor};
use super::{Cursor, Tab, framed, message};
use crate::api::{Database, DatabaseProblem, QueryStat, QueryStatPoint};
use crate::text::visible;
use crate::ttl::{Ttl, parse_window};
use crate::tui::action::Effect;
use crate::tui::built_in::BuiltIn;
use crate::tui::keymap::{Command, Context, Keymap};
use crate::tui::modal::Look;
use crate::tui::tabs::view::Reply;
use crate::tui::theme::Theme;
use crate::tui::widgets::messages::Note;
use crate::tui::widgets::text_input::TextInput;
use crate::tui::widgets::{Load, fit};
use series::{MAX_POINTS, POINTS, Series, span_label};

/// Ticks (250 ms each) between two automatic refreshes of the statements: 10 s.
pub const REFRESH_TICKS: u64 = 40;

/// The windows `window` steps through after the service's default, in seconds: 1 h, 24 h,
/// 7 d.
const PRESETS: [i64; 3] = [3_600, 86_400, 7 * 86_400];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pane {
    #[default]
    Databases,
    Statements,
    /// The selected statement in full, over the whole tab.
    Detail,
}

/// The statement column the table is sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortBy {
    /// pganalyze's order: the share of the window's total time.
    #[default]
    PctOfTotal,
    AvgTime,
    Calls,
    HitRatio,
}

impl SortBy {
    pub fn next(self) -> SortBy {
        match self {
            SortBy::PctOfTotal => SortBy::AvgTime,
            SortBy::AvgTime => SortBy::Calls,
            SortBy::Calls => SortBy::HitRatio,
            SortBy::HitRatio => SortBy::PctOfTotal,
        }
    }

    /// The table column it sorts by, as the header names it.
    pub fn column(self) -> &'static str {
        match self {
            SortBy::PctOfTotal => "% total",
            SortBy::AvgTime => "Avg ms",
            SortBy::Calls => "Calls",
            SortBy::HitRatio => "Hit",
        }
    }

    fn key(self, stat: &QueryStat) -> f64 {
        match self {
            SortBy::PctOfTotal => stat.pct_of_total,
            SortBy::AvgTime => stat.avg_time,
            SortBy::Calls => stat.total_calls as f64,
            // A statement that read no buffers has no ratio: below every ratio.
            SortBy::HitRatio => stat.buffer_hit_ratio.unwrap_or(-1.0),
        }
    }
}

/// The next window after `window`: the service's default, then each preset, then the
/// default again (a custom window goes back to the default).
pub fn next_window(window: Option<Ttl>) -> Option<Ttl> {
    let position = window.map(|w| PRESETS.iter().position(|&p| p == w.seconds()));
    let next = match position {
        None => Some(0),
        Some(Some(i)) => Some(i + 1),
        Some(None) => None,
    };
    next.and_then(|i| PRESETS.get(i))
        .and_then(|&seconds| Ttl::from_seconds(seconds))
}

/// How the window is named on screen: `last 24h` rather than the TTL's `1d`.
pub fn window_label(window: Option<Ttl>) -> String {
    match window.map(Ttl::seconds) {
        None => "service default".into(),
        Some(s) if s % 3_600 == 0 && s <= 48 * 3_600 => format!("last {}h", s / 3_600),
        Some(s) if s % 86_400 == 0 => format!("last {}d", s / 86_400),
        Some(_) => format!(
            "last {}",
            window.map_or_else(String::new, |w| w.to_string())
        ),
    }
}

/// What the charts cover: the window, or the part of it sampled when that is shorter (a
/// database monitored for a minute charts that minute, not a day).
fn charted_label(window: Option<Ttl>, covered_s: i64) -> String {
    // The service's default window is the last 24 hours.
    let window_s = window.map_or(86_400, Ttl::seconds);
    if covered_s * 10 < window_s * 9 {
        format!(
            "last {} sampled of {}",
            span_label(covered_s),
            window_label(window)
        )
    } else {
        window_label(window)
    }
}

/// Ticks between two refreshes while the open database has no statements yet: 2 s, so that
/// a database that just came up shows its first statements at once.
const EARLY_REFRESH_TICKS: u64 = 8;

#[derive(Debug, Default)]
pub struct StatsTab {
    pub databases: Vec<Database>,
    /// The databases pane hidden (`D`), once a database is open.
    pub databases_hidden: bool,
    pub databases_load: Load,
    pub db_cursor: Cursor,
    /// The database whose statements are shown.
    pub open_database: Option<String>,
    rows: Vec<QueryStat>,
    /// Indices into `rows` after filter and sort: what the table shows.
    view: Vec<usize>,
    pub stats_load: Load,
    pub cursor: Cursor,
    pub pane: Pane,
    /// Narrows the loaded statements; the service has no search, so nothing is sent.
    pub search: Search,
    pub sort: SortBy,
    pub ascending: bool,
    /// The last stretch of time asked for; `None` is the service's default window.
    pub window: Option<Ttl>,
    /// A custom window being typed.
    window_input: Option<TextInput>,
    /// No automatic refresh while set.
    pub paused: bool,
    /// When the rows on screen arrived.
    refreshed_at: Option<OffsetDateTime>,
    refreshed_tick: u64,
    /// When the statements were last asked for.
    asked_tick: u64,
    tick: u64,
    /// The open statement's calls and time per interval, once the service sent them.
    series: Option<Series>,
    /// Why the last series asked for did not come.
    series_error: Option<String>,
    /// The width the tab was last drawn at: a series is asked for with one interval per
    /// column of its charts.
    drawn_width: std::cell::Cell<u16>,
    /// The demo's own database, when this TUI is `keydeck demo`'s.
    pub built_in: Option<BuiltIn>,
    /// A database to open once the list holds it (the demo's own, by name).
    open_when_listed: Option<String>,
    /// The demo's own database has shown statements.
    built_in_shown: bool,
}

impl StatsTab {
    pub fn selected_database(&self) -> Option<&Database> {
        self.databases.get(self.db_cursor.index)
    }

    /// The statement under the cursor.
    pub fn selected(&self) -> Option<&QueryStat> {
        self.view.get(self.cursor.index).map(|&i| &self.rows[i])
    }

    /// The statements as the table shows them, in order.
    pub fn shown(&self) -> impl Iterator<Item = &QueryStat> {
        self.view.iter().map(|&i| &self.rows[i])
    }

    /// Whether an answer for `database_id` over `since` is the one the tab waits for.
    pub fn awaits(&self, database_id: &str, since: Option<Ttl>) -> bool {
        self.open_database.as_deref() == Some(database_id) && self.window == since
    }

    /// A refresh arrived at `now`: the rows replace the old ones, the same statement stays
    /// selected. The first statements of the demo's own database have the list asked for
    /// again: its state there was probed while it started.
    pub fn set_stats(&mut self, stats: Vec<QueryStat>, now: OffsetDateTime) -> Vec<Effect> {
        let selected = self.selected().map(|s| s.id.clone());
        let mut effects = Vec::new();
        if !stats.is_empty()
            && !self.built_in_shown
            && self.database_name().is_some()
            && self.database_name() == self.built_in.as_ref().and_then(BuiltIn::name)
        {
            self.built_in_shown = true;
            effects.push(self.reload_rows());
        }
        self.rows = stats;
        self.stats_load = Load::Loaded;
        self.refreshed_at = Some(now);
        self.refreshed_tick = self.tick;
        self.recompute();
        if let Some(id) = selected
            && let Some(pos) = self.view.iter().position(|&i| self.rows[i].id == id)
        {
            self.cursor.index = pos;
        }
        effects
    }

    /// The list arrived; the demo's own database is opened as soon as it is in it.
    pub fn set_databases(&mut self, databases: Vec<Database>) -> Vec<Effect> {
        self.databases = databases;
        self.databases_load = Load::Loaded;
        self.db_cursor.clamp(self.databases.len());
        let listed = self
            .open_when_listed
            .as_deref()
            .and_then(|name| self.databases.iter().position(|d| d.name == name));
        match listed {
            Some(position) if self.open_database.is_none() => {
                self.open_when_listed = None;
                self.db_cursor.index = position;
                let id = self.databases[position].id.clone();
                self.open(id)
            }
            _ => Vec::new(),
        }
    }

    /// The demo reported on its own database: it is opened once listed, and when it comes up
    /// the list (its state) and its statements are asked for again at once.
    pub fn set_built_in(&mut self, built_in: BuiltIn) -> Vec<Effect> {
        let came_up =
            matches!(built_in, BuiltIn::Up(_)) && !matches!(self.built_in, Some(BuiltIn::Up(_)));
        if self.open_database.is_none() {
            self.open_when_listed = built_in.name().map(str::to_owned);
        }
        self.built_in = Some(built_in);
        if !came_up || self.databases_load == Load::Idle {
            return Vec::new();
        }
        let mut effects = vec![self.reload_rows()];
        effects.extend(self.load_stats());
        effects
    }

    /// What the tab says in place of database `name`'s statements while it is the demo's
    /// own and not up, or up without statements shown yet.
    fn standing(&self, name: &str) -> Option<String> {
        self.built_in.as_ref()?.standing(name, !self.built_in_shown)
    }

    /// Whether a failed answer for `database_id` is expected: the demo's own database while
    /// it starts, or until its first statements arrive (the service needs two sampling
    /// rounds, and its state probe may still remember it down). It is asked again on the
    /// early schedule, without an error message.
    pub fn expects_failure(&self, database_id: &str) -> bool {
        let Some(built_in) = &self.built_in else {
            return false;
        };
        let own = self
            .databases
            .iter()
            .any(|d| d.id == database_id && Some(d.name.as_str()) == built_in.name());
        own && !self.built_in_shown && matches!(built_in, BuiltIn::Starting(_) | BuiltIn::Up(_))
    }

    /// The service monitors no database: the tab explains what would fill it.
    pub fn nothing_monitored(&self) -> bool {
        self.databases_load == Load::Loaded && self.databases.is_empty()
    }

    /// Why `command` has nothing to act on now, if it has not.
    fn idle_reason(&self, command: Command, keymap: &Keymap) -> Option<String> {
        let verb = match command {
            Command::Open => "open",
            Command::CopyQuery | Command::CopyUrl => "copy",
            Command::Sort | Command::ReverseSort => "sort",
            Command::Window | Command::CustomWindow => "set a window for",
            Command::PauseRefresh => "refresh",
            Command::Narrow => "filter",
            Command::Back => "close",
            Command::Down
            | Command::Up
            | Command::PageDown
            | Command::PageUp
            | Command::First
            | Command::Last => "move through",
            _ => return None,
        };
        if self.nothing_monitored() {
            return Some(format!(
                "Nothing to {verb}: this service monitors no database (the tab says how to \
                 add one)."
            ));
        }
        let open_key = keymap.key_for(Context::Stats, Command::Open);
        let statement_command = matches!(
            command,
            Command::CopyQuery | Command::CopyUrl | Command::Narrow
        );
        match self.pane {
            Pane::Databases if self.databases.is_empty() => {
                Some(format!("Nothing to {verb} yet: no database is listed."))
            }
            Pane::Databases if statement_command => Some(format!(
                "Nothing to {verb} here: open a database first ({open_key}), then pick a \
                 statement."
            )),
            Pane::Databases if command == Command::Back => {
                Some("Nothing to close: this is the list of databases.".into())
            }
            Pane::Statements
                if self.view.is_empty()
                    && matches!(
                        command,
                        Command::Open | Command::CopyQuery | Command::CopyUrl
                    ) =>
            {
                let why = self
                    .database_name()
                    .and_then(|name| self.standing(name))
                    .map_or_else(
                        || "no statement is shown in this window yet".to_owned(),
                        |standing| standing.trim_end_matches('.').to_owned(),
                    );
                Some(format!("No statement to {verb}: {why}."))
            }
            _ => None,
        }
    }

    /// The open database's name, or its id while the list does not hold it.
    pub fn database_name(&self) -> Option<&str> {
        let id = self.open_database.as_deref()?;
        Some(
            self.databases
                .iter()
                .find(|d| d.id == id)
                .map_or(id, |d| d.name.as_str()),
        )
    }

    /// What the service reported wrong with the open database, if anything.
    fn open_problem(&self) -> Option<&DatabaseProblem> {
        let id = self.open_database.as_deref()?;
        self.databases.iter().find(|d| d.id == id)?.problem.as_ref()
    }

    /// Re-applies filter and sort to the loaded rows.
    fn recompute(&mut self) {
        let filter = Filter::parse(&self.search.needle());
        let mut view: Vec<usize> = (0..self.rows.len())
            .filter(|&i| filter.matches(&self.rows[i]))
            .collect();
        let (rows, sort) = (&self.rows, self.sort);
        view.sort_by(|&a, &b| sort.key(&rows[b]).total_cmp(&sort.key(&rows[a])));
        if self.ascending {
            view.reverse();
        }
        self.view = view;
        self.cursor.clamp(self.view.len());
    }

    /// The statements of the open database over the chosen window, and the open statement's
    /// series when its details are shown.
    fn load_stats(&mut self) -> Vec<Effect> {
        let Some(database_id) = self.open_database.clone() else {
            return Vec::new();
        };
        if let (Some(BuiltIn::Starting(own)), Some(name)) = (&self.built_in, self.database_name())
            && own == name
        {
            // Nothing to read yet: it is asked for when the demo reports it up.
            return Vec::new();
        }
        self.asked_tick = self.tick;
        self.stats_load = Load::Loading;
        let mut effects = vec![Effect::LoadStats {
            database_id,
            since: self.window,
        }];
        effects.extend(self.load_series());
        effects
    }

    /// The series of the statement whose details are shown, over the chosen window.
    fn load_series(&self) -> Option<Effect> {
        if self.pane != Pane::Detail {
            return None;
        }
        Some(Effect::LoadSeries {
            database_id: self.open_database.clone()?,
            query_id: self.selected()?.id.clone(),
            since: self.window,
            points: match self.drawn_width.get() {
                0 => POINTS,
                // The charts fill the tab inside its frame.
                width => width.saturating_sub(2).clamp(1, MAX_POINTS),
            },
        })
    }

    /// A series arrived: kept when it is of the statement shown over the window chosen.
    pub fn set_series(
        &mut self,
        database_id: String,
        query_id: String,
        since: Option<Ttl>,
        result: Result<Vec<QueryStatPoint>, String>,
    ) {
        if !self.shows(&database_id, &query_id, since) {
            return;
        }
        match result {
            Ok(points) => {
                self.series = Some(Series {
                    database_id,
                    query_id,
                    since,
                    points,
                });
                self.series_error = None;
            }
            Err(e) => self.series_error = Some(e),
        }
    }

    /// Whether the series of that statement over that window is the one the details show.
    fn shows(&self, database_id: &str, query_id: &str, since: Option<Ttl>) -> bool {
        self.open_database.as_deref() == Some(database_id)
            && self.selected().is_some_and(|s| s.id == query_id)
            && self.window == since
    }

    /// Another window: the statements and the series are asked for again.
    fn set_window(&mut self, window: Option<Ttl>) -> Vec<Effect> {
        self.window = window;
        self.load_stats()
    }

    fn open(&mut self, database_id: String) -> Vec<Effect> {
        if self.open_database.as_ref() != Some(&database_id) {
            self.rows.clear();
            self.view.clear();
            self.cursor = Cursor::default();
            self.series = None;
            self.refreshed_at = None;
        }
        self.open_database = Some(database_id);
        self.pane = Pane::Statements;
        self.load_stats()
    }

    fn copy(&self, what: Command) -> Reply {
        let Some(stat) = self.selected() else {
            return Reply::default();
        };
        let (text, name) = match what {
            Command::CopyUrl => (stat.query_url.clone(), "the statement’s URL"),
            _ => (stat.normalized_query.clone(), "the statement"),
        };
        Reply {
            effects: vec![Effect::Copy(text)],
            copying: Some(name.into()),
            ..Reply::default()
        }
    }

    /// ▲ for ascending, ▼ for descending.
    fn arrow(&self) -> &'static str {
        if self.ascending { "▲" } else { "▼" }
    }
}

/// What the statements filter holds: `table:NAME` and `type:KIND` words match a statement's
/// tables and type, every other word its text; all of them must match.
#[derive(Debug, Default)]
struct Filter {
    words: Vec<String>,
    tables: Vec<String>,
    types: Vec<String>,
}

impl Filter {
    fn parse(needle: &str) -> Filter {
        let mut filter = Filter::default();
        for word in needle.split_whitespace() {
            if let Some(table) = word.strip_prefix("table:") {
                filter.tables.push(table.to_owned());
            } else if let Some(kind) = word.strip_prefix("type:") {
                filter.types.push(kind.to_owned());
            } else {
                filter.words.push(word.to_owned());
            }
        }
        filter
    }

    fn matches(&self, stat: &QueryStat) -> bool {
        let any =
            |names: &[String], part: &str| names.iter().any(|n| n.to_lowercase().contains(part));
        let text = stat.normalized_query.to_lowercase();
        self.words.iter().all(|w| text.contains(w.as_str()))
            && self.tables.iter().all(|t| any(&stat.table_names, t))
            && self.types.iter().all(|t| any(&stat.statement_types, t))
    }
}

impl TabView for StatsTab {
    fn context(&self) -> Context {
        Context::Stats
    }

    fn on_command(&mut self, command: Command, shared: &Shared) -> Reply {
        if let Some(why) = self.idle_reason(command, shared.keymap) {
            return Reply::note(Note::info(why, Some(Tab::Stats)));
        }
        let moved = match self.pane {
            Pane::Databases => move_cursor(&mut self.db_cursor, command, self.databases.len()),
            Pane::Statements | Pane::Detail => {
                move_cursor(&mut self.cursor, command, self.view.len())
            }
        };
        if moved {
            return Reply::effects(self.load_series().into_iter().collect());
        }
        let effects = match (command, self.pane) {
            (Command::Open, Pane::Databases) => match self.selected_database() {
                Some(db) => self.open(db.id.clone()),
                None => Vec::new(),
            },
            (Command::Open, Pane::Statements) if self.selected().is_some() => {
                self.pane = Pane::Detail;
                self.series_error = None;
                self.load_series().into_iter().collect()
            }
            (Command::Open | Command::Back, Pane::Detail) => {
                self.pane = Pane::Statements;
                Vec::new()
            }
            (Command::Back, Pane::Statements) if self.search.active() => {
                return self.clear_filter();
            }
            (Command::Back, Pane::Statements) => {
                self.pane = Pane::Databases;
                self.databases_hidden = false;
                Vec::new()
            }
            (Command::ToggleDatabases, _) => {
                self.databases_hidden = !self.databases_hidden;
                if self.databases_hidden && self.pane == Pane::Databases {
                    self.pane = Pane::Statements;
                }
                Vec::new()
            }
            (Command::Narrow, Pane::Statements | Pane::Detail) => {
                self.pane = Pane::Statements;
                return self.start_filter();
            }
            (Command::Sort, _) => {
                self.sort = self.sort.next();
                self.recompute();
                Vec::new()
            }
            (Command::ReverseSort, _) => {
                self.ascending = !self.ascending;
                self.recompute();
                Vec::new()
            }
            (Command::CopyQuery | Command::CopyUrl, Pane::Statements | Pane::Detail) => {
                return self.copy(command);
            }
            (Command::Window, _) => self.set_window(next_window(self.window)),
            (Command::CustomWindow, _) => {
                self.window_input = Some(TextInput::default());
                Vec::new()
            }
            (Command::PauseRefresh, _) => {
                self.paused = !self.paused;
                Vec::new()
            }
            _ => Vec::new(),
        };
        Reply::effects(effects)
    }

    fn offers(&self, command: Command) -> bool {
        command != Command::Back || self.pane != Pane::Databases || self.search.active()
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

    fn typing(&self) -> bool {
        self.search.typing || self.window_input.is_some()
    }

    /// Typing a custom window, or the filter. The filter only narrows what is loaded: the
    /// service has nothing to search, so nothing is sent.
    fn on_filter_key(
        &mut self,
        event: &crossterm::event::KeyEvent,
        command: Option<Command>,
        tick: u64,
    ) -> Reply {
        if let Some(input) = &mut self.window_input {
            if command != Some(Command::FilterDone) {
                input.on_key(event);
                return Reply::default();
            }
            let text = input.as_str().to_owned();
            self.window_input = None;
            if event.code == crossterm::event::KeyCode::Esc {
                return Reply::default();
            }
            return match parse_window(&text) {
                Ok(window) => Reply::effects(self.set_window(Some(window))),
                Err(e) => Reply::note(Note::error(e, Some(Tab::Stats))),
            };
        }
        if command == Some(Command::FilterDone) {
            self.search.typing = false;
        } else if self.search.on_key(event, tick) {
            self.recompute();
        }
        Reply::default()
    }

    /// Keeps the clock, and refreshes the statements every [`REFRESH_TICKS`] unless paused
    /// or the last answer failed (a refused window is not asked again and again; `refresh`
    /// or another window asks again).
    fn on_tick(&mut self, tick: u64) -> Vec<Effect> {
        self.tick = tick;
        let every = if self.rows.is_empty() {
            EARLY_REFRESH_TICKS
        } else {
            REFRESH_TICKS
        };
        let last = self.refreshed_tick.max(self.asked_tick);
        let due = tick.saturating_sub(last) >= every;
        let retry = self.stats_load == Load::Idle
            && self
                .open_database
                .as_deref()
                .is_some_and(|id| self.expects_failure(id));
        if due && !self.paused && (self.stats_load == Load::Loaded || retry) {
            self.load_stats()
        } else {
            Vec::new()
        }
    }

    fn load(&self) -> &Load {
        &self.databases_load
    }

    fn reload_rows(&mut self) -> Effect {
        self.databases_load = Load::Loading;
        Effect::LoadDatabases
    }

    fn refresh(&mut self) -> Vec<Effect> {
        let mut effects = vec![self.reload_rows()];
        effects.extend(self.load_stats());
        effects
    }

    fn render(&self, area: Rect, buf: &mut Buffer, look: &Look) {
        self.drawn_width.set(area.width);
        if self.pane == Pane::Detail
            && let Some(stat) = self.selected()
        {
            return self.render_detail(stat, area, buf, look);
        }
        if self.nothing_monitored() {
            return self.render_explanation(area, buf, look.theme);
        }
        // Hidden, the databases give the statements' text the whole width.
        if self.databases_hidden && self.open_database.is_some() {
            return self.render_statements(area, buf, look);
        }
        let [left, right] =
            Layout::horizontal([Constraint::Length(28), Constraint::Min(20)]).areas(area);
        self.render_databases(left, buf, look);
        self.render_statements(right, buf, look);
    }
}

impl StatsTab {
    fn border(&self, pane: Pane, theme: &Theme) -> ratatui::style::Style {
        if self.pane == pane {
            theme.accent
        } else {
            theme.border
        }
    }

    fn render_databases(&self, area: Rect, buf: &mut Buffer, look: &Look) {
        let theme = look.theme;
        let title = format!(" Databases{} ", self.databases_load.badge(look.tick));
        let inner = framed(title, self.border(Pane::Databases, theme), theme, area, buf);
        if self.databases.is_empty() {
            let text = match &self.databases_load {
                Load::Failed(e) => format!("Could not list databases: {e}"),
                Load::Loaded => {
                    "No database is monitored. Start the service with --monitor NAME=postgres://…"
                        .into()
                }
                _ => "Loading…".into(),
            };
            return message(text, theme, inner, buf);
        }
        let (offset, window) = self
            .db_cursor
            .window(&self.databases, inner.height.saturating_sub(1) as usize);
        // Names are whatever the service's operator wrote.
        // The demo's own database reads as starting until its first statements arrive (its
        // state was probed while it started).
        let starting = match &self.built_in {
            Some(BuiltIn::Starting(name)) => Some(name.as_str()),
            Some(BuiltIn::Up(name)) if !self.built_in_shown => Some(name.as_str()),
            _ => None,
        };
        let rows = window.iter().map(|d| {
            let state = match &d.problem {
                _ if starting == Some(d.name.as_str()) => Span::styled("starting…", theme.dim),
                None => Span::raw("ok"),
                Some(problem) => Span::styled(problem.label, theme.error),
            };
            vec![
                Span::raw(visible(&d.id).into_owned()),
                Span::raw(visible(&d.name).into_owned()),
                state,
            ]
        });
        let columns = [
            Column::new("Id", Width::Fixed(3), 1),
            Column::new("Name", Width::Fill { min: 8, weight: 1 }, 9),
            Column::new("State", Width::Fixed(12), 2),
        ];
        let selected = Some(self.db_cursor.index - offset);
        table(&columns, rows, selected, theme, inner, buf);
    }

    fn render_statements(&self, area: Rect, buf: &mut Buffer, look: &Look) {
        let (theme, tick) = (look.theme, look.tick);
        let mut title = match self.database_name() {
            Some(name) => format!(
                " Statements of {name}: {} of {} · sort: {} {} ",
                self.view.len(),
                self.rows.len(),
                self.sort.column(),
                self.arrow()
            ),
            None => " Statements ".into(),
        };
        if self.search.active() {
            let caret = if self.search.typing { "▏" } else { "" };
            title.push_str(&format!("· filter: {}{caret} ", self.search.input.as_str()));
        }
        title.push_str(&self.stats_load.badge(tick));
        let inner = framed(
            title,
            self.border(Pane::Statements, theme),
            theme,
            area,
            buf,
        );
        if self.open_database.is_none() {
            let standing = (self.built_in.as_ref())
                .and_then(BuiltIn::name)
                .and_then(|name| self.standing(name));
            let text = standing.unwrap_or_else(|| {
                format!(
                    "Pick a database and press {}.",
                    look.keymap.key_for(Context::Stats, Command::Open)
                )
            });
            return message(text, theme, inner, buf);
        }
        let [info, rest] =
            Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(inner);
        Paragraph::new(fit::truncate_line(&self.info_line(look), info.width.into()))
            .render(info, buf);
        let standing = self.database_name().and_then(|name| self.standing(name));
        if self.view.is_empty()
            && let Some(standing) = standing
        {
            return message(standing, theme, rest, buf);
        }
        if self.view.is_empty() {
            let text = match &self.stats_load {
                Load::Failed(e) => match self.open_problem() {
                    Some(problem) => format!(
                        "Could not load statistics: {e} (the service reports the database as {}: {})",
                        problem.label,
                        visible(&problem.reason)
                    ),
                    None => format!("Could not load statistics: {e}"),
                },
                Load::Loaded if !self.rows.is_empty() => format!(
                    "No statement matches “{}” ({} clears the filter).",
                    self.search.input.as_str().trim(),
                    look.keymap.key_for(Context::Stats, Command::Back)
                ),
                Load::Loaded => format!(
                    "No statements recorded yet: the service needs two sampling rounds of \
                     pg_stat_statements to see what ran between them (asked again every {} s).",
                    EARLY_REFRESH_TICKS / 4
                ),
                _ => "Loading…".into(),
            };
            return message(text, theme, rest, buf);
        }
        let (offset, window) = self
            .cursor
            .window(&self.view, rest.height.saturating_sub(1) as usize);
        let rows = window.iter().map(|&i| statement_cells(&self.rows[i]));
        let selected = (self.pane == Pane::Statements).then_some(self.cursor.index - offset);
        table(&self.columns(), rows, selected, theme, rest, buf);
    }

    /// What would fill the tab, when the service monitors no database: the demo's own
    /// database and what it needs, or a database of one's own with pg_stat_statements.
    fn render_explanation(&self, area: Rect, buf: &mut Buffer, theme: &Theme) {
        let inner = framed(" Query Stats ".into(), theme.accent, theme, area, buf);
        let why = match &self.built_in {
            Some(BuiltIn::Skipped) => {
                "keydeck demo --no-postgres: the demo started no PostgreSQL of its own, and \
                 monitors no database."
                    .to_owned()
            }
            Some(BuiltIn::Missing(looked)) => format!(
                "No database is monitored: the demo found no PostgreSQL server to start one \
                 of its own (it looked in {looked})."
            ),
            _ => "This service monitors no database.".to_owned(),
        };
        let code = |text: &str| Line::from(Span::styled(format!("  {text}"), theme.accent));
        let plain = |text: &str| Line::from(text.to_owned());
        let lines = vec![
            Line::from(Span::styled(why, theme.header)),
            Line::default(),
            plain(
                "Query Stats shows what a PostgreSQL database spends its time on, statement \
                 by statement, from its pg_stat_statements.",
            ),
            Line::default(),
            plain(match self.built_in {
                Some(BuiltIn::Skipped) => {
                    "For the demo’s own database (a small shop with a workload), run keydeck \
                     demo without --no-postgres, with PostgreSQL’s server installed:"
                }
                Some(_) => {
                    "For the demo’s own database (a small shop with a workload), install \
                     PostgreSQL’s server and run keydeck demo again:"
                }
                None => {
                    "For a demo database (a small shop with a workload), install PostgreSQL’s \
                     server and run keydeck demo:"
                }
            }),
            code("apt-get install postgresql     (Debian, Ubuntu)"),
            code("brew install postgresql        (macOS)"),
            Line::default(),
            plain("Or monitor a database of yours (keydeck serve takes the same flag):"),
            code("keydeck demo --monitor NAME=postgres://USER@HOST/DB"),
            plain("with pg_stat_statements there: in postgresql.conf, then restart,"),
            code("shared_preload_libraries = 'pg_stat_statements'"),
            plain("and in that database"),
            code("CREATE EXTENSION pg_stat_statements;"),
        ];
        let lines = fit::wrap_all(&lines, inner.width.into());
        Paragraph::new(fit::clip(lines, inner.height.into(), theme.dim)).render(inner, buf);
    }

    /// The window, the refresh and, when the last request failed while rows stay on
    /// screen, why.
    fn info_line(&self, look: &Look) -> Line<'static> {
        let theme = look.theme;
        if let Some(input) = &self.window_input {
            return Line::from(vec![
                Span::styled("Window: last ", theme.accent),
                Span::raw(format!("{}▏", visible(input.as_str()))),
                Span::styled(" (e.g. 90m, 3d; enter sets it, esc cancels)", theme.dim),
            ]);
        }
        let mut spans = vec![Span::styled(
            format!("Window: {}", window_label(self.window)),
            theme.accent,
        )];
        if let Load::Failed(e) = &self.stats_load
            && !self.rows.is_empty()
        {
            spans.push(Span::styled(format!(" · ✗ {}", visible(e)), theme.error));
        }
        if let Some(at) = self.refreshed_at {
            let ago = (look.now - at).whole_seconds().max(0);
            spans.push(Span::styled(
                format!(
                    " · refreshed {:02}:{:02}:{:02} UTC ({ago}s ago)",
                    at.hour(),
                    at.minute(),
                    at.second()
                ),
                theme.dim,
            ));
        }
        let refresh = if self.paused {
            " · auto-refresh paused".to_owned()
        } else {
            format!(" · auto-refresh every {} s", REFRESH_TICKS / 4)
        };
        spans.push(Span::styled(refresh, theme.dim));
        Line::from(spans)
    }

    /// The statements' columns, the sorted one marked. The share of the time and the query
    /// are the point, so they are the last to give way.
    fn columns(&self) -> Vec<Column> {
        [
            ("% total", Width::Fixed(7), 8),
            ("Calls", Width::Fixed(9), 5),
            ("Avg ms", Width::Fixed(8), 7),
            ("Hit", Width::Fixed(6), 3),
            ("Type", Width::Fixed(8), 4),
            ("Tables", Width::Fill { min: 12, weight: 1 }, 6),
            ("Query", Width::Fill { min: 20, weight: 3 }, 9),
        ]
        .into_iter()
        .map(|(title, width, priority)| {
            let title = if self.sort.column() == title {
                format!("{title} {}", self.arrow())
            } else {
                title.to_owned()
            };
            Column::new(title, width, priority)
        })
        .collect()
    }

    /// The statement in full: every field, the whole text wrapped, then the charts.
    fn render_detail(&self, stat: &QueryStat, area: Rect, buf: &mut Buffer, look: &Look) {
        let theme = look.theme;
        let title = format!(
            " Statement {} of {}{} ",
            stat.id,
            self.database_name().unwrap_or_default(),
            self.stats_load.badge(look.tick)
        );
        let mut inner = framed(title, theme.accent, theme, area, buf);
        // The window being typed (`W`) shows here too, above the statement.
        if self.window_input.is_some() && inner.height > 1 {
            let [prompt, rest] =
                Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(inner);
            Paragraph::new(self.info_line(look)).render(prompt, buf);
            inner = rest;
        }
        let chart_height = if inner.height >= 16 { CHARTS_HEIGHT } else { 0 };
        let [text_area, chart_area] =
            Layout::vertical([Constraint::Fill(1), Constraint::Length(chart_height)]).areas(inner);
        let lines = fit::wrap_all(&detail_lines(stat, theme), text_area.width.into());
        Paragraph::new(fit::clip(lines, text_area.height.into(), theme.dim)).render(text_area, buf);
        if chart_height > 0 {
            self.render_charts(chart_area, buf, theme);
        }
    }

    /// Calls and time per interval of the window, newest on the right; a column where no
    /// sampling round fell (before monitoring began, or while the database was unreadable)
    /// is drawn apart from one without activity.
    fn render_charts(&self, area: Rect, buf: &mut Buffer, theme: &Theme) {
        let [calls_label, calls_chart, time_label, time_chart] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Length(3),
            Constraint::Length(1),
            Constraint::Length(3),
        ])
        .areas(area);
        let series =
            (self.series.as_ref()).filter(|s| self.shows(&s.database_id, &s.query_id, s.since));
        let Some(series) = series else {
            let text = match &self.series_error {
                Some(e) => format!(
                    "The service did not send this statement’s series: {}",
                    visible(e)
                ),
                None => "Loading calls and time per interval…".to_owned(),
            };
            return message(text, theme, area, buf);
        };
        if series.points.is_empty() {
            let text = "No whole sampling interval in this window yet: \
                        the charts start once the service has sampled it twice.";
            return message(text.to_owned(), theme, area, buf);
        }
        let (bars, span) = series.bars(area.width.into());
        let calls: Vec<Option<u64>> = bars.iter().map(|b| b.calls).collect();
        // The sparkline takes whole numbers: microseconds keep sub-millisecond intervals.
        let micros: Vec<Option<u64>> = bars
            .iter()
            .map(|b| b.ms.map(|ms| (ms * 1000.0).round() as u64))
            .collect();
        let most_calls = calls.iter().flatten().max().copied().unwrap_or(0);
        let most_ms = bars.iter().filter_map(|b| b.ms).fold(0.0, f64::max);
        let per = span_label(span);
        let over = charted_label(self.window, series.covered());
        Paragraph::new(Span::styled(
            format!("Calls per {per} interval ({over}, most {most_calls}; · no samples)"),
            theme.dim,
        ))
        .render(calls_label, buf);
        Sparkline::default()
            .data(calls)
            .style(theme.accent)
            .absent_value_symbol("·")
            .absent_value_style(theme.dim)
            .render(calls_chart, buf);
        Paragraph::new(Span::styled(
            format!("Time per {per} interval, ms (most {most_ms:.2})"),
            theme.dim,
        ))
        .render(time_label, buf);
        Sparkline::default()
            .data(micros)
            .style(theme.accent)
            .absent_value_symbol("·")
            .absent_value_style(theme.dim)
            .render(time_chart, buf);
    }
}

/// Rows the two charts and their labels take under a statement's details.
const CHARTS_HEIGHT: u16 = 8;

/// One table row, a span per column of [`StatsTab::columns`]. Query text and table names are
/// whatever the monitored database's users wrote.
fn statement_cells(s: &QueryStat) -> Vec<Span<'static>> {
    vec![
        format!("{:5.1}%", s.pct_of_total),
        s.total_calls.to_string(),
        format!("{:.2}", s.avg_time),
        s.buffer_hit_ratio
            .map_or("—".into(), |r| format!("{r:.1}%")),
        visible(&s.statement_types.join(",")).into_owned(),
        visible(&s.table_names.join(",")).into_owned(),
        visible(&s.truncated_query).into_owned(),
    ]
    .into_iter()
    .map(Span::raw)
    .collect()
}

/// Every field of `stat`, a line each, then its whole text, a line per line it has.
fn detail_lines(stat: &QueryStat, theme: &Theme) -> Vec<Line<'static>> {
    let field = |name: &str, value: String| {
        Line::from(vec![
            Span::styled(format!("{name:<14}"), theme.dim),
            Span::raw(visible(&value).into_owned()),
        ])
    };
    let or_none = |list: &[String]| {
        if list.is_empty() {
            "—".to_owned()
        } else {
            list.join(", ")
        }
    };
    let mut lines = vec![
        field("% of total", format!("{:.2}%", stat.pct_of_total)),
        field("Calls", stat.total_calls.to_string()),
        field("Avg time", format!("{:.3} ms", stat.avg_time)),
        field("Avg I/O time", format!("{:.3} ms", stat.avg_io_time)),
        field(
            "Hit ratio",
            stat.buffer_hit_ratio
                .map_or("— (no buffers read)".into(), |r| format!("{r:.1}%")),
        ),
        field("Type", or_none(&stat.statement_types)),
        field("Tables", or_none(&stat.table_names)),
        field("Id", stat.id.clone()),
        field("URL", stat.query_url.clone()),
        Line::default(),
        Line::from(Span::styled("Statement", theme.header)),
    ];
    // Line breaks and tabs are the statement's layout; every other hidden character is shown
    // by `visible`.
    lines.extend(
        stat.normalized_query
            .lines()
            .map(|l| Line::from(visible(&l.replace('\t', "    ")).into_owned())),
    );
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_steps_through_the_presets_and_back() {
        let mut window = None;
        let mut labels = Vec::new();
        for _ in 0..4 {
            window = next_window(window);
            labels.push(window_label(window));
        }
        assert_eq!(
            labels,
            ["last 1h", "last 24h", "last 7d", "service default"]
        );
        let custom = parse_window("90m").ok();
        assert_eq!(window_label(custom), "last 90m");
        assert_eq!(next_window(custom), None);
        assert_eq!(window_label(parse_window("3d").ok()), "last 3d");
    }

    #[test]
    fn the_filter_reads_table_and_type_words() {
        let stat: QueryStat = serde_json::from_value(serde_json::json!({
            "id": "1", "queryUrl": "", "normalizedQuery": "UPDATE pgbench_accounts SET abalance = $1",
            "truncatedQuery": "", "statementTypes": ["UPDATE"], "tableNames": ["pgbench_accounts"],
            "totalCalls": 1, "avgTime": 1.0, "bufferHitRatio": null, "pctOfTotal": 1.0, "avgIoTime": 0.0
        }))
        .unwrap();
        for (needle, expected) in [
            ("abalance", true),
            ("table:accounts type:update", true),
            ("table:branches", false),
            ("type:select", false),
            ("set nothing", false),
        ] {
            assert_eq!(Filter::parse(needle).matches(&stat), expected, "{needle}");
        }
    }
}
