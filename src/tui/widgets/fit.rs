//! Making text fit a width: wrapped at spaces into as many lines as it needs, or cut with a
//! visible `…`. Never cut silently: a reader must be able to tell a short value from a cut one.
//!
//! Widths are terminal cells (a CJK character takes two), as the terminal draws them.

use ratatui::style::Style;
use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthChar;

/// The mark a cut value ends with.
pub const ELLIPSIS: char = '…';

fn char_width(c: char) -> usize {
    c.width().unwrap_or(0)
}

/// Cells `text` takes.
pub fn width(text: &str) -> usize {
    text.chars().map(char_width).sum()
}

/// `text` in at most `max` cells: whole, or its start and `…`.
pub fn truncate(text: &str, max: usize) -> String {
    if width(text) <= max {
        return text.to_owned();
    }
    if max == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = char_width(c);
        if used + w + 1 > max {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push(ELLIPSIS);
    out
}

/// A styled span cut to `max` cells with [`truncate`].
pub fn truncate_span(span: Span<'_>, max: usize) -> Span<'static> {
    Span::styled(truncate(&span.content, max), span.style)
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
        lines.iter().map(|l| l.to_string()).collect()
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
