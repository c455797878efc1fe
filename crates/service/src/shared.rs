//! The shared record: a person's records from every hospital, as far as the policy allows.
//!
//! `GET /shared/Patient/{id}` names one registration; the patient index gives the person
//! and all their registrations; the facts the decision needs (consents, restrictions,
//! visits at the caller's hospital, break-glass grants) come from a few searches;
//! `policy::decide` says permit or deny and what a permit covers; the store's query then
//! applies that scope (`Store::shared`), so every item is shown or counted as withheld with
//! its reason, never revealed, and a withheld item's body is never read.
//!
//! Break-glass (`POST /shared/Patient/{id}/$break-glass`) records a grant as a FHIR `Task`
//! awaiting review: the doctor, the hospital, the stated reason, and when it lapses.

use crate::{Caller, Error, Service, Stored, journal};
use audit::{Action, Outcome, flag};
use fhir::search::parse_query;
use policy::{BreakGlass, Category, Facts, Withheld};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use store::Logged;
use store::{Entry, WriteOp};

/// The code system of Yilian's access tasks.
pub const ACCESS_TASKS: &str = "https://yilian.health/fhir/CodeSystem/access-task";

/// One shown item and the hospital it came from.
#[derive(Debug, Clone)]
pub struct SharedItem {
    pub stored: Stored,
    /// `Organization/{id}`: the hospital whose registration holds it.
    pub source: Option<String>,
}

/// What the caller may see of one person's record.
#[derive(Debug, Clone)]
pub struct SharedRecord {
    /// `Person/{id}`.
    pub person: String,
    /// The registrations the record gathers (`Patient/{id}`).
    pub registrations: Vec<String>,
    pub basis: policy::Basis,
    /// Break-glass: flagged for review, the patient to be told.
    pub review: bool,
    /// The person is on the staff of a hospital of the region (a Practitioner carries
    /// their resident ID): such reads are reported to the auditor.
    pub staff: bool,
    /// Newest first.
    pub items: Vec<SharedItem>,
    /// How many items were left out, and why.
    pub withheld: Vec<(Withheld, usize)>,
}

/// The store's classifier for the shared record: open the store with
/// `Engine::with_classifier(backend, service::classify, service::SHARED_TYPES)`.
pub fn classify(resource_type: &str, resource: &Value) -> Option<store::ShareClass> {
    policy::SHARED_TYPES
        .contains(&resource_type)
        .then(|| store::ShareClass {
            categories: i64::from(policy::category_of(resource).bits()),
            at: policy::date_of(resource),
        })
}

/// The types [`classify`] classifies.
pub const SHARED_TYPES: &[&str] = policy::SHARED_TYPES;

impl Service {
    /// The shared record of the person registered as `Patient/{patient_id}`, for `caller`
    /// at `now` (seconds since the epoch). The facts are read with a few searches; the
    /// decision's scope then runs inside the store's query, so a withheld item's body is
    /// never read.
    pub fn shared_record(
        &self,
        caller: &Caller,
        patient_id: &str,
        now: i64,
    ) -> Result<SharedRecord, Error> {
        let record = |outcome| {
            let mut r = caller.record(Action::Shared, outcome);
            r.patient = Some(format!("Patient/{patient_id}"));
            r.entities = vec![format!("Patient/{patient_id}")];
            r
        };
        // The access is recorded as soon as the decision permits it, and the record
        // commits while the store reads the items: the answer waits for both, so nothing
        // leaves unrecorded, and the record adds only what its commit outlasts the read.
        let mut pending = None;
        let result = self.shared_unaudited(caller, patient_id, now, |person, basis, staff| {
            let mut r = record(Outcome::Success);
            r.person = Some(person.to_string());
            if basis == &policy::Basis::BreakGlass {
                r.flags |= flag::BREAK_GLASS | flag::NO_RELATIONSHIP;
            }
            if staff {
                r.flags |= flag::STAFF;
            }
            let notify = (basis != &policy::Basis::OwnRecord)
                .then(|| journal::notice_for(&r, person, false))
                .flatten();
            pending = Some(self.recorder.submit(vec![Logged { record: r, notify }]));
        });
        match (result, pending) {
            (result, Some(pending)) => {
                pending.wait()?;
                result
            }
            (Ok(_), None) => Err(Error::Internal(
                "a shared record was read without its audit record".into(),
            )),
            (Err(e), None) => {
                let mut r = record(if e.describe().status >= 500 {
                    Outcome::Failed
                } else {
                    Outcome::Refused
                });
                r.detail = Some(e.describe().code.to_string());
                self.recorder.record(vec![r.into()])?;
                Err(e)
            }
        }
    }

