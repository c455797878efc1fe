//! A person's registration at one hospital: the Patient resource that hospital holds, with
//! its own record number and the clerical errors hospitals really make, each at its
//! configured rate. The errors applied are recorded in the ground truth as labels.

use crate::build::{self, Resource, coding, reference};
use crate::config::Config;
use crate::date::Date;
use crate::hospitals::Hospital;
use crate::household::Person;
use crate::j;
use crate::json::Json;
use crate::noise;
use crate::people::Sex;
use crate::rng::Rng;
use terminology::systems;

/// One registration, as the ground truth records it.
#[derive(Clone, Debug)]
pub struct Registration {
    pub hospital: &'static Hospital,
    /// 0 for the first registration at this hospital, 1 for a duplicate.
    pub k: u64,
    pub patient_id: String,
    pub mrn: String,
    pub noise: Vec<&'static str>,
}

const NAME_REPRESENTATION: &str =
    "http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation";

/// Registers `person` (of `household`) at `hospital` on `day`.
pub fn register(
    config: &Config,
    rng: &mut Rng,
    household: &[Person],
    person: &Person,
    hospital: &'static Hospital,
    k: u64,
    day: Date,
) -> (Registration, Resource) {
    let r = &config.rates;
    let patient_id = build::opaque_id(hospital.id, config.seed, person.number, 1_000_000 + k);
    let mrn = mrn(hospital, person.number, k);
    let mut noise = Vec::new();

    // A newborn is registered at birth under a placeholder: the mother's name and 之子/之女.
    let placeholder = person.newborn && day.0 - person.birth.0 < 60;
    let mut names = Vec::new();
    if placeholder {
        noise.push("newborn_placeholder");
        let text = match household.first() {
            Some(m) if rng.chance(0.8) => format!(
                "{}{}",
                m.name.full(),
                if person.sex == Sex::Male {
                    "之子"
                } else {
                    "之女"
                }
            ),
            _ => format!("{}婴儿", person.name.family),
        };
        names.push(j!({"use": "temp", "text": text}));
    } else {
        let roll = rng.unit();
        let full = person.name.full();
        let (family, given) = (person.name.family.clone(), person.name.given.clone());
        if roll < r.pinyin_name {
            noise.push("pinyin_name");
            let text = noise::pinyin_only(&person.name);
            names.push(j!({"use": "official", "text": text,
                "family": person.name.family_py.to_uppercase(), "given": [person.name.given_py.to_uppercase()]}));
        } else {
            let (text, family, given) = if roll < r.pinyin_name + r.homophone {
                match noise::homophone(rng, &full) {
                    Some(t) => {
                        noise.push("homophone");
                        split(&t, family.chars().count())
                    }
                    None => (full, family, given),
                }
            } else if roll < r.pinyin_name + r.homophone + r.traditional {
                match noise::traditional(&full) {
                    Some(t) => {
                        noise.push("traditional");
                        split(&t, family.chars().count())
                    }
                    None => (full, family, given),
                }
            } else {
                (full, family, given)
            };
            names.push(
                j!({"extension": [{"url": NAME_REPRESENTATION, "valueCode": "IDE"}],
                "use": "official", "text": text, "family": family, "given": [given]}),
            );
            if rng.chance(0.6) {
                names.push(
                    j!({"extension": [{"url": NAME_REPRESENTATION, "valueCode": "SYL"}],
                    "use": "usual", "text": person.name.pinyin(),
                    "family": person.name.family_py, "given": [person.name.given_py]}),
                );
            }
        }
    }

    let mut identifiers = vec![j!({
        "use": "usual",
        "type": {"coding": [coding(systems::V2_0203, "MR", "Medical record number")]},
        "system": hospital.mrn_system(),
        "value": mrn,
        "assigner": {"reference": format!("Organization/{}", hospital.id), "display": hospital.zh}
    })];
    let roll = rng.unit();
    let resident_id = if placeholder {
        None
    } else if roll < r.missing_id {
        noise.push("missing_id");
        None
    } else if roll < r.missing_id + r.id_typo {
        noise.push("id_typo");
        Some(noise::mistype_id(rng, &person.resident_id))
    } else if roll < r.missing_id + r.id_typo + r.legacy_id && person.birth.year() < 2000 {
        noise.push("legacy_id");
        Some(crate::people::legacy_15(&person.resident_id))
    } else {
        Some(person.resident_id.clone())
    };
    if let Some(id) = resident_id {
        identifiers.push(j!({
            "use": "official",
            "type": {"coding": [coding(systems::V2_0203, "NI", "National unique individual identifier")], "text": "居民身份证"},
            "system": systems::RESIDENT_ID,
            "value": id
        }));
    }
    if let Some(ins) = &person.insurance
        && rng.chance(0.7)
    {
        {
            identifiers.push(j!({
                "use": "secondary",
                "type": {"coding": [coding(systems::V2_0203, "SN", "Subscriber Number")], "text": "医保号"},
                "system": systems::INSURANCE_NO,
                "value": ins
            }));
        }
    }

    let mut birth = person.birth;
    if !placeholder
        && rng.chance(r.swapped_date)
        && let Some(swapped) = noise::swap_month_day(birth)
    {
        noise.push("swapped_date");
        birth = swapped;
    }

    // Another household member's phone, when there is one that differs.
    let other_phone = household
        .iter()
        .filter(|o| o.number != person.number)
        .find_map(|o| o.phone.clone().filter(|p| Some(p) != person.phone.as_ref()));
    let phone = if rng.chance(r.missing_phone) {
        noise.push("missing_phone");
        None
    } else if person.own_phone && other_phone.is_some() && rng.chance(r.family_phone) {
        noise.push("family_phone");
        other_phone
    } else {
        person.phone.clone()
    };

    let address = (!placeholder && rng.chance(0.97)).then(|| {
        j!([{
            "use": "home",
            "text": format!("{}{}{}", person.home.city, person.home.district, person.address),
            "line": [person.address],
            "city": person.home.city,
            "district": person.home.district,
            "state": person.home.province,
            "country": "CN"
        }])
    });
    let multiple_birth = person.twin.and_then(|t| {
        (placeholder || rng.chance(0.3)).then(|| {
            if household[t].number < person.number {
                2u8
            } else {
                1
            }
        })
    });
    let contact = person.guardian.and_then(|g| household.get(g)).filter(|g| g.number != person.number).map(|g| {
        let telecom: Vec<Json> = g.phone.iter().map(|p| j!({"system": "phone", "value": p})).collect();
        j!([{
            "relationship": [{"coding": [coding("http://terminology.hl7.org/CodeSystem/v2-0131", "N", "Next-of-Kin")],
                              "text": if g.sex == Sex::Female { "母亲" } else { "父亲" }}],
            "name": {"text": g.name.full()},
            "telecom": telecom
        }])
    });
    let patient = j!({
        "resourceType": "Patient",
        "id": patient_id,
        "identifier": identifiers,
        "active": true,
        "name": names,
        "telecom"?: phone.map(|p| j!([{"system": "phone", "value": p, "use": "mobile"}])),
        "gender": person.sex.fhir(),
        "birthDate": birth.to_string(),
        "address"?: address,
        "multipleBirthInteger"?: multiple_birth,
        "contact"?: contact,
        "managingOrganization": reference("Organization", hospital.id)
    });
    let resource = Resource::new("Patient", &patient_id, patient);
    let reg = Registration {
        hospital,
        k,
        patient_id,
        mrn,
        noise,
    };
    (reg, resource)
}

/// A hospital's record number for the `k`th registration of person `number`: its own
/// prefix and width, from a bijection of the person number, so numbers look sequential to
/// no one and never collide.
fn mrn(h: &Hospital, number: u64, k: u64) -> String {
    let width = h.mrn.1.max(9) as u32;
    let modulus = 10u64.pow(width);
    let n = (k * 100_000_000 + number) % modulus;
    // 7_368_787 is prime, so coprime with 10^width: the map is a bijection.
    let scrambled = (n.wrapping_mul(7_368_787) + h.number() as u64 * 1_000_003) % modulus;
    format!("{}{:0w$}", h.mrn.0, scrambled, w = width as usize)
}

/// Splits a full name back into family and given parts.
fn split(full: &str, family_chars: usize) -> (String, String, String) {
    let family: String = full.chars().take(family_chars).collect();
    let given: String = full.chars().skip(family_chars).collect();
    (full.to_string(), family, given)
}
