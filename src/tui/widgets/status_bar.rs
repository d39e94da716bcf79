//! The bottom line: profile, endpoint, identity, credential store, connection, last error.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use crate::text::visible;
use crate::tui::theme::Theme;

/// Whether the service answers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Connection {
    #[default]
    Connecting,
    Online,
    /// Down since the last attempt; retrying after `retry_in_secs`.
    Down {
        attempt: u32,
        retry_in_secs: u64,
    },
}

pub struct StatusBar<'a> {
    pub profile: &'a str,
    pub endpoint: &'a str,
    pub identity: Option<&'a str>,
    pub credential_store: &'a str,
    pub connection: &'a Connection,
    pub last_error: Option<&'a str>,
    pub theme: &'a Theme,
}

impl Widget for StatusBar<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        let connection = match self.connection {
            Connection::Connecting => Span::styled("● connecting", t.warn),
            Connection::Online => Span::styled("● online", t.ok),
            Connection::Down {
                attempt,
                retry_in_secs,
            } => Span::styled(
                format!("● down (retry {attempt} in {retry_in_secs}s)"),
                t.error,
            ),
        };
        let sep = || Span::styled(" │ ", t.dim);
        // The identity's name and the last error come from the service; the rest from config.
        let shown = |s: &str| visible(s).into_owned();
        let mut spans = vec![
            Span::styled(format!(" {}", shown(self.profile)), t.accent),
            sep(),
            Span::raw(shown(self.endpoint)),
            sep(),
            Span::raw(shown(self.identity.unwrap_or("…"))),
            sep(),
            Span::styled(format!("token in {}", shown(self.credential_store)), t.dim),
            sep(),
            connection,
        ];
        if let Some(e) = self.last_error {
            spans.push(sep());
            spans.push(Span::styled(shown(e), t.error));
        }
        Paragraph::new(Line::from(spans)).render(area, buf);
    }
}
