//! The `?` overlay, generated from the live keymap for the contexts it was opened in. It
//! scrolls when it does not fit (80×24 holds a dozen lines) and can be searched; only its own
//! keys close it, so a stray key does not lose the place.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::text_input::TextInput;
use super::{centered, popup};
use crate::text::visible;
use crate::tui::keymap::{Context, Keymap};
use crate::tui::theme::Theme;

/// Rows moved by page up/down.
const PAGE: usize = 10;
/// Cells the help takes across, borders included.
const WIDTH: u16 = 64;

#[derive(Debug, Clone, Default)]
pub struct Help {
    contexts: Vec<Context>,
    /// The first line shown.
    scroll: usize,
    /// Lines kept: those whose keys or description contain this (any case).
    search: TextInput,
    typing: bool,
}

impl Help {
    pub fn new(contexts: Vec<Context>) -> Help {
        Help {
            contexts,
            ..Help::default()
        }
    }

    /// Handles a key; `false` when it closes the help.
    pub fn on_key(&mut self, event: &KeyEvent) -> bool {
        if self.typing {
            match event.code {
                KeyCode::Enter => self.typing = false,
                KeyCode::Esc => {
                    self.typing = false;
                    self.search = TextInput::default();
                }
                _ => {
                    self.search.on_key(event);
                }
            }
            self.scroll = 0;
            return true;
        }
        match event.code {
            KeyCode::Esc if !self.search.as_str().is_empty() => {
                self.search = TextInput::default();
            }
            KeyCode::Esc | KeyCode::Char('q' | '?') => return false,
            KeyCode::Char('/') => self.typing = true,
            KeyCode::Char('j') | KeyCode::Down => self.scroll += 1,
            KeyCode::Char('k') | KeyCode::Up => self.scroll = self.scroll.saturating_sub(1),
            KeyCode::PageDown => self.scroll += PAGE,
            KeyCode::PageUp => self.scroll = self.scroll.saturating_sub(PAGE),
            KeyCode::Char('g') | KeyCode::Home => self.scroll = 0,
            KeyCode::Char('G') | KeyCode::End => self.scroll = usize::MAX,
            _ => {}
        }
        true
    }

    /// The help's lines, narrowed by the search.
    fn lines(&self, keymap: &Keymap, theme: &Theme) -> Vec<Line<'static>> {
        let needle = self.search.as_str().trim().to_lowercase();
        let mut lines = Vec::new();
        for (context, bindings) in keymap.help(&self.contexts) {
            let kept: Vec<_> = bindings
                .into_iter()
                .filter(|(keys, what)| {
                    needle.is_empty()
                        || keys.to_lowercase().contains(&needle)
                        || what.to_lowercase().contains(&needle)
                })
                .collect();
            if kept.is_empty() {
                continue;
            }
            lines.push(Line::from(Span::styled(context.title(), theme.header)));
            for (keys, what) in kept {
                lines.push(Line::from(vec![
                    Span::styled(format!("  {keys:<18}"), theme.accent),
                    Span::raw(what),
                ]));
            }
            if let Some(note) = context.note().filter(|_| needle.is_empty()) {
                lines.push(Line::from(Span::styled(format!("  {note}"), theme.dim)));
            }
            lines.push(Line::default());
        }
        if lines.is_empty() {
            lines.push(Line::from(Span::styled(
                format!("No key’s description contains “{}”.", visible(&needle)),
                theme.dim,
            )));
        }
        lines
    }

    pub fn render(&self, keymap: &Keymap, area: Rect, buf: &mut Buffer, theme: &Theme) {
        let lines = self.lines(keymap, theme);
        // Borders, the search line and the footer take four rows.
        let room = usize::from(area.height.saturating_sub(4)).max(1);
        let last = lines.len().saturating_sub(room);
        let scroll = self.scroll.min(last);
        let below = lines.len().saturating_sub(scroll + room);
        // One row a line: a long description is cut, so the count of rows is the count of
        // lines and the footer always shows.
        let inner = usize::from(WIDTH - 2);
        let mut shown: Vec<Line<'static>> = lines
            .into_iter()
            .skip(scroll)
            .take(room)
            .map(|l| super::fit::truncate_line(&l, inner))
            .collect();
        let caret = if self.typing { "▏" } else { "" };
        let search = format!("/ {}{caret}", visible(self.search.as_str()));
        shown.insert(
            0,
            Line::from(Span::styled(
                if self.typing || !self.search.as_str().is_empty() {
                    search
                } else {
                    String::new()
                },
                theme.accent,
            )),
        );
        let position = match (scroll, below) {
            (0, 0) => String::new(),
            (_, 0) => " · end".to_owned(),
            (_, n) => format!(" · {n} more below"),
        };
        shown.push(Line::from(Span::styled(
            format!("j/k scroll · / search · esc closes{position}"),
            theme.dim,
        )));
        let height = u16::try_from(shown.len() + 2).unwrap_or(u16::MAX);
        let area = centered(area, WIDTH, height.min(area.height));
        popup(shown, " Help ", theme.accent, area, buf);
    }
}
