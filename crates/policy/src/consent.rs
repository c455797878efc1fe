//! A FHIR Consent (R4, privacy scope) reduced to a [`ConsentFact`]: what the decision needs.
//!
//! How Yilian reads a Consent:
//! - `status` `active` with `provision.type` `permit`: sharing permitted; `deny`: opted out.
//!   `inactive` or `rejected`: withdrawn. `draft`, `proposed` and `entered-in-error` say
//!   nothing and are skipped.
//! - `dateTime` is when it was given (else `provision.period.start`); `provision.period.end`
//!   is when it lapses (the end of that day when only a date is given).
//! - `provision.actor` with the role `IRCP` (information recipient) names the hospitals that
//!   may read; none named means every hospital. A nested `deny` provision with such actors
//!   excludes those hospitals.
//! - A nested `permit` provision with `securityLabel`s (HL7 v3 ActCode: PSY, HIV, SEX,
//!   GDIS...) shares those sensitive categories explicitly.
//! - A nested `deny` provision with `data` references hides those items.
//! - A performer other than the patient is a guardian or representative.

use crate::category::{Category, label_category};
use crate::decide::{ConsentFact, ConsentState, Grantor, Time};
use serde_json::Value;

/// Why a Consent could not be read; named by element, never by value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unreadable {
    NotAConsent,
    MissingId,
    /// `dateTime` and `provision.period.start` both missing or not dates.
    NoDate,
}

/// The fact a Consent states, or `None` for one that states nothing (a draft, a proposal,
/// one entered in error).
pub fn consent_fact(c: &Value) -> Result<Option<ConsentFact>, Unreadable> {
    if c.get("resourceType").and_then(Value::as_str) != Some("Consent") {
        return Err(Unreadable::NotAConsent);
    }
    let id = c
        .get("id")
        .and_then(Value::as_str)
        .ok_or(Unreadable::MissingId)?;
    let provision = c.get("provision");
    let permit = provision
        .and_then(|p| p.get("type"))
        .and_then(Value::as_str)
        != Some("deny");
    let state = match c.get("status").and_then(Value::as_str) {
        Some("active") if permit => ConsentState::Permit,
        Some("active") => ConsentState::Deny,
        Some("inactive" | "rejected") => ConsentState::Withdrawn,
        _ => return Ok(None),
    };
    let period = |k: &str| {
        provision
            .and_then(|p| p.pointer(&format!("/period/{k}")))
            .and_then(Value::as_str)
            .and_then(fhir::time::parse_range)
    };
    let given = c
        .get("dateTime")
        .and_then(Value::as_str)
        .and_then(fhir::time::parse_range)
        .or_else(|| period("start"))
        .map(|(lo, _)| lo.div_euclid(1000))
        .ok_or(Unreadable::NoDate)?;
    let expires = period("end").map(|(_, hi)| (hi + 1).div_euclid(1000));
    let nested: Vec<&Value> = provision
        .and_then(|p| p.get("provision"))
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let of_type = |t: &'static str| {
        nested
            .iter()
            .copied()
            .filter(move |p| p.get("type").and_then(Value::as_str) == Some(t))
    };
    let sensitive: Vec<Category> = of_type("permit")
        .flat_map(|p| array(p, "securityLabel"))
        .filter_map(|l| label_category(l.get("system")?.as_str()?, l.get("code")?.as_str()?))
        .collect();
    let patient = c.pointer("/patient/reference").and_then(Value::as_str);
    let performers = array(c, "performer");
    let grantor = if performers.is_empty()
        || performers
            .iter()
            .any(|p| p.get("reference").and_then(Value::as_str) == patient && patient.is_some())
    {
        Grantor::Patient
    } else {
        Grantor::Guardian
    };
    Ok(Some(ConsentFact {
        id: format!("Consent/{id}"),
        state,
        given,
        expires,
        organizations: provision.map(recipients).unwrap_or_default(),
        excluded: of_type("deny").flat_map(recipients).collect(),
        sensitive,
        grantor,
    }))
}

