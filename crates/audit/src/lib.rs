//! The tamper-evident audit log's pure core, in the manner of Certificate Transparency
//! (RFC 9162): an append-only Merkle tree over the audit records, inclusion and consistency
//! proofs, and signed tree heads. Given the records and a tree head a regulator holds, any
//! change, removal, reordering or insertion shows.
//!
//! Pure: records are bytes, keys are passed in, nothing here reads a clock or a file.

pub mod anomaly;
pub mod merkle;
pub mod record;
pub mod seal;
pub mod sth;
pub mod verify;

pub use anomaly::{Anomaly, AnomalyKind, Rules};
pub use ed25519_dalek::VerifyingKey;
pub use merkle::{Frontier, Hash, leaf_hash, node_hash};
pub use record::{Action, Columns, Outcome, Record, flag};
pub use seal::Sealer;
pub use sth::{SignedTreeHead, TreeHead};
pub use verify::{Appended, Problem, ProblemKind, Report, Row, Verifier, append};

/// Lower-case hex, for keys and hashes shown to people.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
