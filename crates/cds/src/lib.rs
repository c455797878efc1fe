//! Reminders at the point of care, as pure functions: drug allergy, repeated medication and
//! repeated tests, over a patient's records from every hospital and the orders being made.
//! `knowledge` is the data they apply (replaceable by a region), `history` reads the FHIR
//! resources, `rules` makes the cards. The edge (service, http) reads the shared record
//! under the caller's authorization, gives each card its uuid and records feedback.

pub mod history;
pub mod knowledge;
pub mod rules;

pub use history::History;
pub use knowledge::Knowledge;
pub use rules::{Card, Indicator, Order, Rule, Settings, card_json, order_cards, patient_cards};

#[cfg(test)]
mod tests;
