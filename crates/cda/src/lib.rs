//! China's shared health documents (WS/T 500, HL7 CDA R2) as pure functions: the header
//! checks (a WS/T 500 template, a document code this region takes, the document id, the
//! patient), the structured entries turned into FHIR resources (diagnoses, results,
//! findings, medicines, operations), and the original kept beside them as a Binary with
//! the DocumentReference that describes it. Everything is one transaction of conditional
//! updates keyed by the hospital and the document id, so a document sent again lands once.
//!
//! The XML is read without a DTD (no entity expansion); problems name the element path and
//! the rule, never a value.

use base64::Engine as _;
use roxmltree::Node;
use serde_json::{Value, json};
use terminology::systems;

const HL7: &str = "urn:hl7-org:v3";
const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// WS/T 500 template ids start here.
pub const TEMPLATE_PREFIX: &str = "2.16.156.10011.2.1.1.";
/// The code system of shared-document codes (卫生信息共享文档编码体系).
pub const DOCUMENT_CODES: &str = "2.16.156.10011.2.4";
/// The documents taken: code, Chinese and English title.
pub const DOCUMENTS: &[(&str, &str, &str)] = &[
    ("C0001", "病历概要", "Medical record summary"),
    ("C0002", "门(急)诊病历", "Outpatient and emergency record"),
    ("C0004", "西药处方", "Western medicine prescription"),
    ("C0006", "检查报告", "Examination report"),
    ("C0007", "检验报告", "Laboratory report"),
    ("C0009", "一般手术记录", "Operation record"),
    ("C0032", "住院病案首页", "Inpatient record front sheet"),
    ("C0053", "出院小结", "Discharge summary"),
];

/// OIDs of the code systems entries carry.
const RESIDENT_ID_OID: &str = "2.16.156.10011.1.3";
const ICD10_OIDS: &[&str] = &["2.16.156.10011.2.3.3.11", "2.16.840.1.113883.6.3"];
const ICD9CM3_OID: &str = "2.16.156.10011.2.3.3.12";
const LOINC_OID: &str = "2.16.840.1.113883.6.1";

/// What is wrong, and where (an element path from `ClinicalDocument`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub path: String,
    pub message: String,
}

fn problem(path: &str, message: &str) -> Problem {
    Problem {
        path: path.to_string(),
        message: message.to_string(),
    }
}

/// A document read and mapped.
#[derive(Clone, Debug)]
pub struct Document {
    /// `root^extension` of `ClinicalDocument/id`: resends are recognised by it.
    pub id: String,
    /// `C0002`, ...
    pub code: &'static str,
    /// When the document was made, as the document says (FHIR dateTime).
    pub effective: Option<String>,
    /// The transaction Bundle.
    pub bundle: Value,
}

fn hl7<'a, 'i>(n: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    n.children().find(|c| {
        c.is_element() && c.tag_name().name() == name && c.tag_name().namespace() == Some(HL7)
    })
}

fn all<'a, 'i: 'a>(n: Node<'a, 'i>, name: &'a str) -> impl Iterator<Item = Node<'a, 'i>> + 'a {
    n.children().filter(move |c| {
        c.is_element() && c.tag_name().name() == name && c.tag_name().namespace() == Some(HL7)
    })
}

fn path<'a, 'i>(n: Node<'a, 'i>, names: &[&str]) -> Option<Node<'a, 'i>> {
    names.iter().try_fold(n, |n, name| hl7(n, name))
}

fn text_of(n: Option<Node>) -> String {
    n.map(|n| {
        n.descendants()
            .filter(|d| d.is_text())
            .filter_map(|d| d.text())
            .collect::<String>()
    })
    .unwrap_or_default()
    .trim()
    .to_string()
}

/// An HL7 TS (`YYYYMMDD[HHMM[SS]][+ZZZZ]`) as a FHIR date or dateTime.
fn ts(n: Option<Node>) -> Option<String> {
    hl7::map::timestamp(n?.attribute("value")?)
}

