//! The protocol every form and dialog speaks with the app: keys in, an [`Outcome`] out,
//! `fail` when the service refuses what it sent, `render` with a [`Look`], and the commands its
//! footer offers. The overlays themselves live in `overlays/`; the app keeps one of them.

use crossterm::event::KeyEvent;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use time::OffsetDateTime;

use super::action::Effect;
use super::keymap::{Command, Context, Keymap};
use super::theme::Theme;
use crate::api::ApiError;

/// What an overlay asks of the app after a key.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Nothing outside the overlay changes.
    Stay,
    Close,
    /// Run the effect; the overlay stays (waiting for the answer, or to copy again).
    Send(Effect),
    /// Run the effect and close (a confirmation, once confirmed).
    CloseAndSend(Effect),
}

/// What overlays and tabs draw with: the theme, the clock, the keymap (to name keys), and
/// the footer already spelled out from it.
pub struct Look<'a> {
    pub theme: &'a Theme,
    pub now: OffsetDateTime,
    /// Spinner frame.
    pub tick: u64,
    pub keymap: &'a Keymap,
    pub hints: String,
}

/// The interface every form and dialog implements.
pub trait Modal {
    /// The keymap sections that apply while it is open, most specific first.
    fn contexts(&self) -> &'static [Context];
    /// The commands its footer offers; their keys come from the keymap.
    fn hints(&self) -> &'static [Command];
    /// A key, with the command it maps to in [`Modal::contexts`].
    fn on_key(&mut self, event: &KeyEvent, command: Option<Command>) -> Outcome;
    /// The service refused what the overlay sent: say why next to what it concerns and
    /// keep everything typed.
    fn fail(&mut self, error: &ApiError);
    fn render(&self, area: Rect, buf: &mut Buffer, look: &Look);
}
