//! A bounded map shared between requests: when it is full, the entry inserted first goes.
//! Used where the same work recurs with the same input (statements parsed by PostgreSQL's
//! parser, GraphQL documents, windows' answers), so hostile input can cost at most a full
//! cache's worth of memory and the re-doing of work it would have cost anyway. A cache is
//! bounded by its entries' weights: by default each weighs one, so the capacity counts
//! entries; where the size of an entry is up to a monitored database's users, it weighs its
//! bytes and the capacity counts bytes.

use std::borrow::Borrow;
use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

struct Inner<K, V> {
    /// Each value with its weight.
    entries: HashMap<K, (V, usize)>,
    /// Insertion order, oldest first: the first to go when the cache is full.
    order: VecDeque<K>,
    /// The weights of the entries held, summed: at most the capacity.
    weight: usize,
}

/// A map whose entries weigh at most `capacity` together. Cheap to clone; clones share the
/// map.
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
                weight: 0,
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
        self.lock().entries.get(key).map(|(value, _)| value.clone())
    }

    /// Puts `value` under `key` with a weight of one: see [`FifoCache::insert_weighing`].
    pub fn insert(&self, key: K, value: V) {
        self.insert_weighing(key, value, 1);
    }

    /// Puts `value` under `key`, replacing what was there, as weighing `weight`; the oldest
    /// entries go while the weights held exceed the capacity. A value heavier than the whole
    /// capacity is not kept (and what was under `key` goes).
    pub fn insert_weighing(&self, key: K, value: V, weight: usize) {
        let mut inner = self.lock();
        let inner = &mut *inner;
        if weight > self.capacity {
            if let Some((_, old)) = inner.entries.remove(&key) {
                inner.weight -= old;
                inner.order.retain(|k| k != &key);
            }
            return;
        }
        match inner.entries.insert(key.clone(), (value, weight)) {
            Some((_, old)) => inner.weight -= old,
            None => inner.order.push_back(key),
        }
        inner.weight += weight;
        while inner.weight > self.capacity {
            let Some(oldest) = inner.order.pop_front() else {
                break;
            };
            if let Some((_, old)) = inner.entries.remove(&oldest) {
                inner.weight -= old;
            }
        }
    }

    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The weights of the entries held, summed.
    pub fn weight(&self) -> usize {
        self.lock().weight
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

    #[test]
    fn a_cache_by_bytes_holds_at_most_its_capacity_in_bytes() {
        // 1 MiB of texts, whatever their number or sizes.
        let cache = FifoCache::with_capacity(1 << 20);
        let text = |kib: usize| "x".repeat(kib << 10);
        for i in 0..100 {
            let t = text(64);
            cache.insert_weighing(i, t.clone(), t.len());
            assert!(cache.weight() <= 1 << 20, "{}", cache.weight());
        }
        // Sixteen 64 KiB texts fit, the newest; a two-byte one then pushes out the oldest.
        assert_eq!((cache.len(), cache.weight()), (16, 16 << 16));
        assert_eq!(cache.get(&83), None);
        assert!(cache.get(&84).is_some());
        cache.insert_weighing(100, "xx".into(), 2);
        assert_eq!(cache.get(&84), None);
        assert_eq!(cache.weight(), (15 << 16) + 2);
        // Replacing an entry weighs the new value only; one heavier than the whole cache is
        // not kept, and takes what was under its key with it.
        cache.insert_weighing(100, text(1), 1 << 10);
        assert_eq!(cache.weight(), (15 << 16) + (1 << 10));
        cache.insert_weighing(100, text(2048), 2 << 20);
        assert_eq!(cache.get(&100), None);
        assert_eq!((cache.len(), cache.weight()), (15, 15 << 16));
    }
}
