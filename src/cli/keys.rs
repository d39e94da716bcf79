//! `keydeck keys list|create|disable|enable`.

use std::io::IsTerminal;

use serde::Serialize;

use super::resolve::{self, Prefer};
use super::{exit, output};
use crate::api::ops::Key;
use crate::api::{ApiClient, KeyQuery, KeyScope, MembershipSpec, NewKey};
use crate::platform::{Clipboard, ClipboardMode};
use crate::text::visible;
use crate::token;
use crate::tui::tabs::keys::{
    authority_label, grants_label, permissions_label, scope_label, state_label,
};

/// A key as `keys list --json` prints it: a stable shape for scripts.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct KeyJson<'a> {
    id: &'a str,
    name: &'a str,
    token_prefix: Option<&'a str>,
    scope: String,
    visibility: &'static str,
    permissions: Vec<&'static str>,
    global_roles: Option<&'a Vec<String>>,
    grants: String,
    state: &'static str,
    created_at: &'a str,
    expires_at: Option<&'a str>,
    last_used_at: Option<&'a str>,
    disabled_at: Option<&'a str>,
    /// The identity that disabled the key, and with which authority (`owner`,
    /// `project_admin`, `super_admin`).
    disabled_by: Option<&'a str>,
    disabled_as: Option<&'static str>,
    identity_id: Option<&'a str>,
}

fn key_json(k: &Key) -> KeyJson<'_> {
    use crate::api::ops::list_keys::{Permission, Visibility};
    KeyJson {
        id: &k.id,
        name: &k.description,
        token_prefix: k.token_prefix.as_deref(),
        scope: scope_label(k),
        visibility: if k.visibility == Visibility::PERSONAL {
            "personal"
        } else {
            "org-wide"
        },
        permissions: k
            .permissions
            .iter()
            .map(|p| {
                if *p == Permission::READ {
                    "read"
                } else {
                    "write"
                }
            })
            .collect(),
        global_roles: k.identity.as_ref().map(|i| &i.roles),
        grants: grants_label(k),
        state: state_label(&k.state),
        created_at: &k.created_at,
        expires_at: k.expires_at.as_deref(),
        last_used_at: k.last_used_at.as_deref(),
        disabled_at: k.disabled_at.as_deref(),
        disabled_by: k.disabled_by.as_deref(),
        disabled_as: k.disabled_as.as_ref().map(authority_label),
        identity_id: k.identity.as_ref().map(|i| i.id.as_str()),
    }
}

pub async fn list(client: &ApiClient, all: bool, as_json: bool) -> anyhow::Result<()> {
    let mut keys = Vec::new();
    let mut after = None;
    loop {
        let page = client
            .list_keys(&KeyQuery {
                all,
                search: None,
                first: 500,
                after,
            })
            .await?;
        keys.extend(page.items);
        if !page.has_next {
            break;
        }
        after = page.end_cursor;
    }
    if as_json {
        return output::json(&keys.iter().map(key_json).collect::<Vec<_>>());
    }
    let rows: Vec<Vec<String>> = keys
        .iter()
        .map(|k| {
            let j = key_json(k);
            vec![
                j.id.to_owned(),
                j.name.to_owned(),
                j.token_prefix.unwrap_or("(hash)").to_owned(),
                j.scope,
                j.visibility.to_owned(),
                permissions_label(&k.permissions),
                j.grants,
                j.state.to_owned(),
                j.expires_at.unwrap_or("never").to_owned(),
            ]
        })
        .collect();
    output::table(
        &[
            "ID",
            "NAME",
            "PREFIX",
            "SCOPE",
            "VISIBILITY",
            "PERM",
            "GRANTS",
            "STATE",
            "EXPIRES",
        ],
        &rows,
    )
}

