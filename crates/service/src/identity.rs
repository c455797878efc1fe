//! The cross-hospital identity: every Patient in the store, in the master patient index
//! (`mpi`). Built on first use from the store's Patients (the model is fitted on them), then
//! kept current: each Patient write that commits is matched against the whole index as it
//! arrives and joined to the person it links with. `$match` (IHE PDQm ITI-119) and
//! `$ihe-pix` (PIXm ITI-83) read it.
//!
//! The index is memory only and is rebuilt from the store on start: the store stays the one
//! durable truth. Persistent person ids, review decisions and unlinking are not here yet.

use crate::{Error, Service};
use mpi::Record;
use mpi::cluster::Decision;
use mpi::pipeline::{self, Index, Match, Settings};
use serde_json::Value;
use std::sync::{Mutex, MutexGuard};
use store::Stored;

/// The index, built on first use.
#[derive(Default)]
pub struct Identity {
    index: Mutex<Option<Index>>,
}

/// One candidate `$match` found.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub patient: Stored,
    /// The match probability.
    pub score: f64,
    /// `certain` (auto-link), `probable` (review, p ≥ 0.9) or `possible` (review).
    pub grade: &'static str,
    /// Each field's agreement level and weight.
    pub explanation: String,
}

/// Patients read per page while building.
const PAGE: usize = 1000;

