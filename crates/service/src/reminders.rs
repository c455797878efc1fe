//! CDS Hooks 2.0: the reminders as a service any hospital system calls. A hook reads the
//! patient's shared record under the caller's own authorization (so consent decides and the
//! read is audited), adds what the caller prefetched, and answers cards (`cds`). Each fired
//! call's fired reminders are an audit record naming each card's uuid and rule; feedback
//! (accepted, or overridden with a reason) is a record naming the card, and the statistics
//! are read from them. Both ride the audit log's group commit.

use crate::{Caller, Error, Service};
use audit::{Action, Outcome};
use cds::{Card, History, Order, Rule};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, OnceLock};

/// How a fired card is named in the audit log: `card:{uuid}|{rule}|{saving}`.
const CARD: &str = "card:";

/// The knowledge Yilian ships, parsed once.
pub fn builtin_knowledge() -> Arc<cds::Knowledge> {
    static K: OnceLock<Arc<cds::Knowledge>> = OnceLock::new();
    K.get_or_init(|| Arc::new(cds::Knowledge::builtin()))
        .clone()
}

/// The services, as `GET /cds-services` lists them.
const SERVICES: &[(&str, &str, &str, &str)] = &[
    (
        "yilian-patient-view",
        "patient-view",
        "医联：跨院过敏史与就诊摘要",
        "Allergies recorded at every hospital and a short cross-hospital summary",
    ),
    (
        "yilian-order-select",
        "order-select",
        "医联：药物过敏、重复用药、重复检查提醒",
        "Drug allergy, repeated medication and repeated test reminders as orders are chosen",
    ),
    (
        "yilian-order-sign",
        "order-sign",
        "医联：签署前的药物过敏、重复用药、重复检查提醒",
        "The same reminders when the orders are signed",
    ),
];

/// `GET /cds-services`.
pub fn discovery() -> Value {
    json!({"services": SERVICES.iter().map(|(id, hook, title, description)| {
        let mut s = json!({
            "id": id, "hook": hook, "title": title, "description": description,
            "prefetch": {
                "patient": "Patient/{{context.patientId}}",
                "allergies": "AllergyIntolerance?patient={{context.patientId}}",
                "medications": "MedicationRequest?patient={{context.patientId}}&status=active",
            },
        });
        if *hook != "patient-view" {
            s["usageRequirements"] = json!("Send draftOrders (MedicationRequest, ServiceRequest) with drug codes from https://yilian.health/fhir/CodeSystem/drug or ATC, and test codes in LOINC.");
        }
        s
    }).collect::<Vec<_>>()})
}

/// Resources in a prefetch value: a Bundle's entries, or one resource.
fn resources_in(v: &Value) -> Vec<Value> {
    match v.get("resourceType").and_then(Value::as_str) {
        Some("Bundle") => v
            .get("entry")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|e| e.get("resource").cloned())
            .collect(),
        Some(_) => vec![v.clone()],
        None => Vec::new(),
    }
}

fn bad(m: &str) -> Error {
    Error::BadOperation(m.to_string())
}

/// Per rule: fired, accepted, overridden (with reasons), and what accepting saved.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RuleStats {
    pub fired: u64,
    pub accepted: u64,
    pub overridden: u64,
    pub reasons: BTreeMap<String, u64>,
    pub saved: f64,
}

/// What the patient-view hook reads.
const PATIENT_VIEW: &[&str] = &[
    "AllergyIntolerance",
    "MedicationRequest",
    "MedicationDispense",
    "Encounter",
    "Condition",
];

