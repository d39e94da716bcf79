//! The Audit tab: who did what, newest first, as far as the caller may read it. `/` filters on
//! the service by `actor:ID`, `action:NAME`, `target:ID` and `outcome:CODE` (a bare word is a
//! target, an UPPER_CASE one an outcome); Enter jumps to the key or identity a row is about.
//! The service pages forward only, so the tab holds the newest [`MAX_ROWS`] entries of a
//! filter and says so: narrowing finds the rest.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Span;

use super::columns::{Column, Width, table};
use super::paged::PREFETCH_MARGIN;
use super::search::Search;
use super::view::{Jump, Reply, Shared, TabView, move_cursor};
use super::{Cursor, Tab, framed, message};
use crate::api::ops::{AuditEntry, AuditTargetKind};
use crate::api::{ApiError, AuditQuery, Page};
use crate::text::visible;
use crate::tui::action::{About, Effect};
use crate::tui::keymap::{Command, Context};
use crate::tui::modal::Look;
use crate::tui::widgets::Load;
use crate::tui::widgets::messages::Note;
use crate::tui::widgets::numbers::thousands;
use crate::tui::widgets::time::relative;

/// Entries fetched per request.
pub const PAGE_SIZE: i64 = 200;
/// Entries the tab holds at most; past them it asks the user to narrow.
pub const MAX_ROWS: usize = 2_000;

#[derive(Debug, Default)]
pub struct AuditTab {
    rows: Vec<AuditEntry>,
    pub cursor: Cursor,
    pub search: Search,
    pub load: Load,
    total: i64,
    next: Option<String>,
    has_next: bool,
    /// The page under way goes after the rows held.
    appending: bool,
}

/// The filter as typed, read into the service's filter: `actor:ID action:NAME target:ID
/// outcome:CODE`; a bare word is a target, or an outcome when it is UPPER_CASE.
pub fn parse_filter(text: &str) -> AuditQuery {
    let mut query = AuditQuery::default();
    for word in text.split_whitespace() {
        let (name, value) = word.split_once(':').unwrap_or(("", word));
        let value = Some(value.to_owned());
        match name {
            "actor" => query.actor_id = value,
            "action" => query.action = value,
            "outcome" => query.outcome = value,
            "target" | "key" | "identity" => query.target = value,
            _ if word.chars().all(|c| c.is_ascii_uppercase() || c == '_') => {
                query.outcome = value;
            }
            _ => query.target = Some(word.to_owned()),
        }
    }
    query
}

impl AuditTab {
    /// What to ask the service for: the filter as sent, the page after `after`.
    fn query(&self, after: Option<String>) -> AuditQuery {
        AuditQuery {
            first: PAGE_SIZE,
            after,
            ..parse_filter(self.search.sent.as_deref().unwrap_or(""))
        }
    }

    pub fn reload(&mut self) -> Effect {
        self.load = Load::Loading;
        self.appending = false;
        Effect::LoadAudit {
            query: self.query(None),
        }
    }

    /// The next page, when the cursor is near the end of what is held and more may be held.
    fn more(&mut self) -> Vec<Effect> {
        let near_end = self.cursor.index + PREFETCH_MARGIN >= self.rows.len();
        if !self.has_next || self.load.is_loading() || !near_end || self.rows.len() >= MAX_ROWS {
            return Vec::new();
        }
        self.load = Load::Loading;
        self.appending = true;
        vec![Effect::LoadAudit {
            query: self.query(self.next.clone()),
        }]
    }

    /// A page arrived (or failed); the effect that asks for it again on failure.
    pub fn on_page(&mut self, result: Result<Page<(String, AuditEntry)>, ApiError>) -> Vec<Effect> {
        match result {
            Ok(page) => {
                let entries = page.items.into_iter().map(|(_, entry)| entry);
                if self.appending {
                    self.rows.extend(entries);
                } else {
                    self.rows = entries.collect();
                    self.cursor = Cursor::default();
                }
                self.rows.truncate(MAX_ROWS);
                self.total = page.total;
                self.has_next = page.has_next;
                self.next = page.end_cursor;
                self.load = Load::Loaded;
                self.cursor.clamp(self.rows.len());
                self.more()
            }
            Err(e) => {
                self.load = Load::Failed(e.to_string());
                Vec::new()
            }
        }
    }

    pub fn selected(&self) -> Option<&AuditEntry> {
        self.rows.get(self.cursor.index)
    }

