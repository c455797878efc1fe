//! Yilian's clinical knowledge tables: the code systems the region shares (ICD-10 diagnoses,
//! ICD-9-CM-3 procedures, LOINC lab items and panels, exams, drugs with their ingredients and
//! ATC classes, allergens with the free-text forms doctors write), and the canonical URLs that
//! name them. Pure data and lookups: no I/O, no clock, no randomness.
//!
//! The tables are a curated subset sized for a realistic region, not the full code systems.
//! The synthetic region draws from them; reminders (repeated medication, repeated tests, drug
//! allergy) and local-code mapping read them.

pub mod local;
pub mod systems;
mod tables;

pub use tables::{ALLERGENS, DIAGNOSES, DRUGS, EXAMS, LAB_ITEMS, LAB_PANELS, PROCEDURES};

/// A medical speciality, as hospitals and departments have them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Speciality {
    General,
    Cardiology,
    Respiratory,
    Gastroenterology,
    Endocrinology,
    Nephrology,
    Neurology,
    Oncology,
    Pediatrics,
    Obstetrics,
    Psychiatry,
    Stomatology,
    InfectiousDisease,
    Tuberculosis,
    Geriatrics,
    TraditionalChinese,
    Orthopedics,
    Ophthalmology,
    Otolaryngology,
    Dermatology,
    Urology,
    Emergency,
    Surgery,
}

impl Speciality {
    /// Every speciality, in declaration order.
    pub const ALL: [Speciality; 23] = [
        Speciality::General,
        Speciality::Cardiology,
        Speciality::Respiratory,
        Speciality::Gastroenterology,
        Speciality::Endocrinology,
        Speciality::Nephrology,
        Speciality::Neurology,
        Speciality::Oncology,
        Speciality::Pediatrics,
        Speciality::Obstetrics,
        Speciality::Psychiatry,
        Speciality::Stomatology,
        Speciality::InfectiousDisease,
        Speciality::Tuberculosis,
        Speciality::Geriatrics,
        Speciality::TraditionalChinese,
        Speciality::Orthopedics,
        Speciality::Ophthalmology,
        Speciality::Otolaryngology,
        Speciality::Dermatology,
        Speciality::Urology,
        Speciality::Emergency,
        Speciality::Surgery,
    ];
}

/// A category of data Chinese law treats as sensitive: it needs the patient's own explicit
/// consent before it is shared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Sensitivity {
    MentalHealth,
    HivSti,
    Reproductive,
    Genetic,
}

/// A diagnosis (ICD-10), with what usually comes with it: drugs, labs, exams, procedures.
#[derive(Debug)]
pub struct Diagnosis {
    pub icd10: &'static str,
    pub zh: &'static str,
    pub en: &'static str,
    /// Relative prevalence among visits for this diagnosis's specialities.
    pub weight: u32,
    /// Inclusive age range (years) of the people it is seen in.
    pub ages: (u8, u8),
    /// Chronic conditions bring the person back, often to other hospitals.
    pub chronic: bool,
    pub sensitivity: Option<Sensitivity>,
    /// Specialities that see it (a hospital of that speciality, or a general hospital's
    /// department of it).
    pub specialities: &'static [Speciality],
    /// `Drug::code`s a doctor prescribes for it.
    pub drugs: &'static [&'static str],
    /// `LabPanel::loinc`s ordered for it.
    pub labs: &'static [&'static str],
    /// `Exam::code`s ordered for it.
    pub exams: &'static [&'static str],
    /// `Procedure::icd9cm3`s done for it (surgery), if any.
    pub procedures: &'static [&'static str],
}

/// A procedure (ICD-9-CM-3, the version Chinese hospitals code surgery in).
#[derive(Debug)]
pub struct Procedure {
    pub icd9cm3: &'static str,
    pub zh: &'static str,
    pub en: &'static str,
    /// Whether it needs an admission (rather than a day procedure).
    pub inpatient: bool,
}

/// One lab item (a LOINC observation code) with its unit and reference range.
#[derive(Debug)]
pub struct LabItem {
    pub loinc: &'static str,
    pub zh: &'static str,
    pub en: &'static str,
    /// UCUM unit.
    pub unit: &'static str,
    /// Reference range of a healthy adult, in `unit`.
    pub low: f64,
    pub high: f64,
    /// Range values are drawn from, wider than the reference range so that some are abnormal.
    pub min: f64,
    pub max: f64,
    /// Decimal places the value is reported with.
    pub decimals: u8,
}

