//! `keydeck audit [--key KEY] [--actor IDENTITY] [--action A] [--outcome O] [--since 24h]
//! [--limit N] [--json]`: the audit log, newest first, as far as the service lets the caller
//! read it (super admins everything, project admins their projects', everyone its own keys').

use serde::Serialize;

use super::resolve::{self, Prefer};
use super::{output, stats};
use crate::api::ops::{AuditEntry, AuditTargetKind};
use crate::api::{ApiClient, AuditQuery};

/// Entries printed when `--limit` is not given.
pub const DEFAULT_LIMIT: usize = 100;
/// Entries asked for per request (the service's largest page).
const PAGE: usize = 500;

/// What `keydeck audit` was asked for.
#[derive(clap::Args, Debug, Default)]
pub struct AuditArgs {
    /// Only the entries about this key (its id, a unique prefix of it, its name or its token
    /// prefix `kd_…`), its identity's roles and memberships included.
    #[arg(long)]
    pub key: Option<String>,
    /// Only what this identity did (its id, a unique prefix of it, or its description).
    #[arg(long)]
    pub actor: Option<String>,
    /// Only this mutation, e.g. createApiKey, disableApiKey, addProjectMember.
    #[arg(long)]
    pub action: Option<String>,
    /// Only this outcome: OK, or an error code such as FORBIDDEN.
    #[arg(long)]
    pub outcome: Option<String>,
    /// Only the last stretch of time: a whole number and a unit, e.g. 90m, 24h, 7d.
    #[arg(long)]
    pub since: Option<String>,
    /// At most this many entries, newest first (default 100).
    #[arg(long)]
    pub limit: Option<usize>,
    /// Print JSON (every field of every entry, a stable shape for scripts) instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// One entry as `--json` prints it: every field the service sent, its names.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EntryJson<'a> {
    at: &'a str,
    actor_id: Option<&'a str>,
    actor_name: Option<&'a str>,
    action: &'a str,
    target: Option<&'a str>,
    target_kind: Option<&'static str>,
    target_name: Option<&'a str>,
    key_id: Option<&'a str>,
    project_id: Option<&'a str>,
    outcome: &'a str,
    detail: Option<&'a str>,
    count: i64,
}

fn entry_json(e: &AuditEntry) -> EntryJson<'_> {
    EntryJson {
        at: &e.at,
        actor_id: e.actor_id.as_deref(),
        actor_name: e.actor_name.as_deref(),
        action: &e.action,
        target: e.target.as_deref(),
        target_kind: e.target_kind.as_ref().and_then(kind_label),
        target_name: e.target_name.as_deref(),
        key_id: e.key_id.as_deref(),
        project_id: e.project_id.as_deref(),
        outcome: &e.outcome,
        detail: e.detail.as_deref(),
        count: e.count,
    }
}

fn kind_label(kind: &AuditTargetKind) -> Option<&'static str> {
    match kind {
        AuditTargetKind::KEY => Some("key"),
        AuditTargetKind::IDENTITY => Some("identity"),
        AuditTargetKind::PROJECT => Some("project"),
        AuditTargetKind::Other(_) => None,
    }
}

/// The query `args` asks for, names resolved to ids, `--since` from now.
async fn query(client: &ApiClient, args: &AuditArgs) -> anyhow::Result<AuditQuery> {
    let since = args.since.as_deref().map(stats::parse_since).transpose()?;
    let target = match &args.key {
        Some(key) => Some(resolve::key(client, key, Prefer::Nothing).await?),
        None => None,
    };
    let actor_id = match &args.actor {
        Some(actor) => Some(resolve::identity(client, actor).await?),
        None => None,
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    Ok(AuditQuery {
        target,
        actor_id,
        action: args.action.clone(),
        outcome: args.outcome.clone(),
        since: since.map(|window| now - window.seconds()),
        until: None,
        first: 0,
        after: None,
    })
}

pub async fn audit(client: &ApiClient, args: AuditArgs) -> anyhow::Result<()> {
    let mut query = query(client, &args).await?;
    let limit = args.limit.unwrap_or(DEFAULT_LIMIT);
    let mut entries: Vec<AuditEntry> = Vec::new();
    while entries.len() < limit {
        query.first = i64::try_from((limit - entries.len()).min(PAGE)).unwrap_or(1);
        let page = client.audit_log(&query).await?;
        entries.extend(page.items.into_iter().map(|(_, e)| e));
        if !page.has_next {
            break;
        }
        query.after = page.end_cursor;
    }
    entries.truncate(limit);
    if args.json {
        return output::json(&entries.iter().map(entry_json).collect::<Vec<_>>());
    }
    let rows: Vec<Vec<String>> = entries.iter().map(row).collect();
    output::table(
        &[
            "AT", "ACTOR", "ACTION", "TARGET", "OUTCOME", "COUNT", "DETAIL",
        ],
        &rows,
    )
}

/// An entry as the table writes it: names where the service knew them, ids otherwise.
fn row(e: &AuditEntry) -> Vec<String> {
    let actor = match (&e.actor_name, &e.actor_id) {
        (Some(name), _) => name.clone(),
        (None, Some(id)) => id.clone(),
        (None, None) => "(service)".to_owned(),
    };
    let target = match (&e.target_name, &e.target) {
        (Some(name), Some(id)) => format!("{name} ({})", short(id)),
        (None, Some(id)) => id.clone(),
        (_, None) => "-".to_owned(),
    };
    vec![
        e.at.clone(),
        actor,
        e.action.clone(),
        target,
        e.outcome.clone(),
        e.count.to_string(),
        e.detail.clone().unwrap_or_default(),
    ]
}

/// The first 8 characters of an id: enough to tell rows apart, short enough for a column.
fn short(id: &str) -> &str {
    id.char_indices().nth(8).map_or(id, |(i, _)| &id[..i])
}
