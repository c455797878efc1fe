//! FHIR R4 as Yilian understands it: strict JSON parsing, validation against the official
//! definitions, search-value extraction and search-query parsing, OperationOutcome issues.
//!
//! Everything here is pure: no I/O, no clock, no randomness. Callers pass time and ids in.

pub mod json;
pub mod model;
pub mod outcome;
pub mod search;
pub mod time;
pub mod validate;

pub use outcome::{Issue, IssueType, Severity};
pub use serde_json::Value;

/// The resource types Yilian stores and serves. The CapabilityStatement lists exactly these.
pub const SUPPORTED_TYPES: &[&str] = &[
    "AllergyIntolerance",
    "AuditEvent",
    "Binary",
    "Condition",
    "Consent",
    "DiagnosticReport",
    "DocumentReference",
    "Encounter",
    "EpisodeOfCare",
    "ImagingStudy",
    "Location",
    "Medication",
    "MedicationDispense",
    "MedicationRequest",
    "MedicationStatement",
    "Observation",
    "Organization",
    "Patient",
    "Practitioner",
    "PractitionerRole",
    "Procedure",
    "Provenance",
    "ServiceRequest",
];

/// Whether `name` is one of [`SUPPORTED_TYPES`].
pub fn is_supported_type(name: &str) -> bool {
    SUPPORTED_TYPES.binary_search(&name).is_ok()
}

/// Whether `id` is a valid FHIR logical id: 1 to 64 of `[A-Za-z0-9\-\.]`.
pub fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

#[cfg(test)]
mod tests {
    #[test]
    fn supported_types_are_sorted() {
        let mut sorted = crate::SUPPORTED_TYPES.to_vec();
        sorted.sort_unstable();
        assert_eq!(sorted, crate::SUPPORTED_TYPES);
    }
}
