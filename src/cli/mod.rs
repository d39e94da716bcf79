//! The scriptable commands, the login flow and `keydeck demo`. Parsing lives in main.rs.

pub mod demo;
pub mod exit;
pub mod identities;
pub mod keys;
pub mod login;
pub mod members;
pub mod output;
pub mod projects;
pub mod resolve;
pub mod roles;
pub mod session;
pub mod stats;

use crate::api::ApiClient;
use crate::platform::{Clipboard, Profile};
use crate::tui::app::{App, Session};
use crate::tui::keymap::Keymap;
use crate::tui::theme::Theme;

/// Opens the TUI for `client` with the profile's settings.
pub async fn open_tui(
    client: ApiClient,
    profile_name: &str,
    profile: &Profile,
    credential_source: &str,
    built_in: Option<tokio::sync::watch::Receiver<crate::tui::built_in::BuiltIn>>,
) -> anyhow::Result<()> {
    let keymap = Keymap::with_overrides(&profile.keys)?;
    let theme = Theme::detect(&profile.theme, &|name| std::env::var(name).ok());
    let session = Session {
        profile: profile_name.to_owned(),
        endpoint: client.endpoint().to_owned(),
        credential_store: credential_source.to_owned(),
    };
    let app = App::new(session, keymap, theme, time::OffsetDateTime::now_utc());
    crate::tui::run(crate::tui::Launch {
        app,
        client,
        clipboard: Clipboard::new(profile.clipboard),
        mouse: profile.mouse,
        built_in,
    })
    .await
}
