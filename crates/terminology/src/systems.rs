//! Canonical URLs of the code and identifier systems Yilian uses, in one place. Standard
//! systems use their HL7-registered URLs; identifiers follow WS/T 500's OIDs where it has one;
//! Yilian's own systems live under `https://yilian.health/fhir/`.

pub const ICD10: &str = "http://hl7.org/fhir/sid/icd-10";
pub const ICD9CM: &str = "http://hl7.org/fhir/sid/icd-9-cm";
pub const LOINC: &str = "http://loinc.org";
pub const SNOMED: &str = "http://snomed.info/sct";
pub const UCUM: &str = "http://unitsofmeasure.org";
pub const ATC: &str = "http://www.whocc.no/atc";
pub const DICOM_DCM: &str = "http://dicom.nema.org/resources/ontology/DCM";
/// Yilian's drug product codes (`Drug::code`).
pub const DRUG: &str = "https://yilian.health/fhir/CodeSystem/drug";
pub const V3_ACT_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
pub const V3_OBSERVATION_INTERPRETATION: &str =
    "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation";
pub const V2_0203: &str = "http://terminology.hl7.org/CodeSystem/v2-0203";

/// 居民身份证号 (resident identity card number), WS/T 500's OID.
pub const RESIDENT_ID: &str = "urn:oid:2.16.156.10011.1.3";
/// 门(急)诊号, an outpatient number; each hospital's own values, told apart by assigner.
pub const OUTPATIENT_NO: &str = "urn:oid:2.16.156.10011.1.11";
/// 住院号, an inpatient number.
pub const INPATIENT_NO: &str = "urn:oid:2.16.156.10011.1.12";
/// Social medical insurance number (医保号).
pub const INSURANCE_NO: &str = "https://yilian.health/fhir/sid/insurance";
/// A hospital's medical record number system: `{MRN_PREFIX}{hospital id}`.
pub const MRN_PREFIX: &str = "https://yilian.health/fhir/sid/mrn/";
/// Organization identifiers: the unified social credit code (统一社会信用代码).
pub const SOCIAL_CREDIT_CODE: &str = "urn:oid:2.16.156.10011.1.5";
/// A hospital's local code systems: `{LOCAL_PREFIX}{hospital id}/{drug|lab|exam}`.
pub const LOCAL_PREFIX: &str = "https://yilian.health/fhir/CodeSystem/local/";
/// The mutual-recognition ("HR") mark on lab and exam results, as a `meta.tag`.
pub const MUTUAL_RECOGNITION: &str = "https://yilian.health/fhir/CodeSystem/mutual-recognition";
/// Clinical departments by the national list of clinical departments (诊疗科目代码).
pub const DEPARTMENT: &str = "https://yilian.health/fhir/CodeSystem/department";
/// Practitioner licence numbers (医师执业证书编码).
pub const PRACTITIONER_LICENCE: &str = "https://yilian.health/fhir/sid/practitioner-licence";
