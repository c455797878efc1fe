//! The tamper-evident audit log's pure core, in the manner of Certificate Transparency
//! (RFC 9162): an append-only Merkle tree over the audit records, inclusion and consistency
//! proofs, and signed tree heads. Given the records and a tree head a regulator holds, any
//! change, removal, reordering or insertion shows.
//!
//! Pure: records are bytes, keys are passed in, nothing here reads a clock or a file.

pub mod merkle;
pub mod sth;

pub use merkle::{Frontier, Hash, leaf_hash, node_hash};
pub use sth::{SignedTreeHead, TreeHead};