/// A CD/CE element as a CodeableConcept: known OIDs become their FHIR systems, anything
/// else is the hospital's local code of `kind`.
fn concept(n: Node, hospital: &str, kind: &str) -> Option<Value> {
    let code = n.attribute("code").filter(|c| !c.is_empty())?;
    let oid = n.attribute("codeSystem").unwrap_or_default();
    let system = if ICD10_OIDS.contains(&oid) {
        systems::ICD10.to_string()
    } else if oid == ICD9CM3_OID {
        systems::ICD9CM.to_string()
    } else if oid == LOINC_OID {
        systems::LOINC.to_string()
    } else {
        format!("{}{hospital}/{kind}", systems::LOCAL_PREFIX)
    };
    let mut c = json!({"coding": [{"system": system, "code": code}]});
    if let Some(d) = n.attribute("displayName").filter(|d| !d.is_empty()) {
        c["coding"][0]["display"] = json!(d);
        c["text"] = json!(d);
    }
    Some(c)
}

fn urn(n: usize) -> String {
    format!("urn:uuid:00000000-0000-4000-8000-{n:012x}")
}

/// A stable FHIR id for the original document: FNV-1a of hospital and document id.
fn binary_id(hospital: &str, id: &str) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in hospital.bytes().chain([0]).chain(id.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100000001b3);
    }
    format!("cda-{h:016x}")
}

fn patient(doc: Node, hospital: &str, problems: &mut Vec<Problem>) -> Option<(Value, String)> {
    let at = "ClinicalDocument/recordTarget/patientRole";
    let Some(role) = path(doc, &["recordTarget", "patientRole"]) else {
        problems.push(problem(
            at,
            "the document names no patient (recordTarget/patientRole)",
        ));
        return None;
    };
    let person = hl7(role, "patient");
    let ids: Vec<Node> = all(role, "id")
        .chain(person.into_iter().flat_map(|p| all(p, "id")))
        .collect();
    fn ext<'a>(n: &Node<'a, '_>) -> Option<&'a str> {
        n.attribute("extension").filter(|e| !e.is_empty())
    }
    let resident = ids
        .iter()
        .find(|i| i.attribute("root") == Some(RESIDENT_ID_OID))
        .and_then(|i| ext(i));
    let Some(mrn) = all(role, "id")
        .find(|i| i.attribute("root") != Some(RESIDENT_ID_OID))
        .and_then(|i| ext(&i))
    else {
        problems.push(problem(
            &format!("{at}/id"),
            "the patient's number at the hospital (patientRole/id with an extension) is required",
        ));
        return None;
    };
    let mrn_system = format!("{}{hospital}", systems::MRN_PREFIX);
    let mut identifiers = vec![
        json!({"use": "usual", "type": {"coding": [{"system": systems::V2_0203, "code": "MR"}]},
        "system": mrn_system, "value": mrn, "assigner": {"reference": format!("Organization/{hospital}")}}),
    ];
    if let Some(r) = resident {
        identifiers.push(json!({"use": "official", "type": {"coding": [{"system": systems::V2_0203, "code": "NI"}]}, "system": systems::RESIDENT_ID, "value": r}));
    }
    let mut p = json!({"resourceType": "Patient", "identifier": identifiers,
        "managingOrganization": {"reference": format!("Organization/{hospital}")}});
    if let Some(person) = person {
        let name = text_of(hl7(person, "name"));
        if !name.is_empty() {
            p["name"] = json!([{"use": "official", "text": name}]);
        }
        match hl7(person, "administrativeGenderCode").and_then(|g| g.attribute("code")) {
            Some("1") => p["gender"] = json!("male"),
            Some("2") => p["gender"] = json!("female"),
            Some("0" | "9") => p["gender"] = json!("unknown"),
            None => {}
            Some(_) => problems.push(problem(
                &format!("{at}/patient/administrativeGenderCode"),
                "the sex is a code of GB/T 2261.1 (0, 1, 2, 9)",
            )),
        }
        if let Some(b) = hl7(person, "birthTime") {
            match ts(Some(b)) {
                Some(t) => p["birthDate"] = json!(&t[..10]),
                None => problems.push(problem(
                    &format!("{at}/patient/birthTime"),
                    "the birth time is not an HL7 timestamp",
                )),
            }
        }
    }
    Some((p, format!("Patient?identifier={mrn_system}|{mrn}")))
}

