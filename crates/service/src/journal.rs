//! The audit trail: every access and change is recorded before its answer leaves.
//!
//! Writes carry their record into the store's own transaction ([`Service::transact`]).
//! Reads hand theirs to the [`Recorder`], which commits the records of concurrent requests
//! together (one durable transaction, one signed tree head per group) and only then lets
//! each request return: no record, no data. The views (FHIR AuditEvent in the IHE BALP
//! shape, a patient's access log, the regulator's statistics, anomalies and reviews, tree
//! heads and proofs) are read here too, under the same rules of who may see what.

use crate::group::Group;
use crate::{ACCESS_TASKS, Caller, Error, Service, Stored};
use audit::{Action, Outcome, Record};
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, mpsc};
use store::{AuditQuery, Logged, Notice, OrgStats, Proof, Store, WriteOutcome};

/// Records committed together at most.
const MAX_GROUP: usize = 4096;

/// Group commit of audit records: one thread appends what every waiting request brought.
pub(crate) struct Recorder {
    group: Group<Vec<Logged>, u64>,
}

impl Recorder {
    pub(crate) fn start(store: Arc<dyn Store>) -> Recorder {
        let group = Group::start(
            "audit",
            MAX_GROUP,
            Vec::len,
            move |jobs: Vec<Vec<Logged>>| {
                let sizes: Vec<u64> = jobs.iter().map(|r| r.len() as u64).collect();
                let mut at = store
                    .log(jobs.into_iter().flatten().collect())
                    .map_err(|e| e.to_string())?;
                Ok(sizes
                    .into_iter()
                    .map(|size| {
                        let first = at;
                        at += size;
                        first
                    })
                    .collect())
            },
        );
        Recorder { group }
    }

    /// Commits `records` durably; returns the first one's position. Fails closed.
    pub(crate) fn record(&self, records: Vec<Logged>) -> Result<u64, Error> {
        if records.is_empty() {
            return Ok(0);
        }
        self.submit(records).wait()
    }

    /// Hands `records` to the group commit without waiting: the caller does its work,
    /// then [`Pending::wait`]s before answering.
    pub(crate) fn submit(&self, records: Vec<Logged>) -> Pending {
        Pending {
            done: self.group.submit(records),
        }
    }
}

/// Records on their way to the log.
pub(crate) struct Pending {
    done: mpsc::Receiver<Result<u64, String>>,
}

