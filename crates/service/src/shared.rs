//! The shared record: a person's records from every hospital, as far as the policy allows.
//!
//! `GET /shared/Patient/{id}` names one registration; the patient index gives the person
//! and all their registrations; the facts the decision needs (consents, restrictions,
//! visits at the caller's hospital, break-glass grants) are read from the same records;
//! `policy::decide` says permit or deny and what a permit covers; every item is then shown
//! or counted as withheld with its reason, never revealed.
//!
//! Break-glass (`POST /shared/Patient/{id}/$break-glass`) records a grant as a FHIR `Task`
//! awaiting review: the doctor, the hospital, the stated reason, and when it lapses.

use crate::{Caller, Error, Service, Stored};
use policy::{BreakGlass, Categories, Facts, Item, Withheld};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use store::{Entry, WriteOp};

/// The code system of Yilian's access tasks.
pub const ACCESS_TASKS: &str = "https://yilian.health/fhir/CodeSystem/access-task";

/// Resources read per page while gathering a record.
const PAGE: usize = 1000;

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
    /// Newest first.
    pub items: Vec<SharedItem>,
    /// How many items were left out, and why.
    pub withheld: Vec<(Withheld, usize)>,
}

impl Service {
    /// The shared record of the person registered as `Patient/{patient_id}`, for `caller`
    /// at `now` (seconds since the epoch).
    pub fn shared_record(
        &self,
        caller: &Caller,
        patient_id: &str,
        now: i64,
    ) -> Result<SharedRecord, Error> {
        let Caller::User(principal) = caller else {
            return Err(Error::Forbidden(
                "the shared record is read by a signed-in person, for a purpose".to_string(),
            ));
        };
        let (person, registrations) = self.linked(patient_id)?;
        let gathered = self.gather(&person, &registrations)?;
        let decision = policy::decide(&self.config.region, &principal.caller, &gathered.facts, now);
        let (Some(basis), Some(scope)) = (decision.basis, decision.scope) else {
            let reason = decision.reason.expect("a deny carries its reason");
            return Err(Error::Forbidden(reason.message().to_string()));
        };
        let mut items = Vec::new();
        let mut withheld: BTreeMap<Withheld, usize> = BTreeMap::new();
        for g in gathered.items {
            let item = Item {
                reference: &g.reference,
                categories: g.categories,
                source: g.source.as_deref(),
                date: g.date,
            };
            match scope.admits(&item) {
                Ok(()) => items.push((g.date, g.stored, g.source)),
                Err(why) => *withheld.entry(why).or_default() += 1,
            }
        }
        items.sort_by_key(|i| std::cmp::Reverse(i.0));
        Ok(SharedRecord {
            person,
            registrations,
            basis,
            review: decision.review,
            items: items
                .into_iter()
                .map(|(_, stored, source)| SharedItem { stored, source })
                .collect(),
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
        self.linked(patient_id)?;
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
        let out = self.transact(vec![Entry {
            full_url: None,
            op: WriteOp::Create {
                resource: task,
                if_none_exist: None,
            },
        }])?;
        out.into_iter()
            .next()
            .and_then(|o| o.stored().cloned())
            .ok_or_else(|| Error::Internal("the break-glass task was not stored".into()))
    }

    /// Everything of the person's registrations, with the facts about them.
    fn gather(&self, person: &str, registrations: &[String]) -> Result<Gathered, Error> {
        let mut facts = Facts {
            person: person.to_string(),
            ..Facts::default()
        };
        let mut items = Vec::new();
        for registration in registrations {
            let pid = registration.trim_start_matches("Patient/");
            let mut source = None;
            let mut page: Option<String> = None;
            let mut resources = Vec::new();
            loop {
                let p = self.store.everything(pid, PAGE, page.as_deref())?;
                resources.extend(p.matches);
                match p.next {
                    Some(next) => page = Some(next),
                    None => break,
                }
            }
            // The registration first: it names the hospital the rest came from.
            for stored in &resources {
                if stored.resource_type == "Patient" && stored.id == pid {
                    let v = body(stored)?;
                    source = v
                        .pointer("/managingOrganization/reference")
                        .and_then(Value::as_str)
                        .map(str::to_string);
                    if let Some(org) = &source {
                        facts
                            .seen_at
                            .push((org.clone(), stored.last_updated / 1000));
                    }
                    if facts.birth.is_none() {
                        facts.birth = v
                            .get("birthDate")
                            .and_then(Value::as_str)
                            .and_then(policy::time_of);
                    }
                }
            }
            for stored in resources {
                if stored.deleted {
                    continue;
                }
                match stored.resource_type.as_str() {
                    "Consent" => {
                        let v = body(&stored)?;
                        facts.hidden.extend(policy::hidden_items(&v));
                        // A Consent that cannot be read states nothing; it never widens access.
                        if let Ok(Some(fact)) = policy::consent_fact(&v) {
                            facts.consents.push(fact);
                        }
                    }
                    "Task" => {
                        let v = body(&stored)?;
                        if let Some(grant) = break_glass_grant(&v) {
                            facts.break_glass.push(grant);
                        }
                    }
                    t if policy::SHARED_TYPES.contains(&t) => {
                        let v = body(&stored)?;
                        if t == "Encounter"
                            && let (Some(org), Some(start)) = (
                                v.pointer("/serviceProvider/reference")
                                    .and_then(Value::as_str),
                                policy::date_of(&v),
                            )
                        {
                            facts.seen_at.push((org.to_string(), start));
                        }
                        items.push(GatheredItem {
                            reference: format!("{t}/{}", stored.id),
                            categories: policy::category_of(&v),
                            date: policy::date_of(&v),
                            source: source.clone(),
                            stored,
                        });
                    }
                    _ => {}
                }
            }
        }
        Ok(Gathered { facts, items })
    }
}

struct Gathered {
    facts: Facts,
    items: Vec<GatheredItem>,
}

struct GatheredItem {
    reference: String,
    categories: Categories,
    date: Option<i64>,
    source: Option<String>,
    stored: Stored,
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
