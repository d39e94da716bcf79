//! Forms: each has a `Focus`/field enum with next/prev and keeps every field on failure.

pub mod create_key;
pub mod membership;
pub mod roles;

use ratatui::style::Style;
use ratatui::text::{Line, Span};

use crate::tui::theme::Theme;

/// One labelled form line: `▸ Label   value   error`.
pub fn field_line<'a>(
    label: &str,
    value: Vec<Span<'a>>,
    focused: bool,
    error: Option<&str>,
    theme: &Theme,
) -> Line<'a> {
    let marker = if focused { "▸ " } else { "  " };
    let label_style = if focused { theme.accent } else { theme.dim };
    let mut spans = vec![Span::styled(format!("{marker}{label:<12}"), label_style)];
    spans.extend(value);
    if let Some(e) = error {
        spans.push(Span::styled(format!("  ✗ {e}"), theme.error));
    }
    Line::from(spans)
}

/// `( a | [b] | c )` with the chosen one marked; `on` tells which are chosen.
pub fn choices<'a>(
    options: &[String],
    on: &[bool],
    cursor: Option<usize>,
    theme: &Theme,
) -> Vec<Span<'a>> {
    let mut spans = Vec::new();
    for (i, option) in options.iter().enumerate() {
        let chosen = on.get(i).copied().unwrap_or(false);
        let mark = if chosen { "[x] " } else { "[ ] " };
        let style = if cursor == Some(i) {
            theme.selected
        } else {
            Style::new()
        };
        spans.push(Span::styled(format!("{mark}{option}"), style));
        spans.push(Span::raw("  "));
    }
    spans
}

/// A text value with a caret when focused.
pub fn text_value<'a>(
    text: &str,
    focused: bool,
    placeholder: &str,
    theme: &Theme,
) -> Vec<Span<'a>> {
    if text.is_empty() && !focused {
        return vec![Span::styled(placeholder.to_owned(), theme.dim)];
    }
    let caret = if focused { "▏" } else { "" };
    vec![Span::raw(format!("{text}{caret}"))]
}
