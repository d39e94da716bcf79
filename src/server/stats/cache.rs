//! Parsed statements by pg_stat_statements' queryid, so each statement is parsed once even
//! though every `getQueryStats` answer lists up to thousands of them.

use std::hash::{DefaultHasher, Hash, Hasher};

use super::statement::Statement;
use crate::server::fifo_cache::FifoCache;

/// What the cache holds at most, in bytes: a few monitored databases' worth of
/// pg_stat_statements (whose own default `pg_stat_statements.max` is 5,000) of ordinary
/// statements. Bytes, not entries: a statement's table names are as long as its users made
/// them.
pub const CAPACITY: usize = 16 << 20;

#[derive(Clone)]
struct Entry {
    /// A hash of the text: the same queryid in two databases may be two statements.
    text: u64,
    statement: Statement,
}

/// A bounded map from queryid to [`Statement`]. Cheap to clone; clones share the map.
#[derive(Clone)]
pub struct StatementCache {
    entries: FifoCache<String, Entry>,
}

impl Default for StatementCache {
    fn default() -> Self {
        StatementCache::with_capacity(CAPACITY)
    }
}

impl StatementCache {
    pub fn with_capacity(capacity: usize) -> Self {
        StatementCache {
            entries: FifoCache::with_capacity(capacity),
        }
    }

    /// The statement `text` with `queryid`, parsed now only when not seen before.
    pub fn get(&self, queryid: &str, text: &str) -> Statement {
        let hash = text_hash(text);
        if let Some(entry) = self.entries.get(queryid)
            && entry.text == hash
        {
            return entry.statement;
        }
        // Parsed outside the lock: another request may parse the same text meanwhile, which
        // costs only time.
        let statement = Statement::parse(text);
        let weight = std::mem::size_of::<(String, Entry)>()
            + queryid.len()
            + statement
                .types
                .iter()
                .chain(&statement.tables)
                .map(|s| s.len() + std::mem::size_of::<String>())
                .sum::<usize>();
        let entry = Entry {
            text: hash,
            statement: statement.clone(),
        };
        self.entries
            .insert_weighing(queryid.to_owned(), entry, weight);
        statement
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.len()
    }

    #[cfg(test)]
    fn weight(&self) -> usize {
        self.entries.weight()
    }
}

fn text_hash(text: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    text.hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_parsed_once_and_the_cache_stays_bounded() {
        // Room for three small statements.
        let cache = StatementCache::with_capacity(3 * 200);
        let first = cache.get("1", "UPDATE a SET x = $1");
        assert_eq!(first.types, ["UPDATE"]);
        assert_eq!(cache.get("1", "UPDATE a SET x = $1"), first);
        // Same queryid, other text (another database): parsed again, not mixed up.
        assert_eq!(cache.get("1", "DELETE FROM b").tables, ["b"]);
        for id in 2..=10 {
            cache.get(&id.to_string(), &format!("SELECT * FROM t{id}"));
            assert!(cache.weight() <= 3 * 200);
        }
        assert!(cache.len() >= 2);
        assert_eq!(cache.get("10", "SELECT * FROM t10").tables, ["t10"]);
        // A statement naming a thousand tables weighs them all.
        let tables: Vec<String> = (0..1000).map(|i| format!("table_{i:04}")).collect();
        let wide = format!("SELECT 1 FROM {}", tables.join(", "));
        assert_eq!(cache.get("11", &wide).tables.len(), 1000);
        assert!(cache.weight() <= 3 * 200);
    }
}
