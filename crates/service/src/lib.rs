//! The use cases of the clinical data repository, and the only road to the store.
//!
//! `http`, `mllp` and the CLI call this crate; none of them can see `store`. Every read and
//! write passes here with its [`Caller`], which is where consent decisions and audit records
//! attach. Everything here is synchronous: async edges call it on a blocking thread.

mod bundle;
mod capability;
mod consent;
mod error;
mod feeds;
mod group;
mod identity;
mod journal;
mod reminders;
mod shared;

pub use consent::{CONSENT_DAYS, Consenting};
pub use error::{Description, Error, all_codes};
pub use feeds::{Delivery, LATE_MS};
pub use identity::{Candidate, Relinked};
pub use journal::{Access, Flagged, Notifier};
pub use reminders::{RuleStats, builtin_knowledge, discovery as cds_discovery};
pub use shared::{ACCESS_TASKS, SHARED_TYPES, SharedItem, SharedRecord, classify};
pub use store::{HistoryScope, Stats, Stored};
pub use store::{Notice, OrgStats, Proof};

use audit::Action;
use fhir::search::{SearchQuery, parse_query};
use serde_json::Value;
use std::sync::Arc;
use store::{Entry, Store, WriteOp, WriteOutcome};

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// The platform itself: the CLI, imports, the demo's loader.
    System,
    /// A person or a hospital system, as their verified token names them.
    User(auth::Principal),
}

impl Caller {
    /// The platform or an administrator: the generic FHIR API in full.
    fn operates(&self) -> bool {
        match self {
            Caller::System => true,
            Caller::User(p) => p.caller.role == policy::Role::Admin,
        }
    }

    /// A clinician acting for a hospital.
    pub fn clinician(&self) -> Option<&policy::Caller> {
        match self {
            Caller::User(p)
                if matches!(
                    p.caller.role,
                    policy::Role::Doctor | policy::Role::Nurse | policy::Role::Pharmacist
                ) && p.caller.organization.is_some() =>
            {
                Some(&p.caller)
            }
            _ => None,
        }
    }

    /// For audit and provenance: who, never what they read.
    pub fn who(&self) -> String {
        match self {
            Caller::System => "system".into(),
            Caller::User(p) => p.subject.clone(),
        }
    }

    /// Reading `resource_type` through the generic API. A patient's data is read only
    /// through the shared record, where consent decides; the directory (hospitals,
    /// practitioners, places, medicines) is open to every signed-in caller.
    fn may_read(&self, resource_type: &str) -> Result<(), Error> {
        if self.operates() || DIRECTORY.contains(&resource_type) {
            return Ok(());
        }
        Err(Error::Forbidden(format!(
            "{resource_type} is patient data: read it through GET /shared/Patient/{{id}}, where the patient's consent decides"
        )))
    }

    /// Writing: the platform, administrators, and hospital systems acting for clinicians
    /// (the feeds that send a hospital's records).
    fn may_write(&self) -> Result<(), Error> {
        if self.operates() || self.clinician().is_some() {
            return Ok(());
        }
        Err(Error::Forbidden(
            "this role does not write records".to_string(),
        ))
    }

    /// Patient-index decisions (`$link`, `$unlink`, `$merge`, `$unmerge`, re-link).
    fn may_decide_identity(&self) -> Result<(), Error> {
        if self.operates() {
            return Ok(());
        }
        Err(Error::Forbidden(
            "only administrators decide patient-index links".to_string(),
        ))
    }

    /// Patient-index queries (`$match`, `$ihe-pix`): clinicians finding a patient.
    fn may_query_identity(&self) -> Result<(), Error> {
        if self.operates() || self.clinician().is_some() {
            return Ok(());
        }
        Err(Error::Forbidden(
            "only clinicians and administrators query the patient index".to_string(),
        ))
    }
}

/// Types every signed-in caller may read through the generic API: no patient's data.
const DIRECTORY: &[&str] = &[
    "Organization",
    "Practitioner",
    "PractitionerRole",
    "Location",
    "HealthcareService",
    "Endpoint",
    "Medication",
    "Substance",
    "ValueSet",
    "CodeSystem",
    "ConceptMap",
];

/// The result of a create, update or delete.
#[derive(Debug, Clone, PartialEq)]
pub struct Written {
    pub stored: Stored,
    /// True when a new resource came to exist (201), false for updates and no-ops (200).
    pub created: bool,
    /// True when nothing was written (a matched conditional create, an unchanged update).
    pub unchanged: bool,
}

