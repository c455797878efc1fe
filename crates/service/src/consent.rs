//! The patient's own decisions. Consent from the pages: a patient's own decision (share,
//! share but not with some hospitals, refuse), or a clinician capturing it at the hospital
//! with the signed paper's scan or the on-screen signature as evidence. Either way a FHIR
//! Consent is written through the one write path (validated, audited as a consent change),
//! and the shared record obeys it from the next read. And the counter: hospital staff who
//! have checked a patient's ID card act for them, under their own name.

use crate::{Caller, Error, Service, Stored};
use audit::Action;
use policy::Role;
use store::WriteOp;

/// How long a consent given here lasts before it must be renewed, in days.
pub const CONSENT_DAYS: i64 = 3 * 365;

/// A consent decision as the pages submit it.
#[derive(Clone, Debug)]
pub struct Consenting {
    pub permit: bool,
    /// `Organization/{id}`s excluded from sharing.
    pub excluded: Vec<String>,
    /// Sensitive categories shared as well.
    pub sensitive: Vec<policy::Category>,
    /// Media type, title and bytes of the evidence.
    pub evidence: (String, String, Vec<u8>),
}

impl Service {
    /// Records `decision` for the person registered as `Patient/{patient_id}`, at `now`
    /// (seconds since the epoch). A patient decides for their own records; a clinician
    /// records a decision at their hospital, with its evidence.
    pub fn record_consent(
        &self,
        caller: &Caller,
        patient_id: &str,
        decision: &Consenting,
        now: i64,
    ) -> Result<Stored, Error> {
        let result = self.record_consent_unaudited(caller, patient_id, decision, now);
        self.refused(
            caller,
            Action::Consent,
            &format!("Patient/{patient_id}"),
            result,
        )
    }

    fn record_consent_unaudited(
        &self,
        caller: &Caller,
        patient_id: &str,
        decision: &Consenting,
        now: i64,
    ) -> Result<Stored, Error> {
        let (_, registrations) = self.linked(patient_id)?;
        let recorded_at = match caller {
            Caller::User(p) if p.caller.role == Role::Patient => {
                let own = self
                    .own_registrations(caller)
                    .transpose()?
                    .unwrap_or_default();
                if !own.iter().any(|r| registrations.contains(r)) {
                    return Err(Error::Forbidden(
                        "a patient records consent for their own records".to_string(),
                    ));
                }
                None
            }
            _ => match caller.clinician() {
                Some(c) => c.organization.clone(),
                None => {
                    return Err(Error::Forbidden(
                        "consent is recorded by the patient or by a clinician at a hospital"
                            .to_string(),
                    ));
                }
            },
        };
        for org in &decision.excluded {
            if !org.starts_with("Organization/")
                || !fhir::is_valid_id(&org["Organization/".len()..])
            {
                return Err(Error::BadOperation(
                    "an excluded hospital is named Organization/{id}".to_string(),
                ));
            }
        }
        let given = fhir::time::format_instant(now * 1000);
        let lapses = fhir::time::format_instant((now + CONSENT_DAYS * 86_400) * 1000);
        let patient = format!("Patient/{patient_id}");
        let (content_type, title, bytes) = &decision.evidence;
        let resource = policy::consent_resource(&policy::ConsentDecision {
            patient: &patient,
            permit: decision.permit,
            excluded: &decision.excluded,
            sensitive: &decision.sensitive,
            given: &given,
            lapses: &lapses[..10],
            recorded_at: recorded_at.as_deref(),
            evidence: (content_type, title, bytes),
        });
        let body = serde_json::to_vec(&resource).map_err(|e| Error::Internal(e.to_string()))?;
        let resource = self.parse_resource(&Caller::System, "Consent", &body)?;
        let w = self.write_one(
            caller,
            WriteOp::Create {
                resource,
                if_none_exist: None,
            },
        )?;
        Ok(w.stored)
    }

    /// The consents on file for the person registered as `Patient/{patient_id}`, newest
    /// first: for the patient themself, or an administrator.
    pub fn consents(&self, caller: &Caller, patient_id: &str) -> Result<Vec<Stored>, Error> {
        let result = (|| {
            let (_, registrations) = self.linked(patient_id)?;
            match self.own_registrations(caller).transpose()? {
                Some(own) if own.iter().any(|r| registrations.contains(r)) => {}
                Some(_) => {
                    return Err(Error::Forbidden(
                        "a patient reads their own consents".to_string(),
                    ));
                }
                None if caller.operates() => {}
                None => {
                    return Err(Error::Forbidden(
                        "consents are read by the patient; clinicians meet them in the shared record"
                            .to_string(),
                    ));
                }
            }
            let patients = registrations.join(",");
            let mut found = self.search_all("Consent", &[("patient", patients.as_str())])?;
            found.sort_by_key(|s| std::cmp::Reverse(s.last_updated));
            Ok(found)
        })();
        self.account(
            caller,
            Action::Search,
            vec![format!("Patient/{patient_id}/consents")],
            result,
            |found, r| {
                r.patient = Some(format!("Patient/{patient_id}"));
                r.count = Some(found.len() as u64);
            },
        )
    }
}

impl Service {
    /// Counter mode: a member of a hospital's staff (`caller`), having checked the ID card of
    /// the person with `resident_id` in person, acts for them. Returns the principal the
    /// pages then act as: the patient's rights over their own records, with the staff
    /// member as the agent every audit record names. The start is itself recorded.
    pub fn act_for(&self, caller: &Caller, resident_id: &str) -> Result<auth::Principal, Error> {
        let result = (|| {
            let staff = caller.clinician().cloned().ok_or_else(|| {
                Error::Forbidden("counter service is for hospital staff".to_string())
            })?;
            let Caller::User(p) = caller else {
                return Err(Error::Forbidden(
                    "counter service is for hospital staff".into(),
                ));
            };
            let source = format!(
                "{}|{}",
                terminology::systems::RESIDENT_ID,
                resident_id.trim()
            );
            let query = self.condition("Patient", &[("identifier".to_string(), source)])?;
            let found = self.store.search(&query)?;
            let first = found.matches.first().ok_or(Error::IdentifierNotFound)?;
            let (person, _) = self.linked(&first.id)?;
            Ok((
                auth::Principal {
                    caller: policy::Caller {
                        role: Role::Patient,
                        purpose: policy::Purpose::PatientAccess,
                        organization: staff.organization.clone(),
                        practitioner: staff.practitioner.clone(),
                        person: Some(person),
                    },
                    subject: format!("{} (counter, for the patient)", p.subject),
                    client: None,
                },
                first.id.clone(),
            ))
        })();
        self.account(
            caller,
            Action::SignIn,
            vec!["counter: acting for a patient after an ID card check".into()],
            result,
            |(_, patient), r| r.patient = Some(format!("Patient/{patient}")),
        )
        .map(|(p, _)| p)
    }

    /// The registrations (`Patient/{id}`) of the person a patient caller is.
    pub fn own_patients(&self, caller: &Caller) -> Result<Vec<String>, Error> {
        self.own_registrations(caller)
            .unwrap_or_else(|| Err(Error::Forbidden("these pages are for patients".into())))
    }
}
