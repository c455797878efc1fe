//! The store of record: every version of every resource, and the search indexes over them.
//!
//! One [`Store`] trait, implemented once by [`Engine`] over any SQL [`Backend`]: the embedded
//! SQLite backend lives here, PostgreSQL in `store-postgres`. The [`conformance`] suite
//! defines what "a store" is and runs against both. Only `service` may depend on this crate:
//! consent and audit live there, and nothing above it can reach the data any other way.

mod body;
pub mod conformance;
mod engine;
mod error;
mod index;
mod query;
pub mod sql;
mod sqlite;

pub use body::train_dictionary;
pub use engine::Engine;
pub use error::StoreError;
pub use sql::{Backend, SqlValue, Tx};
pub use sqlite::Sqlite;

use fhir::search::SearchQuery;
use serde_json::Value;
use std::sync::Arc;

/// One stored version of a resource.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    pub resource_type: String,
    pub id: String,
    pub version: u64,
    /// Milliseconds since the Unix epoch.
    pub last_updated: i64,
    /// A deletion marker carries an empty body.
    pub deleted: bool,
    /// The validated JSON bytes, with `meta.versionId` and `meta.lastUpdated` set.
    pub body: Arc<[u8]>,
}

/// One write in a transaction.
#[derive(Debug, Clone)]
pub enum WriteOp {
    /// Create with a server-assigned id; with `if_none_exist`, only when nothing matches.
    Create {
        resource: Value,
        if_none_exist: Option<SearchQuery>,
    },
    /// Update (or create) `resource_type/id`; with `if_match`, only when at that version.
    Update {
        resource_type: String,
        id: String,
        resource: Value,
        if_match: Option<u64>,
    },
    /// Update the one resource matching `query`, or create it when none matches.
    ConditionalUpdate {
        query: SearchQuery,
        resource: Value,
        if_match: Option<u64>,
    },
    Delete {
        resource_type: String,
        id: String,
        if_match: Option<u64>,
    },
}

/// What a write did.
#[derive(Debug, Clone, PartialEq)]
pub enum WriteOutcome {
    Created(Stored),
    Updated(Stored),
    /// The update carried no change, or a conditional create matched: nothing was written.
    Unchanged(Stored),
    Deleted(Stored),
    /// Deleting something that does not exist (or already is deleted) succeeds idempotently.
    NothingToDelete,
}

impl WriteOutcome {
    pub fn stored(&self) -> Option<&Stored> {
        match self {
            WriteOutcome::Created(s)
            | WriteOutcome::Updated(s)
            | WriteOutcome::Unchanged(s)
            | WriteOutcome::Deleted(s) => Some(s),
            WriteOutcome::NothingToDelete => None,
        }
    }
}

/// A write in a transaction, with the `fullUrl` other entries may reference it by.
#[derive(Debug, Clone)]
pub struct Entry {
    pub full_url: Option<String>,
    pub op: WriteOp,
}

/// One page of search results.
#[derive(Debug, Clone, Default)]
pub struct SearchPage {
    pub matches: Vec<Stored>,
    /// Resources pulled in by `_include` and `_revinclude`.
    pub included: Vec<Stored>,
    /// Set when counted (`_total=accurate`, `_summary=count`) or known from a last page.
    pub total: Option<u64>,
    /// The cursor of the next page, if there is one.
    pub next: Option<String>,
}

/// Which history to list.
#[derive(Debug, Clone, PartialEq)]
pub enum HistoryScope {
    System,
    Type(String),
    Instance(String, String),
}

#[derive(Debug, Clone, Default)]
pub struct HistoryPage {
    /// Newest first.
    pub versions: Vec<Stored>,
    pub next: Option<String>,
}

/// Disk and row figures for benchmarks and the operator.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub resources: u64,
    pub versions: u64,
    pub bytes_on_disk: u64,
}

/// The store of record.
pub trait Store: Send + Sync {
    /// Runs `entries` as one all-or-nothing transaction, resolving `urn:uuid:` references
    /// between them. Results are in entry order.
    fn transact(&self, entries: Vec<Entry>) -> Result<Vec<WriteOutcome>, StoreError>;
    /// The current version (possibly a deletion marker).
    fn read(&self, resource_type: &str, id: &str) -> Result<Option<Stored>, StoreError>;
    fn vread(
        &self,
        resource_type: &str,
        id: &str,
        version: u64,
    ) -> Result<Option<Stored>, StoreError>;
    fn search(&self, query: &SearchQuery) -> Result<SearchPage, StoreError>;
    fn history(
        &self,
        scope: &HistoryScope,
        count: usize,
        page: Option<&str>,
    ) -> Result<HistoryPage, StoreError>;
    /// Everything in the patient's compartment, the Patient first.
    fn everything(
        &self,
        patient_id: &str,
        count: usize,
        page: Option<&str>,
    ) -> Result<SearchPage, StoreError>;
    fn stats(&self) -> Result<Stats, StoreError>;
    /// Makes everything acknowledged durable and releases the database; later calls fail.
    fn close(&self) -> Result<(), StoreError>;
}