    fn shared_unaudited(
        &self,
        caller: &Caller,
        patient_id: &str,
        now: i64,
        permitted: impl FnOnce(&str, &policy::Basis, bool),
    ) -> Result<SharedRecord, Error> {
        let Caller::User(principal) = caller else {
            return Err(Error::Forbidden(
                "the shared record is read by a signed-in person, for a purpose".to_string(),
            ));
        };
        let (person, registrations) = self.linked(patient_id)?;
        let (facts, sources, staff) = self.facts(
            &person,
            &registrations,
            principal.caller.organization.as_deref(),
            now,
        )?;
        let decision = policy::decide(&self.config.region, &principal.caller, &facts, now);
        let (Some(basis), Some(scope)) = (decision.basis, decision.scope) else {
            let reason = decision.reason.expect("a deny carries its reason");
            return Err(Error::Forbidden(reason.message().to_string()));
        };
        permitted(&person, &basis, staff);
        // Registrations at hospitals the scope admits are read; the others only counted.
        let (open, closed): (Vec<&String>, Vec<&String>) = registrations
            .iter()
            .partition(|r| scope.admits_source(sources.get(*r).and_then(|o| o.as_deref())));
        let ids = |list: &[&String]| -> Vec<String> {
            list.iter()
                .map(|r| r.trim_start_matches("Patient/").to_string())
                .collect()
        };
        let query = store::SharedQuery {
            patients: ids(&open),
            forbidden: Category::ALL
                .into_iter()
                .filter(|c| c.is_sensitive() && !scope.sensitive.contains(c))
                .fold(0, |bits, c| bits | i64::from(c.bit())),
            since: Category::ALL
                .into_iter()
                .filter_map(|c| Some((i64::from(c.bit()), scope.since(c)?)))
                .collect(),
            hidden: scope.hidden.clone(),
            bodies: true,
        };
        let mut withheld: BTreeMap<Withheld, usize> = BTreeMap::new();
        let mut items = Vec::new();
        for item in self.store.shared(&query)? {
            match item.held {
                None => {
                    let source = sources
                        .get(&format!("Patient/{}", item.patient))
                        .cloned()
                        .flatten();
                    items.push(SharedItem {
                        stored: item.stored,
                        source,
                    });
                }
                Some(held) => *withheld.entry(reason(held)).or_default() += 1,
            }
        }
        if !closed.is_empty() {
            let counted = store::SharedQuery {
                patients: ids(&closed),
                bodies: false,
                ..query
            };
            for item in self.store.shared(&counted)? {
                let why = match item.held {
                    Some(h @ (store::Held::Hidden | store::Held::Forbidden)) => reason(h),
                    _ => Withheld::HospitalNotConsented,
                };
                *withheld.entry(why).or_default() += 1;
            }
        }
        Ok(SharedRecord {
            person,
            registrations,
            staff,
            basis,
            review: decision.review,
            items,
            withheld: withheld.into_iter().collect(),
        })
    }

    /// Opens the record of `Patient/{patient_id}` in an emergency: a grant for the calling
    /// doctor at their hospital, for the region's break-glass hours, awaiting review.
    pub fn break_glass(
        &self,
        caller: &Caller,
        patient_id: &str,
        body: &[u8],
        now: i64,
    ) -> Result<Stored, Error> {
        let result = self.break_glass_unaudited(caller, patient_id, body, now);
        self.refused(
            caller,
            Action::BreakGlass,
            &format!("Patient/{patient_id}"),
            result,
        )
    }

