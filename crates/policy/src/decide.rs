//! The decision: may this caller read this patient's shared record, and which part of it.
//!
//! The rules, in order (the first that applies decides):
//! 1. A patient reading their own record sees all of it: hidden items and sensitive
//!    categories included, no window.
//! 2. Only clinical roles (doctor, nurse, pharmacist) read clinical data, and only for
//!    treatment or an emergency. Auditors, administrators and researchers never do here:
//!    auditors read the audit log, not the record.
//! 3. Break-glass: a doctor with an unexpired grant of their own, for an emergency, reads
//!    without consent; the access is flagged for review and the patient is notified.
//!    Sensitive categories still need the patient's explicit consent, and an explicit
//!    refusal (an opt-out or a withdrawal) holds unless the region says emergencies
//!    override it.
//! 4. Treatment needs a relationship: the patient registered or admitted at the caller's
//!    hospital within the region's number of days.
//! 5. Consent: the patient's latest consent decides. Withdrawn (inactive or rejected) or an
//!    opt-out: denied. Active and unexpired: permitted for the hospitals it names (all when
//!    it names none) and the sensitive categories it lists. No consent at all: the region's
//!    default (opt-in denies, opt-out permits without sensitive categories). A consent for a
//!    child under 14 counts only when a guardian gave it.
//!
//! A permit carries its [`Scope`]: the hospitals, categories, per-category sharing window
//! and hidden items. Allergies always show to a treating clinician, whatever the window.

use crate::category::{Categories, Category};

/// Seconds since the Unix epoch.
pub type Time = i64;

const DAY: Time = 86_400;
const HOUR: Time = 3_600;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    Doctor,
    Nurse,
    Pharmacist,
    Patient,
    Auditor,
    Admin,
    Researcher,
}

impl Role {
    pub const ALL: [Role; 7] = [
        Role::Doctor,
        Role::Nurse,
        Role::Pharmacist,
        Role::Patient,
        Role::Auditor,
        Role::Admin,
        Role::Researcher,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Role::Doctor => "doctor",
            Role::Nurse => "nurse",
            Role::Pharmacist => "pharmacist",
            Role::Patient => "patient",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
            Role::Researcher => "researcher",
        }
    }

    pub fn from_code(code: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.code() == code)
    }

    fn clinical(self) -> bool {
        matches!(self, Role::Doctor | Role::Nurse | Role::Pharmacist)
    }
}

/// Why the caller is asking: HL7 v3 PurposeOfUse codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Purpose {
    Treatment,
    Emergency,
    PatientAccess,
    Research,
    Audit,
    /// Running the platform (administrators).
    Operations,
}

impl Purpose {
    pub const ALL: [Purpose; 6] = [
        Purpose::Treatment,
        Purpose::Emergency,
        Purpose::PatientAccess,
        Purpose::Research,
        Purpose::Audit,
        Purpose::Operations,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Purpose::Treatment => "TREAT",
            Purpose::Emergency => "ETREAT",
            Purpose::PatientAccess => "PATRQT",
            Purpose::Research => "HRESCH",
            Purpose::Audit => "HCOMPL",
            Purpose::Operations => "HOPERAT",
        }
    }

    pub fn from_code(code: &str) -> Option<Purpose> {
        Purpose::ALL.into_iter().find(|p| p.code() == code)
    }
}

/// Who is calling, as their verified token says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub role: Role,
    pub purpose: Purpose,
    /// `Organization/{id}`: the hospital the caller acts for.
    pub organization: Option<String>,
    /// `Practitioner/{id}` for staff.
    pub practitioner: Option<String>,
    /// `Person/{id}` for a patient reading their own record.
    pub person: Option<String>,
}

/// The region's sharing policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Region {
    pub default: Default,
    /// A treatment relationship lasts this many days after a registration or admission.
    pub relationship_days: u32,
    /// How far back shared data goes, in days; `None` for no limit.
    pub window_days: Option<u32>,
    /// Per-category windows replacing `window_days` (allergies default to no limit).
    pub category_windows: Vec<(Category, Option<u32>)>,
    pub break_glass_hours: u32,
    /// Whether break-glass opens the record of a patient who opted out or withdrew consent.
    pub break_glass_overrides_refusal: bool,
    /// Below this age a guardian consents.
    pub guardian_below_years: u32,
}

/// What happens when a patient has never consented.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Default {
    /// Nothing is shared until the patient agrees (Beijing's pilot).
    OptIn,
    /// Shared unless the patient refuses; never the sensitive categories.
    OptOut,
}