impl Pending {
    /// Waits until the records are durable; fails closed.
    pub(crate) fn wait(self) -> Result<u64, Error> {
        match self.done.recv() {
            Ok(Ok(at)) => Ok(at),
            Ok(Err(why)) => {
                tracing::error!("audit append failed: {why}");
                Err(Error::Unavailable)
            }
            Err(_) => Err(Error::Unavailable),
        }
    }
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl Caller {
    /// Who, as the audit log names them: the practitioner, the patient's person, or the
    /// account.
    pub(crate) fn agent(&self) -> String {
        match self {
            Caller::System => "system".into(),
            Caller::User(p) => p
                .caller
                .practitioner
                .clone()
                .or_else(|| p.caller.person.clone())
                .unwrap_or_else(|| p.subject.clone()),
        }
    }

    /// A record of this caller doing `action`, now.
    pub(crate) fn record(&self, action: Action, outcome: Outcome) -> Record {
        let mut r = Record::new(now_ms(), action, outcome, self.agent());
        if let Caller::User(p) = self {
            r.role = Some(p.caller.role.code().to_string());
            r.organization = p.caller.organization.clone();
            r.purpose = Some(p.caller.purpose.code().to_string());
        }
        r
    }
}

fn outcome_of(e: &Error) -> Outcome {
    if e.describe().status >= 500 {
        Outcome::Failed
    } else {
        Outcome::Refused
    }
}

/// The patient a stored resource is about: itself, or its subject or patient reference.
pub(crate) fn patient_of(stored: &Stored) -> Option<String> {
    if stored.resource_type == "Patient" {
        return Some(format!("Patient/{}", stored.id));
    }
    if stored.body.is_empty() {
        return None;
    }
    let v: Value = serde_json::from_slice(&stored.body).ok()?;
    ["subject", "patient", "beneficiary", "for"]
        .iter()
        .filter_map(|k| v.pointer(&format!("/{k}/reference"))?.as_str())
        .find(|r| r.starts_with("Patient/"))
        .map(str::to_string)
}

/// The record of a committed write: one per request, listing what it wrote.
pub(crate) fn write_record(
    caller: &Caller,
    hint: Option<Action>,
    outcomes: &[WriteOutcome],
) -> Vec<Logged> {
    let written: Vec<(&Stored, Action)> = outcomes
        .iter()
        .filter_map(|o| match o {
            WriteOutcome::Created(s) => Some((s, Action::Create)),
            WriteOutcome::Updated(s) => Some((s, Action::Update)),
            WriteOutcome::Deleted(s) => Some((s, Action::Delete)),
            WriteOutcome::Unchanged(_) | WriteOutcome::NothingToDelete => None,
        })
        .collect();
    if written.is_empty() {
        return Vec::new();
    }
    let action = hint.unwrap_or_else(|| {
        if written.iter().any(|(s, _)| s.resource_type == "Consent") {
            Action::Consent
        } else if let [(_, a)] = written.as_slice() {
            *a
        } else {
            Action::Transaction
        }
    });
    let mut r = caller.record(action, Outcome::Success);
    r.entities = written
        .iter()
        .take(100)
        .map(|(s, _)| format!("{}/{}/_history/{}", s.resource_type, s.id, s.version))
        .collect();
    r.count = Some(written.len() as u64);
    r.patient = written.iter().find_map(|(s, _)| patient_of(s));
    vec![r.into()]
}

/// Delivers notices to patients: SMS and e-mail gateways implement this.
pub trait Notifier: Send + Sync {
    /// Delivers one notice; an error leaves it pending for the next round.
    fn send(&self, notice: &Notice) -> Result<(), String>;
}

/// A row of a patient's access log: who, where, why and when, with names resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Access {
    pub position: u64,
    pub record: Record,
    pub hospital: Option<String>,
    pub department: Option<String>,
    pub practitioner: Option<String>,
}

/// One anomaly and whether it has been reviewed.
#[derive(Debug, Clone, PartialEq)]
pub struct Flagged {
    pub anomaly: audit::Anomaly,
    /// The review's finding and note, when reviewed.
    pub review: Option<(u64, String)>,
}

/// A page of audit records (position, record), and where the next page starts.
pub type EventPage = (Vec<(u64, Record)>, Option<u64>);

/// The parsed `GET /AuditEvent` parameters.
fn audit_query(pairs: &[(String, String)], max: usize) -> Result<AuditQuery, Error> {
    let mut q = AuditQuery {
        count: 50,
        ..AuditQuery::default()
    };
    let bad = |m: String| Error::BadSearch(vec![fhir::Issue::error(fhir::IssueType::Invalid, m)]);
    for (k, v) in pairs {
        match k.as_str() {
            "patient" => q.patients.extend(v.split(',').map(|p| {
                if p.contains('/') {
                    p.to_string()
                } else {
                    format!("Patient/{p}")
                }
            })),
            "agent" => q.agent = Some(v.clone()),
            "site" | "organization" => q.organization = Some(v.clone()),
            "date" => {
                let (prefix, value) = match v.get(..2) {
                    Some(p @ ("ge" | "gt" | "le" | "lt" | "eq")) => (p, &v[2..]),
                    _ => ("eq", v.as_str()),
                };
                let (lo, hi) = fhir::time::parse_range(value)
                    .ok_or_else(|| bad(format!("date: {prefix}{value} is not a FHIR date")))?;
                match prefix {
                    "ge" => q.from = Some(lo),
                    "gt" => q.from = Some(hi + 1),
                    "le" => q.to = Some(hi + 1),
                    "lt" => q.to = Some(lo),
                    _ => {
                        q.from = Some(lo);
                        q.to = Some(hi + 1);
                    }
                }
            }
            "outcome" => {
                q.outcome = Some(match v.as_str() {
                    "0" => Outcome::Success,
                    "4" => Outcome::Refused,
                    "8" => Outcome::Failed,
                    _ => return Err(bad("outcome takes 0, 4 or 8".into())),
                })
            }
            "subtype" => {
                for code in v.split(',') {
                    let code = code.rsplit('|').next().unwrap_or(code);
                    q.actions.push(Action::from_code(code).ok_or_else(|| {
                        bad(format!(
                            "subtype: {code} is not one of Yilian's audit actions"
                        ))
                    })?);
                }
            }
            "_count" => {
                q.count = v
                    .parse::<usize>()
                    .map_err(|_| bad("_count takes a number".into()))?
                    .clamp(1, max)
            }
            "_before" => {
                q.before = Some(
                    v.parse()
                        .map_err(|_| bad("_before takes a log position".into()))?,
                )
            }
            other => {
                return Err(bad(format!(
                    "AuditEvent is searched by patient, agent, site, date, outcome, subtype, _count; not by {other}"
                )));
            }
        }
    }
    Ok(q)
}

