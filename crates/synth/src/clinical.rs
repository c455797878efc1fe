//! A visit as the FHIR resources the hospital records: the Encounter, its diagnosis, the
//! prescriptions, lab reports with their results, exam reports with imaging studies,
//! surgery, the discharge summary of an admission, and recorded allergies. Codes are the
//! hospital's local codes beside the shared standard codes.

use crate::build::{self, Resource, coding, concept, datetime, reference};
use crate::care::{Allergy, Class, Visit};
use crate::date::Date;
use crate::hospitals::{self, Hospital, Local};
use crate::j;
use crate::json::{Json, decimal};
use crate::rng::Rng;
use terminology::{DRUGS, EXAMS, LAB_ITEMS, LAB_PANELS, Sensitivity, systems};

/// Doctors per department of each hospital.
pub const DOCTORS_PER_DEPARTMENT: usize = 3;

/// Where ids come from: the region's seed and the person, and a counter of their resources.
pub struct Ids {
    pub seed: u64,
    pub person: u64,
    pub next: u64,
}

impl Ids {
    pub fn next(&mut self, hospital: &Hospital) -> String {
        self.next += 1;
        build::opaque_id(hospital.id, self.seed, self.person, self.next)
    }
}

/// The Practitioner id of doctor `k` of a department.
pub fn practitioner_id(
    hospital: &Hospital,
    speciality: terminology::Speciality,
    k: usize,
) -> String {
    let (code, _, _) = hospitals::department(speciality);
    format!("{}-dr-{}-{k}", hospital.id, code.replace('.', ""))
}

