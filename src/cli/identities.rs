//! `keydeck identities list [--search S] [--role R] [--sort name|created] [--desc]
//! [--limit N] [--json]`.

use std::collections::BTreeMap;

use serde::Serialize;

use super::output::{self, ListShape};
use crate::api::wording::membership_label;
use crate::api::{ApiClient, IdentityQuery, IdentitySort, IdentitySortField};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct IdentityJson {
    id: String,
    description: String,
    roles: Vec<String>,
    /// `slug:role`, as before `projectMemberships` existed (kept for scripts).
    memberships: Vec<String>,
    /// Each membership with its variables' values.
    project_memberships: Vec<MembershipJson>,
}

#[derive(Serialize)]
struct MembershipJson {
    project: String,
    role: String,
    variables: BTreeMap<String, Vec<String>>,
}

/// Identities per request. The service prices a request by its whole document, and each
/// identity's memberships make a page of 500 cost more than it allows.
const PAGE: i64 = 200;

/// `identities list`: which identities, and how.
#[derive(clap::Args, Debug)]
pub struct ListArgs {
    /// Identities whose description or id contains this text (any case).
    #[arg(long)]
    pub search: Option<String>,
    /// Only identities holding this global role.
    #[arg(long)]
    pub role: Option<String>,
    /// The order, kept by the service across every page.
    #[arg(long, value_enum, default_value = "created")]
    pub sort: SortArg,
    #[command(flatten)]
    pub shape: ListShape,
}

/// What `identities list --sort` takes.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default)]
pub enum SortArg {
    /// By description, any case.
    Name,
    #[default]
    Created,
}

impl From<SortArg> for IdentitySortField {
    fn from(arg: SortArg) -> Self {
        match arg {
            SortArg::Name => IdentitySortField::Name,
            SortArg::Created => IdentitySortField::Created,
        }
    }
}

pub async fn list(client: &ApiClient, args: ListArgs) -> anyhow::Result<()> {
    let limit = args.shape.limit.unwrap_or(usize::MAX);
    let mut out = Vec::new();
    let mut after = None;
    while out.len() < limit {
        let page = client
            .identities(&IdentityQuery {
                search: args.search.clone(),
                role: args.role.clone(),
                sort: IdentitySort {
                    field: args.sort.into(),
                    descending: args.shape.desc,
                },
                first: i64::try_from(limit.saturating_sub(out.len()).min(PAGE as usize))
                    .unwrap_or(PAGE),
                after,
                ..IdentityQuery::default()
            })
            .await?;
        for i in page.items {
            let project_memberships: Vec<MembershipJson> = i
                .projects
                .iter()
                .flat_map(|p| {
                    p.memberships.iter().map(move |m| MembershipJson {
                        project: p.project.slug.clone(),
                        role: m.role.clone(),
                        variables: m
                            .variables
                            .iter()
                            .map(|v| (v.name.clone(), v.values.clone()))
                            .collect(),
                    })
                })
                .collect();
            out.push(IdentityJson {
                id: i.id,
                description: i.description,
                roles: i.roles,
                memberships: project_memberships
                    .iter()
                    .map(|m| format!("{}:{}", m.project, m.role))
                    .collect(),
                project_memberships,
            });
        }
        if !page.has_next {
            break;
        }
        after = page.end_cursor;
    }
    out.truncate(limit);
    if args.shape.json {
        return output::json(&out);
    }
    let rows: Vec<Vec<String>> = out
        .iter()
        .map(|i| {
            let memberships: Vec<String> = i
                .project_memberships
                .iter()
                .map(|m| {
                    let label = membership_label(
                        &m.role,
                        m.variables.iter().map(|(n, v)| (n.as_str(), v.as_slice())),
                    );
                    format!("{}:{label}", m.project)
                })
                .collect();
            vec![
                i.id.clone(),
                i.description.clone(),
                i.roles.join(","),
                memberships.join(", "),
            ]
        })
        .collect();
    output::table(&["ID", "DESCRIPTION", "ROLES", "MEMBERSHIPS"], &rows)
}
