//! Tests of search-value extraction: a resource in, its `param = value` index lines out.

use crate::search::extract::{compiled, number_range};
use crate::search::{IndexValue, extract, params, parse_reference};
use expect_test::{Expect, expect};
use std::fmt::Write;

/// Extracts the index entries of `resource` and prints one `param = value` line each.
#[track_caller]
fn check_extract(resource: &str, expect: Expect) {
    let resource: serde_json::Value = serde_json::from_str(resource).expect("test JSON");
    let mut out = String::new();
    for entry in extract(&resource) {
        let value = match entry.value {
            IndexValue::Token { system, code } => match system {
                Some(system) => format!("{system}|{code}"),
                None => code,
            },
            IndexValue::String(s) => format!("{s:?}"),
            IndexValue::Date { lo, hi } => format!("{} .. {}", show_ms(lo), show_ms(hi)),
            IndexValue::Number {
                value,
                lo,
                hi,
                unit,
            } => format!("{value} [{lo}, {hi}] {}", unit.as_deref().unwrap_or("-")),
            IndexValue::Reference { target_type, id } => format!("{target_type}/{id}"),
        };
        writeln!(out, "{} = {value}", entry.param).expect("write to String");
    }
    expect.assert_eq(&out);
}

fn show_ms(ms: i64) -> String {
    match ms {
        i64::MIN => "-inf".to_string(),
        i64::MAX => "+inf".to_string(),
        ms => crate::time::format_instant(ms),
    }
}

