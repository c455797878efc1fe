//! Hospital feeds: HL7 v2 messages as hospitals' systems send them, into the record.
//!
//! A message is read (character set, grammar, header), its sender identified among the
//! hospitals admitted on the connection, mapped to a transaction of conditional updates
//! (`hl7::map`), its local codes mapped through the hospital's ConceptMaps, validated, and
//! handed to the [`Inlet`]: one thread applying the messages of every connection together in
//! one durable transaction (each message all or nothing, under its own savepoint), with a
//! receipt per message. Only then is the acknowledgement given: AA when the data is
//! committed, the same acknowledgement again for a control id already accepted, AE or AR
//! with ERR segments naming segment, field and reason. Refusals are receipts too, so the
//! data-quality figures count every message.

use crate::group::Group;
use crate::journal::write_record;
use crate::{Caller, Error, Service, bundle};
use hl7::inbound::{self, Charset, Refusal};
use hl7::{Ack, AckCode, ErrorCode, Problem};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, mpsc};
use store::{
    FeedCount, Inbound, LocalCode, Logged, Outcome, Receipt, Received, Store, WriteOutcome,
};
use terminology::local::CodeMaps;

/// Messages applied in one transaction at most.
const MAX_GROUP: usize = 512;
/// A message whose event is older than this when it arrives is late.
pub const LATE_MS: i64 = 24 * 3600 * 1000;

/// Group commit of hospitals' messages.
pub(crate) struct Inlet {
    group: Group<Inbound, Received>,
}

/// The audit record of a feed's write: the hospital's interface as the agent.
fn feed_record(receipt: &Receipt, out: &[WriteOutcome]) -> Vec<Logged> {
    let mut logged = write_record(&Caller::System, None, out);
    for l in &mut logged {
        l.record.agent = format!("Device/feed-{}", receipt.sender);
        l.record.role = Some("feed".into());
        l.record.organization = Some(format!("Organization/{}", receipt.sender));
    }
    logged
}

impl Inlet {
    pub(crate) fn start(store: Arc<dyn Store>) -> Inlet {
        let group = Group::start(
            "feeds",
            MAX_GROUP,
            |_| 1,
            move |messages| {
                store.receive(messages, &feed_record).map_err(|e| {
                    tracing::error!(error = %e, "a group of feed messages failed");
                    e.to_string()
                })
            },
        );
        Inlet { group }
    }

    fn submit(&self, inbound: Inbound) -> mpsc::Receiver<Result<Received, String>> {
        self.group.submit(inbound)
    }
}

/// A message on its way: [`Delivery::ack`] waits until it is committed (or refused) and
/// gives the acknowledgement's bytes.
pub struct Delivery {
    state: State,
}

enum State {
    Ready(Vec<u8>),
    Waiting(Box<Waiting>),
}

struct Waiting {
    service: Service,
    done: mpsc::Receiver<Result<Received, String>>,
    charset: Charset,
    /// The acknowledgement if the message is applied or noted.
    ack: String,
    /// For a refusal decided by the store.
    refusal: Refusal,
    stamp: (String, String),
    /// The store's answer, once polled.
    result: Option<Result<Received, String>>,
}

impl Delivery {
    fn ready(text: &str, charset: Charset) -> Delivery {
        Delivery {
            state: State::Ready(inbound::encode(text, charset)),
        }
    }

    /// Whether [`Delivery::ack`] would answer without waiting.
    pub fn is_ready(&mut self) -> bool {
        match &mut self.state {
            State::Ready(_) => true,
            State::Waiting(w) => {
                if w.result.is_none()
                    && let Ok(r) = w.done.try_recv()
                {
                    w.result = Some(r);
                }
                w.result.is_some()
            }
        }
    }

