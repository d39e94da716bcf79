//! What the benchmarks share: a store seeded with many keys, and an app holding many keys.
#![allow(dead_code)] // each benchmark uses a different part

use anyhow::Context as _;
use keydeck::api::Page;
use keydeck::server::model::{Permission, Visibility};
use keydeck::server::store::{Audit, NewKey, Store};
use keydeck::token;
use keydeck::tui::action::Action;
use keydeck::tui::app::{App, Session};
use keydeck::tui::keymap::Keymap;
use keydeck::tui::theme::Theme;

/// Opens the store at `url` and fills it with the bootstrap super admin plus `keys - 1`
/// org-wide read keys, one after another. Returns the store and the bootstrap token.
pub async fn seeded_store(url: &str, keys: usize) -> anyhow::Result<(Store, String)> {
    let store = Store::open(url).await.context("opening the bench store")?;
    let admin = keydeck::server::bootstrap(&store, None)
        .await?
        .context("the fresh store returned no bootstrap token")?;
    for i in 1..keys {
        let t = token::generate().context("the OS random source failed")?;
        let description = format!("bench key {i}");
        store
            .insert_key(
                NewKey {
                    description: &description,
                    project_id: None,
                    token_hash: &token::hash(&t),
                    token_prefix: Some(&token::display_prefix(&t)),
                    expires_at: None,
                    permissions: &[Permission::Read],
                    visibility: Visibility::OrgWide,
                    owner_id: None,
                    global_roles: &[],
                    memberships: &[],
                },
                Audit {
                    actor_id: None,
                    action: "bench",
                },
            )
            .await
            .with_context(|| format!("inserting key {i}"))?;
    }
    Ok((store, admin))
}

/// A TUI app with no keys yet.
pub fn empty_app() -> App {
    let session = Session {
        profile: "bench".into(),
        endpoint: "http://127.0.0.1:7100/graphql".into(),
        credential_store: "memory".into(),
    };
    App::new(
        session,
        Keymap::defaults(),
        Theme::mono(),
        time::OffsetDateTime::now_utc(),
    )
}

/// Gives `app` `n` sample keys in pages of 500, as the TUI receives them.
pub fn load_keys(app: &mut App, n: usize) -> anyhow::Result<()> {
    for start in (0..n).step_by(500) {
        let end = (start + 500).min(n);
        let items = (start..end)
            .map(keydeck::tui::fixtures::sample_key)
            .collect::<Result<Vec<_>, _>>()?;
        app.update(Action::KeysLoaded {
            append: start > 0,
            result: Ok(Page {
                items,
                has_next: end < n,
                end_cursor: None,
                total: n as i64,
            }),
        });
    }
    Ok(())
}
