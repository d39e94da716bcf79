//! What every tab does for the app: take its commands, type into its filter, load on first
//! visit, reload, and draw itself. `App` routes to the active tab through [`TabView`] and
//! never writes a tab's fields.

use crossterm::event::KeyEvent;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use super::Cursor;
use crate::api::{Me, Project};
use crate::tui::action::{Effect, Reply};
use crate::tui::keymap::{Command, Context, Keymap};
use crate::tui::overlay::Look;

/// Rows moved by page up/down.
const PAGE: usize = 10;

/// What the app knows that tabs read: who is logged in, the projects and roles the service
/// offers, and the keymap (for messages that name a key).
pub struct Shared<'a> {
    pub me: Option<&'a Me>,
    pub projects: &'a [Project],
    pub catalog: &'a [String],
    pub keymap: &'a Keymap,
}

pub trait TabView {
    /// The keymap section of the tab's own commands.
    fn context(&self) -> Context;
    /// A command from the tab's context or the list context.
    fn on_command(&mut self, command: Command, shared: &Shared) -> Reply;
    /// Whether keys go into the tab's filter.
    fn typing(&self) -> bool {
        false
    }
    /// A key while [`TabView::typing`]: `command` is what it maps to in the filter context.
    fn on_filter_key(&mut self, _event: &KeyEvent, _command: Option<Command>, _tick: u64) -> Reply {
        Reply::default()
    }
    /// The clock advanced: a paused filter is sent.
    fn on_tick(&mut self, _tick: u64) -> Vec<Effect> {
        Vec::new()
    }
    /// The tab became active: load what was never loaded.
    fn visit(&mut self) -> Vec<Effect>;
    /// Reload from the service.
    fn refresh(&mut self) -> Vec<Effect>;
    fn render(&self, area: Rect, buf: &mut Buffer, look: &Look);
}

/// Moves `cursor` over `len` rows for a movement command; false for any other command.
pub fn move_cursor(cursor: &mut Cursor, command: Command, len: usize) -> bool {
    match command {
        Command::Down => cursor.down(len, 1),
        Command::Up => cursor.up(1),
        Command::PageDown => cursor.down(len, PAGE),
        Command::PageUp => cursor.up(PAGE),
        Command::First => cursor.index = 0,
        Command::Last => cursor.index = len.saturating_sub(1),
        _ => return false,
    }
    true
}
