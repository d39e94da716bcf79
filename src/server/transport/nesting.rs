//! How deeply a request nests brackets, measured before anything parses it.
//!
//! async-graphql's parser and serde's deserializers recurse once per `(`, `[` or `{`; some
//! thousand levels of `[[[…]]]` in an argument overflow a tokio worker's stack, which aborts
//! the whole process. Parsing runs before authorization (the permission gate needs the parsed
//! operation), so any key could do it. A lexical scan costs one pass and no recursion; a request
//! nesting deeper than [`MAX_NESTING`] is refused with 400 before it reaches a parser.

/// Deepest nesting of `(`, `[` and `{` in a query, and of arrays and objects in the variables.
/// A legitimate query is far shallower: the query depth limit is 16.
pub const MAX_NESTING: usize = 64;

/// Which text is being scanned: they quote and comment differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// GraphQL: `"strings"` and `"""block strings"""` with `\` escapes, `#` comments.
    GraphQl,
    /// JSON: `"strings"` with `\` escapes, no comments.
    Json,
}

/// The text nests deeper than the limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} nests `(`, `[` or `{{` deeper than {limit} levels (at byte {offset}); flatten it")]
pub struct TooDeep {
    /// What was scanned, for the message (`the query`, `the variables`).
    pub what: &'static str,
    pub limit: usize,
    /// Where the nesting first went past the limit.
    pub offset: usize,
}

/// Refuses `text` when its brackets outside strings and comments nest deeper than `limit`.
pub fn check(text: &str, syntax: Syntax, limit: usize, what: &'static str) -> Result<(), TooDeep> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    return Err(TooDeep {
                        what,
                        limit,
                        offset: i,
                    });
                }
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b'#' if syntax == Syntax::GraphQl => {
                i = end_of_line(bytes, i);
                continue;
            }
            b'"' if syntax == Syntax::GraphQl && bytes[i..].starts_with(b"\"\"\"") => {
                i = end_of_block_string(bytes, i + 3);
                continue;
            }
            b'"' => {
                i = end_of_string(bytes, i + 1);
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// The index after a `#` comment that starts at `i`.
fn end_of_line(bytes: &[u8], i: usize) -> usize {
    bytes[i..]
        .iter()
        .position(|&b| b == b'\n' || b == b'\r')
        .map_or(bytes.len(), |n| i + n + 1)
}

/// The index after the closing quote of a string whose contents start at `i`. A string left
/// open runs to the end of the text (the parser refuses it later).
fn end_of_string(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// The index after the closing `"""` of a block string whose contents start at `i`; `\"""`
/// is the only escape a block string has.
fn end_of_block_string(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() {
        if bytes[i..].starts_with(b"\\\"\"\"") {
            i += 4;
        } else if bytes[i..].starts_with(b"\"\"\"") {
            return i + 3;
        } else {
            i += 1;
        }
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth_ok(text: &str, syntax: Syntax, limit: usize) -> bool {
        check(text, syntax, limit, "the query").is_ok()
    }

    #[test]
    fn counts_every_kind_of_bracket() {
        assert!(depth_ok("{ a(b: [{c: 1}]) }", Syntax::GraphQl, 4));
        assert!(!depth_ok("{ a(b: [{c: 1}]) }", Syntax::GraphQl, 3));
        assert!(depth_ok("{}{}{}{}", Syntax::GraphQl, 1));
    }

    #[test]
    fn ignores_brackets_in_strings_comments_and_block_strings() {
        let q = "{ a(s: \"[[[\\\"[[[\") # [[[[\n b(s: \"\"\" [[[ \\\"\"\" [[[ \"\"\") }";
        assert!(depth_ok(q, Syntax::GraphQl, 2), "{q}");
        assert!(depth_ok(r#"{"a": "[[[[\"[[["}"#, Syntax::Json, 1));
    }

    #[test]
    fn json_has_no_comments() {
        assert!(!depth_ok("{\"a\": 1 # \n [[ ]] }", Syntax::Json, 2));
    }

    #[test]
    fn reports_the_limit_and_where() {
        let err = check(
            &"[".repeat(100_000),
            Syntax::Json,
            MAX_NESTING,
            "the variables",
        )
        .expect_err("too deep");
        assert_eq!(err.offset, MAX_NESTING);
        assert!(err.to_string().contains("64 levels"), "{err}");
    }
}
