//! Key bindings as data: defaults embedded from assets/keymap.toml, a profile's overrides
//! merged over them. The help overlay is generated from the same map.

use std::collections::BTreeMap;
use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

const DEFAULTS: &str = include_str!("../../assets/keymap.toml");

/// Where a binding applies. Global bindings apply everywhere except while typing text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Context {
    Global,
    List,
    Keys,
    Identities,
    Stats,
    Audit,
    /// Typing in a tab's filter: printable keys are text, so only these keys are commands.
    Filter,
    Form,
    /// Choosing a project in a form's searchable list: printable keys search.
    Picker,
    Confirm,
    Token,
    /// The message log.
    Log,
}

impl Context {
    fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "global" => Context::Global,
            "list" => Context::List,
            "keys" => Context::Keys,
            "identities" => Context::Identities,
            "stats" => Context::Stats,
            "audit" => Context::Audit,
            "filter" => Context::Filter,
            "log" => Context::Log,
            "form" => Context::Form,
            "picker" => Context::Picker,
            "confirm" => Context::Confirm,
            "token" => Context::Token,
            _ => return None,
        })
    }

    pub fn title(self) -> &'static str {
        match self {
            Context::Global => "Everywhere",
            Context::List => "Lists",
            Context::Keys => "Keys",
            Context::Identities => "Identities",
            Context::Stats => "Query Stats",
            Context::Audit => "Audit",
            Context::Filter => "Typing a filter",
            Context::Log => "Messages",
            Context::Form => "Forms",
            Context::Picker => "Choosing a project",
            Context::Confirm => "Confirmation",
            Context::Token => "New token",
        }
    }

    /// What the help says about the context beyond its keys, when there is more to know.
    pub fn note(self) -> Option<&'static str> {
        match self {
            Context::Stats => Some(
                "A statement's details chart its calls and time per interval of the window, \
                 from the samples the service keeps (· where it has none, before monitoring \
                 began or while the database was unreadable).",
            ),
            _ => None,
        }
    }
}

/// A key as written in the keymap (`ctrl-c`, `G`, `enter`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    code: KeyCodeOrd,
    ctrl: bool,
    alt: bool,
}

/// KeyCode subset that orders and hashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum KeyCodeOrd {
    Char(char),
    Enter,
    Esc,
    Tab,
    BackTab,
    Up,
    Down,
    Left,
    Right,
    PageUp,
    PageDown,
    Home,
    End,
    F(u8),
}

impl Key {
    pub fn parse(text: &str) -> Option<Key> {
        let mut ctrl = false;
        let mut alt = false;
        let mut rest = text;
        loop {
            if let Some(r) = rest.strip_prefix("ctrl-") {
                ctrl = true;
                rest = r;
            } else if let Some(r) = rest.strip_prefix("alt-") {
                alt = true;
                rest = r;
            } else {
                break;
            }
        }
        let code = match rest {
            "enter" => KeyCodeOrd::Enter,
            "esc" => KeyCodeOrd::Esc,
            "tab" => KeyCodeOrd::Tab,
            "backtab" | "shift-tab" => KeyCodeOrd::BackTab,
            "space" => KeyCodeOrd::Char(' '),
            "up" => KeyCodeOrd::Up,
            "down" => KeyCodeOrd::Down,
            "left" => KeyCodeOrd::Left,
            "right" => KeyCodeOrd::Right,
            "pageup" => KeyCodeOrd::PageUp,
            "pagedown" => KeyCodeOrd::PageDown,
            "home" => KeyCodeOrd::Home,
            "end" => KeyCodeOrd::End,
            f if f.len() > 1 && f.starts_with('f') => KeyCodeOrd::F(f[1..].parse().ok()?),
            c if c.chars().count() == 1 => KeyCodeOrd::Char(c.chars().next()?),
            _ => return None,
        };
        Some(Key { code, ctrl, alt })
    }