impl std::default::Default for Region {
    fn default() -> Region {
        Region {
            default: Default::OptIn,
            relationship_days: 30,
            window_days: Some(90),
            category_windows: vec![(Category::Allergy, None)],
            break_glass_hours: 72,
            break_glass_overrides_refusal: false,
            guardian_below_years: 14,
        }
    }
}

impl Region {
    fn window(&self, c: Category) -> Option<u32> {
        self.category_windows
            .iter()
            .find(|(x, _)| *x == c)
            .map_or(self.window_days, |(_, w)| *w)
    }
}

/// A patient's Consent, reduced to what the decision needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsentFact {
    /// `Consent/{id}`.
    pub id: String,
    pub state: ConsentState,
    /// When it was given (`Consent.dateTime`).
    pub given: Time,
    /// When it ends (`provision.period.end`).
    pub expires: Option<Time>,
    /// The hospitals that may read (`provision.actor`); empty for every hospital.
    pub organizations: Vec<String>,
    /// Hospitals excluded by name: they may not read, and their items are not shown.
    pub excluded: Vec<String>,
    /// The sensitive categories explicitly agreed to.
    pub sensitive: Vec<Category>,
    pub grantor: Grantor,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConsentState {
    /// Active, permitting.
    Permit,
    /// Active, refusing: the patient opted out.
    Deny,
    /// Inactive or rejected: withdrawn.
    Withdrawn,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Grantor {
    Patient,
    Guardian,
}

/// A break-glass grant: who opened the record, until when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BreakGlass {
    pub practitioner: String,
    pub organization: String,
    pub opened: Time,
}

/// What is known about the patient (the linked person) at decision time.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Facts {
    /// `Person/{id}`.
    pub person: String,
    /// The birth date, for the guardian rule.
    pub birth: Option<Time>,
    pub consents: Vec<ConsentFact>,
    /// Items the patient hid (`Patient/…/Observation/…` references, as stored).
    pub hidden: Vec<String>,
    /// The latest registration or admission at each hospital: (`Organization/{id}`, when).
    pub seen_at: Vec<(String, Time)>,
    pub break_glass: Vec<BreakGlass>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Permit,
    Deny,
}

/// On what ground a permit stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Basis {
    OwnRecord,
    /// `Consent/{id}`.
    Consent(String),
    /// The region's opt-out default, no consent on file.
    RegionDefault,
    BreakGlass,
}

/// Why access was denied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    /// The role does not read clinical data (auditor, administrator, researcher).
    RoleNotPermitted,
    /// The purpose does not fit the role (a patient asking for treatment, a doctor for
    /// research).
    PurposeNotPermitted,
    /// A patient asking for someone else's record.
    NotOwnRecord,
    /// No registration or admission at the caller's hospital within the window.
    NoTreatmentRelationship,
    /// Opt-in region, no consent on file.
    NoConsent,
    ConsentWithdrawn,
    OptedOut,
    ConsentExpired,
    /// The consent names hospitals, not the caller's.
    HospitalNotConsented,
    /// A child's consent given by the child, not a guardian.
    GuardianRequired,
    /// An emergency without a break-glass grant of the caller's own that is still open.
    NoBreakGlass,
}

impl Reason {
    /// A short message for an OperationOutcome; never patient data.
    pub fn message(&self) -> &'static str {
        match self {
            Reason::RoleNotPermitted => "this role does not read clinical records",
            Reason::PurposeNotPermitted => "the purpose of use does not fit the role",
            Reason::NotOwnRecord => "a patient may read only their own record",
            Reason::NoTreatmentRelationship => {
                "the patient has no recent registration or admission at the caller's hospital"
            }
            Reason::NoConsent => "the patient has not consented to sharing",
            Reason::ConsentWithdrawn => "the patient withdrew consent to sharing",
            Reason::OptedOut => "the patient opted out of sharing",
            Reason::ConsentExpired => "the patient's consent to sharing has expired",
            Reason::HospitalNotConsented => {
                "the patient's consent does not include the caller's hospital"
            }
            Reason::GuardianRequired => "a child's consent must be given by a guardian",
            Reason::NoBreakGlass => "an emergency access needs an open break-glass grant",
        }
    }
}

/// What a permit covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope {
    /// `None`: every hospital.
    pub hospitals: Option<Vec<String>>,
    /// Hospitals whose items are not shown.
    pub excluded: Vec<String>,
    /// The sensitive categories included (General and Allergy always are).
    pub sensitive: Vec<Category>,
    /// The earliest date shown per category; absent or `None`: no limit.
    pub since: Vec<(Category, Option<Time>)>,
    /// Hidden items, withheld.
    pub hidden: Vec<String>,
}

