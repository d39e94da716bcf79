//! NUL (U+0000) in a string argument: no store takes it (SQLite's text ends there, PostgreSQL
//! refuses the byte), so a request carrying one, in its document or its variables, is refused
//! as `BAD_USER_INPUT` before anything touches the store (and audited like any refusal).

use async_graphql::parser::Positioned;
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Name, Variables};
use async_graphql_value::{ConstValue, Value};

/// What the refusal says.
pub const MESSAGE: &str = "a string argument contains NUL (U+0000), which no name, search or \
    value may hold; remove it";

/// Whether any string of `variables` (or any key of an object in them) holds NUL.
pub fn in_variables(variables: &Variables) -> bool {
    variables
        .iter()
        .any(|(name, value)| has_nul(name) || const_has_nul(value))
}

/// Whether any literal string of `document` holds NUL: field and directive arguments in every
/// operation and fragment, and variables' default values.
pub fn in_document(document: &ExecutableDocument) -> bool {
    let operations = document.operations.iter().map(|(_, op)| &op.node);
    for operation in operations.clone() {
        let defaults = operation
            .variable_definitions
            .iter()
            .filter_map(|v| v.node.default_value.as_ref());
        if defaults.into_iter().any(|d| const_has_nul(&d.node)) {
            return true;
        }
        let directives = operation.directives.iter().flat_map(|d| &d.node.arguments);
        if directives.into_iter().any(|(_, v)| value_has_nul(&v.node)) {
            return true;
        }
    }
    operations
        .map(|op| &op.selection_set.node)
        .chain(
            document
                .fragments
                .values()
                .map(|f| &f.node.selection_set.node),
        )
        .any(set_has_nul)
}

fn set_has_nul(set: &SelectionSet) -> bool {
    set.items.iter().any(|item| match &item.node {
        Selection::Field(field) => {
            let field = &field.node;
            arguments_have_nul(&field.arguments)
                || field
                    .directives
                    .iter()
                    .any(|d| arguments_have_nul(&d.node.arguments))
                || set_has_nul(&field.selection_set.node)
        }
        Selection::InlineFragment(inline) => set_has_nul(&inline.node.selection_set.node),
        Selection::FragmentSpread(_) => false,
    })
}

fn arguments_have_nul(arguments: &[(Positioned<Name>, Positioned<Value>)]) -> bool {
    arguments.iter().any(|(_, v)| value_has_nul(&v.node))
}

fn has_nul(text: &str) -> bool {
    text.contains('\0')
}

fn value_has_nul(value: &Value) -> bool {
    match value {
        Value::String(s) => has_nul(s),
        Value::List(items) => items.iter().any(value_has_nul),
        Value::Object(fields) => fields.iter().any(|(k, v)| has_nul(k) || value_has_nul(v)),
        _ => false,
    }
}

fn const_has_nul(value: &ConstValue) -> bool {
    match value {
        ConstValue::String(s) => has_nul(s),
        ConstValue::List(items) => items.iter().any(const_has_nul),
        ConstValue::Object(fields) => fields.iter().any(|(k, v)| has_nul(k) || const_has_nul(v)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document(query: &str) -> ExecutableDocument {
        async_graphql::parser::parse_query(query).expect("a valid document")
    }

    #[test]
    fn nul_is_found_wherever_a_literal_can_hold_it() {
        for query in [
            r#"{ apiKeys(filter: { search: "a\u0000b" }) { totalCount } }"#,
            r#"query($s: String = "\u0000") { projectBySlug(slug: $s) { id } }"#,
            r#"{ ...F } fragment F on QueryRoot { projectBySlug(slug: "x\u0000") { id } }"#,
            r#"{ me @include(if: true) { roles(x: ["ok", "\u0000"]) } }"#,
        ] {
            assert!(in_document(&document(query)), "{query}");
        }
        assert!(!in_document(&document(
            r#"{ projectBySlug(slug: "a\u0001") { id } }"#
        )));
    }

    #[test]
    fn nul_is_found_in_variables_and_their_keys() {
        let vars = |json: serde_json::Value| Variables::from_json(json);
        assert!(in_variables(&vars(
            serde_json::json!({ "f": { "search": ["x\u{0}"] } })
        )));
        assert!(in_variables(&vars(
            serde_json::json!({ "f": { "a\u{0}": 1 } })
        )));
        assert!(!in_variables(&vars(
            serde_json::json!({ "f": { "search": "x" } })
        )));
    }
}