impl Service {
    /// Records a read (or any request without a write) before its answer leaves: success
    /// with what `fill` adds, or the refusal with the error's code. Fails closed.
    pub(crate) fn account<T>(
        &self,
        caller: &Caller,
        action: Action,
        entities: Vec<String>,
        result: Result<T, Error>,
        fill: impl FnOnce(&T, &mut Record),
    ) -> Result<T, Error> {
        let outcome = result
            .as_ref()
            .map_or_else(outcome_of, |_| Outcome::Success);
        let mut r = caller.record(action, outcome);
        r.entities = entities;
        match &result {
            Ok(v) => fill(v, &mut r),
            Err(e) => r.detail = Some(e.describe().code.to_string()),
        }
        self.recorder.record(vec![r.into()])?;
        result
    }

    /// Records a write that did not happen (refused, invalid, conflicting); the ones that
    /// happened carry their record in their own transaction.
    pub(crate) fn refused<T>(
        &self,
        caller: &Caller,
        action: Action,
        entity: &str,
        result: Result<T, Error>,
    ) -> Result<T, Error> {
        if let Err(e) = &result {
            let mut r = caller.record(action, outcome_of(e));
            r.entities = vec![entity.to_string()];
            r.detail = Some(e.describe().code.to_string());
            self.recorder.record(vec![r.into()])?;
        }
        result
    }

    /// A sign-in or token exchange, granted or refused. `who` is the user name or client id
    /// the request claimed; `detail` the refusal's reason.
    pub fn record_sign_in(
        &self,
        caller: Option<&Caller>,
        who: &str,
        detail: Option<&str>,
    ) -> Result<(), Error> {
        let outcome = if detail.is_some() {
            Outcome::Refused
        } else {
            Outcome::Success
        };
        let mut r = match caller {
            Some(c) => c.record(Action::SignIn, outcome),
            None => Record::new(now_ms(), Action::SignIn, outcome, "anonymous"),
        };
        r.entities = vec![who.chars().take(128).collect()];
        r.detail = detail.map(str::to_string);
        self.recorder.record(vec![r.into()]).map(|_| ())
    }

    fn may_audit(caller: &Caller) -> Result<(), Error> {
        match caller {
            Caller::System => Ok(()),
            Caller::User(p)
                if matches!(p.caller.role, policy::Role::Auditor | policy::Role::Admin) =>
            {
                Ok(())
            }
            _ => Err(Error::Forbidden(
                "the audit log is read by auditors and administrators; a patient reads their own access log".to_string(),
            )),
        }
    }

    /// An auditor, or the patient whose person holds `registrations`; `refusal` says why not.
    fn may_read_log_of(
        &self,
        caller: &Caller,
        registrations: &[String],
        refusal: &str,
    ) -> Result<(), Error> {
        match self.own_registrations(caller).transpose()? {
            Some(own) if own.iter().any(|r| registrations.contains(r)) => Ok(()),
            Some(_) => Err(Error::Forbidden(refusal.to_string())),
            None => Self::may_audit(caller),
        }
    }