impl Service {
    /// `POST /cds-services/{id}`: the cards for one hook call.
    pub fn cds_call(
        &self,
        caller: &Caller,
        service_id: &str,
        body: &[u8],
        now: i64,
    ) -> Result<Value, Error> {
        let hook = SERVICES
            .iter()
            .find(|(id, ..)| *id == service_id)
            .map(|(_, hook, ..)| *hook)
            .ok_or_else(|| Error::NotFound {
                resource_type: "cds-service".into(),
                id: service_id.into(),
            })?;
        if caller.clinician().is_none() {
            return Err(Error::Forbidden(
                "reminders are for clinicians acting for a hospital".to_string(),
            ));
        }
        let request = fhir::json::parse_object(body)?;
        if request.get("hook").and_then(Value::as_str) != Some(hook) {
            return Err(bad(&format!("this service answers the {hook} hook")));
        }
        let instance = request
            .get("hookInstance")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("hookInstance is required"))?;
        let context = request
            .get("context")
            .ok_or_else(|| bad("context is required"))?;
        let patient = context
            .get("patientId")
            .and_then(Value::as_str)
            .filter(|p| fhir::is_valid_id(p))
            .ok_or_else(|| bad("context.patientId is required"))?;
        // The record from every hospital, as the caller's authorization allows.
        let mut items: Vec<(Value, Option<String>)> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        let mut notes: Vec<Card> = Vec::new();
        match self.shared_record(caller, patient, now) {
            Ok(record) => {
                // Only what the hook reads is parsed: a record of hundreds of items is
                // mostly results and visits the order hooks do not need.
                let wanted = if hook == "patient-view" {
                    PATIENT_VIEW
                } else {
                    &[
                        "AllergyIntolerance",
                        "MedicationRequest",
                        "MedicationDispense",
                        "DiagnosticReport",
                        "Observation",
                    ]
                };
                items = self.named_items(&record.items, wanted);
                seen.extend(items.iter().map(|(v, _)| {
                    format!(
                        "{}/{}",
                        v["resourceType"].as_str().unwrap_or_default(),
                        v["id"].as_str().unwrap_or_default()
                    )
                }));
            }
            Err(Error::Forbidden(why)) => notes.push(Card {
                rule: Rule::Summary,
                indicator: cds::Indicator::Info,
                summary: cds::rules::clip(
                    &format!("未能读取跨院记录，仅依据本院数据提醒：{why}"),
                    140,
                ),
                detail: format!(
                    "The shared record was not read: {why}. Only the prefetched data was checked."
                ),
                order: None,
                evidence: vec![],
                override_reasons: &[],
                saves: None,
            }),
            Err(e) => return Err(e),
        }
        // What the caller prefetched (its own hospital's data) counts too.
        if let Some(prefetch) = request.get("prefetch").and_then(Value::as_object) {
            for v in prefetch.values().flat_map(resources_in) {
                let key = format!(
                    "{}/{}",
                    v.get("resourceType")
                        .and_then(Value::as_str)
                        .unwrap_or_default(),
                    v.get("id").and_then(Value::as_str).unwrap_or_default()
                );
                if seen.insert(key) {
                    items.push((v, Some("本院 this hospital".to_string())));
                }
            }
        }
        let k = &self.config.knowledge;
        let history = History::read(k, &items);
        let mut cards = notes;
        if hook == "patient-view" {
            cards.extend(cds::patient_cards(k, &history, now));
        } else {
            let selected: Option<Vec<&str>> = context
                .get("selections")
                .and_then(Value::as_array)
                .map(|s| s.iter().filter_map(Value::as_str).collect());
            let orders: Vec<Order> = context
                .get("draftOrders")
                .map(resources_in)
                .unwrap_or_default()
                .into_iter()
                .filter_map(|r| {
                    let reference = format!(
                        "{}/{}",
                        r.get("resourceType")?.as_str()?,
                        r.get("id")?.as_str()?
                    );
                    let chosen = selected
                        .as_ref()
                        .is_none_or(|s| s.contains(&reference.as_str()));
                    chosen.then_some(Order {
                        reference,
                        resource: r,
                    })
                })
                .collect();
            cards.extend(cds::order_cards(
                k,
                &self.config.cds,
                &history,
                &orders,
                now,
            ));
        }
        let uuids: Vec<String> = cards
            .iter()
            .map(|_| uuid::Uuid::new_v4().to_string())
            .collect();
        self.keep_fired(caller, patient, instance, &cards, &uuids)?;
        Ok(
            json!({"cards": cards.iter().zip(&uuids).map(|(c, u)| cds::card_json(c, u, &k.versions)).collect::<Vec<_>>()}),
        )
    }

    /// The patient-view reminders for a shared record already read and parsed (each item
    /// with its hospital's name; the pages show the cards as banners): the same cards the
    /// hook gives, without reading the record twice.
    pub fn view_cards(&self, items: &[(Value, Option<String>)], now: i64) -> Vec<Value> {
        let k = &self.config.knowledge;
        let history = History::read(k, items);
        cds::patient_cards(k, &history, now)
            .iter()
            .map(|c| cds::card_json(c, &uuid::Uuid::new_v4().to_string(), &k.versions))
            .collect()
    }

    /// The items of the `wanted` types, parsed, each with its hospital's name.
    fn named_items(
        &self,
        items: &[crate::SharedItem],
        wanted: &[&str],
    ) -> Vec<(Value, Option<String>)> {
        let mut names: BTreeMap<String, Option<String>> = BTreeMap::new();
        items
            .iter()
            .filter(|item| wanted.contains(&item.stored.resource_type.as_str()))
            .filter_map(|item| {
                let v = serde_json::from_slice::<Value>(&item.stored.body).ok()?;
                let hospital = item.source.as_ref().map(|org| {
                    names
                        .entry(org.clone())
                        .or_insert_with(|| self.organization_name(org))
                        .clone()
                        .unwrap_or_else(|| org.clone())
                });
                Some((v, hospital))
            })
            .collect()
    }

    fn organization_name(&self, reference: &str) -> Option<String> {
        let id = reference.strip_prefix("Organization/")?;
        let stored = self.store.read("Organization", id).ok()??;
        let v: Value = serde_json::from_slice(&stored.body).ok()?;
        v.get("name")?.as_str().map(str::to_string)
    }

    /// Each fired reminder (not the summaries) in the audit log, with the patient's read:
    /// one record per call through the group commit, so keeping them costs the hook no
    /// write transaction of its own.
    fn keep_fired(
        &self,
        caller: &Caller,
        patient: &str,
        instance: &str,
        cards: &[Card],
        uuids: &[String],
    ) -> Result<(), Error> {
        let fired: Vec<String> = cards
            .iter()
            .zip(uuids)
            .filter(|(c, _)| {
                !matches!(
                    c.rule,
                    Rule::Summary | Rule::AllergyUnverified | Rule::UnknownOrder
                )
            })
            .map(|(c, uuid)| {
                format!(
                    "{CARD}{uuid}|{}|{:.2}",
                    c.rule.code(),
                    c.saves.unwrap_or(0.0)
                )
            })
            .collect();
        if fired.is_empty() {
            return Ok(());
        }
        let mut r = caller.record(Action::Reminder, Outcome::Success);
        r.patient = Some(format!("Patient/{patient}"));
        r.count = Some(fired.len() as u64);
        r.entities = fired;
        r.detail = Some(instance.chars().take(100).collect());
        self.recorder.record(vec![r.into()])?;
        Ok(())
    }

    /// `POST /cds-services/{id}/feedback`: accepted, or overridden with a reason, each an
    /// audit record naming its card.
    pub fn cds_feedback(&self, caller: &Caller, body: &[u8]) -> Result<usize, Error> {
        if caller.clinician().is_none() {
            return Err(Error::Forbidden(
                "feedback comes from the clinician who saw the card".to_string(),
            ));
        }
        let v = fhir::json::parse_object(body)?;
        let list = v
            .get("feedback")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("feedback is a list"))?;
        let mut records = Vec::with_capacity(list.len());
        for f in list {
            let card = f
                .get("card")
                .and_then(Value::as_str)
                .filter(|c| uuid::Uuid::parse_str(c).is_ok())
                .ok_or_else(|| bad("each feedback names its card by uuid"))?;
            let outcome = match f.get("outcome").and_then(Value::as_str) {
                Some("accepted") => "accepted".to_string(),
                Some("overridden") => {
                    let reason = f
                        .pointer("/overrideReason/reason/code")
                        .and_then(Value::as_str)
                        .unwrap_or("unspecified");
                    format!("overridden:{}", reason.chars().take(64).collect::<String>())
                }
                _ => return Err(bad("outcome is accepted or overridden")),
            };
            let mut r = caller.record(Action::ReminderFeedback, Outcome::Success);
            r.entities = vec![format!("{CARD}{card}")];
            r.detail = Some(outcome);
            records.push(r.into());
        }
        let n = records.len();
        self.recorder.record(records)?;
        Ok(n)
    }

    /// Per rule, over reminders fired in `[from, to)` (milliseconds since the epoch, as the
    /// audit log's other views take them): how often each fired, was
    /// accepted or overridden (and why), and what the accepted ones saved.
    pub fn cds_stats(
        &self,
        caller: &Caller,
        from: i64,
        to: i64,
    ) -> Result<BTreeMap<String, RuleStats>, Error> {
        match caller {
            Caller::System => {}
            Caller::User(p)
                if matches!(p.caller.role, policy::Role::Auditor | policy::Role::Admin) => {}
            _ => {
                return Err(Error::Forbidden(
                    "reminder statistics are for auditors and administrators".to_string(),
                ));
            }
        }
        // Cards fired in the period, then feedback given since.
        let mut fired: HashMap<String, (String, f64)> = HashMap::new();
        let mut outcomes: HashMap<String, String> = HashMap::new();
        let mut after = None;
        loop {
            let page = self.store.audit_records(&store::AuditQuery {
                actions: vec![Action::Reminder, Action::ReminderFeedback],
                from: Some(from),
                after,
                oldest_first: true,
                count: 10_000,
                ..store::AuditQuery::default()
            })?;
            let Some((last, _)) = page.last() else { break };
            after = Some(last + 1);
            let full = page.len() == 10_000;
            for (_, r) in page {
                for e in &r.entities {
                    let Some(card) = e.strip_prefix(CARD) else {
                        continue;
                    };
                    if r.action == Action::Reminder && r.at < to {
                        let mut parts = card.split('|');
                        let (uuid, rule, saves) = (parts.next(), parts.next(), parts.next());
                        if let (Some(uuid), Some(rule)) = (uuid, rule) {
                            let saves = saves.and_then(|s| s.parse().ok()).unwrap_or(0.0);
                            fired.insert(uuid.to_string(), (rule.to_string(), saves));
                        }
                    } else if r.action == Action::ReminderFeedback {
                        outcomes.insert(card.to_string(), r.detail.clone().unwrap_or_default());
                    }
                }
            }
            if !full {
                break;
            }
        }
        let mut out: BTreeMap<String, RuleStats> = BTreeMap::new();
        for (uuid, (rule, saves)) in fired {
            let e = out.entry(rule).or_default();
            e.fired += 1;
            match outcomes.get(&uuid).map(String::as_str) {
                Some("accepted") => {
                    e.accepted += 1;
                    e.saved += saves;
                }
                Some(o) => {
                    if let Some(reason) = o.strip_prefix("overridden:") {
                        e.overridden += 1;
                        *e.reasons.entry(reason.to_string()).or_default() += 1;
                    }
                }
                None => {}
            }
        }
        Ok(out)
    }
}
