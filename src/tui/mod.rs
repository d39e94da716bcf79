//! The terminal app: state and update (`app`), actions and effects, tabs, forms, widgets.
//! This file runs it: terminal set-up and restore, the event loop, and effects.

pub mod action;
pub mod app;
pub mod built_in;
pub mod fixtures;
pub mod keymap;
pub mod modal;
pub mod overlays;
mod render;
pub mod tabs;
pub mod theme;
pub mod widgets;

use std::io::IsTerminal as _;
use std::io::{Stdout, Write, stdout};
use std::time::Duration;

use crossterm::event::{
    DisableMouseCapture, EnableMouseCapture, Event, EventStream, KeyCode, KeyEvent, KeyEventKind,
    KeyModifiers, MouseEventKind,
};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use futures::{FutureExt, StreamExt};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};

use crate::api::ApiClient;
use crate::platform::Clipboard;
use action::{Action, Effect};
use app::App;

/// How often the spinner and clock advance.
const TICK: Duration = Duration::from_millis(250);

/// Everything the app needs to run.
pub struct Launch {
    pub app: App,
    pub client: ApiClient,
    pub clipboard: Clipboard,
    pub mouse: bool,
    /// `keydeck demo`'s own PostgreSQL as it starts, for the Query Stats tab.
    pub built_in: Option<tokio::sync::watch::Receiver<built_in::BuiltIn>>,
}

/// Restores the terminal: leave the alternate screen, raw mode off, cursor back.
pub fn restore_terminal() {
    let _ = disable_raw_mode();
    let _ = execute!(
        stdout(),
        DisableMouseCapture,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
}

/// Ctrl-Z as a shell expects it: the terminal restored, the process stopped (SIGTSTP); on
/// `fg`, the screen set up again and drawn whole.
fn suspend(terminal: &mut Terminal<CrosstermBackend<Stdout>>, mouse: bool) -> std::io::Result<()> {
    restore_terminal();
    signal_hook::low_level::raise(signal_hook::consts::SIGTSTP)?;
    // Here again after SIGCONT.
    enable_raw_mode()?;
    execute!(stdout(), EnterAlternateScreen)?;
    if mouse {
        execute!(stdout(), EnableMouseCapture)?;
    }
    execute!(
        stdout(),
        crossterm::terminal::Clear(crossterm::terminal::ClearType::All)
    )?;
    // The frame drawn before the stop is forgotten, so the next one is drawn whole.
    // (`Terminal::clear` would ask the terminal where its cursor is, and the answer goes to
    // the event reader, so it times out.)
    terminal.swap_buffers();
    Ok(())
}

/// Runs the app until the user quits or a SIGTERM/SIGHUP/SIGINT arrives; the terminal is restored
/// on every way out, panics included.
pub async fn run(launch: Launch) -> anyhow::Result<()> {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore_terminal();
        previous(info);
    }));
    enable_raw_mode()?;
    watch_for_hangup();
    let mut out = stdout();
    execute!(out, EnterAlternateScreen)?;
    if launch.mouse {
        execute!(out, EnableMouseCapture)?;
    }
    let result = event_loop(launch).await;
    restore_terminal();
    result
}

/// What must happen before the process exits on a hang-up, where no destructor runs (the
/// demo's own PostgreSQL is stopped and its directory removed).
static BEFORE_HANGUP_EXIT: std::sync::Mutex<Vec<Box<dyn FnOnce() + Send>>> =
    std::sync::Mutex::new(Vec::new());

/// Runs `work` before the process exits because its terminal went away.
pub fn before_hangup_exit(work: impl FnOnce() + Send + 'static) {
    BEFORE_HANGUP_EXIT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(Box::new(work));
}

/// How often the terminal is checked for having gone away.
const HANGUP_CHECK: Duration = Duration::from_secs(1);

