//! A registration as the index sees it: a hospital's Patient resource reduced to normalized
//! fields. Everything is optional, because hospitals leave anything out; what is
//! contradictory (an ID whose birth date or sex disagrees with the record) is flagged, not
//! trusted.

/// A birth date as registered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Birth {
    pub year: u16,
    pub month: u8,
    pub day: u8,
}

impl Birth {
    /// Parses `YYYY-MM-DD` (a FHIR date; partial dates give `None`).
    pub fn parse(s: &str) -> Option<Birth> {
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let year = s[0..4].parse().ok()?;
        let month = s[5..7].parse().ok()?;
        let day = s[8..10].parse().ok()?;
        ((1..=12).contains(&month) && (1..=31).contains(&day)).then_some(Birth { year, month, day })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Sex {
    Male,
    Female,
}

/// What the resident ID field of a registration turned out to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IdStatus {
    Missing,
    /// A valid 18-digit number agreeing with the birth date and sex registered.
    Valid,
    /// A valid 15-digit number, upgraded to 18 digits.
    Upgraded,
    /// Not a valid number (bad check digit, impossible date, wrong length).
    Invalid,
    /// Valid, but its birth date or sex disagrees with the registration's.
    Contradicts,
    /// A number under a scheme without a check to verify it (another country's): equal
    /// values agree exactly, but it never links on its own nor blocks a merge.
    Unchecked,
}

/// One registration, normalized.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// `Patient/{id}`.
    pub key: String,
    /// The registering hospital (`Organization/{id}`).
    pub source: String,
    /// Family and given names in simplified characters, when written in characters.
    pub family: Option<String>,
    pub given: Option<String>,
    /// Toneless lowercase pinyin of the family and given names (from the characters, or as
    /// written when only pinyin was registered).
    pub family_py: Option<String>,
    pub given_py: Option<String>,
    pub birth: Option<Birth>,
    pub sex: Option<Sex>,
    /// The 18-digit resident ID (upgraded from 15 digits), even when it contradicts the
    /// record; `id_status` says how far to trust it. `None` when missing or invalid; the
    /// raw invalid value is in `id_raw` for typo comparison.
    pub resident_id: Option<String>,
    pub id_raw: Option<String>,
    pub id_status: IdStatus,
    pub insurance: Option<String>,
    /// Normalized mobile or landline number.
    pub phone: Option<String>,
    /// Normalized address text (simplified, folded, without the province and city).
    pub address: Option<String>,
    /// The postal code of that address, digits only.
    pub postcode: Option<String>,
    /// A newborn's placeholder name (之子, 之女, 婴儿): not the person's name.
    pub placeholder: bool,
    /// Registered as one of a multiple birth.
    pub multiple_birth: bool,
}

impl Record {
    /// Reads a FHIR Patient resource (JSON). `None` if it is not a Patient with an id.
    pub fn from_patient(patient: &serde_json::Value) -> Option<Record> {
        crate::normalize::record_from_patient(patient)
    }
}
