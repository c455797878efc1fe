//! One audit record: who did what to whose data, when, and how it ended. Its bytes (compact
//! JSON, fields in a fixed order) are what the log hashes; the columns a store finds records
//! by are derived from it, so a verifier can check them too.

use serde::{Deserialize, Serialize};

/// What was done. Accesses are the reads of patient data; the rest change something or
/// concern the door itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Read,
    Search,
    History,
    /// `$everything` and bulk reads: a record leaves the platform whole.
    Export,
    /// A shared-record view.
    Shared,
    BreakGlass,
    Create,
    Update,
    Delete,
    /// A batch or transaction of several writes.
    Transaction,
    /// A consent written (granted, restricted, withdrawn).
    Consent,
    /// A patient-index decision (link, unlink, merge, unmerge, re-link).
    Identity,
    SignIn,
    /// An auditor's review of an access.
    Review,
    /// Reminders fired by a CDS Hooks call, each card named.
    Reminder,
    /// A clinician's answer to a reminder: accepted, or overridden and why.
    ReminderFeedback,
}

impl Action {
    pub const ALL: [Action; 16] = [
        Action::Read,
        Action::Search,
        Action::History,
        Action::Export,
        Action::Shared,
        Action::BreakGlass,
        Action::Create,
        Action::Update,
        Action::Delete,
        Action::Transaction,
        Action::Consent,
        Action::Identity,
        Action::SignIn,
        Action::Review,
        Action::Reminder,
        Action::ReminderFeedback,
    ];

    /// The code stored and searched (`subtype` in the AuditEvent view).
    pub fn code(self) -> &'static str {
        match self {
            Action::Read => "read",
            Action::Search => "search",
            Action::History => "history",
            Action::Export => "export",
            Action::Shared => "shared",
            Action::BreakGlass => "break-glass",
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
            Action::Transaction => "transaction",
            Action::Consent => "consent",
            Action::Identity => "identity",
            Action::SignIn => "sign-in",
            Action::Review => "review",
            Action::Reminder => "reminder",
            Action::ReminderFeedback => "reminder-feedback",
        }
    }

    pub fn from_code(code: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.code() == code)
    }

    /// Whether this reads a patient's data (what the patient's access log lists).
    pub fn is_access(self) -> bool {
        matches!(
            self,
            Action::Read
                | Action::Search
                | Action::History
                | Action::Export
                | Action::Shared
                | Action::BreakGlass
        )
    }

    /// FHIR AuditEvent.action: C, R, U, D or E.
    pub fn crud(self) -> &'static str {
        match self {
            Action::Read | Action::Shared | Action::History => "R",
            Action::Create => "C",
            Action::Update
            | Action::Consent
            | Action::Identity
            | Action::Review
            | Action::ReminderFeedback => "U",
            Action::Delete => "D",
            Action::Search
            | Action::Export
            | Action::BreakGlass
            | Action::Transaction
            | Action::SignIn
            | Action::Reminder => "E",
        }
    }
}

/// FHIR AuditEvent.outcome: 0 success, 4 minor failure (refused, not found, bad request),
/// 8 serious failure (the server failed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "u8", try_from = "u8")]
pub enum Outcome {
    Success,
    Refused,
    Failed,
}

impl Outcome {
    pub fn code(self) -> u8 {
        match self {
            Outcome::Success => 0,
            Outcome::Refused => 4,
            Outcome::Failed => 8,
        }
    }
}

impl From<Outcome> for u8 {
    fn from(o: Outcome) -> u8 {
        o.code()
    }
}

impl TryFrom<u8> for Outcome {
    type Error = String;
    fn try_from(v: u8) -> Result<Outcome, String> {
        match v {
            0 => Ok(Outcome::Success),
            4 => Ok(Outcome::Refused),
            8 => Ok(Outcome::Failed),
            other => Err(format!("outcome {other} is not 0, 4 or 8")),
        }
    }
}

/// Flags the access decision knew and the anomaly reports use.
pub mod flag {
    /// Read without a treatment relationship at the caller's hospital.
    pub const NO_RELATIONSHIP: u32 = 1;
    /// Read under a break-glass grant.
    pub const BREAK_GLASS: u32 = 2;
    /// The person read is on the staff of a hospital in the region.
    pub const STAFF: u32 = 4;
}

