//! Rotating a key (`o` on the Keys tab): one field, the grace period during which the old key
//! keeps working, checked as it is typed (`src/ttl.rs`, `0s` for not at all), with the moment
//! the old key will stop working. Sending it asks the service for the successor; its token is
//! then shown once, as a new key's is.

use crossterm::event::KeyEvent;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use time::OffsetDateTime;

use super::form::{labelled, render_form, text_value};
use crate::api::ApiError;
use crate::api::ops::Key;
use crate::text::visible;
use crate::tui::action::Effect;
use crate::tui::keymap::{Command, Context};
use crate::tui::modal::{Look, Modal, Outcome};
use crate::tui::widgets::centered;
use crate::tui::widgets::text_input::TextInput;
use crate::tui::widgets::time::{absolute, parse};

/// The grace period offered: the service's default.
pub const DEFAULT_GRACE: &str = "24h";

/// Width of the dialog, in cells.
const WIDTH: u16 = 72;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotateKeyForm {
    pub key_id: String,
    pub key_name: String,
    /// When the old key expires anyway: the grace period never reaches past it.
    pub expires_at: Option<String>,
    pub grace: TextInput,
    /// The service's refusal, or the grace period's problem once Enter was pressed.
    pub error: Option<String>,
    pub submitting: bool,
}

impl RotateKeyForm {
    pub fn new(key: &Key) -> Self {
        RotateKeyForm {
            key_id: key.id.clone(),
            key_name: key.description.clone(),
            expires_at: key.expires_at.clone(),
            grace: TextInput::new(DEFAULT_GRACE),
            error: None,
            submitting: false,
        }
    }

    /// The grace period typed, in seconds, or why it is not one.
    fn grace_seconds(&self) -> Result<i64, String> {
        crate::ttl::parse_grace(self.grace.as_str()).map_err(|e| e.to_string())
    }

    /// When the old key stops working if the grace period typed is sent at `now`: the end of
    /// the grace period, or its own expiry if that comes first.
    pub fn stops_at(&self, now: OffsetDateTime) -> Option<OffsetDateTime> {
        let end = now + time::Duration::seconds(self.grace_seconds().ok()?);
        Some(match self.expires_at.as_deref().and_then(parse) {
            Some(expiry) if expiry < end => expiry,
            _ => end,
        })
    }
}

impl Modal for RotateKeyForm {
    fn contexts(&self) -> &'static [Context] {
        &[Context::Form]
    }

    fn hints(&self) -> &'static [Command] {
        &[Command::Submit, Command::Cancel]
    }

    fn on_key(&mut self, event: &KeyEvent, command: Option<Command>) -> Outcome {
        if self.submitting {
            return Outcome::Stay;
        }
        match command {
            Some(Command::Cancel) => Outcome::Close,
            Some(Command::Submit) => match self.grace_seconds() {
                Ok(_) => {
                    self.submitting = true;
                    self.error = None;
                    Outcome::Send(Effect::RotateKey {
                        id: self.key_id.clone(),
                        name: self.key_name.clone(),
                        grace: self.grace.as_str().trim().to_owned(),
                    })
                }
                Err(e) => {
                    self.error = Some(e);
                    Outcome::Stay
                }
            },
            _ => {
                if self.grace.on_key(event) {
                    self.error = None;
                }
                Outcome::Stay
            }
        }
    }

    fn fail(&mut self, error: &ApiError) {
        self.submitting = false;
        self.error = Some(error.to_string());
    }

    fn render(&self, area: Rect, buf: &mut Buffer, look: &Look) {
        let theme = look.theme;
        let inner = usize::from(WIDTH.saturating_sub(4));
        let mut lines = vec![
            Line::from(vec![
                Span::raw("Replace key "),
                Span::styled(format!("“{}”", visible(&self.key_name)), theme.accent),
                Span::raw(" by a new one:"),
            ]),
            Line::from(Span::styled(
                "same name, grants and permissions, a fresh lifetime; its token is shown once.",
                theme.dim,
            )),
            Line::default(),
        ];
        let mut value = text_value(self.grace.as_str(), true, DEFAULT_GRACE, theme);
        let typed = self.grace_seconds();
        if let Err(e) = &typed {
            value.push(Span::styled(format!("  ✗ {}", visible(e)), theme.error));
        }
        lines.extend(labelled("Grace", value, true, None, inner, theme));
        let stops = match (typed, self.stops_at(look.now)) {
            (Ok(0), _) => Span::styled("stops at once", theme.warn),
            (Ok(_), Some(at)) => Span::raw(format!("stops {}", absolute(at))),
            _ => Span::styled("—", theme.dim),
        };
        lines.extend(labelled("Old key", vec![stops], false, None, inner, theme));
        let height = u16::try_from(lines.len() + 6).unwrap_or(u16::MAX);
        render_form(
            lines,
            self.error.as_deref(),
            self.submitting.then_some("Rotating"),
            &look.hints,
            " Rotate key ".to_owned(),
            theme,
            centered(area, WIDTH, height),
            buf,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(expires_at: Option<&str>) -> RotateKeyForm {
        RotateKeyForm {
            key_id: "k".into(),
            key_name: "ci deploy".into(),
            expires_at: expires_at.map(str::to_owned),
            grace: TextInput::new(DEFAULT_GRACE),
            error: None,
            submitting: false,
        }
    }

    #[test]
    fn the_old_key_stops_at_the_end_of_the_grace_or_its_own_expiry() {
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let f = form(None);
        assert_eq!(f.stops_at(now), Some(now + time::Duration::hours(24)));
        let soon = form(Some("2027-01-15T08:00:00Z"));
        assert_eq!(soon.stops_at(now), parse("2027-01-15T08:00:00Z"));
        let mut zero = form(None);
        zero.grace = TextInput::new("0s");
        assert_eq!(zero.stops_at(now), Some(now));
        let mut bad = form(None);
        bad.grace = TextInput::new("soon");
        assert_eq!(bad.stops_at(now), None);
    }
}