#[test]
fn patient() {
    check_extract(
        r#"{
          "resourceType": "Patient",
          "id": "p1",
          "meta": {
            "lastUpdated": "2024-05-01T08:30:00Z",
            "tag": [{"system": "urn:yilian:tag", "code": "synthetic"}],
            "profile": ["http://example.org/StructureDefinition/p"]
          },
          "identifier": [
            {"system": "urn:oid:2.16.156.10011.1.1", "value": "110101199001011234"},
            {"value": "MRN-7"}
          ],
          "active": true,
          "name": [
            {"use": "official", "text": "李伟", "family": "李", "given": ["伟"]},
            {"family": "Müller", "given": ["Hans", "Peter"], "prefix": ["Dr"]}
          ],
          "telecom": [
            {"system": "phone", "value": "+86 138 0000 0000", "use": "mobile"},
            {"system": "email", "value": "wei@example.org"},
            {"system": "phone", "value": "+86 138 0000 0000", "use": "home"}
          ],
          "gender": "male",
          "birthDate": "1990-01-01",
          "deceasedBoolean": false,
          "address": [{
            "line": ["1 Chang'an Ave", "Building 2"],
            "city": "Beijing",
            "district": "Dongcheng",
            "postalCode": "100000",
            "country": "CN"
          }],
          "managingOrganization": {"reference": "Organization/org1"},
          "generalPractitioner": [{"reference": "Practitioner/dr1"}],
          "communication": [{"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "zh-CN"}]}}]
        }"#,
        expect![[r#"
            _profile = http://example.org/StructureDefinition/p
            _tag = urn:yilian:tag|synthetic
            active = true
            address = "1 Chang'an Ave"
            address = "Building 2"
            address = "Beijing"
            address = "Dongcheng"
            address = "100000"
            address = "CN"
            address-city = "Beijing"
            address-country = "CN"
            address-postalcode = "100000"
            birthdate = 1990-01-01T00:00:00.000Z .. 1990-01-01T23:59:59.999Z
            deceased = false
            email = wei@example.org
            family = "李"
            family = "Müller"
            gender = male
            general-practitioner = Practitioner/dr1
            given = "伟"
            given = "Hans"
            given = "Peter"
            identifier = urn:oid:2.16.156.10011.1.1|110101199001011234
            identifier = MRN-7
            language = urn:ietf:bcp:47|zh-CN
            name = "李"
            name = "伟"
            name = "李伟"
            name = "Müller"
            name = "Hans"
            name = "Peter"
            name = "Dr"
            organization = Organization/org1
            phone = +86 138 0000 0000
            phonetic = "李"
            phonetic = "伟"
            phonetic = "李伟"
            phonetic = "Müller"
            phonetic = "Hans"
            phonetic = "Peter"
            phonetic = "Dr"
            telecom = +86 138 0000 0000
            telecom = wei@example.org
        "#]],
    );
}

#[test]
fn observation() {
    check_extract(
        r##"{
          "resourceType": "Observation",
          "status": "final",
          "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}]}],
          "code": {"coding": [
            {"system": "http://loinc.org", "code": "8310-5"},
            {"system": "urn:yilian:lab", "code": "TEMP", "display": "体温"}
          ], "text": "体温"},
          "subject": {"reference": "Patient/p1"},
          "encounter": {"reference": "https://yilian.example/fhir/Encounter/e1/_history/2"},
          "effectiveDateTime": "2024-05-01T08:30:00+08:00",
          "performer": [{"reference": "#perf"}, {"reference": "urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0"}, {"identifier": {"value": "x"}}],
          "valueQuantity": {"value": 37.5, "unit": "°C", "system": "http://unitsofmeasure.org", "code": "Cel"},
          "component": [
            {"code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]}, "valueQuantity": {"value": 120, "unit": "mmHg"}},
            {"code": {"coding": [{"system": "http://loinc.org", "code": "8462-4"}]}, "valueCodeableConcept": {"text": "n/a"}, "dataAbsentReason": {"coding": [{"code": "unknown"}]}}
          ]
        }"##,
        expect![[r#"
            category = http://terminology.hl7.org/CodeSystem/observation-category|vital-signs
            code = http://loinc.org|8310-5
            code = urn:yilian:lab|TEMP
            combo-code = http://loinc.org|8310-5
            combo-code = urn:yilian:lab|TEMP
            combo-code = http://loinc.org|8480-6
            combo-code = http://loinc.org|8462-4
            combo-data-absent-reason = unknown
            combo-value-quantity = 37.5 [37.45, 37.55] Cel
            combo-value-quantity = 120 [119.5, 120.5] mmHg
            component-code = http://loinc.org|8480-6
            component-code = http://loinc.org|8462-4
            component-data-absent-reason = unknown
            component-value-quantity = 120 [119.5, 120.5] mmHg
            date = 2024-05-01T00:30:00.000Z .. 2024-05-01T00:30:00.999Z
            patient = Patient/p1
            status = final
            subject = Patient/p1
            value-quantity = 37.5 [37.45, 37.55] Cel
        "#]],
    );
}

#[test]
fn choice_and_period_dates() {
    check_extract(
        r#"{
          "resourceType": "Condition",
          "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
          "subject": {"reference": "Group/g1"},
          "onsetPeriod": {"start": "2024-03"},
          "abatementRange": {"low": {"value": 10, "code": "a"}, "high": {"value": 20.5, "code": "a"}},
          "recordedDate": "2024-13-01"
        }"#,
        expect![[r#"
            abatement-age = 15.25 [9.5, 20.55] a
            clinical-status = http://terminology.hl7.org/CodeSystem/condition-clinical|active
            onset-date = 2024-03-01T00:00:00.000Z .. +inf
            subject = Group/g1
        "#]],
    );
    check_extract(
        r#"{
          "resourceType": "Encounter",
          "status": "finished",
          "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
          "period": {"end": "2024-05-02T10:00:00Z"},
          "length": {"value": 2, "unit": "d"},
          "subject": {"reference": "Patient/p1"},
          "participant": [
            {"individual": {"reference": "Practitioner/dr1"}},
            {"individual": {"reference": "PractitionerRole/r1"}}
          ]
        }"#,
        expect![[r#"
            class = http://terminology.hl7.org/CodeSystem/v3-ActCode|IMP
            date = -inf .. 2024-05-02T10:00:00.999Z
            length = 2 [1.5, 2.5] d
            participant = Practitioner/dr1
            participant = PractitionerRole/r1
            patient = Patient/p1
            practitioner = Practitioner/dr1
            status = finished
            subject = Patient/p1
        "#]],
    );
}

#[test]
fn medication_request_choices_and_timing() {
    check_extract(
        r#"{
          "resourceType": "MedicationRequest",
          "status": "active",
          "intent": "order",
          "medicationReference": {"reference": "Medication/m1"},
          "subject": {"reference": "Patient/p1"},
          "authoredOn": "2024-05-01",
          "dosageInstruction": [{"timing": {"event": ["2024-05-01T08:00:00Z", "2024-05-01T20:00:00Z"]}}]
        }"#,
        expect![[r#"
            authoredon = 2024-05-01T00:00:00.000Z .. 2024-05-01T23:59:59.999Z
            date = 2024-05-01T08:00:00.000Z .. 2024-05-01T08:00:00.999Z
            date = 2024-05-01T20:00:00.000Z .. 2024-05-01T20:00:00.999Z
            intent = order
            medication = Medication/m1
            patient = Patient/p1
            status = active
            subject = Patient/p1
        "#]],
    );
    check_extract(
        r#"{
          "resourceType": "MedicationStatement",
          "status": "active",
          "medicationCodeableConcept": {"coding": [{"system": "urn:yilian:drug", "code": "D1"}]},
          "subject": {"reference": "Patient/p1"}
        }"#,
        expect![[r#"
            code = urn:yilian:drug|D1
            patient = Patient/p1
            status = active
            subject = Patient/p1
        "#]],
    );
}

#[test]
fn unknown_or_odd_resources_index_nothing_wrong() {
    check_extract(
        r#"{"resourceType": "Basic", "code": {"text": "x"}}"#,
        expect![""],
    );
    check_extract(r#"{"id": "x"}"#, expect![""]);
    check_extract(
        r#"{"resourceType": "Patient", "name": "not an array", "gender": 3, "birthDate": null, "telecom": [{"system": "phone"}]}"#,
        expect![[r#"
            deceased = false
            gender = 3
            name = "not an array"
            phonetic = "not an array"
        "#]],
    );
}

#[test]
fn references() {
    let cases = [
        "Patient/123",
        "Patient/123/_history/4",
        "https://example.org/fhir/Patient/a.b-c",
        "http://example.org/fhir/Questionnaire/q1|2.0",
        "#p1",
        "urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0",
        "Patient?identifier=x",
        "patient/123",
        "Patient/",
        "123",
        "Patient/12 3",
    ];
    let out: String = cases
        .iter()
        .map(|c| format!("{c}: {:?}\n", parse_reference(c)))
        .collect();
    expect![[r#"
        Patient/123: Some(("Patient", "123"))
        Patient/123/_history/4: Some(("Patient", "123"))
        https://example.org/fhir/Patient/a.b-c: None
        http://example.org/fhir/Questionnaire/q1|2.0: None
        #p1: None
        urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0: None
        Patient?identifier=x: None
        patient/123: None
        Patient/: None
        123: None
        Patient/12 3: None
    "#]]
    .assert_eq(&out);
}

#[test]
fn number_precision() {
    let cases = [
        "37.5", "100", "0.001", "-2.50", "1.5e2", "1e-3", "abc", "1e999", "NaN", "",
    ];
    let out: String = cases
        .iter()
        .map(|c| format!("{c}: {:?}\n", number_range(c)))
        .collect();
    expect![[r#"
        37.5: Some((37.5, 37.45, 37.55))
        100: Some((100.0, 99.5, 100.5))
        0.001: Some((0.001, 0.0005, 0.0015))
        -2.50: Some((-2.5, -2.505, -2.495))
        1.5e2: Some((150.0, 145.0, 155.0))
        1e-3: Some((0.001, 0.0005, 0.0015))
        abc: None
        1e999: None
        NaN: None
        : None
    "#]]
    .assert_eq(&out);
}

/// The parameters of the supported types whose expression is outside the FHIRPath subset:
/// they are never indexed, and the CapabilityStatement must not offer them.
#[test]
fn unsupported_expressions() {
    let mut out = String::new();
    for (param, compiled) in params::all().iter().zip(compiled()) {
        if let Err(reason) = compiled {
            writeln!(
                out,
                "{}.{}: {} ({reason})",
                param.resource_type, param.code, param.expression
            )
            .expect("write to String");
        }
    }
    expect![""].assert_eq(&out);
}

#[test]
fn every_parameter_has_a_known_type_and_sorted_place() {
    let all = params::all();
    for pair in all.windows(2) {
        assert!(
            (pair[0].resource_type, pair[0].code) < (pair[1].resource_type, pair[1].code),
            "table not sorted at {}.{}",
            pair[1].resource_type,
            pair[1].code
        );
    }
    for ty in crate::SUPPORTED_TYPES {
        assert!(params::param(ty, "_id").is_some(), "{ty} lacks _id");
        assert!(
            params::param(ty, "_lastUpdated").is_some(),
            "{ty} lacks _lastUpdated"
        );
    }
    assert_eq!(params::params_of("Basic").count(), 0);
    let patient_params: Vec<&str> = params::params_of("Patient").map(|p| p.code).collect();
    expect!["_id _lastUpdated _profile _security _source _tag active address address-city address-country address-postalcode address-state address-use birthdate death-date deceased email family gender general-practitioner given identifier language link name organization phone phonetic telecom"]
    .assert_eq(&patient_params.join(" "));
}
