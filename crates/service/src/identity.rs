//! The cross-hospital identity. Every Patient (a hospital's registration) is in the master
//! patient index (`mpi`), and every registration belongs to one person, stored as a FHIR
//! `Person` whose links say how each registration joined it (automatically, with score and
//! model version, or by whose decision). Pairs the matcher is unsure of become review
//! `Task`s; decisions (`$link`, `$unlink`, `$merge`, `$unmerge`) change Persons, whose
//! version history is the decision history.
//!
//! Built on first use from the store (Persons, then Patients: the model is fitted on them,
//! registrations without a person are assigned), then kept current: each committed Patient
//! write is matched against the whole index as it arrives. The index is memory only; the
//! store holds everything that must survive.

use crate::{Caller, Error, Service};
use audit::Action;
use mpi::Record;
use mpi::cluster::Decision;
use mpi::pipeline::{self, Index, Match, Settings};
use mpi::registry::{Link, Method, Person, Refused, Registry};
use serde_json::{Value, json};
use std::sync::{Mutex, MutexGuard};
use store::{Entry, Stored, WriteOp};

/// The index, built on first use.
#[derive(Default)]
pub struct Identity {
    state: Mutex<Option<State>>,
}

struct State {
    index: Index,
    registry: Registry,
}

/// What a batch re-link found.
#[derive(Debug, Clone, PartialEq)]
pub struct Relinked {
    pub registrations: usize,
    pub persons: usize,
    /// The new fit's version.
    pub model: String,
    /// Pairs where the new fit and the persons disagree.
    pub disagreements: usize,
    /// Review tasks created for them (pairs already asked about are not asked again).
    pub new_tasks: usize,
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

/// Resources read per page while building, and written per transaction.
const PAGE: usize = 1000;

impl Service {
    /// `POST Patient/$match`: the registered Patients that may be the person the
    /// Parameters' `resource` describes, best first.
    pub fn match_patient(&self, caller: &Caller, body: &[u8]) -> Result<Vec<Candidate>, Error> {
        caller.may_query_identity()?;
        let params = parameters(body, "$match")?;
        let mut patient = param(&params, "resource")
            .and_then(|p| p.get("resource"))
            .cloned()
            .ok_or_else(|| bad("$match needs a parameter named resource holding a Patient"))?;
        self.check_resource(Some("Patient"), &patient)?;
        let count = param(&params, "count")
            .and_then(|p| p.get("valueInteger"))
            .and_then(Value::as_u64)
            .unwrap_or(10)
            .clamp(1, 100) as usize;
        let only_certain = param(&params, "onlyCertainMatches")
            .and_then(|p| p.get("valueBoolean"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        // The input is not registered: it gets a key no Patient can have.
        patient["id"] = Value::from("$match");
        let record = Record::from_patient(&patient).ok_or_else(|| bad("not a Patient"))?;
        let found: Vec<(String, f64, &'static str, String)> = {
            let guard = self.identity()?;
            let index = &guard.as_ref().expect("built by identity()").index;
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
            if let Some(patient) = self.read_key(&key)? {
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

    /// The person registration `Patient/{patient_id}` belongs to (`Person/{id}`, following
    /// merges) and every registration linked to it.
    pub(crate) fn linked(&self, patient_id: &str) -> Result<(String, Vec<String>), Error> {
        let guard = self.identity()?;
        let registry = &guard.as_ref().expect("built by identity()").registry;
        let person = registry
            .person_of(&format!("Patient/{patient_id}"))
            .and_then(|p| registry.current(&p.id))
            .ok_or_else(|| Error::NotFound {
                resource_type: "Patient".into(),
                id: patient_id.into(),
            })?;
        Ok((
            format!("Person/{}", person.id),
            person.links.iter().map(|l| l.patient.clone()).collect(),
        ))
    }

    /// The patient-index review queue: the pairs the matcher was unsure of, awaiting a
    /// decision (`$link`, `$unlink`, `$merge`), most probable first. For auditors and
    /// administrators.
    pub fn identity_reviews(&self, caller: &Caller) -> Result<Vec<Stored>, Error> {
        let result = (|| {
            match caller {
                Caller::User(p) if p.caller.role == policy::Role::Auditor => {}
                _ => caller.may_decide_identity()?,
            }
            let code = format!("{TASK_CODES}|review-link");
            let mut tasks =
                self.search_all("Task", &[("code", code.as_str()), ("status", "requested")])?;
            let score = |s: &Stored| {
                serde_json::from_slice::<Value>(&s.body)
                    .ok()
                    .and_then(|t| {
                        t["input"]
                            .as_array()?
                            .iter()
                            .find(|i| i["type"]["text"] == "score")?
                            .get("valueDecimal")?
                            .as_f64()
                    })
                    .unwrap_or(0.0)
            };
            tasks.sort_by(|a, b| score(b).total_cmp(&score(a)));
            Ok(tasks)
        })();
        self.account(
            caller,
            Action::Search,
            vec!["Task?code=review-link&status=requested".into()],
            result,
            |t, r| r.count = Some(t.len() as u64),
        )
    }

    /// One registration as its hospital recorded it (name, sex, birth date...): for a
    /// clinician confirming who is in front of them (what `$match` already shows them), or
    /// for the patient themself. Recorded as a read.
    pub fn registration(&self, caller: &Caller, patient_id: &str) -> Result<Stored, Error> {
        let result = (|| {
            match self.own_registrations(caller).transpose()? {
                Some(own) if own.iter().any(|r| *r == format!("Patient/{patient_id}")) => {}
                Some(_) => {
                    return Err(Error::Forbidden(
                        "a patient reads their own registrations".to_string(),
                    ));
                }
                None => caller.may_query_identity()?,
            }
            self.store
                .read("Patient", patient_id)?
                .filter(|s| !s.deleted)
                .ok_or_else(|| Error::NotFound {
                    resource_type: "Patient".into(),
                    id: patient_id.into(),
                })
        })();
        self.account(
            caller,
            Action::Read,
            vec![format!("Patient/{patient_id}")],
            result,
            |_, r| r.patient = Some(format!("Patient/{patient_id}")),
        )
    }

    /// The region's hospitals as (id, name), by name: the directory, not patient data.
    pub fn hospitals(&self) -> Result<Vec<(String, String)>, Error> {
        let mut out: Vec<(String, String)> = self
            .search_all("Organization", &[])?
            .into_iter()
            .filter_map(|s| {
                let v: serde_json::Value = serde_json::from_slice(&s.body).ok()?;
                Some((s.id.clone(), v.get("name")?.as_str()?.to_string()))
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// `GET Patient/$ihe-pix`: the identifiers and Patients of every registration of the
    /// person registered under `system|value`, optionally only identifiers of the
    /// `target_systems`. Returns the Parameters resource.
    pub fn pix(
        &self,
        caller: &Caller,
        source: &str,
        target_systems: &[String],
    ) -> Result<Value, Error> {
        caller.may_query_identity()?;
        let pairs = vec![("identifier".to_string(), source.to_string())];
        let query = self.condition("Patient", &pairs)?;
        let page = self.store.search(&query)?;
        if page.matches.is_empty() {
            return Err(Error::IdentifierNotFound);
        }
        let keys: Vec<String> = {
            let guard = self.identity()?;
            let registry = &guard.as_ref().expect("built by identity()").registry;
            let mut keys = Vec::new();
            for s in &page.matches {
                let key = format!("Patient/{}", s.id);
                match registry.person_of(&key) {
                    Some(p) => keys.extend(p.links.iter().map(|l| l.patient.clone())),
                    None => keys.push(key),
                }
            }
            keys.sort();
            keys.dedup();
            keys
        };
        let mut parameters = Vec::new();
        for key in keys {
            let Some(stored) = self.read_key(&key)? else {
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
                let mut value = json!({"use": identifier["use"], "system": system,
                    "value": identifier["value"], "assigner": identifier["assigner"]});
                if let Some(v) = value.as_object_mut() {
                    v.retain(|_, x| !x.is_null());
                }
                parameters.push(json!({"name": "targetIdentifier", "valueIdentifier": value}));
            }
            parameters.push(json!({"name": "targetId", "valueReference": {"reference": key}}));
        }
        Ok(json!({"resourceType": "Parameters", "parameter": parameters}))
    }

    /// `POST Patient/$link` (`patient`, `target`, optional `task`): a person's decision that
    /// the registration belongs with the target's person. Returns that Person.
    pub fn link_patient(&self, caller: &Caller, body: &[u8]) -> Result<Stored, Error> {
        caller.may_decide_identity()?;
        let params = parameters(body, "$link")?;
        let patient = reference(&params, "patient", "Patient")?;
        let target = reference(&params, "target", "Patient")?;
        let by = caller.who();
        self.decide(caller, &params, "linked", |registry| {
            let changed = registry.link(&patient, &target, &by)?;
            Ok((changed, registry.person_of(&target).map(|p| p.id.clone())))
        })
    }

    /// `POST Patient/$unlink` (`patient`, optional `task`): a person's decision that the
    /// registration is not the person it is linked to. Returns its new Person.
    pub fn unlink_patient(&self, caller: &Caller, body: &[u8]) -> Result<Stored, Error> {
        caller.may_decide_identity()?;
        let params = parameters(body, "$unlink")?;
        let patient = reference(&params, "patient", "Patient")?;
        let by = caller.who();
        self.decide(caller, &params, "distinct", |registry| {
            let changed = registry.unlink(&patient, &by, new_person_id)?;
            Ok((changed, registry.person_of(&patient).map(|p| p.id.clone())))
        })
    }

    /// `POST Person/$merge` (`source`, `target`): two persons are one. Returns the target.
    pub fn merge_persons(&self, caller: &Caller, body: &[u8]) -> Result<Stored, Error> {
        caller.may_decide_identity()?;
        let params = parameters(body, "$merge")?;
        let source = reference(&params, "source", "Person")?;
        let target = reference(&params, "target", "Person")?;
        let (source, target) = (strip(&source), strip(&target));
        let by = caller.who();
        self.decide(caller, &params, "linked", |registry| {
            let changed = registry.merge(&source, &target, &by)?;
            Ok((changed, Some(target.clone())))
        })
    }

    /// `POST Person/$unmerge` (`source`): undoes a merge. Returns the restored Person.
    pub fn unmerge_person(&self, caller: &Caller, body: &[u8]) -> Result<Stored, Error> {
        caller.may_decide_identity()?;
        let params = parameters(body, "$unmerge")?;
        let source = strip(&reference(&params, "source", "Person")?);
        let by = caller.who();
        self.decide(caller, &params, "distinct", |registry| {
            let changed = registry.unmerge(&source, &by)?;
            Ok((changed, Some(source.clone())))
        })
    }

    /// Applies a decision to the registry, stores the Persons it changed and closes the
    /// review task it answers, if one is named.
    fn decide(
        &self,
        caller: &Caller,
        params: &Value,
        outcome: &str,
        apply: impl FnOnce(&mut Registry) -> Result<(Vec<String>, Option<String>), Refused>,
    ) -> Result<Stored, Error> {
        // The task is read before anything changes: a wrong task id changes nothing.
        let task = match param(params, "task") {
            Some(_) => {
                let id = strip(&reference(params, "task", "Task")?);
                let stored = self.store.read("Task", &id)?.filter(|s| !s.deleted).ok_or(
                    Error::NotFound {
                        resource_type: "Task".into(),
                        id,
                    },
                )?;
                let mut t: Value = serde_json::from_slice(&stored.body).unwrap_or(Value::Null);
                t["status"] = "completed".into();
                t["output"] = json!([{"type": {"text": "decision"}, "valueCode": outcome}]);
                Some(put(t))
            }
            None => None,
        };
        let mut guard = self.identity()?;
        let state = guard.as_mut().expect("built by identity()");
        let (changed, shown) =
            apply(&mut state.registry).map_err(|e| Error::BadOperation(e.to_string()))?;
        let changed = changed.into_iter().collect();
        let entries = persons_and(&state.registry, &changed, task.into_iter().collect());
        let audit = |out: &[store::WriteOutcome]| {
            crate::journal::write_record(caller, Some(audit::Action::Identity), out)
        };
        if let Err(e) = self.store.transact(entries, &audit) {
            // Memory ran ahead of the store: rebuild from the store on next use.
            *guard = None;
            return Err(e.into());
        }
        let shown = shown.ok_or_else(|| Error::Internal("no person to show".into()))?;
        drop(guard);
        self.store
            .read("Person", &shown)?
            .ok_or_else(|| Error::Internal("the person just stored is missing".into()))
    }

    /// The batch re-link after a model change: refits the model on every registration,
    /// relinks them all, and asks for review wherever the new fit disagrees with the
    /// persons as they are (a link across two persons, or an automatic link the new fit no
    /// longer makes). It changes no person by itself: decisions stay with people. From then
    /// on new registrations are matched with the new fit.
    pub fn relink(&self) -> Result<Relinked, Error> {
        let records: Vec<Record> = self.all("Patient", Record::from_patient)?;
        let settings = Settings::default();
        let batch = pipeline::link_all(&records, &settings);
        let mut guard = self.identity()?;
        let state = guard.as_mut().expect("built by identity()");
        let person = |key: &str| state.registry.person_of(key).map(|p| p.id.clone());
        let mut entries = Vec::new();
        let mut disagreements = 0;
        let mut supported: std::collections::HashSet<&str> = Default::default();
        for s in &batch.scored {
            let (a, b) = (&records[s.a as usize].key, &records[s.b as usize].key);
            if s.verdict.decision != Decision::Link {
                continue;
            }
            if person(a) == person(b) {
                supported.insert(a);
                supported.insert(b);
                continue;
            }
            disagreements += 1;
            let m = Match {
                record: s.b,
                comparison: s.comparison,
                score: s.score.clone(),
                verdict: s.verdict,
            };
            entries.push(create(review_task(a, b, &m)));
        }
        // Automatic links the new fit does not make with anyone of the person.
        for r in &records {
            let Some(p) = state.registry.person_of(&r.key) else {
                continue;
            };
            let automatic = p
                .links
                .iter()
                .any(|l| l.patient == r.key && l.method == Method::Auto && l.score.is_some());
            if automatic && p.links.len() > 1 && !supported.contains(r.key.as_str()) {
                disagreements += 1;
                let first = &p.links[0].patient;
                let other = if first == &r.key {
                    &p.links[1].patient
                } else {
                    first
                };
                if let (Some(i), Some(j)) =
                    (state.index.position(&r.key), state.index.position(other))
                {
                    let (comparison, score, verdict) = batch
                        .fitted
                        .judge(state.index.record(i), state.index.record(j));
                    let m = Match {
                        record: j,
                        comparison,
                        score,
                        verdict,
                    };
                    entries.push(create(review_task(&r.key, other, &m)));
                }
            }
        }
        let mut index = Index::new(batch.fitted, settings.max_block);
        for r in records {
            let _ = index.upsert(r);
        }
        let model = index.fitted.model.version.clone();
        state.index = index;
        let persons = state.registry.len();
        let registrations = state.index.len();
        drop(guard);
        let new_tasks = self.write_all(entries)?;
        Ok(Relinked {
            registrations,
            persons,
            model,
            disagreements,
            new_tasks,
        })
    }

    /// Keeps the index current with committed writes: each new or changed Patient is matched
    /// and assigned; the Persons and review Tasks that follow are stored.
    pub(crate) fn observe(&self, written: &[&Stored]) {
        if !written
            .iter()
            .any(|s| s.resource_type == "Patient" && !s.deleted)
        {
            return;
        }
        let Ok(mut guard) = self.identity.state.lock() else {
            return;
        };
        let Some(state) = guard.as_mut() else {
            return;
        };
        let (mut tasks, mut changed) = (Vec::new(), Default::default());
        for s in written
            .iter()
            .filter(|s| s.resource_type == "Patient" && !s.deleted)
        {
            if let Some(r) = serde_json::from_slice::<Value>(&s.body)
                .ok()
                .and_then(|v| Record::from_patient(&v))
            {
                tasks.extend(self.register(state, r, &mut changed));
            }
        }
        if let Err(e) = self.write_all(persons_and(&state.registry, &changed, tasks)) {
            tracing::error!(error = %e, "storing persons after a Patient write failed; they are rebuilt on restart");
        }
    }

    /// Indexes one registration and assigns it to a person: the writes that follow.
    /// Indexes one registration and assigns it to a person. The persons it changed are added
    /// to `changed` (stored once per batch, however often they changed); the review tasks
    /// it raises are returned.
    fn register(
        &self,
        state: &mut State,
        r: Record,
        changed: &mut std::collections::BTreeSet<String>,
    ) -> Vec<Entry> {
        let key = r.key.clone();
        let (_, matches) = state.index.upsert(r);
        let links: Vec<(String, f64)> = matches
            .iter()
            .filter(|m| m.verdict.decision == Decision::Link)
            .map(|m| {
                (
                    state.index.record(m.record).key.clone(),
                    m.score.probability,
                )
            })
            .collect();
        let model = state.index.fitted.model.version.clone();
        let mut touched = Vec::new();
        let assigned = state
            .registry
            .assign(&key, &links, &model, new_person_id, &mut touched);
        changed.extend(touched);
        let mut entries = Vec::new();
        let person = state.registry.person_of(&key).map(|p| p.id.clone());
        for m in &matches {
            let other = state.index.record(m.record).key.clone();
            let other_person = state.registry.person_of(&other).map(|p| p.id.clone());
            let bridge = other_person
                .as_ref()
                .is_some_and(|p| assigned.also.contains(p));
            let review = m.verdict.decision == Decision::Review || bridge;
            if review && other_person != person {
                entries.push(create(review_task(&key, &other, m)));
            }
        }
        entries
    }

    /// Stores follow-up writes, skipping review tasks that already exist (decided or not).
    /// Persons are written as given (each once: see `persons_and`); a review task only if
    /// no task for its pair exists or came earlier in `entries`.
    fn write_all(&self, entries: Vec<Entry>) -> Result<usize, Error> {
        let mut kept = Vec::with_capacity(entries.len());
        let mut created = 0;
        let mut asked = std::collections::HashSet::new();
        for e in entries {
            if let WriteOp::Create { resource, .. } = &e.op {
                let id = resource["id"].as_str().unwrap_or_default();
                if !asked.insert(id.to_string()) || self.store.read("Task", id)?.is_some() {
                    continue;
                }
                created += 1;
                kept.push(put(resource.clone()));
            } else {
                kept.push(e);
            }
        }
        for chunk in kept.chunks(PAGE) {
            self.store.transact(chunk.to_vec(), &|out| {
                crate::journal::write_record(&Caller::System, Some(audit::Action::Identity), out)
            })?;
        }
        Ok(created)
    }

    /// The index and registry, built from the store the first time.
    fn identity(&self) -> Result<MutexGuard<'_, Option<State>>, Error> {
        let mut guard = self.identity.state.lock().map_err(|_| Error::Unavailable)?;
        if guard.is_none() {
            let persons: Vec<Person> = self.all("Person", person_from_resource)?;
            let records: Vec<Record> = self.all("Patient", Record::from_patient)?;
            let settings = Settings::default();
            let batch = pipeline::link_all(&records, &settings);
            let mut state = State {
                index: Index::new(batch.fitted, settings.max_block),
                registry: Registry::from_persons(persons),
            };
            let (mut tasks, mut changed) = (Vec::new(), Default::default());
            for r in records {
                tasks.extend(self.register(&mut state, r, &mut changed));
            }
            self.write_all(persons_and(&state.registry, &changed, tasks))?;
            tracing::info!(
                registrations = state.index.len(),
                persons = state.registry.len(),
                "patient index built"
            );
            *guard = Some(state);
        }
        Ok(guard)
    }

    /// Every current resource of a type, each turned into what `f` keeps of it (a page at a
    /// time: a million Patients as JSON would not fit beside the index).
    fn all<T>(
        &self,
        resource_type: &str,
        f: impl Fn(&Value) -> Option<T>,
    ) -> Result<Vec<T>, Error> {
        let pairs = vec![("_count".to_string(), PAGE.to_string())];
        let mut query =
            fhir::search::parse_query(resource_type, &pairs, false).map_err(Error::BadSearch)?;
        let mut out = Vec::new();
        loop {
            let page = self.store.search(&query)?;
            out.extend(
                page.matches
                    .iter()
                    .filter(|s| !s.deleted)
                    .filter_map(|s| serde_json::from_slice::<Value>(&s.body).ok())
                    .filter_map(|v| f(&v)),
            );
            match page.next {
                Some(next) => query.page = Some(next),
                None => return Ok(out),
            }
        }
    }

    fn read_key(&self, key: &str) -> Result<Option<Stored>, Error> {
        let Some((t, id)) = key.split_once('/') else {
            return Ok(None);
        };
        Ok(self.store.read(t, id)?.filter(|s| !s.deleted))
    }
}

/// The code system of Yilian's identity tasks and the extensions on Person links.
pub const TASK_CODES: &str = "https://yilian.health/fhir/CodeSystem/mpi-task";
pub const LINK_PROVENANCE: &str = "https://yilian.health/fhir/StructureDefinition/link-provenance";
pub const MERGED_INTO: &str = "https://yilian.health/fhir/StructureDefinition/merged-into";
pub const FORMER_LINK: &str = "https://yilian.health/fhir/StructureDefinition/former-link";
pub const DISTINCT_FROM: &str = "https://yilian.health/fhir/StructureDefinition/distinct-from";

/// A person as a FHIR Person: automatic links at assurance level3, decided ones level4.
pub fn person_resource(p: &Person) -> Value {
    let link = |l: &Link| {
        let mut provenance = vec![
            json!({"url": "method", "valueCode": if l.method == Method::Auto { "auto" } else { "manual" }}),
            json!({"url": "by", "valueString": l.by}),
        ];
        if let Some(s) = l.score {
            provenance.push(json!({"url": "score", "valueDecimal": (s * 1e6).round() / 1e6}));
        }
        json!({
            "extension": [{"url": LINK_PROVENANCE, "extension": provenance}],
            "target": {"reference": l.patient},
            "assurance": if l.method == Method::Auto { "level3" } else { "level4" }
        })
    };
    let mut extension: Vec<Value> = Vec::new();
    if let Some(m) = &p.merged_into {
        extension.push(
            json!({"url": MERGED_INTO, "valueReference": {"reference": format!("Person/{m}")}}),
        );
    }
    for l in &p.former {
        extension.push(json!({"url": FORMER_LINK, "valueReference": {"reference": l.patient}}));
    }
    for d in &p.distinct {
        extension.push(
            json!({"url": DISTINCT_FROM, "valueReference": {"reference": format!("Person/{d}")}}),
        );
    }
    let mut v = json!({"resourceType": "Person", "id": p.id, "active": p.active});
    if !extension.is_empty() {
        v["extension"] = Value::from(extension);
    }
    if !p.links.is_empty() {
        v["link"] = p.links.iter().map(link).collect();
    }
    v
}

/// The person a stored Person resource describes.
pub fn person_from_resource(v: &Value) -> Option<Person> {
    let reference = |x: &Value| {
        x["valueReference"]["reference"]
            .as_str()
            .map(str::to_string)
    };
    let ext = |url: &str| -> Vec<&Value> {
        v["extension"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["url"] == url)
            .collect()
    };
    let links = v["link"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| {
            let provenance: Vec<&Value> = l["extension"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|e| e["url"] == LINK_PROVENANCE)
                .flat_map(|e| e["extension"].as_array().into_iter().flatten())
                .collect();
            let part = |name: &str| provenance.iter().find(|p| p["url"] == name).copied();
            Some(Link {
                patient: l["target"]["reference"].as_str()?.to_string(),
                method: match part("method").and_then(|p| p["valueCode"].as_str()) {
                    Some("manual") => Method::Manual,
                    _ => Method::Auto,
                },
                score: part("score").and_then(|p| p["valueDecimal"].as_f64()),
                by: part("by")
                    .and_then(|p| p["valueString"].as_str())
                    .unwrap_or_default()
                    .to_string(),
            })
        })
        .collect();
    Some(Person {
        id: v["id"].as_str()?.to_string(),
        links,
        active: v["active"].as_bool().unwrap_or(true),
        merged_into: ext(MERGED_INTO)
            .first()
            .and_then(|e| reference(e))
            .map(|r| strip(&r)),
        former: ext(FORMER_LINK)
            .iter()
            .filter_map(|e| reference(e))
            .map(|patient| Link {
                patient,
                method: Method::Auto,
                score: None,
                by: String::new(),
            })
            .collect(),
        distinct: ext(DISTINCT_FROM)
            .iter()
            .filter_map(|e| reference(e))
            .map(|r| strip(&r))
            .collect(),
    })
}

/// A review task: are these two registrations one person? Its id is derived from the pair,
/// so a pair is asked about once.
fn review_task(a: &str, b: &str, m: &Match) -> Value {
    let (x, y) = if a < b { (a, b) } else { (b, a) };
    json!({
        "resourceType": "Task",
        "id": format!("mpi-review-{:016x}", fnv1a(&format!("{x}|{y}"))),
        "status": "requested",
        "intent": "proposal",
        "priority": if m.score.probability >= 0.9 { "urgent" } else { "routine" },
        "code": {"coding": [{"system": TASK_CODES, "code": "review-link", "display": "Are these registrations one person?"}]},
        "focus": {"reference": a},
        "reasonCode": {"text": format!("{:?}", m.verdict.reason)},
        "input": [
            {"type": {"text": "candidate"}, "valueReference": {"reference": b}},
            {"type": {"text": "score"}, "valueDecimal": (m.score.probability * 1e6).round() / 1e6},
            {"type": {"text": "explanation"}, "valueString": m.score.to_string()}
        ]
    })
}

/// The changed persons as Person writes, then `tasks`.
fn persons_and(
    registry: &Registry,
    changed: &std::collections::BTreeSet<String>,
    tasks: Vec<Entry>,
) -> Vec<Entry> {
    changed
        .iter()
        .filter_map(|id| registry.person(id))
        .map(|p| put(person_resource(p)))
        .chain(tasks)
        .collect()
}

/// A review task to write unless one for the same pair exists (see `write_all`).
fn create(resource: Value) -> Entry {
    Entry {
        full_url: None,
        op: WriteOp::Create {
            resource,
            if_none_exist: None,
        },
    }
}

fn put(resource: Value) -> Entry {
    Entry {
        full_url: None,
        op: WriteOp::Update {
            resource_type: resource["resourceType"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            id: resource["id"].as_str().unwrap_or_default().to_string(),
            resource,
            if_match: None,
        },
    }
}

fn new_person_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn grade(m: &Match) -> &'static str {
    match m.verdict.decision {
        Decision::Link => "certain",
        _ if m.score.probability >= 0.9 => "probable",
        _ => "possible",
    }
}

fn parameters(body: &[u8], operation: &str) -> Result<Value, Error> {
    let params = fhir::json::parse_object(body)?;
    if params.get("resourceType").and_then(Value::as_str) != Some("Parameters") {
        return Err(bad(&format!(
            "the body of {operation} must be a Parameters resource"
        )));
    }
    Ok(params)
}

fn param<'a>(params: &'a Value, name: &str) -> Option<&'a Value> {
    params
        .get("parameter")
        .and_then(Value::as_array)?
        .iter()
        .find(|p| p.get("name").and_then(Value::as_str) == Some(name))
}

/// A `valueReference` parameter to a resource of `kind`, as `Kind/id`.
fn reference(params: &Value, name: &str, kind: &str) -> Result<String, Error> {
    let r = param(params, name)
        .and_then(|p| p["valueReference"]["reference"].as_str())
        .ok_or_else(|| {
            bad(&format!(
                "parameter {name} must be a valueReference to a {kind}"
            ))
        })?;
    match r.split_once('/') {
        Some((k, id)) if k == kind && fhir::is_valid_id(id) => Ok(r.to_string()),
        _ => Err(bad(&format!(
            "parameter {name} must reference a {kind} as {kind}/[id]"
        ))),
    }
}

fn strip(reference: &str) -> String {
    reference
        .split_once('/')
        .map_or(reference, |(_, id)| id)
        .to_string()
}

fn bad(message: &str) -> Error {
    Error::BadOperation(message.to_string())
}
