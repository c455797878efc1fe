//! Hospitals that do not export FHIR for everything: their laboratory systems send results
//! as HL7 v2 ORU^R01 messages, or as WS/T 500 检验报告 (C0007) documents. This renders a
//! registration's laboratory reports (a DiagnosticReport and its Observations, as the
//! region generated them) in those forms, so that the region reaches Yilian through its
//! MLLP listener and its document endpoint as well as through FHIR.
//!
//! Pure: text in, text out. The identifiers a hospital would send (its record number, the
//! report's filler number) are the ones in the resources.

use crate::hospitals::Hospital;
use serde_json::Value;
use terminology::systems;

/// A registration's resources split into its laboratory reports (each with its results)
/// and the positions of everything else, in order, with the registration's Patient.
/// `resources` are JSON texts with their type.
pub fn split_lab(resources: &[(&'static str, &str)]) -> (Vec<Report>, Vec<usize>, Option<Value>) {
    let parsed: Vec<Option<Value>> = resources
        .iter()
        .map(|(kind, json)| {
            matches!(*kind, "DiagnosticReport" | "Observation" | "Patient")
                .then(|| serde_json::from_str(json).ok())
                .flatten()
        })
        .collect();
    let mut reports = Vec::new();
    let mut taken = vec![false; resources.len()];
    for (i, v) in parsed.iter().enumerate() {
        let Some(v) = v else { continue };
        let lab = v["resourceType"] == "DiagnosticReport"
            && v.pointer("/category/0/coding/0/code")
                .and_then(Value::as_str)
                == Some("LAB");
        if !lab {
            continue;
        }
        let wanted: Vec<&str> = v["result"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["reference"].as_str())
            .collect();
        let mut results = Vec::new();
        for (j, o) in parsed.iter().enumerate() {
            if let Some(o) = o
                && o["resourceType"] == "Observation"
                && o["id"]
                    .as_str()
                    .is_some_and(|id| wanted.contains(&format!("Observation/{id}").as_str()))
            {
                results.push(o.clone());
                taken[j] = true;
            }
        }
        taken[i] = true;
        reports.push(Report {
            report: v.clone(),
            results,
        });
    }
    let rest = (0..resources.len()).filter(|i| !taken[*i]).collect();
    let patient = parsed
        .into_iter()
        .flatten()
        .find(|v| v["resourceType"] == "Patient");
    (reports, rest, patient)
}

/// One laboratory report and its results.
#[derive(Clone, Debug)]
pub struct Report {
    pub report: Value,
    pub results: Vec<Value>,
}

/// An ORU^R01 (v2.5, UTF-8) for `r`, segments separated by CR, as the hospital's
/// laboratory system sends it: sending facility `H28` for hospital `h28`.
pub fn oru(h: &Hospital, patient: &Value, r: &Report) -> String {
    let facility = h.id.to_ascii_uppercase();
    let id = r.report["id"].as_str().unwrap_or_default();
    let issued = ts(r.report["issued"]
        .as_str()
        .or(r.report["effectiveDateTime"].as_str()));
    let mut m = format!(
        "MSH|^~\\&|LIS|{facility}|YILIAN|REGION|{issued}||ORU^R01^ORU_R01|{}|P|2.5|||||||UNICODE UTF-8\r",
        esc(id)
    );
    m.push_str(&pid(h, patient));
    let (code, text) = coding(&r.report["code"]);
    m.push_str(&format!(
        "OBR|1|{id}|{id}|{}^{}^LN|||{}|||||||||||||||{issued}|||F\r",
        esc(&code),
        esc(&text),
        ts(r.report["effectiveDateTime"].as_str()),
        id = esc(id),
    ));
    for (n, o) in r.results.iter().enumerate() {
        let (code, text) = coding(&o["code"]);
        let value = number(&o["valueQuantity"]["value"]);
        let unit = o["valueQuantity"]["unit"].as_str().unwrap_or_default();
        let range = match (
            o.pointer("/referenceRange/0/low/value"),
            o.pointer("/referenceRange/0/high/value"),
        ) {
            (Some(lo), Some(hi)) => format!("{}-{}", number(lo), number(hi)),
            _ => String::new(),
        };
        let flag = o
            .pointer("/interpretation/0/coding/0/code")
            .and_then(Value::as_str)
            .unwrap_or_default();
        m.push_str(&format!(
            "OBX|{}|NM|{}^{}^LN||{value}|{}|{range}|{flag}|||F|||{}\r",
            n + 1,
            esc(&code),
            esc(&text),
            esc(unit),
            ts(o["effectiveDateTime"].as_str()),
        ));
    }
    m
}

/// A WS/T 500 检验报告 (C0007) for `r`, on one line.
pub fn c0007(h: &Hospital, patient: &Value, r: &Report) -> String {
    let id = r.report["id"].as_str().unwrap_or_default();
    let effective = ts(r.report["effectiveDateTime"].as_str());
    let (mrn, resident, family, given, gender, birth) = person(h, patient);
    let name = format!("{family}{given}");
    let sex = match gender.as_str() {
        "male" => "1",
        "female" => "2",
        _ => "9",
    };
    let mut entries = String::new();
    for o in &r.results {
        let (code, text) = coding(&o["code"]);
        let value = number(&o["valueQuantity"]["value"]);
        let unit = o["valueQuantity"]["unit"].as_str().unwrap_or_default();
        let flag = o
            .pointer("/interpretation/0/coding/0/code")
            .and_then(Value::as_str)
            .map(|f| {
                format!(
                    r#"<interpretationCode code="{}" codeSystem="2.16.840.1.113883.5.83"/>"#,
                    xml(f)
                )
            })
            .unwrap_or_default();
        let range = match (
            o.pointer("/referenceRange/0/low/value"),
            o.pointer("/referenceRange/0/high/value"),
        ) {
            (Some(lo), Some(hi)) => format!(
                r#"<referenceRange><observationRange><value xsi:type="IVL_PQ"><low value="{}" unit="{u}"/><high value="{}" unit="{u}"/></value></observationRange></referenceRange>"#,
                number(lo),
                number(hi),
                u = xml(unit)
            ),
            _ => String::new(),
        };
        entries.push_str(&format!(
            r#"<entry><observation classCode="OBS" moodCode="EVN"><code code="{}" codeSystem="2.16.840.1.113883.6.1" displayName="{}"/><effectiveTime value="{}"/><value xsi:type="PQ" value="{value}" unit="{}"/>{flag}{range}</observation></entry>"#,
            xml(&code),
            xml(&text),
            ts(o["effectiveDateTime"].as_str()),
            xml(unit),
        ));
    }
    format!(
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?><ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">"#,
            r#"<realmCode code="CN"/><typeId root="2.16.840.1.113883.1.3" extension="POCD_MT000040"/>"#,
            r#"<templateId root="2.16.156.10011.2.1.1.27"/><id root="2.16.156.10011.1.1" extension="{id}"/>"#,
            r#"<code code="C0007" codeSystem="2.16.156.10011.2.4" codeSystemName="卫生信息共享文档编码体系"/>"#,
            r#"<title>检验报告</title><effectiveTime value="{effective}"/><confidentialityCode code="N" codeSystem="2.16.840.1.113883.5.25"/>"#,
            r#"<recordTarget><patientRole><id root="2.16.156.10011.1.11" extension="{mrn}"/><patient>"#,
            r#"<id root="2.16.156.10011.1.3" extension="{resident}"/><name>{name}</name>"#,
            r#"<administrativeGenderCode code="{sex}" codeSystem="2.16.156.10011.2.3.3.4"/><birthTime value="{birth}"/>"#,
            r#"</patient></patientRole></recordTarget>"#,
            r#"<custodian><assignedCustodian><representedCustodianOrganization><id root="2.16.156.10011.1.5" extension="{facility}"/><name>{hospital}</name></representedCustodianOrganization></assignedCustodian></custodian>"#,
            r#"<component><structuredBody><component><section><code code="30954-2" codeSystem="2.16.840.1.113883.6.1" displayName="检验结果"/>{entries}</section></component></structuredBody></component>"#,
            r#"</ClinicalDocument>"#
        ),
        id = xml(id),
        effective = effective,
        mrn = xml(&mrn),
        resident = xml(&resident),
        name = xml(&name),
        sex = sex,
        birth = birth.replace('-', ""),
        facility = h.id.to_ascii_uppercase(),
        hospital = xml(h.zh),
        entries = entries,
    )
}

fn pid(h: &Hospital, patient: &Value) -> String {
    let (mrn, resident, family, given, gender, birth) = person(h, patient);
    let national = if resident.is_empty() {
        String::new()
    } else {
        format!("~{}^^^^NI", esc(&resident))
    };
    let sex = match gender.as_str() {
        "male" => "M",
        "female" => "F",
        "other" => "O",
        _ => "U",
    };
    format!(
        "PID|1||{}^^^{}^MR{national}||{}^{}||{}|{sex}\r",
        esc(&mrn),
        h.id.to_ascii_uppercase(),
        esc(&family),
        esc(&given),
        birth.replace('-', ""),
    )
}

/// (record number, resident ID, family, given, gender, birth date) of a Patient.
fn person(h: &Hospital, p: &Value) -> (String, String, String, String, String, String) {
    let mrn_system = format!("{}{}", systems::MRN_PREFIX, h.id);
    let identifier = |system: &str| {
        p["identifier"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|i| i["system"] == system)
            .and_then(|i| i["value"].as_str())
            .unwrap_or_default()
            .to_string()
    };
    let name = &p["name"][0];
    let family = name["family"].as_str().unwrap_or_default().to_string();
    let given: String = name["given"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    (
        identifier(&mrn_system),
        identifier(systems::RESIDENT_ID),
        family,
        given,
        p["gender"].as_str().unwrap_or_default().to_string(),
        p["birthDate"].as_str().unwrap_or_default().to_string(),
    )
}

/// The LOINC coding of a CodeableConcept (else its last): (code, text or display).
fn coding(c: &Value) -> (String, String) {
    let codings = c["coding"].as_array().cloned().unwrap_or_default();
    let chosen = codings
        .iter()
        .find(|x| x["system"] == systems::LOINC)
        .or(codings.last())
        .cloned()
        .unwrap_or(Value::Null);
    let text = c["text"]
        .as_str()
        .or(chosen["display"].as_str())
        .unwrap_or_default();
    (
        chosen["code"].as_str().unwrap_or_default().to_string(),
        text.to_string(),
    )
}

/// A FHIR dateTime as an HL7 timestamp (`YYYYMMDDHHMMSS+ZZZZ`).
fn ts(t: Option<&str>) -> String {
    let Some(t) = t else { return String::new() };
    let digits: String = t.chars().take(19).filter(char::is_ascii_digit).collect();
    let zone: String = t
        .get(19..)
        .map(|z| z.chars().filter(|c| *c != ':').collect())
        .unwrap_or_default();
    format!("{digits}{zone}")
}

fn number(v: &Value) -> String {
    v.to_string().trim_matches('"').to_string()
}

/// HL7 v2 escapes for a field value.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\E\\"),
            '|' => out.push_str("\\F\\"),
            '^' => out.push_str("\\S\\"),
            '~' => out.push_str("\\R\\"),
            '&' => out.push_str("\\T\\"),
            '\r' | '\n' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
