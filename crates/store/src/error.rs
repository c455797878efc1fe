//! Store errors. Messages carry types, ids and versions, never resource content.

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
    #[error("resource {resource_type}/{id} exists but does not match the condition")]
    Conflict { resource_type: String, id: String },
    #[error("the resource id does not match the resource the condition found")]
    IdMismatch,
    #[error("the transaction writes {resource_type}/{id} more than once")]
    DuplicateTarget { resource_type: String, id: String },
    #[error("a reference to {0} names no entry of the transaction")]
    UnresolvedReference(String),
    #[error("a concurrent transaction got in the way; retry")]
    Contention,
    #[error("invalid paging cursor")]
    BadCursor,
    /// A transaction entry failed; `index` is its position in the transaction.
    #[error("transaction entry {index} failed: {source}")]
    Entry {
        index: usize,
        #[source]
        source: Box<StoreError>,
    },
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
