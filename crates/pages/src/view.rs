//! A shared record as the pages show it: FHIR resources from many hospitals sorted into the
//! panels a doctor reads (visits, diagnoses, operations, medicines, results, allergies,
//! imaging, documents), newest first, each with the hospital it came from.
//!
//! Tolerant by design: a hospital's resource missing an element shows a gap, never an
//! error; only what the service already decided to show arrives here.

use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

/// The panels of one person's record.
#[derive(Clone, Debug, Default)]
pub struct Record {
    pub name: Option<String>,
    pub gender: Option<String>,
    pub birth: Option<String>,
    /// Every hospital the record draws on, in the order first met (newest visit first).
    pub hospitals: Vec<String>,
    pub visits: Vec<Visit>,
    pub diagnoses: Vec<Entry>,
    pub procedures: Vec<Entry>,
    pub medications: Vec<Entry>,
    pub allergies: Vec<Entry>,
    pub imaging: Vec<Entry>,
    pub documents: Vec<Entry>,
    /// Laboratory results, one series per test, the series with an abnormal value first.
    pub results: Vec<Series>,
}

/// One visit on the timeline.
#[derive(Clone, Debug, PartialEq)]
pub struct Visit {
    pub date: String,
    /// AMB, IMP, EMER... (the v3 ActCode).
    pub class: String,
    pub department: String,
    pub hospital: String,
    /// The visit's main diagnosis.
    pub reason: Option<String>,
}

/// One row of a panel.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Entry {
    pub date: String,
    pub text: String,
    pub code: Option<String>,
    pub hospital: String,
    pub detail: Option<String>,
    pub status: Option<String>,
    /// An abnormal flag (H, L, A...) or an allergy's criticality.
    pub flag: Option<String>,
    /// The mutual-recognition mark (互认, HR): another hospital need not repeat it.
    pub hr: bool,
}

/// One laboratory test over time.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub name: String,
    pub code: Option<String>,
    pub unit: String,
    pub low: Option<f64>,
    pub high: Option<f64>,
    /// Oldest first.
    pub points: Vec<Point>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    pub date: String,
    pub value: f64,
    /// The value as the hospital wrote it.
    pub shown: String,
    pub flag: Option<String>,
    pub hospital: String,
    pub hr: bool,
}

impl Series {
    pub fn abnormal(&self) -> usize {
        self.points.iter().filter(|p| p.flag.is_some()).count()
    }
}