/// One item of the record, as the scope sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Item<'a> {
    pub reference: &'a str,
    pub categories: Categories,
    /// `Organization/{id}`: the hospital that sent it.
    pub source: Option<&'a str>,
    /// When it happened; `None` when unknown (then the window cannot exclude it).
    pub date: Option<Time>,
}

/// Why an item was left out of a permitted record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Withheld {
    /// The patient hid it.
    PatientRestriction,
    /// A sensitive category without its own consent.
    SensitiveCategory,
    /// From a hospital the consent does not name.
    HospitalNotConsented,
    /// Older than the sharing window.
    OutsideWindow,
}

impl Withheld {
    /// "3 items withheld by the patient's restriction".
    pub fn describe(self, count: usize) -> String {
        let items = if count == 1 { "item" } else { "items" };
        let why = match self {
            Withheld::PatientRestriction => "by the patient's restriction",
            Withheld::SensitiveCategory => "as sensitive without the patient's explicit consent",
            Withheld::HospitalNotConsented => "from hospitals the patient's consent does not name",
            Withheld::OutsideWindow => "as older than the sharing window",
        };
        format!("{count} {items} withheld {why}")
    }
}

impl Scope {
    fn everything() -> Scope {
        Scope {
            hospitals: None,
            excluded: Vec::new(),
            sensitive: Category::ALL
                .into_iter()
                .filter(|c| c.is_sensitive())
                .collect(),
            since: Vec::new(),
            hidden: Vec::new(),
        }
    }

    /// Whether the item is shown, or why not (the first reason, in the order of
    /// [`Withheld`]).
    pub fn admits(&self, item: &Item) -> Result<(), Withheld> {
        if self.hidden.iter().any(|h| h == item.reference) {
            return Err(Withheld::PatientRestriction);
        }
        let sensitive_ok = item
            .categories
            .iter()
            .filter(|c| c.is_sensitive())
            .all(|c| self.sensitive.contains(&c));
        if !sensitive_ok {
            return Err(Withheld::SensitiveCategory);
        }
        if !self.admits_source(item.source) {
            return Err(Withheld::HospitalNotConsented);
        }
        if let Some(date) = item.date {
            // Shown when any of its categories' windows reaches it: an allergy with a
            // mental-health code still shows as an allergy would.
            let reaches = item.categories.iter().any(|c| match self.since(c) {
                Some(since) => date >= since,
                None => true,
            });
            if !reaches {
                return Err(Withheld::OutsideWindow);
            }
        }
        Ok(())
    }

    /// Whether items from hospital `source` may be shown (an unknown source may).
    pub fn admits_source(&self, source: Option<&str>) -> bool {
        let Some(source) = source else {
            return true;
        };
        let listed = self
            .hospitals
            .as_ref()
            .is_none_or(|list| list.iter().any(|h| h == source));
        listed && !self.excluded.iter().any(|h| h == source)
    }

    /// The earliest date shown for a category; `None` for no limit.
    pub fn since(&self, c: Category) -> Option<Time> {
        self.since
            .iter()
            .find(|(x, _)| *x == c)
            .and_then(|(_, s)| *s)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub access: Access,
    pub basis: Option<Basis>,
    /// Why not, on a deny.
    pub reason: Option<Reason>,
    /// What a permit covers; nothing on a deny.
    pub scope: Option<Scope>,
    /// Break-glass: the access is flagged for review.
    pub review: bool,
    /// Break-glass: the patient is told.
    pub notify_patient: bool,
}

impl Decision {
    fn deny(reason: Reason) -> Decision {
        Decision {
            access: Access::Deny,
            basis: None,
            reason: Some(reason),
            scope: None,
            review: false,
            notify_patient: false,
        }
    }

    fn permit(basis: Basis, scope: Scope) -> Decision {
        Decision {
            access: Access::Permit,
            basis: Some(basis),
            reason: None,
            scope: Some(scope),
            review: false,
            notify_patient: false,
        }
    }

