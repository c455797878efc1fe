//! What a region looks like: its size, seed, date, and the rates of everything the platform
//! must cope with (registration errors, repeats the reminders must catch, consent choices).
//! The rates are settings so that tests and evaluations can turn them up or down.

use crate::date::Date;

#[derive(Clone, Debug)]
pub struct Config {
    pub seed: u64,
    pub patients: u64,
    /// "Today" for the region: the last day with records. The generator never reads the clock.
    pub today: Date,
    /// Years of history before `today`.
    pub years: u32,
    pub rates: Rates,
    /// Every hospital delivers in this format instead of its own (benchmarks load NDJSON).
    pub format: Option<crate::hospitals::Format>,
}

impl Config {
    pub fn new(seed: u64, patients: u64, today: Date) -> Config {
        Config {
            seed,
            patients,
            today,
            years: 5,
            rates: Rates::default(),
            format: None,
        }
    }

    pub fn first_day(&self) -> Date {
        self.today.add_days(-(365 * self.years as i32))
    }
}

/// Probabilities. Registration noise applies per registration (a person at a hospital); the
/// clinical repeats per person who could have one; consent choices per person.
#[derive(Clone, Debug)]
pub struct Rates {
    /// Name noise, one at most per registration.
    pub homophone: f64,
    pub pinyin_name: f64,
    pub traditional: f64,
    /// Resident ID noise, one at most per registration.
    pub id_typo: f64,
    pub legacy_id: f64,
    pub missing_id: f64,
    /// Birth date with month and day swapped (only possible when the day is at most 12).
    pub swapped_date: f64,
    pub missing_phone: f64,
    /// An adult registered with another household member's phone.
    pub family_phone: f64,
    /// A second registration at the same hospital (a new record number for the same person).
    pub same_hospital_duplicate: f64,
    /// Households with twins.
    pub twins: f64,
    /// Persons with a recorded drug allergy.
    pub allergy: f64,
    /// Of persons with a prescription: the same drug class prescribed again at another
    /// hospital within 90 days.
    pub repeat_medication: f64,
    /// Of persons with a mutually recognized lab panel: the same panel repeated at another
    /// hospital inside its recognition window.
    pub repeat_test: f64,
    /// Of persons with a recorded allergy: a drug of that class prescribed afterwards.
    pub allergy_violation: f64,
    /// Consent choices of a person (the rest made no decision).
    pub consent_permit: f64,
    pub consent_opt_out: f64,
    /// Of permits: one hospital excluded.
    pub restrict_hospital: f64,
    /// Of permits by persons with a sensitive diagnosis: that category shared explicitly.
    pub share_sensitive: f64,
    /// Of permits: given on paper (scanned) rather than by electronic signature.
    pub paper_consent: f64,
    /// Of consents: withdrawn since.
    pub withdrawn: f64,
}

impl Rates {
    /// Every rate by name, for manifests and reports.
    pub fn fields(&self) -> Vec<(String, serde_json::Value)> {
        let all = [
            ("homophone", self.homophone),
            ("pinyin_name", self.pinyin_name),
            ("traditional", self.traditional),
            ("id_typo", self.id_typo),
            ("legacy_id", self.legacy_id),
            ("missing_id", self.missing_id),
            ("swapped_date", self.swapped_date),
            ("missing_phone", self.missing_phone),
            ("family_phone", self.family_phone),
            ("same_hospital_duplicate", self.same_hospital_duplicate),
            ("twins", self.twins),
            ("allergy", self.allergy),
            ("repeat_medication", self.repeat_medication),
            ("repeat_test", self.repeat_test),
            ("allergy_violation", self.allergy_violation),
            ("consent_permit", self.consent_permit),
            ("consent_opt_out", self.consent_opt_out),
            ("restrict_hospital", self.restrict_hospital),
            ("share_sensitive", self.share_sensitive),
            ("paper_consent", self.paper_consent),
            ("withdrawn", self.withdrawn),
        ];
        all.into_iter()
            .map(|(k, v)| (k.to_string(), serde_json::json!(v)))
            .collect()
    }
}

impl Default for Rates {
    fn default() -> Rates {
        Rates {
            homophone: 0.03,
            pinyin_name: 0.01,
            traditional: 0.01,
            id_typo: 0.01,
            legacy_id: 0.02,
            missing_id: 0.05,
            swapped_date: 0.01,
            missing_phone: 0.08,
            family_phone: 0.03,
            same_hospital_duplicate: 0.02,
            twins: 0.02,
            allergy: 0.12,
            repeat_medication: 0.05,
            repeat_test: 0.05,
            allergy_violation: 0.03,
            consent_permit: 0.85,
            consent_opt_out: 0.05,
            restrict_hospital: 0.05,
            share_sensitive: 0.4,
            paper_consent: 0.3,
            withdrawn: 0.02,
        }
    }
}