    pub fn from_event(event: &KeyEvent) -> Option<Key> {
        let code = match event.code {
            KeyCode::Char(c) => KeyCodeOrd::Char(c),
            KeyCode::Enter => KeyCodeOrd::Enter,
            KeyCode::Esc => KeyCodeOrd::Esc,
            KeyCode::Tab => KeyCodeOrd::Tab,
            KeyCode::BackTab => KeyCodeOrd::BackTab,
            KeyCode::Up => KeyCodeOrd::Up,
            KeyCode::Down => KeyCodeOrd::Down,
            KeyCode::Left => KeyCodeOrd::Left,
            KeyCode::Right => KeyCodeOrd::Right,
            KeyCode::PageUp => KeyCodeOrd::PageUp,
            KeyCode::PageDown => KeyCodeOrd::PageDown,
            KeyCode::Home => KeyCodeOrd::Home,
            KeyCode::End => KeyCodeOrd::End,
            KeyCode::F(n) => KeyCodeOrd::F(n),
            _ => return None,
        };
        Some(Key {
            code,
            ctrl: event.modifiers.contains(KeyModifiers::CONTROL),
            alt: event.modifiers.contains(KeyModifiers::ALT),
        })
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("ctrl-")?;
        }
        if self.alt {
            f.write_str("alt-")?;
        }
        match self.code {
            KeyCodeOrd::Char(' ') => f.write_str("space"),
            KeyCodeOrd::Char(c) => write!(f, "{c}"),
            KeyCodeOrd::Enter => f.write_str("enter"),
            KeyCodeOrd::Esc => f.write_str("esc"),
            KeyCodeOrd::Tab => f.write_str("tab"),
            KeyCodeOrd::BackTab => f.write_str("shift-tab"),
            KeyCodeOrd::Up => f.write_str("↑"),
            KeyCodeOrd::Down => f.write_str("↓"),
            KeyCodeOrd::Left => f.write_str("←"),
            KeyCodeOrd::Right => f.write_str("→"),
            KeyCodeOrd::PageUp => f.write_str("pgup"),
            KeyCodeOrd::PageDown => f.write_str("pgdn"),
            KeyCodeOrd::Home => f.write_str("home"),
            KeyCodeOrd::End => f.write_str("end"),
            KeyCodeOrd::F(n) => write!(f, "f{n}"),
        }
    }
}

/// The named things a key can do. Their snake_case names are the keymap's action names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Command {
    Quit,
    Help,
    NextTab,
    PrevTab,
    TabKeys,
    TabIdentities,
    TabStats,
    TabAudit,
    Refresh,
    Suspend,
    Down,
    Up,
    PageDown,
    PageUp,
    First,
    Last,
    Open,
    Filter,
    /// Narrows what is loaded, asking the service nothing (the Query Stats tab).
    Narrow,
    Back,
    NewKey,
    DisableKey,
    EnableKey,
    /// Replaces the key by a new one, the old one expiring after a grace period.
    RotateKey,
    ToggleInactive,
    /// Marks or unmarks the selected key for `d`/`e` on several keys at once.
    Mark,
    Sort,
    EditRoles,
    EditMembership,
    NextField,
    PrevField,
    Toggle,
    ChooseLeft,
    ChooseRight,
    Submit,
    Pick,
    Cancel,
    Confirm,
    CopyAgain,
    Close,
    ReverseSort,
    CopyId,
    FilterDone,
    Messages,
    CopyQuery,
    CopyUrl,
    Window,
    CustomWindow,
    PauseRefresh,
    ToggleDatabases,
    UsageSpan,
}

