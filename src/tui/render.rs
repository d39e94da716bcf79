//! Drawing the whole screen from the app's state: tab bar, the active tab, the message, the
//! footer, the status bar, then the overlay and the help. Pure: it reads `App` and never
//! changes it.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Tabs, Widget, Wrap};

use super::app::{App, MIN_HEIGHT, MIN_WIDTH};
use super::keymap::{Command, Context};
use super::modal::Look;
use super::tabs::Tab;
use super::widgets::fit;
use super::widgets::status_bar::StatusBar;

/// Most lines a message takes above the footer; the message log has the rest.
const NOTE_LINES: usize = 3;

impl App {
    /// Draws the whole screen into `buf`.
    pub fn render(&self, area: Rect, buf: &mut Buffer) {
        if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
            let message = format!(
                "keydeck needs at least {MIN_WIDTH}×{MIN_HEIGHT}; this terminal is {}×{}. Enlarge it or press {}.",
                area.width,
                area.height,
                self.keymap.key_for(Context::Global, Command::Quit)
            );
            Paragraph::new(message)
                .wrap(Wrap { trim: true })
                .render(area, buf);
            return;
        }
        let more = format!(
            "{} shows it all",
            self.keymap.key_for(Context::Global, Command::Messages)
        );
        let note = self
            .note
            .as_ref()
            .map(|n| n.lines(area.width, NOTE_LINES, &more, &self.theme))
            .unwrap_or_default();
        let [top, main, note_area, hints, status] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Min(3),
            Constraint::Length(note.len() as u16),
            Constraint::Length(1),
            Constraint::Length(1),
        ])
        .areas(area);
        self.render_tab_bar(top, buf);
        let look = Look {
            theme: &self.theme,
            now: self.now,
            tick: self.tick,
            keymap: &self.keymap,
            hints: String::new(),
        };
        match self.tab {
            Tab::Keys => super::tabs::view::TabView::render(&self.keys, main, buf, &look),
            Tab::Identities => {
                super::tabs::view::TabView::render(&self.identities, main, buf, &look);
            }
            Tab::Stats => super::tabs::view::TabView::render(&self.stats, main, buf, &look),
            Tab::Audit => super::tabs::view::TabView::render(&self.audit, main, buf, &look),
        }
        Paragraph::new(note).render(note_area, buf);
        self.render_hints(hints, buf);
        StatusBar {
            profile: &self.session.profile,
            endpoint: &self.session.endpoint,
            identity: self.me.as_ref().map(|m| m.description.as_str()),
            credential_store: &self.session.credential_store,
            connection: &self.connection,
            now: self.now,
            theme: &self.theme,
        }
        .render(status, buf);
        if let Some(overlay) = &self.overlay {
            let modal = overlay.modal();
            let look = Look {
                hints: self.keymap.hint_line(modal.contexts(), modal.hints()),
                ..look
            };
            modal.render(main, buf, &look);
        }
        if let Some(help) = &self.help {
            help.render(&self.keymap, area, buf, &self.theme);
        }
    }

    fn render_tab_bar(&self, area: Rect, buf: &mut Buffer) {
        let titles = Tab::ALL
            .iter()
            .enumerate()
            .map(|(i, t)| format!("{} {}", i + 1, t.title()));
        let selected = Tab::ALL.iter().position(|t| *t == self.tab);
        let [brand, tabs] =
            Layout::horizontal([Constraint::Length(10), Constraint::Min(10)]).areas(area);
        Span::styled(" keydeck ", self.theme.accent).render(brand, buf);
        Tabs::new(titles)
            .select(selected)
            .highlight_style(self.theme.selected)
            .divider("│")
            .render(tabs, buf);
    }

    /// The footer's hints, as many whole ones as the width holds: a hint cut in the middle
    /// names a key without saying what it does. Those at the end give way first, except the
    /// help hint, which stays last because help lists them all.
    fn render_hints(&self, area: Rect, buf: &mut Buffer) {
        let help = self
            .keymap
            .hints(&self.contexts(), &[Command::Help])
            .into_iter()
            .next();
        let mut hints = self.hints();
        if let Some(help) = &help {
            hints.retain(|hint| hint != help);
        }
        let hint_width = |(key, what): &(String, &str)| fit::width(key) + 1 + fit::width(what);
        let mut room = usize::from(area.width).saturating_sub(1);
        if let Some(help) = &help {
            room = room.saturating_sub(hint_width(help));
        }
        let mut shown = Vec::new();
        for hint in hints {
            // Two spaces before each hint but the first.
            let gap = if shown.is_empty() { 0 } else { HINT_GAP };
            if gap + hint_width(&hint) + help.as_ref().map_or(0, |_| HINT_GAP) > room {
                break;
            }
            room -= gap + hint_width(&hint);
            shown.push(hint);
        }
        shown.extend(help);
        let mut spans = vec![Span::raw(" ")];
        for (i, (key, what)) in shown.into_iter().enumerate() {
            if i > 0 {
                spans.push(Span::raw(" ".repeat(HINT_GAP)));
            }
            spans.push(Span::styled(key, self.theme.accent));
            spans.push(Span::styled(format!(" {what}"), self.theme.dim));
        }
        Line::from(spans).render(area, buf);
    }
}

/// Spaces between two footer hints.
const HINT_GAP: usize = 2;
