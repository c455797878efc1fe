//! Who may see what of a patient's shared record, and why: Yilian's consent and access rules
//! as pure functions. A request (who is calling, in what role, from which hospital, for what
//! purpose) and the facts about the patient (consents, restrictions, the treatment
//! relationship, break-glass grants) go in; a [`Decision`] comes out: permit or deny with
//! its reasons, and the [`Scope`] of data a permit covers, as data a query can apply.
//!
//! Nothing here reads the clock, the store or the network: time and facts are passed in, so
//! every decision can be replayed and tested exhaustively.

pub mod category;
pub mod consent;
pub mod decide;
pub mod item;

pub use category::{Categories, Category, category_of};
pub use consent::{
    Decision as ConsentDecision, EvidenceProblem, check_evidence, consent_fact, consent_resource,
    hidden_items, time_of,
};
pub use decide::{
    Access, Basis, BreakGlass, Caller, ConsentFact, ConsentState, Decision, Default, Facts,
    Grantor, Item, Purpose, Reason, Region, Role, Scope, Time, Withheld, decide,
};
pub use item::{SHARED_TYPES, date_of};
