//! Human tables and JSON for scripts, written to a stdout that may close early.
//!
//! A table cell holds what other people typed (key names, variable values, query text), so
//! every cell is shown through [`visible`]; JSON stays exact, for scripts. On a terminal a
//! table fits its width (cut cells end in `…`); piped, every value is whole.
//!
//! Everything goes through [`write`], never `println!`: `keydeck keys list | head -1` closes
//! the pipe after one line, and `println!` panics on that. A closed stdout becomes
//! [`StdoutClosed`], which `main` ends on quietly with exit 0, as `git log | head` does: the
//! reader has what it wanted.

use std::borrow::Cow;
use std::io::{self, Write as _};

use serde::Serialize;

use crate::text::{self, visible};

/// The reader of stdout went away (a closed pipe); nothing more can be said to it.
#[derive(Debug, thiserror::Error)]
#[error("standard output was closed")]
pub struct StdoutClosed;

/// Writes `text` to stdout as it is (callers end lines themselves).
pub fn write(text: &str) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| {
            if e.kind() == io::ErrorKind::BrokenPipe {
                anyhow::Error::new(StdoutClosed)
            } else {
                anyhow::Error::new(e).context("writing to standard output")
            }
        })
}

/// Writes one line to stdout.
pub fn line(text: impl std::fmt::Display) -> anyhow::Result<()> {
    write(&format!("{text}\n"))
}

/// Says something to the user on stderr: progress and notes that are not the command's
/// output. A closed stderr is ignored, as there is nobody left to tell.
pub fn note(text: impl std::fmt::Display) {
    let _ = writeln!(io::stderr().lock(), "{text}");
}

/// How a listing command orders, bounds and prints what it lists.
#[derive(clap::Args, Debug, Default, Clone, Copy)]
pub struct ListShape {
    /// The other way round (of `--sort`).
    #[arg(long)]
    pub desc: bool,
    /// At most this many.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Print JSON (a stable shape for scripts) instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Cells between two columns.
const GAP: usize = 2;
/// The fewest cells a column is cut to, unless its header is wider or its values narrower.
const MIN_COLUMN: usize = 6;

/// Prints rows as aligned columns under a header. On a terminal the table fits its width
/// ([`terminal_width`]): the widest columns give way first and cut values end in `…`, as the
/// TUI's cells do; piped, every value is whole (what a script or `grep` reads).
pub fn table(header: &[&str], rows: &[Vec<String>]) -> anyhow::Result<()> {
    let rows: Vec<Vec<Cow<'_, str>>> = rows
        .iter()
        .map(|row| row.iter().map(|cell| visible(cell)).collect())
        .collect();
    write(&render_table(header, &rows, terminal_width()))
}

/// The width of the terminal stdout is, `None` when it is not one. `COLUMNS`, when set, wins
/// over what the terminal reports (as for `ls`), so a table can be made narrower or wider.
fn terminal_width() -> Option<usize> {
    use std::io::IsTerminal as _;
    if !io::stdout().is_terminal() {
        return None;
    }
    let columns = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok());
    columns
        .or_else(|| {
            crossterm::terminal::size()
                .ok()
                .map(|(w, _)| usize::from(w))
        })
        .filter(|&w| w > 0)
}

/// The table's text: columns as wide as their widest cell, or, in at most `width` cells, as
/// [`fit_widths`] gives way, each cell cut to its column with `…`.
fn render_table(header: &[&str], rows: &[Vec<Cow<'_, str>>], width: Option<usize>) -> String {
    let mut natural: Vec<usize> = header.iter().map(|h| text::width(h)).collect();
    for row in rows {
        for (cell, w) in row.iter().zip(natural.iter_mut()) {
            *w = (*w).max(text::width(cell));
        }
    }
    let widths = match width {
        Some(width) => {
            let floors: Vec<usize> = header
                .iter()
                .zip(&natural)
                .map(|(h, &n)| n.min(text::width(h).max(MIN_COLUMN)))
                .collect();
            let gaps = GAP * header.len().saturating_sub(1);
            fit_widths(&natural, &floors, width.saturating_sub(gaps))
        }
        None => natural,
    };
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut out = String::new();
        for (i, (cell, &w)) in cells.zip(&widths).enumerate() {
            if i > 0 {
                out.push_str(&" ".repeat(GAP));
            }
            let cell = text::truncate(cell, w);
            let pad = w.saturating_sub(text::width(&cell));
            out.push_str(&cell);
            out.push_str(&" ".repeat(pad));
        }
        format!("{}\n", out.trim_end())
    };
    let mut out = line(&mut header.iter().copied());
    for row in rows {
        out.push_str(&line(&mut row.iter().map(std::convert::AsRef::as_ref)));
    }
    out
}

