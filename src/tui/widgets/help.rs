//! The `?` overlay, generated from the live keymap for the current context.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::{centered, popup};
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
        if let Some(note) = context.note() {
            lines.push(Line::from(Span::styled(format!("  {note}"), theme.dim)));
        }
        lines.push(Line::default());
    }
    lines.push(Line::from(Span::styled(
        "Any key closes this help.",
        theme.dim,
    )));
    let height = (lines.len() as u16 + 2).min(area.height);
    let area = centered(area, 64, height);
    popup(lines, " Help ", theme.accent, area, buf);
}
