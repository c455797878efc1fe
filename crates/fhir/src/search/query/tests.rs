//! Tests of search-query parsing: a search URL in, the parsed query or the rendered issues out.

use crate::search::{SearchQuery, parse_query};
use expect_test::{Expect, expect};
use std::fmt::Write;

/// Parses a URL-ish search `Type?name=value&...` strictly and prints the query or the issues.
#[track_caller]
fn check(url: &str, expect: Expect) {
    check_with(url, false, expect);
}

#[track_caller]
fn check_lenient(url: &str, expect: Expect) {
    check_with(url, true, expect);
}

#[track_caller]
fn check_with(url: &str, lenient: bool, expect: Expect) {
    let (resource_type, query) = url.split_once('?').unwrap_or((url, ""));
    let pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (name, value) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(name), percent_decode(value))
        })
        .collect();
    let out = match parse_query(resource_type, &pairs, lenient) {
        Ok(query) => render(query),
        Err(issues) => crate::outcome::render(&issues),
    };
    expect.assert_eq(&out);
}

/// One line per predicate under its clause, then the result parameters that are set.
fn render(query: SearchQuery) -> String {
    let SearchQuery {
        resource_type,
        clauses,
        sort,
        count,
        include,
        revinclude,
        summary_count,
        total_accurate,
        page,
        ignored,
    } = query;
    let mut out = format!("{resource_type}\n");
    for clause in clauses {
        writeln!(out, "  {}:", clause.param).expect("write to String");
        for predicate in clause.predicates {
            writeln!(out, "    {predicate:?}").expect("write to String");
        }
    }
    let mut field = |name: &str, value: String| {
        writeln!(out, "  {name} = {value}").expect("write to String");
    };
    if !sort.is_empty() {
        field("sort", format!("{sort:?}"));
    }
    if let Some(count) = count {
        field("count", count.to_string());
    }
    for include in include {
        field("include", format!("{include:?}"));
    }
    for include in revinclude {
        field("revinclude", format!("{include:?}"));
    }
    if summary_count {
        field("summary_count", "true".to_string());
    }
    if total_accurate {
        field("total_accurate", "true".to_string());
    }
    if let Some(page) = page {
        field("page", page);
    }
    if !ignored.is_empty() {
        field("ignored", format!("{ignored:?}"));
    }
    out
}

/// `application/x-www-form-urlencoded` decoding, enough for tests.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).expect("test URL is ASCII");
                out.push(u8::from_str_radix(hex, 16).expect("test URL has valid escapes"));
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).expect("test URL decodes to UTF-8")
}