/// One page of a search, with what it matched and included.
#[derive(Debug, Clone, Default)]
pub struct SearchResult {
    pub matches: Vec<Stored>,
    pub included: Vec<Stored>,
    pub total: Option<u64>,
    /// The cursor for the next page (`_page`), if any.
    pub next: Option<String>,
    /// Parameters ignored under lenient handling.
    pub ignored: Vec<String>,
    pub summary_count: bool,
}

/// A resource that passed validation, ready for [`Service::import`].
#[derive(Debug, Clone)]
pub struct Checked(Value);

impl Checked {
    /// The resource's logical id ("" when it has none yet).
    pub fn id(&self) -> &str {
        self.0["id"].as_str().unwrap_or_default()
    }
}

/// Tunables of the service layer.
#[derive(Debug, Clone)]
pub struct Config {
    pub default_count: usize,
    pub max_count: usize,
    /// The region's sharing policy.
    pub region: policy::Region,
    /// What the reminders know (the region's tables, or the shipped ones).
    pub knowledge: Arc<cds::Knowledge>,
    pub cds: cds::Settings,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            default_count: 20,
            max_count: fhir::search::MAX_COUNT,
            region: policy::Region::default(),
            knowledge: reminders::builtin_knowledge(),
            cds: cds::Settings::default(),
        }
    }
}

/// The clinical data repository.
#[derive(Clone)]
pub struct Service {
    store: Arc<dyn Store>,
    config: Config,
    identity: Arc<identity::Identity>,
    recorder: Arc<journal::Recorder>,
    inlet: Arc<feeds::Inlet>,
    codes: Arc<std::sync::Mutex<Option<Arc<terminology::local::CodeMaps>>>>,
}

impl Service {
    /// The service over `store`, which must hold the audit key (`Engine::sealed`): every
    /// request is recorded, and without the key nothing can be.
    pub fn new(store: Arc<dyn Store>, config: Config) -> Service {
        Service {
            recorder: Arc::new(journal::Recorder::start(store.clone())),
            inlet: Arc::new(feeds::Inlet::start(store.clone())),
            codes: Arc::default(),
            store,
            config,
            identity: Arc::default(),
        }
    }

    /// `POST [type]`, with `If-None-Exist` as raw query pairs.
    pub fn create(
        &self,
        caller: &Caller,
        resource_type: &str,
        body: &[u8],
        if_none_exist: Option<&[(String, String)]>,
    ) -> Result<Written, Error> {
        let result = self.create_unaudited(caller, resource_type, body, if_none_exist);
        self.refused(caller, Action::Create, resource_type, result)
    }

    fn create_unaudited(
        &self,
        caller: &Caller,
        resource_type: &str,
        body: &[u8],
        if_none_exist: Option<&[(String, String)]>,
    ) -> Result<Written, Error> {
        caller.may_write()?;
        let resource = self.parse_resource(caller, resource_type, body)?;
        let if_none_exist = if_none_exist
            .map(|pairs| self.condition(resource_type, pairs))
            .transpose()?;
        let w = self.write_one(
            caller,
            WriteOp::Create {
                resource,
                if_none_exist,
            },
        )?;
        if !w.created && !caller.operates() && !DIRECTORY.contains(&resource_type) {
            // The condition matched a resource already there: a writer learns where it is,
            // not what it holds (that is the shared record's to decide).
            return Ok(Written {
                stored: Stored {
                    body: std::sync::Arc::from(Vec::new()),
                    ..w.stored
                },
                ..w
            });
        }
        Ok(w)
    }

    /// `PUT [type]/[id]`: update, or create with the client's id.
    pub fn update(
        &self,
        caller: &Caller,
        resource_type: &str,
        id: &str,
        body: &[u8],
        if_match: Option<&str>,
    ) -> Result<Written, Error> {
        let result = self.update_unaudited(caller, resource_type, id, body, if_match);
        self.refused(
            caller,
            Action::Update,
            &format!("{resource_type}/{id}"),
            result,
        )
    }

    fn update_unaudited(
        &self,
        caller: &Caller,
        resource_type: &str,
        id: &str,
        body: &[u8],
        if_match: Option<&str>,
    ) -> Result<Written, Error> {
        caller.may_write()?;
        if !fhir::is_valid_id(id) {
            return Err(Error::InvalidId);
        }
        let resource = self.parse_resource(caller, resource_type, body)?;
        match resource.get("id").and_then(Value::as_str) {
            None => return Err(Error::MissingId),
            Some(body_id) if body_id != id => return Err(Error::IdMismatch),
            Some(_) => {}
        }
        self.write_one(
            caller,
            WriteOp::Update {
                resource_type: resource_type.into(),
                id: id.into(),
                resource,
                if_match: if_match.map(parse_if_match).transpose()?,
            },
        )
    }

