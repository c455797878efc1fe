//! Validation cases: a resource in, the rendered issues out (empty when valid).

use expect_test::{Expect, expect};

#[track_caller]
fn check(input: &str, expect: Expect) {
    let resource: serde_json::Value = serde_json::from_str(input).expect("test input is json");
    let issues = crate::validate::validate(&resource);
    expect.assert_eq(&crate::outcome::render(&issues));
}

#[test]
fn minimal_patient_is_valid() {
    check(r#"{"resourceType": "Patient"}"#, expect![""]);
    check(
        r#"{"resourceType": "Patient", "id": "p-1.a", "active": true,
            "name": [{"family": "Zhang", "given": ["Wei", "Min"]}],
            "gender": "female", "birthDate": "1970-02-28"}"#,
        expect![""],
    );
}

#[test]
fn top_level_shape() {
    check(
        r#"[]"#,
        expect![[r#"
        error invalid: resource must be a json object
    "#]],
    );
    check(
        r#"{"id": "1"}"#,
        expect![[r#"
        error invalid: missing resourceType
    "#]],
    );
    check(
        r#"{"resourceType": 7}"#,
        expect![[r#"
        error invalid: element 'resourceType' must be a json string
    "#]],
    );
    check(
        r#"{"resourceType": "Patiente"}"#,
        expect![[r#"
        error not-supported: unknown resource type
    "#]],
    );
    check(
        r#"{"resourceType": "DomainResource"}"#,
        expect![[r#"
        error not-supported: unknown resource type
    "#]],
    );
    check(
        r#"{"resourceType": "HumanName"}"#,
        expect![[r#"
        error not-supported: unknown resource type
    "#]],
    );
}

#[test]
fn unknown_elements() {
    check(
        r#"{"resourceType": "Patient", "fooBar": 1}"#,
        expect![[r#"
        error structure @ Patient: unknown element 'fooBar'
    "#]],
    );
    check(
        r#"{"resourceType": "Patient", "name": [{"surname": "Li"}]}"#,
        expect![[r#"
        error structure @ Patient.name[0]: unknown element 'surname'
    "#]],
    );
    check(
        r#"{"resourceType": "Bundle", "type": "collection", "text": {}}"#,
        expect![[r#"
        error structure @ Bundle: unknown element 'text'
    "#]],
    );
    check(
        r#"{"resourceType": "Patient", "name": [{"resourceType": "HumanName"}]}"#,
        expect![[r#"
        error structure @ Patient.name[0]: unknown element 'resourceType'
    "#]],
    );
}

#[test]
fn choice_types() {
    check(
        r#"{"resourceType": "Patient", "deceasedDateTime": "2020-01-01", "multipleBirthInteger": 2}"#,
        expect![""],
    );
    check(
        r#"{"resourceType": "Observation", "status": "final", "code": {"text": "t"},
            "valueFoo": 1, "value": 2}"#,
        expect![[r#"
            error structure @ Observation: type 'Foo' is not allowed for 'value[x]'
            error structure @ Observation: choice element 'value[x]' must name its type
        "#]],
    );
    check(
        r#"{"resourceType": "Observation", "status": "final", "code": {"text": "t"},
            "valueString": "x", "valueBoolean": true}"#,
        expect![[r#"
            error structure @ Observation.valueBoolean: element 'value[x]' has more than one type
        "#]],
    );
    check(
        r#"{"resourceType": "Observation", "status": "final", "code": {"text": "t"},
            "valueQuantity": {"value": "37.5", "unit": "Cel"}}"#,
        expect![[r#"
            error structure @ Observation.valueQuantity.value: element 'value' must be a json number
        "#]],
    );
    check(
        r#"{"resourceType": "Observation", "status": "final", "code": {"text": "t"},
            "valueQuantity": {"value": 37.50, "unit": "Cel"},
            "effectiveDateTime": "2024-03-01T08:30:00+08:00"}"#,
        expect![""],
    );
}

#[test]
fn cardinality() {
    check(
        r#"{"resourceType": "Patient", "name": {"family": "Li"}}"#,
        expect![[r#"
        error structure @ Patient.name: element 'name' must be an array
    "#]],
    );
    check(
        r#"{"resourceType": "Patient", "gender": ["male"]}"#,
        expect![[r#"
        error structure @ Patient.gender: element 'gender' must not be an array
    "#]],
    );
    check(
        r#"{"resourceType": "Patient", "name": [{"given": "Wei"}]}"#,
        expect![[r#"
        error structure @ Patient.name[0].given: element 'given' must be an array
    "#]],
    );
    check(
        r#"{"resourceType": "Patient", "name": []}"#,
        expect![[r#"
        error structure @ Patient.name: element 'name' must not be an empty array
    "#]],
    );
    check(
        r#"{"resourceType": "Patient", "name": [{}]}"#,
        expect![[r#"
        error structure @ Patient.name[0]: element 'name' must not be an empty object
    "#]],
    );
    check(
        r#"{"resourceType": "Patient", "gender": ""}"#,
        expect![[r#"
        error value @ Patient.gender: element 'gender' must not be an empty string
    "#]],
    );
    check(
        r#"{"resourceType": "Patient", "gender": null}"#,
        expect![[r#"
        error structure @ Patient.gender: element 'gender' must not be null
    "#]],
    );
    check(
        r#"{"resourceType": "Patient", "maritalStatus": "M"}"#,
        expect![[r#"
        error structure @ Patient.maritalStatus: element 'maritalStatus' must be a json object
    "#]],
    );
}

#[test]
fn required_elements() {
    check(
        r#"{"resourceType": "Observation"}"#,
        expect![[r#"
        error required @ Observation: missing required element 'status'
        error required @ Observation: missing required element 'code'
    "#]],
    );
    check(
        r#"{"resourceType": "Observation", "status": "final", "code": {"text": "t"},
            "component": [{"valueString": "x"}]}"#,
        expect![[r#"
            error required @ Observation.component[0]: missing required element 'code'
        "#]],
    );
    // Required children count only when their parent exists.
    check(
        r#"{"resourceType": "Patient", "link": [{"type": "seealso"}]}"#,
        expect![[r#"
        error required @ Patient.link[0]: missing required element 'other'
    "#]],
    );
    check(
        r#"{"resourceType": "MedicationRequest", "status": "active", "intent": "order",
            "subject": {"reference": "Patient/1"}}"#,
        expect![[r#"
            error required @ MedicationRequest: missing required element 'medication[x]'
        "#]],
    );
    // A primitive known only through its extensions is present.
    check(
        r#"{"resourceType": "Observation", "code": {"text": "t"},
            "_status": {"extension": [{"url": "http://example.org/why", "valueString": "n/a"}]}}"#,
        expect![""],
    );
}

#[test]
fn nested_backbone_elements() {
    check(
        r#"{"resourceType": "Patient", "contact": [{"name": {"family": "Wang", "given": ["Fang"]},
            "telecom": [{"system": "phone", "value": "555"}], "gender": "female"}]}"#,
        expect![""],
    );
    check(
        r#"{"resourceType": "Patient", "contact": [{"name": [{"family": "Wang"}],
            "relationship": {"text": "mother"}, "unknown": 1,
            "modifierExtension": [{"url": "http://example.org/m", "valueBoolean": true}]}]}"#,
        expect![[r#"
            error structure @ Patient.contact[0].name: element 'name' must not be an array
            error structure @ Patient.contact[0].relationship: element 'relationship' must be an array
            error structure @ Patient.contact[0]: unknown element 'unknown'
        "#]],
    );
    // Data types that are not backbone elements have no modifierExtension.
    check(
        r#"{"resourceType": "Patient", "name": [{"family": "Li",
            "modifierExtension": [{"url": "http://example.org/m", "valueBoolean": true}]}]}"#,
        expect![[r#"
            error structure @ Patient.name[0]: unknown element 'modifierExtension'
        "#]],
    );
    // Content references: Questionnaire.item.item has the structure of Questionnaire.item.
    check(
        r#"{"resourceType": "Questionnaire", "status": "draft", "item": [{"linkId": "1",
            "type": "group", "item": [{"linkId": "1.1", "type": "string"}, {"type": "string"}]}]}"#,
        expect![[r#"
            error required @ Questionnaire.item[0].item[1]: missing required element 'linkId'
        "#]],
    );
}

#[test]
fn primitive_json_kinds_and_ranges() {
    check(
        r#"{"resourceType": "Patient", "active": "true"}"#,
        expect![[r#"
        error structure @ Patient.active: element 'active' must be a json boolean
    "#]],
    );
    check(
        r#"{"resourceType": "Patient", "multipleBirthInteger": 1.5}"#,
        expect![[r#"
        error value @ Patient.multipleBirthInteger: invalid integer format
    "#]],
    );
    check(
        r#"{"resourceType": "Patient", "multipleBirthInteger": 2147483648}"#,
        expect![[r#"
        error value @ Patient.multipleBirthInteger: integer out of range
    "#]],
    );
    check(
        r#"{"resourceType": "Patient", "multipleBirthInteger": -2147483648}"#,
        expect![""],
    );
    check(
        r#"{"resourceType": "Patient", "photo": [{"size": -1}, {"size": 0}],
            "communication": [{"language": {"text": "zh"}, "preferred": 1}]}"#,
        expect![[r#"
            error value @ Patient.photo[0].size: invalid unsignedInt format
            error structure @ Patient.communication[0].preferred: element 'preferred' must be a json boolean
        "#]],
    );
    check(
        r#"{"resourceType": "Observation", "status": "final", "code": {"text": "t"},
            "valueSampledData": {"origin": {"value": 0}, "period": 1e3, "dimensions": 0,
            "data": "1 2"}}"#,
        expect![[r#"
            error value @ Observation.valueSampledData.dimensions: positiveInt out of range
        "#]],
    );
    check(
        r#"{"resourceType": "Patient", "active": true, "gender": 1}"#,
        expect![[r#"
        error structure @ Patient.gender: element 'gender' must be a json string
    "#]],
    );
}

#[test]
fn dates_and_times() {
    let valid = [
        r#""birthDate": "2000""#,
        r#""birthDate": "2000-02""#,
        r#""birthDate": "2000-02-29""#,
        r#""deceasedDateTime": "2015""#,
        r#""deceasedDateTime": "2015-02-07T13:28:17.239+02:00""#,
        r#""deceasedDateTime": "2015-02-07T13:28:17Z""#,
        r#""deceasedDateTime": "2015-02-07T23:59:60-14:00""#,
    ];
    for field in valid {
        check(
            &format!(r#"{{"resourceType": "Patient", {field}}}"#),
            expect![""],
        );
    }
    check(
        r#"{"resourceType": "Patient", "birthDate": "1900-02-29",
            "contact": [{"period": {"start": "2001-13", "end": "0000"}}]}"#,
        expect![[r#"
            error value @ Patient.birthDate: invalid date format
            error value @ Patient.contact[0].period.start: invalid dateTime format
            error value @ Patient.contact[0].period.end: invalid dateTime format
        "#]],
    );
    check(
        r#"{"resourceType": "Patient", "birthDate": "1970-1-1"}"#,
        expect![[r#"
        error value @ Patient.birthDate: invalid date format
    "#]],
    );
    check(
        r#"{"resourceType": "Patient", "birthDate": "1970-01-01T00:00:00Z"}"#,
        expect![[r#"
        error value @ Patient.birthDate: invalid date format
    "#]],
    );
    check(
        r#"{"resourceType": "Patient", "deceasedDateTime": "2015-02-07T13:28:17"}"#,
        expect![[r#"
            error value @ Patient.deceasedDateTime: invalid dateTime format
        "#]],
    );
    check(
        r#"{"resourceType": "Patient", "deceasedDateTime": "2015-02-07T13:28+08:00"}"#,
        expect![[r#"
            error value @ Patient.deceasedDateTime: invalid dateTime format
        "#]],
    );
    check(
        r#"{"resourceType": "Patient", "deceasedDateTime": "2015-02T13:28:17Z"}"#,
        expect![[r#"
            error value @ Patient.deceasedDateTime: invalid dateTime format
        "#]],
    );
    check(
        r#"{"resourceType": "Patient", "deceasedDateTime": "2015-02-07T13:28:17+14:30"}"#,
        expect![[r#"
            error value @ Patient.deceasedDateTime: invalid dateTime format
        "#]],
    );
    check(
        r#"{"resourceType": "Observation", "status": "final", "code": {"text": "t"},
            "issued": "2015-02-07T13:28:17.239+02:00", "valueTime": "24:00:00"}"#,
        expect![[r#"
            error value @ Observation.valueTime: invalid time format
        "#]],
    );
    check(
        r#"{"resourceType": "Observation", "status": "final", "code": {"text": "t"},
            "issued": "2015-02-07", "meta": {"lastUpdated": "2015-02-07T13:28:17."}}"#,
        expect![[r#"
            error value @ Observation.issued: invalid instant format
            error value @ Observation.meta.lastUpdated: invalid instant format
        "#]],
    );
}

#[test]
fn string_formats() {
    check(
        r#"{"resourceType": "Patient", "id": "a_b"}"#,
        expect![[r#"
        error value @ Patient.id: invalid id format
    "#]],
    );
    check(
        &format!(
            r#"{{"resourceType": "Patient", "id": "{}"}}"#,
            "a".repeat(65)
        ),
        expect![[r#"
        error value @ Patient.id: invalid id format
    "#]],
    );
    check(
        r#"{"resourceType": "Patient", "gender": " male", "language": "en  US",
            "implicitRules": "http://example.org/a b"}"#,
        expect![[r#"
            error value @ Patient.gender: invalid code format
            error value @ Patient.language: invalid code format
            error value @ Patient.implicitRules: invalid uri format
        "#]],
    );
    check(
        r#"{"resourceType": "Patient", "identifier": [{"system": "urn:oid:1.2.036", "value": "1"},
            {"system": "urn:oid:2.16.840.1.113883"},
            {"system": "urn:uuid:A5A2B9E4-7B55-4F6B-8E0C-5C4D2B1B9A33"}]}"#,
        expect![""],
    );
    check(
        r#"{"resourceType": "Patient", "photo": [{"data": "aGVsbG8="}, {"data": "aGVsbG8"},
            {"data": "aGVs bG8h"}, {"data": "a=Vs"}]}"#,
        expect![[r#"
            error value @ Patient.photo[1].data: invalid base64Binary format
            error value @ Patient.photo[3].data: invalid base64Binary format
        "#]],
    );
    check(
        r#"{"resourceType": "Patient", "text": {"status": "generated", "div": "<p>no</p>"}}"#,
        expect![[r#"
            error value @ Patient.text.div: invalid xhtml format
        "#]],
    );
    check(
        r#"{"resourceType": "Patient", "text": {"status": "generated"}}"#,
        expect![[r#"
        error required @ Patient.text: missing required element 'div'
    "#]],
    );
    check(
        r#"{"resourceType": "Patient", "text": {"status": "generated",
            "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">Wei</div>", "_div": {"id": "x"}}}"#,
        expect![[r#"
            error structure @ Patient.text: unknown element '_div'
        "#]],
    );
}

#[test]
fn decimals_keep_their_text() {
    check(
        r#"{"resourceType": "Observation", "status": "final", "code": {"text": "t"},
            "valueQuantity": {"value": 1.000000000000000000000001}, "component": [
            {"code": {"text": "c"}, "valueQuantity": {"value": -0.0e-10}}]}"#,
        expect![""],
    );
}

#[test]
fn primitive_extensions() {
    check(
        r#"{"resourceType": "Patient", "birthDate": "1970-03-30",
            "_birthDate": {"id": "b", "extension": [{"url": "http://example.org/birthTime",
            "valueDateTime": "1970-03-30T14:35:45-05:00"}]},
            "name": [{"given": ["Wei", null, "Min"],
            "_given": [null, {"extension": [{"url": "http://example.org/x", "valueCode": "a"}]}, null]}]}"#,
        expect![""],
    );
    check(
        r#"{"resourceType": "Patient", "name": [{"given": ["Wei", null], "_given": [null, null]}]}"#,
        expect![[r#"
            error structure @ Patient.name[0].given[1]: null item without a matching '_given' item
        "#]],
    );
    check(
        r#"{"resourceType": "Patient", "name": [{"given": ["Wei"], "_given": [null, {"id": "a"}]}]}"#,
        expect![[r#"
            error structure @ Patient.name[0].given: element '_given' must have as many items as 'given'
        "#]],
    );
    check(
        r#"{"resourceType": "Patient", "name": [{"given": [null]}], "_gender": [{"id": "g"}],
            "_birthDate": {"url": "x"}, "_name": {"id": "n"}}"#,
        expect![[r#"
            error structure @ Patient.name[0].given[0]: null item without a matching '_given' item
            error structure @ Patient.gender: element '_gender' must not be an array
            error structure @ Patient.birthDate: unknown element 'url'
            error structure @ Patient: unknown element '_name'
        "#]],
    );
    check(
        r#"{"resourceType": "Patient", "name": [{"_given": [null, {"id": "a"}]}], "_active": {}}"#,
        expect![[r#"
            error structure @ Patient.name[0].given[0]: null item without a matching 'given' item
            error structure @ Patient.active: element '_active' must not be an empty object
        "#]],
    );
}

#[test]
fn extensions() {
    check(
        r#"{"resourceType": "Patient", "extension": [{"url": "http://example.org/a",
            "valueCodeableConcept": {"text": "x"}}, {"url": "http://example.org/b",
            "extension": [{"url": "part", "valueInteger": 1}]}]}"#,
        expect![""],
    );
    check(
        r#"{"resourceType": "Patient", "extension": [{"valueString": "x"},
            {"url": "http://example.org/b", "valueString": "x", "valueInteger": 1},
            {"url": "http://example.org/c", "valueFoo": 1}], "name": [{"extension": {"url": "u"}}]}"#,
        expect![[r#"
            error required @ Patient.extension[0]: missing required element 'url'
            error structure @ Patient.extension[1].valueInteger: element 'value[x]' has more than one type
            error structure @ Patient.extension[2]: type 'Foo' is not allowed for 'value[x]'
            error structure @ Patient.name[0].extension: element 'extension' must be an array
        "#]],
    );
    check(
        r#"{"resourceType": "Patient", "extension": [{"url": "http://example.org/a", "_url": {}}]}"#,
        expect![[r#"
            error structure @ Patient.extension[0]: unknown element '_url'
        "#]],
    );
}

#[test]
fn references() {
    let valid = [
        "Patient/123",
        "Patient/123/_history/2",
        "http://example.org/fhir/Patient/123",
        "https://example.org/Patient/123/_history/2",
        "#p1",
        "#",
        "urn:uuid:a5a2b9e4-7b55-4f6b-8e0c-5c4d2b1b9a33",
        "urn:oid:1.2.3.4",
        "Patient?identifier=http://example.org/mrn|123",
    ];
    for reference in valid {
        let input = format!(
            r#"{{"resourceType": "Patient", "managingOrganization": {{"reference": "{reference}"}}}}"#
        );
        check(&input, expect![""]);
    }
    let invalid = [
        "123",
        "Patient",
        "Patient/",
        "Foo/123",
        "Patient/a_b",
        "Patient/1/_history",
        "Patient/1/_history/",
        "Patient 1",
        "/Patient/1",
        "a/Patient/1",
        "http:///Patient/1",
        "http://example.org/fhir/Foo/1",
        "#a b",
        "urn:uuid:1234",
        "urn:oid:3.1",
        "Patient?",
    ];
    for reference in invalid {
        let input = format!(
            r#"{{"resourceType": "Patient", "managingOrganization": {{"reference": "{reference}"}}}}"#
        );
        check(
            &input,
            expect![[r#"
            error value @ Patient.managingOrganization.reference: invalid reference format
        "#]],
        );
    }
    check(
        r#"{"resourceType": "Patient", "generalPractitioner": [{"reference": ""},
            {"identifier": {"value": "1"}}, {"display": "Dr Li"}]}"#,
        expect![[r#"
            error value @ Patient.generalPractitioner[0].reference: element 'reference' must not be an empty string
        "#]],
    );
}

#[test]
fn contained_and_bundled_resources() {
    check(
        r##"{"resourceType": "Patient", "contained": [
            {"resourceType": "Organization", "id": "o1", "name": "Clinic"},
            {"resourceType": "Practitioner", "id": "p1", "gender": "other", "photo": {}}],
            "managingOrganization": {"reference": "#o1"}}"##,
        expect![[r#"
            error structure @ Patient.contained[1].photo: element 'photo' must be an array
        "#]],
    );
    check(
        r#"{"resourceType": "Patient", "contained": [{"id": "x"}, {"resourceType": "Foo"}, 1, {}]}"#,
        expect![[r#"
            error invalid @ Patient.contained[0]: missing resourceType
            error not-supported @ Patient.contained[1]: unknown resource type
            error structure @ Patient.contained[2]: element 'contained' must be a json object
            error structure @ Patient.contained[3]: element 'contained' must not be an empty object
        "#]],
    );
    check(
        r#"{"resourceType": "Bundle", "type": "transaction", "entry": [
            {"fullUrl": "urn:uuid:a5a2b9e4-7b55-4f6b-8e0c-5c4d2b1b9a33",
             "resource": {"resourceType": "Patient", "active": true},
             "request": {"method": "POST", "url": "Patient"}},
            {"resource": {"resourceType": "Observation", "status": "final"},
             "request": {"method": "POST"}},
            {"resource": {"resourceType": "Observation", "status": "final", "code": {"text": "t"},
             "subject": {"reference": "urn:uuid:a5a2b9e4-7b55-4f6b-8e0c-5c4d2b1b9a33"},
             "valueQuantity": {"value": "1"}}}]}"#,
        expect![[r#"
            error required @ Bundle.entry[1].resource: missing required element 'code'
            error required @ Bundle.entry[1].request: missing required element 'url'
            error structure @ Bundle.entry[2].resource.valueQuantity.value: element 'value' must be a json number
        "#]],
    );
    check(
        r#"{"resourceType": "Parameters", "parameter": [{"name": "p",
            "resource": {"resourceType": "Patient", "birthDate": "1970-02-30"}},
            {"name": "q", "valueString": "x", "part": [{"name": "r", "valueFoo": 1}]}]}"#,
        expect![[r#"
            error value @ Parameters.parameter[0].resource.birthDate: invalid date format
            error structure @ Parameters.parameter[1].part[0]: type 'Foo' is not allowed for 'value[x]'
        "#]],
    );
}

#[test]
fn many_problems_at_once() {
    check(
        r#"{"resourceType": "Observation", "status": "final ", "fooBar": true,
            "code": {"coding": {"system": "http://loinc.org", "code": "8310-5"}},
            "subject": {"reference": "Patient 1"},
            "effectiveDateTime": "2024-13-01",
            "valueQuantity": {"value": 37.5, "unit": "Cel", "comparator": ["<"]},
            "note": [{"text": ""}, {"authorString": "x"}],
            "component": [{"code": {"text": "c"}, "valueInteger": 1.0}, {}]}"#,
        expect![[r#"
            error value @ Observation.status: invalid code format
            error structure @ Observation: unknown element 'fooBar'
            error structure @ Observation.code.coding: element 'coding' must be an array
            error value @ Observation.subject.reference: invalid reference format
            error value @ Observation.effectiveDateTime: invalid dateTime format
            error structure @ Observation.valueQuantity.comparator: element 'comparator' must not be an array
            error value @ Observation.note[0].text: element 'text' must not be an empty string
            error required @ Observation.note[1]: missing required element 'text'
            error value @ Observation.component[0].valueInteger: invalid integer format
            error structure @ Observation.component[1]: element 'component' must not be an empty object
        "#]],
    );
}

#[test]
fn messages_never_echo_values() {
    let secret = "Zhang-Secret-1970";
    let input = format!(
        r#"{{"resourceType": "Patient", "birthDate": "{secret}", "gender": " {secret}",
            "id": "{secret}_", "active": "{secret}", "telecom": [{{"value": ""}}],
            "managingOrganization": {{"reference": "{secret} x"}},
            "photo": [{{"data": "{secret}!", "url": "{secret} x", "size": -5}}]}}"#
    );
    let resource: serde_json::Value = serde_json::from_str(&input).expect("json");
    let issues = crate::validate::validate(&resource);
    assert_eq!(issues.len(), 9, "{issues:?}");
    for issue in issues {
        assert!(
            !issue.diagnostics.contains("Secret"),
            "{}",
            issue.diagnostics
        );
    }
}

#[test]
fn resources_without_narrative() {
    check(
        r#"{"resourceType": "Binary", "contentType": "application/pdf", "data": "JVBERi0xLjQK"}"#,
        expect![""],
    );
    check(
        r#"{"resourceType": "Binary", "text": {"status": "empty", "div": "<div/>"},
            "extension": [{"url": "http://example.org/a", "valueBoolean": true}]}"#,
        expect![[r#"
            error structure @ Binary: unknown element 'text'
            error structure @ Binary: unknown element 'extension'
            error required @ Binary: missing required element 'contentType'
        "#]],
    );
}

#[test]
fn locations_nest_through_bundles_and_contained() {
    check(
        r#"{"resourceType": "Bundle", "type": "collection", "entry": [{"resource":
            {"resourceType": "Patient", "contained": [{"resourceType": "Patient",
            "name": [{"given": ["Wei", "", 3]}]}]}}]}"#,
        expect![[r#"
            error value @ Bundle.entry[0].resource.contained[0].name[0].given[1]: element 'given' must not be an empty string
            error structure @ Bundle.entry[0].resource.contained[0].name[0].given[2]: element 'given' must be a json string
        "#]],
    );
}
