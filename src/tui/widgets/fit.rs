//! Making text fit a width: wrapped at spaces into as many lines as it needs, or cut with a
//! visible `…`. Never cut silently: a reader must be able to tell a short value from a cut one.
//!
//! Widths are terminal cells (a CJK character takes two), as the terminal draws them.

use ratatui::style::Style;
use ratatui::text::{Line, Span};
// The pure measures live with the other text rules, shared with the CLI's tables.
pub use crate::text::{ELLIPSIS, truncate, width};
use crate::text::{char_width, width_prefix as prefix};

/// A styled span cut to `max` cells with [`truncate`].
pub fn truncate_span(span: Span<'_>, max: usize) -> Span<'static> {
    Span::styled(truncate(&span.content, max), span.style)
}

/// `line` in at most `max` cells, its styles kept: whole, or its start and `…`.
pub fn truncate_line(line: &Line<'_>, max: usize) -> Line<'static> {
    let owned = |span: &Span<'_>, text: &str| Span::styled(text.to_owned(), span.style);
    let mut spans: Vec<Span<'static>> = Vec::new();
    if line.width() <= max {
        spans = line.spans.iter().map(|s| owned(s, &s.content)).collect();
    } else if max > 0 {
        let mut left = max - 1;
        for span in &line.spans {
            let start = prefix(&span.content, left);
            spans.push(owned(span, start));
            if start.len() < span.content.len() {
                spans.push(owned(span, &ELLIPSIS.to_string()));
                break;
            }
            left -= width(start);
        }
    }
    let mut out = Line::from(spans).style(line.style);
    out.alignment = line.alignment;
    out
}

/// Breaks `line` at spaces into lines of at most `max` cells, keeping each piece's style.
/// A word longer than a whole line is split where the line ends. Spaces that would start a
/// continuation line are dropped; the line's own style and alignment carry over.
pub fn wrap(line: &Line<'_>, max: usize) -> Vec<Line<'static>> {
    let max = max.max(1);
    let mut lines: Vec<Vec<Span<'static>>> = vec![Vec::new()];
    let mut used = 0;
    for span in &line.spans {
        for piece in pieces(&span.content) {
            let blank = piece.starts_with(' ');
            let w = width(piece);
            // Spaces the line starts with are its indentation; those at a break are dropped.
            let indentation = lines.len() == 1 && used == 0;
            if blank {
                if (used > 0 || indentation) && used + w <= max {
                    push(&mut lines, piece, span.style);
                    used += w;
                } else if used > 0 {
                    lines.push(Vec::new());
                    used = 0;
                }
                continue;
            }
            if used + w > max && used > 0 {
                trim_end(&mut lines);
                lines.push(Vec::new());
                used = 0;
            }
            if w <= max {
                push(&mut lines, piece, span.style);
                used += w;
                continue;
            }
            // Longer than a line: fill this line, then the next ones.
            let mut chunk = String::new();
            for c in piece.chars() {
                let cw = char_width(c);
                if used + cw > max {
                    push(&mut lines, &chunk, span.style);
                    chunk.clear();
                    lines.push(Vec::new());
                    used = 0;
                }
                chunk.push(c);
                used += cw;
            }
            push(&mut lines, &chunk, span.style);
        }
    }
    trim_end(&mut lines);
    lines
        .into_iter()
        .map(|spans| {
            let mut l = Line::from(spans).style(line.style);
            l.alignment = line.alignment;
            l
        })
        .collect()
}

/// Lays `spans` out in lines of at most `max` cells without breaking a span (a choice such
/// as `[x] monitor` stays whole), unless one alone is wider than a line: that one is wrapped
/// with [`wrap`]. Spans of spaces separate; they never start or end a line.
pub fn wrap_atoms(spans: Vec<Span<'_>>, max: usize) -> Vec<Line<'static>> {
    let max = max.max(1);
    let mut lines: Vec<Vec<Span<'static>>> = vec![Vec::new()];
    let mut used = 0;
    for span in spans {
        let w = span.width();
        if span.content.chars().all(|c| c == ' ') {
            if used > 0 && used + w <= max {
                push(&mut lines, &span.content, span.style);
                used += w;
            }
            continue;
        }
        if used + w > max && used > 0 {
            trim_end(&mut lines);
            lines.push(Vec::new());
            used = 0;
        }
        if w <= max {
            push(&mut lines, &span.content, span.style);
            used += w;
            continue;
        }
        for (i, piece) in wrap(&Line::from(span), max).into_iter().enumerate() {
            if i > 0 {
                lines.push(Vec::new());
            }
            used = piece.width();
            if let Some(last) = lines.last_mut() {
                last.extend(piece.spans);
            }
        }
    }
    trim_end(&mut lines);
    lines.into_iter().map(Line::from).collect()
}

/// Wraps every line of `lines`; see [`wrap`].
pub fn wrap_all(lines: &[Line<'_>], max: usize) -> Vec<Line<'static>> {
    lines.iter().flat_map(|l| wrap(l, max)).collect()
}

/// `lines` in at most `max` lines: all of them, or the first ones and a line in `style`
/// saying how many more there are.
pub fn clip(mut lines: Vec<Line<'static>>, max: usize, style: Style) -> Vec<Line<'static>> {
    if lines.len() <= max {
        return lines;
    }
    let kept = max.saturating_sub(1);
    let more = lines.len() - kept;
    lines.truncate(kept);
    if max > 0 {
        lines.push(Line::styled(format!("{ELLIPSIS} {more} more lines"), style));
    }
    lines
}

fn push(lines: &mut [Vec<Span<'static>>], text: &str, style: Style) {
    if text.is_empty() {
        return;
    }
    if let Some(last) = lines.last_mut() {
        last.push(Span::styled(text.to_owned(), style));
    }
}

/// Drops spaces a wrapped line would end with.
fn trim_end(lines: &mut [Vec<Span<'static>>]) {
    let Some(last) = lines.last_mut() else {
        return;
    };
    while let Some(span) = last.last_mut() {
        let trimmed = span.content.trim_end_matches(' ').len();
        if trimmed == 0 {
            last.pop();
        } else {
            span.content.to_mut().truncate(trimmed);
            break;
        }
    }
}

/// Runs of spaces and runs of everything else, in order.
fn pieces(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut blank = None;
    for (i, c) in text.char_indices() {
        let is_blank = c == ' ';
        if blank.is_some_and(|b| b != is_blank) {
            out.push(&text[start..i]);
            start = i;
        }
        blank = Some(is_blank);
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(lines: &[Line<'_>]) -> Vec<String> {
        lines.iter().map(std::string::ToString::to_string).collect()
    }

    #[test]
    fn truncation_is_marked() {
        assert_eq!(truncate("kd_qiByinX", 10), "kd_qiByinX");
        assert_eq!(truncate("kd_qiByinXY", 10), "kd_qiByin…");
        assert_eq!(truncate("ab", 1), "…");
        assert_eq!(truncate("ab", 0), "");
        // Wide characters count as two cells.
        assert_eq!(truncate("日本語です", 5), "日本…");
    }

    #[test]
    fn a_cut_line_keeps_its_styles_and_ends_in_the_mark() {
        let line = Line::from(vec![
            Span::raw("Name        "),
            Span::raw("deploy production"),
        ]);
        assert_eq!(
            truncate_line(&line, 40).to_string(),
            "Name        deploy production"
        );
        assert_eq!(truncate_line(&line, 18).to_string(), "Name        deplo…");
        assert_eq!(truncate_line(&line, 12).to_string(), "Name       …");
        assert_eq!(truncate_line(&line, 0).to_string(), "");
    }

    #[test]
    fn clipped_lines_say_how_many_are_hidden() {
        let lines: Vec<Line<'static>> = (0..5).map(|i| Line::from(i.to_string())).collect();
        assert_eq!(
            text(&clip(lines.clone(), 5, Style::default())),
            ["0", "1", "2", "3", "4"]
        );
        assert_eq!(
            text(&clip(lines.clone(), 3, Style::default())),
            ["0", "1", "… 3 more lines"]
        );
        assert!(clip(lines, 0, Style::default()).is_empty());
    }

    #[test]
    fn wrapping_breaks_at_spaces_and_splits_long_words() {
        let line = Line::from(vec![
            Span::raw("Key "),
            Span::raw("“aaaa bbbb”"),
            Span::raw(" was created."),
        ]);
        assert_eq!(
            text(&wrap(&line, 12)),
            ["Key “aaaa", "bbbb” was", "created."]
        );
        assert_eq!(
            text(&wrap(&Line::from("x".repeat(25)), 10)),
            ["x".repeat(10), "x".repeat(10), "x".repeat(5)]
        );
        assert_eq!(text(&wrap(&Line::default(), 10)), [""]);
        assert_eq!(text(&wrap(&Line::from("  kd_x yy"), 6)), ["  kd_x", "yy"]);
        let atoms = vec![
            Span::raw("[x] global"),
            Span::raw("  "),
            Span::raw("[ ] monitor"),
            Span::raw("  "),
        ];
        assert_eq!(text(&wrap_atoms(atoms, 16)), ["[x] global", "[ ] monitor"]);
        // Every piece fits.
        for l in wrap(&Line::from("a bb ccc dddd eeeee ffffff"), 6) {
            assert!(l.width() <= 6, "{l}");
        }
    }
}
