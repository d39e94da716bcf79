//! `keydeck identities list`, `keydeck roles add|remove`, `keydeck stats`.

use serde::Serialize;

use super::output;
use crate::api::ApiClient;
use crate::text::visible;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct IdentityJson {
    id: String,
    description: String,
    roles: Vec<String>,
    memberships: Vec<String>,
}

pub async fn list(client: &ApiClient, as_json: bool) -> anyhow::Result<()> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = client.list_identities(500, after).await?;
        for i in page.items {
            let memberships = i
                .projects
                .iter()
                .flat_map(|p| {
                    p.memberships
                        .iter()
                        .map(move |m| format!("{}:{}", p.project.slug, m.role))
                })
                .collect();
            out.push(IdentityJson {
                id: i.id,
                description: i.description,
                roles: i.roles,
                memberships,
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
            vec![
                i.id.clone(),
                i.description.clone(),
                i.roles.join(","),
                i.memberships.join(","),
            ]
        })
        .collect();
    output::table(&["ID", "DESCRIPTION", "ROLES", "MEMBERSHIPS"], &rows);
    Ok(())
}

pub async fn change_roles(
    client: &ApiClient,
    identity: &str,
    roles: &[String],
    grant: bool,
) -> anyhow::Result<()> {
    client.change_roles(identity, roles, grant).await?;
    let verb = if grant { "Added" } else { "Removed" };
    println!(
        "{verb} {} for identity {}.",
        visible(&roles.join(", ")),
        visible(identity)
    );
    Ok(())
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StatJson<'a> {
    id: &'a str,
    pct_of_total: f64,
    total_calls: i64,
    avg_time: f64,
    buffer_hit_ratio: Option<f64>,
    statement_types: &'a [String],
    table_names: &'a [String],
    truncated_query: &'a str,
}

pub async fn stats(client: &ApiClient, database: &str, as_json: bool) -> anyhow::Result<()> {
    let mut stats = client.query_stats(database).await?;
    stats.sort_by(|a, b| b.pct_of_total.total_cmp(&a.pct_of_total));
    let rows: Vec<StatJson> = stats
        .iter()
        .map(|s| StatJson {
            id: &s.id,
            pct_of_total: s.pct_of_total,
            total_calls: s.total_calls,
            avg_time: s.avg_time,
            buffer_hit_ratio: s.buffer_hit_ratio,
            statement_types: &s.statement_types,
            table_names: &s.table_names,
            truncated_query: &s.truncated_query,
        })
        .collect();
    if as_json {
        return output::json(&rows);
    }
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|s| {
            vec![
                format!("{:.1}%", s.pct_of_total),
                s.total_calls.to_string(),
                format!("{:.2}", s.avg_time),
                s.buffer_hit_ratio
                    .map_or("-".into(), |r| format!("{r:.1}%")),
                s.statement_types.join(","),
                s.table_names.join(","),
                s.truncated_query.to_owned(),
            ]
        })
        .collect();
    output::table(
        &[
            "%TOTAL", "CALLS", "AVG_MS", "HIT", "TYPE", "TABLES", "QUERY",
        ],
        &table,
    );
    Ok(())
}