/// A consent decision as made on Yilian's pages, to be written as a FHIR Consent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision<'a> {
    /// `Patient/{id}`: the registration it is recorded against.
    pub patient: &'a str,
    /// Share (`true`) or refuse sharing.
    pub permit: bool,
    /// `Organization/{id}`s the patient will not share with.
    pub excluded: &'a [String],
    /// Sensitive categories the patient shares as well (mental health, HIV...).
    pub sensitive: &'a [Category],
    /// When it was given (a FHIR dateTime) and the day it lapses (a FHIR date).
    pub given: &'a str,
    pub lapses: &'a str,
    /// `Organization/{id}` where it was recorded, if at a hospital.
    pub recorded_at: Option<&'a str>,
    /// The evidence: media type, title and bytes (the scan, the signature image, or the
    /// statement the patient confirmed online).
    pub evidence: (&'a str, &'a str, &'a [u8]),
}

/// The FHIR Consent (privacy scope) that states `d`, in the shape [`consent_fact`] reads,
/// with its evidence inline and hashed as [`check_evidence`] requires.
pub fn consent_resource(d: &Decision) -> Value {
    use base64::Engine as _;
    use sha1::Digest as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let (content_type, title, bytes) = d.evidence;
    let ircp = serde_json::json!({"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "IRCP", "display": "information recipient"}]});
    let mut nested: Vec<Value> = d
        .excluded
        .iter()
        .map(|org| serde_json::json!({"type": "deny", "actor": [{"role": ircp, "reference": {"reference": org}}]}))
        .collect();
    let labels: Vec<Value> = d
        .sensitive
        .iter()
        .filter_map(|c| crate::category::category_label(*c))
        .map(|code| serde_json::json!({"system": crate::category::LABEL_SYSTEM, "code": code}))
        .collect();
    if d.permit && !labels.is_empty() {
        nested.push(serde_json::json!({"type": "permit", "securityLabel": labels}));
    }
    let mut provision = serde_json::json!({
        "type": if d.permit { "permit" } else { "deny" },
        "period": {"start": d.given.get(..10).unwrap_or(d.given), "end": d.lapses},
    });
    if !nested.is_empty() {
        provision["provision"] = Value::Array(nested);
    }
    let mut c = serde_json::json!({
        "resourceType": "Consent",
        "status": "active",
        "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy", "display": "Privacy Consent"}]},
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0", "display": "Patient Consent"}]}],
        "patient": {"reference": d.patient},
        "dateTime": d.given,
        "performer": [{"reference": d.patient}],
        "sourceAttachment": {"contentType": content_type, "title": title, "data": b64.encode(bytes),
            "hash": b64.encode(sha1::Sha1::digest(bytes)), "size": bytes.len(), "creation": d.given},
        "policyRule": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            "code": if d.permit { "OPTIN" } else { "OPTOUT" }, "display": if d.permit { "opt-in" } else { "opt-out" }}]},
        "provision": provision,
    });
    if let Some(org) = d.recorded_at {
        c["organization"] = serde_json::json!([{"reference": org}]);
    }
    c
}

/// What is wrong with the evidence of a Consent to share, and where (a FHIRPath).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvidenceProblem {
    pub path: &'static str,
    pub message: &'static str,
}

/// An active privacy consent carries its evidence: the paper agreement's scan or the
/// handwritten signature's image, as `sourceAttachment` with its SHA-1 `hash` (and the
/// bytes in `data`, or a `url` to them), or a `sourceReference` to the document that holds
/// it. When the bytes are inline, the hash must be theirs. Other consents (drafts,
/// withdrawals, other scopes) are not checked.
pub fn check_evidence(c: &Value) -> Result<(), EvidenceProblem> {
    use base64::Engine as _;
    use sha1::Digest as _;
    let privacy = c
        .pointer("/scope/coding")
        .and_then(Value::as_array)
        .is_some_and(|codes| {
            codes
                .iter()
                .any(|x| x.get("code").and_then(Value::as_str) == Some("patient-privacy"))
        });
    let active = c.get("status").and_then(Value::as_str) == Some("active");
    if !(privacy && active) || c.get("sourceReference").is_some() {
        return Ok(());
    }
    let Some(a) = c.get("sourceAttachment") else {
        return Err(EvidenceProblem {
            path: "Consent.sourceAttachment",
            message: "an active consent to share needs its evidence: the scanned agreement or the signature, as sourceAttachment (or sourceReference)",
        });
    };
    let Some(hash) = a.get("hash").and_then(Value::as_str) else {
        return Err(EvidenceProblem {
            path: "Consent.sourceAttachment.hash",
            message: "the consent's evidence needs its SHA-1 hash",
        });
    };
    if let Some(data) = a.get("data").and_then(Value::as_str) {
        let b64 = base64::engine::general_purpose::STANDARD;
        let bytes = b64.decode(data.trim()).map_err(|_| EvidenceProblem {
            path: "Consent.sourceAttachment.data",
            message: "the consent's evidence is not valid base64",
        })?;
        if b64.encode(sha1::Sha1::digest(&bytes)) != hash.trim() {
            return Err(EvidenceProblem {
                path: "Consent.sourceAttachment.hash",
                message: "the hash is not the SHA-1 of the evidence's data",
            });
        }
    }
    Ok(())
}

