//! v2 messages to FHIR R4: a transaction Bundle the service runs as one transaction, so a
//! message lands whole or not at all. Every resource is written by a conditional update on
//! its business identifier (the hospital's record number, visit number, filler order
//! number), so a message sent again changes nothing. What cannot be read is a `Problem`
//! naming segment and field, for the AE acknowledgement.

use crate::ack::{ErrorCode, Problem};
use crate::message::{Message, Segment};
use serde_json::{Value, json};
use terminology::systems;

/// The message types mapped, as (type, trigger).
pub const SUPPORTED: &[(&str, &str)] = &[
    ("ADT", "A01"),
    ("ADT", "A02"),
    ("ADT", "A03"),
    ("ADT", "A04"),
    ("ADT", "A08"),
    ("ADT", "A11"),
    ("ADT", "A13"),
    ("ADT", "A28"),
    ("ADT", "A31"),
    ("ADT", "A40"),
    ("ORU", "R01"),
    ("ORM", "O01"),
    ("OML", "O21"),
    ("RDE", "O11"),
    ("RDS", "O13"),
    ("MDM", "T02"),
];

/// The `urn:uuid:` an entry of the Bundle is referenced by (a fixed, valid UUID per slot).
fn urn(n: usize) -> String {
    format!("urn:uuid:00000000-0000-4000-8000-{n:012x}")
}

const PATIENT: usize = 1;
const ENCOUNTER: usize = 2;
const RESULT: usize = 0x1000;
const DETAIL: usize = 0x2000;

fn problem(segment: &str, field: usize, code: ErrorCode, message: String) -> Problem {
    Problem {
        segment: segment.to_string(),
        sequence: 1,
        field: Some(field),
        code,
        message,
    }
}

/// A v2 timestamp (`YYYYMMDD[HHMM[SS[.S]]][+ZZZZ]`) as a FHIR date or dateTime. Without a
/// zone, the hospital's time is Beijing time.
pub fn timestamp(ts: &str) -> Option<String> {
    let digits: String = ts.chars().take_while(|c| c.is_ascii_digit()).collect();
    let zone = ts
        .find(['+', '-'])
        .map(|i| &ts[i..])
        .filter(|z| z.len() == 5)
        .map(|z| format!("{}:{}", &z[..3], &z[3..]))
        .unwrap_or_else(|| "+08:00".to_string());
    let part = |a: usize, b: usize| digits.get(a..b);
    let (y, m, d) = (part(0, 4)?, part(4, 6)?, part(6, 8)?);
    let (mo, da): (u32, u32) = (m.parse().ok()?, d.parse().ok()?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&da) {
        return None;
    }
    match (part(8, 10), part(10, 12)) {
        (Some(h), Some(mi)) => {
            let s = part(12, 14).unwrap_or("00");
            let (hh, mm, ss): (u32, u32, u32) =
                (h.parse().ok()?, mi.parse().ok()?, s.parse().ok()?);
            (hh < 24 && mm < 60 && ss < 60).then(|| format!("{y}-{m}-{d}T{h}:{mi}:{s}{zone}"))
        }
        _ => Some(format!("{y}-{m}-{d}")),
    }
}

