//! The master patient index, as pure functions: normalizing what hospitals register,
//! comparing two registrations field by field, scoring the comparison (Fellegi–Sunter, with
//! m estimated by EM and u by sampling), blocking, and grouping registrations into persons
//! with guards against false merges. No I/O and no randomness of its own (sampling
//! takes a seed): the service layer stores links and decides when to run.
//!
//! A false merge shows one person another's record: every rule here errs towards review.

pub mod block;
pub mod cluster;
pub mod compare;
pub mod eval;
pub mod id;
pub mod model;
pub mod normalize;
pub mod pipeline;
pub mod record;
pub mod registry;

pub use record::{Birth, Record, Sex};
