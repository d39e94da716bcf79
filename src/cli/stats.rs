//! `keydeck stats --database ID|NAME [--since 1h] [--json]`: a monitored database's
//! statements, busiest first, over the service's default window or the last `--since`; and
//! `keydeck databases list`, the databases it can name.

use serde::Serialize;

use super::{exit, output, resolve};
use crate::api::ApiClient;
use crate::ttl::Ttl;

/// One statement as `--json` prints it: every field the service sent, pganalyze's names.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StatJson<'a> {
    id: &'a str,
    query_url: &'a str,
    pct_of_total: f64,
    total_calls: i64,
    avg_time: f64,
    avg_io_time: f64,
    buffer_hit_ratio: Option<f64>,
    statement_types: &'a [String],
    table_names: &'a [String],
    truncated_query: &'a str,
    normalized_query: &'a str,
}

/// How far back `--since` reaches: a whole number and a unit, as key TTLs are written
/// (`90m`, `1h`, `24h`, `7d`); a mistake there is a usage error.
pub fn parse_since(since: &str) -> anyhow::Result<Ttl> {
    crate::ttl::parse_window(since).map_err(|e| exit::usage(format!("--since: {e}")))
}

/// `database` is the database's id or its name, as `keydeck serve --monitor NAME=…` gave it;
/// `since` is sent as `startTs` (now minus it), and a service that cannot serve windows says
/// so as any refusal is said.
pub async fn stats(
    client: &ApiClient,
    database: &str,
    since: Option<&str>,
    as_json: bool,
) -> anyhow::Result<()> {
    let since = since.map(parse_since).transpose()?;
    let id = resolve::database(client, database).await?;
    let mut stats = client.query_stats(&id, since).await?;
    stats.sort_by(|a, b| b.pct_of_total.total_cmp(&a.pct_of_total));
    let rows: Vec<StatJson> = stats
        .iter()
        .map(|s| StatJson {
            id: &s.id,
            query_url: &s.query_url,
            pct_of_total: s.pct_of_total,
            total_calls: s.total_calls,
            avg_time: s.avg_time,
            avg_io_time: s.avg_io_time,
            buffer_hit_ratio: s.buffer_hit_ratio,
            statement_types: &s.statement_types,
            table_names: &s.table_names,
            truncated_query: &s.truncated_query,
            normalized_query: &s.normalized_query,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_minutes_hours_and_days() {
        for (text, secs) in [
            ("90m", 5_400),
            ("1h", 3_600),
            ("24h", 86_400),
            ("7d", 604_800),
        ] {
            assert_eq!(parse_since(text).unwrap().seconds(), secs, "{text}");
        }
        let refused = parse_since("3y").unwrap_err();
        assert_eq!(exit::code(&refused), exit::USAGE);
        assert!(refused.to_string().contains("e.g. 90m"), "{refused}");
    }
}

/// One monitored database as `databases list --json` prints it.
#[derive(Serialize)]
struct DatabaseJson<'a> {
    id: &'a str,
    name: &'a str,
    /// `ok`, or what is wrong (`unreachable`, `no pg_stat_statements`).
    state: &'a str,
    /// Why, as the service said; empty when ok.
    reason: &'a str,
}

/// `keydeck databases list`: the monitored databases, their ids and states.
pub async fn databases(client: &ApiClient, as_json: bool) -> anyhow::Result<()> {
    let databases = client.databases().await?;
    let rows: Vec<DatabaseJson<'_>> = databases
        .iter()
        .map(|d| DatabaseJson {
            id: &d.id,
            name: &d.name,
            state: d.problem.as_ref().map_or("ok", |p| p.label),
            reason: d.problem.as_ref().map_or("", |p| p.reason.as_str()),
        })
        .collect();
    if as_json {
        return output::json(&rows);
    }
    if rows.is_empty() {
        return output::line(
            "This service monitors no database: start it with --monitor NAME=postgres://… \
             (or --monitor-file).",
        );
    }
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|d| {
            vec![
                d.id.to_owned(),
                d.name.to_owned(),
                d.state.to_owned(),
                d.reason.to_owned(),
            ]
        })
        .collect();
    output::table(&["ID", "NAME", "STATE", "REASON"], &table)
}
