//! Tests of the FHIRPath subset: one expression on one resource, the items printed one per line.

use crate::search::fhirpath::{Item, parse};
use expect_test::{Expect, expect};
use std::fmt::Write;

/// Evaluates `expression` on `resource` and prints one result item per line.
#[track_caller]
fn check(expression: &str, resource: &str, expect: Expect) {
    let resource: serde_json::Value = serde_json::from_str(resource).expect("test JSON");
    let out = match parse(expression) {
        Err(reason) => format!("unsupported: {reason}\n"),
        Ok(expr) => {
            let mut items = Vec::new();
            expr.evaluate(&resource, &mut items);
            let mut out = String::new();
            for item in items {
                match item {
                    Item::Node(v) => writeln!(out, "{v}"),
                    Item::Str(s) => writeln!(out, "'{s}'"),
                    Item::Bool(b) => writeln!(out, "{b}"),
                    Item::Resolved(t) => writeln!(out, "resolved {t}"),
                }
                .expect("write to String");
            }
            out
        }
    };
    expect.assert_eq(&out);
}

const PATIENT: &str = r##"{
  "resourceType": "Patient",
  "name": [
    {"family": "Li", "given": ["Wei", "Ming"]},
    {"family": "Lee", "given": ["David", null], "_given": [null, {"extension": []}]}
  ],
  "telecom": [
    {"system": "phone", "value": "138"},
    {"system": "email", "value": "a@example.org"},
    {"system": "phone", "value": "139"}
  ],
  "deceasedBoolean": false,
  "managingOrganization": {"reference": "Organization/o1"},
  "generalPractitioner": [
    {"reference": "Practitioner/p1"},
    {"reference": "https://example.org/fhir/Organization/o2/_history/3"},
    {"reference": "#contained"}
  ]
}"##;

#[test]
fn navigation_flattens_arrays_and_skips_nulls() {
    check(
        "Patient.name.given",
        PATIENT,
        expect![[r#"
            "Wei"
            "Ming"
            "David"
        "#]],
    );
    check(
        "Patient.name.family | Patient.name.given.first()",
        PATIENT,
        expect![[r#"
            "Li"
            "Lee"
            "Wei"
        "#]],
    );
    check("Patient.birthDate", PATIENT, expect![""]);
    check(
        "Patient.name.first().family",
        PATIENT,
        expect![[r#"
            "Li"
        "#]],
    );
}

#[test]
fn where_filters() {
    check(
        "Patient.telecom.where(system='phone')",
        PATIENT,
        expect![[r#"
            {"system":"phone","value":"138"}
            {"system":"phone","value":"139"}
        "#]],
    );
    check(
        "Patient.telecom.where(system != 'phone').value",
        PATIENT,
        expect![[r#"
            "a@example.org"
        "#]],
    );
    check(
        "Patient.generalPractitioner.where(resolve() is Organization)",
        PATIENT,
        expect![""],
    );
    check(
        "Patient.generalPractitioner.resolve()",
        PATIENT,
        expect![[r#"
            resolved Practitioner
        "#]],
    );
}

#[test]
fn choice_elements() {
    let observation = r#"{
      "resourceType": "Observation",
      "effectivePeriod": {"start": "2024-05-01"},
      "valueQuantity": {"value": 37.5, "code": "Cel"},
      "component": [
        {"code": {"text": "a"}, "valueString": "x"},
        {"code": {"text": "b"}, "valueCodeableConcept": {"text": "y"}}
      ]
    }"#;
    check(
        "Observation.effective",
        observation,
        expect![[r#"
            {"start":"2024-05-01"}
        "#]],
    );
    check(
        "(Observation.value as Quantity) | (Observation.value as SampledData)",
        observation,
        expect![[r#"
            {"value":37.5,"code":"Cel"}
        "#]],
    );
    check(
        "Observation.value.as(Quantity).value",
        observation,
        expect![[r#"
            37.5
        "#]],
    );
    check("Observation.value.ofType(string)", observation, expect![""]);
    check(
        "(Observation.component.value as CodeableConcept).text | Observation.component.value.as(string)",
        observation,
        expect![[r#"
            "y"
            "x"
        "#]],
    );
    // `class` is absent and `classHistory` is not a choice of it.
    check(
        "Encounter.class",
        r#"{"resourceType": "Encounter", "classHistory": [{"class": {"code": "IMP"}}]}"#,
        expect![""],
    );
    check(
        "Condition.onset.as(Age) | (Condition.onset as Quantity)",
        r#"{"resourceType": "Condition", "onsetAge": {"value": 3}}"#,
        expect![[r#"
            {"value":3}
            {"value":3}
        "#]],
    );
}

#[test]
fn booleans() {
    check(
        "Patient.deceased.exists() and Patient.deceased != false",
        PATIENT,
        expect![[r#"
            false
        "#]],
    );
    check(
        "Patient.deceased.exists() and Patient.deceased != false",
        r#"{"resourceType": "Patient", "deceasedDateTime": "2024-01-01"}"#,
        expect![[r#"
            true
        "#]],
    );
    check(
        "Patient.deceased.exists() and Patient.deceased != false",
        r#"{"resourceType": "Patient"}"#,
        expect![[r#"
            false
        "#]],
    );
    check(
        "Patient.active.not() or Patient.name.empty()",
        r#"{"resourceType": "Patient", "active": true}"#,
        expect![[r#"
            true
        "#]],
    );
    check(
        "Patient.telecom.exists(system = 'email')",
        PATIENT,
        expect![[r#"
            true
        "#]],
    );
}

#[test]
fn outside_the_subset() {
    check(
        "Patient.name.count()",
        PATIENT,
        expect![[r#"
        unsupported: function count()
    "#]],
    );
    check(
        "Patient.name[0]",
        PATIENT,
        expect![[r#"
        unsupported: unsupported character '['
    "#]],
    );
    check(
        "Patient.name.family + 'x'",
        PATIENT,
        expect![[r#"
        unsupported: unsupported character '+'
    "#]],
    );
    check(
        "Patient.active implies true",
        PATIENT,
        expect![[r#"
        unsupported: operator 'implies'
    "#]],
    );
    check(
        "(Patient.name | Patient.telecom) as HumanName",
        PATIENT,
        expect![[r#"
        unsupported: 'as HumanName' on something other than an element
    "#]],
    );
    check(
        "Patient.name.where(use = 'official'",
        PATIENT,
        expect![[r#"
        unsupported: expected Close, found None
    "#]],
    );
    check(
        "%resource.id",
        PATIENT,
        expect![[r#"
        unsupported: unsupported character '%'
    "#]],
    );
}
