//! Choosing one project among a thousand: a search over slug and name and a cursor over what
//! matches, drawn as a field of the form that opened it (only the rows around the cursor).
//! The new-key form picks its scope with it (with "global" first), the membership editor
//! the project to change.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::form::{LABEL_WIDTH, labelled};
use crate::api::Project;
use crate::text::visible;
use crate::tui::keymap::{Command, Context};
use crate::tui::tabs::Cursor;
use crate::tui::theme::Theme;
use crate::tui::widgets::fit::truncate;
use crate::tui::widgets::text_input::TextInput;

/// Rows of the picker shown at once.
const PICKER_ROWS: usize = 8;

/// Entries are numbered as the form numbers its choice: with `global`, 0 is global and `i`
/// is `projects[i - 1]`; without, `i` is `projects[i]`.
#[derive(Debug, Clone, Default)]
pub struct ProjectPicker {
    pub query: TextInput,
    /// Entries that match, in order.
    pub matches: Vec<usize>,
    pub cursor: Cursor,
    global: bool,
}

/// What a key did in the picker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pick {
    /// Still choosing.
    Choosing,
    /// The entry under the cursor was picked.
    Picked(usize),
    /// Closed without a choice.
    Closed,
}

/// The keymap contexts of a form while its picker is open, and the hints that go with them.
pub const CONTEXTS: &[Context] = &[Context::Picker, Context::Form];
pub const HINTS: &[Command] = &[Command::NextField, Command::Pick, Command::Cancel];

impl ProjectPicker {
    /// Opens on every entry, the cursor on `at`.
    pub fn open(projects: &[Project], global: bool, at: usize) -> Self {
        let all = projects.len() + usize::from(global);
        ProjectPicker {
            query: TextInput::default(),
            matches: (0..all).collect(),
            cursor: Cursor { index: at },
            global,
        }
    }

    /// The project entry `i` stands for; `None` for global.
    pub fn project<'a>(&self, projects: &'a [Project], i: usize) -> Option<&'a Project> {
        let at = if self.global { i.checked_sub(1)? } else { i };
        projects.get(at)
    }

    /// Text searches (slug and name, any case), the field keys move, enter picks and esc
    /// goes back (the form's contexts put [`Context::Picker`] first while it is open).
    pub fn on_key(
        &mut self,
        event: &KeyEvent,
        command: Option<Command>,
        projects: &[Project],
    ) -> Pick {
        let printable = matches!(event.code, KeyCode::Char(_) | KeyCode::Backspace);
        if printable && self.query.on_key(event) {
            self.search(projects);
            return Pick::Choosing;
        }
        let len = self.matches.len();
        match command {
            Some(Command::NextField | Command::ChooseRight) => self.cursor.down(len, 1),
            Some(Command::PrevField | Command::ChooseLeft) => self.cursor.up(1),
            Some(Command::Pick | Command::Submit) => {
                return self
                    .matches
                    .get(self.cursor.index)
                    .map_or(Pick::Closed, |&i| Pick::Picked(i));
            }
            Some(Command::Cancel) => return Pick::Closed,
            _ => {}
        }
        Pick::Choosing
    }

    fn search(&mut self, projects: &[Project]) {
        let needle = self.query.as_str().trim().to_lowercase();
        let offset = usize::from(self.global);
        let global = (self.global && "global".contains(&needle)).then_some(0);
        self.matches = global
            .into_iter()
            .chain(
                projects
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| {
                        p.slug.to_lowercase().contains(&needle)
                            || p.name.to_lowercase().contains(&needle)
                    })
                    .map(|(i, _)| i + offset),
            )
            .collect();
        self.cursor.index = 0;
    }

    /// The field while picking: the search line with a count, then the matches around the
    /// cursor (`chosen` ticked), each named by `name`, cut to `width`; `total` projects
    /// exist.
    pub fn lines(
        &self,
        label: &str,
        chosen: Option<usize>,
        name: impl Fn(usize) -> String,
        total: usize,
        (error, width): (Option<&str>, usize),
        theme: &Theme,
    ) -> Vec<Line<'static>> {
        let matching = self.matches.iter().filter(|&&m| !self.global || m > 0);
        let value = vec![
            Span::raw(format!("search: {}▏", visible(self.query.as_str()))),
            Span::raw("  "),
            Span::styled(
                format!("{} of {total} projects", matching.count()),
                theme.dim,
            ),
        ];
        let mut lines = labelled(label, value, true, error, width, theme);
        let indent = " ".repeat(LABEL_WIDTH);
        let room = width.saturating_sub(LABEL_WIDTH);
        // The cursor row is marked as well as highlighted, so it shows without colour too.
        let row_indent = " ".repeat(LABEL_WIDTH - 2);
        if self.matches.is_empty() {
            lines.push(Line::from(vec![
                Span::raw(indent),
                Span::styled("no project matches", theme.dim),
            ]));
        }
        let (offset, shown) = self.cursor.window(&self.matches, PICKER_ROWS);
        for (i, &entry) in shown.iter().enumerate() {
            let mark = if Some(entry) == chosen {
                "[x] "
            } else {
                "[ ] "
            };
            let text = truncate(&format!("{mark}{}", visible(&name(entry))), room);
            let (marker, style) = if offset + i == self.cursor.index {
                ("▸ ", theme.selected)
            } else {
                ("  ", Style::new())
            };
            lines.push(Line::from(vec![
                Span::raw(format!("{row_indent}{marker}")),
                Span::styled(text, style),
            ]));
        }
        lines
    }
}
