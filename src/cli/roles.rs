//! `keydeck roles list` (the global catalog) and `keydeck roles add|remove IDENTITY ROLE…`.
//!
//! Adding and removing say what they did, and what they did not: the service treats both as
//! "make it so" and answers ok either way, so the identity's roles are read first.
//! - `add` of roles already held: said on stderr; the rest are added; exit 0 even when all
//!   were held, since the identity then holds what was asked (`add` is idempotent, as a
//!   provisioning script wants it).
//! - `remove` of a role not held: nothing is removed and the exit status is 1. Asking to take
//!   away what is not there is most often a typo in the role or the identity, which a script
//!   should stop on rather than report as done.

use serde::Serialize;

use super::{output, resolve};
use crate::api::ApiClient;
use crate::api::wording::narrowed_note;
use crate::text::visible;

#[derive(Serialize)]
struct RoleJson<'a> {
    name: &'a str,
    description: &'a str,
}

pub async fn list(client: &ApiClient, as_json: bool) -> anyhow::Result<()> {
    let roles = client.role_catalog().await?;
    let rows: Vec<RoleJson> = roles
        .iter()
        .map(|r| RoleJson {
            name: &r.name,
            description: &r.description,
        })
        .collect();
    if as_json {
        return output::json(&rows);
    }
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| vec![r.name.to_owned(), r.description.to_owned()])
        .collect();
    output::table(&["NAME", "DESCRIPTION"], &table)
}

/// Adds (`grant`) or removes global roles of the identity `identity` names (an id, a unique
/// id prefix, or its description).
pub async fn change(
    client: &ApiClient,
    identity: &str,
    roles: &[String],
    grant: bool,
) -> anyhow::Result<()> {
    let id = resolve::identity(client, identity).await?;
    let current = client.identity_roles(&id).await?.ok_or_else(|| {
        anyhow::anyhow!(
            "IDENTITY_NOT_FOUND: no identity with the id {}",
            visible(&id)
        )
    })?;
    let who = format!(
        "identity “{}” ({})",
        visible(&current.description),
        visible(&current.id)
    );
    let mut asked: Vec<String> = Vec::new();
    for role in roles {
        if !asked.contains(role) {
            asked.push(role.clone());
        }
    }
    let (held, not_held): (Vec<String>, Vec<String>) =
        asked.into_iter().partition(|r| current.roles.contains(r));
    if grant {
        if !held.is_empty() {
            output::note(format!("{who} already holds {}", visible(&held.join(", "))));
        }
        if not_held.is_empty() {
            return output::line("Nothing to add.");
        }
        client.change_roles(&id, &not_held, true).await?;
        output::line(format_args!(
            "Added {} to {who}.",
            visible(&not_held.join(", "))
        ))
    } else {
        if !not_held.is_empty() {
            let holds = if current.roles.is_empty() {
                "no global role".to_owned()
            } else {
                current.roles.join(", ")
            };
            anyhow::bail!(
                "{who} does not hold {} (it holds {}); nothing removed",
                visible(&not_held.join(", ")),
                visible(&holds)
            );
        }
        let narrowed = client.change_roles(&id, &held, false).await?;
        output::line(format_args!(
            "Removed {} from {who}.{}",
            visible(&held.join(", ")),
            narrowed_note(narrowed.len())
        ))
    }
}