    /// The acknowledgement, once the message's fate is durable.
    pub fn ack(self) -> Vec<u8> {
        let w = match self.state {
            State::Ready(bytes) => return bytes,
            State::Waiting(w) => *w,
        };
        let Waiting {
            service,
            done,
            charset,
            ack,
            mut refusal,
            stamp,
            result,
        } = w;
        let text = match result.map_or_else(|| done.recv(), Ok) {
            Ok(Ok(Received::Applied(out))) => {
                let written: Vec<&store::Stored> =
                    out.iter().filter_map(WriteOutcome::stored).collect();
                service.observe(&written);
                ack
            }
            Ok(Ok(Received::Noted)) => ack,
            Ok(Ok(Received::Repeat(earlier))) => earlier,
            Ok(Ok(Received::Failed(e))) => {
                refusal.ack = Ack {
                    code: AckCode::Error,
                    problems: vec![Problem {
                        segment: "MSH".into(),
                        sequence: 1,
                        field: None,
                        code: ErrorCode::ApplicationInternalError,
                        message: format!("the record refused the message's data: {}", e.root()),
                    }],
                };
                refusal.render(&stamp.0, &stamp.1)
            }
            Ok(Err(_)) | Err(_) => {
                refusal.ack = Ack {
                    code: AckCode::Reject,
                    problems: vec![Problem {
                        segment: "MSH".into(),
                        sequence: 1,
                        field: None,
                        code: ErrorCode::ApplicationInternalError,
                        message:
                            "the record is unavailable: nothing was stored; send the message again"
                                .into(),
                    }],
                };
                refusal.render(&stamp.0, &stamp.1)
            }
        };
        inbound::encode(&text, charset)
    }
}

/// MSH-7 style `YYYYMMDDHHMMSS` in Beijing time.
fn v2_now(ms: i64) -> String {
    fhir::time::format_instant(ms + 8 * 3600 * 1000)
        .chars()
        .take(19)
        .filter(char::is_ascii_digit)
        .collect()
}

