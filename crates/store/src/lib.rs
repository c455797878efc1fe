//! The store of record: every version of every resource, and the search indexes over them.
//!
//! One [`Store`] trait, implemented once by [`Engine`] over any SQL [`Backend`]: the embedded
//! SQLite backend lives here, PostgreSQL in `store-postgres`. The [`conformance`] suite
//! defines what "a store" is and runs against both. Only `service` may depend on this crate:
//! consent and audit live there, and nothing above it can reach the data any other way.

mod audit_log;
mod body;
pub mod conformance;
mod engine;
mod error;
mod inbox;
mod index;
mod query;
pub mod sql;
mod sqlite;

pub use body::train_dictionary;
pub use engine::Engine;
pub use error::StoreError;
pub use sql::{Backend, SqlValue, Tx};

/// The `at` stored for an item that does not say when it happened.
pub const UNKNOWN_TIME: i64 = i64::MIN;
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

/// What the shared record needs to know of one resource, worked out when it is written:
/// its data categories (a bit set the caller defines) and when it happened (seconds since
/// the epoch; `None` when it does not say).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShareClass {
    pub categories: i64,
    pub at: Option<i64>,
}

/// Classifies a resource for the shared record (`None`: never shown there). Passed to
/// [`Engine::with_classifier`]; the rules are the caller's (consent policy), the store only
/// keeps the answer beside the resource so the decision can run inside the query.
pub type Classifier = fn(&str, &Value) -> Option<ShareClass>;

/// Which of a person's items a caller may see, as the shared-record query applies it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SharedQuery {
    /// The registrations (`Patient` ids) whose compartments are read.
    pub patients: Vec<String>,
    /// Category bits never shown.
    pub forbidden: i64,
    /// Per category bit, the earliest time shown; a category absent here has no limit. An
    /// item is in the window when any of its categories' windows reaches it.
    pub since: Vec<(i64, i64)>,
    /// `Type/id` of items withheld by the patient.
    pub hidden: Vec<String>,
    /// Whether shown items' bodies are wanted (false: count only).
    pub bodies: bool,
}

/// Why a shared item is not shown, as the query found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Held {
    Hidden,
    Forbidden,
    OutsideWindow,
}

/// One item of a shared record: shown (with its body when asked) or held, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct SharedItem {
    /// The registration whose compartment holds it.
    pub patient: String,
    pub held: Option<Held>,
    /// The body is empty unless shown and asked for.
    pub stored: Stored,
    pub at: Option<i64>,
}

/// An audit record to append, and the notification it raises.
#[derive(Debug, Clone, PartialEq)]
pub struct Logged {
    pub record: audit::Record,
    pub notify: Option<Notice>,
}

impl From<audit::Record> for Logged {
    fn from(record: audit::Record) -> Logged {
        Logged {
            record,
            notify: None,
        }
    }
}

/// A message for a patient, queued in the outbox in the transaction of the record that
/// raised it, and sent by whatever adapter the region runs (SMS, e-mail).
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    /// The position of the audit record that raised it (set by the store).
    pub id: u64,
    pub at: i64,
    /// `Patient/{id}`: whose registration the access concerned.
    pub patient: String,
    /// `break-glass`, `first-access`.
    pub kind: String,
    /// The message, as JSON: who, where, when, why. No clinical content.
    pub message: String,
    pub sent: bool,
    /// Raise it only once per (person, hospital): a first access by a new hospital.
    pub once_per: Option<(String, String)>,
}

/// Which audit records to list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditQuery {
    /// `Patient/{id}`: records concerning any of these registrations.
    pub patients: Vec<String>,
    pub agent: Option<String>,
    pub organization: Option<String>,
    /// Milliseconds since the epoch, `[from, to)`.
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub actions: Vec<audit::Action>,
    pub outcome: Option<audit::Outcome>,
    /// Positions below `before` (the next page, newest first).
    pub before: Option<u64>,
    /// Positions from `after` on.
    pub after: Option<u64>,
    pub oldest_first: bool,
    pub count: usize,
}

/// Accesses per hospital over a period.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrgStats {
    pub organization: String,
    pub records: u64,
    pub shared_views: u64,
    pub break_glass: u64,
    pub refused: u64,
    pub patients: u64,
}

/// An audit proof to cut from the stored tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proof {
    /// That record `index` is in the tree of `size` records.
    Inclusion { index: u64, size: u64 },
    /// That the tree of `first` records is a prefix of the tree of `second`.
    Consistency { first: u64, second: u64 },
}

/// How a hospital's message was answered (HL7 v2's acknowledgement codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    /// AA: its data is stored.
    Accepted,
    /// AE: understood and refused (bad content).
    Error,
    /// AR: not processed at all (unknown sender, type or version).
    Rejected,
}

impl Outcome {
    pub fn code(self) -> &'static str {
        match self {
            Outcome::Accepted => "AA",
            Outcome::Error => "AE",
            Outcome::Rejected => "AR",
        }
    }

    pub fn from_code(code: &str) -> Outcome {
        match code {
            "AA" => Outcome::Accepted,
            "AE" => Outcome::Error,
            _ => Outcome::Rejected,
        }
    }
}

