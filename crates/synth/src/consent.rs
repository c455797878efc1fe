//! The person's consent to share their records across the region (FHIR Consent), as it was
//! captured at a hospital counter: on paper (a scanned form, its hash recorded) or by an
//! electronic handwritten signature. Most people permit sharing; some opt out; some exclude
//! one hospital; people with a sensitive diagnosis sometimes share that category explicitly;
//! a guardian consents for a child under 14. Some consents expire or have been withdrawn.

use crate::build::{self, Resource, coding, reference};
use crate::config::Config;
use crate::date::Date;
use crate::hospitals::{HOSPITALS, Hospital};
use crate::household::Person;
use crate::j;
use crate::json::Json;
use crate::rng::Rng;
use terminology::{Sensitivity, systems};

/// A person's choice, as the ground truth records it.
#[derive(Clone, Debug, PartialEq)]
pub struct Choice {
    /// "permit", "opt-out" or "none" (no decision: under opt-in nothing is shared).
    pub decision: &'static str,
    pub excluded_hospital: Option<&'static str>,
    pub shared_sensitive: Option<Sensitivity>,
    pub paper: bool,
    pub guardian: bool,
    pub withdrawn: bool,
}

/// Draws the choice of `person` and, unless they made none, their Consent resource as
/// recorded at `hospital` for their registration `patient` on `day`.
#[allow(clippy::too_many_arguments)]
pub fn consent(
    config: &Config,
    rng: &mut Rng,
    ids: &mut crate::clinical::Ids,
    guardian: Option<&Person>,
    sensitive: Option<Sensitivity>,
    hospital: &'static Hospital,
    patient: &str,
    day: Date,
) -> (Choice, Option<Resource>) {
    let r = &config.rates;
    let roll = rng.unit();
    let decision = if roll < r.consent_permit {
        "permit"
    } else if roll < r.consent_permit + r.consent_opt_out {
        "opt-out"
    } else {
        "none"
    };
    let mut choice = Choice {
        decision,
        excluded_hospital: None,
        shared_sensitive: None,
        paper: rng.chance(r.paper_consent),
        guardian: guardian.is_some(),
        withdrawn: false,
    };
    if decision == "none" {
        return (choice, None);
    }
    let permit = decision == "permit";
    if permit && rng.chance(r.restrict_hospital) {
        let others: Vec<&'static Hospital> =
            HOSPITALS.iter().filter(|h| h.id != hospital.id).collect();
        choice.excluded_hospital = Some(others[rng.below(others.len())].id);
    }
    if permit && sensitive.is_some() && rng.chance(r.share_sensitive) {
        choice.shared_sensitive = sensitive;
    }
    choice.withdrawn = rng.chance(r.withdrawn);

    let signed = build::datetime(day, 9 * 60 + rng.below(8 * 60) as u32);
    let expires = day.add_days(365 * (3 + rng.below(3) as i32));
    let evidence = if choice.paper {
        j!({
            "contentType": "application/pdf",
            "title": "区域医疗信息共享知情同意书（扫描件）",
            "size": 180_000 + rng.below(400_000),
            "hash": sha1_shaped(rng),
            "creation": signed
        })
    } else {
        j!({
            "contentType": "image/png",
            "title": "电子手写签名",
            "size": 8_000 + rng.below(30_000),
            "hash": sha1_shaped(rng),
            "creation": signed
        })
    };
    let performer = match guardian {
        Some(g) => j!({
            "identifier": {"system": systems::RESIDENT_ID, "value": g.resident_id},
            "display": format!("{}（监护人）", g.name.full())
        }),
        None => reference("Patient", patient),
    };
    let mut nested: Vec<Json> = Vec::new();
    if let Some(h) = choice.excluded_hospital {
        nested.push(j!({
            "type": "deny",
            "actor": [{
                "role": {"coding": [coding("http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "IRCP", "information recipient")]},
                "reference": reference("Organization", h)
            }]
        }));
    }
    if let Some(label) = crate::clinical::security(choice.shared_sensitive) {
        nested.push(j!({"type": "permit", "securityLabel": [label]}));
    }
    let id = ids.next(hospital);
    let resource = j!({
        "resourceType": "Consent",
        "id": id,
        "status": if choice.withdrawn { "inactive" } else { "active" },
        "scope": {"coding": [coding("http://terminology.hl7.org/CodeSystem/consentscope", "patient-privacy", "Privacy Consent")]},
        "category": [{"coding": [coding(systems::LOINC, "59284-0", "Patient Consent")]}],
        "patient": reference("Patient", patient),
        "dateTime": signed,
        "performer": [performer],
        "organization": [reference("Organization", hospital.id)],
        "sourceAttachment": evidence,
        "policyRule": {"coding": [coding(systems::V3_ACT_CODE, if permit { "OPTIN" } else { "OPTOUT" },
            if permit { "opt-in" } else { "opt-out" })]},
        "provision": {
            "type": if permit { "permit" } else { "deny" },
            "period": {"start": day.to_string(), "end": expires.to_string()},
            "provision"?: (!nested.is_empty()).then_some(&nested)
        }
    });
    (choice, Some(Resource::new("Consent", &id, resource)))
}

/// A base64 SHA-1-sized hash. The scan and signature images are not generated, so the hash
/// stands for one; Yilian's consent capture computes real ones.
fn sha1_shaped(rng: &mut Rng) -> String {
    let mut bytes = [0u8; 20];
    for chunk in bytes.chunks_mut(8) {
        let n = rng.next_u64().to_le_bytes();
        chunk.copy_from_slice(&n[..chunk.len()]);
    }
    build::base64(&bytes)
}