    /// Where Enter goes from `entry`: its key, else the identity it is about, else who acted.
    fn jump(entry: &AuditEntry) -> Option<Jump> {
        if let Some(key) = &entry.key_id {
            return Some(Jump::Key(key.clone()));
        }
        if entry.target_kind == Some(AuditTargetKind::IDENTITY)
            && let Some(target) = &entry.target
        {
            return Some(Jump::Identity(target.clone()));
        }
        entry.actor_id.clone().map(Jump::Identity)
    }
}

impl TabView for AuditTab {
    fn context(&self) -> Context {
        Context::Audit
    }

    fn on_command(&mut self, command: Command, _shared: &Shared) -> Reply {
        if move_cursor(&mut self.cursor, command, self.rows.len()) {
            return Reply::effects(self.more());
        }
        match command {
            Command::Filter => self.start_filter(),
            Command::Back => self.clear_filter(),
            Command::Open => match self.selected().map(Self::jump) {
                Some(Some(jump)) => Reply {
                    jump: Some(jump),
                    ..Reply::default()
                },
                Some(None) => Reply::note(Note::info(
                    "this entry is about a project, not a key or an identity",
                    Some(Tab::Audit),
                )),
                None => Reply::note(Note::info("no entry to open", Some(Tab::Audit))),
            },
            _ => Reply::default(),
        }
    }

    fn offers(&self, command: Command) -> bool {
        command != Command::Back || self.search.active()
    }

    fn search(&self) -> Option<&Search> {
        Some(&self.search)
    }

    fn search_mut(&mut self) -> Option<&mut Search> {
        Some(&mut self.search)
    }

    fn reload_rows(&mut self) -> Effect {
        self.reload()
    }

    fn load(&self) -> &Load {
        &self.load
    }

    fn render(&self, area: Rect, buf: &mut Buffer, look: &Look) {
        let theme = look.theme;
        let total = usize::try_from(self.total).unwrap_or(0);
        let mut title = format!(
            " Audit: {} of {}, newest first ",
            thousands(self.rows.len()),
            thousands(total)
        );
        if self.rows.len() >= MAX_ROWS && total > MAX_ROWS {
            title.push_str("· narrow with / to see older ");
        }
        if self.search.active() || self.search.typing {
            let caret = if self.search.typing { "▏" } else { "" };
            title.push_str(&format!(
                "· filter: {}{caret} (actor: action: target: outcome:) ",
                self.search.input.as_str()
            ));
        }
        title.push_str(&self.load.badge(look.tick));
        let inner = framed(title, theme.border, theme, area, buf);
        if self.rows.is_empty() {
            let text = match &self.load {
                Load::Failed(e) => format!("Could not read the audit log: {e}"),
                Load::Loaded if self.search.active() => format!(
                    "No entry you may read matches “{}” ({} clears the filter).",
                    self.search.input.as_str().trim(),
                    look.keymap.key_for(Context::Audit, Command::Back)
                ),
                Load::Loaded => "No entry you may read yet.".into(),
                _ => "Loading the audit log…".into(),
            };
            return message(text, theme, inner, buf);
        }
        let (offset, shown) = self
            .cursor
            .window(&self.rows, inner.height.saturating_sub(1) as usize);
        let rows = shown.iter().map(|e| entry_cells(e, look));
        let fill = |min, weight| Width::Fill { min, weight };
        let columns = [
            Column::new("When", Width::Fixed(8), 8),
            Column::new("Actor", fill(10, 2), 6),
            Column::new("Action", fill(14, 2), 9),
            Column::new("About", fill(12, 3), 7),
            Column::new("Outcome", Width::Fixed(16), 8),
            Column::new("Detail", fill(10, 3), 2),
        ];
        table(
            &columns,
            rows,
            Some(self.cursor.index - offset),
            theme,
            inner,
            buf,
        );
    }
}

