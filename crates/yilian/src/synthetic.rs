//! A small deterministic generator of clinical records (a Synthea-like mix: a patient with
//! visits, diagnoses, lab results, prescriptions, an allergy and a procedure) for the demo and
//! the benchmark. The synthetic-region issue replaces it with the full thirty-hospital region.
//! Same seed, same resources; nothing here is a real person.

use serde_json::{Value, json};

const FAMILIES: &[(&str, &str)] = &[
    ("王", "Wang"),
    ("李", "Li"),
    ("张", "Zhang"),
    ("刘", "Liu"),
    ("陈", "Chen"),
    ("杨", "Yang"),
    ("赵", "Zhao"),
    ("黄", "Huang"),
    ("周", "Zhou"),
    ("吴", "Wu"),
];
const GIVENS: &[(&str, &str)] = &[
    ("伟", "Wei"),
    ("芳", "Fang"),
    ("娜", "Na"),
    ("敏", "Min"),
    ("静", "Jing"),
    ("丽", "Li"),
    ("强", "Qiang"),
    ("磊", "Lei"),
    ("军", "Jun"),
    ("洋", "Yang"),
];
const HOSPITALS: &[(&str, &str)] = &[
    (
        "h-pku3",
        "北京大学第三医院 Peking University Third Hospital",
    ),
    ("h-anzhen", "北京安贞医院 Beijing Anzhen Hospital"),
    ("h-tiantan", "北京天坛医院 Beijing Tiantan Hospital"),
];
/// LOINC lab items with a plausible value range and unit.
const LABS: &[(&str, &str, f64, f64, &str)] = &[
    ("2345-7", "Glucose", 3.9, 11.0, "mmol/L"),
    ("718-7", "Hemoglobin", 110.0, 170.0, "g/L"),
    ("2093-3", "Cholesterol", 3.0, 7.5, "mmol/L"),
    ("2160-0", "Creatinine", 45.0, 130.0, "umol/L"),
    ("6690-2", "Leukocytes", 3.5, 12.0, "10*9/L"),
    ("8480-6", "Systolic blood pressure", 95.0, 180.0, "mm[Hg]"),
];
const DIAGNOSES: &[(&str, &str)] = &[
    ("I10", "原发性高血压 Essential hypertension"),
    ("E11.9", "2型糖尿病 Type 2 diabetes"),
    ("J45.9", "哮喘 Asthma"),
    ("K29.7", "胃炎 Gastritis"),
    ("I25.1", "冠心病 Coronary heart disease"),
];
const DRUGS: &[(&str, &str)] = &[
    ("C09AA02", "依那普利 Enalapril"),
    ("A10BA02", "二甲双胍 Metformin"),
    ("C10AA05", "阿托伐他汀 Atorvastatin"),
    ("J01CA04", "阿莫西林 Amoxicillin"),
];

/// A splitmix64 stream: tiny, fast, and stable across platforms and versions.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn uuid(&mut self) -> String {
        let (a, b) = (self.next(), self.next());
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            0x8000 | (b >> 48) & 0x3fff,
            b & 0xffff_ffff_ffff
        )
    }
}

/// The organizations every record refers to.
pub fn organizations() -> Vec<Value> {
    HOSPITALS
        .iter()
        .map(|(id, name)| {
            json!({
                "resourceType": "Organization", "id": id, "active": true, "name": name,
                "identifier": [{"system": "urn:oid:2.16.156.10011.1.5", "value": id.to_uppercase()}],
                "type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/organization-type", "code": "prov"}]}]
            })
        })
        .collect()
}