impl Record {
    /// From the shown items, each with the name of the hospital it came from (the shape
    /// the reminders read too, so one parse serves both).
    pub fn from_items(items: &[(Value, Option<String>)]) -> Record {
        let mut r = Record::default();
        let conditions: HashMap<String, String> = items
            .iter()
            .filter(|(v, _)| kind(v) == "Condition")
            .filter_map(|(v, _)| {
                Some((
                    format!("Condition/{}", v.get("id")?.as_str()?),
                    concept_text(v.get("code")?)?,
                ))
            })
            .collect();
        let mut series: BTreeMap<String, Series> = BTreeMap::new();
        for (v, hospital) in items {
            let hospital = hospital.clone().unwrap_or_else(|| "—".to_string());
            let entry = |date: Option<&str>, code: Option<&Value>| Entry {
                date: day(date),
                text: code.and_then(concept_text).unwrap_or_else(|| "—".into()),
                code: code.and_then(last_code),
                hospital: hospital.clone(),
                hr: hr(v),
                ..Entry::default()
            };
            match kind(v) {
                "Patient" if r.name.is_none() => {
                    r.name = v.pointer("/name/0").and_then(human_name);
                    r.gender = str_at(v, "/gender").map(str::to_string);
                    r.birth = str_at(v, "/birthDate").map(str::to_string);
                }
                "Encounter" => {
                    let reason = v
                        .pointer("/diagnosis/0/condition/reference")
                        .and_then(Value::as_str)
                        .and_then(|c| conditions.get(c).cloned());
                    r.visits.push(Visit {
                        date: day(str_at(v, "/period/start")),
                        class: str_at(v, "/class/code").unwrap_or("AMB").to_string(),
                        department: v
                            .get("serviceType")
                            .and_then(concept_text)
                            .unwrap_or_else(|| "—".into()),
                        hospital: hospital.clone(),
                        reason,
                    });
                }
                "Condition" => r.diagnoses.push(Entry {
                    status: coding_code(v.get("clinicalStatus")),
                    ..entry(
                        str_at(v, "/recordedDate").or(str_at(v, "/onsetDateTime")),
                        v.get("code"),
                    )
                }),
                "Procedure" => r.procedures.push(entry(
                    str_at(v, "/performedPeriod/start").or(str_at(v, "/performedDateTime")),
                    v.get("code"),
                )),
                "MedicationRequest" | "MedicationStatement" => r.medications.push(Entry {
                    detail: str_at(v, "/dosageInstruction/0/text").map(str::to_string),
                    status: str_at(v, "/status").map(str::to_string),
                    ..entry(
                        str_at(v, "/authoredOn").or(str_at(v, "/effectiveDateTime")),
                        v.get("medicationCodeableConcept"),
                    )
                }),
                "MedicationDispense" => r.medications.push(Entry {
                    detail: Some("dispensed".into()),
                    status: str_at(v, "/status").map(str::to_string),
                    ..entry(
                        str_at(v, "/whenHandedOver").or(str_at(v, "/whenPrepared")),
                        v.get("medicationCodeableConcept"),
                    )
                }),
                "AllergyIntolerance" => {
                    if coding_code(v.get("verificationStatus")).as_deref() == Some("refuted") {
                        continue;
                    }
                    r.allergies.push(Entry {
                        detail: v
                            .pointer("/reaction/0/manifestation/0")
                            .and_then(concept_text),
                        flag: str_at(v, "/criticality").map(str::to_string),
                        status: coding_code(v.get("verificationStatus")),
                        ..entry(
                            str_at(v, "/recordedDate").or(str_at(v, "/onsetDateTime")),
                            v.get("code"),
                        )
                    })
                }
                "ImagingStudy" => r.imaging.push(Entry {
                    text: str_at(v, "/description")
                        .map(str::to_string)
                        .or_else(|| v.pointer("/procedureCode/0").and_then(concept_text))
                        .unwrap_or_else(|| "—".into()),
                    code: str_at(v, "/modality/0/code").map(str::to_string),
                    detail: v
                        .get("numberOfInstances")
                        .and_then(Value::as_u64)
                        .map(|n| format!("{n} images")),
                    ..entry(str_at(v, "/started"), None)
                }),
                "DiagnosticReport" => {
                    let category = v
                        .pointer("/category/0/coding/0/code")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    if category != "LAB" {
                        r.imaging.push(Entry {
                            detail: str_at(v, "/conclusion").map(str::to_string),
                            ..entry(str_at(v, "/effectiveDateTime"), v.get("code"))
                        });
                    }
                }
                "DocumentReference" => r.documents.push(Entry {
                    detail: str_at(v, "/description").map(str::to_string),
                    ..entry(str_at(v, "/date"), v.get("type"))
                }),
                "Observation" => {
                    let Some(value) = v.pointer("/valueQuantity/value").and_then(number) else {
                        continue;
                    };
                    let name = v
                        .get("code")
                        .and_then(concept_text)
                        .unwrap_or_else(|| "—".into());
                    let code = v.get("code").and_then(last_code);
                    let key = code.clone().unwrap_or_else(|| name.clone());
                    let unit = str_at(v, "/valueQuantity/unit")
                        .unwrap_or_default()
                        .to_string();
                    let s = series.entry(key).or_insert_with(|| Series {
                        name,
                        code,
                        unit,
                        low: v.pointer("/referenceRange/0/low/value").and_then(number),
                        high: v.pointer("/referenceRange/0/high/value").and_then(number),
                        points: Vec::new(),
                    });
                    let flag = v
                        .pointer("/interpretation/0/coding/0/code")
                        .and_then(Value::as_str)
                        .filter(|f| *f != "N")
                        .map(str::to_string);
                    s.points.push(Point {
                        date: day(str_at(v, "/effectiveDateTime").or(str_at(v, "/issued"))),
                        value,
                        shown: v
                            .pointer("/valueQuantity/value")
                            .map(|x| x.to_string().trim_matches('"').to_string())
                            .unwrap_or_default(),
                        flag,
                        hospital: hospital.clone(),
                        hr: hr(v),
                    });
                }
                _ => {}
            }
        }
        let newest_first = |a: &Entry, b: &Entry| b.date.cmp(&a.date);
        r.visits.sort_by(|a, b| b.date.cmp(&a.date));
        for panel in [
            &mut r.diagnoses,
            &mut r.procedures,
            &mut r.medications,
            &mut r.allergies,
            &mut r.imaging,
            &mut r.documents,
        ] {
            panel.sort_by(newest_first);
        }
        r.results = series.into_values().collect();
        for s in &mut r.results {
            s.points.sort_by(|a, b| a.date.cmp(&b.date));
        }
        r.results.sort_by(|a, b| {
            (b.abnormal() > 0)
                .cmp(&(a.abnormal() > 0))
                .then(a.name.cmp(&b.name))
        });
        let mut hospitals: Vec<String> = Vec::new();
        let every = r.visits.iter().map(|v| &v.hospital).chain(
            [&r.diagnoses, &r.medications, &r.allergies, &r.imaging]
                .into_iter()
                .flatten()
                .map(|e| &e.hospital),
        );
        for h in every {
            if h != "—" && !hospitals.contains(h) {
                hospitals.push(h.clone());
            }
        }
        r.hospitals = hospitals;
        r
    }
}

