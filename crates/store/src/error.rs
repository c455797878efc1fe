//! Store errors. Messages carry types, ids and versions, never resource content.

use fhir::Issue;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("resource {resource_type}/{id} not found")]
    NotFound { resource_type: String, id: String },
    #[error("version conflict on {resource_type}/{id}: expected {expected}, current {current}")]
    VersionConflict {
        resource_type: String,
        id: String,
        expected: u64,
        current: u64,
    },
    #[error("{count} resources match the condition on {resource_type}")]
    MultipleMatches { resource_type: String, count: usize },
    #[error("invalid paging cursor")]
    BadCursor,
    /// A transaction entry failed; `index` is its position in the transaction.
    #[error("transaction entry {index} failed: {source}")]
    Entry {
        index: usize,
        #[source]
        source: Box<StoreError>,
    },
    #[error("invalid resource")]
    Invalid(Vec<Issue>),
    #[error("the store is closed")]
    Closed,
    #[error("database error: {0}")]
    Database(String),
}

impl StoreError {
    /// The error behind a transaction-entry wrapper.
    pub fn root(&self) -> &StoreError {
        match self {
            StoreError::Entry { source, .. } => source.root(),
            e => e,
        }
    }
}