fn patient(m: &Message, hospital: &str, problems: &mut Vec<Problem>) -> Option<(Value, String)> {
    let d = &m.delimiters;
    let Some(pid) = m.segment("PID") else {
        problems.push(Problem {
            segment: "PID".into(),
            sequence: 1,
            field: None,
            code: ErrorCode::SegmentSequence,
            message: "the message has no PID segment".into(),
        });
        return None;
    };
    let mrn_system = format!("{}{hospital}", systems::MRN_PREFIX);
    let mut identifiers = Vec::new();
    let mut mrn = None;
    for r in 0..pid.repetitions(d, 3).len() {
        let value = pid.component(d, 3, r, 1);
        if value.is_empty() {
            continue;
        }
        let kind = pid.component(d, 3, r, 5);
        let national = kind == "NI"
            || (kind.is_empty()
                && value.len() == 18
                && value[..17].bytes().all(|b| b.is_ascii_digit()));
        if national {
            identifiers.push(json!({"use": "official", "type": {"coding": [{"system": systems::V2_0203, "code": "NI"}]}, "system": systems::RESIDENT_ID, "value": value}));
        } else if kind == "MR" || kind.is_empty() {
            if mrn.is_none() {
                mrn = Some(value.clone());
            }
            identifiers.push(json!({"use": "usual", "type": {"coding": [{"system": systems::V2_0203, "code": "MR"}]}, "system": mrn_system, "value": value,
                "assigner": {"reference": format!("Organization/{hospital}")}}));
        } else {
            identifiers.push(json!({"type": {"coding": [{"system": systems::V2_0203, "code": kind}]}, "system": format!("{}{hospital}/{}", systems::LOCAL_PREFIX, kind.to_lowercase()), "value": value}));
        }
    }
    let Some(mrn) = mrn else {
        problems.push(problem(
            "PID",
            3,
            ErrorCode::RequiredFieldMissing,
            "PID-3 carries no medical record number (type MR)".into(),
        ));
        return None;
    };
    let mut names = Vec::new();
    for r in 0..pid.repetitions(d, 5).len() {
        let (family, given) = (pid.component(d, 5, r, 1), pid.component(d, 5, r, 2));
        if family.is_empty() && given.is_empty() {
            continue;
        }
        let cjk = family
            .chars()
            .chain(given.chars())
            .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
        let text = if cjk {
            format!("{family}{given}")
        } else {
            format!("{given} {family}").trim().to_string()
        };
        let mut name =
            json!({"use": if names.is_empty() { "official" } else { "usual" }, "text": text});
        if !family.is_empty() {
            name["family"] = json!(family);
        }
        if !given.is_empty() {
            name["given"] = json!([given]);
        }
        names.push(name);
    }
    let mut p = json!({"resourceType": "Patient", "identifier": identifiers, "managingOrganization": {"reference": format!("Organization/{hospital}")}});
    if !names.is_empty() {
        p["name"] = Value::Array(names);
    }
    let birth = pid.component(d, 7, 0, 1);
    if !birth.is_empty() {
        match timestamp(&birth) {
            Some(t) => p["birthDate"] = json!(&t[..10]),
            None => problems.push(problem(
                "PID",
                7,
                ErrorCode::DataTypeError,
                "PID-7 is not a date (YYYYMMDD)".into(),
            )),
        }
    }
    match pid.component(d, 8, 0, 1).as_str() {
        "" => {}
        "M" => p["gender"] = json!("male"),
        "F" => p["gender"] = json!("female"),
        "O" | "A" => p["gender"] = json!("other"),
        "U" | "N" => p["gender"] = json!("unknown"),
        _ => problems.push(problem(
            "PID",
            8,
            ErrorCode::TableValueNotFound,
            "PID-8 is not an administrative sex of table 0001 (M, F, O, U, A, N)".into(),
        )),
    }
    let street = pid.component(d, 11, 0, 1);
    if !street.is_empty() {
        let mut a = json!({"use": "home", "line": [street]});
        for (c, key) in [(3, "city"), (4, "state"), (5, "postalCode"), (6, "country")] {
            let v = pid.component(d, 11, 0, c);
            if !v.is_empty() {
                a[key] = json!(v);
            }
        }
        p["address"] = json!([a]);
    }
    let phone = match pid.component(d, 13, 0, 1) {
        p if p.is_empty() => pid.component(d, 13, 0, 12),
        p => p,
    };
    if !phone.is_empty() {
        p["telecom"] = json!([{"system": "phone", "value": phone}]);
    }
    Some((p, format!("Patient?identifier={mrn_system}|{mrn}")))
}