    /// `PUT [type]?[search]`: update the one match, or create when none matches.
    pub fn conditional_update(
        &self,
        caller: &Caller,
        resource_type: &str,
        pairs: &[(String, String)],
        body: &[u8],
        if_match: Option<&str>,
    ) -> Result<Written, Error> {
        let result = (|| {
            caller.may_write()?;
            let resource = self.parse_resource(caller, resource_type, body)?;
            let query = self.condition(resource_type, pairs)?;
            self.write_one(
                caller,
                WriteOp::ConditionalUpdate {
                    query,
                    resource,
                    if_match: if_match.map(parse_if_match).transpose()?,
                },
            )
        })();
        self.refused(caller, Action::Update, resource_type, result)
    }

    /// `DELETE [type]/[id]`: a new version marking the resource deleted.
    pub fn delete(
        &self,
        caller: &Caller,
        resource_type: &str,
        id: &str,
        if_match: Option<&str>,
    ) -> Result<Option<Stored>, Error> {
        let result = (|| {
            caller.may_write()?;
            check_type(resource_type)?;
            let out = self.transact(
                caller,
                vec![Entry {
                    full_url: None,
                    op: WriteOp::Delete {
                        resource_type: resource_type.into(),
                        id: id.into(),
                        if_match: if_match.map(parse_if_match).transpose()?,
                    },
                }],
                None,
            )?;
            Ok(out.into_iter().next().and_then(|o| o.stored().cloned()))
        })();
        self.refused(
            caller,
            Action::Delete,
            &format!("{resource_type}/{id}"),
            result,
        )
    }

    /// `GET [type]/[id]`.
    pub fn read(&self, caller: &Caller, resource_type: &str, id: &str) -> Result<Stored, Error> {
        let result = self.read_unaudited(caller, resource_type, id);
        self.account(
            caller,
            Action::Read,
            vec![format!("{resource_type}/{id}")],
            result,
            |s, r| r.patient = journal::patient_of(s),
        )
    }

    fn read_unaudited(
        &self,
        caller: &Caller,
        resource_type: &str,
        id: &str,
    ) -> Result<Stored, Error> {
        check_type(resource_type)?;
        caller.may_read(resource_type)?;
        match self.store.read(resource_type, id)? {
            None => Err(Error::NotFound {
                resource_type: resource_type.into(),
                id: id.into(),
            }),
            Some(s) if s.deleted => Err(Error::Gone {
                resource_type: resource_type.into(),
                id: id.into(),
            }),
            Some(s) => Ok(s),
        }
    }

    /// `GET [type]/[id]/_history/[vid]`.
    pub fn vread(
        &self,
        caller: &Caller,
        resource_type: &str,
        id: &str,
        version: &str,
    ) -> Result<Stored, Error> {
        let result = self.vread_unaudited(caller, resource_type, id, version);
        self.account(
            caller,
            Action::Read,
            vec![format!("{resource_type}/{id}/_history/{version}")],
            result,
            |s, r| r.patient = journal::patient_of(s),
        )
    }

    fn vread_unaudited(
        &self,
        caller: &Caller,
        resource_type: &str,
        id: &str,
        version: &str,
    ) -> Result<Stored, Error> {
        check_type(resource_type)?;
        caller.may_read(resource_type)?;
        let not_found = || Error::NotFound {
            resource_type: resource_type.into(),
            id: format!("{id}/_history/{version}"),
        };
        let version: u64 = version.parse().map_err(|_| not_found())?;
        match self.store.vread(resource_type, id, version)? {
            None => Err(not_found()),
            Some(s) if s.deleted => Err(Error::Gone {
                resource_type: resource_type.into(),
                id: id.into(),
            }),
            Some(s) => Ok(s),
        }
    }

    /// `GET [type]?[search]`.
    pub fn search(
        &self,
        caller: &Caller,
        resource_type: &str,
        pairs: &[(String, String)],
        lenient: bool,
    ) -> Result<SearchResult, Error> {
        let result = self.search_unaudited(caller, resource_type, pairs, lenient);
        let query = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        self.account(
            caller,
            Action::Search,
            vec![format!("{resource_type}?{query}")],
            result,
            |res, r| {
                r.count = Some((res.matches.len() + res.included.len()) as u64);
                r.patient = res
                    .matches
                    .iter()
                    .chain(&res.included)
                    .find_map(journal::patient_of);
            },
        )
    }