    fn break_glass_unaudited(
        &self,
        caller: &Caller,
        patient_id: &str,
        body: &[u8],
        now: i64,
    ) -> Result<Stored, Error> {
        let doctor = match caller {
            Caller::User(p) if p.caller.role == policy::Role::Doctor => &p.caller,
            _ => {
                return Err(Error::Forbidden(
                    "only a doctor breaks the glass".to_string(),
                ));
            }
        };
        let (Some(practitioner), Some(organization)) = (&doctor.practitioner, &doctor.organization)
        else {
            return Err(Error::Forbidden(
                "breaking the glass needs a token naming the practitioner and hospital".to_string(),
            ));
        };
        let params = fhir::json::parse_object(body)?;
        let reason = params
            .get("parameter")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|p| p.get("name").and_then(Value::as_str) == Some("reason"))
            .and_then(|p| p.get("valueString"))
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .ok_or_else(|| {
                Error::BadOperation(
                    "$break-glass needs a Parameters resource with a non-empty valueString parameter named reason".to_string(),
                )
            })?;
        // The patient must exist and be known to the index.
        let (person, _) = self.linked(patient_id)?;
        let hours = i64::from(self.config.region.break_glass_hours);
        let instant = |t: i64| fhir::time::format_instant(t * 1000);
        let task = json!({
            "resourceType": "Task",
            "status": "in-progress",
            "businessStatus": {"text": "awaiting review"},
            "intent": "order",
            "priority": "stat",
            "code": {"coding": [{"system": ACCESS_TASKS, "code": "break-glass", "display": "emergency access without consent"}]},
            "for": {"reference": format!("Patient/{patient_id}")},
            "authoredOn": instant(now),
            "requester": {"reference": practitioner},
            "owner": {"reference": organization},
            "reasonCode": {"text": reason},
            "restriction": {"period": {"start": instant(now), "end": instant(now + hours * 3600)}}
        });
        self.check_resource(Some("Task"), &task)?;
        // The grant, its audit record and the patient's notice commit together.
        let audit = |out: &[store::WriteOutcome]| {
            let mut r = caller.record(Action::BreakGlass, Outcome::Success);
            r.patient = Some(format!("Patient/{patient_id}"));
            r.person = Some(person.clone());
            r.entities = out
                .iter()
                .filter_map(store::WriteOutcome::stored)
                .map(|s| format!("Task/{}", s.id))
                .collect();
            r.detail = Some(reason.to_string());
            r.flags = flag::BREAK_GLASS | flag::NO_RELATIONSHIP;
            let notify = journal::notice_for(&r, &person, true);
            vec![Logged { record: r, notify }]
        };
        let out = self.transact_with(
            vec![Entry {
                full_url: None,
                op: WriteOp::Create {
                    resource: task,
                    if_none_exist: None,
                },
            }],
            &audit,
        )?;
        out.into_iter()
            .next()
            .and_then(|o| o.stored().cloned())
            .ok_or_else(|| Error::Internal("the break-glass task was not stored".into()))
    }

    /// What the decision needs to know of the person, and each registration's hospital:
    /// the registrations themselves, their consents and break-glass tasks, and the latest
    /// visit at the caller's hospital.
    fn facts(
        &self,
        person: &str,
        registrations: &[String],
        caller_org: Option<&str>,
        now: i64,
    ) -> Result<Gathered, Error> {
        let mut facts = Facts {
            person: person.to_string(),
            ..Facts::default()
        };
        let mut sources = HashMap::new();
        let mut resident_ids: Vec<String> = Vec::new();
        for registration in registrations {
            let id = registration.trim_start_matches("Patient/");
            let Some(stored) = self.store.read("Patient", id)?.filter(|s| !s.deleted) else {
                continue;
            };
            let v = body(&stored)?;
            let org = v
                .pointer("/managingOrganization/reference")
                .and_then(Value::as_str)
                .map(str::to_string);
            if let Some(org) = &org {
                facts
                    .seen_at
                    .push((org.clone(), stored.last_updated / 1000));
            }
            resident_ids.extend(
                v.get("identifier")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter(|i| {
                        i.get("system").and_then(Value::as_str)
                            == Some(terminology::systems::RESIDENT_ID)
                    })
                    .filter_map(|i| i.get("value")?.as_str())
                    .map(|v| format!("{}|{v}", terminology::systems::RESIDENT_ID)),
            );
            if facts.birth.is_none() {
                facts.birth = v
                    .get("birthDate")
                    .and_then(Value::as_str)
                    .and_then(policy::time_of);
            }
            sources.insert(registration.clone(), org);
        }
        let patients = registrations.join(",");
        for stored in self.search_all("Consent", &[("patient", patients.as_str())])? {
            let v = body(&stored)?;
            facts.hidden.extend(policy::hidden_items(&v));
            // A Consent that cannot be read states nothing; it never widens access.
            if let Ok(Some(fact)) = policy::consent_fact(&v) {
                facts.consents.push(fact);
            }
        }
        let code = format!("{ACCESS_TASKS}|break-glass");
        for stored in self.search_all("Task", &[("patient", &patients), ("code", &code)])? {
            if let Some(grant) = break_glass_grant(&body(&stored)?) {
                facts.break_glass.push(grant);
            }
        }
        // A visit at the caller's hospital within the relationship's days, unless a
        // registration there already makes one.
        let since = now - i64::from(self.config.region.relationship_days) * 86_400;
        let related = |facts: &Facts, org: &str| {
            facts
                .seen_at
                .iter()
                .any(|(o, t)| o == org && (since..=now).contains(t))
        };
        if let Some(org) = caller_org.filter(|org| !related(&facts, org)) {
            let from = format!("ge{}", fhir::time::format_instant(since * 1000));
            let visits = self.search_all(
                "Encounter",
                &[
                    ("patient", &patients),
                    ("service-provider", org),
                    ("date", &from),
                    ("_count", "1"),
                ],
            )?;
            if let Some(start) = visits
                .first()
                .and_then(|s| body(s).ok())
                .and_then(|v| policy::date_of(&v))
            {
                facts.seen_at.push((org.to_string(), start.max(since)));
            }
        }
        resident_ids.sort();
        resident_ids.dedup();
        let staff = !resident_ids.is_empty()
            && !self
                .search_all(
                    "Practitioner",
                    &[("identifier", &resident_ids.join(",")), ("_count", "1")],
                )?
                .is_empty();
        Ok((facts, sources, staff))
    }

    /// The first page of a search (at most the page cap) as stored resources.
    pub(crate) fn search_all(
        &self,
        resource_type: &str,
        pairs: &[(&str, &str)],
    ) -> Result<Vec<Stored>, Error> {
        let mut pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        if !pairs.iter().any(|(k, _)| k == "_count") {
            pairs.push(("_count".into(), self.config.max_count.to_string()));
        }
        let query = parse_query(resource_type, &pairs, false).map_err(Error::BadSearch)?;
        Ok(self.store.search(&query)?.matches)
    }
}