/// The structured entries as FHIR resources, each with its conditional update.
fn entries(
    doc: Node,
    code: &str,
    id: &str,
    hospital: &str,
    when: Option<&str>,
) -> Vec<(Value, String)> {
    let Some(body) = path(doc, &["component", "structuredBody"]) else {
        return Vec::new();
    };
    let system = format!("{}{hospital}/cda-entry", systems::LOCAL_PREFIX);
    let mut out = Vec::new();
    let mut n = 0;
    for node in body
        .descendants()
        .filter(|d| d.is_element() && d.tag_name().namespace() == Some(HL7))
    {
        let effective = ts(hl7(node, "effectiveTime").and_then(|e| hl7(e, "low").or(Some(e))))
            .or(when.map(str::to_string));
        let resource = match node.tag_name().name() {
            "observation" => observation(node, code, hospital, effective.as_deref()),
            "substanceAdministration" => medication(node, hospital, effective.as_deref()),
            "procedure" => {
                let Some(c) = hl7(node, "code").and_then(|c| concept(c, hospital, "procedure"))
                else {
                    continue;
                };
                let mut r = json!({"resourceType": "Procedure", "status": "completed", "code": c});
                if let Some(t) = &effective {
                    r["performedDateTime"] = json!(t);
                }
                Some(r)
            }
            _ => None,
        };
        let Some(mut r) = resource else { continue };
        n += 1;
        let value = format!("{id}#{n}");
        r["identifier"] = json!([{"system": system, "value": value}]);
        let t = r["resourceType"].as_str().unwrap_or_default().to_string();
        out.push((r, format!("{t}?identifier={system}|{value}")));
    }
    out
}

fn observation(node: Node, code: &str, hospital: &str, effective: Option<&str>) -> Option<Value> {
    let value = hl7(node, "value")?;
    let kind = value.attribute((XSI, "type")).unwrap_or_default();
    let kind = kind.rsplit(':').next().unwrap_or(kind);
    let coded = hl7(node, "code");
    match kind {
        // A diagnosis: the value is an ICD-10 code.
        "CD" | "CE"
            if value
                .attribute("codeSystem")
                .is_some_and(|s| ICD10_OIDS.contains(&s)) =>
        {
            let mut r = json!({"resourceType": "Condition",
                "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
                "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-category", "code": "encounter-diagnosis"}]}],
                "code": concept(value, hospital, "diagnosis")?});
            if let Some(t) = effective {
                r["recordedDate"] = json!(t);
            }
            Some(r)
        }
        "PQ" => {
            let number: Value = serde_json::from_str(value.attribute("value")?.trim())
                .ok()
                .filter(Value::is_number)?;
            let mut q = json!({"value": number});
            if let Some(u) = value
                .attribute("unit")
                .filter(|u| !u.is_empty() && *u != "1")
            {
                q["unit"] = json!(u);
            }
            let mut r = json!({"resourceType": "Observation", "status": "final",
                "category": [category(code)], "code": concept(coded?, hospital, "lab")?, "valueQuantity": q});
            if let Some(t) = effective {
                r["effectiveDateTime"] = json!(t);
            }
            // The abnormal flag (HL7 v3 ObservationInterpretation: H, L, N...) and the
            // reference range (IVL_PQ), when the document carries them.
            if let Some(flag) = hl7(node, "interpretationCode")
                .and_then(|i| i.attribute("code"))
                .filter(|c| !c.trim().is_empty())
            {
                r["interpretation"] = json!([{"coding": [{"system": systems::V3_OBSERVATION_INTERPRETATION, "code": flag.trim()}]}]);
            }
            let bound = |end: &str| {
                let range = hl7(
                    hl7(hl7(node, "referenceRange")?, "observationRange")?,
                    "value",
                )?;
                let b = hl7(range, end)?;
                let v: Value = serde_json::from_str(b.attribute("value")?.trim())
                    .ok()
                    .filter(Value::is_number)?;
                let mut q = json!({"value": v});
                if let Some(u) = b.attribute("unit").filter(|u| !u.is_empty() && *u != "1") {
                    q["unit"] = json!(u);
                }
                Some(q)
            };
            let mut range = serde_json::Map::new();
            for end in ["low", "high"] {
                if let Some(q) = bound(end) {
                    range.insert(end.to_string(), q);
                }
            }
            if !range.is_empty() {
                r["referenceRange"] = json!([range]);
            }
            Some(r)
        }
        "ST" | "ED" => {
            let text = text_of(Some(value));
            if text.is_empty() {
                return None;
            }
            let mut r = json!({"resourceType": "Observation", "status": "final",
                "category": [category(code)], "code": concept(coded?, hospital, "exam")?, "valueString": text});
            if let Some(t) = effective {
                r["effectiveDateTime"] = json!(t);
            }
            Some(r)
        }
        _ => None,
    }
}

