//! What a normalized statement does and to which tables, read with PostgreSQL's own parser
//! (`pg_query`, libpg_query), so `WITH … UPDATE`, `COPY … WITH (freeze on)`, VACUUM, TRUNCATE
//! and `DROP TABLE IF EXISTS` are understood the way the server understands them.
//!
//! A statement the parser refuses (pg_stat_statements' normalized text is not always valid SQL:
//! `SET x = $1`) still gets a type: its first keyword.

use std::collections::BTreeSet;

use pg_query::NodeEnum;
use pg_query::protobuf::{ObjectType, TransactionStmtKind, VariableSetKind};

/// Texts longer than this are not parsed: pg_stat_statements keeps whole statements, and a
/// multi-megabyte generated INSERT would cost more to parse than its type and tables are worth.
const MAX_PARSED_BYTES: usize = 256 * 1024;

/// A statement's types (pganalyze's `statementType`) and the tables it names (`tableNames`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Statement {
    /// Upper-case command names, the top-level command first, then those of its CTEs, once
    /// each: `WITH u AS (UPDATE …) SELECT …` is `["SELECT", "UPDATE"]`.
    pub types: Vec<String>,
    /// Tables as written (`schema.table` when qualified), sorted, each once; CTE names are not
    /// tables.
    pub tables: Vec<String>,
}

impl Statement {
    /// Reads `text` with PostgreSQL's parser; falls back to the first keyword when it refuses.
    pub fn parse(text: &str) -> Statement {
        if text.len() <= MAX_PARSED_BYTES {
            // pg_query's tree walk panics (rather than erring) on a few shapes it does not
            // expect; a statement we cannot read must not take the request down with it.
            let parsed = std::panic::catch_unwind(|| pg_query::parse(text, 0));
            if let Ok(Ok(parsed)) = parsed {
                return Statement::from_tree(text, &parsed);
            }
        }
        Statement {
            types: first_keyword(text).into_iter().collect(),
            tables: Vec::new(),
        }
    }

    fn from_tree(text: &str, parsed: &pg_query::ParseResult) -> Statement {
        let mut types: Vec<String> = Vec::new();
        let mut add = |kind: Option<String>| {
            if let Some(kind) = kind
                && !types.contains(&kind)
            {
                types.push(kind);
            }
        };
        for raw in &parsed.protobuf.stmts {
            let own_text = usize::try_from(raw.stmt_location)
                .ok()
                .and_then(|at| text.get(at..))
                .unwrap_or(text);
            let node = raw.stmt.as_ref().and_then(|n| n.node.as_ref());
            add(node.and_then(command).or_else(|| first_keyword(own_text)));
        }
        for (node, ..) in parsed.protobuf.nodes() {
            if let pg_query::NodeRef::CommonTableExpr(cte) = node {
                add(cte
                    .ctequery
                    .as_ref()
                    .and_then(|q| q.node.as_ref())
                    .and_then(command));
            }
        }
        let tables: BTreeSet<String> = parsed
            .tables()
            .into_iter()
            .filter(|t| !parsed.cte_names.contains(t))
            .collect();
        Statement {
            types,
            tables: tables.into_iter().collect(),
        }
    }
}