/// Ends the process when its terminal has gone away (an SSH connection dropped, a closed
/// terminal window). A hung-up terminal reads as endless end-of-file, and crossterm's reader
/// then spins on it inside one call, so neither SIGHUP nor SIGTERM would be handled: a thread
/// of its own notices instead, by standard input no longer answering as a terminal (a hung-up
/// terminal fails every terminal request; crossterm's `size()` would not tell, as it falls
/// back to `tput`).
fn watch_for_hangup() {
    let spawned = std::thread::Builder::new()
        .name("hangup-watch".into())
        .spawn(|| {
            loop {
                std::thread::sleep(HANGUP_CHECK);
                if !std::io::stdin().is_terminal() {
                    tracing::warn!("the terminal went away; exiting");
                    let work = std::mem::take(
                        &mut *BEFORE_HANGUP_EXIT
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner),
                    );
                    for work in work {
                        work();
                    }
                    // 128 + SIGHUP, as a shell reports a process ended by hang-up.
                    std::process::exit(129);
                }
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot watch the terminal for hang-ups");
    }
}

async fn event_loop(launch: Launch) -> anyhow::Result<()> {
    let Launch {
        mut app,
        client,
        mut clipboard,
        built_in,
        mouse,
    } = launch;
    let mut terminal = Terminal::new(CrosstermBackend::new(stdout()))?;
    let (tx, mut rx) = unbounded_channel::<Action>();
    let mut events = EventStream::new();
    let mut ticker = tokio::time::interval(TICK);
    let mut signals = Signals::new()?;
    for effect in app.start() {
        perform(effect, &client, &tx, &mut clipboard, (&mut terminal, mouse));
    }
    if let Some(built_in) = built_in {
        forward_built_in(built_in, tx.clone());
    }
    loop {
        terminal.draw(|frame| app.render(frame.area(), frame.buffer_mut()))?;
        let first = tokio::select! {
            event = events.next() => match event {
                Some(Ok(event)) => to_action(event),
                Some(Err(e)) => return Err(e.into()),
                None => Some(Action::Quit),
            },
            action = rx.recv() => action,
            _ = ticker.tick() => Some(Action::Tick),
            () = signals.recv() => Some(Action::Quit),
        };
        // Process everything that is ready, then draw once.
        let mut pending: Vec<Action> = first.into_iter().collect();
        while let Ok(action) = rx.try_recv() {
            pending.push(action);
        }
        while let Some(Some(Ok(event))) = events.next().now_or_never() {
            pending.extend(to_action(event));
        }
        for action in pending {
            for effect in app.update(action) {
                perform(effect, &client, &tx, &mut clipboard, (&mut terminal, mouse));
            }
        }
        if app.should_quit {
            return Ok(());
        }
    }
}

/// Hands every change of the demo's own PostgreSQL to the app, the current state first.
fn forward_built_in(
    mut built_in: tokio::sync::watch::Receiver<built_in::BuiltIn>,
    tx: UnboundedSender<Action>,
) {
    tokio::spawn(async move {
        loop {
            let now = built_in.borrow_and_update().clone();
            if tx.send(Action::BuiltIn(now)).is_err() {
                return;
            }
            if built_in.changed().await.is_err() {
                return;
            }
        }
    });
}

fn to_action(event: Event) -> Option<Action> {
    match event {
        Event::Key(key) if key.kind != KeyEventKind::Release => Some(Action::Key(key)),
        Event::Resize(..) => Some(Action::Resize),
        Event::Mouse(mouse) => match mouse.kind {
            MouseEventKind::ScrollDown => Some(Action::Key(KeyEvent::new(
                KeyCode::Down,
                KeyModifiers::NONE,
            ))),
            MouseEventKind::ScrollUp => {
                Some(Action::Key(KeyEvent::new(KeyCode::Up, KeyModifiers::NONE)))
            }
            _ => None,
        },
        _ => None,
    }
}

fn perform(
    effect: Effect,
    client: &ApiClient,
    tx: &UnboundedSender<Action>,
    clipboard: &mut Clipboard,
    (terminal, mouse): (&mut Terminal<CrosstermBackend<Stdout>>, bool),
) {
    match effect {
        Effect::Quit => {}
        Effect::Suspend => {
            if let Err(e) = suspend(terminal, mouse) {
                tracing::warn!(error = %e, "could not suspend or resume the terminal");
            }
        }
        Effect::Copy(text) => {
            let backend = terminal.backend_mut();
            let result = clipboard.copy(&text, backend).map_err(|e| e.to_string());
            let _ = backend.flush();
            let _ = tx.send(Action::Copied(result));
        }
        Effect::Later { delay, effect } => {
            let (client, tx) = (client.clone(), tx.clone());
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                if let Some(action) = network(&client, *effect).await {
                    let _ = tx.send(action);
                }
            });
        }
        other => {
            let (client, tx) = (client.clone(), tx.clone());
            tokio::spawn(async move {
                if let Some(action) = network(&client, other).await {
                    let _ = tx.send(action);
                }
            });
        }
    }
}

/// The keys of `query` just before the key `id`: its place in the order is its cursor in a
/// one-key listing narrowed to it; the first page when it is not in the listing.
async fn locate_key(
    client: &ApiClient,
    id: String,
    query: crate::api::KeyQuery,
) -> Result<crate::api::Page<crate::api::ops::Key>, crate::api::ApiError> {
    let one = crate::api::KeyQuery {
        id_prefix: Some(id.clone()),
        first: 1,
        ..query.clone()
    };
    let found = client.list_keys(&one).await?;
    match found
        .start_cursor
        .filter(|_| found.items.iter().any(|k| k.id == id))
    {
        Some(cursor) => {
            let before = crate::api::KeyQuery {
                last: Some(query.first),
                before: Some(cursor),
                ..query
            };
            client.list_keys(&before).await
        }
        None => client.list_keys(&query).await,
    }
}