/// What `keys create` was asked for.
#[derive(clap::Args, Debug)]
pub struct CreateArgs {
    /// The key's name (1 to 200 characters).
    #[arg(long)]
    pub name: String,
    /// A global key (with --role …).
    #[arg(long, conflicts_with = "project")]
    pub global: bool,
    /// A global role from the catalog (repeatable).
    #[arg(long = "role", requires = "global")]
    pub roles: Vec<String>,
    /// A project key (with --membership ROLE[:VAR=V,…]…).
    #[arg(long)]
    pub project: Option<String>,
    /// A project role and its variables, ROLE[:VAR=V1,V2;VAR2=V3] (repeatable).
    #[arg(long = "membership", requires = "project")]
    pub memberships: Vec<String>,
    /// Time to live: 12h, 30d, 1M… (default: the service's maximum).
    #[arg(long)]
    pub ttl: Option<String>,
    /// May query (the default when neither --read nor --write is given).
    #[arg(long)]
    pub read: bool,
    /// May mutate.
    #[arg(long)]
    pub write: bool,
    /// Visible only to you (and super admins).
    #[arg(long)]
    pub personal: bool,
    /// Generate the token here and send only its SHA-256.
    #[arg(long)]
    pub local_token: bool,
    /// Copy the token to the clipboard.
    #[arg(long)]
    pub copy: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

pub async fn create(
    client: &ApiClient,
    clipboard_mode: ClipboardMode,
    args: CreateArgs,
) -> anyhow::Result<()> {
    let scope = match (&args.project, args.global) {
        (Some(slug), false) => KeyScope::Project {
            slug: slug.clone(),
            memberships: args
                .memberships
                .iter()
                .map(|m| MembershipSpec::parse(m))
                .collect::<Result<_, _>>()
                .map_err(exit::usage)?,
        },
        (None, true) => KeyScope::Global {
            roles: args.roles.clone(),
        },
        _ => {
            return Err(exit::usage(
                "choose one scope: --global [--role R]… or --project SLUG [--membership ROLE[:VAR=V,…]]…",
            ));
        }
    };
    if let Some(ttl) = &args.ttl {
        ttl.parse::<crate::ttl::Ttl>()
            .map_err(|e| exit::usage(format!("--ttl {ttl}: {e}")))?;
    }
    let local_token = if args.local_token {
        Some(token::generate()?)
    } else {
        None
    };
    // Neither flag: read-only, the safe default (as in the TUI).
    let (read, write) = if !args.read && !args.write {
        (true, false)
    } else {
        (args.read, args.write)
    };
    let created = client
        .create_key(&NewKey {
            name: args.name.clone(),
            scope,
            ttl: args.ttl.clone(),
            read,
            write,
            personal: args.personal,
            token_hash: local_token.as_deref().map(token::hash),
        })
        .await?;
    let token = created.token.clone().or(local_token);
    let copied = match (&token, args.copy) {
        (Some(t), true) => Some(copy_to_terminal(clipboard_mode, t)),
        _ => None,
    };
    if args.json {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Created<'a> {
            id: &'a str,
            name: &'a str,
            token: Option<&'a str>,
            expires_at: Option<&'a str>,
            copied: Option<String>,
        }
        return output::json(&Created {
            id: &created.id,
            name: &args.name,
            token: token.as_deref(),
            expires_at: created.expires_at.as_deref(),
            copied: copied.map(|r| r.unwrap_or_else(|e| format!("not copied: {e}"))),
        });
    }
    let mut text = format!(
        "Created key \"{}\" ({})\nExpires: {}\n",
        visible(&args.name),
        visible(&created.id),
        visible(created.expires_at.as_deref().unwrap_or("never"))
    );
    if let Some(t) = &token {
        text.push_str(&format!(
            "Token (shown once, store it now):\n\n    {}\n\n",
            visible(t)
        ));
    }
    output::write(&text)?;
    if let Some(result) = copied {
        match result {
            Ok(how) => output::note(format!("Token {how}.")),
            Err(e) => output::note(format!("Token not copied: {}", visible(&e))),
        }
    }
    Ok(())
}

/// Copies via the profile's clipboard mode; OSC 52 goes to the controlling terminal, never
/// into a pipe that a script might be reading.
fn copy_to_terminal(mode: ClipboardMode, text: &str) -> Result<String, String> {
    let mut clipboard = Clipboard::new(mode);
    let tty = std::fs::OpenOptions::new().write(true).open("/dev/tty");
    let result = match tty {
        Ok(mut tty) => clipboard.copy(text, &mut tty),
        Err(_) if std::io::stderr().is_terminal() => clipboard.copy(text, &mut std::io::stderr()),
        Err(_) => return Err("no terminal to send OSC 52 to".into()),
    };
    result
        .map(|path| path.describe().to_owned())
        .map_err(|e| e.to_string())
}

/// Disables or enables the key `key` names: an id, a unique id prefix, or its name.
pub async fn set_enabled(client: &ApiClient, key: &str, enabled: bool) -> anyhow::Result<()> {
    let prefer = if enabled {
        Prefer::NotState("enabled")
    } else {
        Prefer::State("enabled")
    };
    let id = resolve::key(client, key, prefer).await?;
    let also = client.set_key_enabled(&id, enabled).await?;
    let mut text = format!(
        "Key {} {}.\n",
        visible(&id),
        if enabled { "enabled" } else { "disabled" }
    );
    if !also.is_empty() {
        text.push_str(&format!(
            "Also disabled {} personal key{} it created: {}\n",
            also.len(),
            if also.len() == 1 { "" } else { "s" },
            visible(&also.join(", "))
        ));
    }
    output::write(&text)
}