    /// The registrations a patient caller may see the log of: their own person's.
    pub(crate) fn own_registrations(&self, caller: &Caller) -> Option<Result<Vec<String>, Error>> {
        let Caller::User(p) = caller else { return None };
        if p.caller.role != policy::Role::Patient {
            return None;
        }
        let Some(person) = &p.caller.person else {
            return Some(Err(Error::Forbidden(
                "this patient token names no person".to_string(),
            )));
        };
        Some(self.registrations_of(person))
    }

    /// `GET /AuditEvent?...`: records, newest first, with the next page's `_before`.
    /// Auditors and administrators search everything; a patient sees the accesses to
    /// their own records.
    pub fn audit_events(
        &self,
        caller: &Caller,
        pairs: &[(String, String)],
    ) -> Result<EventPage, Error> {
        let entity = format!(
            "AuditEvent?{}",
            form_urlencoded::Serializer::new(String::new())
                .extend_pairs(pairs)
                .finish()
        );
        let result = (|| {
            let mut q = audit_query(pairs, self.config.max_count)?;
            match self.own_registrations(caller) {
                Some(own) => {
                    let own = own?;
                    if q.patients.iter().any(|p| !own.contains(p)) {
                        return Err(Error::Forbidden(
                            "a patient reads the log of their own records".to_string(),
                        ));
                    }
                    q.patients = own;
                    if q.actions.is_empty() {
                        q.actions = Action::ALL.into_iter().filter(|a| a.is_access()).collect();
                    }
                }
                None => Self::may_audit(caller)?,
            }
            let want = q.count;
            q.count = want + 1;
            let mut rows = self.store.audit_records(&q)?;
            let next = (rows.len() > want).then(|| {
                rows.truncate(want);
                rows.last().map(|(p, _)| *p)
            });
            Ok((rows, next.flatten()))
        })();
        self.account(
            caller,
            Action::Search,
            vec![entity],
            result,
            |(rows, _), r| r.count = Some(rows.len() as u64),
        )
    }

    /// `GET /AuditEvent/{position}`.
    pub fn audit_event(&self, caller: &Caller, position: &str) -> Result<(u64, Record), Error> {
        let result = (|| {
            let not_found = || Error::NotFound {
                resource_type: "AuditEvent".into(),
                id: position.to_string(),
            };
            let at: u64 = position.parse().map_err(|_| not_found())?;
            let (body, _) = self.store.audit_entry(at)?.ok_or_else(not_found)?;
            let record = Record::from_bytes(&body)
                .map_err(|_| Error::Internal("an audit record is unreadable".into()))?;
            match self.own_registrations(caller) {
                Some(own) => {
                    let own = own?;
                    if !record.patient.as_ref().is_some_and(|p| own.contains(p)) {
                        return Err(not_found());
                    }
                }
                None => Self::may_audit(caller)?,
            }
            Ok((at, record))
        })();
        self.account(
            caller,
            Action::Read,
            vec![format!("AuditEvent/{position}")],
            result,
            |_, _| {},
        )
    }

    /// The patient's view: who read the records of `Patient/{patient_id}`'s person, newest
    /// first, with hospital, department and practitioner names. The patient's own reads are
    /// left out.
    pub fn access_log(
        &self,
        caller: &Caller,
        patient_id: &str,
        count: usize,
    ) -> Result<Vec<Access>, Error> {
        let result = (|| {
            let (_, registrations) = self.linked(patient_id)?;
            self.may_read_log_of(
                caller,
                &registrations,
                "a patient reads the access log of their own records",
            )?;
            let rows = self.store.audit_records(&AuditQuery {
                patients: registrations,
                actions: Action::ALL.into_iter().filter(|a| a.is_access()).collect(),
                count: count.clamp(1, self.config.max_count),
                ..AuditQuery::default()
            })?;
            let own = caller.agent();
            let mut names = Names::default();
            Ok(rows
                .into_iter()
                .filter(|(_, r)| r.agent != own)
                .map(|(position, record)| {
                    let hospital = record
                        .organization
                        .as_deref()
                        .and_then(|o| names.organization(self, o));
                    let practitioner = names.practitioner(self, &record.agent);
                    let department = record
                        .organization
                        .as_deref()
                        .and_then(|o| names.department(self, &record.agent, o));
                    Access {
                        position,
                        record,
                        hospital,
                        department,
                        practitioner,
                    }
                })
                .collect())
        })();
        self.account(
            caller,
            Action::Search,
            vec![format!("Patient/{patient_id}/$access-log")],
            result,
            |rows, r| {
                r.patient = Some(format!("Patient/{patient_id}"));
                r.count = Some(rows.len() as u64);
            },
        )
    }

