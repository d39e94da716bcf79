//! `keydeck keys list|show|create|rotate|disable|enable|find`.

use std::io::IsTerminal;

use anyhow::Context as _;

use serde::Serialize;

use super::output::ListShape;
use super::resolve::{self, Prefer};
use super::{exit, output};
use crate::api::ops::Key;
use crate::api::wording::{
    authority_label, grants_label, last_day, permissions_label, scope_label, state_label,
};
use crate::api::{
    ApiClient, ChainLink, KeyQuery, KeyScope, KeySort, KeySortField, Lookup, MembershipSpec,
    NewKey, UsageTotal,
};
use crate::platform::{Clipboard, ClipboardMode};
use crate::text::visible;
use crate::token;

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
    /// The key's memberships, each with its project: `{project, role, variables: {name: [values]}}`.
    memberships: Option<Vec<MembershipJson<'a>>>,
    grants: String,
    state: &'static str,
    created_at: &'a str,
    expires_at: Option<&'a str>,
    last_used_at: Option<&'a str>,
    /// Requests the service authenticated for the key over the last 24 hours, and of those
    /// the ones it refused.
    requests24h: i64,
    refused24h: i64,
    disabled_at: Option<&'a str>,
    /// The identity that disabled the key, and with which authority (`owner`,
    /// `project_admin`, `super_admin`).
    disabled_by: Option<&'a str>,
    disabled_as: Option<&'static str>,
    identity_id: Option<&'a str>,
    /// The key that replaced this one (`keys rotate`), and the key this one replaced.
    rotated_to: Option<&'a str>,
    rotated_from: Option<&'a str>,
}

/// One membership of a key, in `keys list --json`.
#[derive(Serialize)]
struct MembershipJson<'a> {
    project: &'a str,
    role: &'a str,
    variables: std::collections::BTreeMap<&'a str, &'a [String]>,
}

fn memberships_json(k: &Key) -> Option<Vec<MembershipJson<'_>>> {
    let identity = k.identity.as_ref()?;
    Some(
        identity
            .projects
            .iter()
            .flat_map(|relation| {
                relation.memberships.iter().map(|m| MembershipJson {
                    project: &relation.project.slug,
                    role: &m.role,
                    variables: m
                        .variables
                        .iter()
                        .map(|v| (v.name.as_str(), v.values.as_slice()))
                        .collect(),
                })
            })
            .collect(),
    )
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
        memberships: memberships_json(k),
        grants: grants_label(k),
        state: state_label(&k.state),
        created_at: &k.created_at,
        expires_at: k.expires_at.as_deref(),
        last_used_at: k.last_used_at.as_deref(),
        requests24h: last_day(k).0,
        refused24h: last_day(k).1,
        disabled_at: k.disabled_at.as_deref(),
        disabled_by: k.disabled_by.as_deref(),
        disabled_as: k.disabled_as.as_ref().map(authority_label),
        identity_id: k.identity.as_ref().map(|i| i.id.as_str()),
        rotated_to: k.rotated_to.as_ref().map(|r| r.id.as_str()),
        rotated_from: k.rotated_from.as_ref().map(|r| r.id.as_str()),
    }
}

/// `keys list`: which keys, and how.
#[derive(clap::Args, Debug)]
pub struct ListArgs {
    /// Include disabled and expired keys.
    #[arg(long)]
    pub all: bool,
    /// Keys whose name contains this text (any case), or whose token starts with it (`kd_…`).
    #[arg(long)]
    pub search: Option<String>,
    /// Only the keys of this project (its slug).
    #[arg(long)]
    pub project: Option<String>,
    /// Only the keys this identity created, at any depth (an id, a unique prefix of it, or a
    /// description): what an offboarding disables.
    #[arg(long)]
    pub created_by: Option<String>,
    /// Only the keys with no request for this long (`30d`, `12h`, `1M`), never-used keys
    /// included: the stale keys, ready for `keys disable`.
    #[arg(long, value_name = "DURATION")]
    pub unused_since: Option<String>,
    /// The order, kept by the service across every page.
    #[arg(long, value_enum, default_value = "created")]
    pub sort: SortArg,
    #[command(flatten)]
    pub shape: ListShape,
}