fn is_zero(v: &u32) -> bool {
    *v == 0
}

/// One audit record. Patient data never goes here beyond references (`Patient/{id}`) and
/// the search a caller made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Milliseconds since the epoch.
    #[serde(rename = "t")]
    pub at: i64,
    #[serde(rename = "a")]
    pub action: Action,
    #[serde(rename = "o")]
    pub outcome: Outcome,
    /// `Practitioner/{id}`, `user:{name}`, `client:{id}`, `Person/{id}` or `system`.
    #[serde(rename = "who")]
    pub agent: String,
    #[serde(rename = "role", default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// `Organization/{id}`: the hospital the agent acted for.
    #[serde(rename = "org", default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    /// HL7 v3 PurposeOfUse code.
    #[serde(rename = "pou", default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    /// `Patient/{id}`: the registration the action concerned.
    #[serde(rename = "pt", default, skip_serializing_if = "Option::is_none")]
    pub patient: Option<String>,
    /// `Person/{id}`: the person it belongs to, when the index knows.
    #[serde(rename = "per", default, skip_serializing_if = "Option::is_none")]
    pub person: Option<String>,
    /// What was touched: `Type/id`, `Type/id/_history/n`, or `Type?query`.
    #[serde(rename = "e", default, skip_serializing_if = "Vec::is_empty")]
    pub entities: Vec<String>,
    /// How many resources were returned or written.
    #[serde(rename = "n", default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// Why: the refusal's rule, the break-glass reason, the review's finding.
    #[serde(rename = "why", default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(rename = "f", default, skip_serializing_if = "is_zero")]
    pub flags: u32,
}

impl Record {
    pub fn new(at: i64, action: Action, outcome: Outcome, agent: impl Into<String>) -> Record {
        Record {
            at,
            action,
            outcome,
            agent: agent.into(),
            role: None,
            organization: None,
            purpose: None,
            patient: None,
            person: None,
            entities: Vec::new(),
            count: None,
            detail: None,
            flags: 0,
        }
    }

    /// The bytes the log hashes.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a record always serializes")
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Record, String> {
        serde_json::from_slice(bytes).map_err(|e| format!("unreadable record: {e}"))
    }

    /// The columns a store finds this record by.
    pub fn columns(&self) -> Columns {
        Columns {
            at: self.at,
            patient: self.patient.clone(),
            agent: self.agent.clone(),
            organization: self.organization.clone(),
            action: self.action.code().to_string(),
            outcome: i64::from(self.outcome.code()),
        }
    }
}

/// A record's search columns, as stored beside it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Columns {
    pub at: i64,
    pub patient: Option<String>,
    pub agent: String,
    pub organization: Option<String>,
    pub action: String,
    pub outcome: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_reads_back_as_written_and_stays_compact() {
        let mut r = Record::new(
            1_795_996_800_000,
            Action::Shared,
            Outcome::Success,
            "Practitioner/d1",
        );
        r.role = Some("doctor".into());
        r.organization = Some("Organization/h1".into());
        r.purpose = Some("TREAT".into());
        r.patient = Some("Patient/p1".into());
        r.entities = vec!["Patient/p1".into()];
        r.count = Some(12);
        r.flags = flag::BREAK_GLASS | flag::NO_RELATIONSHIP;
        let bytes = r.to_bytes();
        expect_test::expect![[r#"{"t":1795996800000,"a":"shared","o":0,"who":"Practitioner/d1","role":"doctor","org":"Organization/h1","pou":"TREAT","pt":"Patient/p1","e":["Patient/p1"],"n":12,"f":3}"#]]
            .assert_eq(std::str::from_utf8(&bytes).unwrap());
        assert_eq!(Record::from_bytes(&bytes), Ok(r));
        assert!(Record::from_bytes(br#"{"t":1,"a":"shared","o":5,"who":"x"}"#).is_err());
        for a in Action::ALL {
            assert_eq!(Action::from_code(a.code()), Some(a));
        }
    }
}
