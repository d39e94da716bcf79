//! What the forms share: labelled lines, choices, text values and the frame they are drawn
//! in. Each form has a field enum with next/prev and keeps every field on failure.

use ratatui::style::Style;
use ratatui::text::{Line, Span};

use crate::text::visible;
use crate::tui::theme::Theme;
use crate::tui::widgets::fit::{wrap, wrap_atoms};

// Every piece of a form goes through `visible` here: project slugs, role and variable names
// come from the service, errors quote what the service or the user sent.

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
        spans.push(Span::styled(format!("  ✗ {}", visible(e)), theme.error));
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
        spans.push(Span::styled(format!("{mark}{}", visible(option)), style));
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
        return vec![Span::styled(visible(placeholder).into_owned(), theme.dim)];
    }
    let caret = if focused { "▏" } else { "" };
    vec![Span::raw(format!("{}{caret}", visible(text)))]
}

/// Draws a form: its `lines`, then the form-level error, then the key hints (or
/// "`busy`…" while the request is out), in a popup titled `title`.
#[allow(clippy::too_many_arguments)]
pub fn render_form(
    mut lines: Vec<Line<'_>>,
    error: Option<&str>,
    busy: Option<&str>,
    hints: &str,
    title: String,
    theme: &Theme,
    area: ratatui::layout::Rect,
    buf: &mut ratatui::buffer::Buffer,
) {
    lines.push(Line::default());
    if let Some(e) = error {
        lines.push(Line::from(Span::styled(
            format!("✗ {}", visible(e)),
            theme.error,
        )));
    }
    let footer = busy.map_or_else(|| hints.to_owned(), |b| format!("{b}…"));
    lines.push(Line::from(Span::styled(footer, theme.dim)));
    crate::tui::widgets::popup(
        lines,
        Span::styled(visible(&title).into_owned(), theme.accent),
        theme.accent,
        area,
        buf,
    );
}

/// The `name=…;other=…` hint for a role's variables.
pub fn variables_hint(role: Option<&crate::api::ops::projects::ProjectsProjectsRoles>) -> String {
    role.map(|r| {
        r.variables
            .iter()
            .map(|v| format!("{}=…", v.name))
            .collect::<Vec<_>>()
            .join(";")
    })
    .filter(|h| !h.is_empty())
    .unwrap_or_else(|| "(this role has no variables)".into())
}

/// Cells before a field's value: the focus marker and the label.
pub const LABEL_WIDTH: usize = 14;

/// `▸ Label       value…` wrapped to `width`: continuation lines are indented under the
/// value, and an error follows the value on its own line(s).
pub fn labelled(
    label: &str,
    value: Vec<Span<'static>>,
    focused: bool,
    error: Option<&str>,
    width: usize,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let marker = if focused { "▸ " } else { "  " };
    let label_style = if focused { theme.accent } else { theme.dim };
    let room = width.saturating_sub(LABEL_WIDTH).max(8);
    let mut rows = wrap_atoms(value, room);
    if let Some(e) = error {
        rows.extend(wrap(
            &Line::from(Span::styled(format!("✗ {}", visible(e)), theme.error)),
            room,
        ));
    }
    let indent = " ".repeat(LABEL_WIDTH);
    rows.into_iter()
        .enumerate()
        .map(|(i, row)| {
            let head = if i == 0 {
                Span::styled(format!("{marker}{label:<12}"), label_style)
            } else {
                Span::raw(indent.clone())
            };
            let mut spans = vec![head];
            spans.extend(row.spans);
            Line::from(spans)
        })
        .collect()
}
