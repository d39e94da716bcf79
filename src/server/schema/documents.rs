//! Parsed GraphQL documents by their text, so a client that sends the same document again
//! (every client does: graphql_client's operations are constants) is not parsed again. Only
//! documents that passed the gate's shape checks are kept. What depends on the caller
//! (permissions) runs on every request, and so does validation (types, cost) of a request
//! with variables; without variables, validation depends on nothing but the document, so its
//! first verdict is kept too.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::{Arc, OnceLock};

use async_graphql::ValidationResult;
use async_graphql::parser::types::ExecutableDocument;

use crate::server::fifo_cache::FifoCache;

/// How many documents are kept: far more than the operations of every client we ship.
pub const CAPACITY: usize = 512;
/// Longest query text kept. Our clients' documents are a few kilobytes; larger ones are
/// parsed each time, which keeps the cache's memory within a few megabytes.
pub const MAX_CACHED_QUERY_BYTES: usize = 16 * 1024;

struct Cached {
    query: String,
    operation_name: Option<String>,
    document: ExecutableDocument,
    /// The result of validating the document with no variables, once it passed.
    validation: OnceLock<ValidationResult>,
}

/// A document that passed the shape checks, as the cache holds it.
#[derive(Clone)]
pub struct Checked(Arc<Cached>);

impl Checked {
    pub fn document(&self) -> ExecutableDocument {
        self.0.document.clone()
    }

    /// The result of validating this document without variables, if it passed before.
    pub fn validation(&self) -> Option<ValidationResult> {
        self.0.validation.get().copied()
    }

    /// Keeps `result`, the document's validation without variables.
    pub fn validated(&self, result: ValidationResult) {
        let _already = self.0.validation.set(result);
    }
}

/// The documents, keyed by a hash of the text and operation name under this process's random
/// keys, the text itself compared on every hit.
#[derive(Clone)]
pub struct DocumentCache {
    entries: FifoCache<u64, Arc<Cached>>,
    hasher: RandomState,
}

impl Default for DocumentCache {
    fn default() -> Self {
        DocumentCache {
            entries: FifoCache::with_capacity(CAPACITY),
            hasher: RandomState::new(),
        }
    }
}

impl DocumentCache {
    /// The document parsed from `query` for `operation_name`, if it is kept.
    pub fn get(&self, query: &str, operation_name: Option<&str>) -> Option<Checked> {
        if query.len() > MAX_CACHED_QUERY_BYTES {
            return None;
        }
        let cached = self.entries.get(&self.key(query, operation_name))?;
        (cached.query == query && cached.operation_name.as_deref() == operation_name)
            .then_some(Checked(cached))
    }

    /// Keeps `document`, parsed from `query` for `operation_name` and found acceptable;
    /// `None` for a query too long to keep.
    pub fn insert(
        &self,
        query: &str,
        operation_name: Option<&str>,
        document: ExecutableDocument,
    ) -> Option<Checked> {
        if query.len() > MAX_CACHED_QUERY_BYTES {
            return None;
        }
        let cached = Arc::new(Cached {
            query: query.to_owned(),
            operation_name: operation_name.map(str::to_owned),
            document,
            validation: OnceLock::new(),
        });
        self.entries
            .insert(self.key(query, operation_name), Arc::clone(&cached));
        Some(Checked(cached))
    }

    fn key(&self, query: &str, operation_name: Option<&str>) -> u64 {
        self.hasher.hash_one((query, operation_name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(query: &str) -> ExecutableDocument {
        async_graphql::parser::parse_query(query).expect("a valid document")
    }

    #[test]
    fn a_document_is_found_by_its_text_and_operation_name_only() {
        let cache = DocumentCache::default();
        let query = "query A { me { id } } query B { me { roles } }";
        let _ = cache.insert(query, Some("A"), parse(query));
        assert!(cache.get(query, Some("A")).is_some());
        assert!(cache.get(query, Some("B")).is_none());
        assert!(cache.get(query, None).is_none());
        assert!(cache.get("query A { me { id } }", Some("A")).is_none());
    }

    #[test]
    fn long_documents_are_not_kept() {
        let cache = DocumentCache::default();
        let query = format!("{{ me {{ id }} }}{}", " ".repeat(MAX_CACHED_QUERY_BYTES));
        assert!(cache.insert(&query, None, parse(&query)).is_none());
        assert!(cache.get(&query, None).is_none());
        assert!(cache.entries.is_empty());
    }
}
