//! One file per tab: its state, its verbs and its rendering; the pieces they share here.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Span;
use ratatui::widgets::{Block, Borders, Paragraph, Widget, Wrap};

use super::theme::Theme;
use super::widgets::fit;
use crate::text::visible;

pub mod audit;
pub mod columns;
pub mod follow;
pub mod identities;
pub mod keys;
pub mod paged;
pub mod search;
pub mod stats;
pub mod view;

/// The tabs, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tab {
    #[default]
    Keys,
    Identities,
    Stats,
    Audit,
}

impl Tab {
    pub const ALL: [Tab; 4] = [Tab::Keys, Tab::Identities, Tab::Stats, Tab::Audit];

    pub fn title(self) -> &'static str {
        match self {
            Tab::Keys => "Keys",
            Tab::Identities => "Identities",
            Tab::Stats => "Query Stats",
            Tab::Audit => "Audit",
        }
    }

    fn index(self) -> usize {
        Tab::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }

    pub fn next(self) -> Tab {
        Tab::ALL[(self.index() + 1) % Tab::ALL.len()]
    }

    pub fn prev(self) -> Tab {
        Tab::ALL[(self.index() + Tab::ALL.len() - 1) % Tab::ALL.len()]
    }
}

/// A cursor over `len` rows that keeps itself in range.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cursor {
    pub index: usize,
}

impl Cursor {
    pub fn clamp(&mut self, len: usize) {
        self.index = self.index.min(len.saturating_sub(1));
    }

    pub fn down(&mut self, len: usize, by: usize) {
        self.index = (self.index + by).min(len.saturating_sub(1));
    }

    pub fn up(&mut self, by: usize) {
        self.index = self.index.saturating_sub(by);
    }

    /// The first row to draw so that the cursor is visible in `height` rows.
    pub fn offset(&self, height: usize) -> usize {
        (self.index + 1).saturating_sub(height.max(1))
    }
}

impl Cursor {
    /// The rows to draw in `height` lines so that the cursor is visible, with their offset.
    pub fn window<'a, T>(&self, items: &'a [T], height: usize) -> (usize, &'a [T]) {
        let offset = self.offset(height).min(items.len());
        (offset, &items[offset..(offset + height).min(items.len())])
    }
}

/// Draws a bordered frame titled `title` and returns the area inside it. The title may name
/// a database or hold the user's filter, so it is shown through [`visible`], and cut with
/// `…` where the corners would cut it.
pub fn framed(title: String, border: Style, theme: &Theme, area: Rect, buf: &mut Buffer) -> Rect {
    let title = fit::truncate(&visible(&title), area.width.saturating_sub(2).into());
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(border)
        .title(Span::styled(title, theme.accent));
    let inner = block.inner(area);
    block.render(area, buf);
    inner
}

/// A dim line of text in place of a table: empty states, loading, failures (whose text may
/// come from the service).
pub fn message(text: String, theme: &Theme, area: Rect, buf: &mut Buffer) {
    Paragraph::new(visible(&text).into_owned())
        .style(theme.dim)
        .wrap(Wrap { trim: true })
        .render(area, buf);
}
