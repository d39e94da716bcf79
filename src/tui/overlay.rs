//! Everything drawn over the tabs — forms and dialogs — behind one interface: keys in, an
//! [`Outcome`] out, `fail` when the service refuses what it sent, `render`, and the commands
//! its footer offers (`hints`). `App` keeps one `Option<Overlay>` and routes to it.

use crossterm::event::KeyEvent;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use time::OffsetDateTime;

use super::action::Effect;
use super::forms::create_key::CreateKeyForm;
use super::forms::membership::MembershipEditor;
use super::forms::roles::RolesEditor;
use super::forms::rotate::RotateKeyForm;
use super::keymap::{Command, Context, Keymap};
use super::theme::Theme;
use super::widgets::dialog::{Confirm, TokenDialog};
use super::widgets::messages::LogView;
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

/// A modal layer over the tabs.
#[derive(Debug)]
pub enum Overlay {
    CreateKey(Box<CreateKeyForm>),
    Confirm(Confirm),
    Token(TokenDialog),
    Roles(RolesEditor),
    Rotate(RotateKeyForm),
    Membership(Box<MembershipEditor>),
    Log(LogView),
}

impl Overlay {
    pub fn modal(&self) -> &dyn Modal {
        match self {
            Overlay::CreateKey(m) => m.as_ref(),
            Overlay::Confirm(m) => m,
            Overlay::Token(m) => m,
            Overlay::Roles(m) => m,
            Overlay::Rotate(m) => m,
            Overlay::Membership(m) => m.as_ref(),
            Overlay::Log(m) => m,
        }
    }

    pub fn modal_mut(&mut self) -> &mut dyn Modal {
        match self {
            Overlay::CreateKey(m) => m.as_mut(),
            Overlay::Confirm(m) => m,
            Overlay::Token(m) => m,
            Overlay::Roles(m) => m,
            Overlay::Rotate(m) => m,
            Overlay::Membership(m) => m.as_mut(),
            Overlay::Log(m) => m,
        }
    }
}