fn kind(v: &Value) -> &str {
    v.get("resourceType")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

/// The date part of a FHIR date or dateTime; a dash when there is none.
fn day(s: Option<&str>) -> String {
    s.map_or_else(|| "—".to_string(), |s| s.chars().take(10).collect())
}

/// A CodeableConcept's text, else its first display, else its first code.
pub fn concept_text(c: &Value) -> Option<String> {
    if let Some(t) = c.get("text").and_then(Value::as_str) {
        return Some(t.to_string());
    }
    let codings = c.get("coding")?.as_array()?;
    codings
        .iter()
        .find_map(|x| x.get("display").and_then(Value::as_str))
        .or_else(|| {
            codings
                .iter()
                .find_map(|x| x.get("code").and_then(Value::as_str))
        })
        .map(str::to_string)
}

/// The last coding's code: mapping appends the standard coding after the hospital's own.
fn last_code(c: &Value) -> Option<String> {
    c.get("coding")?
        .as_array()?
        .iter()
        .rev()
        .find_map(|x| x.get("code").and_then(Value::as_str))
        .map(str::to_string)
}

fn coding_code(c: Option<&Value>) -> Option<String> {
    c?.pointer("/coding/0/code")?.as_str().map(str::to_string)
}

fn human_name(n: &Value) -> Option<String> {
    if let Some(t) = n.get("text").and_then(Value::as_str) {
        return Some(t.to_string());
    }
    let family = n.get("family").and_then(Value::as_str).unwrap_or_default();
    let given: String = n
        .get("given")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let name = format!("{family}{given}");
    (!name.is_empty()).then_some(name)
}

fn hr(v: &Value) -> bool {
    v.pointer("/meta/tag")
        .and_then(Value::as_array)
        .is_some_and(|tags| {
            tags.iter()
                .any(|t| t.get("code").and_then(Value::as_str) == Some("HR"))
        })
}

/// A JSON number (the store keeps decimals exactly, as strings inside the number).
fn number(v: &Value) -> Option<f64> {
    v.as_f64()
        .or_else(|| v.to_string().trim_matches('"').parse().ok())
}
