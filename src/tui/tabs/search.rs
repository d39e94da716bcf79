//! A tab's filter. What is typed narrows the loaded rows at once and, once the user pauses,
//! is sent to the service as `search`, so rows beyond the loaded pages are found too.

use crossterm::event::KeyEvent;

use crate::tui::widgets::text_input::TextInput;

/// Ticks (250 ms each) without typing before the term is sent: one request per pause, not
/// one per key.
pub const DEBOUNCE_TICKS: u64 = 2;

#[derive(Debug, Default)]
pub struct Search {
    pub input: TextInput,
    /// Keys go into the input.
    pub typing: bool,
    /// The term the rows on screen were asked for; `None` is everything.
    pub sent: Option<String>,
    /// The tick of the last edit not yet sent.
    edited_at: Option<u64>,
}

impl Search {
    /// The typed term, trimmed; `None` when empty.
    pub fn term(&self) -> Option<String> {
        let term = self.input.as_str().trim();
        (!term.is_empty()).then(|| term.to_owned())
    }

    /// The typed term, lower-cased, for narrowing loaded rows.
    pub fn needle(&self) -> String {
        self.input.as_str().trim().to_lowercase()
    }

    /// The typed text as it is (trimmed), for case-sensitive matches such as token prefixes.
    pub fn typed(&self) -> &str {
        self.input.as_str().trim()
    }

    /// A key typed into the filter at `tick`; true when the text changed.
    pub fn on_key(&mut self, event: &KeyEvent, tick: u64) -> bool {
        let changed = self.input.on_key(event);
        if changed {
            self.edited_at = Some(tick);
        }
        changed
    }

    /// Whether the typed term should be sent at `tick`: it differs from what was sent and
    /// the user has paused.
    pub fn due(&self, tick: u64) -> bool {
        self.edited_at
            .is_some_and(|at| tick >= at + DEBOUNCE_TICKS && self.term() != self.sent)
    }

    /// Whether the typed term differs from what was sent.
    pub fn changed(&self) -> bool {
        self.term() != self.sent
    }

    /// Marks the typed term as sent and returns it.
    pub fn send(&mut self) -> Option<String> {
        self.edited_at = None;
        self.sent = self.term();
        self.sent.clone()
    }

    /// Empties the filter; true when rows were asked for with a term and must be reloaded.
    pub fn clear(&mut self) -> bool {
        self.input.value.clear();
        self.edited_at = None;
        self.sent.take().is_some()
    }

    /// Whether anything is typed or searched.
    pub fn active(&self) -> bool {
        self.typing || self.term().is_some() || self.sent.is_some()
    }

    /// What the title says about the filter: what is typed, and what the service was asked
    /// (`loading`: the answer is still on its way).
    pub fn describe(&self, what: &str, loading: bool) -> String {
        let caret = if self.typing { "▏" } else { "" };
        match (&self.sent, self.changed()) {
            (Some(sent), false) if loading => {
                format!("· searching the service for {what} “{sent}”{caret} ")
            }
            (Some(sent), false) => {
                format!("· service searched for {what} “{sent}”{caret} ")
            }
            (_, true) => format!(
                "· filter: {}{caret} (searching the service when you pause) ",
                self.input.as_str()
            ),
            (None, false) => format!("· filter: {caret} "),
        }
    }
}