    /// The notifications raised for the person of `Patient/{patient_id}`.
    pub fn notifications(&self, caller: &Caller, patient_id: &str) -> Result<Vec<Notice>, Error> {
        let result = (|| {
            let (_, registrations) = self.linked(patient_id)?;
            self.may_read_log_of(
                caller,
                &registrations,
                "a patient reads their own notifications",
            )?;
            Ok(self.store.notices(&registrations)?)
        })();
        self.account(
            caller,
            Action::Read,
            vec![format!("Patient/{patient_id}/$notifications")],
            result,
            |_, r| r.patient = Some(format!("Patient/{patient_id}")),
        )
    }

    /// Sends pending notifications through `notifier`, marking each sent; returns how
    /// many. A failed send stays pending for the next round.
    pub fn drain_outbox(&self, notifier: &dyn Notifier, limit: usize) -> Result<usize, Error> {
        let pending = self.store.outbox(limit)?;
        let mut sent = Vec::new();
        for n in &pending {
            match notifier.send(n) {
                Ok(()) => sent.push(n.id),
                Err(why) => tracing::warn!(notice = n.id, "notification not sent: {why}"),
            }
        }
        self.store.outbox_sent(&sent)?;
        Ok(sent.len())
    }

    /// The public key tree heads are signed with.
    pub fn audit_public_key(&self) -> Option<audit::VerifyingKey> {
        self.store.audit_public_key()
    }

    /// The signed tree head at `size`, or the latest: public to every signed-in caller, so
    /// anyone can keep one and later ask for a consistency proof.
    pub fn tree_head(&self, size: Option<u64>) -> Result<audit::SignedTreeHead, Error> {
        self.store.audit_head(size)?.ok_or(Error::NotFound {
            resource_type: "tree head".into(),
            id: size.map_or_else(|| "latest".into(), |s| s.to_string()),
        })
    }

    /// An inclusion or consistency proof, checked against the stored heads before it is
    /// given out (a damaged subtree store answers an error, not a false proof).
    pub fn audit_proof(&self, proof: Proof) -> Result<Vec<audit::Hash>, Error> {
        let out_of_range = || {
            Error::BadOperation(
                "the proof's positions are outside the log's signed tree heads".to_string(),
            )
        };
        let hashes = self.store.audit_proof(proof)?.ok_or_else(out_of_range)?;
        let ok = match proof {
            Proof::Inclusion { index, size } => {
                let head = self.store.audit_head(Some(size))?;
                let entry = self.store.audit_entry(index)?;
                match (head, entry) {
                    (Some(h), Some((_, leaf))) => {
                        audit::merkle::verify_inclusion(index, size, &leaf, &hashes, &h.head.root)
                    }
                    // A size with no head of its own is served unchecked.
                    (None, Some(_)) => true,
                    _ => false,
                }
            }
            Proof::Consistency { first, second } => {
                match (
                    self.store.audit_head(Some(first))?,
                    self.store.audit_head(Some(second))?,
                ) {
                    (Some(a), Some(b)) => audit::merkle::verify_consistency(
                        first,
                        second,
                        &a.head.root,
                        &b.head.root,
                        &hashes,
                    ),
                    _ => true,
                }
            }
        };
        if !ok {
            return Err(Error::Internal(
                "the audit log's stored subtrees do not match its signed heads: run yilian audit verify".into(),
            ));
        }
        Ok(hashes)
    }

    /// A record's stored bytes and leaf hash, for an auditor to hash and prove.
    pub fn audit_entry(
        &self,
        caller: &Caller,
        position: u64,
    ) -> Result<(Vec<u8>, audit::Hash), Error> {
        let result = (|| {
            Self::may_audit(caller)?;
            self.store.audit_entry(position)?.ok_or(Error::NotFound {
                resource_type: "audit entry".into(),
                id: position.to_string(),
            })
        })();
        self.account(
            caller,
            Action::Read,
            vec![format!("AuditEvent/{position}")],
            result,
            |_, _| {},
        )
    }

