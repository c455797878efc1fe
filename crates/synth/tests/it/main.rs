//! The synthetic region, checked from the outside: what it writes is valid FHIR whose
//! references resolve, the same configuration gives the same bytes, and every rate the
//! configuration sets is what a reader of the data and its ground truth measures.

mod rates;

use serde_json::Value;
use std::collections::HashMap;
use synth::{Config, Date, Output, Sink};

/// A generated region, parsed: resources by type and id, the ground truth, and raw lines.
pub struct Region {
    pub config: Config,
    pub resources: Vec<(&'static str, Value)>,
    pub persons: Vec<Value>,
    pub registrations: Vec<Value>,
    pub bytes: Vec<(String, Vec<u8>)>,
    /// HL7 v2 messages and WS/T 500 documents: (hospital, text).
    pub messages: Vec<(&'static str, String)>,
    pub documents: Vec<(&'static str, String)>,
}

pub fn config(seed: u64, patients: u64) -> Config {
    Config::new(seed, patients, Date::ymd(2026, 11, 1))
}

pub fn generate(config: Config) -> Region {
    let outputs: Vec<Output> = std::iter::once(synth::header(&config))
        .chain(
            synth::households(&config)
                .map(|(h, first, plan, take)| synth::household(&config, h, &plan, first, take)),
        )
        .collect();
    let mut region = Region {
        config,
        resources: Vec::new(),
        persons: Vec::new(),
        registrations: Vec::new(),
        bytes: Vec::new(),
        messages: Vec::new(),
        documents: Vec::new(),
    };
    for o in outputs {
        for (sink, line) in o.lines {
            if let Sink::Messages(h) | Sink::Documents(h) = sink {
                let text = String::from_utf8(line.clone()).expect("UTF-8");
                let text = text.trim_end_matches('\n').to_string();
                match sink {
                    Sink::Messages(_) => region.messages.push((h.id, text)),
                    _ => region.documents.push((h.id, text)),
                }
                region.bytes.push((sink.path(), line));
                continue;
            }
            let v: Value = serde_json::from_slice(&line).expect("every line is JSON");
            match sink {
                Sink::Ndjson(_, t) => {
                    assert_eq!(v["resourceType"], t, "a resource in the wrong file");
                    region.resources.push((t, v));
                }
                Sink::Bundles(_) => {
                    assert_eq!(v["type"], "transaction");
                    for e in v["entry"].as_array().expect("a bundle has entries") {
                        let r = e["resource"].clone();
                        let t = type_of(&r);
                        assert_eq!(
                            e["request"]["url"],
                            format!("{t}/{}", r["id"].as_str().unwrap_or_default())
                        );
                        region.resources.push((t, r));
                    }
                }
                Sink::Persons => region.persons.push(v),
                Sink::Registrations => region.registrations.push(v),
                Sink::Codes(_) | Sink::Messages(_) | Sink::Documents(_) => {}
            }
            region.bytes.push((sink.path(), line));
        }
    }
    region
}

impl Region {
    /// The resources of one type, by id.
    pub fn of_type(&self, resource_type: &str) -> HashMap<&str, &Value> {
        self.resources
            .iter()
            .filter(|(t, _)| *t == resource_type)
            .map(|(_, r)| (r["id"].as_str().unwrap_or_default(), r))
            .collect()
    }
}

fn type_of(r: &Value) -> &'static str {
    fhir::SUPPORTED_TYPES
        .iter()
        .find(|t| r["resourceType"] == **t)
        .copied()
        .expect("the generator writes supported types only")
}

#[test]
fn every_resource_is_valid_and_every_reference_resolves() {
    let region = generate(config(11, 300));
    assert!(
        region.resources.len() > 300 * 20,
        "{} resources",
        region.resources.len()
    );
    let mut ids: HashMap<&str, std::collections::HashSet<&str>> = HashMap::new();
    for (t, r) in &region.resources {
        let issues = fhir::validate::validate(r);
        assert!(
            issues.is_empty(),
            "{t}/{} is invalid: {issues:?}",
            r["id"].as_str().unwrap_or_default()
        );
        let id = r["id"].as_str().expect("every resource has an id");
        assert!(fhir::is_valid_id(id), "bad id {id}");
        assert!(ids.entry(t).or_default().insert(id), "{t}/{id} twice");
    }
    let mut references = 0;
    for (_, r) in &region.resources {
        visit_references(r, &mut |reference| {
            let (t, id) = reference.split_once('/').expect("references are relative");
            references += 1;
            assert!(
                ids.get(t).is_some_and(|s| s.contains(id)),
                "{reference} does not resolve"
            );
        });
    }
    assert!(references > region.resources.len());
    // Every type the issue lists is there.
    for t in [
        "Organization",
        "Practitioner",
        "PractitionerRole",
        "Patient",
        "Encounter",
        "Condition",
        "MedicationRequest",
        "Observation",
        "DiagnosticReport",
        "ImagingStudy",
        "Procedure",
        "DocumentReference",
        "AllergyIntolerance",
        "Consent",
    ] {
        assert!(ids.get(t).is_some_and(|s| !s.is_empty()), "no {t}");
    }
}

#[test]
fn the_same_seed_gives_the_same_bytes_and_another_seed_other_bytes() {
    let a = generate(config(3, 150));
    let b = generate(config(3, 150));
    assert!(a.bytes == b.bytes, "two runs with seed 3 differ");
    let c = generate(config(4, 150));
    assert!(a.bytes != c.bytes, "seeds 3 and 4 gave the same region");
    // The region is cut at exactly the number of people asked for.
    assert_eq!(a.persons.len(), 150);
}

#[test]
fn the_ground_truth_describes_valid_people() {
    let region = generate(config(5, 400));
    for p in &region.persons {
        let id = p["residentId"]
            .as_str()
            .expect("everyone has a resident ID");
        assert!(synth::people::is_valid_resident_id(id), "invalid ID {id}");
        let birth = p["birthDate"].as_str().expect("a birth date");
        assert_eq!(
            &id[6..14],
            birth.replace('-', ""),
            "ID and birth date disagree"
        );
        let male = (id.as_bytes()[16] - b'0') % 2 == 1;
        assert_eq!(male, p["sex"] == "male", "ID and sex disagree for {id}");
        assert!(p["visits"].as_u64().unwrap_or(0) >= 1, "{p} was never seen");
    }
    // Each registration is a Patient resource at its hospital with its record number.
    let patients = region.of_type("Patient");
    assert_eq!(patients.len(), region.registrations.len());
    for reg in &region.registrations {
        let p = patients[reg["patient"].as_str().unwrap_or_default()];
        assert_eq!(
            p["managingOrganization"]["reference"],
            format!(
                "Organization/{}",
                reg["hospital"].as_str().unwrap_or_default()
            )
        );
        assert_eq!(p["identifier"][0]["value"], reg["mrn"]);
    }
}

/// Calls `f` with every `reference` string in a resource.
pub fn visit_references(v: &Value, f: &mut impl FnMut(&str)) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x) {
                    ("reference", Value::String(s)) => f(s),
                    _ => visit_references(x, f),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| visit_references(x, f)),
        _ => {}
    }
}