    fn search_unaudited(
        &self,
        caller: &Caller,
        resource_type: &str,
        pairs: &[(String, String)],
        lenient: bool,
    ) -> Result<SearchResult, Error> {
        check_type(resource_type)?;
        caller.may_read(resource_type)?;
        check_search_size(pairs)?;
        let mut query = parse_query(resource_type, pairs, lenient).map_err(Error::BadSearch)?;
        let includes = !query.include.is_empty() || !query.revinclude.is_empty();
        if includes && !caller.operates() {
            return Err(Error::Forbidden(
                "_include and _revinclude are for administrators: they would reach patient data"
                    .to_string(),
            ));
        }
        if query.sort.len() > 1 {
            // Keyset paging is on one sort key; a silent partial sort would mislead.
            return Err(Error::BadSearch(vec![fhir::Issue::error(
                fhir::IssueType::NotSupported,
                "_sort takes one sort key",
            )]));
        }
        self.clamp_count(&mut query);
        let page = self.store.search(&query)?;
        Ok(SearchResult {
            matches: page.matches,
            included: page.included,
            total: page.total,
            next: page.next,
            ignored: query.ignored,
            summary_count: query.summary_count,
        })
    }

    /// `GET [type]/[id]/_history`, `GET [type]/_history`, `GET /_history`.
    pub fn history(
        &self,
        caller: &Caller,
        scope: &HistoryScope,
        count: Option<usize>,
        page: Option<&str>,
    ) -> Result<(Vec<Stored>, Option<String>), Error> {
        let entity = match scope {
            HistoryScope::System => "_history".to_string(),
            HistoryScope::Type(t) => format!("{t}/_history"),
            HistoryScope::Instance(t, id) => format!("{t}/{id}/_history"),
        };
        let result = self.history_unaudited(caller, scope, count, page);
        self.account(
            caller,
            Action::History,
            vec![entity],
            result,
            |(v, _), r| {
                r.count = Some(v.len() as u64);
                r.patient = v.iter().find_map(journal::patient_of);
            },
        )
    }

    fn history_unaudited(
        &self,
        caller: &Caller,
        scope: &HistoryScope,
        count: Option<usize>,
        page: Option<&str>,
    ) -> Result<(Vec<Stored>, Option<String>), Error> {
        match scope {
            HistoryScope::System if !caller.operates() => {
                return Err(Error::Forbidden(
                    "the whole store's history is the operator's".to_string(),
                ));
            }
            HistoryScope::System => {}
            HistoryScope::Type(t) | HistoryScope::Instance(t, _) => {
                check_type(t)?;
                caller.may_read(t)?;
            }
        }
        let count = count
            .unwrap_or(self.config.default_count)
            .clamp(1, self.config.max_count);
        let h = self.store.history(scope, count, page)?;
        if let HistoryScope::Instance(t, id) = scope
            && h.versions.is_empty()
            && page.is_none()
        {
            return Err(Error::NotFound {
                resource_type: t.clone(),
                id: id.clone(),
            });
        }
        Ok((h.versions, h.next))
    }

    /// `GET Patient/[id]/$everything`.
    pub fn everything(
        &self,
        caller: &Caller,
        patient_id: &str,
        count: Option<usize>,
        page: Option<&str>,
    ) -> Result<SearchResult, Error> {
        let result = (|| {
            caller.may_read("Patient")?;
            let count = count
                .unwrap_or(self.config.max_count)
                .clamp(1, self.config.max_count);
            let page = self.store.everything(patient_id, count, page)?;
            Ok(SearchResult {
                matches: page.matches,
                next: page.next,
                ..SearchResult::default()
            })
        })();
        self.account(
            caller,
            Action::Export,
            vec![format!("Patient/{patient_id}/$everything")],
            result,
            |res, r| {
                r.patient = Some(format!("Patient/{patient_id}"));
                r.count = Some(res.matches.len() as u64);
            },
        )
    }

    /// `POST /` with a batch or transaction Bundle; returns the response Bundle.
    pub fn bundle(&self, caller: &Caller, body: &[u8]) -> Result<Value, Error> {
        let result = caller
            .may_write()
            .and_then(|()| bundle::process(self, caller, body));
        self.refused(caller, Action::Transaction, "Bundle", result)
    }

