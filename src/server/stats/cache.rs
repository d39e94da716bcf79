//! Parsed statements by pg_stat_statements' queryid, so each statement is parsed once even
//! though every `getQueryStats` answer lists up to thousands of them.

use std::hash::{DefaultHasher, Hash, Hasher};

use super::statement::Statement;
use crate::server::fifo_cache::FifoCache;

/// How many statements the cache holds: a few monitored databases' worth of pg_stat_statements
/// (whose own default `pg_stat_statements.max` is 5,000).
pub const CAPACITY: usize = 20_000;

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
        let entry = Entry {
            text: hash,
            statement: statement.clone(),
        };
        self.entries.insert(queryid.to_owned(), entry);
        statement
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.len()
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
        let cache = StatementCache::with_capacity(3);
        let first = cache.get("1", "UPDATE a SET x = $1");
        assert_eq!(first.types, ["UPDATE"]);
        assert_eq!(cache.get("1", "UPDATE a SET x = $1"), first);
        // Same queryid, other text (another database): parsed again, not mixed up.
        assert_eq!(cache.get("1", "DELETE FROM b").tables, ["b"]);
        for id in 2..=10 {
            cache.get(&id.to_string(), &format!("SELECT * FROM t{id}"));
            assert!(cache.len() <= 3);
        }
        assert_eq!(cache.len(), 3);
        assert_eq!(cache.get("10", "SELECT * FROM t10").tables, ["t10"]);
    }
}
