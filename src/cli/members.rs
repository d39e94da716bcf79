//! `keydeck members list|add|update|remove`: who is a member of a project, with which roles
//! and variable values, at any number of projects.

use std::collections::BTreeMap;

use serde::Serialize;

use super::output;
use super::resolve;
use crate::api::wording::{membership_label, narrowed_note};
use crate::api::{ApiClient, MembershipSpec};
use crate::text::visible;

/// What `members add` and `members update` take.
#[derive(clap::Args, Debug)]
pub struct MemberArgs {
    /// The identity: its id, a unique prefix of it (6 characters or more), or its description.
    pub identity: String,
    /// The project's slug.
    #[arg(long)]
    pub project: String,
    /// A role with its variables' values: `ROLE`, `ROLE:VAR=V1,V2;VAR2=V3`, or
    /// `ROLE(VAR=V1,V2)` as listings print it. Repeat for several roles.
    #[arg(long = "membership", required = true)]
    pub memberships: Vec<String>,
}

#[derive(Serialize)]
struct MemberJson<'a> {
    identity_id: &'a str,
    description: &'a str,
    memberships: Vec<MembershipJson<'a>>,
}

#[derive(Serialize)]
struct MembershipJson<'a> {
    role: &'a str,
    variables: BTreeMap<&'a str, &'a [String]>,
}

/// `members list --project SLUG`.
pub async fn list(client: &ApiClient, project: &str, as_json: bool) -> anyhow::Result<()> {
    let Some(members) = client.project_members(project).await? else {
        anyhow::bail!(
            "PROJECT_NOT_FOUND: no project you can see has the slug “{}”",
            visible(project)
        );
    };
    let members: Vec<MemberJson<'_>> = members
        .iter()
        .map(|m| MemberJson {
            identity_id: &m.identity.id,
            description: &m.identity.description,
            memberships: m
                .memberships
                .iter()
                .map(|ms| MembershipJson {
                    role: &ms.role,
                    variables: ms
                        .variables
                        .iter()
                        .map(|v| (v.name.as_str(), v.values.as_slice()))
                        .collect(),
                })
                .collect(),
        })
        .collect();
    if as_json {
        return output::json(&members);
    }
    let rows: Vec<Vec<String>> = members
        .iter()
        .map(|m| {
            let labels: Vec<String> = m
                .memberships
                .iter()
                .map(|ms| membership_label(ms.role, ms.variables.iter().map(|(n, v)| (*n, *v))))
                .collect();
            vec![
                m.identity_id.to_owned(),
                m.description.to_owned(),
                labels.join(", "),
            ]
        })
        .collect();
    output::table(&["IDENTITY", "DESCRIPTION", "MEMBERSHIPS"], &rows)
}

/// `members add` (`update`: `already_member`): sets the identity's memberships in the project.
pub async fn set(client: &ApiClient, args: MemberArgs, already_member: bool) -> anyhow::Result<()> {
    let memberships = args
        .memberships
        .iter()
        .map(|m| MembershipSpec::parse(m))
        .collect::<Result<Vec<_>, _>>()
        .map_err(super::exit::usage)?;
    let id = resolve::identity(client, &args.identity).await?;
    let narrowed = client
        .set_membership(&args.project, &id, &memberships, already_member)
        .await?;
    let labels: Vec<String> = memberships.iter().map(MembershipSpec::label).collect();
    output::line(format_args!(
        "{} {} in {}: {}.{}",
        if already_member { "Updated" } else { "Added" },
        visible(&id),
        visible(&args.project),
        visible(&labels.join(", ")),
        narrowed_note(narrowed.len())
    ))
}

/// `members remove IDENTITY --project SLUG`.
pub async fn remove(client: &ApiClient, identity: &str, project: &str) -> anyhow::Result<()> {
    let id = resolve::identity(client, identity).await?;
    let narrowed = client.set_membership(project, &id, &[], true).await?;
    output::line(format_args!(
        "Removed {} from {}.{}",
        visible(&id),
        visible(project),
        narrowed_note(narrowed.len())
    ))
}
