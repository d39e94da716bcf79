//! What every tab does for the app: take its commands, type into its filter, load on first
//! visit, reload, and draw itself. `App` routes to the active tab through [`TabView`] and
//! never writes a tab's fields.

use crossterm::event::KeyEvent;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use super::Cursor;
use super::search::Search;
use crate::api::{Me, Project};
use crate::tui::action::Effect;
use crate::tui::keymap::{Command, Context, Keymap};
use crate::tui::modal::Look;
use crate::tui::overlays::Overlay;
use crate::tui::widgets::Load;
use crate::tui::widgets::messages::Note;

/// Rows moved by page up/down.
const PAGE: usize = 10;

/// What the app knows that tabs read: who is logged in, the projects and roles the service
/// offers, the keymap (for messages that name a key) and the time.
pub struct Shared<'a> {
    pub me: Option<&'a Me>,
    pub projects: &'a [Project],
    pub catalog: &'a [String],
    pub keymap: &'a Keymap,
    /// The clock as of the last tick: states and times are worded against it.
    pub now: time::OffsetDateTime,
    /// The longest key lifetime the service grants, once it said.
    pub max_key_ttl: Option<crate::ttl::Ttl>,
}

pub trait TabView {
    /// The keymap section of the tab's own commands.
    fn context(&self) -> Context;
    /// A command from the tab's context or the list context.
    fn on_command(&mut self, command: Command, shared: &Shared) -> Reply;
    /// Whether `command` does something here now, for the footer: `esc` is offered only
    /// where there is something to close or clear.
    fn offers(&self, command: Command) -> bool {
        command != Command::Back || self.search().is_some_and(Search::active)
    }
    /// The tab's filter, when it has one.
    fn search(&self) -> Option<&Search> {
        None
    }
    fn search_mut(&mut self) -> Option<&mut Search> {
        None
    }
    /// Narrows the loaded rows to what the filter holds now.
    fn narrow(&mut self) {}
    /// Asks for the first page again, with the filter as sent.
    fn reload_rows(&mut self) -> Effect;
    /// Whether keys go into the tab's filter.
    fn typing(&self) -> bool {
        self.search().is_some_and(|s| s.typing)
    }
    /// A key while [`TabView::typing`]: `command` is what it maps to in the filter context.
    /// Text narrows the loaded rows at once; the service is asked on a pause or on
    /// `filter_done`.
    fn on_filter_key(&mut self, event: &KeyEvent, command: Option<Command>, tick: u64) -> Reply {
        let Some(search) = self.search_mut() else {
            return Reply::default();
        };
        if command == Some(Command::FilterDone) {
            search.typing = false;
            if search.changed() {
                search.send();
                return Reply::effects(vec![self.reload_rows()]);
            }
        } else if search.on_key(event, tick) {
            self.narrow();
        }
        Reply::default()
    }
    /// The clock advanced: details the cursor left owing are asked for, and a filter the
    /// user paused on is sent.
    fn on_tick(&mut self, tick: u64) -> Vec<Effect> {
        let mut effects = self.owed_details();
        if let Some(search) = self.search_mut()
            && search.due(tick)
        {
            search.send();
            effects.push(self.reload_rows());
        }
        effects
    }
    /// The details of the selected row, when moving the cursor left them owing
    /// ([`super::follow::Follow`]).
    fn owed_details(&mut self) -> Vec<Effect> {
        Vec::new()
    }
    /// Starts typing into the filter.
    fn start_filter(&mut self) -> Reply {
        if let Some(search) = self.search_mut() {
            search.typing = true;
        }
        Reply::default()
    }
    /// Empties the filter; reloads when the rows on screen were searched for.
    fn clear_filter(&mut self) -> Reply {
        let reload = self.search_mut().is_some_and(Search::clear);
        self.narrow();
        Reply::effects(if reload {
            vec![self.reload_rows()]
        } else {
            vec![]
        })
    }
    /// The tab became active: load what was never loaded.
    /// How the tab's rows stand: loaded, loading, failed, or never asked for.
    fn load(&self) -> &Load;
    /// The first visit loads the rows; later ones keep what is there.
    fn visit(&mut self) -> Vec<Effect> {
        if *self.load() == Load::Idle {
            vec![self.reload_rows()]
        } else {
            Vec::new()
        }
    }
    /// Reload from the service.
    fn refresh(&mut self) -> Vec<Effect> {
        vec![self.reload_rows()]
    }
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

/// A key or an identity to show in its own tab, selected with its details open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Jump {
    Key(String),
    Identity(String),
}

/// What a tab asks of the app after a command: effects to run, an overlay to open, a message
/// to show, and what a copy it asked for holds (named in the confirmation).
#[derive(Debug, Default)]
pub struct Reply {
    pub effects: Vec<Effect>,
    /// Another tab to go to, on a key or an identity (Enter on an audit entry).
    pub jump: Option<Jump>,
    pub open: Option<Overlay>,
    pub note: Option<Note>,
    pub copying: Option<String>,
}

impl Reply {
    pub fn effects(effects: Vec<Effect>) -> Reply {
        Reply {
            effects,
            ..Reply::default()
        }
    }

    pub fn open(overlay: Overlay) -> Reply {
        Reply {
            open: Some(overlay),
            ..Reply::default()
        }
    }

    pub fn note(note: Note) -> Reply {
        Reply {
            note: Some(note),
            ..Reply::default()
        }
    }
}