    /// Parses and validates one resource for [`Service::import`].
    pub fn check(&self, body: &[u8]) -> Result<Checked, Error> {
        let resource = fhir::json::parse_object(body)?;
        self.check_resource(None, &resource)?;
        Ok(Checked(resource))
    }

    /// Writes many checked resources at once (the import path), in one transaction when all
    /// succeed; if one fails, each is retried alone so the others still land. A resource with
    /// an id is written as an update, so importing the same data twice changes nothing.
    pub fn import(&self, caller: &Caller, resources: Vec<Checked>) -> Vec<Result<Written, Error>> {
        if let Err(Error::Forbidden(why)) = caller.may_write() {
            return resources
                .iter()
                .map(|_| Err(Error::Forbidden(why.clone())))
                .collect();
        }
        let mut results: Vec<Option<Result<Written, Error>>> = Vec::with_capacity(resources.len());
        let mut entries = Vec::new();
        let mut positions = Vec::new();
        for (i, Checked(resource)) in resources.into_iter().enumerate() {
            match import_op(resource) {
                Ok(op) => {
                    entries.push(Entry { full_url: None, op });
                    positions.push(i);
                    results.push(None);
                }
                Err(e) => results.push(Some(Err(e))),
            }
        }
        match self.transact(caller, entries.clone(), None) {
            Ok(outcomes) => {
                for (pos, outcome) in positions.into_iter().zip(outcomes) {
                    results[pos] = Some(written(outcome));
                }
            }
            Err(_) => {
                for (pos, entry) in positions.into_iter().zip(entries) {
                    let r = self.transact(caller, vec![entry], None);
                    results[pos] = Some(
                        r.map_err(Error::from)
                            .and_then(|mut o| written(o.remove(0))),
                    );
                }
            }
        }
        results
            .into_iter()
            .map(|r| r.expect("every position was filled"))
            .collect()
    }

    /// The CapabilityStatement: exactly what this server serves.
    pub fn capabilities(&self, base: &str) -> Value {
        capability::statement(base)
    }

    pub fn stats(&self) -> Result<Stats, Error> {
        Ok(self.store.stats()?)
    }

    /// Flushes and closes the store; later calls answer [`Error::Unavailable`].
    pub fn close(&self) -> Result<(), Error> {
        Ok(self.store.close()?)
    }

    // -----------------------------------------------------------------------------------------

    /// Every write goes through here: its audit record commits in the same transaction
    /// (`hint` names the action when the entries alone do not say it), and once the store
    /// has committed, the patient index sees the Patients written.
    fn transact(
        &self,
        caller: &Caller,
        entries: Vec<Entry>,
        hint: Option<Action>,
    ) -> Result<Vec<WriteOutcome>, store::StoreError> {
        self.transact_with(entries, &|out| journal::write_record(caller, hint, out))
    }

    /// [`Service::transact`] with the records made by `audit`.
    fn transact_with(
        &self,
        entries: Vec<Entry>,
        audit: &store::AuditFn<'_>,
    ) -> Result<Vec<WriteOutcome>, store::StoreError> {
        let out = self.store.transact(entries, audit)?;
        let written: Vec<&Stored> = out.iter().filter_map(WriteOutcome::stored).collect();
        if written.iter().any(|s| s.resource_type == "ConceptMap") {
            *self.codes.lock().expect("code maps lock") = None;
        }
        self.observe(&written);
        Ok(out)
    }

    fn write_one(&self, caller: &Caller, op: WriteOp) -> Result<Written, Error> {
        let mut out = self.transact(caller, vec![Entry { full_url: None, op }], None)?;
        written(out.remove(0))
    }

    /// Parses and validates a request body for `resource_type`.
    fn parse_resource(
        &self,
        caller: &Caller,
        resource_type: &str,
        body: &[u8],
    ) -> Result<Value, Error> {
        check_type(resource_type)?;
        let resource = fhir::json::parse_object(body)?;
        self.check_resource(Some(resource_type), &resource)?;
        self.check_evidence(caller, &resource)?;
        Ok(resource)
    }

    fn check_resource(&self, expected: Option<&str>, resource: &Value) -> Result<(), Error> {
        let body_type = resource
            .get("resourceType")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if let Some(expected) = expected
            && body_type != expected
        {
            return Err(Error::TypeMismatch {
                url: expected.into(),
                body: if body_type.is_empty() {
                    "resource without resourceType".into()
                } else {
                    body_type.into()
                },
            });
        }
        check_type(body_type)?;
        let issues = fhir::validate::validate(resource);
        if issues
            .iter()
            .any(|i| matches!(i.severity, fhir::Severity::Error | fhir::Severity::Fatal))
        {
            return Err(Error::Invalid(issues));
        }
        Ok(())
    }

