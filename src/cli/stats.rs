//! `keydeck stats --database ID|NAME`: a monitored database's statements, busiest first.

use serde::Serialize;

use super::{output, resolve};
use crate::api::ApiClient;

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

/// `database` is the database's id or its name, as `keydeck serve --monitor NAME=…` gave it.
pub async fn stats(client: &ApiClient, database: &str, as_json: bool) -> anyhow::Result<()> {
    let id = resolve::database(client, database).await?;
    let mut stats = client.query_stats(&id).await?;
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
    )
}