impl Service {
    /// `POST Patient/$match`: the registered Patients that may be the person the
    /// Parameters' `resource` describes, best first.
    pub fn match_patient(&self, body: &[u8]) -> Result<Vec<Candidate>, Error> {
        let params = fhir::json::parse_object(body)?;
        if params.get("resourceType").and_then(Value::as_str) != Some("Parameters") {
            return Err(bad("the body of $match must be a Parameters resource"));
        }
        let param = |name: &str| {
            params
                .get("parameter")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .find(|p| p.get("name").and_then(Value::as_str) == Some(name))
        };
        let mut patient = param("resource")
            .and_then(|p| p.get("resource"))
            .cloned()
            .ok_or_else(|| bad("$match needs a parameter named resource holding a Patient"))?;
        self.check_resource(Some("Patient"), &patient)?;
        let count = param("count")
            .and_then(|p| p.get("valueInteger"))
            .and_then(Value::as_u64)
            .unwrap_or(10)
            .clamp(1, 100) as usize;
        let only_certain = param("onlyCertainMatches")
            .and_then(|p| p.get("valueBoolean"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        // The input is not registered: it gets a key no Patient can have.
        patient["id"] = Value::from("$match");
        let record = Record::from_patient(&patient).ok_or_else(|| bad("not a Patient"))?;
        let found: Vec<(String, f64, &'static str, String)> = {
            let index = self.index()?;
            let index = index.as_ref().expect("built by index()");
            index
                .matches(&record)
                .into_iter()
                .filter(|m| !only_certain || m.verdict.decision == Decision::Link)
                .take(count)
                .map(|m| {
                    let key = index.record(m.record).key.clone();
                    (key, m.score.probability, grade(&m), m.score.to_string())
                })
                .collect()
        };
        let mut out = Vec::new();
        for (key, score, grade, explanation) in found {
            let Some(id) = key.strip_prefix("Patient/") else {
                continue;
            };
            if let Some(patient) = self.store.read("Patient", id)?.filter(|s| !s.deleted) {
                out.push(Candidate {
                    patient,
                    score,
                    grade,
                    explanation,
                });
            }
        }
        Ok(out)
    }

    /// `GET Patient/$ihe-pix`: the identifiers and Patients of every registration of the
    /// person registered under `system|value`, optionally only identifiers of the
    /// `target_systems`. Returns the Parameters resource.
    pub fn pix(&self, source: &str, target_systems: &[String]) -> Result<Value, Error> {
        let pairs = vec![("identifier".to_string(), source.to_string())];
        let query = self.condition("Patient", &pairs)?;
        let page = self.store.search(&query)?;
        if page.matches.is_empty() {
            return Err(Error::IdentifierNotFound);
        }
        let keys: Vec<String> = {
            let mut guard = self.index()?;
            let index = guard.as_mut().expect("built by index()");
            let mut keys = Vec::new();
            for s in &page.matches {
                if let Some(i) = index.position(&format!("Patient/{}", s.id)) {
                    for m in index.person(i) {
                        keys.push(index.record(m).key.clone());
                    }
                }
            }
            keys.sort();
            keys.dedup();
            keys
        };
        let mut parameters = Vec::new();
        for key in keys {
            let Some(id) = key.strip_prefix("Patient/") else {
                continue;
            };
            let Some(stored) = self.store.read("Patient", id)?.filter(|s| !s.deleted) else {
                continue;
            };
            let patient: Value = serde_json::from_slice(&stored.body).unwrap_or(Value::Null);
            for identifier in patient["identifier"].as_array().into_iter().flatten() {
                let system = identifier["system"].as_str().unwrap_or_default();
                if identifier.get("value").is_none()
                    || !target_systems.is_empty() && !target_systems.iter().any(|t| t == system)
                {
                    continue;
                }
                parameters.push(serde_json::json!({
                    "name": "targetIdentifier",
                    "valueIdentifier": {"use": identifier["use"], "system": system, "value": identifier["value"],
                                        "assigner": identifier["assigner"]},
                }));
            }
            parameters.push(
                serde_json::json!({"name": "targetId", "valueReference": {"reference": key}}),
            );
        }
        for p in &mut parameters {
            if let Some(v) = p.get_mut("valueIdentifier").and_then(Value::as_object_mut) {
                v.retain(|_, x| !x.is_null());
            }
        }
        Ok(serde_json::json!({"resourceType": "Parameters", "parameter": parameters}))
    }

    /// Keeps the index current with a committed write.
    pub(crate) fn observe(&self, stored: &Stored) {
        if stored.resource_type != "Patient" || stored.deleted {
            return;
        }
        let Ok(mut guard) = self.identity.index.lock() else {
            return;
        };
        let Some(index) = guard.as_mut() else {
            return;
        };
        if let Some(r) = serde_json::from_slice::<Value>(&stored.body)
            .ok()
            .and_then(|v| Record::from_patient(&v))
        {
            let _ = index.upsert(r);
        }
    }

    /// The index, built from the store's Patients the first time.
    fn index(&self) -> Result<MutexGuard<'_, Option<Index>>, Error> {
        let mut guard = self.identity.index.lock().map_err(|_| Error::Unavailable)?;
        if guard.is_none() {
            let records = self.all_patients()?;
            let settings = Settings::default();
            let batch = pipeline::link_all(&records, &settings);
            let mut index = Index::new(batch.fitted, settings.max_block);
            for r in records {
                let _ = index.upsert(r);
            }
            tracing::info!(registrations = index.len(), "patient index built");
            *guard = Some(index);
        }
        Ok(guard)
    }

    fn all_patients(&self) -> Result<Vec<Record>, Error> {
        let pairs = vec![("_count".to_string(), PAGE.to_string())];
        let mut query =
            fhir::search::parse_query("Patient", &pairs, false).map_err(Error::BadSearch)?;
        let mut records = Vec::new();
        loop {
            let page = self.store.search(&query)?;
            for s in page.matches.iter().filter(|s| !s.deleted) {
                if let Some(r) = serde_json::from_slice::<Value>(&s.body)
                    .ok()
                    .and_then(|v| Record::from_patient(&v))
                {
                    records.push(r);
                }
            }
            match page.next {
                Some(next) => query.page = Some(next),
                None => return Ok(records),
            }
        }
    }
}

fn grade(m: &Match) -> &'static str {
    match m.verdict.decision {
        Decision::Link => "certain",
        _ if m.score.probability >= 0.9 => "probable",
        _ => "possible",
    }
}

fn bad(message: &str) -> Error {
    Error::BadOperation(message.to_string())
}