    /// A consent captured at a hospital carries its evidence (`policy::check_evidence`).
    /// The operator may load consents as they were kept (historical records, examples).
    pub(crate) fn check_evidence(&self, caller: &Caller, resource: &Value) -> Result<(), Error> {
        if caller.operates()
            || resource.get("resourceType").and_then(Value::as_str) != Some("Consent")
        {
            return Ok(());
        }
        if let Err(p) = policy::check_evidence(resource) {
            let mut issue = fhir::Issue::error(fhir::IssueType::Invariant, p.message);
            issue.expression.push(p.path.to_string());
            return Err(Error::Invalid(vec![issue]));
        }
        Ok(())
    }

    fn condition(
        &self,
        resource_type: &str,
        pairs: &[(String, String)],
    ) -> Result<SearchQuery, Error> {
        check_search_size(pairs)?;
        let query = parse_query(resource_type, pairs, false).map_err(Error::BadSearch)?;
        if query.clauses.is_empty() {
            return Err(Error::BadSearch(vec![fhir::Issue::error(
                fhir::IssueType::Invalid,
                "a conditional operation needs at least one search parameter",
            )]));
        }
        Ok(query)
    }

    fn clamp_count(&self, query: &mut SearchQuery) {
        let count = query.count.unwrap_or(self.config.default_count);
        query.count = Some(count.clamp(1, self.config.max_count));
    }
}

/// The most search values one request may carry (comma-separated values count one each).
const MAX_SEARCH_VALUES: usize = 100;

/// Refuses searches too large for one SQL statement, and control characters no FHIR value
/// can hold, before they reach the database.
fn check_search_size(pairs: &[(String, String)]) -> Result<(), Error> {
    let values: usize = pairs.iter().map(|(_, v)| v.split(',').count()).sum();
    let bad = |msg: String| {
        Err(Error::BadSearch(vec![fhir::Issue::error(
            fhir::IssueType::TooLong,
            msg,
        )]))
    };
    if values > MAX_SEARCH_VALUES {
        return bad(format!("a search takes at most {MAX_SEARCH_VALUES} values"));
    }
    if pairs
        .iter()
        .any(|(k, v)| k.chars().chain(v.chars()).any(|c| c.is_control()))
    {
        return Err(Error::BadSearch(vec![fhir::Issue::error(
            fhir::IssueType::Value,
            "search values cannot hold control characters",
        )]));
    }
    Ok(())
}

fn check_type(resource_type: &str) -> Result<(), Error> {
    if fhir::is_supported_type(resource_type) {
        Ok(())
    } else {
        Err(Error::UnsupportedType(resource_type.into()))
    }
}

/// `W/"3"` or `"3"` to 3.
fn parse_if_match(header: &str) -> Result<u64, Error> {
    let h = header.trim();
    let h = h.strip_prefix("W/").unwrap_or(h);
    h.trim_matches('"').parse().map_err(|_| Error::BadIfMatch)
}

fn written(outcome: WriteOutcome) -> Result<Written, Error> {
    Ok(match outcome {
        WriteOutcome::Created(stored) => Written {
            stored,
            created: true,
            unchanged: false,
        },
        WriteOutcome::Updated(stored) | WriteOutcome::Deleted(stored) => Written {
            stored,
            created: false,
            unchanged: false,
        },
        WriteOutcome::Unchanged(stored) => Written {
            stored,
            created: false,
            unchanged: true,
        },
        WriteOutcome::NothingToDelete => {
            return Err(Error::Internal("nothing to delete in a write".into()));
        }
    })
}

/// Every resource is imported as an update, so importing the same data twice changes
/// nothing: by its own id, or by an id derived from its content when it has none.
fn import_op(resource: Value) -> Result<WriteOp, Error> {
    let resource_type = resource["resourceType"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let id = match resource.get("id").and_then(Value::as_str) {
        Some(id) if fhir::is_valid_id(id) => id.to_string(),
        Some(_) => return Err(Error::InvalidId),
        None => fhir::content_id(&resource),
    };
    let mut resource = resource;
    resource["id"] = Value::String(id.clone());
    Ok(WriteOp::Update {
        resource_type,
        id,
        resource,
        if_match: None,
    })
}

#[cfg(test)]
mod tests;