/// Every command: its keymap name, its help line, and its footer label ("" keeps it out of
/// the footer: movement and tab switching are learnt once, from the help).
const COMMANDS: &[(&str, Command, &str, &str)] = &[
    ("quit", Command::Quit, "quit keydeck", "quit"),
    ("help", Command::Help, "show this help", "help"),
    (
        "messages",
        Command::Messages,
        "recent messages in full",
        "messages",
    ),
    ("next_tab", Command::NextTab, "next tab", ""),
    ("prev_tab", Command::PrevTab, "previous tab", ""),
    ("tab_keys", Command::TabKeys, "Keys tab", ""),
    (
        "tab_identities",
        Command::TabIdentities,
        "Identities tab",
        "",
    ),
    ("tab_stats", Command::TabStats, "Query Stats tab", ""),
    ("tab_audit", Command::TabAudit, "Audit tab", ""),
    (
        "refresh",
        Command::Refresh,
        "reload from the service",
        "refresh",
    ),
    (
        "suspend",
        Command::Suspend,
        "suspend to the shell (fg comes back)",
        "",
    ),
    ("down", Command::Down, "move down", ""),
    ("up", Command::Up, "move up", ""),
    ("page_down", Command::PageDown, "page down", ""),
    ("page_up", Command::PageUp, "page up", ""),
    ("first", Command::First, "first row", ""),
    ("last", Command::Last, "last row", ""),
    ("open", Command::Open, "open details / select", "open"),
    ("filter", Command::Filter, "search the service", "filter"),
    (
        "narrow",
        Command::Narrow,
        "filter the loaded rows: words, table:NAME, type:KIND",
        "filter",
    ),
    ("back", Command::Back, "close details, clear filter", "back"),
    ("new_key", Command::NewKey, "create a key", "new"),
    (
        "disable_key",
        Command::DisableKey,
        "disable the key, or the marked ones",
        "disable",
    ),
    (
        "enable_key",
        Command::EnableKey,
        "enable the key, or the marked ones",
        "enable",
    ),
    (
        "rotate_key",
        Command::RotateKey,
        "rotate the key; the old one lasts a while",
        "",
    ),
    (
        "toggle_inactive",
        Command::ToggleInactive,
        "show/hide disabled and expired keys",
        "inactive",
    ),
    (
        "mark",
        Command::Mark,
        "mark the key (d, e act on all marked)",
        "",
    ),
    ("sort", Command::Sort, "change the sort column", "sort"),
    (
        "reverse_sort",
        Command::ReverseSort,
        "reverse the sort order",
        "reverse",
    ),
    (
        "copy_id",
        Command::CopyId,
        "copy the selected row's id",
        "copy id",
    ),
    (
        "edit_roles",
        Command::EditRoles,
        "edit global roles",
        "roles",
    ),
    (
        "edit_membership",
        Command::EditMembership,
        "edit a project membership",
        "membership",
    ),
    (
        "filter_done",
        Command::FilterDone,
        "stop typing and search now (the filter stays)",
        "search",
    ),
    ("next_field", Command::NextField, "next field", "field"),
    ("prev_field", Command::PrevField, "previous field", ""),
    (
        "toggle",
        Command::Toggle,
        "toggle the option under the cursor",
        "toggle",
    ),
    ("choose_left", Command::ChooseLeft, "previous choice", ""),
    (
        "choose_right",
        Command::ChooseRight,
        "next choice",
        "choose",
    ),
    ("submit", Command::Submit, "submit the form", "save"),
    (
        "pick",
        Command::Pick,
        "pick the project under the cursor",
        "pick",
    ),
    ("cancel", Command::Cancel, "cancel", "cancel"),
    ("confirm", Command::Confirm, "confirm", "confirm"),
    (
        "copy_again",
        Command::CopyAgain,
        "copy the token again",
        "copy again",
    ),
    ("close", Command::Close, "close", "close"),
    (
        "copy_query",
        Command::CopyQuery,
        "copy the selected statement's whole text",
        "copy",
    ),
    (
        "copy_url",
        Command::CopyUrl,
        "copy the selected statement's page address (queryUrl)",
        "copy url",
    ),
    (
        "window",
        Command::Window,
        "next time window: service default, 1h, 24h, 7d",
        "window",
    ),
    (
        "custom_window",
        Command::CustomWindow,
        "type a time window, e.g. 90m or 3d",
        "",
    ),
    (
        "usage_span",
        Command::UsageSpan,
        "usage chart in the details: 24h, 7d, 30d",
        "",
    ),
    (
        "toggle_databases",
        Command::ToggleDatabases,
        "hide or show the databases pane",
        "databases",
    ),
    (
        "pause_refresh",
        Command::PauseRefresh,
        "pause or resume the refresh every 10 s",
        "pause",
    ),
];