/// The records of patient number `n` (Patient first), deterministic in `seed` and `n`.
pub fn patient_record(seed: u64, n: u64) -> Vec<Value> {
    let mut rng = Rng::new(seed ^ n.wrapping_mul(0x2545_F491_4F6C_DD1D));
    let pid = rng.uuid();
    let (fam, fam_py) = *rng.pick(FAMILIES);
    let (giv, giv_py) = *rng.pick(GIVENS);
    let year = 1940 + rng.below(80);
    let birth = format!("{year}-{:02}-{:02}", 1 + rng.below(12), 1 + rng.below(28));
    let female = rng.below(2) == 0;
    let mut out = vec![json!({
        "resourceType": "Patient", "id": pid,
        "identifier": [
            {"system": "urn:oid:2.16.156.10011.1.1", "value": format!("110105{}{:08}", year, n % 100_000_000)},
            {"system": "urn:yilian:mrn:h-pku3", "value": format!("MRN{n:09}")}
        ],
        "name": [
            {"use": "official", "text": format!("{fam}{giv}"), "family": fam, "given": [giv]},
            {"use": "usual", "family": fam_py, "given": [giv_py]}
        ],
        "telecom": [{"system": "phone", "value": format!("13{:09}", rng.below(1_000_000_000)), "use": "mobile"}],
        "gender": if female { "female" } else { "male" },
        "birthDate": birth,
        "address": [{"city": "北京市", "district": "朝阳区", "country": "CN"}]
    })];
    let patient_ref = json!({"reference": format!("Patient/{pid}")});
    let visits = 1 + rng.below(4);
    for v in 0..visits {
        let (org, _) = *rng.pick(HOSPITALS);
        let day = format!("2026-{:02}-{:02}", 1 + rng.below(10), 1 + rng.below(28));
        let eid = rng.uuid();
        out.push(json!({
            "resourceType": "Encounter", "id": eid, "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB", "display": "ambulatory"},
            "subject": patient_ref,
            "serviceProvider": {"reference": format!("Organization/{org}")},
            "period": {"start": format!("{day}T08:{:02}:00+08:00", rng.below(60)), "end": format!("{day}T09:{:02}:00+08:00", rng.below(60))}
        }));
        let enc_ref = json!({"reference": format!("Encounter/{eid}")});
        if v == 0 || rng.below(2) == 0 {
            let (code, display) = *rng.pick(DIAGNOSES);
            out.push(json!({
                "resourceType": "Condition", "id": rng.uuid(),
                "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
                "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "confirmed"}]},
                "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-category", "code": "encounter-diagnosis"}]}],
                "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": code, "display": display}]},
                "subject": patient_ref, "encounter": enc_ref, "recordedDate": day
            }));
        }
        for _ in 0..(3 + rng.below(5)) {
            let (code, display, lo, hi, unit) = *rng.pick(LABS);
            let value = lo + (hi - lo) * (rng.below(1000) as f64 / 1000.0);
            out.push(json!({
                "resourceType": "Observation", "id": rng.uuid(), "status": "final",
                "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]}],
                "code": {"coding": [{"system": "http://loinc.org", "code": code, "display": display}]},
                "subject": patient_ref, "encounter": enc_ref,
                "effectiveDateTime": format!("{day}T10:00:00+08:00"),
                "valueQuantity": {"value": (value * 10.0).round() / 10.0, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit}
            }));
        }
        if rng.below(2) == 0 {
            let (atc, name) = *rng.pick(DRUGS);
            out.push(json!({
                "resourceType": "MedicationRequest", "id": rng.uuid(), "status": "active", "intent": "order",
                "medicationCodeableConcept": {"coding": [{"system": "http://www.whocc.no/atc", "code": atc, "display": name}]},
                "subject": patient_ref, "encounter": enc_ref, "authoredOn": day,
                "dosageInstruction": [{"text": "每日一次 once daily"}],
                "dispenseRequest": {"expectedSupplyDuration": {"value": 30, "unit": "days", "system": "http://unitsofmeasure.org", "code": "d"}}
            }));
        }
    }
    if rng.below(5) == 0 {
        out.push(json!({
            "resourceType": "AllergyIntolerance", "id": rng.uuid(),
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "code": "active"}]},
            "code": {"coding": [{"system": "http://www.whocc.no/atc", "code": "J01CA", "display": "青霉素类 Penicillins"}], "text": "青霉素过敏"},
            "patient": patient_ref
        }));
    }
    out
}