    /// Verifies the whole log offline: with the secret key every record's seal is checked,
    /// with only the public key the signed heads are. `published` are heads kept elsewhere
    /// (a regulator's). `progress` is told the position every so often.
    pub fn verify_audit(
        &self,
        sealer: Option<audit::Sealer>,
        public: audit::VerifyingKey,
        published: Vec<audit::SignedTreeHead>,
        progress: &dyn Fn(u64),
    ) -> Result<Result<audit::Report, audit::Problem>, Error> {
        let mut heads = self.store.audit_heads()?;
        heads.extend(published);
        let mut v = audit::Verifier::new(sealer, public, heads);
        // The store is read on this thread while the previous page is checked on another.
        let (tx, rx) = mpsc::sync_channel::<Vec<audit::Row>>(2);
        let store = self.store.clone();
        let reader = std::thread::spawn(move || -> Result<(), String> {
            let mut from = 0;
            loop {
                let rows = store.audit_scan(from, 20_000).map_err(|e| e.to_string())?;
                let Some(last) = rows.last() else {
                    return Ok(());
                };
                // A gap shows to the verifier as a position mismatch: continue after it.
                from = last.position + 1;
                if tx.send(rows).is_err() {
                    return Ok(());
                }
            }
        });
        let mut problem = None;
        for rows in rx.iter() {
            for r in &rows {
                if let Err(p) = v.push(r) {
                    problem = Some(p);
                    break;
                }
            }
            if problem.is_some() {
                break;
            }
            progress(v.position());
        }
        drop(rx);
        reader
            .join()
            .map_err(|_| Error::Internal("the audit reader failed".into()))?
            .map_err(|_| Error::Unavailable)?;
        Ok(match problem {
            Some(p) => Err(p),
            None => v.finish(),
        })
    }

    /// Accesses per hospital in `[from, to)` (milliseconds).
    /// An auditor's check of the whole log against its signed heads and the region's key
    /// (as `yilian audit verify` does offline, without the sealing key).
    pub fn verify_log(
        &self,
        caller: &Caller,
    ) -> Result<Result<audit::Report, audit::Problem>, Error> {
        let result = Self::may_audit(caller).and_then(|()| {
            let public = self
                .audit_public_key()
                .ok_or_else(|| Error::Internal("the audit key is missing".into()))?;
            self.verify_audit(None, public, Vec::new(), &|_| {})
        });
        self.account(
            caller,
            Action::Read,
            vec!["audit/verify".into()],
            result,
            |_, _| {},
        )
    }

    pub fn audit_stats(&self, caller: &Caller, from: i64, to: i64) -> Result<Vec<OrgStats>, Error> {
        let result = Self::may_audit(caller).and_then(|()| Ok(self.store.audit_stats(from, to)?));
        self.account(
            caller,
            Action::Search,
            vec![format!("audit/stats?from={from}&to={to}")],
            result,
            |_, _| {},
        )
    }

    /// The anomalies among accesses in `[from, to)`, each with its review if there is one.
    pub fn anomalies(
        &self,
        caller: &Caller,
        from: i64,
        to: i64,
        rules: &audit::Rules,
    ) -> Result<Vec<Flagged>, Error> {
        let result = (|| {
            Self::may_audit(caller)?;
            let mut records = Vec::new();
            let mut after = None;
            loop {
                let page = self.store.audit_records(&AuditQuery {
                    from: Some(from),
                    to: Some(to),
                    after,
                    oldest_first: true,
                    count: 10_000,
                    ..AuditQuery::default()
                })?;
                let Some((last, _)) = page.last() else { break };
                after = Some(last + 1);
                let full = page.len() == 10_000;
                records.extend(page.into_iter().filter(|(_, r)| r.action.is_access()));
                if !full {
                    break;
                }
            }
            let found = audit::anomaly::detect(&records, rules);
            let reviews = self.reviews()?;
            Ok(found
                .into_iter()
                .map(|anomaly| Flagged {
                    review: reviews.get(&anomaly.position).cloned(),
                    anomaly,
                })
                .collect())
        })();
        self.account(
            caller,
            Action::Search,
            vec![format!("audit/anomalies?from={from}&to={to}")],
            result,
            |f, r| r.count = Some(f.len() as u64),
        )
    }