/// What is kept of a hospital's message: no clinical content, only what the feed's
/// operators and the data-quality figures need.
#[derive(Debug, Clone, PartialEq)]
pub struct Receipt {
    /// The registered hospital that sent it.
    pub sender: String,
    /// Its message control id (MSH-10) or document id: a repeat is answered from here.
    pub control_id: String,
    /// `ADT^A01`, `ORU^R01`, `CDA^C0002`.
    pub kind: String,
    /// When the event happened, as the message says (milliseconds).
    pub event_at: Option<i64>,
    pub outcome: Outcome,
    /// Why it was refused: segment, field and rule; empty when accepted.
    pub reason: String,
    /// The acknowledgement given, repeated to a resend (empty when the store refused the
    /// data: the reason says why).
    pub ack: String,
    /// Local codes it carried that no map covered.
    pub unmapped: Vec<LocalCode>,
}

/// A hospital's own code as it was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalCode {
    pub system: String,
    pub code: String,
    pub display: String,
}

/// A message for [`Store::receive`]: its writes, or none when it was refused before.
#[derive(Debug, Clone)]
pub struct Inbound {
    pub receipt: Receipt,
    pub entries: Option<Vec<Entry>>,
}

/// What became of one message.
#[derive(Debug)]
pub enum Received {
    /// Stored, with its receipt.
    Applied(Vec<WriteOutcome>),
    /// The sender's control id was already accepted: the acknowledgement it got then.
    Repeat(String),
    /// The store refused its data; nothing of it was written, the refusal was noted.
    Failed(StoreError),
    /// A refusal decided before the store, noted.
    Noted,
}

/// Messages of one kind from one hospital with one outcome, over a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedCount {
    pub sender: String,
    pub kind: String,
    pub outcome: Outcome,
    pub reason: String,
    pub messages: u64,
    /// Of them, those that arrived late.
    pub late: u64,
}

/// A local code in a hospital's work queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnmappedCode {
    pub sender: String,
    pub system: String,
    pub code: String,
    pub display: String,
    pub seen: u64,
    pub first_at: i64,
    pub last_at: i64,
}

/// Builds the audit records of a transaction from what it did; they commit with it.
pub type AuditFn<'a> = dyn Fn(&[WriteOutcome]) -> Vec<Logged> + 'a;

/// Builds the audit records of one received message from what it wrote.
pub type ReceiptAuditFn<'a> = dyn Fn(&Receipt, &[WriteOutcome]) -> Vec<Logged> + 'a;

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
    /// between them, and appends the audit records `audit` makes of the outcomes in the
    /// same transaction. Results are in entry order.
    fn transact(
        &self,
        entries: Vec<Entry>,
        audit: &AuditFn<'_>,
    ) -> Result<Vec<WriteOutcome>, StoreError>;
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
    /// The classified items of the registrations' compartments, each shown or held as
    /// `query` says, decided in the database: a held item's body is never read. Newest
    /// first. Fails when the store has no classifier.
    fn shared(&self, query: &SharedQuery) -> Result<Vec<SharedItem>, StoreError>;
    fn stats(&self) -> Result<Stats, StoreError>;

    /// The public half of the audit key the store seals with.
    fn audit_public_key(&self) -> Option<audit::VerifyingKey>;
    /// Appends audit records in one durable transaction; returns the first's position.
    fn log(&self, records: Vec<Logged>) -> Result<u64, StoreError>;
    /// Audit records as `query` selects them, with their positions.
    fn audit_records(&self, query: &AuditQuery) -> Result<Vec<(u64, audit::Record)>, StoreError>;
    /// The signed tree head at `size`, or the latest.
    fn audit_head(&self, size: Option<u64>) -> Result<Option<audit::SignedTreeHead>, StoreError>;
    /// Every signed tree head, smallest first.
    fn audit_heads(&self) -> Result<Vec<audit::SignedTreeHead>, StoreError>;
    /// The stored record at `position`: its bytes and leaf hash.
    fn audit_entry(&self, position: u64) -> Result<Option<(Vec<u8>, audit::Hash)>, StoreError>;
    /// The proof's hashes, cut from stored subtrees; `None` when out of range.
    fn audit_proof(&self, proof: Proof) -> Result<Option<Vec<audit::Hash>>, StoreError>;
    /// Stored rows from `from` in position order, at most `limit`, as a verifier reads them.
    fn audit_scan(&self, from: u64, limit: usize) -> Result<Vec<audit::Row>, StoreError>;
    /// Per hospital, accesses in `[from, to)` (milliseconds).
    fn audit_stats(&self, from: i64, to: i64) -> Result<Vec<OrgStats>, StoreError>;
    /// Notifications not yet sent, oldest first.
    fn outbox(&self, limit: usize) -> Result<Vec<Notice>, StoreError>;
    fn outbox_sent(&self, ids: &[u64]) -> Result<(), StoreError>;
    /// The notifications raised for these registrations, newest first.
    fn notices(&self, patients: &[String]) -> Result<Vec<Notice>, StoreError>;
    /// Applies hospitals' messages in one durable transaction, each all or nothing: a
    /// repeated control id gets its earlier acknowledgement, a refused message its receipt.
    /// Results are in message order.
    fn receive(
        &self,
        messages: Vec<Inbound>,
        audit: &ReceiptAuditFn<'_>,
    ) -> Result<Vec<Received>, StoreError>;
    /// Receipts in `[from, to)` (milliseconds) counted per sender, kind, outcome, reason.
    fn feed_counts(&self, from: i64, to: i64, late_ms: i64) -> Result<Vec<FeedCount>, StoreError>;
    /// Local codes no map covered, for one hospital or all.
    fn unmapped_codes(&self, sender: Option<&str>) -> Result<Vec<UnmappedCode>, StoreError>;
    /// Makes everything acknowledged durable and releases the database; later calls fail.
    fn close(&self) -> Result<(), StoreError>;
}