/// The resources of one visit, for the patient registered as `patient`.
pub fn visit(
    rng: &mut Rng,
    ids: &mut Ids,
    today: Date,
    patient: &str,
    v: &Visit,
    out: &mut Vec<Resource>,
) {
    let h = v.hospital;
    let subject = reference("Patient", patient);
    let doctor_id = practitioner_id(h, v.speciality, rng.below(DOCTORS_PER_DEPARTMENT));
    let doctor = reference("Practitioner", &doctor_id);
    let organization = reference("Organization", h.id);
    let (dept_code, dept_zh, _) = hospitals::department(v.speciality);
    let start_minute = match v.class {
        Class::Emergency => rng.below(24 * 60) as u32,
        _ => 8 * 60 + rng.below(9 * 60) as u32,
    };
    let end = match v.class {
        Class::Inpatient => datetime(v.day.add_days(v.stay), 9 * 60 + rng.below(120) as u32),
        _ => datetime(v.day, start_minute + 10 + rng.below(40) as u32),
    };
    let start = datetime(v.day, start_minute);
    let label = security(v.diagnosis.sensitivity);
    let visit_meta = meta(&label, false);
    let encounter_id = ids.next(h);
    let condition_id = ids.next(h);
    let encounter = reference("Encounter", &encounter_id);
    let condition = reference("Condition", &condition_id);

    let (class_code, class_display) = v.class.code();
    let inpatient = v.class == Class::Inpatient;
    out.push(Resource::new(
        "Encounter",
        &encounter_id,
        j!({
            "resourceType": "Encounter",
            "id": encounter_id,
            "meta"?: visit_meta.as_ref(),
            "status": "finished",
            "class": coding(systems::V3_ACT_CODE, class_code, class_display),
            "serviceType": concept(&[coding(systems::DEPARTMENT, dept_code, dept_zh)], dept_zh),
            "subject": subject,
            "participant": [{"individual": doctor}],
            "period": {"start": start, "end": end},
            "diagnosis": [{"condition": condition, "rank": 1}],
            "hospitalization"?: inpatient.then(|| j!({"dischargeDisposition": {"coding": [coding(
                "http://terminology.hl7.org/CodeSystem/discharge-disposition", "home", "Home")]}})),
            "serviceProvider": {"reference": format!("Organization/{}", h.id), "display": h.zh}
        }),
    ));

    let d = v.diagnosis;
    let resolved = !d.chronic && v.day.add_days(30) < today;
    out.push(Resource::new("Condition", &condition_id, j!({
        "resourceType": "Condition",
        "id": condition_id,
        "meta"?: visit_meta.as_ref(),
        "clinicalStatus": {"coding": [coding("http://terminology.hl7.org/CodeSystem/condition-clinical",
            if resolved { "resolved" } else { "active" }, if resolved { "Resolved" } else { "Active" })]},
        "verificationStatus": {"coding": [coding("http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed", "Confirmed")]},
        "category": [{"coding": [coding("http://terminology.hl7.org/CodeSystem/condition-category", "encounter-diagnosis", "Encounter Diagnosis")]}],
        "code": concept(&[coding(systems::ICD10, d.icd10, d.zh)], d.zh),
        "subject": subject,
        "encounter": encounter,
        "recordedDate": v.day.to_string(),
        "recorder": doctor
    })));

    for drug in &v.drugs {
        let index = DRUGS.iter().position(|x| x.code == drug.code).unwrap_or(0);
        let (dose, unit) = drug.dose;
        let active = v.day.add_days(drug.days as i32) >= today;
        let id = ids.next(h);
        out.push(Resource::new("MedicationRequest", &id, j!({
            "resourceType": "MedicationRequest",
            "id": id,
            "meta"?: visit_meta.as_ref(),
            "status": if active { "active" } else { "completed" },
            "intent": "order",
            "medicationCodeableConcept": concept(&[
                coding(&h.local_system(Local::Drug), &h.local_code(Local::Drug, index), drug.zh),
                coding(systems::DRUG, drug.code, drug.zh),
                coding(systems::ATC, drug.atc, drug.ingredient_zh),
            ], drug.zh),
            "subject": subject,
            "encounter": encounter,
            "authoredOn": datetime(v.day, start_minute + 5),
            "requester": doctor,
            "reasonReference": [condition],
            "dosageInstruction": [{
                "text": format!("{} {dose}{unit} 每日{}次 {}", drug.route.1, drug.times_per_day, drug.form_zh),
                "timing": {"repeat": {"frequency": drug.times_per_day, "period": 1, "periodUnit": "d"}},
                "route": {"coding": [coding(systems::SNOMED, drug.route.0, drug.route.1)]},
                "doseAndRate": [{"doseQuantity": {"value": Json(dose.to_string()), "unit": unit, "system": systems::UCUM, "code": unit}}]
            }],
            "dispenseRequest": {
                "quantity": {"value": drug.times_per_day as u32 * drug.days as u32, "unit": drug.form_zh},
                "expectedSupplyDuration": {"value": drug.days, "unit": "d", "system": systems::UCUM, "code": "d"}
            }
        })));
    }

    for panel in &v.panels {
        let index = LAB_PANELS
            .iter()
            .position(|x| x.loinc == panel.loinc)
            .unwrap_or(0);
        let hr = h.mutual_recognition && panel.recognition_days > 0;
        let lab_meta = meta(&label, hr);
        let effective = datetime(v.day, start_minute + 20);
        let issued = datetime(v.day, start_minute + 150);
        let report_id = ids.next(h);
        let mut results = Vec::with_capacity(panel.items.len());
        for item in panel.items {
            let Some(item) = terminology::lab_item(item) else {
                continue;
            };
            let item_index = LAB_ITEMS
                .iter()
                .position(|x| x.loinc == item.loinc)
                .unwrap_or(0);
            // Most results are normal; the rest fall anywhere in the plausible range.
            let value = if rng.chance(0.8) {
                item.low + (item.high - item.low) * rng.unit()
            } else {
                item.min + (item.max - item.min) * rng.unit()
            };
            let flag = if value < item.low {
                ("L", "Low")
            } else if value > item.high {
                ("H", "High")
            } else {
                ("N", "Normal")
            };
            let id = ids.next(h);
            let quantity = |x: f64| j!({"value": decimal(x, item.decimals), "unit": item.unit, "system": systems::UCUM, "code": item.unit});
            out.push(Resource::new("Observation", &id, j!({
                "resourceType": "Observation",
                "id": id,
                "meta"?: lab_meta.as_ref(),
                "status": "final",
                "category": [{"coding": [coding("http://terminology.hl7.org/CodeSystem/observation-category", "laboratory", "Laboratory")]}],
                "code": concept(&[
                    coding(&h.local_system(Local::Lab), &h.local_code(Local::Lab, 1000 + item_index), item.zh),
                    coding(systems::LOINC, item.loinc, item.en),
                ], item.zh),
                "subject": subject,
                "encounter": encounter,
                "effectiveDateTime": effective,
                "issued": issued,
                "performer": [organization],
                "valueQuantity": quantity(value),
                "interpretation": [{"coding": [coding(systems::V3_OBSERVATION_INTERPRETATION, flag.0, flag.1)]}],
                "referenceRange": [{"low": quantity(item.low), "high": quantity(item.high)}]
            })));
            results.push(reference("Observation", &id));
        }
        out.push(Resource::new("DiagnosticReport", &report_id, j!({
            "resourceType": "DiagnosticReport",
            "id": report_id,
            "meta"?: lab_meta.as_ref(),
            "status": "final",
            "category": [{"coding": [coding("http://terminology.hl7.org/CodeSystem/v2-0074", "LAB", "Laboratory")]}],
            "code": concept(&[
                coding(&h.local_system(Local::Lab), &h.local_code(Local::Lab, index), panel.zh),
                coding(systems::LOINC, panel.loinc, panel.en),
            ], panel.zh),
            "subject": subject,
            "encounter": encounter,
            "effectiveDateTime": effective,
            "issued": issued,
            "performer": [organization],
            "result": results
        })));
    }

    if let Some(exam) = v.exam {
        let index = EXAMS.iter().position(|x| x.code == exam.code).unwrap_or(0);
        let abnormal = rng.chance(0.35);
        let report_id = ids.next(h);
        let when = datetime(v.day, start_minute + 60);
        let imaging = exam.modality != "ECG";
        let exam_meta = meta(&label, h.mutual_recognition && exam.recognition_days > 0);
        let mut study = None;
        if imaging {
            let study_id = ids.next(h);
            let (a, b) = (rng.next_u64(), rng.next_u64());
            let series = 1 + rng.below(3);
            let mut series_list = Vec::with_capacity(series);
            let mut instances = 0;
            let modality = coding(systems::DICOM_DCM, exam.modality, exam.modality);
            for s in 0..series {
                let n = match exam.modality {
                    "CT" | "MR" | "PT" => 40 + rng.below(200),
                    "US" => 4 + rng.below(20),
                    _ => 1 + rng.below(3),
                };
                instances += n;
                series_list.push(j!({
                    "uid": build::dicom_uid(a ^ (s as u64 + 1), b),
                    "number": s + 1,
                    "modality": modality,
                    "numberOfInstances": n,
                    "bodySite": {"system": systems::SNOMED, "code": exam.body_site.0, "display": exam.body_site.1}
                }));
            }
            out.push(Resource::new("ImagingStudy", &study_id, j!({
                "resourceType": "ImagingStudy",
                "id": study_id,
                "meta"?: label.as_ref().map(|l| j!({"security": [l]})),
                "identifier": [{"system": "urn:dicom:uid", "value": format!("urn:oid:{}", build::dicom_uid(a, b))}],
                "status": "available",
                "modality": [modality],
                "subject": subject,
                "encounter": encounter,
                "started": when,
                "numberOfSeries": series,
                "numberOfInstances": instances,
                "procedureCode": [concept(&[coding(systems::LOINC, exam.code, exam.en)], exam.zh)],
                "description": exam.zh,
                "series": series_list
            })));
            study = Some(j!([reference("ImagingStudy", &study_id)]));
        }
        let category = if imaging {
            coding(
                "http://terminology.hl7.org/CodeSystem/v2-0074",
                "RAD",
                "Radiology",
            )
        } else {
            coding(
                "http://terminology.hl7.org/CodeSystem/v2-0074",
                "EC",
                "Electrocardiac (e.g., EKG, EEC, Holter)",
            )
        };
        out.push(Resource::new("DiagnosticReport", &report_id, j!({
            "resourceType": "DiagnosticReport",
            "id": report_id,
            "meta"?: exam_meta.as_ref(),
            "status": "final",
            "category": [{"coding": [category]}],
            "code": concept(&[
                coding(&h.local_system(Local::Exam), &h.local_code(Local::Exam, index), exam.zh),
                coding(systems::LOINC, exam.code, exam.en),
            ], exam.zh),
            "subject": subject,
            "encounter": encounter,
            "effectiveDateTime": when,
            "issued": datetime(v.day, start_minute + 180),
            "performer": [organization],
            "imagingStudy"?: study,
            "conclusion": if abnormal { exam.abnormal } else { exam.normal }
        })));
    }

    if let Some(p) = v.procedure {
        let id = ids.next(h);
        let day = v.day.add_days(i32::from(v.stay > 1));
        out.push(Resource::new("Procedure", &id, j!({
            "resourceType": "Procedure",
            "id": id,
            "meta"?: visit_meta.as_ref(),
            "status": "completed",
            "category": {"coding": [coding(systems::SNOMED, "387713003", "Surgical procedure")]},
            "code": concept(&[coding(systems::ICD9CM, p.icd9cm3, p.zh)], p.zh),
            "subject": subject,
            "encounter": encounter,
            "performedPeriod": {"start": datetime(day, 9 * 60), "end": datetime(day, 11 * 60)},
            "performer": [{"actor": doctor}],
            "reasonReference": [condition]
        })));
    }

    if inpatient {
        let discharge = v.day.add_days(v.stay);
        let text = format!(
            "出院小结\n入院日期：{}\n出院日期：{}\n科室：{}\n入院诊断：{}（{}）\n{}出院情况：好转。\n出院医嘱：门诊随诊，不适随诊。",
            v.day,
            discharge,
            dept_zh,
            d.zh,
            d.icd10,
            v.procedure
                .map(|p| format!("手术：{}（{}）\n", p.zh, p.icd9cm3))
                .unwrap_or_default()
        );
        let id = ids.next(h);
        out.push(Resource::new("DocumentReference", &id, j!({
            "resourceType": "DocumentReference",
            "id": id,
            "meta"?: visit_meta.as_ref(),
            "status": "current",
            "type": {"coding": [coding(systems::LOINC, "18842-5", "Discharge summary")], "text": "出院小结"},
            "category": [{"coding": [coding("http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category", "clinical-note", "Clinical Note")]}],
            "subject": subject,
            "date": datetime(discharge, 10 * 60),
            "author": [doctor],
            "custodian": organization,
            "content": [{"attachment": {
                "contentType": "text/plain; charset=utf-8",
                "language": "zh-CN",
                "data": build::base64(text.as_bytes()),
                "title": "出院小结"
            }}],
            "context": {
                "encounter": [encounter],
                "period": {"start": v.day.to_string(), "end": discharge.to_string()}
            }
        })));
    }
}