/// A lab panel (a LOINC panel code) and its items; the unit a doctor orders and a hospital
/// reports as one DiagnosticReport.
#[derive(Debug)]
pub struct LabPanel {
    pub loinc: &'static str,
    pub zh: &'static str,
    pub en: &'static str,
    /// `LabItem::loinc`s it reports.
    pub items: &'static [&'static str],
    /// Days within which another hospital's result is mutually recognized (the "HR" mark);
    /// a repeat inside this window is a repeated test. 0: not mutually recognized.
    pub recognition_days: u16,
}

/// An imaging or functional exam, reported as a DiagnosticReport and, for imaging, an
/// ImagingStudy.
#[derive(Debug)]
pub struct Exam {
    /// LOINC code of the exam (e.g. "24627-2" CT Chest).
    pub code: &'static str,
    pub zh: &'static str,
    pub en: &'static str,
    /// DICOM modality (CT, MR, DX, US, NM, XA, ECG for electrocardiograms, ...).
    pub modality: &'static str,
    /// SNOMED CT body site code and display.
    pub body_site: (&'static str, &'static str),
    pub recognition_days: u16,
    /// Report conclusion when normal, and a typical abnormal one, in Chinese.
    pub normal: &'static str,
    pub abnormal: &'static str,
}

/// A drug product: its ingredient, ATC class, and how it is usually prescribed.
#[derive(Debug)]
pub struct Drug {
    /// Product code in Yilian's drug code system (`systems::DRUG`).
    pub code: &'static str,
    pub zh: &'static str,
    pub en: &'static str,
    pub ingredient_zh: &'static str,
    pub ingredient_en: &'static str,
    /// Full 7-character ATC code of the ingredient (level 5); its first 5 characters are
    /// the chemical subgroup (level 4) repeated-medication reminders compare.
    pub atc: &'static str,
    /// Dosage form, in Chinese ("片", "胶囊", "注射液", ...) and English.
    pub form_zh: &'static str,
    pub form_en: &'static str,
    /// Strength of one unit, e.g. "0.5 g".
    pub strength: &'static str,
    /// Usual single dose (value, UCUM unit), times a day, route (SNOMED code, zh display),
    /// and days' supply of one prescription.
    pub dose: (f64, &'static str),
    pub times_per_day: u8,
    pub route: (&'static str, &'static str),
    pub days: u16,
}

/// Something people are allergic to: the ATC class or ingredient it covers and the free-text
/// forms hospitals record it in.
#[derive(Debug)]
pub struct Allergen {
    /// ATC code of the class or ingredient (e.g. "J01C" penicillins); a drug whose ATC starts
    /// with it is contraindicated.
    pub atc: &'static str,
    pub zh: &'static str,
    pub en: &'static str,
    /// Free text as written on a chart ("青霉素过敏", "PCN过敏", ...).
    pub free_text: &'static [&'static str],
    /// SNOMED CT reaction manifestations (code, zh display).
    pub reactions: &'static [(&'static str, &'static str)],
    /// Relative frequency among recorded allergies.
    pub weight: u32,
}

/// Finds a drug by its product code.
pub fn drug(code: &str) -> Option<&'static Drug> {
    DRUGS.iter().find(|d| d.code == code)
}

/// Finds a lab item by LOINC code.
pub fn lab_item(loinc: &str) -> Option<&'static LabItem> {
    LAB_ITEMS.iter().find(|i| i.loinc == loinc)
}

/// Finds a lab panel by LOINC code.
pub fn lab_panel(loinc: &str) -> Option<&'static LabPanel> {
    LAB_PANELS.iter().find(|p| p.loinc == loinc)
}

/// Finds an exam by its code.
pub fn exam(code: &str) -> Option<&'static Exam> {
    EXAMS.iter().find(|e| e.code == code)
}

/// Finds a procedure by ICD-9-CM-3 code.
pub fn procedure(code: &str) -> Option<&'static Procedure> {
    PROCEDURES.iter().find(|p| p.icd9cm3 == code)
}

/// Finds a diagnosis by ICD-10 code.
pub fn diagnosis(icd10: &str) -> Option<&'static Diagnosis> {
    DIAGNOSES.iter().find(|d| d.icd10 == icd10)
}

#[cfg(test)]
mod tests;