/// The facts, each registration's hospital, and whether the person is on the staff.
type Gathered = (Facts, HashMap<String, Option<String>>, bool);

/// The policy's reason for what the store held back.
fn reason(held: store::Held) -> Withheld {
    match held {
        store::Held::Hidden => Withheld::PatientRestriction,
        store::Held::Forbidden => Withheld::SensitiveCategory,
        store::Held::OutsideWindow => Withheld::OutsideWindow,
    }
}

fn body(stored: &Stored) -> Result<Value, Error> {
    serde_json::from_slice(&stored.body)
        .map_err(|_| Error::Internal(format!("stored {} is not JSON", stored.resource_type)))
}

/// A break-glass grant from its Task; `None` for any other task.
fn break_glass_grant(task: &Value) -> Option<BreakGlass> {
    let coded = task.pointer("/code/coding")?.as_array()?.iter().any(|c| {
        c.get("system").and_then(Value::as_str) == Some(ACCESS_TASKS)
            && c.get("code").and_then(Value::as_str) == Some("break-glass")
    });
    if !coded || task.get("status").and_then(Value::as_str) == Some("cancelled") {
        return None;
    }
    Some(BreakGlass {
        practitioner: task.pointer("/requester/reference")?.as_str()?.to_string(),
        organization: task.pointer("/owner/reference")?.as_str()?.to_string(),
        opened: policy::time_of(task.get("authoredOn")?.as_str()?)?,
    })
}