/// The allergy as `hospital` recorded it on `day`: coded, or only as the free text a doctor
/// typed (a third of the records).
pub fn allergy(
    rng: &mut Rng,
    ids: &mut Ids,
    patient: &str,
    a: &Allergy,
    hospital: &Hospital,
    day: Date,
) -> Resource {
    let allergen = a.allergen;
    let text = *rng.pick(allergen.free_text);
    let code = if rng.chance(0.67) {
        j!({"coding": [coding(systems::ATC, allergen.atc, allergen.zh)], "text": text})
    } else {
        j!({"text": text})
    };
    let reaction = *rng.pick(allergen.reactions);
    let id = ids.next(hospital);
    Resource::new(
        "AllergyIntolerance",
        &id,
        j!({
            "resourceType": "AllergyIntolerance",
            "id": id,
            "clinicalStatus": {"coding": [coding("http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "active", "Active")]},
            "verificationStatus": {"coding": [coding("http://terminology.hl7.org/CodeSystem/allergyintolerance-verification", "confirmed", "Confirmed")]},
            "type": "allergy",
            "category": ["medication"],
            "criticality": if reaction.0 == "39579001" { "high" } else { "low" },
            "code": code,
            "patient": reference("Patient", patient),
            "recordedDate": datetime(day, 9 * 60),
            "reaction": [{"manifestation": [{"coding": [coding(systems::SNOMED, reaction.0, reaction.1)], "text": reaction.1}]}]
        }),
    )
}

/// The security label of a sensitive category (HL7 v3 ActCode information sensitivity).
pub fn security(s: Option<Sensitivity>) -> Option<Json> {
    let (code, display) = match s? {
        Sensitivity::MentalHealth => ("PSY", "psychiatry disorder information sensitivity"),
        Sensitivity::HivSti => ("HIV", "HIV/AIDS information sensitivity"),
        Sensitivity::Reproductive => (
            "SEX",
            "sexuality and reproductive health information sensitivity",
        ),
        Sensitivity::Genetic => ("GDIS", "genetic disease information sensitivity"),
    };
    Some(coding(systems::V3_ACT_CODE, code, display))
}

/// `meta` with a sensitivity label and the mutual-recognition tag, when there is either.
fn meta(label: &Option<Json>, hr: bool) -> Option<Json> {
    let tag = hr.then(|| j!([coding(systems::MUTUAL_RECOGNITION, "HR", "互认")]));
    match (label, tag) {
        (None, None) => None,
        (label, tag) => Some(j!({"security"?: label.as_ref().map(|l| j!([l])), "tag"?: tag})),
    }
}