/// Runs one network effect and turns its outcome into an action.
pub async fn network(client: &ApiClient, effect: Effect) -> Option<Action> {
    Some(match effect {
        Effect::LoadMe => Action::Me(client.me().await),
        Effect::LoadKeys { query, append } => Action::KeysLoaded {
            append,
            result: client.list_keys(&query).await,
        },
        Effect::LocateKey { id, query } => Action::KeysLoaded {
            append: false,
            result: locate_key(client, id, query).await,
        },
        Effect::LoadIdentities { query, append } => Action::IdentitiesLoaded {
            append,
            result: client.identities(&query).await,
        },
        Effect::LoadCreatedKeys { identity_id } => {
            let query = crate::tui::tabs::identities::created_keys_query(&identity_id);
            Action::CreatedKeysLoaded {
                result: client.list_keys(&query).await,
                identity_id,
            }
        }
        Effect::LoadAudit { query } => Action::AuditLoaded(client.audit_log(&query).await),
        Effect::LoadHistory { about } => Action::HistoryLoaded {
            result: client.audit_log(&about.query()).await,
            about,
        },
        Effect::LoadKeyUsage { key_id, seconds } => {
            let (start, points) = crate::tui::tabs::keys::usage_window(seconds);
            Action::KeyUsageLoaded {
                result: client.key_usage_series(&key_id, start, points).await,
                key_id,
            }
        }
        Effect::LoadProjects => Action::ProjectsLoaded(client.projects().await),
        Effect::LoadRoles => Action::RolesLoaded(client.role_catalog().await),
        Effect::LoadSettings => Action::SettingsLoaded(client.max_key_ttl().await),
        Effect::LoadDatabases => Action::DatabasesLoaded(client.databases().await),
        Effect::LoadStats { database_id, since } => {
            let result = client.query_stats(&database_id, since).await;
            Action::StatsLoaded {
                database_id,
                since,
                result,
            }
        }
        Effect::LoadSeries {
            database_id,
            query_id,
            since,
            points,
        } => {
            let result = client
                .query_stat_series(&database_id, &query_id, since, points)
                .await;
            Action::SeriesLoaded {
                database_id,
                query_id,
                since,
                result,
            }
        }
        Effect::CreateKey { key, local_token } => Action::KeyCreated {
            local_token,
            result: client.create_key(&key).await,
        },
        Effect::RotateKey { id, grace, .. } => {
            Action::KeyRotated(client.rotate_key(&id, Some(&grace), None).await)
        }
        Effect::SetKeysEnabled { ids, enabled } => {
            let (mut done, mut cascaded, mut failed) = (Vec::new(), Vec::new(), Vec::new());
            for id in ids {
                match client.set_key_enabled(&id, enabled).await {
                    Ok(also) => {
                        cascaded.extend(also);
                        done.push(id);
                    }
                    Err(e) => failed.push((id, e.to_string())),
                }
            }
            Action::KeysToggled {
                enabled,
                done,
                cascaded,
                failed,
            }
        }
        Effect::SetKeyEnabled { id, name, enabled } => {
            let result = client.set_key_enabled(&id, enabled).await;
            Action::KeyToggled {
                id,
                name,
                enabled,
                result,
            }
        }
        Effect::ChangeRoles {
            identity_id,
            add,
            remove,
        } => {
            let mut result = Ok(Vec::new());
            if !add.is_empty() {
                result = client.change_roles(&identity_id, &add, true).await;
            }
            if !remove.is_empty()
                && let Ok(narrowed) = &mut result
            {
                match client.change_roles(&identity_id, &remove, false).await {
                    Ok(more) => narrowed.extend(more),
                    Err(e) => result = Err(e),
                }
            }
            Action::IdentityChanged(result)
        }
        Effect::SetMembership {
            project_slug,
            identity_id,
            memberships,
            already_member,
        } => Action::IdentityChanged(
            client
                .set_membership(&project_slug, &identity_id, &memberships, already_member)
                .await,
        ),
        Effect::Copy(_) | Effect::Later { .. } | Effect::Quit | Effect::Suspend => return None,
    })
}

/// SIGTERM, SIGHUP and SIGINT end the app cleanly (the terminal is restored by `run`).
struct Signals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    hup: tokio::signal::unix::Signal,
    /// A SIGINT from outside (the terminal's Ctrl-C is a key in raw mode).
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Signals {
                term: signal(SignalKind::terminate())?,
                hup: signal(SignalKind::hangup())?,
                int: signal(SignalKind::interrupt())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Signals {})
    }

    async fn recv(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.hup.recv() => {}
            _ = self.int.recv() => {}
        }
        #[cfg(not(unix))]
        std::future::pending::<()>().await
    }
}
