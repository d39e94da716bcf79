//! The bottom line: profile, endpoint, identity, credential store, connection. Messages have
//! their own lines above the footer.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};
use time::OffsetDateTime;

use crate::text::visible;
use crate::tui::theme::Theme;

/// Whether the service answers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Connection {
    #[default]
    Connecting,
    Online,
    /// Down since the last attempt; retrying at `retry_at` (the bar counts down to it).
    Down {
        attempt: u32,
        retry_at: OffsetDateTime,
    },
    /// The service refused the session's token: nothing works until the user logs in again.
    SignedOut,
}

pub struct StatusBar<'a> {
    pub profile: &'a str,
    pub endpoint: &'a str,
    pub identity: Option<&'a str>,
    pub credential_store: &'a str,
    pub connection: &'a Connection,
    pub now: OffsetDateTime,
    pub theme: &'a Theme,
}

impl Widget for StatusBar<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        let connection = match self.connection {
            Connection::Connecting => Span::styled("● connecting", t.warn),
            Connection::Online => Span::styled("● online", t.ok),
            Connection::Down { attempt, retry_at } => {
                // Rounded up: "in 1s" until the retry, never "in 0s" before it.
                let left = (*retry_at - self.now).as_seconds_f64().ceil();
                let text = if left > 0.0 {
                    format!("● down (retry {attempt} in {left}s)")
                } else {
                    format!("● down (retry {attempt} now)")
                };
                Span::styled(text, t.error)
            }
            Connection::SignedOut => Span::styled("● signed out", t.error),
        };
        let sep = || Span::styled(" │ ", t.dim);
        // The identity's name comes from the service; the rest from config.
        let shown = |s: &str| visible(s).into_owned();
        // The connection comes first: on a narrow terminal the end of the line is cut, and
        // whether the service answers matters more than where it lives.
        let spans = vec![
            Span::raw(" "),
            connection,
            sep(),
            Span::styled(shown(self.profile), t.accent),
            sep(),
            Span::raw(shown(self.endpoint)),
            sep(),
            Span::raw(shown(self.identity.unwrap_or("…"))),
            sep(),
            Span::styled(format!("token in {}", shown(self.credential_store)), t.dim),
        ];
        Paragraph::new(Line::from(spans)).render(area, buf);
    }
}