/// What `keys list --sort` takes.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default)]
pub enum SortArg {
    Name,
    #[default]
    Created,
    Expires,
    LastUsed,
    State,
}

impl From<SortArg> for KeySortField {
    fn from(arg: SortArg) -> Self {
        match arg {
            SortArg::Name => KeySortField::Name,
            SortArg::Created => KeySortField::Created,
            SortArg::Expires => KeySortField::Expires,
            SortArg::LastUsed => KeySortField::LastUsed,
            SortArg::State => KeySortField::State,
        }
    }
}

/// Every key `args` asks for, page after page, up to its limit.
async fn listed(client: &ApiClient, args: &ListArgs) -> anyhow::Result<Vec<Key>> {
    let created_by = match &args.created_by {
        Some(who) => Some(resolve::identity(client, who).await?),
        None => None,
    };
    let unused_since = match &args.unused_since {
        Some(window) => {
            let window = crate::ttl::parse_window(window)
                .map_err(|e| exit::usage(format!("--unused-since: {e}")))?;
            Some(now_unix() - window.seconds())
        }
        None => None,
    };
    let limit = args.shape.limit.unwrap_or(usize::MAX);
    let mut keys = Vec::new();
    let mut after = None;
    while keys.len() < limit {
        let page = client
            .list_keys(&KeyQuery {
                all: args.all,
                search: args.search.clone(),
                project: args.project.clone(),
                created_by_deep: created_by.is_some(),
                created_by: created_by.clone(),
                unused_since,
                sort: KeySort {
                    field: args.sort.into(),
                    descending: args.shape.desc,
                },
                first: i64::try_from(limit.saturating_sub(keys.len()).min(500)).unwrap_or(500),
                after,
                ..KeyQuery::default()
            })
            .await?;
        keys.extend(page.items);
        if !page.has_next {
            break;
        }
        after = page.end_cursor;
    }
    keys.truncate(limit);
    Ok(keys)
}

pub async fn list(client: &ApiClient, args: ListArgs) -> anyhow::Result<()> {
    let keys = listed(client, &args).await?;
    if args.shape.json {
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
    let issued = Issued {
        id: &created.id,
        name: &args.name,
        token: created.token.clone().or(local_token),
        expires_at: created.expires_at.as_deref(),
        previous: None,
    };
    let head = format!(
        "Created key \"{}\" ({})\nExpires: {}\n",
        visible(&args.name),
        visible(&created.id),
        visible(created.expires_at.as_deref().unwrap_or("never"))
    );
    issued.report(args.copy, clipboard_mode, args.json, head)
}

/// What `keys rotate` was asked for.
#[derive(clap::Args, Debug)]
pub struct RotateArgs {
    /// The key: its id, a unique prefix of it (6 characters or more), a token prefix (`kd_…`)
    /// or its name (the key in use, when keys it replaced share the name).
    pub key: String,
    /// How long the old key keeps working: 1h, 7d… or 0s to stop it at once (default: 24h,
    /// at most the service's maximum key lifetime).
    #[arg(long)]
    pub grace: Option<String>,
    /// Generate the new token here and send only its SHA-256.
    #[arg(long)]
    pub local_token: bool,
    /// Copy the new token to the clipboard.
    #[arg(long)]
    pub copy: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `keys rotate`: a new key with everything the old one holds, its token shown once; the old
/// key works for the grace period, then expires.
pub async fn rotate(
    client: &ApiClient,
    clipboard_mode: ClipboardMode,
    args: RotateArgs,
) -> anyhow::Result<()> {
    if let Some(grace) = &args.grace {
        crate::ttl::parse_grace(grace).map_err(|e| exit::usage(format!("--grace {grace}: {e}")))?;
    }
    // By name, the key in use: enabled, and not itself replaced already.
    let id = resolve::key(client, &args.key, Prefer::State("enabled")).await?;
    let local_token = if args.local_token {
        Some(token::generate()?)
    } else {
        None
    };
    let rotated = client
        .rotate_key(
            &id,
            args.grace.as_deref(),
            local_token.as_deref().map(token::hash),
        )
        .await?;
    let created = &rotated.created;
    let issued = Issued {
        id: &created.id,
        name: &rotated.name,
        token: created.token.clone().or(local_token),
        expires_at: created.expires_at.as_deref(),
        previous: Some(Previous {
            id: &rotated.previous_id,
            expires_at: rotated.previous_expires_at.as_deref(),
        }),
    };
    let head = format!(
        "Rotated key \"{}\": the new key is {}\nExpires: {}\nThe previous key {} stops working at {}.\n",
        visible(&rotated.name),
        visible(&created.id),
        visible(created.expires_at.as_deref().unwrap_or("never")),
        visible(&rotated.previous_id),
        visible(rotated.previous_expires_at.as_deref().unwrap_or("never")),
    );
    issued.report(args.copy, clipboard_mode, args.json, head)
}

/// A key just created or rotated in, with its token (shown this once), as `--json` prints
/// it; a rotation also names the key it replaced.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Issued<'a> {
    id: &'a str,
    name: &'a str,
    token: Option<String>,
    expires_at: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    previous: Option<Previous<'a>>,
}

/// The key a rotation replaced, and when it stops working.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Previous<'a> {
    id: &'a str,
    expires_at: Option<&'a str>,
}