/// The items a Consent hides: references in nested `deny` provisions' `data`.
pub fn hidden_items(c: &Value) -> Vec<String> {
    c.pointer("/provision/provision")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|p| p.get("type").and_then(Value::as_str) == Some("deny"))
        .flat_map(|p| array(p, "data"))
        .filter_map(|d| d.pointer("/reference/reference")?.as_str())
        .map(str::to_string)
        .collect()
}

fn array<'a>(v: &'a Value, key: &str) -> Vec<&'a Value> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default()
}

/// The `Organization/…` information recipients among a provision's actors.
fn recipients(p: &Value) -> Vec<String> {
    array(p, "actor")
        .into_iter()
        .filter(|a| {
            array(a.get("role").unwrap_or(&Value::Null), "coding")
                .iter()
                .any(|c| c.get("code").and_then(Value::as_str) == Some("IRCP"))
        })
        .filter_map(|a| a.pointer("/reference/reference")?.as_str())
        .filter(|r| r.starts_with("Organization/"))
        .map(str::to_string)
        .collect()
}

/// Seconds since the epoch of a FHIR date or dateTime (its start).
pub fn time_of(s: &str) -> Option<Time> {
    fhir::time::parse_range(s).map(|(lo, _)| lo.div_euclid(1000))
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{Expect, expect};
    use serde_json::json;

    #[track_caller]
    fn check(c: Value, expect: Expect) {
        let out = match consent_fact(&c) {
            Ok(Some(f)) => format!(
                "{} {:?} given {} expires {:?} orgs {:?} excluded {:?} sensitive {:?} {:?} hidden {:?}",
                f.id,
                f.state,
                fhir::time::format_instant(f.given * 1000),
                f.expires.map(|e| fhir::time::format_instant(e * 1000)),
                f.organizations,
                f.excluded,
                f.sensitive,
                f.grantor,
                hidden_items(&c),
            ),
            Ok(None) => "states nothing".into(),
            Err(e) => format!("unreadable: {e:?}"),
        };
        expect.assert_eq(&out);
    }

    fn ircp(org: &str) -> Value {
        json!({"role": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "IRCP"}]},
               "reference": {"reference": org}})
    }

    /// What the pages write reads back as what was decided, with its evidence sound.
    #[test]
    fn a_decision_made_on_a_page_reads_back() {
        let excluded = vec!["Organization/h7".to_string()];
        let mut c = consent_resource(&Decision {
            patient: "Patient/p1",
            permit: true,
            excluded: &excluded,
            sensitive: &[Category::MentalHealth, Category::HivSti],
            given: "2026-12-01T09:30:00+08:00",
            lapses: "2029-12-01",
            recorded_at: Some("Organization/h2"),
            evidence: ("text/plain", "statement", b"I agree"),
        });
        c["id"] = json!("new");
        assert_eq!(check_evidence(&c), Ok(()));
        check(
            c,
            expect![[
                r#"Consent/new Permit given 2026-12-01T01:30:00.000Z expires Some("2029-12-02T00:00:00.000Z") orgs [] excluded ["Organization/h7"] sensitive [MentalHealth, HivSti] Patient hidden []"#
            ]],
        );
    }

    #[test]
    fn consents() {
        // As the synthetic region records them: a permit excluding one hospital, sharing
        // mental health, given by a guardian.
        check(
            json!({"resourceType": "Consent", "id": "c1", "status": "active",
            "patient": {"reference": "Patient/p1"}, "dateTime": "2025-03-01T09:30:00+08:00",
            "performer": [{"identifier": {"value": "x"}, "display": "guardian"}],
            "provision": {"type": "permit", "period": {"start": "2025-03-01", "end": "2028-03-01"},
              "provision": [
                {"type": "deny", "actor": [ircp("Organization/h7")]},
                {"type": "permit", "securityLabel": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "PSY"}]},
                {"type": "deny", "data": [{"meaning": "instance", "reference": {"reference": "Observation/o9"}}]}
              ]}}),
            expect![[
                r#"Consent/c1 Permit given 2025-03-01T01:30:00.000Z expires Some("2028-03-02T00:00:00.000Z") orgs [] excluded ["Organization/h7"] sensitive [MentalHealth] Guardian hidden ["Observation/o9"]"#
            ]],
        );
        check(
            json!({"resourceType": "Consent", "id": "c2", "status": "active",
                   "patient": {"reference": "Patient/p1"}, "performer": [{"reference": "Patient/p1"}],
                   "provision": {"type": "deny", "period": {"start": "2025-03-01"}}}),
            expect![
                "Consent/c2 Deny given 2025-03-01T00:00:00.000Z expires None orgs [] excluded [] sensitive [] Patient hidden []"
            ],
        );
        check(
            json!({"resourceType": "Consent", "id": "c3", "status": "inactive", "dateTime": "2025-03-01",
                   "provision": {"type": "permit", "actor": [ircp("Organization/h1"), ircp("Organization/h2")]}}),
            expect![[
                r#"Consent/c3 Withdrawn given 2025-03-01T00:00:00.000Z expires None orgs ["Organization/h1", "Organization/h2"] excluded [] sensitive [] Patient hidden []"#
            ]],
        );
        check(
            json!({"resourceType": "Consent", "id": "c4", "status": "draft", "dateTime": "2025-03-01"}),
            expect!["states nothing"],
        );
        check(
            json!({"resourceType": "Consent", "id": "c5", "status": "active"}),
            expect!["unreadable: NoDate"],
        );
        check(
            json!({"resourceType": "Patient", "id": "p"}),
            expect!["unreadable: NotAConsent"],
        );
    }

    #[test]
    fn evidence() {
        // The SHA-1 of the bytes "scan" is /6nCTGgj4n9A2aKWWl6I2hhVecE=.
        let consent = |attachment: Value| {
            let mut c = json!({"resourceType": "Consent", "status": "active",
                "scope": {"coding": [{"code": "patient-privacy"}]}});
            if !attachment.is_null() {
                c["sourceAttachment"] = attachment;
            }
            c
        };
        let cases = [
            json!({"data": "c2Nhbg==", "hash": "/6nCTGgj4n9A2aKWWl6I2hhVecE="}),
            json!({"data": "c2Nhbg==", "hash": "AAAAAAAAAAAAAAAAAAAAAAAAAAA="}),
            json!({"data": "not base64!", "hash": "/6nCTGgj4n9A2aKWWl6I2hhVecE="}),
            json!({"contentType": "application/pdf", "hash": "/6nCTGgj4n9A2aKWWl6I2hhVecE="}),
            json!({"data": "c2Nhbg=="}),
            Value::Null,
        ];
        let out: Vec<String> = cases
            .into_iter()
            .map(|a| match check_evidence(&consent(a)) {
                Ok(()) => "ok".to_string(),
                Err(p) => format!("{}: {}", p.path, p.message),
            })
            .collect();
        expect![[r#"
            ok
            Consent.sourceAttachment.hash: the hash is not the SHA-1 of the evidence's data
            Consent.sourceAttachment.data: the consent's evidence is not valid base64
            ok
            Consent.sourceAttachment.hash: the consent's evidence needs its SHA-1 hash
            Consent.sourceAttachment: an active consent to share needs its evidence: the scanned agreement or the signature, as sourceAttachment (or sourceReference)
        "#]].assert_eq(&(out.join("\n") + "\n"));
        // A withdrawal needs no evidence to be recorded.
        let mut withdrawn = consent(Value::Null);
        withdrawn["status"] = json!("inactive");
        assert_eq!(check_evidence(&withdrawn), Ok(()));
    }
}
