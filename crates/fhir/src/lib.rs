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
    "ConceptMap",
    "Condition",
    "Consent",
    "DetectedIssue",
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
    "Person",
    "Practitioner",
    "PractitionerRole",
    "Procedure",
    "Provenance",
    "ServiceRequest",
    "Task",
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

/// A stable id derived from a resource's content (its JSON without `id` and `meta`): the
/// same content always gets the same id, so re-importing id-less data creates nothing new.
pub fn content_id(resource: &Value) -> String {
    let mut v = resource.clone();
    if let Some(o) = v.as_object_mut() {
        o.remove("id");
        o.remove("meta");
    }
    let bytes = v.to_string();
    let hash = |seed: u64| {
        bytes.bytes().fold(seed, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
    };
    format!(
        "c{:016x}{:016x}",
        hash(0xcbf2_9ce4_8422_2325),
        hash(0x8422_2325_cbf2_9ce4)
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn content_ids_follow_content_only() {
        let a = serde_json::json!({"resourceType": "Patient", "gender": "male"});
        let b = serde_json::json!({"resourceType": "Patient", "gender": "male", "id": "x", "meta": {"versionId": "3"}});
        let c = serde_json::json!({"resourceType": "Patient", "gender": "female"});
        assert_eq!(crate::content_id(&a), crate::content_id(&b));
        assert_ne!(crate::content_id(&a), crate::content_id(&c));
        assert!(crate::is_valid_id(&crate::content_id(&a)));
    }

    #[test]
    fn supported_types_are_sorted() {
        let mut sorted = crate::SUPPORTED_TYPES.to_vec();
        sorted.sort_unstable();
        assert_eq!(sorted, crate::SUPPORTED_TYPES);
    }
}