impl Command {
    fn from_name(name: &str) -> Option<Command> {
        COMMANDS
            .iter()
            .find(|(n, ..)| *n == name)
            .map(|(_, c, ..)| *c)
    }

    pub fn describe(self) -> &'static str {
        COMMANDS
            .iter()
            .find(|(_, c, ..)| *c == self)
            .map_or("", |(_, _, d, _)| d)
    }

    /// The word the footer shows for it; empty when the footer leaves it out.
    pub fn label(self) -> &'static str {
        COMMANDS
            .iter()
            .find(|(_, c, ..)| *c == self)
            .map_or("", |(.., l)| l)
    }
}

/// Bindings per context.
#[derive(Debug, Clone)]
pub struct Keymap {
    bindings: BTreeMap<Context, Vec<(Key, Command)>>,
}

#[derive(Debug, thiserror::Error)]
pub enum KeymapError {
    #[error("keymap: {0}")]
    Invalid(String),
}

impl Keymap {
    /// The embedded defaults with `overrides` (action name → key) applied.
    pub fn with_overrides(overrides: &BTreeMap<String, String>) -> Result<Keymap, KeymapError> {
        let table: BTreeMap<String, BTreeMap<String, Vec<String>>> =
            toml::from_str(DEFAULTS).map_err(|e| KeymapError::Invalid(e.to_string()))?;
        let mut bindings: BTreeMap<Context, Vec<(Key, Command)>> = BTreeMap::new();
        for (context_name, actions) in &table {
            let context = Context::from_name(context_name)
                .ok_or_else(|| KeymapError::Invalid(format!("unknown section [{context_name}]")))?;
            for (action, keys) in actions {
                let command = Command::from_name(action)
                    .ok_or_else(|| KeymapError::Invalid(format!("unknown action `{action}`")))?;
                let keys = match overrides.get(action) {
                    Some(k) => vec![k.clone()],
                    None => keys.clone(),
                };
                for k in keys {
                    let key = Key::parse(&k).ok_or_else(|| {
                        KeymapError::Invalid(format!("`{k}` for `{action}` is not a key"))
                    })?;
                    bindings.entry(context).or_default().push((key, command));
                }
            }
        }
        if let Some(unknown) = overrides.keys().find(|a| Command::from_name(a).is_none()) {
            return Err(KeymapError::Invalid(format!(
                "the profile overrides `{unknown}`, which is not an action"
            )));
        }
        Ok(Keymap { bindings })
    }

    pub fn defaults() -> Keymap {
        Keymap::with_overrides(&BTreeMap::new()).unwrap_or(Keymap {
            bindings: BTreeMap::new(),
        })
    }