fn encounter(
    m: &Message,
    hospital: &str,
    trigger: &str,
    problems: &mut Vec<Problem>,
) -> Option<(Value, String)> {
    let d = &m.delimiters;
    let pv1: &Segment = m.segment("PV1")?;
    let visit = pv1.component(d, 19, 0, 1);
    if visit.is_empty() {
        problems.push(problem(
            "PV1",
            19,
            ErrorCode::RequiredFieldMissing,
            "PV1-19 (visit number) names the visit".into(),
        ));
        return None;
    }
    let class = match pv1.component(d, 2, 0, 1).as_str() {
        "I" => ("IMP", "inpatient encounter"),
        "E" => ("EMER", "emergency"),
        "O" | "R" | "" => ("AMB", "ambulatory"),
        _ => {
            problems.push(problem(
                "PV1",
                2,
                ErrorCode::TableValueNotFound,
                "PV1-2 is not a patient class of table 0004 (I, O, E, R)".into(),
            ));
            return None;
        }
    };
    let status = match trigger {
        "A03" => "finished",
        "A11" => "cancelled",
        _ => "in-progress",
    };
    let system = format!("{}{hospital}/visit", systems::LOCAL_PREFIX);
    let mut e = json!({"resourceType": "Encounter", "status": status,
        "identifier": [{"system": system, "value": visit}],
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": class.0, "display": class.1},
        "serviceProvider": {"reference": format!("Organization/{hospital}")}});
    let mut period = json!({});
    for (field, key) in [(44, "start"), (45, "end")] {
        let v = pv1.component(d, field, 0, 1);
        if v.is_empty() {
            continue;
        }
        match timestamp(&v) {
            Some(t) => period[key] = json!(t),
            None => problems.push(problem(
                "PV1",
                field,
                ErrorCode::DataTypeError,
                format!("PV1-{field} is not a timestamp"),
            )),
        }
    }
    if period.as_object().is_some_and(|o| !o.is_empty()) {
        e["period"] = period;
    }
    let ward = pv1.component(d, 3, 0, 1);
    if !ward.is_empty() {
        e["location"] = json!([{"location": {"display": ward}}]);
    }
    Some((e, format!("Encounter?identifier={system}|{visit}")))
}

/// A coded element (CE/CWE: code^text^system) as a CodeableConcept: LN is LOINC, I10 ICD-10,
/// SCT SNOMED CT; anything else is the hospital's local code (`{LOCAL_PREFIX}{hospital}/{kind}`).
pub(crate) fn concept_of(
    seg: &Segment,
    m: &Message,
    field: usize,
    r: usize,
    hospital: &str,
    kind: &str,
) -> Option<Value> {
    let d = &m.delimiters;
    let (code, text, system) = (
        seg.component(d, field, r, 1),
        seg.component(d, field, r, 2),
        seg.component(d, field, r, 3),
    );
    if code.is_empty() {
        return None;
    }
    let system = match system.as_str() {
        "LN" => systems::LOINC.to_string(),
        "I10" | "ICD10" | "I10C" => systems::ICD10.to_string(),
        "SCT" | "SNM" => systems::SNOMED.to_string(),
        _ => format!("{}{hospital}/{kind}", systems::LOCAL_PREFIX),
    };
    let mut c = json!({"coding": [{"system": system, "code": code}]});
    if !text.is_empty() {
        c["coding"][0]["display"] = json!(text);
        c["text"] = json!(text);
    }
    Some(c)
}

