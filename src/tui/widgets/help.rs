//! The `?` overlay, generated from the live keymap for the current context.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget, Wrap};

use super::centered;
use crate::tui::keymap::{Context, Keymap};
use crate::tui::theme::Theme;

pub fn render(keymap: &Keymap, contexts: &[Context], area: Rect, buf: &mut Buffer, theme: &Theme) {
    let mut lines = Vec::new();
    for (context, bindings) in keymap.help(contexts) {
        lines.push(Line::from(Span::styled(context.title(), theme.header)));
        for (keys, what) in bindings {
            lines.push(Line::from(vec![
                Span::styled(format!("  {keys:<18}"), theme.accent),
                Span::raw(what),
            ]));
        }
        lines.push(Line::default());
    }
    lines.push(Line::from(Span::styled(
        "Any key closes this help.",
        theme.dim,
    )));
    let height = (lines.len() as u16 + 2).min(area.height);
    let area = centered(area, 64, height);
    Clear.render(area, buf);
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(theme.accent)
                .title(" Help "),
        )
        .render(area, buf);
}