fn category(document: &str) -> Value {
    let c = if document == "C0007" {
        "laboratory"
    } else if document == "C0006" {
        "imaging"
    } else {
        "exam"
    };
    json!({"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": c}]})
}

fn medication(node: Node, hospital: &str, effective: Option<&str>) -> Option<Value> {
    let drug = path(
        node,
        &[
            "consumable",
            "manufacturedProduct",
            "manufacturedLabeledDrug",
        ],
    )?;
    let mut c = hl7(drug, "code").and_then(|c| concept(c, hospital, "drug"))?;
    let name = text_of(hl7(drug, "name"));
    if !name.is_empty() && c.get("text").is_none() {
        c["text"] = json!(name);
    }
    let mut r = json!({"resourceType": "MedicationRequest", "status": "active", "intent": "order",
        "medicationCodeableConcept": c});
    if let Some(t) = effective {
        r["authoredOn"] = json!(t);
    }
    let mut dosage = json!({});
    if let Some(route) = hl7(node, "routeCode").and_then(|r| concept(r, hospital, "route")) {
        dosage["route"] = route;
    }
    if let Some(d) = hl7(node, "doseQuantity") {
        let number: Option<Value> = d
            .attribute("value")
            .and_then(|v| serde_json::from_str(v.trim()).ok())
            .filter(Value::is_number);
        if let Some(number) = number {
            let mut q = json!({"value": number});
            if let Some(u) = d.attribute("unit") {
                q["unit"] = json!(u);
            }
            dosage["doseAndRate"] = json!([{"doseQuantity": q}]);
        }
    }
    if dosage.as_object().is_some_and(|o| !o.is_empty()) {
        r["dosageInstruction"] = json!([dosage]);
    }
    Some(r)
}

