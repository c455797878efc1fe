//! Every rate the configuration sets, measured the way a reader of the data would: by
//! comparing each hospital's records with the ground truth, never by trusting the labels.
//! The labels are then checked against what was measured.

use crate::{Region, config, generate};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};
use synth::Date;
use synth::people::{is_valid_resident_id, legacy_15, pinyin_of};

/// Asserts that `hits` out of `n` trials fits probability `p` (within four standard
/// deviations and one count).
#[track_caller]
fn assert_rate(what: &str, hits: usize, n: usize, p: f64) {
    assert!(n >= 50, "{what}: only {n} trials");
    let expected = p * n as f64;
    let sd = (n as f64 * p * (1.0 - p)).sqrt();
    assert!(
        (hits as f64 - expected).abs() <= 4.0 * sd + 1.0,
        "{what}: {hits} of {n} ({:.2}%), expected {:.2}%",
        100.0 * hits as f64 / n as f64,
        100.0 * p
    );
}

fn date(v: &Value) -> Date {
    Date::parse(&v.as_str().unwrap_or_default()[..10]).expect("a date")
}

struct Index<'a> {
    /// Patient id → (person key, hospital id).
    owner: HashMap<&'a str, (&'a str, &'a str)>,
    persons: HashMap<&'a str, &'a Value>,
}

fn index(region: &Region) -> Index<'_> {
    Index {
        owner: region
            .registrations
            .iter()
            .map(|r| {
                (
                    r["patient"].as_str().unwrap_or_default(),
                    (
                        r["person"].as_str().unwrap_or_default(),
                        r["hospital"].as_str().unwrap_or_default(),
                    ),
                )
            })
            .collect(),
        persons: region
            .persons
            .iter()
            .map(|p| (p["person"].as_str().unwrap_or_default(), p))
            .collect(),
    }
}

fn subject(r: &Value) -> &str {
    let s = if r["subject"].is_object() {
        &r["subject"]
    } else {
        &r["patient"]
    };
    s["reference"]
        .as_str()
        .unwrap_or_default()
        .trim_start_matches("Patient/")
}

