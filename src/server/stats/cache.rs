//! Parsed statements by pg_stat_statements' queryid, so each statement is parsed once even
//! though every `getQueryStats` answer lists up to thousands of them.

use std::collections::{HashMap, VecDeque};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex, PoisonError};

use super::statement::Statement;

/// How many statements the cache holds: a few monitored databases' worth of pg_stat_statements
/// (whose own default `pg_stat_statements.max` is 5,000).
pub const CAPACITY: usize = 20_000;

struct Entry {
    /// A hash of the text: the same queryid in two databases may be two statements.
    text: u64,
    statement: Statement,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<String, Entry>,
    /// Insertion order, oldest first: the first to go when the cache is full.
    order: VecDeque<String>,
}

/// A bounded map from queryid to [`Statement`]. Cheap to clone; clones share the map.
#[derive(Clone)]
pub struct StatementCache {
    inner: Arc<Mutex<Inner>>,
    capacity: usize,
}

impl Default for StatementCache {
    fn default() -> Self {
        StatementCache::with_capacity(CAPACITY)
    }
}

impl StatementCache {
    pub fn with_capacity(capacity: usize) -> Self {
        StatementCache {
            inner: Arc::default(),
            capacity: capacity.max(1),
        }
    }

    /// The statement `text` with `queryid`, parsed now only when not seen before.
    pub fn get(&self, queryid: &str, text: &str) -> Statement {
        let hash = text_hash(text);
        if let Some(entry) = self.lock().entries.get(queryid)
            && entry.text == hash
        {
            return entry.statement.clone();
        }
        // Parsed outside the lock: another request may parse the same text meanwhile, which
        // costs only time.
        let statement = Statement::parse(text);
        let mut inner = self.lock();
        let entry = Entry {
            text: hash,
            statement: statement.clone(),
        };
        if inner.entries.insert(queryid.to_owned(), entry).is_none() {
            inner.order.push_back(queryid.to_owned());
            while inner.order.len() > self.capacity {
                if let Some(oldest) = inner.order.pop_front() {
                    inner.entries.remove(&oldest);
                }
            }
        }
        statement
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().entries.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // The map stays consistent at every step, so a panic elsewhere leaves it usable.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
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
