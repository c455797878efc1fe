//! What the shared record holds, and when each item happened (for the sharing window).

use crate::decide::Time;
use serde_json::Value;

/// The resource types of a patient's record that are shared across hospitals: visits,
/// diagnoses, surgeries, prescriptions and dispenses, results, allergies, imaging,
/// immunizations, orders and documents. Registrations, consents and tasks are not items.
pub const SHARED_TYPES: &[&str] = &[
    "Encounter",
    "Condition",
    "Procedure",
    "MedicationRequest",
    "MedicationDispense",
    "MedicationStatement",
    "Observation",
    "DiagnosticReport",
    "AllergyIntolerance",
    "ImagingStudy",
    "Immunization",
    "ServiceRequest",
    "DocumentReference",
    "CarePlan",
];

/// When the item happened: the first of its type's clinical dates that is present. `None`
/// when it carries none (the window then cannot exclude it).
pub fn date_of(resource: &Value) -> Option<Time> {
    let paths: &[&str] = match resource.get("resourceType").and_then(Value::as_str)? {
        "Encounter" => &["/period/start"],
        "Condition" => &["/onsetDateTime", "/recordedDate"],
        "Procedure" => &["/performedDateTime", "/performedPeriod/start"],
        "MedicationRequest" | "ServiceRequest" => &["/authoredOn"],
        "MedicationDispense" => &["/whenHandedOver", "/whenPrepared"],
        "MedicationStatement" => &[
            "/effectiveDateTime",
            "/effectivePeriod/start",
            "/dateAsserted",
        ],
        "Observation" | "DiagnosticReport" => {
            &["/effectiveDateTime", "/effectivePeriod/start", "/issued"]
        }
        "AllergyIntolerance" => &["/recordedDate", "/onsetDateTime"],
        "ImagingStudy" => &["/started"],
        "Immunization" => &["/occurrenceDateTime", "/recorded"],
        "DocumentReference" => &["/date"],
        "CarePlan" => &["/period/start", "/created"],
        _ => &[],
    };
    paths
        .iter()
        .filter_map(|p| resource.pointer(p)?.as_str())
        .find_map(crate::consent::time_of)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dates() {
        let d = |v: Value| date_of(&v).map(|t| fhir::time::format_instant(t * 1000));
        assert_eq!(
            d(
                json!({"resourceType": "Encounter", "period": {"start": "2026-03-01T08:00:00+08:00"}})
            ),
            Some("2026-03-01T00:00:00.000Z".into())
        );
        assert_eq!(
            d(json!({"resourceType": "Condition", "recordedDate": "2026-03-01"})),
            Some("2026-03-01T00:00:00.000Z".into())
        );
        assert_eq!(
            d(
                json!({"resourceType": "Observation", "effectiveDateTime": "bad", "issued": "2026-03-02T00:00:00Z"})
            ),
            Some("2026-03-02T00:00:00.000Z".into())
        );
        assert_eq!(d(json!({"resourceType": "Encounter"})), None);
        assert_eq!(
            d(json!({"resourceType": "Patient", "birthDate": "2000-01-01"})),
            None
        );
    }
}
