//! The category of a resource for sharing: general clinical data, allergies (always shown to
//! a treating clinician), and the sensitive categories Chinese law says need their own
//! explicit consent. A resource's security labels speak first (a hospital that marks a
//! record as psychiatric is believed); otherwise its ICD-10 codes decide.

use serde_json::Value;
use terminology::systems;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    General,
    Allergy,
    MentalHealth,
    /// HIV and other sexually transmitted infections.
    HivSti,
    Reproductive,
    Genetic,
}

impl Category {
    pub const ALL: [Category; 6] = [
        Category::General,
        Category::Allergy,
        Category::MentalHealth,
        Category::HivSti,
        Category::Reproductive,
        Category::Genetic,
    ];

    /// Needs the patient's explicit consent of its own.
    pub fn is_sensitive(self) -> bool {
        !matches!(self, Category::General | Category::Allergy)
    }

    /// The code a Consent's `provision.class` or `provision.code` uses for the category.
    pub fn code(self) -> &'static str {
        match self {
            Category::General => "general",
            Category::Allergy => "allergy",
            Category::MentalHealth => "mental-health",
            Category::HivSti => "hiv-sti",
            Category::Reproductive => "reproductive",
            Category::Genetic => "genetic",
        }
    }

    pub fn from_code(code: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.code() == code)
    }

    /// The category's bit in [`Categories::bits`].
    pub fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// The categories one resource falls in: never empty. A resource with a psychiatric and an
/// HIV code is in both, and shown only where both are allowed.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Categories(u8);

impl Categories {
    pub fn of(list: &[Category]) -> Categories {
        let bits = list.iter().fold(0, |b, c| b | c.bit());
        Categories(if bits == 0 {
            Category::General.bit()
        } else {
            bits
        })
    }

    pub fn contains(self, c: Category) -> bool {
        self.0 & c.bit() != 0
    }

    pub fn iter(self) -> impl Iterator<Item = Category> {
        Category::ALL.into_iter().filter(move |c| self.contains(*c))
    }

    /// The bits, for storing beside a resource and filtering in a query.
    pub fn bits(self) -> u8 {
        self.0
    }

    pub fn from_bits(bits: u8) -> Categories {
        Categories::of(
            &Category::ALL
                .into_iter()
                .filter(|c| bits & c.bit() != 0)
                .collect::<Vec<_>>(),
        )
    }
}

impl std::fmt::Debug for Categories {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<String> = self.iter().map(|c| format!("{c:?}")).collect();
        write!(f, "{}", names.join("+"))
    }
}

/// The system of [`Category::code`].
pub const SYSTEM: &str = "https://yilian.health/fhir/CodeSystem/data-category";

/// HL7 v3 ActCode sensitivity labels (`meta.security`) and the category each names.
const LABELS: [(&str, Category); 9] = [
    ("PSY", Category::MentalHealth),
    ("PSYTHPN", Category::MentalHealth),
    ("BH", Category::MentalHealth),
    ("ETH", Category::MentalHealth),
    ("HIV", Category::HivSti),
    ("STD", Category::HivSti),
    ("SEX", Category::Reproductive),
    ("SDV", Category::Reproductive),
    ("GDIS", Category::Genetic),
];

const ACT_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";

/// The categories of one resource: each sensitive category a security label or an ICD-10
/// code it carries names, and Allergy for an AllergyIntolerance; General when none.
pub fn category_of(resource: &Value) -> Categories {
    let labels = resource
        .pointer("/meta/security")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| label_category(c.get("system")?.as_str()?, c.get("code")?.as_str()?));
    let mut codes = Vec::new();
    icd10_codes(resource, &mut codes);
    let by_code = codes.iter().filter_map(|c| sensitive_icd10(c));
    let allergy = (resource.get("resourceType").and_then(Value::as_str)
        == Some("AllergyIntolerance"))
    .then_some(Category::Allergy);
    Categories::of(&labels.chain(by_code).chain(allergy).collect::<Vec<_>>())
}

/// The sensitive category an HL7 v3 ActCode sensitivity label names.
/// The HL7 v3 ActCode label a consent uses to share `c` (none for the general categories).
pub fn category_label(c: Category) -> Option<&'static str> {
    LABELS.iter().find(|(_, x)| *x == c).map(|(l, _)| *l)
}