/// When the message says its event happened: EVN-2, else MSH-7.
fn event_at(m: &hl7::Message) -> Option<i64> {
    let evn = m.get("EVN", 2);
    let ts = if evn.is_empty() { m.get("MSH", 7) } else { evn };
    let t = hl7::map::timestamp(&ts)?;
    fhir::time::parse_range(&t).map(|(lo, _)| lo)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The ERR text of a problem list for the receipt: where and which rule, no content.
fn reason(problems: &[Problem]) -> String {
    problems
        .first()
        .map(|p| {
            let place = match p.field {
                Some(f) => format!("{}-{f}", p.segment),
                None => p.segment.clone(),
            };
            if p.message.starts_with(&place) {
                p.message.clone()
            } else {
                format!("{place}: {}", p.message)
            }
        })
        .unwrap_or_default()
        .chars()
        .take(200)
        .collect()
}

impl Service {
    /// Takes one HL7 v2 message from a connection on which `feeds` are admitted. The
    /// returned [`Delivery`] gives the acknowledgement once the message is durably stored
    /// or refused; call it in arrival order to keep each sender's order.
    pub fn v2_message(&self, feeds: &[auth::Feed], raw: &[u8]) -> Delivery {
        let now = now_ms();
        let stamp_ts = v2_now(now);
        let read = match inbound::read(raw) {
            Ok(r) => r,
            Err(refusal) => {
                let control = format!("Y{}", refusal.to.control_id);
                let text = refusal.render(&control, &stamp_ts);
                // Counted for the hospital when its facility can be read.
                return match feeds.iter().find(|f| f.names(&refusal.to.sending_facility)) {
                    Some(feed) => {
                        let receipt = Receipt {
                            sender: feed.hospital.clone(),
                            control_id: refusal.to.control_id.clone(),
                            kind: if refusal.to.message_type.is_empty() {
                                "?".into()
                            } else {
                                format!("{}^{}", refusal.to.message_type, refusal.to.trigger)
                            },
                            event_at: None,
                            outcome: Outcome::from_code(refusal.ack.code.code()),
                            reason: reason(&refusal.ack.problems),
                            ack: text.clone(),
                            unmapped: Vec::new(),
                        };
                        self.noted(receipt, *refusal, text, (control, stamp_ts))
                    }
                    None => Delivery::ready(&text, refusal.charset),
                };
            }
        };
        let control = format!("Y{}", read.to.control_id);
        let stamp = (control.clone(), stamp_ts.clone());
        let (kind, trigger) = read.message.kind();
        let Some(feed) = feeds.iter().find(|f| f.names(&read.to.sending_facility)) else {
            let refusal = inbound::refuse(
                &read,
                AckCode::Reject,
                vec![Problem {
                    segment: "MSH".into(),
                    sequence: 1,
                    field: Some(4),
                    code: ErrorCode::UnknownKey,
                    message:
                        "MSH-4 (sending facility) is not a hospital admitted on this connection"
                            .into(),
                }],
            );
            tracing::warn!("a message from an unregistered sending facility was refused");
            return Delivery::ready(&refusal.render(&control, &stamp_ts), read.charset);
        };
        let mut receipt = Receipt {
            sender: feed.hospital.clone(),
            control_id: read.to.control_id.clone(),
            kind: format!("{kind}^{trigger}"),
            event_at: event_at(&read.message),
            outcome: Outcome::Accepted,
            reason: String::new(),
            ack: String::new(),
            unmapped: Vec::new(),
        };
        let refuse = |receipt: Receipt, code: AckCode, problems: Vec<Problem>| {
            let refusal = inbound::refuse(&read, code, problems);
            let text = refusal.render(&control, &stamp_ts);
            let receipt = Receipt {
                outcome: Outcome::from_code(code.code()),
                reason: reason(&refusal.ack.problems),
                ack: text.clone(),
                ..receipt
            };
            self.noted(receipt, refusal, text, stamp.clone())
        };
        let mut bundle = match hl7::map::to_bundle(&read.message, &feed.hospital) {
            Ok(b) => b,
            Err(problems) => {
                let code = if problems.iter().any(|p| {
                    matches!(
                        p.code,
                        ErrorCode::UnsupportedMessageType | ErrorCode::UnsupportedEventCode
                    )
                }) {
                    AckCode::Reject
                } else {
                    AckCode::Error
                };
                return refuse(receipt, code, problems);
            }
        };
        if (kind.as_str(), trigger.as_str()) == ("ADT", "A40") {
            let prior = hl7::map::merged_away(&read.message, &feed.hospital)
                .and_then(|cond| self.retire(&cond));
            match prior {
                Some(entry) => {
                    if let Some(list) = bundle["entry"].as_array_mut() {
                        list.push(entry);
                    }
                }
                None => {
                    return refuse(
                        receipt,
                        AckCode::Error,
                        vec![Problem {
                            segment: "MRG".into(),
                            sequence: 1,
                            field: Some(1),
                            code: ErrorCode::UnknownKey,
                            message: "MRG-1 names no other registration of this hospital".into(),
                        }],
                    );
                }
            }
        }
        receipt.unmapped = self.map_codes(&mut bundle);
        let raw_entries = bundle["entry"].as_array().cloned().unwrap_or_default();
        let entries = match bundle::entries(self, &Caller::System, &raw_entries) {
            Ok(e) => e,
            Err(issues) => {
                // The mapping made something the record does not take: say which resource
                // and element, never the value.
                let what: Vec<String> = issues
                    .iter()
                    .take(3)
                    .map(|i| {
                        let at = i.expression.first().cloned().unwrap_or_default();
                        let entry = at
                            .strip_prefix("Bundle.entry[")
                            .and_then(|r| r.split(']').next())
                            .and_then(|n| n.parse::<usize>().ok())
                            .and_then(|n| raw_entries.get(n))
                            .and_then(|e| e["resource"]["resourceType"].as_str())
                            .unwrap_or("resource");
                        format!("{entry}: {}", i.diagnostics)
                    })
                    .collect();
                return refuse(
                    receipt,
                    AckCode::Error,
                    vec![Problem {
                        segment: "MSH".into(),
                        sequence: 1,
                        field: Some(9),
                        code: ErrorCode::DataTypeError,
                        message: format!(
                            "the message maps to an invalid record: {}",
                            what.join("; ")
                        ),
                    }],
                );
            }
        };
        let accept = Ack::accept().render(&read.to, &read.message.delimiters, &control, &stamp_ts);
        receipt.ack = accept.clone();
        // Filled with the store's reason if it refuses the data.
        let refusal = inbound::refuse(&read, AckCode::Error, Vec::new());
        let done = self.inlet.submit(Inbound {
            receipt,
            entries: Some(entries),
        });
        Delivery {
            state: State::Waiting(Box::new(Waiting {
                service: self.clone(),
                done,
                charset: read.charset,
                ack: accept,
                refusal,
                stamp,
                result: None,
            })),
        }
    }

    /// The transaction entry that retires the registration `condition` finds (ADT^A40):
    /// inactive, replaced by the message's surviving Patient, written only if it has not
    /// changed since it was read.
    fn retire(&self, condition: &str) -> Option<Value> {
        let (resource_type, query) = condition.split_once('?')?;
        let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let q = self.condition(resource_type, &pairs).ok()?;
        let page = self.store.search(&q).ok()?;
        let [found] = page.matches.as_slice() else {
            return None;
        };
        let mut prior: Value = serde_json::from_slice(&found.body).ok()?;
        prior["active"] = json!(false);
        prior["link"] =
            json!([{"other": {"reference": hl7::map::patient_url()}, "type": "replaced-by"}]);
        Some(json!({"resource": prior, "request": {"method": "PUT",
            "url": format!("Patient/{}", found.id), "ifMatch": format!("W/\"{}\"", found.version)}}))
    }

    /// A refusal kept as a receipt before it is answered.
    fn noted(
        &self,
        receipt: Receipt,
        refusal: Refusal,
        text: String,
        stamp: (String, String),
    ) -> Delivery {
        let charset = refusal.charset;
        let done = self.inlet.submit(Inbound {
            receipt,
            entries: None,
        });
        Delivery {
            state: State::Waiting(Box::new(Waiting {
                service: self.clone(),
                done,
                charset,
                ack: text,
                refusal,
                stamp,
                result: None,
            })),
        }
    }

    /// Maps the local codes of every resource in a transaction Bundle through the
    /// hospitals' maps; returns the codes no map covered.
    fn map_codes(&self, bundle: &mut Value) -> Vec<LocalCode> {
        let maps = self.code_maps();
        let mut unmapped = Vec::new();
        for e in bundle["entry"].as_array_mut().into_iter().flatten() {
            unmapped.extend(maps.apply(&mut e["resource"]));
        }
        unmapped.sort();
        unmapped.dedup();
        unmapped
            .into_iter()
            .map(|u| LocalCode {
                system: u.system,
                code: u.code,
                display: u.display,
            })
            .collect()
    }

    /// The hospitals' code maps, read from the stored ConceptMaps on first use and again
    /// after any ConceptMap is written.
    pub(crate) fn code_maps(&self) -> Arc<CodeMaps> {
        if let Some(m) = self.codes.lock().expect("code maps lock").as_ref() {
            return m.clone();
        }
        let mut maps = Vec::new();
        let mut page: Option<String> = None;
        loop {
            let pairs = vec![("_count".to_string(), "1000".to_string())];
            let Ok(mut q) = fhir::search::parse_query("ConceptMap", &pairs, false) else {
                break;
            };
            q.page = page.take();
            match self.store.search(&q) {
                Ok(p) => {
                    maps.extend(
                        p.matches
                            .iter()
                            .filter_map(|s| serde_json::from_slice::<Value>(&s.body).ok()),
                    );
                    match p.next {
                        Some(n) => page = Some(n),
                        None => break,
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "the code maps could not be read");
                    return Arc::new(CodeMaps::default());
                }
            }
        }
        let built = Arc::new(CodeMaps::from_concept_maps(&maps));
        *self.codes.lock().expect("code maps lock") = Some(built.clone());
        built
    }

    /// Who may see a hospital's feed figures: operators and auditors every hospital's, a
    /// hospital's own staff and systems their hospital's.
    fn feed_scope(&self, caller: &Caller) -> Result<Option<String>, Error> {
        match caller {
            Caller::System => Ok(None),
            Caller::User(p) => match p.caller.role {
                policy::Role::Admin | policy::Role::Auditor => Ok(None),
                _ => match &p.caller.organization {
                    Some(org) => Ok(Some(
                        org.strip_prefix("Organization/").unwrap_or(org).to_string(),
                    )),
                    None => Err(Error::Forbidden(
                        "feed figures are for operators, auditors and a hospital's own staff"
                            .into(),
                    )),
                },
            },
        }
    }

    /// Data quality per hospital over `[from, to)` (milliseconds): messages by kind and
    /// outcome, refusals by reason, late messages, and the unmapped local codes.
    pub fn feed_quality(&self, caller: &Caller, from: i64, to: i64) -> Result<Value, Error> {
        let result = self.feed_quality_unaudited(caller, from, to);
        self.account(
            caller,
            audit::Action::Search,
            vec![format!("feeds/quality?from={from}&to={to}")],
            result,
            |_, _| {},
        )
    }

    fn feed_quality_unaudited(&self, caller: &Caller, from: i64, to: i64) -> Result<Value, Error> {
        let scope = self.feed_scope(caller)?;
        let counts: Vec<FeedCount> = self
            .store
            .feed_counts(from, to, LATE_MS)?
            .into_iter()
            .filter(|c| scope.as_ref().is_none_or(|s| *s == c.sender))
            .collect();
        let queue = self.store.unmapped_codes(scope.as_deref())?;
        let mut hospitals: BTreeMap<String, Value> = BTreeMap::new();
        for c in &counts {
            let h = hospitals.entry(c.sender.clone()).or_insert_with(|| {
                json!({"hospital": c.sender, "messages": 0, "accepted": 0, "errors": 0,
                    "rejected": 0, "late": 0, "byKind": {}, "refusals": [], "unmappedCodes": 0})
            });
            let add = |v: &mut Value, n: u64| *v = json!(v.as_u64().unwrap_or(0) + n);
            add(&mut h["messages"], c.messages);
            add(&mut h["late"], c.late);
            let key = match c.outcome {
                Outcome::Accepted => "accepted",
                Outcome::Error => "errors",
                Outcome::Rejected => "rejected",
            };
            add(&mut h[key], c.messages);
            add(&mut h["byKind"][&c.kind], c.messages);
            if c.outcome != Outcome::Accepted {
                h["refusals"].as_array_mut().expect("an array").push(json!({
                    "kind": c.kind, "outcome": c.outcome.code(), "reason": c.reason, "messages": c.messages}));
            }
        }
        for u in &queue {
            if let Some(h) = hospitals.get_mut(&u.sender) {
                h["unmappedCodes"] = json!(h["unmappedCodes"].as_u64().unwrap_or(0) + 1);
            }
        }
        Ok(
            json!({"from": fhir::time::format_instant(from), "to": fhir::time::format_instant(to),
            "lateAfterHours": LATE_MS / 3_600_000,
            "hospitals": hospitals.into_values().collect::<Vec<_>>()}),
        )
    }

    /// A hospital's work queue: the local codes it sent that no map covers, most frequent
    /// first, with how to clear them (upload a ConceptMap).
    pub fn unmapped_codes(&self, caller: &Caller, hospital: Option<&str>) -> Result<Value, Error> {
        let result = self.unmapped_codes_unaudited(caller, hospital);
        self.account(
            caller,
            audit::Action::Search,
            vec![format!(
                "feeds/unmapped?hospital={}",
                hospital.unwrap_or_default()
            )],
            result,
            |_, _| {},
        )
    }

    fn unmapped_codes_unaudited(
        &self,
        caller: &Caller,
        hospital: Option<&str>,
    ) -> Result<Value, Error> {
        let scope = self.feed_scope(caller)?;
        let want = match (&scope, hospital) {
            (Some(own), Some(h)) if own != h => {
                return Err(Error::Forbidden(
                    "a hospital sees its own work queue only".into(),
                ));
            }
            (Some(own), _) => Some(own.clone()),
            (None, h) => h.map(str::to_string),
        };
        let maps = self.code_maps();
        let items: Vec<Value> = self
            .store
            .unmapped_codes(want.as_deref())?
            .into_iter()
            .filter(|u| maps.target(&u.system, &u.code).is_none())
            .map(|u| {
                json!({"hospital": u.sender, "system": u.system, "code": u.code,
                    "display": u.display, "seen": u.seen,
                    "firstSeen": fhir::time::format_instant(u.first_at),
                    "lastSeen": fhir::time::format_instant(u.last_at)})
            })
            .collect();
        Ok(json!({"items": items,
            "howToClear": "PUT a ConceptMap whose group.source is the local system and group.target a standard one (LOINC, ICD-10, ATC); codes it covers leave this queue and are mapped in messages from then on"}))
    }
}

impl Service {
    /// Takes a WS/T 500 document (CDA R2) from a hospital: its header checked, its entries
    /// and the original stored in one transaction with a receipt, so the same document id
    /// sent again writes nothing. `hospital` names the sender when an operator posts for it;
    /// a hospital's own systems post as themselves.
    pub fn cda_document(
        &self,
        caller: &Caller,
        hospital: Option<&str>,
        body: &[u8],
    ) -> Result<Value, Error> {
        let result = self.cda_unaudited(caller, hospital, body);
        self.refused(
            caller,
            audit::Action::Transaction,
            "DocumentReference",
            result,
        )
    }

    fn cda_unaudited(
        &self,
        caller: &Caller,
        hospital: Option<&str>,
        body: &[u8],
    ) -> Result<Value, Error> {
        caller.may_write()?;
        let own = match caller {
            Caller::User(p) => p.caller.organization.as_deref(),
            Caller::System => None,
        }
        .map(|o| o.strip_prefix("Organization/").unwrap_or(o).to_string());
        let sender = match (own, hospital, caller.operates()) {
            (Some(o), Some(h), _) if o != h => {
                return Err(Error::Forbidden(
                    "a hospital sends its own documents only".into(),
                ));
            }
            (Some(o), _, _) => o,
            (None, Some(h), true) => h.to_string(),
            _ => {
                return Err(Error::BadOperation(
                    "name the sending hospital: ?hospital={id}".into(),
                ));
            }
        };
        let invalid = |path: &str, message: &str| {
            let mut issue = fhir::Issue::error(fhir::IssueType::Invalid, message.to_string());
            issue.expression.push(path.to_string());
            issue
        };
        let text = std::str::from_utf8(body)
            .map_err(|_| Error::Invalid(vec![invalid("/", "the document is not UTF-8")]))?;
        let mut receipt = Receipt {
            sender: sender.clone(),
            control_id: String::new(),
            kind: "CDA".into(),
            event_at: None,
            outcome: Outcome::Accepted,
            reason: String::new(),
            ack: String::new(),
            unmapped: Vec::new(),
        };
        let doc = match cda::read(text, &sender) {
            Ok(d) => d,
            Err(problems) => {
                let first = &problems[0];
                receipt.outcome = Outcome::Error;
                receipt.reason = format!("{}: {}", first.path, first.message)
                    .chars()
                    .take(200)
                    .collect();
                // Counted for the hospital's data quality, then refused.
                let _ = self
                    .inlet
                    .submit(Inbound {
                        receipt,
                        entries: None,
                    })
                    .recv();
                return Err(Error::Invalid(
                    problems
                        .iter()
                        .map(|p| invalid(&p.path, &p.message))
                        .collect(),
                ));
            }
        };
        receipt.control_id = doc.id.clone();
        receipt.kind = format!("CDA^{}", doc.code);
        receipt.event_at = doc
            .effective
            .as_deref()
            .and_then(fhir::time::parse_range)
            .map(|(lo, _)| lo);
        let mut bundle = doc.bundle;
        receipt.unmapped = self.map_codes(&mut bundle);
        let raw = bundle["entry"].as_array().cloned().unwrap_or_default();
        let entries = bundle::entries(self, &Caller::System, &raw).map_err(Error::BadBundle)?;
        let done = self.inlet.submit(Inbound {
            receipt,
            entries: Some(entries),
        });
        match done.recv() {
            Ok(Ok(Received::Applied(out))) => {
                let written: Vec<&store::Stored> =
                    out.iter().filter_map(WriteOutcome::stored).collect();
                self.observe(&written);
                let document = written
                    .iter()
                    .find(|s| s.resource_type == "DocumentReference")
                    .map(|s| format!("DocumentReference/{}", s.id));
                Ok(json!({"outcome": "stored", "document": document, "resources": out.len()}))
            }
            Ok(Ok(Received::Repeat(_))) => Ok(
                json!({"outcome": "already received: this document id was stored before; nothing was written"}),
            ),
            Ok(Ok(Received::Failed(e))) => Err(e.into()),
            Ok(Ok(Received::Noted)) | Ok(Err(_)) | Err(_) => Err(Error::Unavailable),
        }
    }
}