    /// Reviews filed, by the position they review: (the review's position, its finding).
    fn reviews(&self) -> Result<HashMap<u64, (u64, String)>, Error> {
        let mut out = HashMap::new();
        let mut before = None;
        loop {
            let page = self.store.audit_records(&AuditQuery {
                actions: vec![Action::Review],
                before,
                count: 10_000,
                ..AuditQuery::default()
            })?;
            let Some((last, _)) = page.last() else { break };
            before = Some(*last);
            let full = page.len() == 10_000;
            for (at, r) in page {
                for e in &r.entities {
                    if let Some(p) = e.strip_prefix("AuditEvent/").and_then(|p| p.parse().ok()) {
                        out.entry(p)
                            .or_insert((at, r.detail.clone().unwrap_or_default()));
                    }
                }
            }
            if !full {
                break;
            }
        }
        Ok(out)
    }

    /// An auditor's review of the access at `position`: `finding` (justified, unjustified
    /// or noted) and a note, itself an audit record. Naming the break-glass `task` also
    /// closes it, in the same transaction.
    pub fn review(
        &self,
        caller: &Caller,
        position: u64,
        finding: &str,
        note: &str,
        task: Option<&str>,
    ) -> Result<(), Error> {
        let entity = format!("AuditEvent/{position}");
        let result = (|| {
            Self::may_audit(caller)?;
            if !["justified", "unjustified", "noted"].contains(&finding) {
                return Err(Error::BadOperation(
                    "finding is justified, unjustified or noted".to_string(),
                ));
            }
            let (body, _) = self.store.audit_entry(position)?.ok_or(Error::NotFound {
                resource_type: "AuditEvent".into(),
                id: position.to_string(),
            })?;
            let reviewed = Record::from_bytes(&body)
                .map_err(|_| Error::Internal("an audit record is unreadable".into()))?;
            let mut r = caller.record(Action::Review, Outcome::Success);
            r.entities = vec![entity.clone()];
            r.patient = reviewed.patient.clone();
            r.detail = Some(
                format!("{finding}: {}", note.trim())
                    .chars()
                    .take(1000)
                    .collect(),
            );
            let Some(task_id) = task else {
                return self.recorder.record(vec![r.into()]).map(|_| ());
            };
            let stored = self
                .store
                .read("Task", task_id)?
                .filter(|s| !s.deleted)
                .ok_or(Error::NotFound {
                    resource_type: "Task".into(),
                    id: task_id.to_string(),
                })?;
            let mut t: Value = serde_json::from_slice(&stored.body)
                .map_err(|_| Error::Internal("a stored Task is not JSON".into()))?;
            t["status"] = "completed".into();
            t["businessStatus"] = json!({"text": format!("reviewed: {finding}")});
            if !note.trim().is_empty() {
                t["note"] = json!([{"text": note.trim()}]);
            }
            self.check_resource(Some("Task"), &t)?;
            let entry = store::Entry {
                full_url: None,
                op: store::WriteOp::Update {
                    resource_type: "Task".into(),
                    id: task_id.to_string(),
                    resource: t,
                    if_match: None,
                },
            };
            r.entities.push(format!("Task/{task_id}"));
            self.store
                .transact(vec![entry], &|_| vec![r.clone().into()])?;
            Ok(())
        })();
        self.refused(caller, Action::Review, &entity, result)
    }

    /// Break-glass accesses awaiting review: their Tasks, oldest first.
    pub fn break_glass_queue(&self, caller: &Caller) -> Result<Vec<Stored>, Error> {
        let result = (|| {
            Self::may_audit(caller)?;
            let code = format!("{ACCESS_TASKS}|break-glass");
            self.search_all(
                "Task",
                &[
                    ("code", code.as_str()),
                    ("status", "in-progress"),
                    ("_sort", "authored-on"),
                ],
            )
        })();
        self.account(
            caller,
            Action::Search,
            vec!["Task?code=break-glass&status=in-progress".into()],
            result,
            |t, r| r.count = Some(t.len() as u64),
        )
    }