impl Issued<'_> {
    /// Copies the token when asked, then prints the key: `head` and the token on a terminal,
    /// or one JSON object (with `copied`) for `--json`.
    fn report(
        &self,
        copy: bool,
        clipboard_mode: ClipboardMode,
        json: bool,
        head: String,
    ) -> anyhow::Result<()> {
        let copied = match (&self.token, copy) {
            (Some(t), true) => Some(copy_to_terminal(clipboard_mode, t)),
            _ => None,
        };
        if json {
            #[derive(Serialize)]
            struct WithCopy<'a, 'b> {
                #[serde(flatten)]
                issued: &'a Issued<'b>,
                copied: Option<String>,
            }
            return output::json(&WithCopy {
                issued: self,
                copied: copied.map(|r| r.unwrap_or_else(|e| format!("not copied: {e}"))),
            });
        }
        let mut text = head;
        if let Some(t) = &self.token {
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

/// `keys disable` and `keys enable`: which keys.
#[derive(clap::Args, Debug)]
pub struct ToggleArgs {
    /// Keys by id, a unique prefix of it (6 characters or more), a token prefix (`kd_…`) or
    /// their name.
    pub keys: Vec<String>,
    /// Also every key this identity created, at any depth (an offboarding).
    #[arg(long)]
    pub created_by: Option<String>,
}

/// Disables or enables the keys `args` names, each with its own audit entry; goes on past a
/// refusal and exits 1 if any key was refused.
pub async fn set_enabled(
    client: &ApiClient,
    args: ToggleArgs,
    enabled: bool,
) -> anyhow::Result<()> {
    let prefer = if enabled {
        Prefer::NotState("enabled")
    } else {
        Prefer::State("enabled")
    };
    let mut ids = Vec::new();
    for key in &args.keys {
        ids.push(resolve::key(client, key, prefer).await?);
    }
    if let Some(who) = &args.created_by {
        let created = listed(
            client,
            &ListArgs {
                all: enabled,
                search: None,
                project: None,
                created_by: Some(who.clone()),
                unused_since: None,
                sort: SortArg::Created,
                shape: ListShape::default(),
            },
        )
        .await?;
        ids.extend(created.into_iter().map(|k| k.id));
    }
    if ids.is_empty() {
        return Err(exit::usage(
            "name at least one KEY, or --created-by IDENTITY",
        ));
    }
    let mut text = String::new();
    let mut refused = 0usize;
    let mut done: Vec<String> = Vec::new();
    for id in ids {
        if done.contains(&id) {
            continue;
        }
        match client.set_key_enabled(&id, enabled).await {
            Ok(also) => {
                text.push_str(&format!(
                    "Key {} {}.\n",
                    visible(&id),
                    if enabled { "enabled" } else { "disabled" }
                ));
                if !also.is_empty() {
                    text.push_str(&format!(
                        "Also disabled {} personal key{} it created: {}\n",
                        also.len(),
                        if also.len() == 1 { "" } else { "s" },
                        visible(&also.join(", "))
                    ));
                }
                done.extend(also);
            }
            Err(e) => {
                refused += 1;
                output::note(format!("keydeck: key {}: {e}", visible(&id)));
            }
        }
        done.push(id);
    }
    output::write(&text)?;
    if refused > 0 {
        anyhow::bail!("{refused} key(s) were not changed");
    }
    Ok(())
}

/// `keys find --token-stdin`: the key of a whole token read from stdin. Only the token's
/// SHA-256 leaves this process; the token is neither echoed nor kept.
pub async fn find_by_token(client: &ApiClient, as_json: bool) -> anyhow::Result<()> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("reading the token from stdin")?;
    let token = line.trim();
    if token.is_empty() {
        anyhow::bail!("no token on stdin");
    }
    let hash = crate::token::hash(token);
    let found = client.find_keys(Lookup::TokenHash(&hash)).await?;
    let Some(key) = found.first() else {
        anyhow::bail!(
            "KEY_NOT_FOUND: no key you can see has this token (it may be another service's, or a \
             personal key of someone else)"
        );
    };
    if as_json {
        return output::json(&serde_json::json!({
            "id": key.id,
            "name": key.name,
            "state": key.state,
        }));
    }
    output::line(format_args!(
        "{}  {}  {}",
        visible(&key.id),
        visible(&key.name),
        key.state.as_deref().unwrap_or("")
    ))
}

/// `keys show KEY`: every field of one key, its grants with their projects, who owns it, who
/// disabled it, and the keys it created (at any depth).
pub async fn show(client: &ApiClient, key: &str, as_json: bool) -> anyhow::Result<()> {
    let id = resolve::key(client, key, Prefer::Nothing).await?;
    let found = client
        .list_keys(&KeyQuery {
            all: true,
            id_prefix: Some(id.clone()),
            first: 1,
            ..KeyQuery::default()
        })
        .await?;
    let Some(k) = found.items.into_iter().find(|k| k.id == id) else {
        anyhow::bail!(
            "KEY_NOT_FOUND: no key you can see has the id {}",
            visible(&id)
        );
    };
    let created = match &k.identity {
        Some(identity) => {
            listed(
                client,
                &ListArgs {
                    all: true,
                    search: None,
                    project: None,
                    created_by: Some(identity.id.clone()),
                    unused_since: None,
                    sort: SortArg::Created,
                    shape: ListShape {
                        limit: Some(500),
                        ..ListShape::default()
                    },
                },
            )
            .await?
        }
        None => Vec::new(),
    };
    let created_ids: Vec<&str> = created.iter().map(|c| c.id.as_str()).collect();
    let usage = client.key_usage_totals(&k.id).await?.unwrap_or([
        UsageTotal {
            window: "24h",
            requests: 0,
            refused: 0,
        },
        UsageTotal {
            window: "7d",
            requests: 0,
            refused: 0,
        },
        UsageTotal {
            window: "30d",
            requests: 0,
            refused: 0,
        },
    ]);
    let chain = match &k.owner {
        Some(owner) => client.owner_chain(&owner.id).await?,
        None => Vec::new(),
    };
    if as_json {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Shown<'a> {
            #[serde(flatten)]
            key: KeyJson<'a>,
            owner: Option<&'a str>,
            owner_id: Option<&'a str>,
            /// The owner, who created the owner's key, … up to the bootstrap admin.
            owner_chain: &'a [ChainLink],
            created_keys: &'a [&'a str],
            /// Requests and refusals over the last 24 hours, 7 days and 30 days.
            usage: &'a [UsageTotal],
        }
        return output::json(&Shown {
            key: key_json(&k),
            owner: k.owner.as_ref().map(|o| o.description.as_str()),
            owner_id: k.owner.as_ref().map(|o| o.id.as_str()),
            owner_chain: &chain,
            created_keys: &created_ids,
            usage: &usage,
        });
    }
    let j = key_json(&k);
    let disabled = match (j.disabled_at, j.disabled_by) {
        (None, _) => "no".to_owned(),
        (Some(at), by) => format!(
            "{at}{}{}",
            by.map(|b| format!(" by {b}")).unwrap_or_default(),
            j.disabled_as
                .map(|a| format!(" (as {a})"))
                .unwrap_or_default()
        ),
    };
    let fields: Vec<(&str, String)> = vec![
        ("Id", j.id.to_owned()),
        ("Name", j.name.to_owned()),
        (
            "Prefix",
            j.token_prefix
                .unwrap_or("(made from a tokenHash)")
                .to_owned(),
        ),
        ("Scope", j.scope.clone()),
        ("Visibility", j.visibility.to_owned()),
        ("Permissions", permissions_label(&k.permissions)),
        ("Grants", j.grants.clone()),
        ("State", j.state.to_owned()),
        ("Created", j.created_at.to_owned()),
        ("Expires", j.expires_at.unwrap_or("never").to_owned()),
        ("Last used", j.last_used_at.unwrap_or("never").to_owned()),
        ("Requests", usage_label(&usage)),
        ("Disabled", disabled),
        ("Identity", j.identity_id.unwrap_or("hidden").to_owned()),
        (
            "Owner",
            k.owner.as_ref().map_or_else(
                || "— (bootstrap)".to_owned(),
                |o| format!("{} ({})", o.description, o.id),
            ),
        ),
        ("Owner chain", chain_label(&chain)),
        ("Rotated to", j.rotated_to.unwrap_or("—").to_owned()),
        ("Replaces", j.rotated_from.unwrap_or("—").to_owned()),
        (
            "Created keys",
            if created.is_empty() {
                "none".to_owned()
            } else {
                format!("{}", created.len())
            },
        ),
    ];
    let mut text = String::new();
    for (name, value) in fields {
        text.push_str(&format!("{name:<13}{}\n", visible(&value)));
    }
    // The keys it created, one a line: what an offboarding reads before `keys disable`.
    for c in &created {
        let line = format!(
            "  {} {:<9} {:<8} {}",
            c.id,
            c.token_prefix.as_deref().unwrap_or("(hash)"),
            state_label(&c.state),
            c.description
        );
        text.push_str(&format!("{}\n", visible(&line)));
    }
    output::write(&text)
}

/// `24h: 120 (3 refused) · 7d: 900 (3 refused) · 30d: 4000 (10 refused)`.
fn usage_label(usage: &[UsageTotal]) -> String {
    usage
        .iter()
        .map(|u| format!("{}: {} ({} refused)", u.window, u.requests, u.refused))
        .collect::<Vec<_>>()
        .join(" · ")
}

/// The current time, Unix seconds.
fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// `ops lead ← bootstrap admin`: each identity up the chain; one the caller may not see by
/// its id.
fn chain_label(chain: &[ChainLink]) -> String {
    if chain.is_empty() {
        return "— (bootstrap)".into();
    }
    chain
        .iter()
        .map(|l| match &l.description {
            Some(d) => d.clone(),
            None => format!("{} (not visible to you)", l.id),
        })
        .collect::<Vec<_>>()
        .join(" ← ")
}