/// Column widths in `room` cells for columns whose widest cells take `natural`: all of them
/// when they fit; otherwise the widest give way first (every column is held to one cap, the
/// largest that fits, so a short column stays whole) but none below its `floor`. When even
/// the floors do not fit, the floors: a line then runs past the edge rather than lose a
/// column.
fn fit_widths(natural: &[usize], floors: &[usize], room: usize) -> Vec<usize> {
    if natural.iter().sum::<usize>() <= room {
        return natural.to_vec();
    }
    let capped = |cap: usize| -> Vec<usize> {
        natural
            .iter()
            .zip(floors)
            .map(|(&n, &floor)| n.min(cap.max(floor)))
            .collect()
    };
    let (mut low, mut high) = (0, natural.iter().copied().max().unwrap_or(0));
    while low < high {
        let cap = (low + high).div_ceil(2);
        if capped(cap).iter().sum::<usize>() <= room {
            low = cap;
        } else {
            high = cap - 1;
        }
    }
    let mut widths = capped(low);
    // The cells the cap leaves unused go, one each, to the columns it cut, from the left.
    let mut spare = room.saturating_sub(widths.iter().sum());
    for (w, &n) in widths.iter_mut().zip(natural) {
        if spare == 0 {
            break;
        }
        if *w < n {
            *w += 1;
            spare -= 1;
        }
    }
    widths
}

pub fn json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    line(serde_json::to_string_pretty(value)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(header: &[&str], rows: &[&[&str]], width: Option<usize>) -> String {
        let rows: Vec<Vec<Cow<'_, str>>> = rows
            .iter()
            .map(|row| row.iter().map(|c| Cow::Borrowed(*c)).collect())
            .collect();
        render_table(header, &rows, width)
    }

    #[test]
    fn the_widest_columns_give_way_first_and_short_ones_stay_whole() {
        assert_eq!(fit_widths(&[4, 10, 200], &[4, 6, 6], 60), [4, 10, 46]);
        assert_eq!(fit_widths(&[4, 100, 200], &[4, 6, 6], 60), [4, 28, 28]);
        assert_eq!(fit_widths(&[4, 100, 200], &[4, 6, 6], 61), [4, 29, 28]);
        assert_eq!(fit_widths(&[4, 10, 20], &[4, 6, 6], 60), [4, 10, 20]);
        // Floors hold even past the edge.
        assert_eq!(fit_widths(&[40, 40], &[6, 11], 10), [6, 11]);
    }

    #[test]
    fn a_table_fits_its_width_with_a_mark_and_piped_keeps_every_value() {
        let long = "n".repeat(200);
        let rows: &[&[&str]] = &[&["abc", &long, "READ"], &["de", "short", "READ,WRITE"]];
        let fitted = rendered(&["ID", "NAME", "PERMISSIONS"], rows, Some(80));
        for line in fitted.lines() {
            assert!(text::width(line) <= 80, "{line}");
        }
        assert!(fitted.lines().nth(1).unwrap().contains('…'), "{fitted}");
        assert!(fitted.contains("READ,WRITE") && fitted.contains("PERMISSIONS"));
        let whole = rendered(&["ID", "NAME", "PERMISSIONS"], rows, None);
        assert!(whole.contains(&long) && !whole.contains('…'));
    }

    #[test]
    fn wide_characters_are_measured_in_cells() {
        let rows: &[&[&str]] = &[&["名前名前名前名前名前", "x"]];
        let fitted = rendered(&["NAME", "X"], rows, Some(12));
        for line in fitted.lines() {
            assert!(text::width(line) <= 12, "{line}");
        }
        assert!(fitted.contains("名前名前…"), "{fitted}");
    }
}
