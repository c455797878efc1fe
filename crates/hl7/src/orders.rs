//! Orders, pharmacy and documents: ORM^O01 and OML^O21 (test and exam orders) to
//! ServiceRequest, RDE^O11 (prescriptions) to MedicationRequest, RDS^O13 (dispenses) to
//! MedicationDispense, MDM^T02 (a document with its content) to DocumentReference. Each is
//! written by a conditional update on the hospital's order or document number, so a resent
//! message changes nothing, and a cancel (ORC-1 CA, DC) updates the same resource.

use crate::ack::{ErrorCode, Problem};
use crate::map::{concept_of, timestamp};
use crate::message::{Message, Segment};
use base64::Engine as _;
use serde_json::{Value, json};
use terminology::systems;

fn problem(segment: &str, sequence: usize, field: usize, code: ErrorCode, m: &str) -> Problem {
    Problem {
        segment: segment.into(),
        sequence,
        field: Some(field),
        code,
        message: m.into(),
    }
}

/// A message whose detail segment is absent altogether (and nothing else was wrong).
fn missing(problems: &mut Vec<Problem>, segment: &str, message: &str) {
    if problems.is_empty() {
        problems.push(Problem {
            segment: segment.into(),
            sequence: 1,
            field: None,
            code: ErrorCode::SegmentSequence,
            message: message.into(),
        });
    }
}

/// The order number: ORC-3 (filler), else ORC-2 (placer), else the detail segment's own.
fn order_number(
    m: &Message,
    orc: Option<&Segment>,
    detail: Option<(&Segment, usize, usize)>,
) -> String {
    let d = &m.delimiters;
    let from_orc = orc
        .map(|o| match o.component(d, 3, 0, 1) {
            f if f.is_empty() => o.component(d, 2, 0, 1),
            f => f,
        })
        .unwrap_or_default();
    if !from_orc.is_empty() {
        return from_orc;
    }
    detail
        .map(|(s, filler, placer)| match s.component(d, filler, 0, 1) {
            f if f.is_empty() => s.component(d, placer, 0, 1),
            f => f,
        })
        .unwrap_or_default()
}

/// ORC-12 (XCN: id^family^given) as a reference by identifier with the name shown.
fn provider(m: &Message, seg: &Segment, field: usize, hospital: &str) -> Option<Value> {
    let d = &m.delimiters;
    let id = seg.component(d, field, 0, 1);
    let name = format!(
        "{}{}",
        seg.component(d, field, 0, 2),
        seg.component(d, field, 0, 3)
    );
    if id.is_empty() && name.is_empty() {
        return None;
    }
    let mut r = json!({});
    if !id.is_empty() {
        r["identifier"] =
            json!({"system": format!("{}{hospital}/staff", systems::LOCAL_PREFIX), "value": id});
    }
    if !name.is_empty() {
        r["display"] = json!(name);
    }
    Some(r)
}

