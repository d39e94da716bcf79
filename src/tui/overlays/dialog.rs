//! Modal dialogs: a confirmation that names what it acts on, and the one-time token. Each is
//! as large as its content, wrapped to the screen: a long key name takes more lines, never
//! pushes the last ones out of the box.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use crossterm::event::KeyEvent;

use crate::api::ApiError;
use crate::platform::CopyPath;
use crate::text::visible;
use crate::tui::action::Effect;
use crate::tui::keymap::{Command, Context};
use crate::tui::modal::{Look, Modal, Outcome};
use crate::tui::widgets::fit::{width, wrap_all};
use crate::tui::widgets::{centered, popup};

/// "Disable key `ci deploy`?"
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirm {
    pub key_id: String,
    pub key_name: String,
    pub enable: bool,
    /// Enabled personal keys among those loaded that this key created: disabling it disables
    /// them too (the service also finds those not loaded).
    pub created_personal: usize,
    /// The key the session is logged in with: disabling it ends the session.
    pub own_key: bool,
    /// The marked keys, when the confirmation is for them all (`key_id` is then empty).
    pub marked: Vec<String>,
}

impl Modal for Confirm {
    fn contexts(&self) -> &'static [Context] {
        &[Context::Confirm]
    }

    fn hints(&self) -> &'static [Command] {
        &[Command::Confirm, Command::Close]
    }

    fn on_key(&mut self, _event: &KeyEvent, command: Option<Command>) -> Outcome {
        match command {
            Some(Command::Confirm) if !self.marked.is_empty() => {
                Outcome::CloseAndSend(Effect::SetKeysEnabled {
                    ids: self.marked.clone(),
                    enabled: self.enable,
                })
            }
            Some(Command::Confirm) => Outcome::CloseAndSend(Effect::SetKeyEnabled {
                id: self.key_id.clone(),
                name: self.key_name.clone(),
                enabled: self.enable,
            }),
            Some(Command::Close) => Outcome::Close,
            _ => Outcome::Stay,
        }
    }

    fn fail(&mut self, _error: &ApiError) {}

    fn render(&self, area: Rect, buf: &mut Buffer, look: &Look) {
        let theme = look.theme;
        let own = !self.enable && self.own_key;
        let verb = if self.enable { "Enable" } else { "Disable" };
        let (effect, cascade) = if self.enable {
            (
                "The service decides: a key an admin disabled stays so for its owner, and a \
                 personal key works only while the keys above it do.",
                "Keys disabled with it stay disabled.".to_owned(),
            )
        } else {
            let cascade = match self.created_personal {
                0 => "Personal keys it created, if any, are disabled with it.".to_owned(),
                1 => "The personal key it created is disabled with it.".to_owned(),
                n => format!("The {n} personal keys it created are disabled with it."),
            };
            (
                "It stops authenticating at once; its record is kept.",
                cascade,
            )
        };
        let what = if self.marked.is_empty() {
            Line::from(vec![
                Span::raw(format!("{verb} key ")),
                Span::styled(format!("“{}”", visible(&self.key_name)), theme.accent),
                Span::raw("?"),
            ])
        } else {
            let n = self.marked.len();
            Line::from(vec![
                Span::raw(format!("{verb} ")),
                Span::styled(
                    format!("{n} marked key{}", if n == 1 { "" } else { "s" }),
                    theme.accent,
                ),
                Span::raw("? Each is audited on its own."),
            ])
        };
        let mut lines = vec![
            what,
            Line::from(Span::styled(effect, theme.dim)),
            Line::from(Span::styled(cascade, theme.dim)),
        ];
        if own {
            lines.push(Line::from(Span::styled(
                "This is your own key: the session ends with it, and you will have to log in again with another token.",
                theme.warn,
            )));
        }
        lines.push(Line::default());
        lines.push(Line::from(Span::styled(look.hints.clone(), theme.dim)));
        fitted(lines, &format!(" {verb} key "), theme.warn, 64, area, buf);
    }
}

/// The new token, shown once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenDialog {
    pub token: String,
    pub key_name: String,
    pub local: bool,
    /// The key replaced one (a rotation) rather than being new.
    pub rotated: bool,
    /// How the last copy went: the path used, or why it failed.
    pub copied: Option<Result<CopyPath, String>>,
}

impl Modal for TokenDialog {
    fn contexts(&self) -> &'static [Context] {
        &[Context::Token]
    }

    fn hints(&self) -> &'static [Command] {
        &[Command::CopyAgain, Command::Close]
    }

    fn on_key(&mut self, _event: &KeyEvent, command: Option<Command>) -> Outcome {
        match command {
            Some(Command::CopyAgain) => Outcome::Send(Effect::Copy(self.token.clone())),
            Some(Command::Close) => Outcome::Close,
            _ => Outcome::Stay,
        }
    }

    fn fail(&mut self, _error: &ApiError) {}

    fn render(&self, area: Rect, buf: &mut Buffer, look: &Look) {
        let theme = look.theme;
        let origin = if self.local {
            "Generated on this machine; only its hash was sent to the service."
        } else {
            "Generated by the service, which keeps only its hash."
        };
        let copy_line = match &self.copied {
            None => Line::from(Span::styled("Copying…", theme.dim)),
            Some(Ok(path)) => Line::from(Span::styled(format!("✓ {}", path.describe()), theme.ok)),
            Some(Err(e)) => Line::from(Span::styled(
                format!("✗ not copied: {}", visible(e)),
                theme.error,
            )),
        };
        let lines = vec![
            Line::from(vec![
                Span::raw("Key "),
                Span::styled(format!("“{}”", visible(&self.key_name)), theme.accent),
                Span::raw(if self.rotated {
                    " was replaced by a new key. Its token:"
                } else {
                    " was created. Its token:"
                }),
            ]),
            Line::default(),
            Line::from(Span::styled(
                format!("  {}", visible(&self.token)),
                theme.accent,
            )),
            Line::default(),
            Line::from(Span::styled(
                "This token will not be shown again. Store it now.",
                theme.warn,
            )),
            Line::from(Span::styled(origin, theme.dim)),
            copy_line,
            Line::from(Span::styled(look.hints.clone(), theme.dim)),
        ];
        // Wide enough for the token on one line, so that it can be selected with the mouse.
        let max_width = (width(&self.token) + 6).max(72);
        fitted(lines, " New token ", theme.ok, max_width, area, buf);
    }
}

/// Draws `lines` in a box centred in `area`: as wide as the widest line (at most
/// `max_width`, at most `area`), and as tall as the lines once wrapped to that width.
pub fn fitted(
    lines: Vec<Line<'_>>,
    title: &str,
    border: Style,
    max_width: usize,
    area: Rect,
    buf: &mut Buffer,
) {
    // Borders take a cell on each side, and a space of padding keeps text off them.
    const CHROME: usize = 4;
    let widest = lines
        .iter()
        .map(Line::width)
        .chain([width(title)])
        .max()
        .unwrap_or(0);
    let outer = (widest + CHROME).min(max_width).min(area.width as usize);
    let inner = outer.saturating_sub(CHROME).max(1);
    let padded: Vec<Line<'static>> = wrap_all(&lines, inner)
        .into_iter()
        .map(|mut l| {
            l.spans.insert(0, Span::raw(" "));
            l
        })
        .collect();
    let height = padded.len() + 2;
    let area = centered(area, outer as u16, height.min(u16::MAX as usize) as u16);
    popup(padded, title.to_owned(), border, area, buf);
}