fn labels(reg: &Value) -> Vec<&str> {
    reg["noise"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

#[test]
fn registration_noise_matches_its_rates() {
    let region = generate(config(21, 6000));
    let ix = index(&region);
    let rates = &region.config.rates;
    let patients = region.of_type("Patient");
    let mut households: HashMap<&str, Vec<(&str, Option<&str>)>> = HashMap::new();
    for p in &region.persons {
        households
            .entry(p["household"].as_str().unwrap_or_default())
            .or_default()
            .push((
                p["person"].as_str().unwrap_or_default(),
                p["phone"].as_str(),
            ));
    }
    let mut n = BTreeMap::<&str, (usize, usize)>::new();
    let mut count = |what: &'static str, eligible: bool, hit: bool| {
        let e = n.entry(what).or_default();
        if eligible {
            e.1 += 1;
            e.0 += usize::from(hit);
        } else {
            assert!(!hit, "{what} where it cannot happen");
        }
    };
    for reg in &region.registrations {
        let p = patients[reg["patient"].as_str().unwrap_or_default()];
        let truth = ix.persons[reg["person"].as_str().unwrap_or_default()];
        let labels = labels(reg);
        let placeholder = labels.contains(&"newborn_placeholder");
        assert_eq!(placeholder, p["name"][0]["use"] == "temp");
        if placeholder {
            continue;
        }
        // Name.
        let written = p["name"][0]["text"].as_str().unwrap_or_default();
        let real = truth["name"].as_str().unwrap_or_default();
        let pinyin = written.is_ascii();
        let (mut homophone, mut traditional) = (false, false);
        if !pinyin && written != real {
            let pairs: Vec<(char, char)> = real
                .chars()
                .zip(written.chars())
                .filter(|(a, b)| a != b)
                .collect();
            assert_eq!(real.chars().count(), written.chars().count());
            traditional = pairs
                .iter()
                .all(|(a, b)| synth::noise::traditional_char(*a) == Some(*b));
            homophone = pairs.len() == 1 && pinyin_of(pairs[0].0) == pinyin_of(pairs[0].1);
            assert!(homophone ^ traditional, "{real} became {written}");
        }
        let mut scratch = synth::rng::Rng::new(0);
        count("pinyin_name", true, pinyin);
        count(
            "homophone",
            synth::noise::homophone(&mut scratch, real).is_some(),
            homophone,
        );
        count(
            "traditional",
            synth::noise::traditional(real).is_some(),
            traditional,
        );
        assert_eq!(labels.contains(&"pinyin_name"), pinyin);
        assert_eq!(labels.contains(&"homophone"), homophone);
        assert_eq!(labels.contains(&"traditional"), traditional);

        // Resident ID.
        let real_id = truth["residentId"].as_str().unwrap_or_default();
        let written_id = p["identifier"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|i| i["system"] == terminology::systems::RESIDENT_ID)
            .and_then(|i| i["value"].as_str());
        let missing = written_id.is_none();
        let legacy = written_id.is_some_and(|w| w.len() == 15);
        let typo = written_id.is_some_and(|w| w.len() == 18 && w != real_id);
        if legacy {
            assert_eq!(written_id, Some(legacy_15(real_id).as_str()));
        }
        if typo {
            assert!(!is_valid_resident_id(written_id.unwrap_or_default()));
        }
        count("missing_id", true, missing);
        count("id_typo", true, typo);
        count(
            "legacy_id",
            truth["birthDate"].as_str().unwrap_or_default() < "2000",
            legacy,
        );
        assert_eq!(labels.contains(&"missing_id"), missing);
        assert_eq!(labels.contains(&"id_typo"), typo);
        assert_eq!(labels.contains(&"legacy_id"), legacy);

        // Birth date.
        let real_birth = date(&truth["birthDate"]);
        let swapped = date(&p["birthDate"]) != real_birth;
        if swapped {
            assert_eq!(
                Some(date(&p["birthDate"])),
                synth::noise::swap_month_day(real_birth)
            );
        }
        count(
            "swapped_date",
            synth::noise::swap_month_day(real_birth).is_some(),
            swapped,
        );
        assert_eq!(labels.contains(&"swapped_date"), swapped);

        // Phone.
        let phone = p["telecom"][0]["value"].as_str();
        let missing_phone = phone.is_none();
        let family_phone = phone.is_some() && phone != truth["phone"].as_str();
        count("missing_phone", true, missing_phone);
        let household_phone = households[truth["household"].as_str().unwrap_or_default()]
            .iter()
            .any(|(person, phone)| {
                *person != truth["person"] && phone.is_some() && *phone != truth["phone"].as_str()
            });
        count(
            "family_phone",
            truth["ownPhone"] == true && !missing_phone && household_phone,
            family_phone,
        );
        assert_eq!(labels.contains(&"missing_phone"), missing_phone);
        assert_eq!(labels.contains(&"family_phone"), family_phone);
    }
    let expected: HashMap<String, f64> = rates
        .fields()
        .into_iter()
        .map(|(k, v)| (k, v.as_f64().unwrap_or_default()))
        .collect();
    for (what, (hits, trials)) in &n {
        assert_rate(what, *hits, *trials, expected[*what]);
    }
}

#[test]
fn duplicates_twins_allergies_and_consent_match_their_rates() {
    let region = generate(config(22, 6000));
    let ix = index(&region);
    let rates = &region.config.rates;

    // Same-hospital duplicates: among (person, hospital) pairs seen at least twice there.
    let mut visits: HashMap<(&str, &str), usize> = HashMap::new();
    for (t, r) in &region.resources {
        if *t == "Encounter" {
            *visits.entry(ix.owner[subject(r)]).or_default() += 1;
        }
    }
    let mut registrations: HashMap<(&str, &str), usize> = HashMap::new();
    for reg in &region.registrations {
        *registrations
            .entry((
                reg["person"].as_str().unwrap_or_default(),
                reg["hospital"].as_str().unwrap_or_default(),
            ))
            .or_default() += 1;
    }
    let eligible = visits.values().filter(|&&v| v >= 2).count();
    let duplicated = registrations.values().filter(|&&r| r >= 2).count();
    assert!(registrations.values().all(|&r| r <= 2));
    assert_rate(
        "same_hospital_duplicate",
        duplicated,
        eligible,
        rates.same_hospital_duplicate,
    );
    // Most people are registered at more than one hospital: the index has work to do.
    let people_at_two = region
        .persons
        .iter()
        .filter(|p| {
            registrations
                .keys()
                .filter(|(person, _)| p["person"] == *person)
                .count()
                >= 2
        })
        .count();
    assert!(
        people_at_two * 3 > region.persons.len(),
        "{people_at_two} of {}",
        region.persons.len()
    );

    // Twins, per household.
    let households: HashSet<&str> = region
        .persons
        .iter()
        .filter_map(|p| p["household"].as_str())
        .collect();
    let with_twins: HashSet<&str> = region
        .persons
        .iter()
        .filter(|p| p["twin"].is_string())
        .filter_map(|p| p["household"].as_str())
        .collect();
    assert_rate("twins", with_twins.len(), households.len(), rates.twins);

    // Allergies: the truth's rate, and each is recorded in the data.
    let allergic: HashSet<&str> = region
        .persons
        .iter()
        .filter(|p| p["allergy"].is_string())
        .filter_map(|p| p["person"].as_str())
        .collect();
    assert_rate(
        "allergy",
        allergic.len(),
        region.persons.len(),
        rates.allergy,
    );
    let recorded: HashSet<&str> = region
        .resources
        .iter()
        .filter(|(t, _)| *t == "AllergyIntolerance")
        .map(|(_, r)| ix.owner[subject(r)].0)
        .collect();
    assert_eq!(recorded, allergic);

    // Consent, from the Consent resources.
    let consents: Vec<&Value> = region
        .resources
        .iter()
        .filter(|(t, _)| *t == "Consent")
        .map(|(_, r)| r)
        .collect();
    let permits: Vec<&&Value> = consents
        .iter()
        .filter(|c| c["provision"]["type"] == "permit")
        .collect();
    let opt_outs = consents
        .iter()
        .filter(|c| c["provision"]["type"] == "deny")
        .count();
    let persons = region.persons.len();
    assert_rate(
        "consent_permit",
        permits.len(),
        persons,
        rates.consent_permit,
    );
    assert_rate("consent_opt_out", opt_outs, persons, rates.consent_opt_out);
    let nested = |c: &Value, kind: &str, key: &str| {
        c["provision"]["provision"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|p| p["type"] == kind && p[key].is_array())
    };
    let restricted = permits
        .iter()
        .filter(|c| nested(c, "deny", "actor"))
        .count();
    assert_rate(
        "restrict_hospital",
        restricted,
        permits.len(),
        rates.restrict_hospital,
    );
    let sensitive_permits: Vec<&&&Value> = permits
        .iter()
        .filter(|c| ix.persons[ix.owner[subject(c)].0]["sensitive"].is_string())
        .collect();
    let shared = sensitive_permits
        .iter()
        .filter(|c| nested(c, "permit", "securityLabel"))
        .count();
    assert_rate(
        "share_sensitive",
        shared,
        sensitive_permits.len(),
        rates.share_sensitive,
    );
    let paper = consents
        .iter()
        .filter(|c| c["sourceAttachment"]["contentType"] == "application/pdf")
        .count();
    assert_rate("paper_consent", paper, consents.len(), rates.paper_consent);
    let withdrawn = consents
        .iter()
        .filter(|c| c["status"] == "inactive")
        .count();
    assert_rate("withdrawn", withdrawn, consents.len(), rates.withdrawn);
    // A child's consent is given by a guardian, an adult's by the patient.
    for c in &consents {
        let person = ix.persons[ix.owner[subject(c)].0];
        let age = date(&person["birthDate"]).years_until(date(&c["dateTime"]));
        let by_guardian = c["performer"][0]["identifier"].is_object();
        assert_eq!(by_guardian, person["guardian"].is_string(), "{person}");
        if !by_guardian {
            assert_eq!(c["performer"][0]["reference"], c["patient"]["reference"]);
        }
        let _ = age;
    }
}

/// The events reminders must catch: found in the data by the rules, and they are exactly the
/// planted ones (careful doctors make no others), at their rates.
#[test]
fn repeats_and_allergy_violations_are_exactly_the_planted_ones() {
    // The clinical model, whatever the delivery: every hospital as FHIR, so that the
    // results some laboratories send as HL7 v2 or WS/T 500 are counted too.
    let mut c = config(23, 6000);
    c.format = Some(synth::hospitals::Format::Ndjson);
    let region = generate(c);
    let ix = index(&region);
    let rates = &region.config.rates;
    let planted = |what: &str| -> HashSet<&str> {
        region
            .persons
            .iter()
            .filter(|p| {
                p["planted"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|x| x == what))
            })
            .filter_map(|p| p["person"].as_str())
            .collect()
    };

    // Prescriptions: (person, hospital, ATC, day).
    let mut rx: HashMap<&str, Vec<(&str, &str, Date)>> = HashMap::new();
    for (t, r) in &region.resources {
        if *t != "MedicationRequest" {
            continue;
        }
        let (person, hospital) = ix.owner[subject(r)];
        let atc = r["medicationCodeableConcept"]["coding"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["system"] == terminology::systems::ATC)
            .and_then(|c| c["code"].as_str())
            .expect("prescriptions carry the ATC code");
        rx.entry(person)
            .or_default()
            .push((hospital, atc, date(&r["authoredOn"])));
    }
    let repeated: HashSet<&str> = rx
        .iter()
        .filter(|(_, list)| {
            list.iter().any(|a| {
                list.iter().any(|b| {
                    a.0 != b.0
                        && a.1[..5] == b.1[..5]
                        && (a.2.0 - b.2.0).abs() <= synth::care::REPEAT_MEDICATION_DAYS
                })
            })
        })
        .map(|(p, _)| *p)
        .collect();
    assert_eq!(repeated, planted("repeat_medication"));
    assert_rate(
        "repeat_medication",
        repeated.len(),
        rx.len(),
        rates.repeat_medication,
    );

    // Lab panels: (hospital, panel, day, HR-marked).
    let mut labs: HashMap<&str, Vec<(&str, &str, Date, bool)>> = HashMap::new();
    for (t, r) in &region.resources {
        if *t != "DiagnosticReport" || r["category"][0]["coding"][0]["code"] != "LAB" {
            continue;
        }
        let (person, hospital) = ix.owner[subject(r)];
        let loinc = r["code"]["coding"][1]["code"].as_str().unwrap_or_default();
        let hr = r["meta"]["tag"][0]["code"] == "HR";
        labs.entry(person)
            .or_default()
            .push((hospital, loinc, date(&r["effectiveDateTime"]), hr));
    }
    let retested: HashSet<&str> = labs
        .iter()
        .filter(|(_, list)| {
            list.iter().any(|a| {
                let window = terminology::lab_panel(a.1).map_or(0, |p| p.recognition_days as i32);
                a.3 && list
                    .iter()
                    .any(|b| b.0 != a.0 && b.1 == a.1 && b.2.0 > a.2.0 && b.2.0 - a.2.0 < window)
            })
        })
        .map(|(p, _)| *p)
        .collect();
    assert_eq!(retested, planted("repeat_test"));
    let eligible = labs.values().filter(|l| l.iter().any(|x| x.3)).count();
    assert_rate("repeat_test", retested.len(), eligible, rates.repeat_test);

    // Allergies: the first record's day, then a drug of that class.
    let mut first_record: HashMap<&str, Date> = HashMap::new();
    for (t, r) in &region.resources {
        if *t == "AllergyIntolerance" {
            let person = ix.owner[subject(r)].0;
            let d = date(&r["recordedDate"]);
            first_record
                .entry(person)
                .and_modify(|x| *x = (*x).min(d))
                .or_insert(d);
        }
    }
    let violated: HashSet<&str> = first_record
        .iter()
        .filter(|(person, since)| {
            let allergen = ix.persons[**person]["allergy"].as_str().unwrap_or("-");
            rx.get(**person).is_some_and(|list| {
                list.iter()
                    .any(|(_, atc, day)| atc.starts_with(allergen) && day > since)
            })
        })
        .map(|(p, _)| *p)
        .collect();
    assert_eq!(violated, planted("allergy_violation"));
    assert_rate(
        "allergy_violation",
        violated.len(),
        first_record.len(),
        rates.allergy_violation,
    );
}
