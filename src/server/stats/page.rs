//! The page `queryUrl` points at: one statement, whole, with its figures, as plain HTML.
//!
//! Everything shown comes from the monitored database, and a statement's text is whatever a
//! client sent (a comment can hold `</pre><script>`), so every value is escaped and the page
//! is served with a policy that forbids scripts, frames and outside resources anyway.

use std::fmt::Write as _;

use super::QueryStat;

/// `Content-Security-Policy` for the page: nothing but its own inline style.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// The page of `stat`, a statement of database `database`.
pub fn render(database: &str, stat: &QueryStat) -> String {
    let mut figures = String::new();
    let mut row = |name: &str, value: String| {
        let _ = writeln!(
            figures,
            "<tr><th>{}</th><td>{}</td></tr>",
            escape(name),
            escape(&value)
        );
    };
    row("Database", database.to_owned());
    row("Statement id", stat.id.to_string());
    row("Statement type", stat.statement_types.join(", "));
    row("Tables", stat.table_names.join(", "));
    row("Calls", stat.total_calls.to_string());
    row("Average time", format!("{:.3} ms", stat.avg_time));
    row(
        "Buffer hit ratio",
        stat.buffer_hit_ratio
            .map_or_else(|| "no buffers read".to_owned(), |r| format!("{r:.2} %")),
    );
    row("Share of total time", format!("{:.2} %", stat.pct_of_total));
    row("Average I/O time", format!("{:.3} ms", stat.avg_io_time));
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>{title}</title>\n\
         <style>body{{font-family:sans-serif;margin:2em}}pre{{white-space:pre-wrap;\
         overflow-wrap:anywhere;background:#f4f4f4;padding:1em}}th{{text-align:left;\
         padding-right:2em}}</style>\n</head>\n<body>\n<h1>{title}</h1>\n\
         <pre>{query}</pre>\n<table>\n{figures}</table>\n\
         <p>Figures since pg_stat_statements was last reset.</p>\n</body>\n</html>\n",
        title = escape(&format!("Statement {} on {database}", stat.id.as_str())),
        query = escape(&stat.normalized_query),
    )
}

/// `text` as HTML text or attribute value.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use async_graphql::ID;

    use super::*;

    #[test]
    fn the_page_escapes_everything_it_shows() {
        let hostile = "SELECT /* </pre><script>alert('x')</script> & \"q\" */ $1";
        let stat = QueryStat {
            id: ID("42".into()),
            query_url: String::new(),
            truncated_query: String::new(),
            normalized_query: hostile.to_owned(),
            statement_type: vec!["SELECT".into()],
            statement_types: vec!["SELECT".into()],
            table_names: vec!["<b>t</b>".into()],
            total_calls: 3,
            avg_time: 1.5,
            buffer_hit_ratio: None,
            pct_of_total: 100.0,
            avg_io_time: 0.0,
        };
        let page = render("<app>", &stat);
        assert!(!page.contains("<script>") && !page.contains("<b>") && !page.contains("<app>"));
        assert!(page.contains(
            "&lt;/pre&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        ));
        assert!(page.contains("Statement 42 on &lt;app&gt;"));
        assert!(page.contains("<td>3</td>") && page.contains("no buffers read"));
    }
}
