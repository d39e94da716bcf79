//! A bounded map shared between requests: when it is full, the entry inserted first goes.
//! Used where the same work recurs with the same input (statements parsed by PostgreSQL's
//! parser, GraphQL documents), so hostile input can cost at most a full cache's worth of memory
//! and the re-doing of work it would have cost anyway.

use std::borrow::Borrow;
use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

struct Inner<K, V> {
    entries: HashMap<K, V>,
    /// Insertion order, oldest first: the first to go when the cache is full.
    order: VecDeque<K>,
}

/// A map of at most `capacity` entries. Cheap to clone; clones share the map.
pub struct FifoCache<K, V> {
    inner: Arc<Mutex<Inner<K, V>>>,
    capacity: usize,
}

impl<K, V> Clone for FifoCache<K, V> {
    fn clone(&self) -> Self {
        FifoCache {
            inner: Arc::clone(&self.inner),
            capacity: self.capacity,
        }
    }
}

impl<K: Hash + Eq + Clone, V: Clone> FifoCache<K, V> {
    pub fn with_capacity(capacity: usize) -> Self {
        FifoCache {
            inner: Arc::new(Mutex::new(Inner {
                entries: HashMap::new(),
                order: VecDeque::new(),
            })),
            capacity: capacity.max(1),
        }
    }

    /// A copy of the value under `key`, if there is one.
    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.lock().entries.get(key).cloned()
    }

    /// Puts `value` under `key`, replacing what was there; the oldest entries go when the map
    /// is over its capacity.
    pub fn insert(&self, key: K, value: V) {
        let mut inner = self.lock();
        if inner.entries.insert(key.clone(), value).is_none() {
            inner.order.push_back(key);
            while inner.order.len() > self.capacity {
                if let Some(oldest) = inner.order.pop_front() {
                    inner.entries.remove(&oldest);
                }
            }
        }
    }

    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, Inner<K, V>> {
        // The map stays consistent at every step, so a panic elsewhere leaves it usable.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_entry_goes_when_the_cache_is_full() {
        let cache = FifoCache::with_capacity(2);
        cache.insert("a", 1);
        cache.insert("b", 2);
        cache.insert("a", 3);
        assert_eq!(cache.get(&"a"), Some(3));
        cache.insert("c", 4);
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.get(&"a"), None);
        assert_eq!(cache.get(&"b"), Some(2));
        assert_eq!(cache.get(&"c"), Some(4));
    }
}