    /// Whether the item is shown under this decision.
    pub fn admits(&self, item: &Item) -> bool {
        self.scope.as_ref().is_some_and(|s| s.admits(item).is_ok())
    }
}

/// Decides `caller`'s access to the record of the patient `facts` describe, at `now`.
pub fn decide(region: &Region, caller: &Caller, facts: &Facts, now: Time) -> Decision {
    if caller.role == Role::Patient {
        if caller.purpose != Purpose::PatientAccess {
            return Decision::deny(Reason::PurposeNotPermitted);
        }
        if caller.person.as_deref() != Some(facts.person.as_str()) {
            return Decision::deny(Reason::NotOwnRecord);
        }
        return Decision::permit(Basis::OwnRecord, Scope::everything());
    }
    if !caller.role.clinical() {
        return Decision::deny(Reason::RoleNotPermitted);
    }
    let consent = consent(region, facts, caller, now);
    let window = |sensitive: &[Category]| Scope {
        hospitals: None,
        excluded: Vec::new(),
        sensitive: sensitive.to_vec(),
        since: Category::ALL
            .into_iter()
            .map(|c| {
                let since = region.window(c).map(|d| now - Time::from(d) * DAY);
                (c, since)
            })
            .collect(),
        hidden: facts.hidden.clone(),
    };
    match caller.purpose {
        Purpose::Emergency => {
            let open = caller.role == Role::Doctor
                && facts.break_glass.iter().any(|g| {
                    Some(&g.practitioner) == caller.practitioner.as_ref()
                        && Some(&g.organization) == caller.organization.as_ref()
                        && g.opened <= now
                        && now < g.opened + Time::from(region.break_glass_hours) * HOUR
                });
            if !open {
                return Decision::deny(Reason::NoBreakGlass);
            }
            if let Err(refusal @ (Reason::OptedOut | Reason::ConsentWithdrawn)) = &consent
                && !region.break_glass_overrides_refusal
            {
                return Decision::deny(refusal.clone());
            }
            // Sensitive categories only as far as a valid consent agreed to them.
            let sensitive = consent
                .as_ref()
                .ok()
                .map(|(_, s)| s.clone())
                .unwrap_or_default();
            let mut d = Decision::permit(Basis::BreakGlass, window(&sensitive));
            d.review = true;
            d.notify_patient = true;
            d
        }
        Purpose::Treatment => {
            let related = caller.organization.as_ref().is_some_and(|org| {
                facts.seen_at.iter().any(|(o, t)| {
                    o == org && *t <= now && now - *t <= Time::from(region.relationship_days) * DAY
                })
            });
            if !related {
                return Decision::deny(Reason::NoTreatmentRelationship);
            }
            match consent {
                Err(reason) => Decision::deny(reason),
                Ok((basis, sensitive)) => {
                    let mut scope = window(&sensitive);
                    if let Basis::Consent(id) = &basis {
                        let c = facts
                            .consents
                            .iter()
                            .find(|c| &c.id == id)
                            .expect("the basis is one of the facts' consents");
                        if !c.organizations.is_empty() {
                            let mut list = c.organizations.clone();
                            // The caller's own hospital's records are its own.
                            list.extend(caller.organization.clone());
                            scope.hospitals = Some(list);
                        }
                        scope.excluded = c.excluded.clone();
                    }
                    Decision::permit(basis, scope)
                }
            }
        }
        _ => Decision::deny(Reason::PurposeNotPermitted),
    }
}

/// The consent that governs, and the sensitive categories it agrees to; or why there is
/// none that permits the caller.
fn consent(
    region: &Region,
    facts: &Facts,
    caller: &Caller,
    now: Time,
) -> Result<(Basis, Vec<Category>), Reason> {
    let latest = facts
        .consents
        .iter()
        .filter(|c| c.given <= now)
        .max_by(|a, b| a.given.cmp(&b.given).then_with(|| a.id.cmp(&b.id)));
    let Some(c) = latest else {
        return match region.default {
            Default::OptIn => Err(Reason::NoConsent),
            Default::OptOut => Ok((Basis::RegionDefault, Vec::new())),
        };
    };
    match c.state {
        ConsentState::Withdrawn => return Err(Reason::ConsentWithdrawn),
        ConsentState::Deny => return Err(Reason::OptedOut),
        ConsentState::Permit => {}
    }
    if c.expires.is_some_and(|e| e <= now) {
        return match region.default {
            Default::OptIn => Err(Reason::ConsentExpired),
            Default::OptOut => Ok((Basis::RegionDefault, Vec::new())),
        };
    }
    let child = facts
        .birth
        .is_some_and(|b| years_between(b, c.given) < i64::from(region.guardian_below_years));
    if child && c.grantor != Grantor::Guardian {
        return Err(Reason::GuardianRequired);
    }
    let named = |list: &[String]| {
        caller
            .organization
            .as_ref()
            .is_some_and(|o| list.contains(o))
    };
    if !c.organizations.is_empty() && !named(&c.organizations) || named(&c.excluded) {
        return Err(Reason::HospitalNotConsented);
    }
    Ok((Basis::Consent(c.id.clone()), c.sensitive.clone()))
}

/// Whole years from `from` to `to`, in mean Gregorian years (365.2425 days): within a day of
/// a birthday it may count one year short, which errs towards asking for a guardian.
fn years_between(from: Time, to: Time) -> i64 {
    (to - from).div_euclid(31_556_952)
}

#[cfg(test)]
mod tests;