/// The command a parsed statement runs, named as PostgreSQL's command tags name it; `None` for
/// kinds not named here, which then take their first keyword.
fn command(node: &NodeEnum) -> Option<String> {
    let name = match node {
        NodeEnum::SelectStmt(_) => "SELECT",
        NodeEnum::InsertStmt(_) => "INSERT",
        NodeEnum::UpdateStmt(_) => "UPDATE",
        NodeEnum::DeleteStmt(_) => "DELETE",
        NodeEnum::MergeStmt(_) => "MERGE",
        NodeEnum::CopyStmt(_) => "COPY",
        NodeEnum::TruncateStmt(_) => "TRUNCATE",
        NodeEnum::VacuumStmt(v) if v.is_vacuumcmd => "VACUUM",
        NodeEnum::VacuumStmt(_) => "ANALYZE",
        NodeEnum::ExplainStmt(_) => "EXPLAIN",
        NodeEnum::CreateStmt(_) => "CREATE TABLE",
        NodeEnum::CreateTableAsStmt(c) => match ObjectType::try_from(c.objtype) {
            Ok(ObjectType::ObjectMatview) => "CREATE MATERIALIZED VIEW",
            _ => "CREATE TABLE AS",
        },
        NodeEnum::IndexStmt(_) => "CREATE INDEX",
        NodeEnum::ViewStmt(_) => "CREATE VIEW",
        NodeEnum::CreateSeqStmt(_) => "CREATE SEQUENCE",
        NodeEnum::CreateSchemaStmt(_) => "CREATE SCHEMA",
        NodeEnum::CreateFunctionStmt(f) if f.is_procedure => "CREATE PROCEDURE",
        NodeEnum::CreateFunctionStmt(_) => "CREATE FUNCTION",
        NodeEnum::CreateExtensionStmt(_) => "CREATE EXTENSION",
        NodeEnum::DropStmt(d) => return Some(format!("DROP {}", object(d.remove_type)?)),
        NodeEnum::AlterTableStmt(a) => return Some(format!("ALTER {}", object(a.objtype)?)),
        NodeEnum::TransactionStmt(t) => match TransactionStmtKind::try_from(t.kind).ok()? {
            TransactionStmtKind::TransStmtBegin => "BEGIN",
            TransactionStmtKind::TransStmtStart => "START TRANSACTION",
            TransactionStmtKind::TransStmtCommit => "COMMIT",
            TransactionStmtKind::TransStmtRollback => "ROLLBACK",
            TransactionStmtKind::TransStmtSavepoint => "SAVEPOINT",
            TransactionStmtKind::TransStmtRelease => "RELEASE",
            TransactionStmtKind::TransStmtRollbackTo => "ROLLBACK",
            TransactionStmtKind::TransStmtPrepare => "PREPARE TRANSACTION",
            TransactionStmtKind::TransStmtCommitPrepared => "COMMIT PREPARED",
            TransactionStmtKind::TransStmtRollbackPrepared => "ROLLBACK PREPARED",
            TransactionStmtKind::Undefined => return None,
        },
        NodeEnum::VariableSetStmt(s) => match VariableSetKind::try_from(s.kind).ok()? {
            VariableSetKind::VarReset | VariableSetKind::VarResetAll => "RESET",
            _ => "SET",
        },
        NodeEnum::VariableShowStmt(_) => "SHOW",
        _ => return None,
    };
    Some(name.to_owned())
}

/// `OBJECT_FOREIGN_TABLE` → `FOREIGN TABLE`, as DROP and ALTER name what they act on.
fn object(object_type: i32) -> Option<String> {
    let object_type = ObjectType::try_from(object_type).ok()?;
    let name = match object_type {
        ObjectType::Undefined => return None,
        ObjectType::ObjectMatview => "MATERIALIZED VIEW",
        other => other.as_str_name().trim_start_matches("OBJECT_"),
    };
    Some(name.replace('_', " "))
}

/// The first word of a statement, upper-cased, past comments and opening parentheses.
fn first_keyword(text: &str) -> Option<String> {
    let mut rest = text;
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '(');
        if let Some(line_comment) = rest.strip_prefix("--") {
            rest = line_comment.split_once('\n').map_or("", |(_, after)| after);
        } else if rest.starts_with("/*") {
            rest = past_block_comment(rest);
        } else {
            break;
        }
    }
    let word: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphabetic() || *c == '_')
        .collect();
    (!word.is_empty()).then(|| word.to_ascii_uppercase())
}