/// Reads a WS/T 500 document sent by `hospital` and maps it, or says what is wrong.
pub fn read(xml: &str, hospital: &str) -> Result<Document, Vec<Problem>> {
    let opts = roxmltree::ParsingOptions {
        allow_dtd: false,
        ..Default::default()
    };
    let parsed = roxmltree::Document::parse_with_options(xml, opts).map_err(|e| {
        let p = e.pos();
        vec![problem(
            &format!("line {}, column {}", p.row, p.col),
            "the document is not well-formed XML (a DTD is not taken)",
        )]
    })?;
    let doc = parsed.root_element();
    if doc.tag_name().name() != "ClinicalDocument" || doc.tag_name().namespace() != Some(HL7) {
        return Err(vec![problem(
            "/",
            "the root element is a ClinicalDocument in the urn:hl7-org:v3 namespace",
        )]);
    }
    let mut problems = Vec::new();
    if !all(doc, "templateId").any(|t| {
        t.attribute("root")
            .is_some_and(|r| r.starts_with(TEMPLATE_PREFIX))
    }) {
        problems.push(problem(
            "ClinicalDocument/templateId",
            "a WS/T 500 template (2.16.156.10011.2.1.1.x) is required",
        ));
    }
    let code = hl7(doc, "code");
    let known = code
        .filter(|c| c.attribute("codeSystem") == Some(DOCUMENT_CODES))
        .and_then(|c| c.attribute("code"))
        .and_then(|c| DOCUMENTS.iter().find(|(d, _, _)| *d == c));
    if known.is_none() {
        problems.push(problem(
            "ClinicalDocument/code",
            &format!(
                "the document code (code system {DOCUMENT_CODES}) is one of {}",
                DOCUMENTS.iter().map(|d| d.0).collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    let id = hl7(doc, "id")
        .and_then(|i| {
            Some(format!(
                "{}^{}",
                i.attribute("root")?,
                i.attribute("extension").unwrap_or_default()
            ))
        })
        .filter(|i| i.len() > 1);
    if id.is_none() {
        problems.push(problem(
            "ClinicalDocument/id",
            "the document id (root and extension) is required: resends are recognised by it",
        ));
    }
    let effective = ts(hl7(doc, "effectiveTime"));
    if effective.is_none() {
        problems.push(problem(
            "ClinicalDocument/effectiveTime",
            "the document's time is required, as an HL7 timestamp",
        ));
    }
    let patient = patient(doc, hospital, &mut problems);
    let (Some((code, title, _)), Some(id), Some(effective), Some((p, cond)), true) =
        (known, id, effective, patient, problems.is_empty())
    else {
        return Err(problems);
    };
    let mut list =
        // A document identifies its patient (registered if the number is unknown); the
        // registration's demographics are ADT's or the hospital's FHIR feed's to change.
        vec![json!({"fullUrl": urn(1), "resource": p, "request": {"method": "POST", "url": "Patient", "ifNoneExist": cond}})];
    let binary = binary_id(hospital, &id);
    list.push(json!({"resource": {"resourceType": "Binary", "id": binary, "contentType": "application/xml",
            "data": base64::engine::general_purpose::STANDARD.encode(xml)},
        "request": {"method": "PUT", "url": format!("Binary/{binary}")}}));
    let doc_system = format!("{}{hospital}/document", systems::LOCAL_PREFIX);
    let mut reference = json!({"resourceType": "DocumentReference",
        "identifier": [{"system": doc_system, "value": id}], "status": "current",
        "type": {"coding": [{"system": format!("urn:oid:{DOCUMENT_CODES}"), "code": code, "display": title}], "text": title},
        "subject": {"reference": urn(1)}, "custodian": {"reference": format!("Organization/{hospital}")},
        "content": [{"attachment": {"contentType": "application/xml", "url": format!("Binary/{binary}"), "title": title}}]});
    if effective.len() > 10 {
        reference["date"] = json!(effective);
    }
    list.push(json!({"fullUrl": urn(2), "resource": reference, "request": {"method": "PUT", "url": format!("DocumentReference?identifier={doc_system}|{id}")}}));
    for (i, (mut r, cond)) in entries(doc, code, &id, hospital, Some(&effective))
        .into_iter()
        .enumerate()
    {
        r["subject"] = json!({"reference": urn(1)});
        if r["resourceType"] == "Observation" {
            r["derivedFrom"] = json!([{"reference": urn(2)}]);
        }
        list.push(json!({"fullUrl": urn(0x1000 + i), "resource": r, "request": {"method": "PUT", "url": cond}}));
    }
    Ok(Document {
        id,
        code,
        effective: Some(effective),
        bundle: json!({"resourceType": "Bundle", "type": "transaction", "entry": list}),
    })
}

#[cfg(test)]
mod tests;
