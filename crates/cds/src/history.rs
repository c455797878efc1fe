//! What the reminders read from a patient's records, from any hospital: allergies,
//! prescriptions and dispenses, and test and exam results. Each is taken from its FHIR R4
//! resource as stored, with the hospital it came from.

use crate::knowledge::{Ingredient, Knowledge};
use serde_json::Value;

pub const ATC: &str = "http://www.whocc.no/atc";
pub const DRUG: &str = "https://yilian.health/fhir/CodeSystem/drug";
pub const LOINC: &str = "http://loinc.org";
pub const HR: &str = "https://yilian.health/fhir/CodeSystem/mutual-recognition";

/// How an allergy names what it is to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Allergen {
    /// Coded (ATC), or mapped from its text through the synonym table.
    Known { atc: String, from_text: bool },
    /// Free text no word of the table matches: shown as written, unverified.
    Unmatched,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Allergy {
    pub id: String,
    pub allergen: Allergen,
    /// What the chart says (the code's text or display).
    pub text: String,
    pub high_criticality: bool,
    pub hospital: Option<String>,
    /// Seconds since the epoch.
    pub recorded: Option<i64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Medication {
    pub id: String,
    pub name: String,
    pub ingredients: Vec<Ingredient>,
    pub route: String,
    /// When it was prescribed or handed over, and for how many days.
    pub start: i64,
    pub days: i64,
    pub hospital: Option<String>,
    pub prescriber: Option<String>,
    pub dispensed: bool,
}

impl Medication {
    /// Days of supply left at `now` (seconds); 0 once it ran out.
    pub fn days_left(&self, now: i64) -> i64 {
        ((self.start + self.days * 86_400 - now) as f64 / 86_400.0)
            .ceil()
            .max(0.0) as i64
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Result_ {
    pub id: String,
    pub code: String,
    pub name: String,
    pub at: i64,
    pub hospital: Option<String>,
    /// The mutual-recognition ("HR") mark.
    pub recognized: bool,
    /// The conclusion, or the first values.
    pub summary: String,
}

/// A patient's history as the reminders read it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    pub allergies: Vec<Allergy>,
    pub medications: Vec<Medication>,
    pub results: Vec<Result_>,
    /// Visits per hospital, for the summary.
    pub visits: Vec<(Option<String>, i64)>,
    pub diagnoses: Vec<(String, i64)>,
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

fn codings(concept: &Value) -> impl Iterator<Item = (&str, &str)> {
    concept
        .get("coding")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| Some((c.get("system")?.as_str()?, c.get("code")?.as_str()?)))
}

fn code_in<'a>(concept: &'a Value, system: &str) -> Option<&'a str> {
    codings(concept).find(|(s, _)| *s == system).map(|(_, c)| c)
}

fn text_of(concept: &Value) -> String {
    concept
        .get("text")
        .and_then(Value::as_str)
        .or_else(|| str_at(concept, "/coding/0/display"))
        .unwrap_or_default()
        .to_string()
}

/// Seconds since the epoch of a FHIR date or dateTime (its start).
pub fn seconds(s: &str) -> Option<i64> {
    fhir::time::parse_range(s).map(|(lo, _)| lo.div_euclid(1000))
}

/// The drug a medication concept names: a product code, else an ATC code (a combination
/// expanded); `None` when neither is known.
pub fn drug_of(
    k: &Knowledge,
    concept: &Value,
) -> Option<(String, Vec<Ingredient>, Option<String>)> {
    if let Some(d) = code_in(concept, DRUG).and_then(|c| k.drug(c)) {
        return Some((d.name.clone(), d.ingredients.clone(), Some(d.route.clone())));
    }
    let atc = code_in(concept, ATC)?;
    let name = match text_of(concept) {
        t if t.is_empty() => k.name_of(atc),
        t => t,
    };
    Some((name, k.by_atc(atc), None))
}