#[test]
fn empty_search() {
    check(
        "Patient",
        expect![[r#"
            Patient
        "#]],
    );
}

#[test]
fn tokens() {
    check(
        "Observation?code=http://loinc.org|8867-4,|local,8310-5&status=final&category=http://x|",
        expect![[r#"
            Observation
              code:
                Token { system: Is("http://loinc.org"), code: Some("8867-4"), not: false }
                Token { system: None, code: Some("local"), not: false }
                Token { system: Any, code: Some("8310-5"), not: false }
              status:
                Token { system: Any, code: Some("final"), not: false }
              category:
                Token { system: Is("http://x"), code: None, not: false }
        "#]],
    );
    check(
        "Observation?status:not=cancelled,entered-in-error",
        expect![[r#"
            Observation
              status:
                Token { system: Any, code: Some("cancelled"), not: true }
                Token { system: Any, code: Some("entered-in-error"), not: true }
        "#]],
    );
    check(
        "Patient?identifier=urn:oid:1.2|a\\,b\\|c&active=true",
        expect![[r#"
            Patient
              identifier:
                Token { system: Is("urn:oid:1.2"), code: Some("a,b|c"), not: false }
              active:
                Token { system: Any, code: Some("true"), not: false }
        "#]],
    );
    check(
        "Patient?gender=|&identifier=a|b|c",
        expect![[r#"
            error value: invalid token value for search parameter 'gender'
            error value: invalid token value for search parameter 'identifier'
        "#]],
    );
    check(
        "Observation?code:text=fever&code:in=http://vs&code:below=x&code:bogus=1",
        expect![[r#"
            error not-supported: modifier ':text' is not supported for search parameter 'code'
            error not-supported: modifier ':in' is not supported for search parameter 'code'
            error not-supported: modifier ':below' is not supported for search parameter 'code'
            error not-supported: modifier ':bogus' is not supported for search parameter 'code'
        "#]],
    );
}

#[test]
fn strings() {
    check(
        "Patient?name=M%C3%BCller&family:exact=Li&given:contains=ei&address=a\\,b",
        expect![[r#"
            Patient
              name:
                String { value: "Müller", exact: false, contains: false }
              family:
                String { value: "Li", exact: true, contains: false }
              given:
                String { value: "ei", exact: false, contains: true }
              address:
                String { value: "a,b", exact: false, contains: false }
        "#]],
    );
    check(
        "Patient?name:text=x&name:not=y",
        expect![[r#"
            error not-supported: modifier ':text' is not supported for search parameter 'name'
            error not-supported: modifier ':not' is not supported for search parameter 'name'
        "#]],
    );
}

#[test]
fn dates() {
    check(
        "Patient?birthdate=ge1990-01-01&birthdate=lt2000&_lastUpdated=gt2024-05-01T08:30:00%2B08:00",
        expect![[r#"
            Patient
              birthdate:
                Date { prefix: Ge, lo: 631152000000, hi: 631238399999 }
              birthdate:
                Date { prefix: Lt, lo: 946684800000, hi: 978307199999 }
              _lastUpdated:
                Date { prefix: Gt, lo: 1714523400000, hi: 1714523400999 }
        "#]],
    );
    check(
        "Observation?date=2024-05-01T08:30:00+08:00,ap2024-05",
        expect![[r#"
            Observation
              date:
                Date { prefix: Eq, lo: 1714523400000, hi: 1714523400999 }
                Date { prefix: Ap, lo: 1714521600000, hi: 1717199999999 }
        "#]],
    );
    check(
        "Patient?birthdate=1990-13-01&birthdate=xx1990&death-date=gt&_lastUpdated=yesterday",
        expect![[r#"
            error value: invalid date value for search parameter 'birthdate'
            error value: invalid date value for search parameter 'birthdate'
            error value: invalid date value for search parameter 'death-date'
            error value: invalid date value for search parameter '_lastUpdated'
        "#]],
    );
}

#[test]
fn numbers_and_quantities() {
    check(
        "Observation?value-quantity=gt37.5|http://unitsofmeasure.org|Cel,5.4||mg,100&combo-value-quantity=le1e2",
        expect![[r#"
            Observation
              value-quantity:
                Number { prefix: Gt, value: 37.5, lo: 37.45, hi: 37.55, unit: Some("Cel") }
                Number { prefix: Eq, value: 5.4, lo: 5.35, hi: 5.45, unit: Some("mg") }
                Number { prefix: Eq, value: 100.0, lo: 99.5, hi: 100.5, unit: None }
              combo-value-quantity:
                Number { prefix: Le, value: 100.0, lo: 50.0, hi: 150.0, unit: None }
        "#]],
    );
    check(
        "Observation?value-quantity=abc&value-quantity=5|mg&value-quantity=gt",
        expect![[r#"
            error value: invalid quantity value for search parameter 'value-quantity'
            error value: invalid quantity value for search parameter 'value-quantity'
            error value: invalid quantity value for search parameter 'value-quantity'
        "#]],
    );
}

#[test]
fn references() {
    check(
        "Observation?patient=123&subject=Patient/p1,https://example.org/fhir/Group/g1/_history/2&subject:Location=l1",
        expect![[r#"
            error value: invalid reference value for search parameter 'subject'
        "#]],
    );
    check(
        "Observation?subject=456",
        expect![[r#"
            Observation
              subject:
                Reference { targets: [("Patient", "456"), ("Location", "456")] }
        "#]],
    );
    check(
        "Observation?subject=Medication/m1&patient=Group/g1&subject:Medication=m1&subject=a%20b&subject:identifier=x|1",
        expect![[r#"
            error invalid: reference type is not a target of search parameter 'subject'
            error invalid: reference type is not a target of search parameter 'patient'
            error invalid: resource type Medication is not a target of search parameter 'subject'
            error value: invalid reference value for search parameter 'subject'
            error not-supported: modifier ':identifier' is not supported for search parameter 'subject'
        "#]],
    );
    // Entity may point at anything; a bare id expands to the types stored here only.
    check(
        "AuditEvent?entity=e1",
        expect![[r#"
            AuditEvent
              entity:
                Reference { targets: [("AllergyIntolerance", "e1"), ("AuditEvent", "e1"), ("Binary", "e1"), ("ConceptMap", "e1"), ("Condition", "e1"), ("Consent", "e1"), ("DetectedIssue", "e1"), ("DiagnosticReport", "e1"), ("DocumentReference", "e1"), ("Encounter", "e1"), ("EpisodeOfCare", "e1"), ("ImagingStudy", "e1"), ("Location", "e1"), ("Medication", "e1"), ("MedicationDispense", "e1"), ("MedicationRequest", "e1"), ("MedicationStatement", "e1"), ("Observation", "e1"), ("Organization", "e1"), ("Patient", "e1"), ("Person", "e1"), ("Practitioner", "e1"), ("PractitionerRole", "e1"), ("Procedure", "e1"), ("Provenance", "e1"), ("ServiceRequest", "e1"), ("Task", "e1")] }
        "#]],
    );
}

#[test]
fn missing_and_ids() {
    check(
        "Patient?_id=a,b&birthdate:missing=true&gender:missing=false&_id:missing=false",
        expect![[r#"
            Patient
              _id:
                Id("a")
                Id("b")
              birthdate:
                Missing(true)
              gender:
                Missing(false)
              _id:
                Missing(false)
        "#]],
    );
    check(
        "Patient?email:missing=maybe&birthdate:missing=",
        expect![[r#"
            error value: invalid :missing value for search parameter 'email'
        "#]],
    );
    check(
        "Patient?_id=a%20b&_id:exact=x",
        expect![[r#"
            error value: invalid id value for search parameter '_id'
            error not-supported: modifier ':exact' is not supported for search parameter '_id'
        "#]],
    );
}

#[test]
fn result_parameters() {
    check(
        "Observation?_count=50&_sort=-date,_lastUpdated&_include=Observation:patient&_revinclude=Provenance:target&_total=accurate&_page=abc&_format=application/fhir%2Bjson&_summary=false",
        expect![[r#"
            Observation
              sort = [Sort { param: "date", descending: true }, Sort { param: "_lastUpdated", descending: false }]
              count = 50
              include = Include { source_type: "Observation", param: "patient", target_type: None }
              revinclude = Include { source_type: "Provenance", param: "target", target_type: None }
              total_accurate = true
              page = abc
        "#]],
    );
    check(
        "Observation?_count=0&_include=Observation:subject:Patient",
        expect![[r#"
            Observation
              include = Include { source_type: "Observation", param: "subject", target_type: Some("Patient") }
              summary_count = true
        "#]],
    );
    check(
        "Observation?_count=5000&_summary=count",
        expect![[r#"
            Observation
              count = 1000
              summary_count = true
        "#]],
    );
}

#[test]
fn bad_result_parameters() {
    check(
        "Observation?_count=-1&_sort=code,-status&_include=Patient:organization&_include=Observation:code&_include=Observation:subject:Medication&_include=*&_include:iterate=Observation:patient&_revinclude=Foo:bar&_total=maybe&_summary=text&_format=xml&_include=bad",
        expect![[r#"
            error value: invalid value for _count
            error not-supported: sorting Observation by 'code' is not supported
            error not-supported: sorting Observation by 'status' is not supported
            error invalid: _include must start with the searched type Observation
            error invalid: 'code' is not a reference search parameter of Observation
            error invalid: resource type Medication is not a target of Observation:subject
            error not-supported: _include=* is not supported
            error not-supported: '_include:iterate' is not supported
            error invalid: resource type 'Foo' is not supported in _revinclude
            error value: invalid value for _total
            error not-supported: only _summary=count and _summary=false are supported
            error not-supported: only JSON is supported (_format)
            error invalid: invalid value for _include
        "#]],
    );
}

#[test]
fn unknown_and_unsupported_parameters() {
    check(
        "Observation?foo=1&subject.name=x&_has:Observation:patient:code=1234&_elements=id&_text=x",
        expect![[r#"
            error not-supported: unknown search parameter 'foo' for Observation
            error not-supported: chained search parameter 'subject.name' is not supported
            error not-supported: reverse chaining (_has) is not supported
            error not-supported: _elements is not supported
            error not-supported: unknown search parameter '_text' for Observation
        "#]],
    );
    check_lenient(
        "Observation?foo=1&subject.name=x&_has:Observation:patient:code=1234&_elements=id&code:text=x&status=final",
        expect![[r#"
            Observation
              status:
                Token { system: Any, code: Some("final"), not: false }
              ignored = ["foo", "subject.name", "_has:Observation:patient:code", "_elements", "code:text"]
        "#]],
    );
    // Lenient handling never excuses a bad value.
    check_lenient(
        "Observation?date=notadate&foo=bar",
        expect![[r#"
            error value: invalid date value for search parameter 'date'
        "#]],
    );
    check(
        "Basic?code=x",
        expect![[r#"
            error not-supported: resource type 'Basic' is not supported
        "#]],
    );
}

#[test]
fn empty_values_are_ignored() {
    check(
        "Patient?name=&gender=,male,",
        expect![[r#"
            Patient
              gender:
                Token { system: Any, code: Some("male"), not: false }
        "#]],
    );
}

#[test]
fn uris() {
    check(
        "Patient?_profile=http://example.org/StructureDefinition/p|1.0&_source=urn:yilian:his",
        expect![[r#"
            Patient
              _profile:
                Token { system: None, code: Some("http://example.org/StructureDefinition/p|1.0"), not: false }
              _source:
                Token { system: None, code: Some("urn:yilian:his"), not: false }
        "#]],
    );
}