/// One row: when, who (by name at the time), what, about what, the outcome (with how many
/// refusals a row counts), the detail. Every text came from the service: shown, not obeyed.
fn entry_cells(entry: &AuditEntry, look: &Look) -> Vec<Span<'static>> {
    let text = |s: &str| Span::raw(visible(s).into_owned());
    let actor = entry
        .actor_name
        .clone()
        .or_else(|| entry.actor_id.clone())
        .unwrap_or_else(|| "—".into());
    let target = entry.target.as_deref().unwrap_or("—");
    let about = entry.target_name.as_ref().map_or_else(
        || target.to_owned(),
        |name| format!("{name} ({})", short(target)),
    );
    let outcome = if entry.count > 1 {
        format!("{} ×{}", entry.outcome, entry.count)
    } else {
        entry.outcome.clone()
    };
    let outcome_style = if entry.outcome == "OK" {
        look.theme.ok
    } else {
        look.theme.error
    };
    vec![
        Span::raw(relative(&entry.at, look.now)),
        text(&actor),
        text(&entry.action),
        text(&about),
        Span::styled(visible(&outcome).into_owned(), outcome_style),
        text(entry.detail.as_deref().unwrap_or("")),
    ]
}

/// The first eight characters of an id, as the tables show ids.
fn short(id: &str) -> String {
    id.chars().take(8).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filter_reads_named_parts_and_bare_words() {
        let q = parse_filter("actor:abc action:disableApiKey FORBIDDEN k-1");
        assert_eq!(q.actor_id.as_deref(), Some("abc"));
        assert_eq!(q.action.as_deref(), Some("disableApiKey"));
        assert_eq!(q.outcome.as_deref(), Some("FORBIDDEN"));
        assert_eq!(q.target.as_deref(), Some("k-1"));
        assert_eq!(parse_filter("").target, None);
    }
}

/// One details pane's history (a key's, or an identity's doings), loaded when the pane shows
/// it; an answer for another key or identity than the one shown now is dropped.
#[derive(Debug, Default)]
pub struct History {
    about: Option<About>,
    load: Load,
    entries: Vec<AuditEntry>,
    total: i64,
}

impl History {
    /// The pane moved to a row whose history is not asked for yet: it reads "loading…", and
    /// an answer still on its way for the row left is dropped.
    pub fn forget(&mut self) {
        *self = History::default();
    }

    /// Asks for `about`'s history unless it is what is shown (or on its way) already.
    pub fn want(&mut self, about: About) -> Option<Effect> {
        if self.about.as_ref() == Some(&about) && self.load != Load::Idle {
            return None;
        }
        *self = History {
            about: Some(about.clone()),
            load: Load::Loading,
            ..History::default()
        };
        Some(Effect::LoadHistory { about })
    }

    pub fn loaded(&mut self, about: &About, result: Result<Page<(String, AuditEntry)>, ApiError>) {
        if self.about.as_ref() != Some(about) {
            return;
        }
        match result {
            Ok(page) => {
                self.entries = page.items.into_iter().map(|(_, e)| e).collect();
                self.total = page.total;
                self.load = Load::Loaded;
            }
            // A caller who may not read the log is told so in the pane, not as an outage.
            Err(e) => self.load = Load::Failed(e.to_string()),
        }
    }

    /// The pane's lines: a heading with the count, then one line an entry, newest first.
    pub fn lines(&self, heading: &str, look: &Look) -> Vec<ratatui::text::Line<'static>> {
        use ratatui::text::Line;
        let theme = look.theme;
        let head = match &self.load {
            Load::Loaded => format!(
                "{heading} ({})",
                thousands(usize::try_from(self.total).unwrap_or(0))
            ),
            Load::Failed(e) => format!("{heading}: could not read the audit log: {e}"),
            Load::Idle | Load::Loading => format!("{heading}: loading…"),
        };
        let mut lines = vec![Line::from(Span::styled(
            visible(&head).into_owned(),
            theme.accent,
        ))];
        if self.load == Load::Loaded && self.entries.is_empty() {
            lines.push(Line::from(Span::styled("nothing recorded", theme.dim)));
        }
        for entry in &self.entries {
            let who = entry
                .actor_name
                .clone()
                .or_else(|| entry.actor_id.clone())
                .unwrap_or_else(|| "—".into());
            let mut spans = vec![
                Span::styled(format!("{:<9}", relative(&entry.at, look.now)), theme.dim),
                Span::raw(visible(&entry.action).into_owned()),
                Span::styled(" by ", theme.dim),
                Span::raw(visible(&who).into_owned()),
            ];
            if entry.outcome != "OK" {
                spans.push(Span::styled(
                    format!(" {}", visible(&entry.outcome)),
                    theme.error,
                ));
            }
            if let Some(detail) = entry.detail.as_deref().filter(|d| !d.is_empty()) {
                spans.push(Span::styled(format!(" · {}", visible(detail)), theme.dim));
            }
            lines.push(Line::from(spans));
        }
        lines
    }
}
