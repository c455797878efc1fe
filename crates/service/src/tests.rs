use crate::{Caller, Config, Error, Service};
use expect_test::{Expect, expect};
use std::sync::Arc;

fn service() -> Service {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "yilian-service-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let store = store::Engine::new(store::Sqlite::open(&dir).expect("open store"));
    Service::new(Arc::new(store), Config::default())
}

/// Creates `body` as `resource_type` and renders the error's status and issues.
#[track_caller]
fn check_create(resource_type: &str, body: &str, expect: Expect) {
    let s = service();
    let actual = match s.create(&Caller::Client, resource_type, body.as_bytes(), None) {
        Ok(w) => format!("created {} v{}", w.stored.resource_type, w.stored.version),
        Err(e) => format!(
            "{} {}\n{}",
            e.describe().status,
            e.describe().code,
            fhir::outcome::render(&e.issues())
        ),
    };
    expect.assert_eq(&actual);
}

#[test]
fn error_codes_are_unique() {
    let mut codes = crate::all_codes();
    let n = codes.len();
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), n);
}

#[test]
fn bad_bodies_get_precise_outcomes() {
    check_create(
        "Patient",
        r#"{"resourceType":"Patient","gender":"male"}"#,
        expect![[r#"created Patient v1"#]],
    );
    check_create(
        "Patient",
        r#"{"resourceType":"Patient","gender":"male","gender":"female"}"#,
        expect![[r#"
            400 malformed-json
            error structure: duplicate key 'gender' at line 1 column 43
        "#]],
    );
    check_create(
        "Patient",
        r#"{"resourceType":"Observation","status":"final"}"#,
        expect![[r#"
            400 type-mismatch
            error invalid: the body is a Observation, the URL names Patient
        "#]],
    );
    check_create(
        "Spaceship",
        r#"{"resourceType":"Spaceship"}"#,
        expect![[r#"
            404 unsupported-type
            error not-supported: resource type Spaceship is not supported
        "#]],
    );
}

#[test]
fn error_messages_carry_no_resource_content() {
    let s = service();
    let secret = "ZHANGSAN-SECRET";
    let body = format!(
        r#"{{"resourceType":"Patient","birthDate":"{secret}","name":[{{"family":"{secret}"}}]}}"#
    );
    let err = s
        .create(&Caller::Client, "Patient", body.as_bytes(), None)
        .expect_err("an invalid birth date is rejected");
    let text = format!("{err} {:?}", err.issues());
    assert!(!text.contains(secret), "{text}");
    assert!(matches!(err, Error::Invalid(_)));
}

#[test]
fn capability_statement_lists_exactly_what_is_served() {
    let cs = service().capabilities("http://yilian.test");
    let resources = cs["rest"][0]["resource"].as_array().expect("resources");
    let types: Vec<&str> = resources
        .iter()
        .filter_map(|r| r["type"].as_str())
        .collect();
    assert_eq!(types, fhir::SUPPORTED_TYPES);
    for r in resources {
        let t = r["type"].as_str().expect("type");
        let params = r["searchParam"].as_array().expect("searchParam");
        assert!(params.len() > 3, "{t} lists its search parameters");
        for p in params {
            let code = p["name"].as_str().expect("name");
            let pairs = vec![(format!("{code}:missing"), "true".to_string())];
            assert!(
                fhir::search::parse_query(t, &pairs, false).is_ok(),
                "{t}?{code} is listed but not accepted"
            );
        }
        for inc in r["searchRevInclude"].as_array().expect("revinclude") {
            let pairs = vec![(
                "_revinclude".to_string(),
                inc.as_str().expect("str").to_string(),
            )];
            assert!(
                fhir::search::parse_query(t, &pairs, false).is_ok(),
                "{t} _revinclude={inc}"
            );
        }
    }
}

#[test]
fn one_sort_key_only() {
    let s = service();
    let pairs = vec![("_sort".to_string(), "-date,_id".to_string())];
    let err = s
        .search(&Caller::Client, "Observation", &pairs, false)
        .expect_err("two sort keys are refused");
    expect![[r#"error not-supported: _sort takes one sort key
"#]]
    .assert_eq(&fhir::outcome::render(&err.issues()));
}

// --- the cross-hospital identity ------------------------------------------------------------

/// A service holding the Patients of a small synthetic region, and the truth about them.
fn registered(patients: u64) -> (Service, Vec<synth::Registered>) {
    let s = service();
    let config = synth::Config::new(5, patients, synth::Date::ymd(2026, 11, 1));
    let regs: Vec<synth::Registered> = synth::registrations(&config).collect();
    let checked = regs
        .iter()
        .map(|r| {
            s.check(r.patient.to_string().as_bytes())
                .expect("valid Patient")
        })
        .collect();
    assert!(s.import(&Caller::System, checked).iter().all(Result::is_ok));
    (s, regs)
}

fn pix_ids(s: &Service, source: &str) -> Result<Vec<String>, Error> {
    let v = s.pix(source, &[])?;
    Ok(v["parameter"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["valueReference"]["reference"].as_str())
        .map(|r| r.trim_start_matches("Patient/").to_string())
        .collect())
}

#[test]
fn one_record_number_finds_every_registration_of_the_person_and_no_one_else() {
    let (s, regs) = registered(300);
    let person_of: std::collections::HashMap<&str, &str> = regs
        .iter()
        .map(|r| {
            (
                r.patient["id"].as_str().unwrap_or_default(),
                r.person.as_str(),
            )
        })
        .collect();
    let (mut found, mut expected) = (0, 0);
    for r in &regs {
        let system = synth::hospitals::hospital(r.hospital)
            .expect("hospital")
            .mrn_system();
        let ids = pix_ids(&s, &format!("{system}|{}", r.mrn)).expect("registered");
        for id in &ids {
            assert_eq!(
                person_of[id.as_str()],
                r.person,
                "a registration of someone else"
            );
        }
        found += ids.len();
        expected += regs.iter().filter(|o| o.person == r.person).count();
    }
    let recall = found as f64 / expected as f64;
    assert!(recall > 0.98, "recall {recall}");
    // Identifiers of the linked registrations, only those of the target system when asked.
    let r = &regs[0];
    let system = synth::hospitals::hospital(r.hospital)
        .expect("hospital")
        .mrn_system();
    let only = s
        .pix(&format!("{system}|{}", r.mrn), std::slice::from_ref(&system))
        .expect("registered");
    let values: Vec<&str> = only["parameter"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["valueIdentifier"]["system"].as_str())
        .collect();
    assert!(
        values.iter().all(|v| *v == system) && !values.is_empty(),
        "{values:?}"
    );
}

#[test]
fn a_registration_is_linked_as_it_arrives() {
    let (s, regs) = registered(100);
    // Build the index, then register someone known at a new hospital under a new number.
    let first = &regs[0];
    let system = synth::hospitals::hospital(first.hospital)
        .expect("hospital")
        .mrn_system();
    let before = pix_ids(&s, &format!("{system}|{}", first.mrn)).expect("registered");
    let mut again = first.patient.clone();
    again["id"] = "late-arrival".into();
    again["identifier"][0]["system"] = "https://yilian.health/fhir/sid/mrn/h30".into();
    again["identifier"][0]["value"] = "LATE-1".into();
    s.create(
        &Caller::Client,
        "Patient",
        again.to_string().as_bytes(),
        None,
    )
    .expect("created");
    let ids = pix_ids(&s, "https://yilian.health/fhir/sid/mrn/h30|LATE-1").expect("registered");
    let mut all = before.clone();
    all.push(
        ids.iter()
            .find(|i| !before.contains(i))
            .cloned()
            .unwrap_or_default(),
    );
    all.sort();
    let mut ids_sorted = ids.clone();
    ids_sorted.sort();
    assert_eq!(
        ids_sorted, all,
        "the new registration joins the person's others"
    );
}

#[test]
fn match_grades_candidates_and_explains_them() {
    let (s, regs) = registered(100);
    let r = regs
        .iter()
        .find(|r| {
            r.noise.is_empty()
                && r.patient["identifier"]
                    .as_array()
                    .is_some_and(|i| i.len() > 1)
        })
        .expect("a clean registration with a resident ID");
    let params = serde_json::json!({"resourceType": "Parameters", "parameter": [
        {"name": "resource", "resource": {"resourceType": "Patient",
            "identifier": r.patient["identifier"].as_array().expect("ids")[1..].to_vec(),
            "name": r.patient["name"], "gender": r.patient["gender"], "birthDate": r.patient["birthDate"]}},
        {"name": "onlyCertainMatches", "valueBoolean": true}]});
    let found = s
        .match_patient(params.to_string().as_bytes())
        .expect("matched");
    assert!(!found.is_empty());
    for c in &found {
        let same = regs
            .iter()
            .find(|o| o.patient["id"].as_str() == Some(c.patient.id.as_str()));
        assert_eq!(same.map(|o| o.person.as_str()), Some(r.person.as_str()));
        assert_eq!(c.grade, "certain");
        assert!(c.explanation.contains("Birth=Exact"), "{}", c.explanation);
    }
    // Bad input names what is wrong.
    let errors: Vec<String> = [
        r#"{"resourceType":"Patient"}"#,
        r#"{"resourceType":"Parameters","parameter":[{"name":"count","valueInteger":3}]}"#,
        r#"{"resourceType":"Parameters","parameter":[{"name":"resource","resource":{"resourceType":"Observation","status":"final","code":{"text":"x"}}}]}"#,
    ]
    .iter()
    .map(|b| match s.match_patient(b.as_bytes()) {
        Ok(_) => "ok".to_string(),
        Err(e) => format!("{} {}: {}", e.describe().status, e.describe().code, e),
    })
    .collect();
    expect![[r#"
        400 invalid-operation: the body of $match must be a Parameters resource
        400 invalid-operation: $match needs a parameter named resource holding a Patient
        400 type-mismatch: the body is a Observation, the URL names Patient"#]]
    .assert_eq(&errors.join("\n"));
    let e = s
        .pix("urn:oid:2.16.156.10011.1.3|000", &[])
        .expect_err("unknown");
    assert_eq!(e.describe().code, "identifier-not-found");
}