    /// Every registration of the person `Person/{id}` names.
    fn registrations_of(&self, person: &str) -> Result<Vec<String>, Error> {
        let id = person.trim_start_matches("Person/");
        let stored = self
            .store
            .read("Person", id)?
            .filter(|s| !s.deleted)
            .ok_or(Error::Forbidden(
                "this patient token names no known person".to_string(),
            ))?;
        let v: Value = serde_json::from_slice(&stored.body)
            .map_err(|_| Error::Internal("a stored Person is not JSON".into()))?;
        Ok(v.get("link")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|l| l.pointer("/target/reference")?.as_str())
            .filter(|r| r.starts_with("Patient/"))
            .map(str::to_string)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect())
    }
}

/// Directory names looked up once per request.
#[derive(Default)]
struct Names {
    cache: HashMap<String, Option<String>>,
}

impl Names {
    fn lookup(&mut self, key: String, f: impl FnOnce() -> Option<String>) -> Option<String> {
        self.cache.entry(key).or_insert_with(f).clone()
    }

    fn organization(&mut self, s: &Service, reference: &str) -> Option<String> {
        self.lookup(reference.to_string(), || {
            let v = s.directory(reference)?;
            v.get("name")?.as_str().map(str::to_string)
        })
    }

    fn practitioner(&mut self, s: &Service, reference: &str) -> Option<String> {
        if !reference.starts_with("Practitioner/") {
            return None;
        }
        self.lookup(reference.to_string(), || {
            let v = s.directory(reference)?;
            let name = v.pointer("/name/0")?;
            if let Some(text) = name.get("text").and_then(Value::as_str) {
                return Some(text.to_string());
            }
            let family = name
                .get("family")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let given: String = name
                .get("given")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            Some(format!("{family}{given}"))
        })
    }

    /// The practitioner's department at the hospital: their PractitionerRole's specialty.
    fn department(&mut self, s: &Service, practitioner: &str, org: &str) -> Option<String> {
        if !practitioner.starts_with("Practitioner/") {
            return None;
        }
        self.lookup(format!("{practitioner}@{org}"), || {
            let roles = s
                .search_all(
                    "PractitionerRole",
                    &[
                        ("practitioner", practitioner),
                        ("organization", org),
                        ("_count", "1"),
                    ],
                )
                .ok()?;
            let v: Value = serde_json::from_slice(&roles.first()?.body).ok()?;
            let specialty = v.pointer("/specialty/0")?;
            specialty
                .get("text")
                .or_else(|| specialty.pointer("/coding/0/display"))
                .and_then(Value::as_str)
                .map(str::to_string)
        })
    }
}

impl Service {
    /// A directory resource (`Organization/{id}`, `Practitioner/{id}`), read for names.
    fn directory(&self, reference: &str) -> Option<Value> {
        let (t, id) = reference.split_once('/')?;
        let stored = self.store.read(t, id).ok()??;
        serde_json::from_slice(&stored.body).ok()
    }
}

/// The notice a shared-record view raises: break-glass always; otherwise the first access
/// by this hospital to this person.
pub(crate) fn notice_for(record: &Record, person: &str, break_glass: bool) -> Option<Notice> {
    let patient = record.patient.clone()?;
    let org = record.organization.clone()?;
    let message = json!({
        "kind": if break_glass { "break-glass" } else { "first-access" },
        "at": fhir::time::format_instant(record.at),
        "hospital": org,
        "who": record.agent,
        "purpose": record.purpose,
        "reason": if break_glass { record.detail.clone() } else { None },
    })
    .to_string();
    Some(Notice {
        id: 0,
        at: record.at,
        patient,
        kind: if break_glass {
            "break-glass"
        } else {
            "first-access"
        }
        .to_string(),
        message,
        sent: false,
        once_per: (!break_glass).then(|| (person.to_string(), org)),
    })
}
