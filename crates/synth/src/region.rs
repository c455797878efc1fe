//! The region, household by household: each person's registrations, care and consent as
//! the lines of the files each hospital delivers, plus the ground truth beside them.
//! Rendering is pure: the caller decides where the lines go.

use crate::build::{Resource, coding, reference};
use crate::care::{self, Care};
use crate::clinical::{self, DOCTORS_PER_DEPARTMENT, Ids};
use crate::config::Config;
use crate::consent;
use crate::hospitals::{self, Format, HOSPITALS, Hospital, Local};
use crate::household::{self, Person, Plan};
use crate::j;
use crate::people;
use crate::registration::{self, Registration};
use crate::rng::Rng;
use serde_json::json;
use terminology::systems;

const SALT_CARE: u64 = 3;
const SALT_STAFF: u64 = 4;

/// Where a line goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Sink {
    /// A hospital's NDJSON file of one resource type.
    Ndjson(&'static Hospital, &'static str),
    /// A hospital's file of transaction Bundles, one per line.
    Bundles(&'static Hospital),
    /// A hospital's local code table.
    Codes(&'static Hospital),
    /// A hospital's HL7 v2 messages, one per line (segments split by CR).
    Messages(&'static Hospital),
    /// A hospital's WS/T 500 documents, one per line.
    Documents(&'static Hospital),
    /// Ground truth: one line per person.
    Persons,
    /// Ground truth: one line per registration.
    Registrations,
}

impl Sink {
    /// The file's path relative to the output directory.
    pub fn path(&self) -> String {
        match self {
            Sink::Ndjson(h, t) => format!("{}/{t}.ndjson", h.id),
            Sink::Bundles(h) => format!("{}/bundles.ndjson", h.id),
            Sink::Codes(h) => format!("{}/local-codes.ndjson", h.id),
            Sink::Messages(h) => format!("{}/messages.hl7", h.id),
            Sink::Documents(h) => format!("{}/documents.xml", h.id),
            Sink::Persons => "truth/persons.ndjson".into(),
            Sink::Registrations => "truth/registrations.ndjson".into(),
        }
    }
}

impl PartialEq for Hospital {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl Eq for Hospital {}

impl std::hash::Hash for Hospital {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.id.hash(state)
    }
}

/// Rendered lines, in order, and how many FHIR resources they hold.
#[derive(Default)]
pub struct Output {
    pub lines: Vec<(Sink, Vec<u8>)>,
    pub resources: u64,
}

impl Output {
    fn resources(
        &mut self,
        config: &Config,
        hospital: &'static Hospital,
        resources: Vec<Resource>,
    ) {
        self.resources += resources.len() as u64;
        match config.format.unwrap_or(hospital.format) {
            format @ (Format::Hl7 | Format::Cda) => {
                let texts: Vec<(&'static str, &str)> = resources
                    .iter()
                    .map(|r| (r.kind, r.json.0.as_str()))
                    .collect();
                let (reports, rest, patient) = crate::feeds::split_lab(&texts);
                for i in rest {
                    let r = &resources[i];
                    let mut line = r.json.0.clone().into_bytes();
                    line.push(b'\n');
                    self.lines.push((Sink::Ndjson(hospital, r.kind), line));
                }
                let Some(patient) = patient else { return };
                for r in &reports {
                    let (sink, mut text) = match format {
                        Format::Hl7 => (
                            Sink::Messages(hospital),
                            crate::feeds::oru(hospital, &patient, r),
                        ),
                        _ => (
                            Sink::Documents(hospital),
                            crate::feeds::c0007(hospital, &patient, r),
                        ),
                    };
                    text.push('\n');
                    self.lines.push((sink, text.into_bytes()));
                }
            }
            Format::Ndjson => {
                for r in resources {
                    let mut line = r.json.0.into_bytes();
                    line.push(b'\n');
                    self.lines.push((Sink::Ndjson(hospital, r.kind), line));
                }
            }
            Format::Bundle => {
                let size: usize = resources.iter().map(|r| r.json.0.len() + 80).sum();
                let mut out = String::with_capacity(size + 64);
                out.push_str(r#"{"resourceType":"Bundle","type":"transaction","entry":["#);
                for (i, r) in resources.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(r#"{"resource":"#);
                    out.push_str(&r.json.0);
                    out.push_str(r#","request":{"method":"PUT","url":"#);
                    crate::json::escape(&format!("{}/{}", r.kind, r.id), &mut out);
                    out.push_str("}}");
                }
                out.push_str("]}\n");
                self.lines.push((Sink::Bundles(hospital), out.into_bytes()));
            }
        }
    }
}

/// The households of a region in order: (household number, first person number, members
/// to take). The last household is cut so that the region has exactly `patients` people.
pub fn households(config: &Config) -> impl Iterator<Item = (u64, u64, Plan, usize)> + '_ {
    let mut h = 0;
    let mut next = 1;
    std::iter::from_fn(move || {
        if next > config.patients {
            return None;
        }
        h += 1;
        let plan = household::plan(config, h);
        let take = plan
            .members
            .len()
            .min((config.patients - next + 1) as usize);
        let first = next;
        next += take as u64;
        Some((h, first, plan, take))
    })
}

/// Everything of household `h`.
pub fn household(config: &Config, h: u64, plan: &Plan, first: u64, take: usize) -> Output {
    let members = household::people(config, h, plan, first, take);
    let mut out = Output::default();
    for person in &members {
        person_output(config, &members, person, &mut out);
    }
    out
}

fn person_output(config: &Config, household: &[Person], person: &Person, out: &mut Output) {
    let mut rng = Rng::derive(config.seed, SALT_CARE, person.number);
    let Care {
        visits,
        allergy,
        planted,
    } = care::care(config, &mut rng, person);
    let mut ids = Ids {
        seed: config.seed,
        person: person.number,
        next: 0,
    };

    // Registrations: one per hospital visited, registered at the first visit; sometimes a
    // second one at a later visit (the clerk did not find the first).
    let mut regs: Vec<(Registration, Resource, Vec<Resource>)> = Vec::new();
    let mut by_visit = Vec::with_capacity(visits.len());
    let mut split: Vec<(&str, usize)> = Vec::new();
    for (i, v) in visits.iter().enumerate() {
        let h = v.hospital;
        let count = visits.iter().filter(|o| o.hospital.id == h.id).count();
        if !split.iter().any(|(id, _)| *id == h.id) {
            let at = if count >= 2 && rng.chance(config.rates.same_hospital_duplicate) {
                let later: Vec<usize> = visits
                    .iter()
                    .enumerate()
                    .filter(|(j, o)| *j > i && o.hospital.id == h.id)
                    .map(|(j, _)| j)
                    .collect();
                later[rng.below(later.len())]
            } else {
                usize::MAX
            };
            split.push((h.id, at));
        }
        let at = split
            .iter()
            .find(|(id, _)| *id == h.id)
            .map_or(usize::MAX, |(_, at)| *at);
        let k = u64::from(i >= at);
        let index = match regs
            .iter()
            .position(|(r, _, _)| r.hospital.id == h.id && r.k == k)
        {
            Some(index) => index,
            None => {
                let (reg, patient) =
                    registration::register(config, &mut rng, household, person, h, k, v.day);
                regs.push((reg, patient, Vec::new()));
                regs.len() - 1
            }
        };
        by_visit.push(index);
    }
    for (v, &index) in visits.iter().zip(&by_visit) {
        let patient = regs[index].0.patient_id.clone();
        clinical::visit(
            &mut rng,
            &mut ids,
            config.today,
            &patient,
            v,
            &mut regs[index].2,
        );
    }
    if let Some(a) = &allergy {
        for (h, day) in &a.recorded {
            if let Some(index) = regs.iter().position(|(r, _, _)| r.hospital.id == h.id) {
                let patient = regs[index].0.patient_id.clone();
                let r = clinical::allergy(&mut rng, &mut ids, &patient, a, h, *day);
                regs[index].2.push(r);
            }
        }
    }
    let sensitive = visits.iter().find_map(|v| v.diagnosis.sensitivity);
    let choice = match (visits.first(), regs.first()) {
        (Some(v), Some((reg, _, _))) => {
            let guardian = person
                .guardian
                .and_then(|g| household.get(g))
                .filter(|g| g.number != person.number);
            let patient = reg.patient_id.clone();
            let hospital = reg.hospital;
            let (choice, resource) = consent::consent(
                config, &mut rng, &mut ids, guardian, sensitive, hospital, &patient, v.day,
            );
            if let Some(r) = resource {
                regs[0].2.push(r);
            }
            Some(choice)
        }
        _ => None,
    };

    let key = person.key();
    for (reg, patient, resources) in regs {
        out.lines.push((
            Sink::Registrations,
            line(&json!({
                "person": key,
                "hospital": reg.hospital.id,
                "patient": reg.patient_id,
                "mrn": reg.mrn,
                "noise": reg.noise,
            })),
        ));
        let mut all = Vec::with_capacity(resources.len() + 1);
        all.push(patient);
        all.extend(resources);
        out.resources(config, reg.hospital, all);
    }
    let member = |i: Option<usize>| i.and_then(|i| household.get(i)).map(|p| p.key());
    out.lines.push((
        Sink::Persons,
        line(&json!({
            "person": key,
            "household": format!("H{:08}", person.household),
            "name": person.name.full(),
            "pinyin": person.name.pinyin(),
            "sex": person.sex.fhir(),
            "birthDate": person.birth.to_string(),
            "residentId": person.resident_id,
            "insurance": person.insurance,
            "phone": person.phone,
            "ownPhone": person.own_phone,
            "address": format!("{}{}{}", person.home.city, person.home.district, person.address),
            "guardian": member(person.guardian).filter(|g| *g != key),
            "twin": member(person.twin),
            "newborn": person.newborn,
            "visits": visits.len(),
            "allergy": allergy.as_ref().map(|a| a.allergen.atc),
            "sensitive": sensitive.map(|s| format!("{s:?}")),
            "consent": choice.map(|c| json!({
                "decision": c.decision,
                "excludedHospital": c.excluded_hospital,
                "sharedSensitive": c.shared_sensitive.map(|s| format!("{s:?}")),
                "paper": c.paper,
                "guardian": c.guardian,
                "withdrawn": c.withdrawn,
            })),
            "planted": planted,
        })),
    ));
}

/// What every hospital sends first: itself, its doctors and their roles; and its local code
/// table.
pub fn header(config: &Config) -> Output {
    let mut out = Output::default();
    for h in HOSPITALS {
        let mut resources = vec![organization(h)];
        for &sp in h.departments {
            let (code, zh, _) = hospitals::department(sp);
            for k in 0..DOCTORS_PER_DEPARTMENT {
                let id = clinical::practitioner_id(h, sp, k);
                let mut rng = Rng::derive(config.seed, SALT_STAFF, people_key(h, code, k));
                let sex = if rng.chance(0.5) {
                    people::Sex::Male
                } else {
                    people::Sex::Female
                };
                let born = 1960 + rng.below(35) as i32;
                let name = people::name(&mut rng, sex, born);
                let title = ["住院医师", "主治医师", "副主任医师", "主任医师"][rng.below(4)];
                let licence = format!(
                    "1101{:011}",
                    crate::build::mix(rng.next_u64()) % 100_000_000_000
                );
                resources.push(Resource::new("Practitioner", &id, j!({
                    "resourceType": "Practitioner",
                    "id": id,
                    "identifier": [{"system": systems::PRACTITIONER_LICENCE, "value": licence}],
                    "active": true,
                    "name": [{"use": "official", "text": name.full(), "family": name.family, "given": [name.given]}],
                    "gender": sex.fhir(),
                    "qualification": [{"code": {"text": title}}]
                })));
                let role = format!("{id}-role");
                resources.push(Resource::new("PractitionerRole", &role, j!({
                    "resourceType": "PractitionerRole",
                    "id": role,
                    "active": true,
                    "practitioner": reference("Practitioner", &id),
                    "organization": reference("Organization", h.id),
                    "code": [{"coding": [coding("http://terminology.hl7.org/CodeSystem/practitioner-role", "doctor", "Doctor")]}],
                    "specialty": [{"coding": [coding(systems::DEPARTMENT, code, zh)], "text": zh}]
                })));
            }
        }
        out.resources(config, h, resources);
        for line in local_codes(h) {
            out.lines.push((Sink::Codes(h), line));
        }
    }
    out
}

fn people_key(h: &Hospital, department: &str, k: usize) -> u64 {
    let dept: u64 = department.bytes().fold(0, |a, b| a * 31 + b as u64);
    (h.number() as u64) << 40 | dept << 8 | k as u64
}

fn organization(h: &Hospital) -> Resource {
    let credit = format!(
        "1211000040{:06}{}",
        100_000 + h.number() * 7_919 % 900_000,
        ["X", "1", "7"][h.number() % 3]
    );
    Resource::new(
        "Organization",
        h.id,
        j!({
            "resourceType": "Organization",
            "id": h.id,
            "identifier": [{"system": systems::SOCIAL_CREDIT_CODE, "value": credit}],
            "active": true,
            "type": [{"coding": [coding("http://terminology.hl7.org/CodeSystem/organization-type", "prov", "Healthcare Provider")]}],
            "name": h.zh,
            "alias": [h.en],
            "address": [{"city": "北京市", "state": "北京市", "country": "CN"}]
        }),
    )
}

/// The hospital's local codes and the shared codes they stand for, one JSON line each.
fn local_codes(h: &'static Hospital) -> Vec<Vec<u8>> {
    let mut lines = Vec::new();
    let mut push = |kind: Local, index: usize, display: &str, system: &str, code: &str| {
        lines.push(line(&json!({
            "system": h.local_system(kind),
            "code": h.local_code(kind, index),
            "display": display,
            "target": {"system": system, "code": code},
        })));
    };
    for (i, d) in terminology::DRUGS.iter().enumerate() {
        push(Local::Drug, i, d.zh, systems::DRUG, d.code);
    }
    for (i, p) in terminology::LAB_PANELS.iter().enumerate() {
        push(Local::Lab, i, p.zh, systems::LOINC, p.loinc);
    }
    for (i, item) in terminology::LAB_ITEMS.iter().enumerate() {
        push(Local::Lab, 1000 + i, item.zh, systems::LOINC, item.loinc);
    }
    for (i, e) in terminology::EXAMS.iter().enumerate() {
        push(Local::Exam, i, e.zh, systems::LOINC, e.code);
    }
    lines
}

fn line(v: &serde_json::Value) -> Vec<u8> {
    let mut bytes = serde_json::to_vec(v).expect("a JSON value serializes");
    bytes.push(b'\n');
    bytes
}

/// One registration of the region, with the truth about it.
#[derive(Clone, Debug)]
pub struct Registered {
    /// The hospital's Patient resource.
    pub patient: serde_json::Value,
    /// The person it belongs to (the truth's key).
    pub person: String,
    pub hospital: &'static str,
    pub mrn: String,
    /// The registration errors made in it.
    pub noise: Vec<String>,
}

/// Every registration of the region, household by household, with the truth beside it: the
/// labelled data the patient index is tested and measured on.
pub fn registrations(config: &Config) -> impl Iterator<Item = Registered> + '_ {
    households(config).flat_map(move |(h, first, plan, take)| {
        household_registrations(config, h, &plan, first, take)
    })
}

/// The registrations of one household (see [`households`]), with their truth.
pub fn household_registrations(
    config: &Config,
    h: u64,
    plan: &Plan,
    first: u64,
    take: usize,
) -> Vec<Registered> {
    let mut ndjson = config.clone();
    ndjson.format = Some(Format::Ndjson);
    let out = household(&ndjson, h, plan, first, take);
    let mut patients: Vec<serde_json::Value> = Vec::new();
    let mut truth: Vec<serde_json::Value> = Vec::new();
    for (sink, line) in out.lines {
        match sink {
            Sink::Ndjson(_, "Patient") => patients.extend(serde_json::from_slice(&line).ok()),
            Sink::Registrations => truth.extend(serde_json::from_slice(&line).ok()),
            _ => {}
        }
    }
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
    patients
        .into_iter()
        .filter_map(|patient| {
            let t = truth.iter().find(|t| t["patient"] == patient["id"])?;
            Some(Registered {
                person: text(&t["person"]),
                hospital: crate::hospitals::hospital(t["hospital"].as_str()?)?.id,
                mrn: text(&t["mrn"]),
                noise: t["noise"].as_array()?.iter().map(text).collect(),
                patient,
            })
        })
        .collect()
}