/// ORC-1: what the message does to the order.
fn control_status(code: &str, active: &'static str) -> &'static str {
    match code {
        "CA" | "OC" | "CR" => "revoked",
        "DC" | "OD" | "DR" => "completed",
        "HD" | "OH" => "on-hold",
        _ => active,
    }
}

/// One ServiceRequest per OBR of an ORM^O01 or OML^O21, with its ORC.
pub(crate) fn service_requests(
    m: &Message,
    hospital: &str,
    problems: &mut Vec<Problem>,
) -> Vec<(Value, String)> {
    let d = &m.delimiters;
    let mut out = Vec::new();
    let mut orc: Option<&Segment> = None;
    let mut n = 0;
    for seg in &m.segments {
        match seg.id.as_str() {
            "ORC" => orc = Some(seg),
            "OBR" => {
                n += 1;
                let number = order_number(m, orc, Some((seg, 3, 2)));
                if number.is_empty() {
                    problems.push(problem(
                        "OBR",
                        n,
                        2,
                        ErrorCode::RequiredFieldMissing,
                        "OBR-2 or ORC-2 (placer order number) names the order",
                    ));
                    continue;
                }
                let section = seg.component(d, 24, 0, 1);
                let imaging = ["RAD", "CT", "MR", "US", "NMR", "XRC", "RX", "CUS", "NMS"]
                    .contains(&section.as_str());
                let Some(code) =
                    concept_of(seg, m, 4, 0, hospital, if imaging { "exam" } else { "lab" })
                else {
                    problems.push(problem(
                        "OBR",
                        n,
                        4,
                        ErrorCode::RequiredFieldMissing,
                        "OBR-4 (universal service id) says what is ordered",
                    ));
                    continue;
                };
                let category = if imaging {
                    json!({"coding": [{"system": systems::SNOMED, "code": "363679005", "display": "Imaging"}]})
                } else {
                    json!({"coding": [{"system": systems::SNOMED, "code": "108252007", "display": "Laboratory procedure"}]})
                };
                let system = format!("{}{hospital}/order", systems::LOCAL_PREFIX);
                let control = orc.map(|o| o.component(d, 1, 0, 1)).unwrap_or_default();
                let mut r = json!({"resourceType": "ServiceRequest",
                    "identifier": [{"system": system, "value": number}],
                    "status": control_status(&control, "active"), "intent": "order",
                    "category": [category], "code": code});
                let when = orc
                    .map(|o| o.component(d, 9, 0, 1))
                    .filter(|w| !w.is_empty())
                    .unwrap_or_else(|| seg.component(d, 6, 0, 1));
                if let Some(t) = timestamp(&when) {
                    r["authoredOn"] = json!(t);
                }
                if let Some(p) = orc
                    .and_then(|o| provider(m, o, 12, hospital))
                    .or_else(|| provider(m, seg, 16, hospital))
                {
                    r["requester"] = p;
                }
                if seg.component(d, 5, 0, 1) == "S" {
                    r["priority"] = json!("stat");
                }
                out.push((r, format!("ServiceRequest?identifier={system}|{number}")));
            }
            _ => {}
        }
    }
    if out.is_empty() {
        missing(problems, "OBR", "an order message carries at least one OBR");
    }
    out
}

/// The coded drug of an RXE-2 or RXD-2: a region drug code (system YL or 99YL), ATC, or
/// the hospital's own.
fn drug(seg: &Segment, m: &Message, field: usize, hospital: &str) -> Option<Value> {
    let d = &m.delimiters;
    let mut c = concept_of(seg, m, field, 0, hospital, "drug")?;
    let system = seg.component(d, field, 0, 3);
    let code = seg.component(d, field, 0, 1);
    let standard = match system.as_str() {
        "YL" | "99YL" => Some(systems::DRUG),
        "ATC" | "WC" => Some(systems::ATC),
        _ => None,
    };
    if let Some(s) = standard {
        c["coding"][0]["system"] = json!(s);
        c["coding"][0]["code"] = json!(code);
    }
    Some(c)
}

fn quantity(value: &str, unit: &str) -> Option<Value> {
    let n: Value = serde_json::from_str(value.trim())
        .ok()
        .filter(Value::is_number)?;
    let mut q = json!({"value": n});
    if !unit.is_empty() {
        q["unit"] = json!(unit);
    }
    Some(q)
}

/// RDE^O11: one MedicationRequest per RXE, with its ORC and RXR.
pub(crate) fn prescriptions(
    m: &Message,
    hospital: &str,
    problems: &mut Vec<Problem>,
) -> Vec<(Value, String)> {
    let d = &m.delimiters;
    let mut out: Vec<(Value, String)> = Vec::new();
    let mut orc: Option<&Segment> = None;
    let mut n = 0;
    for seg in &m.segments {
        match seg.id.as_str() {
            "ORC" => orc = Some(seg),
            "RXR" => {
                if let (Some((r, _)), Some(route)) =
                    (out.last_mut(), concept_of(seg, m, 1, 0, hospital, "route"))
                {
                    r["dosageInstruction"][0]["route"] = route;
                }
            }
            "RXE" => {
                n += 1;
                let number = order_number(m, orc, None);
                if number.is_empty() {
                    problems.push(problem(
                        "ORC",
                        n,
                        2,
                        ErrorCode::RequiredFieldMissing,
                        "ORC-2 (placer order number) names the prescription",
                    ));
                    continue;
                }
                let Some(code) = drug(seg, m, 2, hospital) else {
                    problems.push(problem(
                        "RXE",
                        n,
                        2,
                        ErrorCode::RequiredFieldMissing,
                        "RXE-2 (give code) names the drug",
                    ));
                    continue;
                };
                let system = format!("{}{hospital}/prescription", systems::LOCAL_PREFIX);
                let control = orc.map(|o| o.component(d, 1, 0, 1)).unwrap_or_default();
                let mut r = json!({"resourceType": "MedicationRequest",
                    "identifier": [{"system": system, "value": number}],
                    "status": match control_status(&control, "active") { "revoked" => "cancelled", s => s },
                    "intent": "order", "medicationCodeableConcept": code});
                if let Some(t) = orc
                    .map(|o| o.component(d, 9, 0, 1))
                    .and_then(|w| timestamp(&w))
                {
                    r["authoredOn"] = json!(t);
                }
                if let Some(p) = orc.and_then(|o| provider(m, o, 12, hospital)) {
                    r["requester"] = p;
                }
                let mut dosage = json!({});
                let text = seg.component(d, 21, 0, 1);
                if !text.is_empty() {
                    dosage["text"] = json!(text);
                }
                if let Some(q) = quantity(&seg.component(d, 3, 0, 1), &seg.component(d, 5, 0, 1)) {
                    dosage["doseAndRate"] = json!([{"doseQuantity": q}]);
                }
                r["dosageInstruction"] = json!([dosage]);
                let mut dispense = json!({});
                if let Some(q) = quantity(&seg.component(d, 10, 0, 1), &seg.component(d, 11, 0, 1))
                {
                    dispense["quantity"] = q;
                }
                // RXE-1 (TQ) component 3 is the duration: D7 is seven days.
                let duration = seg.component(d, 1, 0, 3);
                if let Some(days) = duration
                    .strip_prefix('D')
                    .and_then(|x| x.parse::<u32>().ok())
                {
                    dispense["expectedSupplyDuration"] = json!({"value": days, "unit": "days", "system": systems::UCUM, "code": "d"});
                }
                if dispense.as_object().is_some_and(|o| !o.is_empty()) {
                    r["dispenseRequest"] = dispense;
                }
                out.push((r, format!("MedicationRequest?identifier={system}|{number}")));
            }
            _ => {}
        }
    }
    if out.is_empty() {
        missing(
            problems,
            "RXE",
            "a prescription message carries at least one RXE",
        );
    }
    out
}

/// RDS^O13: one MedicationDispense per RXD.
pub(crate) fn dispenses(
    m: &Message,
    hospital: &str,
    problems: &mut Vec<Problem>,
) -> Vec<(Value, String)> {
    let d = &m.delimiters;
    let mut out: Vec<(Value, String)> = Vec::new();
    let mut orc: Option<&Segment> = None;
    let mut n = 0;
    for seg in &m.segments {
        match seg.id.as_str() {
            "ORC" => orc = Some(seg),
            "RXR" => {
                if let (Some((r, _)), Some(route)) =
                    (out.last_mut(), concept_of(seg, m, 1, 0, hospital, "route"))
                {
                    r["dosageInstruction"] = json!([{"route": route}]);
                }
            }
            "RXD" => {
                n += 1;
                let prescription = seg.component(d, 7, 0, 1);
                let order = order_number(m, orc, None);
                let number = if prescription.is_empty() {
                    order.clone()
                } else {
                    prescription
                };
                if number.is_empty() {
                    problems.push(problem(
                        "RXD",
                        n,
                        7,
                        ErrorCode::RequiredFieldMissing,
                        "RXD-7 (prescription number) or ORC-2 names the dispense",
                    ));
                    continue;
                }
                let Some(code) = drug(seg, m, 2, hospital) else {
                    problems.push(problem(
                        "RXD",
                        n,
                        2,
                        ErrorCode::RequiredFieldMissing,
                        "RXD-2 (dispense/give code) names the drug",
                    ));
                    continue;
                };
                let Some(handed) = timestamp(&seg.component(d, 3, 0, 1)) else {
                    problems.push(problem(
                        "RXD",
                        n,
                        3,
                        ErrorCode::DataTypeError,
                        "RXD-3 (date/time dispensed) is required, as a timestamp",
                    ));
                    continue;
                };
                let system = format!("{}{hospital}/dispense", systems::LOCAL_PREFIX);
                let id = format!("{number}-{n}");
                let mut r = json!({"resourceType": "MedicationDispense",
                    "identifier": [{"system": system, "value": id}],
                    "status": "completed", "medicationCodeableConcept": code,
                    "whenHandedOver": handed,
                    "performer": [{"actor": {"reference": format!("Organization/{hospital}")}}]});
                if let Some(q) = quantity(&seg.component(d, 4, 0, 1), &seg.component(d, 5, 0, 1)) {
                    r["quantity"] = q;
                }
                // RXD-12 (total daily dose) does not give days; ZYL-style extensions are not
                // read. Days' supply comes from the prescription when linked.
                if !order.is_empty() {
                    r["authorizingPrescription"] = json!([{"identifier": {"system": format!("{}{hospital}/prescription", systems::LOCAL_PREFIX), "value": order}}]);
                }
                out.push((r, format!("MedicationDispense?identifier={system}|{id}")));
            }
            _ => {}
        }
    }
    if out.is_empty() {
        missing(
            problems,
            "RXD",
            "a dispense message carries at least one RXD",
        );
    }
    out
}

/// MDM^T02: the document (TXA) with its text (the OBX values, one line each).
pub(crate) fn document(
    m: &Message,
    hospital: &str,
    problems: &mut Vec<Problem>,
) -> Option<(Value, String)> {
    let d = &m.delimiters;
    let Some(txa) = m.segment("TXA") else {
        problems.push(Problem {
            segment: "TXA".into(),
            sequence: 1,
            field: None,
            code: ErrorCode::SegmentSequence,
            message: "MDM^T02 carries a TXA segment".into(),
        });
        return None;
    };
    let number = txa.component(d, 12, 0, 1);
    if number.is_empty() {
        problems.push(problem(
            "TXA",
            1,
            12,
            ErrorCode::RequiredFieldMissing,
            "TXA-12 (unique document number) names the document",
        ));
        return None;
    }
    let text: Vec<String> = m
        .all("OBX")
        .map(|o| o.component(d, 5, 0, 1))
        .filter(|t| !t.is_empty())
        .collect();
    if text.is_empty() {
        problems.push(problem(
            "OBX",
            1,
            5,
            ErrorCode::RequiredFieldMissing,
            "MDM^T02 carries the document's content in OBX-5",
        ));
        return None;
    }
    let system = format!("{}{hospital}/document", systems::LOCAL_PREFIX);
    let mut r = json!({"resourceType": "DocumentReference",
        "identifier": [{"system": system, "value": number}],
        "status": "current",
        "content": [{"attachment": {"contentType": "text/plain; charset=utf-8",
            "data": base64::engine::general_purpose::STANDARD.encode(text.join("\n"))}}],
        "custodian": {"reference": format!("Organization/{hospital}")}});
    if let Some(t) = concept_of(txa, m, 2, 0, hospital, "document-type") {
        if let Some(title) = t.get("text").cloned() {
            r["description"] = title;
        }
        r["type"] = t;
    }
    r["docStatus"] = json!(match txa.component(d, 17, 0, 1).as_str() {
        "IP" | "IN" | "PA" => "preliminary",
        _ => "final",
    });
    if let Some(t) = timestamp(&txa.component(d, 4, 0, 1)) {
        // DocumentReference.date is an instant: a date-only activity time is not one.
        if t.len() > 10 {
            r["date"] = json!(t);
        }
    }
    if let Some(a) = provider(m, txa, 9, hospital) {
        r["author"] = json!([a]);
    }
    Some((r, format!("DocumentReference?identifier={system}|{number}")))
}