/// The HL7 v3 ActCode system of the labels.
pub const LABEL_SYSTEM: &str = ACT_CODE;

pub fn label_category(system: &str, code: &str) -> Option<Category> {
    (system == ACT_CODE)
        .then(|| LABELS.iter().find(|(l, _)| *l == code).map(|(_, c)| *c))
        .flatten()
}

/// Every ICD-10 code anywhere in the resource (a Condition's code, an Encounter's reason, a
/// MedicationRequest's reasonCode...).
fn icd10_codes<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(o) => {
            if o.get("system").and_then(Value::as_str) == Some(systems::ICD10)
                && let Some(code) = o.get("code").and_then(Value::as_str)
            {
                out.push(code);
            }
            for (k, x) in o {
                if k != "text" && k != "meta" {
                    icd10_codes(x, out);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| icd10_codes(x, out)),
        _ => {}
    }
}

/// The sensitive category of an ICD-10 code, by its chapter and block.
fn sensitive_icd10(code: &str) -> Option<Category> {
    let code = code.trim().to_ascii_uppercase();
    let letter = code.chars().next()?;
    let number: u32 = code
        .get(1..3)
        .filter(|d| d.bytes().all(|b| b.is_ascii_digit()))?
        .parse()
        .ok()?;
    let within = |l: char, lo: u32, hi: u32| letter == l && (lo..=hi).contains(&number);
    if letter == 'F' {
        Some(Category::MentalHealth)
    } else if within('B', 20, 24) || within('Z', 21, 21) || within('A', 50, 64) {
        Some(Category::HivSti)
    } else if letter == 'O' || within('Z', 30, 39) || within('N', 96, 98) {
        Some(Category::Reproductive)
    } else if within('Q', 90, 99) {
        Some(Category::Genetic)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{Expect, expect};
    use serde_json::json;

    #[track_caller]
    fn check(resource: Value, expect: Expect) {
        expect.assert_eq(&format!("{:?}", category_of(&resource)));
    }

    fn condition(code: &str) -> Value {
        json!({"resourceType": "Condition", "code": {"coding": [{"system": systems::ICD10, "code": code}]}})
    }

    #[test]
    fn categories() {
        check(condition("I10"), expect!["General"]);
        check(condition("F32.9"), expect!["MentalHealth"]);
        check(condition("B20"), expect!["HivSti"]);
        check(condition("A53.9"), expect!["HivSti"]);
        check(condition("O80"), expect!["Reproductive"]);
        check(condition("Z30.0"), expect!["Reproductive"]);
        check(condition("Q90.9"), expect!["Genetic"]);
        check(condition("q91"), expect!["Genetic"]);
        check(condition(""), expect!["General"]);
        check(
            json!({"resourceType": "AllergyIntolerance", "code": {"text": "青霉素"}}),
            expect!["Allergy"],
        );
        // A reason code deep in an Encounter, and a label that outranks the code.
        check(
            json!({"resourceType": "Encounter", "reasonCode": [{"coding": [{"system": systems::ICD10, "code": "F20.0"}]}]}),
            expect!["MentalHealth"],
        );
        check(
            json!({"resourceType": "Observation", "meta": {"security": [{"system": ACT_CODE, "code": "HIV"}]}}),
            expect!["HivSti"],
        );
        // An ICD-10 code in free text is not a coding.
        check(
            json!({"resourceType": "Condition", "code": {"text": "F32"}}),
            expect!["General"],
        );
        // A label of another system is not a sensitivity label.
        check(
            json!({"resourceType": "Observation", "meta": {"security": [{"system": "urn:other", "code": "HIV"}]}}),
            expect!["General"],
        );
        // Two sensitive categories at once.
        check(
            json!({"resourceType": "Condition", "meta": {"security": [{"system": ACT_CODE, "code": "PSY"}]},
                   "code": {"coding": [{"system": systems::ICD10, "code": "B20"}]}}),
            expect!["MentalHealth+HivSti"],
        );
    }

    #[test]
    fn codes_round_trip() {
        for c in Category::ALL {
            assert_eq!(Category::from_code(c.code()), Some(c));
        }
        assert_eq!(Category::from_code("other"), None);
        for bits in 0..=u8::MAX {
            let c = Categories::from_bits(bits);
            assert_eq!(Categories::from_bits(c.bits()), c);
            assert!(c.iter().next().is_some());
        }
    }
}