fn results(
    m: &Message,
    hospital: &str,
    problems: &mut Vec<Problem>,
) -> Vec<(Value, String, Option<String>)> {
    let d = &m.delimiters;
    let mut out = Vec::new();
    let mut report: Option<(usize, Value, String)> = None;
    let mut obx_n = 0;
    let finish = |report: &mut Option<(usize, Value, String)>,
                  out: &mut Vec<(Value, String, Option<String>)>| {
        if let Some((_, r, cond)) = report.take() {
            out.push((r, cond, Some("report".into())));
        }
    };
    for seg in &m.segments {
        match seg.id.as_str() {
            "OBR" => {
                finish(&mut report, &mut out);
                let filler = match seg.component(d, 3, 0, 1) {
                    f if f.is_empty() => seg.component(d, 2, 0, 1),
                    f => f,
                };
                if filler.is_empty() {
                    problems.push(problem(
                        "OBR",
                        3,
                        ErrorCode::RequiredFieldMissing,
                        "OBR-3 (filler order number) or OBR-2 names the report".into(),
                    ));
                    continue;
                }
                let Some(code) = concept_of(seg, m, 4, 0, hospital, "lab") else {
                    problems.push(problem(
                        "OBR",
                        4,
                        ErrorCode::RequiredFieldMissing,
                        "OBR-4 (universal service id) is required".into(),
                    ));
                    continue;
                };
                let system = format!("{}{hospital}/report", systems::LOCAL_PREFIX);
                let mut r = json!({"resourceType": "DiagnosticReport",
                    "identifier": [{"system": system, "value": filler}],
                    "status": match seg.component(d, 25, 0, 1).as_str() { "P" | "I" | "S" => "preliminary", "C" => "corrected", "X" => "cancelled", _ => "final" },
                    "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "LAB"}]}],
                    "code": code, "performer": [{"reference": format!("Organization/{hospital}")}], "result": []});
                let when = seg.component(d, 7, 0, 1);
                if let Some(t) = timestamp(&when) {
                    r["effectiveDateTime"] = json!(t);
                } else if !when.is_empty() {
                    problems.push(problem(
                        "OBR",
                        7,
                        ErrorCode::DataTypeError,
                        "OBR-7 is not a timestamp".into(),
                    ));
                }
                obx_n = 0;
                report = Some((
                    0,
                    r,
                    format!("DiagnosticReport?identifier={system}|{filler}"),
                ));
            }
            "OBX" => {
                obx_n += 1;
                let Some((_, r, _)) = report.as_mut() else {
                    problems.push(Problem {
                        segment: "OBX".into(),
                        sequence: obx_n,
                        field: None,
                        code: ErrorCode::SegmentSequence,
                        message: "an OBX comes before any OBR".into(),
                    });
                    continue;
                };
                let Some(code) = concept_of(seg, m, 3, 0, hospital, "lab") else {
                    problems.push(Problem {
                        segment: "OBX".into(),
                        sequence: obx_n,
                        field: Some(3),
                        code: ErrorCode::RequiredFieldMissing,
                        message: "OBX-3 (observation id) is required".into(),
                    });
                    continue;
                };
                let filler = r["identifier"][0]["value"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                let system = format!("{}{hospital}/result", systems::LOCAL_PREFIX);
                let id_value = format!(
                    "{filler}-{}",
                    seg.component(d, 1, 0, 1)
                        .trim()
                        .parse::<u32>()
                        .unwrap_or(obx_n as u32)
                );
                let mut o = json!({"resourceType": "Observation",
                    "identifier": [{"system": system, "value": id_value}],
                    "status": match seg.component(d, 11, 0, 1).as_str() { "P" | "R" | "I" => "preliminary", "C" => "corrected", "X" | "D" => "cancelled", _ => "final" },
                    "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]}],
                    "code": code});
                let value = seg.component(d, 5, 0, 1);
                match seg.component(d, 2, 0, 1).as_str() {
                    "NM" | "SN" if !value.is_empty() => match value.trim().parse::<f64>() {
                        Ok(_) => {
                            let number: Value =
                                serde_json::from_str(value.trim()).unwrap_or(Value::Null);
                            let unit = seg.component(d, 6, 0, 1);
                            let mut q = json!({"value": number});
                            if !unit.is_empty() {
                                q["unit"] = json!(unit);
                                q["system"] = json!(systems::UCUM);
                                q["code"] = json!(unit);
                            }
                            o["valueQuantity"] = q;
                        }
                        Err(_) => problems.push(Problem {
                            segment: "OBX".into(),
                            sequence: obx_n,
                            field: Some(5),
                            code: ErrorCode::DataTypeError,
                            message: "OBX-5 is not a number, as OBX-2 (NM) says".into(),
                        }),
                    },
                    "CE" | "CWE" => {
                        if let Some(c) = concept_of(seg, m, 5, 0, hospital, "result") {
                            o["valueCodeableConcept"] = c;
                        }
                    }
                    _ if !value.is_empty() => o["valueString"] = json!(value),
                    _ => {}
                }
                let range = seg.component(d, 7, 0, 1);
                if let Some((lo, hi)) = range.split_once('-') {
                    let (lo, hi) = (lo.trim().parse::<f64>(), hi.trim().parse::<f64>());
                    if let (Ok(lo), Ok(hi)) = (lo, hi) {
                        o["referenceRange"] =
                            json!([{"low": {"value": lo}, "high": {"value": hi}}]);
                    }
                }
                let flag = seg.component(d, 8, 0, 1);
                if ["H", "L", "N", "A", "HH", "LL"].contains(&flag.as_str()) {
                    o["interpretation"] = json!([{"coding": [{"system": systems::V3_OBSERVATION_INTERPRETATION, "code": flag}]}]);
                }
                if let Some(t) = timestamp(&seg.component(d, 14, 0, 1)).or_else(|| {
                    r.get("effectiveDateTime")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                }) {
                    o["effectiveDateTime"] = json!(t);
                }
                let n = out.len();
                out.push((
                    o,
                    format!("Observation?identifier={system}|{id_value}"),
                    None,
                ));
                r["result"]
                    .as_array_mut()
                    .expect("an array")
                    .push(json!({"reference": urn(RESULT + n)}));
            }
            _ => {}
        }
    }
    finish(&mut report, &mut out);
    out
}

/// The transaction Bundle for message `m` from the hospital `hospital` (its registered id),
/// or the problems to acknowledge with AE. Unsupported types are AR (`UnsupportedMessageType`).
pub fn to_bundle(m: &Message, hospital: &str) -> Result<Value, Vec<Problem>> {
    let (kind, trigger) = m.kind();
    if !SUPPORTED.contains(&(kind.as_str(), trigger.as_str())) {
        return Err(vec![Problem {
            segment: "MSH".into(),
            sequence: 1,
            field: Some(9),
            code: if SUPPORTED.iter().any(|(k, _)| *k == kind) {
                ErrorCode::UnsupportedEventCode
            } else {
                ErrorCode::UnsupportedMessageType
            },
            message: format!("{kind}^{trigger} is not taken here"),
        }]);
    }
    let mut problems = Vec::new();
    let patient = patient(m, hospital, &mut problems);
    let mut entries = Vec::new();
    if let Some((p, cond)) = &patient {
        // ADT owns a registration's demographics. Other messages identify the patient:
        // registered from PID if the hospital's number is unknown, never overwritten.
        let request = if kind == "ADT" {
            json!({"method": "PUT", "url": cond})
        } else {
            json!({"method": "POST", "url": "Patient", "ifNoneExist": cond})
        };
        entries.push(json!({"fullUrl": urn(PATIENT), "resource": p, "request": request}));
    }
    // Visit events carry their visit; A08, A28 and A31 update the person only.
    if kind == "ADT"
        && ["A01", "A02", "A03", "A04", "A11", "A13"].contains(&trigger.as_str())
        && let Some((mut e, cond)) = encounter(m, hospital, &trigger, &mut problems)
    {
        e["subject"] = json!({"reference": urn(PATIENT)});
        entries.push(json!({"fullUrl": urn(ENCOUNTER), "resource": e, "request": {"method": "PUT", "url": cond}}));
    }
    if kind == "ORU" {
        for (i, (mut r, cond, _)) in results(m, hospital, &mut problems).into_iter().enumerate() {
            r["subject"] = json!({"reference": urn(PATIENT)});
            let full = urn(RESULT + i);
            entries.push(
                json!({"fullUrl": full, "resource": r, "request": {"method": "PUT", "url": cond}}),
            );
        }
    }
    let details: Vec<(Value, String)> = match kind.as_str() {
        "ORM" | "OML" => crate::orders::service_requests(m, hospital, &mut problems),
        "RDE" => crate::orders::prescriptions(m, hospital, &mut problems),
        "RDS" => crate::orders::dispenses(m, hospital, &mut problems),
        "MDM" => crate::orders::document(m, hospital, &mut problems)
            .into_iter()
            .collect(),
        _ => Vec::new(),
    };
    for (i, (mut r, cond)) in details.into_iter().enumerate() {
        r["subject"] = json!({"reference": urn(PATIENT)});
        entries.push(json!({"fullUrl": urn(DETAIL + i), "resource": r, "request": {"method": "PUT", "url": cond}}));
    }
    if kind == "ADT" && trigger == "A40" && merged_away(m, hospital).is_none() {
        problems.push(problem(
            "MRG",
            1,
            ErrorCode::RequiredFieldMissing,
            "MRG-1 names the record number merged away".into(),
        ));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(json!({"resourceType": "Bundle", "type": "transaction", "entry": entries}))
}

/// The fullUrl the surviving Patient has in every mapped Bundle.
pub fn patient_url() -> String {
    urn(PATIENT)
}

/// For ADT^A40, the condition finding the registration merged away (MRG-1, the prior
/// record number), which the caller retires in the same transaction.
pub fn merged_away(m: &Message, hospital: &str) -> Option<String> {
    let mrg = m.segment("MRG")?;
    let d = &m.delimiters;
    (0..mrg.repetitions(d, 1).len().max(1))
        .map(|r| (mrg.component(d, 1, r, 1), mrg.component(d, 1, r, 5)))
        .find(|(v, kind)| !v.is_empty() && (kind.is_empty() || kind == "MR"))
        .map(|(v, _)| format!("Patient?identifier={}{hospital}|{v}", systems::MRN_PREFIX))
}
