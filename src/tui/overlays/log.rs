//! The message log (`L`) as an overlay: newest first, each message in full.

use crossterm::event::KeyEvent;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use crate::api::ApiError;
use crate::text::visible;
use crate::tui::keymap::{Command, Context};
use crate::tui::modal::{Look, Modal, Outcome};
use crate::tui::widgets::messages::MessageLog;
use crate::tui::widgets::{centered, popup};

/// The log as an overlay: newest first, each message in full.
#[derive(Debug, Clone)]
pub struct LogView {
    pub log: MessageLog,
    /// Lines scrolled past.
    pub scroll: u16,
}

impl Modal for LogView {
    fn contexts(&self) -> &'static [Context] {
        &[Context::Log, Context::List]
    }

    fn hints(&self) -> &'static [Command] {
        &[Command::Close]
    }

    fn on_key(&mut self, _event: &KeyEvent, command: Option<Command>) -> Outcome {
        match command {
            Some(Command::Close) => return Outcome::Close,
            Some(Command::Down | Command::PageDown) => self.scroll = self.scroll.saturating_add(1),
            Some(Command::Up | Command::PageUp) => self.scroll = self.scroll.saturating_sub(1),
            Some(Command::First) => self.scroll = 0,
            _ => {}
        }
        Outcome::Stay
    }

    fn fail(&mut self, _error: &ApiError) {}

    fn render(&self, area: Rect, buf: &mut Buffer, look: &Look) {
        let theme = look.theme;
        let area = centered(area, 100, area.height);
        let mut lines = Vec::new();
        if self.log.entries().next().is_none() {
            lines.push(Line::from(Span::styled("No messages yet.", theme.dim)));
        }
        for (at, note) in self.log.entries().rev() {
            let time = format!("{:02}:{:02}:{:02} ", at.hour(), at.minute(), at.second());
            lines.push(Line::from(vec![
                Span::styled(time, theme.dim),
                Span::styled(visible(&note.text).into_owned(), note.tone.style(theme)),
            ]));
        }
        lines.push(Line::default());
        lines.push(Line::from(Span::styled(look.hints.clone(), theme.dim)));
        let lines: Vec<Line> = lines.into_iter().skip(usize::from(self.scroll)).collect();
        popup(lines, " Messages ", theme.accent, area, buf);
    }
}
