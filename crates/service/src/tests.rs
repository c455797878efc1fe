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
    let store = store::Engine::with_classifier(
        store::Sqlite::open(&dir).expect("open store"),
        crate::classify,
        crate::SHARED_TYPES,
    )
    .expect("classify")
    .sealed(audit::Sealer::from_seed([42; 32]));
    Service::new(Arc::new(store), Config::default())
}

/// Creates `body` as `resource_type` and renders the error's status and issues.
#[track_caller]
fn check_create(resource_type: &str, body: &str, expect: Expect) {
    let s = service();
    let actual = match s.create(&Caller::System, resource_type, body.as_bytes(), None) {
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
        .create(&Caller::System, "Patient", body.as_bytes(), None)
        .expect_err("an invalid birth date is rejected");
    let text = format!("{err} {:?}", err.issues());
    assert!(!text.contains(secret), "{text}");
    assert!(matches!(err, Error::Invalid(_)));
}

#[test]
fn capability_statement_lists_exactly_what_is_served() {
    let cs = service().capabilities("http://yilian.test");
    let problems = fhir::validate::validate(&cs);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(
        cs["rest"][0]["security"]["extension"][0]["extension"][0]["valueUri"],
        "http://yilian.test/auth/token"
    );
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
        for inc in r["searchRevInclude"].as_array().into_iter().flatten() {
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
        .search(&Caller::System, "Observation", &pairs, false)
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
    let v = s.pix(&Caller::System, source, &[])?;
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
        .pix(
            &Caller::System,
            &format!("{system}|{}", r.mrn),
            std::slice::from_ref(&system),
        )
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
        &Caller::System,
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
        .match_patient(&Caller::System, params.to_string().as_bytes())
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
    .map(|b| match s.match_patient(&Caller::System, b.as_bytes()) {
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
        .pix(&Caller::System, "urn:oid:2.16.156.10011.1.3|000", &[])
        .expect_err("unknown");
    assert_eq!(e.describe().code, "identifier-not-found");
}

fn params(pairs: &[(&str, &str)]) -> Vec<u8> {
    let parameter: Vec<serde_json::Value> = pairs
        .iter()
        .map(|(name, r)| serde_json::json!({"name": name, "valueReference": {"reference": r}}))
        .collect();
    serde_json::json!({"resourceType": "Parameters", "parameter": parameter})
        .to_string()
        .into_bytes()
}

fn person_of(s: &Service, patient: &str) -> serde_json::Value {
    let pairs = vec![("link".to_string(), patient.to_string())];
    let found = s
        .search(&Caller::System, "Person", &pairs, false)
        .expect("search");
    assert_eq!(found.matches.len(), 1, "one person links {patient}");
    serde_json::from_slice(&found.matches[0].body).expect("JSON")
}

#[test]
fn persons_keep_their_ids_through_unlink_link_merge_and_unmerge() {
    let (s, regs) = registered(100);
    let system = |r: &synth::Registered| {
        synth::hospitals::hospital(r.hospital)
            .expect("hospital")
            .mrn_system()
    };
    // Someone registered three times or more.
    let r = regs
        .iter()
        .find(|r| regs.iter().filter(|o| o.person == r.person).count() >= 3)
        .expect("a person registered three times");
    let ids = pix_ids(&s, &format!("{}|{}", system(r), r.mrn)).expect("registered");
    assert!(ids.len() >= 3, "{ids:?}");
    let (a, b) = (format!("Patient/{}", ids[0]), format!("Patient/{}", ids[1]));
    let person = person_of(&s, &a);
    let pid = person["id"].as_str().expect("id").to_string();
    for l in person["link"].as_array().expect("links") {
        assert_eq!(l["assurance"], "level3", "automatic links: {l}");
    }
    // Every stored Person passes Yilian's own validation.
    let issues = fhir::validate::validate(&person);
    assert!(
        issues
            .iter()
            .all(|i| !matches!(i.severity, fhir::Severity::Error | fhir::Severity::Fatal)),
        "{issues:?}"
    );

    // Unlink: a new person for a, remembered as distinct.
    let new = s
        .unlink_patient(&Caller::System, &params(&[("patient", &a)]))
        .expect("unlink");
    let new_id = new.id.clone();
    assert_ne!(new_id, pid);
    assert_eq!(
        pix_ids(&s, &format!("{}|{}", system(r), r.mrn))
            .map(|v| v.len())
            .ok(),
        Some(if r.patient["id"] == ids[0] {
            1
        } else {
            ids.len() - 1
        })
    );
    // Linking a back to b's person is refused: a decision said they differ.
    let e = s
        .link_patient(&Caller::System, &params(&[("patient", &a), ("target", &b)]))
        .expect_err("distinct");
    expect!["a decision says these are different people; unmerge or undo it first"]
        .assert_eq(&e.to_string());
    // Merging the persons is refused for the same reason; the old person's history shows
    // the unlink.
    let e = s
        .merge_persons(
            &Caller::System,
            &params(&[
                ("source", &format!("Person/{new_id}")),
                ("target", &format!("Person/{pid}")),
            ]),
        )
        .expect_err("distinct");
    assert_eq!(e.describe().code, "invalid-operation");
    let (versions, _) = s
        .history(
            &Caller::System,
            &store::HistoryScope::Instance("Person".into(), pid.clone()),
            None,
            None,
        )
        .expect("history");
    assert!(versions.len() >= 2, "{}", versions.len());

    // A third person merges into pid and comes back out with its id.
    let other = regs
        .iter()
        .find(|o| o.person != r.person)
        .expect("someone else");
    let other_key = format!("Patient/{}", other.patient["id"].as_str().expect("id"));
    let other_pid = person_of(&s, &other_key)["id"]
        .as_str()
        .expect("id")
        .to_string();
    let merged = s
        .merge_persons(
            &Caller::System,
            &params(&[
                ("source", &format!("Person/{other_pid}")),
                ("target", &format!("Person/{pid}")),
            ]),
        )
        .expect("merge");
    assert_eq!(merged.id, pid);
    assert_eq!(person_of(&s, &other_key)["id"], pid.as_str());
    let restored = s
        .unmerge_person(
            &Caller::System,
            &params(&[("source", &format!("Person/{other_pid}"))]),
        )
        .expect("unmerge");
    assert_eq!(restored.id, other_pid);
    assert_eq!(person_of(&s, &other_key)["id"], other_pid.as_str());

    // A manual link, from a review task: the link is level4 and the task is closed.
    let task = serde_json::json!({"resourceType": "Task", "id": "t1", "status": "requested", "intent": "proposal",
        "focus": {"reference": other_key}});
    s.update(
        &Caller::System,
        "Task",
        "t1",
        task.to_string().as_bytes(),
        None,
    )
    .expect("task");
    let linked = s
        .link_patient(
            &Caller::System,
            &params(&[("patient", &other_key), ("target", &b), ("task", "Task/t1")]),
        )
        .expect("link");
    assert_eq!(linked.id, pid);
    let p: serde_json::Value = serde_json::from_slice(&linked.body).expect("JSON");
    let link = p["link"]
        .as_array()
        .expect("links")
        .iter()
        .find(|l| l["target"]["reference"] == other_key.as_str())
        .cloned();
    assert_eq!(link.map(|l| l["assurance"].clone()), Some("level4".into()));
    let t: serde_json::Value =
        serde_json::from_slice(&s.read(&Caller::System, "Task", "t1").expect("task").body)
            .expect("JSON");
    assert_eq!(t["status"], "completed");
    assert_eq!(t["output"][0]["valueCode"], "linked");
    // Bad decisions name what is wrong and change nothing.
    let errors: Vec<String> = [
        params(&[("patient", "Patient/nobody"), ("target", &b)]),
        params(&[("patient", &a)]),
        params(&[("patient", "Observation/x"), ("target", &b)]),
        params(&[("patient", &a), ("target", &b), ("task", "Task/missing")]),
    ]
    .iter()
    .map(|body| match s.link_patient(&Caller::System, body) {
        Ok(_) => "ok".into(),
        Err(e) => format!("{} {}", e.describe().status, e),
    })
    .collect();
    expect![[r#"
        400 Patient/nobody is not in the patient index
        400 parameter target must be a valueReference to a Patient
        400 parameter patient must reference a Patient as Patient/[id]
        404 resource Task/missing not found"#]]
    .assert_eq(&errors.join("\n"));
}

#[test]
fn unsure_pairs_wait_in_the_review_queue() {
    let (s, regs) = registered(300);
    let system = synth::hospitals::hospital(regs[0].hospital)
        .expect("hospital")
        .mrn_system();
    pix_ids(&s, &format!("{system}|{}", regs[0].mrn)).expect("registered");
    let pairs = vec![
        (
            "code".to_string(),
            "https://yilian.health/fhir/CodeSystem/mpi-task|review-link".to_string(),
        ),
        ("status".to_string(), "requested".to_string()),
    ];
    let queue = s
        .search(&Caller::System, "Task", &pairs, false)
        .expect("search");
    assert!(
        !queue.matches.is_empty(),
        "a region of 300 people has pairs to review"
    );
    for t in &queue.matches {
        let t: serde_json::Value = serde_json::from_slice(&t.body).expect("JSON");
        let issues = fhir::validate::validate(&t);
        assert!(
            issues
                .iter()
                .all(|i| !matches!(i.severity, fhir::Severity::Error | fhir::Severity::Fatal)),
            "{issues:?}"
        );
        let explanation = t["input"][2]["valueString"].as_str().unwrap_or_default();
        assert!(explanation.contains("(p="), "{explanation}");
    }
}

#[test]
fn a_relink_asks_where_the_new_fit_disagrees_and_changes_no_person() {
    let (s, regs) = registered(100);
    let system = synth::hospitals::hospital(regs[0].hospital)
        .expect("hospital")
        .mrn_system();
    pix_ids(&s, &format!("{system}|{}", regs[0].mrn)).expect("registered");
    let first = s.relink().expect("relink");
    assert_eq!(first.registrations, regs.len());
    // A person decides a registration is someone else; the new fit still links it.
    let r = regs
        .iter()
        .find(|r| r.noise.is_empty() && regs.iter().filter(|o| o.person == r.person).count() >= 2)
        .expect("a clean registration of someone registered twice");
    let key = format!("Patient/{}", r.patient["id"].as_str().expect("id"));
    let own = s
        .unlink_patient(&Caller::System, &params(&[("patient", &key)]))
        .expect("unlink")
        .id;
    let again = s.relink().expect("relink");
    assert!(
        again.disagreements > first.disagreements,
        "{again:?} after {first:?}"
    );
    assert!(again.new_tasks >= 1, "{again:?}");
    assert_eq!(
        person_of(&s, &key)["id"],
        own.as_str(),
        "the decision stands"
    );
    // Asking again asks nothing new.
    assert_eq!(s.relink().expect("relink").new_tasks, 0);
}

/// The MSA code and ERR text of an acknowledgement.
fn ack_line(ack: &[u8]) -> String {
    let text = String::from_utf8_lossy(ack);
    let part = |id: &str, n: usize| {
        text.split('\r')
            .find(|s| s.starts_with(id))
            .and_then(|s| s.split('|').nth(n))
            .unwrap_or_default()
            .to_string()
    };
    format!("{} {}", part("MSA", 1), part("ERR", 8))
        .trim()
        .to_string()
}

#[test]
fn feeds_map_pharmacy_merges_and_local_codes() {
    let s = service();
    let feeds = vec![auth::Feed {
        hospital: "h02".into(),
        facilities: vec!["H02".into()],
        addresses: vec!["127.0.0.1".into()],
    }];
    let send = |control: &str, kind: &str, body: &str| {
        let m = format!(
            "MSH|^~\\&|HIS|H02|YILIAN|REGION|20261201101500||{kind}|{control}|P|2.5.1\r{body}"
        );
        ack_line(&s.v2_message(&feeds, m.as_bytes()).ack())
    };
    let pid =
        |mrn: &str| format!("PID|1||{mrn}^^^H02^MR~110101199003070015^^^^NI||张^伟||19900307|M\r");
    let mut out = Vec::new();
    out.push(send(
        "C1",
        "ADT^A04",
        &(pid("H02-1") + "PV1|1|O|内科||||||||||||||||V1\r"),
    ));
    out.push(send(
        "C2",
        "ADT^A04",
        &(pid("H02-2") + "PV1|1|O|内科||||||||||||||||V2\r"),
    ));
    // The hospital's local drug code, then its map, then a prescription using it.
    let map = serde_json::json!({"resourceType": "ConceptMap", "id": "h02-drug", "status": "active",
        "group": [{"source": "https://yilian.health/fhir/CodeSystem/local/h02/drug",
            "target": "http://www.whocc.no/atc",
            "element": [{"code": "X-AMOX", "target": [{"code": "J01CA04", "equivalence": "equivalent"}]}]}]});
    s.update(
        &Caller::System,
        "ConceptMap",
        "h02-drug",
        map.to_string().as_bytes(),
        None,
    )
    .expect("the map is stored");
    out.push(send(
        "C3",
        "RDE^O11",
        &(pid("H02-2")
            + "ORC|NW|RX1|||||||20261201100000|||D001^张^三\rRXE|^BID^D7|X-AMOX^阿莫西林^L|0.5||g|||||28|粒\r"),
    ));
    out.push(send(
        "C4",
        "RDS^O13",
        &(pid("H02-2") + "ORC|RE|RX1\rRXD|1|X-CEF^头孢^L|20261201103000|14|粒||RX1\r"),
    ));
    // H02-1 is merged into H02-2; then a merge naming no registration is refused.
    out.push(send(
        "C5",
        "ADT^A40",
        &(pid("H02-2") + "MRG|H02-1^^^H02^MR\r"),
    ));
    out.push(send(
        "C6",
        "ADT^A40",
        &(pid("H02-2") + "MRG|H02-9^^^H02^MR\r"),
    ));
    let all = |t: &str| {
        s.search(&Caller::System, t, &[], false)
            .expect("search")
            .matches
            .iter()
            .map(|m| serde_json::from_slice::<serde_json::Value>(&m.body).expect("json"))
            .collect::<Vec<_>>()
    };
    for p in all("Patient") {
        out.push(format!(
            "Patient {}: active {} link {}",
            p["identifier"][0]["value"], p["active"], p["link"][0]["type"]
        ));
    }
    let rx = &all("MedicationRequest")[0];
    out.push(format!(
        "prescription codes: {}",
        rx["medicationCodeableConcept"]["coding"]
    ));
    let d = &all("MedicationDispense")[0];
    out.push(format!("dispense tags: {}", d["meta"]["tag"]));
    expect![[r#"
        AA
        AA
        AA
        AA
        AA
        AE MRG-1 names no other registration of this hospital
        Patient "H02-1": active false link "replaced-by"
        Patient "H02-2": active null link null
        prescription codes: [{"system":"https://yilian.health/fhir/CodeSystem/local/h02/drug","code":"X-AMOX","display":"阿莫西林"},{"system":"http://www.whocc.no/atc","code":"J01CA04"}]
        dispense tags: [{"system":"https://yilian.health/fhir/CodeSystem/data-quality","code":"unmapped-code"}]
    "#]].assert_eq(&(out.join("\n") + "\n"));
}
