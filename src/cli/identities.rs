//! `keydeck identities list [--search S] [--role R]`.

use std::collections::BTreeMap;

use serde::Serialize;

use super::output::{self, membership_label};
use crate::api::{ApiClient, IdentityQuery};

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

pub async fn list(
    client: &ApiClient,
    search: Option<String>,
    role: Option<String>,
    as_json: bool,
) -> anyhow::Result<()> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = client
            .identities(&IdentityQuery {
                search: search.clone(),
                role: role.clone(),
                first: PAGE,
                after,
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
    if as_json {
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