/// The laboratories that send HL7 v2 and WS/T 500 send what Yilian's own readers take:
/// every message maps to a transaction with its report and results, every document reads,
/// and together they hold every result the FHIR side would have held.
#[test]
fn lab_results_sent_as_hl7_v2_and_wst500_map_whole() {
    let region = generate(config(5, 400));
    assert!(
        region.messages.len() > 10 && region.documents.len() > 10,
        "{} messages, {} documents",
        region.messages.len(),
        region.documents.len()
    );
    let mut results = 0;
    for (h, m) in &region.messages {
        let read = hl7::inbound::read(m.as_bytes()).unwrap_or_else(|r| panic!("{:?}", r.ack));
        let bundle = hl7::map::to_bundle(&read.message, h).unwrap_or_else(|p| panic!("{p:?}\n{m}"));
        let entries = bundle["entry"].as_array().expect("entries");
        assert_eq!(
            entries[0]["request"]["method"], "POST",
            "a result never rewrites the registration"
        );
        results += entries
            .iter()
            .filter(|e| e["resource"]["resourceType"] == "Observation")
            .inspect(|e| {
                assert!(e["resource"]["valueQuantity"]["value"].is_number());
                assert!(
                    e["resource"]["referenceRange"].is_array(),
                    "the range travels in OBX-7"
                );
            })
            .count();
    }
    for (h, d) in &region.documents {
        let doc = cda::read(d, h).unwrap_or_else(|p| panic!("{p:?}\n{d}"));
        results += doc.bundle["entry"]
            .as_array()
            .expect("entries")
            .iter()
            .filter(|e| e["resource"]["resourceType"] == "Observation")
            .count();
    }
    let fhir_side: usize = {
        let mut all = config(5, 400);
        all.format = Some(synth::hospitals::Format::Ndjson);
        let r = generate(all);
        let feeding: Vec<&str> = synth::hospitals::HOSPITALS
            .iter()
            .filter(|h| {
                matches!(
                    h.format,
                    synth::hospitals::Format::Hl7 | synth::hospitals::Format::Cda
                )
            })
            .map(|h| h.id)
            .collect();
        r.resources
            .iter()
            .filter(|(t, v)| {
                *t == "Observation"
                    && v.pointer("/category/0/coding/0/code")
                        == Some(&serde_json::json!("laboratory"))
                    && v["performer"][0]["reference"]
                        .as_str()
                        .is_some_and(|o| feeding.iter().any(|h| o == format!("Organization/{h}")))
            })
            .count()
    };
    assert_eq!(
        results, fhir_side,
        "every result of those laboratories arrives"
    );
}