/// What follows the block comment `text` starts with; PostgreSQL's block comments nest.
fn past_block_comment(text: &str) -> &str {
    let mut depth = 0usize;
    let mut at = 0;
    while at < text.len() {
        let rest = &text[at..];
        if rest.starts_with("/*") {
            depth += 1;
            at += 2;
        } else if rest.starts_with("*/") {
            depth -= 1;
            at += 2;
            if depth == 0 {
                return &text[at..];
            }
        } else {
            at += rest.chars().next().map_or(1, char::len_utf8);
        }
    }
    ""
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> (Vec<String>, Vec<String>) {
        let s = Statement::parse(text);
        (s.types, s.tables)
    }

    #[test]
    fn the_seed_update_with_placeholders() {
        let (types, tables) =
            read("UPDATE \"pgbench_accounts\" SET abalance = $1 WHERE \"aid\" = $2");
        assert_eq!(types, ["UPDATE"]);
        assert_eq!(tables, ["pgbench_accounts"]);
        let (types, tables) =
            read("UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2");
        assert_eq!(types, ["UPDATE"]);
        assert_eq!(tables, ["pgbench_accounts"]);
    }

    #[test]
    fn copy_with_options() {
        let (types, tables) = read("COPY pgbench_accounts FROM STDIN WITH (freeze on)");
        assert_eq!(types, ["COPY"]);
        assert_eq!(tables, ["pgbench_accounts"]);
        let (types, tables) = read("copy (select * from a join b using (id)) to stdout");
        assert_eq!(types, ["COPY"]);
        assert_eq!(tables, ["a", "b"]);
    }

    #[test]
    fn ctes_with_joins_and_subqueries() {
        let q = "WITH moved AS (UPDATE accounts SET balance = balance - $1 WHERE id = $2 RETURNING id), \
                 recent AS (SELECT t.id FROM tellers t JOIN branches b ON b.id = t.bid WHERE t.x > $3) \
                 SELECT m.id FROM moved m JOIN recent r ON r.id = m.id \
                 WHERE m.id IN (SELECT aid FROM history WHERE delta > $4)";
        let (types, tables) = read(q);
        assert_eq!(types, ["SELECT", "UPDATE"]);
        assert_eq!(tables, ["accounts", "branches", "history", "tellers"]);
    }

    #[test]
    fn schema_qualified_names_are_kept_as_written() {
        let (types, tables) =
            read("INSERT INTO audit.events (id) SELECT id FROM public.t JOIN t ON true");
        assert_eq!(types, ["INSERT"]);
        assert_eq!(tables, ["audit.events", "public.t", "t"]);
    }

    #[test]
    fn maintenance_and_ddl_name_their_tables() {
        let cases: [(&str, &str, &[&str]); 7] = [
            ("VACUUM pgbench_branches", "VACUUM", &["pgbench_branches"]),
            ("vacuum (analyze) s.a, b", "VACUUM", &["b", "s.a"]),
            ("ANALYZE pgbench_tellers", "ANALYZE", &["pgbench_tellers"]),
            (
                "TRUNCATE pgbench_history, s.other",
                "TRUNCATE",
                &["pgbench_history", "s.other"],
            ),
            (
                "DROP TABLE IF EXISTS pgbench_accounts, pgbench_branches",
                "DROP TABLE",
                &["pgbench_accounts", "pgbench_branches"],
            ),
            (
                "CREATE TABLE IF NOT EXISTS app.kv (k text PRIMARY KEY, v text)",
                "CREATE TABLE",
                &["app.kv"],
            ),
            ("ALTER TABLE t ADD COLUMN c int", "ALTER TABLE", &["t"]),
        ];
        for (text, kind, names) in cases {
            assert_eq!(
                read(text),
                (vec![kind.to_owned()], strings(names)),
                "{text}"
            );
        }
    }

    #[test]
    fn refused_statements_take_their_first_keyword() {
        // pg_stat_statements writes `SET x = $1`, which the grammar does not accept.
        assert_eq!(
            read("SET application_name = $1"),
            (strings(&["SET"]), vec![])
        );
        assert_eq!(
            read("/* app */ -- note\n  (selec 1"),
            (strings(&["SELEC"]), vec![])
        );
        assert_eq!(read("  "), (vec![], vec![]));
        assert_eq!(
            read("/* /* nested */ */ frobnicate"),
            (strings(&["FROBNICATE"]), vec![])
        );
        assert_eq!(read("/* unterminated"), (vec![], vec![]));
        assert_eq!(read("nul\0byte"), (strings(&["NUL"]), vec![]));
    }

    #[test]
    fn other_commands_are_named() {
        assert_eq!(read("BEGIN").0, ["BEGIN"]);
        assert_eq!(read("select $1").0, ["SELECT"]);
        assert_eq!(read("CHECKPOINT").0, ["CHECKPOINT"]);
        assert_eq!(read("DROP INDEX IF EXISTS i").0, ["DROP INDEX"]);
        assert_eq!(read("SHOW work_mem").0, ["SHOW"]);
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }
}
