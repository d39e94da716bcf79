//! Human tables and JSON for scripts, written to a stdout that may close early.
//!
//! A table cell holds what other people typed (key names, variable values, query text), so
//! every cell is shown through [`visible`]; JSON stays exact, for scripts.
//!
//! Everything goes through [`write`], never `println!`: `keydeck keys list | head -1` closes
//! the pipe after one line, and `println!` panics on that. A closed stdout becomes
//! [`StdoutClosed`], which `main` ends on quietly with exit 0, as `git log | head` does: the
//! reader has what it wanted.

use std::borrow::Cow;
use std::io::{self, Write as _};

use serde::Serialize;

use crate::text::visible;

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

/// Prints rows as aligned columns under a header.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> anyhow::Result<()> {
    let rows: Vec<Vec<Cow<'_, str>>> = rows
        .iter()
        .map(|row| row.iter().map(|cell| visible(cell)).collect())
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let parts: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}", w = *w))
            .collect();
        format!("{}\n", parts.join("  ").trim_end())
    };
    let mut text = line(header.to_vec());
    for row in &rows {
        text.push_str(&line(row.iter().map(|cell| cell.as_ref()).collect()));
    }
    write(&text)
}

pub fn json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    line(serde_json::to_string_pretty(value)?)
}

/// `role`, or `role(var=v1,v2;var2=v3)`: a membership as the Keys table writes it, so a grant
/// reads the same wherever it is listed.
pub fn membership_label<'a>(
    role: &str,
    variables: impl IntoIterator<Item = (&'a str, &'a [String])>,
) -> String {
    let vars: Vec<String> = variables
        .into_iter()
        .map(|(name, values)| format!("{name}={}", values.join(",")))
        .collect();
    if vars.is_empty() {
        role.to_owned()
    } else {
        format!("{role}({})", vars.join(";"))
    }
}