impl History {
    /// Reads `items` (resource, hospital): the shared record's items, or a prefetch.
    pub fn read(k: &Knowledge, items: &[(Value, Option<String>)]) -> History {
        let mut h = History::default();
        let observations: std::collections::HashMap<String, &Value> = items
            .iter()
            .filter(|(v, _)| v.get("resourceType").and_then(Value::as_str) == Some("Observation"))
            .filter_map(|(v, _)| Some((format!("Observation/{}", v.get("id")?.as_str()?), v)))
            .collect();
        for (v, hospital) in items {
            let id = v
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            match v.get("resourceType").and_then(Value::as_str) {
                Some("AllergyIntolerance") => {
                    let verification = str_at(v, "/verificationStatus/coding/0/code");
                    let clinical = str_at(v, "/clinicalStatus/coding/0/code");
                    // A refuted or mistaken allergy raises nothing; a resolved one neither.
                    if matches!(verification, Some("refuted" | "entered-in-error"))
                        || matches!(clinical, Some("inactive" | "resolved"))
                    {
                        continue;
                    }
                    let code = v.get("code").cloned().unwrap_or(Value::Null);
                    let text = text_of(&code);
                    let allergen = match code_in(&code, ATC) {
                        Some(atc) => Allergen::Known {
                            atc: atc.to_string(),
                            from_text: false,
                        },
                        None => match k.allergen_in(&text) {
                            Some(atc) => Allergen::Known {
                                atc: atc.to_string(),
                                from_text: true,
                            },
                            None => Allergen::Unmatched,
                        },
                    };
                    h.allergies.push(Allergy {
                        id,
                        allergen,
                        text,
                        high_criticality: v.get("criticality").and_then(Value::as_str)
                            == Some("high"),
                        hospital: hospital.clone(),
                        recorded: str_at(v, "/recordedDate").and_then(seconds),
                    });
                }
                Some(t @ ("MedicationRequest" | "MedicationDispense")) => {
                    let dispensed = t == "MedicationDispense";
                    if matches!(
                        v.get("status").and_then(Value::as_str),
                        Some("cancelled" | "entered-in-error" | "stopped" | "draft")
                    ) {
                        continue;
                    }
                    let Some(concept) = v.get("medicationCodeableConcept") else {
                        continue;
                    };
                    let Some((name, ingredients, kind)) = drug_of(k, concept) else {
                        continue;
                    };
                    let (start, days) = if dispensed {
                        (
                            str_at(v, "/whenHandedOver").and_then(seconds),
                            v.pointer("/daysSupply/value").and_then(Value::as_f64),
                        )
                    } else {
                        (
                            str_at(v, "/authoredOn").and_then(seconds),
                            v.pointer("/dispenseRequest/expectedSupplyDuration/value")
                                .and_then(Value::as_f64),
                        )
                    };
                    let Some(start) = start else { continue };
                    let route = str_at(v, "/dosageInstruction/0/route/coding/0/code")
                        .map(|r| k.route_kind(r))
                        .or(kind)
                        .unwrap_or_else(|| "systemic".to_string());
                    h.medications.push(Medication {
                        id,
                        name,
                        ingredients,
                        route,
                        start,
                        days: days.unwrap_or(0.0).round() as i64,
                        hospital: hospital.clone(),
                        prescriber: str_at(v, "/requester/reference")
                            .or_else(|| str_at(v, "/performer/0/actor/reference"))
                            .map(str::to_string),
                        dispensed,
                    });
                }
                Some("DiagnosticReport") => {
                    let code = v.get("code").cloned().unwrap_or(Value::Null);
                    let Some(c) = code_in(&code, LOINC)
                        .or_else(|| codings(&code).map(|(_, c)| c).find(|c| k.test(c).is_some()))
                    else {
                        continue;
                    };
                    let at = str_at(v, "/effectiveDateTime")
                        .or_else(|| str_at(v, "/issued"))
                        .and_then(seconds);
                    let Some(at) = at else { continue };
                    let recognized = v
                        .pointer("/meta/tag")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .any(|t| {
                            t.get("system").and_then(Value::as_str) == Some(HR)
                                && t.get("code").and_then(Value::as_str) == Some("HR")
                        });
                    let summary = match v.get("conclusion").and_then(Value::as_str) {
                        Some(c) => c.to_string(),
                        None => v
                            .get("result")
                            .and_then(Value::as_array)
                            .into_iter()
                            .flatten()
                            .filter_map(|r| observations.get(r.get("reference")?.as_str()?))
                            .take(3)
                            .map(|o| {
                                format!(
                                    "{} {}{}",
                                    text_of(o.get("code").unwrap_or(&Value::Null)),
                                    o.pointer("/valueQuantity/value")
                                        .map(|x| x.to_string())
                                        .unwrap_or_default(),
                                    str_at(o, "/valueQuantity/unit")
                                        .map(|u| format!(" {u}"))
                                        .unwrap_or_default()
                                )
                            })
                            .collect::<Vec<_>>()
                            .join("; "),
                    };
                    h.results.push(Result_ {
                        id,
                        code: c.to_string(),
                        name: text_of(&code),
                        at,
                        hospital: hospital.clone(),
                        recognized,
                        summary,
                    });
                }
                Some("Encounter") => {
                    if let Some(at) = str_at(v, "/period/start").and_then(seconds) {
                        h.visits.push((hospital.clone(), at));
                    }
                }
                Some("Condition") => {
                    if let Some(at) = str_at(v, "/recordedDate").and_then(seconds) {
                        h.diagnoses
                            .push((text_of(v.get("code").unwrap_or(&Value::Null)), at));
                    }
                }
                _ => {}
            }
        }
        h
    }
}
