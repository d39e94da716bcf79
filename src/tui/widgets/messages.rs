//! Status messages: the one shown under the tabs, and the log that keeps the full text of
//! recent ones (a long message may be shortened on screen; the log never is).

use std::collections::VecDeque;

use ratatui::style::Style;
use ratatui::text::{Line, Span};
use time::OffsetDateTime;

use crate::text::visible;
use crate::tui::tabs::Tab;
use crate::tui::theme::Theme;

/// How many messages the log keeps.
const LOG_SIZE: usize = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// Something done as asked ("disabled “ci deploy”").
    Done,
    /// Something the user should know that is not a failure.
    Info,
    Error,
}

impl Tone {
    pub fn style(self, theme: &Theme) -> Style {
        match self {
            Tone::Done => theme.ok,
            Tone::Info => theme.dim,
            Tone::Error => theme.error,
        }
    }
}

/// One message, and the tab it is about: it goes away when the user leaves that tab or acts
/// there again, because it no longer describes what is on screen. Messages about no tab
/// (the service, the session) stay until what they describe changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub text: String,
    pub tone: Tone,
    pub about: Option<Tab>,
}

impl Note {
    pub fn done(text: impl Into<String>, about: Tab) -> Note {
        Note {
            text: text.into(),
            tone: Tone::Done,
            about: Some(about),
        }
    }

    pub fn error(text: impl Into<String>, about: Option<Tab>) -> Note {
        Note {
            text: text.into(),
            tone: Tone::Error,
            about,
        }
    }

    pub fn info(text: impl Into<String>, about: Option<Tab>) -> Note {
        Note {
            text: text.into(),
            tone: Tone::Info,
            about,
        }
    }

    /// The message as lines of at most `width` columns, at most `max` of them; when it does
    /// not fit, the last line ends with `…` and `more` (how to read the rest).
    pub fn lines(&self, width: u16, max: usize, more: &str, theme: &Theme) -> Vec<Line<'static>> {
        let width = usize::from(width.max(8));
        let text = visible(&self.text).into_owned();
        let mut rows = wrap(&text, width);
        if rows.len() > max {
            rows.truncate(max);
            let suffix = format!("… {more}");
            let keep = width.saturating_sub(suffix.chars().count());
            if let Some(last) = rows.last_mut() {
                *last = last.chars().take(keep).collect::<String>() + &suffix;
            }
        }
        let style = self.tone.style(theme);
        rows.into_iter()
            .map(|r| Line::from(Span::styled(r, style)))
            .collect()
    }
}

/// Word wrap by characters (messages are prose; a word longer than the line is split).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut rows: Vec<String> = Vec::new();
    let mut current = String::new();
    for word in text.split(' ') {
        let mut word = word.to_owned();
        loop {
            let used = current.chars().count();
            let need = word.chars().count() + usize::from(used > 0);
            if used + need <= width {
                if used > 0 {
                    current.push(' ');
                }
                current.push_str(&word);
                break;
            }
            if used > 0 {
                rows.push(std::mem::take(&mut current));
                continue;
            }
            let head: String = word.chars().take(width).collect();
            word = word.chars().skip(width).collect();
            rows.push(head);
            if word.is_empty() {
                break;
            }
        }
    }
    if !current.is_empty() || rows.is_empty() {
        rows.push(current);
    }
    rows
}

/// The recent messages, newest last.
#[derive(Debug, Clone, Default)]
pub struct MessageLog {
    entries: VecDeque<(OffsetDateTime, Note)>,
}

impl MessageLog {
    pub fn push(&mut self, at: OffsetDateTime, note: Note) {
        if self.entries.len() == LOG_SIZE {
            self.entries.pop_front();
        }
        self.entries.push_back((at, note));
    }

    pub fn entries(&self) -> impl DoubleEndedIterator<Item = &(OffsetDateTime, Note)> {
        self.entries.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_messages_wrap_and_say_where_the_rest_is() {
        let note = Note::error("the service refused the token: ".repeat(4), None);
        let lines = note.lines(40, 2, "L shows all", &Theme::mono());
        assert_eq!(lines.len(), 2);
        let last = lines[1].to_string();
        assert!(last.ends_with("… L shows all"), "{last}");
        assert!(lines.iter().all(|l| l.width() <= 40));
        let short = Note::done("disabled “ci deploy”", Tab::Keys);
        assert_eq!(short.lines(40, 2, "x", &Theme::mono()).len(), 1);
    }
}