    /// The command `event` triggers, looking in `contexts` in order.
    pub fn lookup(&self, contexts: &[Context], event: &KeyEvent) -> Option<Command> {
        let key = Key::from_event(event)?;
        contexts.iter().find_map(|c| {
            self.bindings
                .get(c)?
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, cmd)| *cmd)
        })
    }

    /// Whether `event` is the interrupt (ctrl-c), which quits whatever the profile binds:
    /// a user who rebinds `quit` must still be able to leave.
    pub fn is_interrupt(event: &KeyEvent) -> bool {
        Key::from_event(event) == Key::parse(INTERRUPT)
    }

    /// Lines for the help overlay: per context, each command with its keys. The interrupt
    /// is listed under the global context even when the profile rebinds `quit`.
    pub fn help(&self, contexts: &[Context]) -> Vec<(Context, Vec<(String, &'static str)>)> {
        contexts
            .iter()
            .filter_map(|c| {
                let list = self.bindings.get(c)?;
                let mut per_command: Vec<(Command, Vec<String>)> = Vec::new();
                for (key, command) in list {
                    match per_command.iter_mut().find(|(c, _)| c == command) {
                        Some((_, keys)) => keys.push(key.to_string()),
                        None => per_command.push((*command, vec![key.to_string()])),
                    }
                }
                if *c == Context::Global
                    && let Some((_, keys)) =
                        per_command.iter_mut().find(|(c, _)| *c == Command::Quit)
                    && !keys.iter().any(|k| k == INTERRUPT)
                {
                    keys.push(INTERRUPT.to_owned());
                }
                per_command.sort();
                Some((
                    *c,
                    per_command
                        .into_iter()
                        .map(|(cmd, keys)| (keys.join(" / "), cmd.describe()))
                        .collect(),
                ))
            })
            .collect()
    }

    /// The commands bound in `context` that the footer names, in the order of [`Command`].
    pub fn footer_commands(&self, context: Context) -> Vec<Command> {
        let mut commands: Vec<Command> = self
            .bindings
            .get(&context)
            .into_iter()
            .flatten()
            .map(|(_, c)| *c)
            .filter(|c| !c.label().is_empty())
            .collect();
        commands.sort();
        commands.dedup();
        commands
    }

    /// Footer hints: for each of `commands`, the first key bound to it in `contexts` and its
    /// label. Commands bound in none of them are left out, so a hint never names a key that
    /// does nothing where the user is.
    pub fn hints(&self, contexts: &[Context], commands: &[Command]) -> Vec<(String, &'static str)> {
        commands
            .iter()
            .filter_map(|command| {
                let key = contexts.iter().find_map(|c| {
                    self.bindings
                        .get(c)?
                        .iter()
                        .find(|(_, cmd)| cmd == command)
                        .map(|(k, _)| k.to_string())
                })?;
                Some((key, command.label()))
            })
            .collect()
    }

    /// The hints as one line of text: `tab field · space toggle · esc cancel`.
    pub fn hint_line(&self, contexts: &[Context], commands: &[Command]) -> String {
        self.hints(contexts, commands)
            .into_iter()
            .map(|(key, what)| format!("{key} {what}"))
            .collect::<Vec<_>>()
            .join(" · ")
    }

    /// The first key bound to `command` in `context`, for messages that tell what to press.
    pub fn key_for(&self, context: Context, command: Command) -> String {
        self.bindings
            .get(&context)
            .and_then(|l| l.iter().find(|(_, c)| *c == command))
            .map_or_else(|| "?".into(), |(k, _)| k.to_string())
    }
}

/// The key that always quits.
const INTERRUPT: &str = "ctrl-c";

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    #[test]
    fn defaults_parse_and_resolve() {
        let map = Keymap::defaults();
        let q = ev(KeyCode::Char('q'), KeyModifiers::NONE);
        assert_eq!(map.lookup(&[Context::Global], &q), Some(Command::Quit));
        let c = ev(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(map.lookup(&[Context::Global], &c), Some(Command::Quit));
        let j = ev(KeyCode::Char('j'), KeyModifiers::NONE);
        assert_eq!(
            map.lookup(&[Context::Keys, Context::List], &j),
            Some(Command::Down)
        );
        assert_eq!(map.lookup(&[Context::Global], &j), None);
    }

    #[test]
    fn overrides_replace_one_action() {
        let overrides = BTreeMap::from([("quit".to_string(), "ctrl-q".to_string())]);
        let map = Keymap::with_overrides(&overrides).unwrap();
        let q = ev(KeyCode::Char('q'), KeyModifiers::NONE);
        assert_eq!(map.lookup(&[Context::Global], &q), None);
        let cq = ev(KeyCode::Char('q'), KeyModifiers::CONTROL);
        assert_eq!(map.lookup(&[Context::Global], &cq), Some(Command::Quit));
    }

    #[test]
    fn bad_overrides_are_reported() {
        let bad = BTreeMap::from([("nope".to_string(), "x".to_string())]);
        assert!(Keymap::with_overrides(&bad).is_err());
        let bad_key = BTreeMap::from([("quit".to_string(), "ctrl-".to_string())]);
        assert!(Keymap::with_overrides(&bad_key).is_err());
    }

    #[test]
    fn help_lists_every_bound_command() {
        let help = Keymap::defaults().help(&[Context::Global]);
        let (_, lines) = &help[0];
        assert!(
            lines
                .iter()
                .any(|(keys, what)| keys == "q / ctrl-c" && *what == "quit keydeck")
        );
    }
}
