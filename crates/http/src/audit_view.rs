//! The audit log over HTTP: FHIR AuditEvent in the IHE Basic Audit Log Patterns (BALP)
//! shape, the patient's access log and notifications, and the log's tree heads and proofs
//! in the manner of Certificate Transparency (RFC 9162 §4), for anyone to check.

use crate::response::{self, BundleParts, json_response};
use audit::{Action, Record};
use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine;
use serde_json::{Value, json};
use service::{Access, Notice, Stored};
use std::sync::Arc;

/// Yilian's audit actions, the AuditEvent subtype beside the REST interaction.
pub const ACTIONS: &str = "https://yilian.health/fhir/CodeSystem/audit-action";
const BALP: &str = "https://profiles.ihe.net/ITI/BALP/StructureDefinition/";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The BALP profile a record fits, if one does.
fn profile(r: &Record) -> Option<&'static str> {
    let about_patient = r.patient.is_some();
    match (r.action, about_patient) {
        (Action::Read | Action::Shared | Action::History, true) => {
            Some("IHE.BasicAudit.PatientRead")
        }
        (Action::Search | Action::Export, true) => Some("IHE.BasicAudit.PatientQuery"),
        (Action::Create, true) => Some("IHE.BasicAudit.PatientCreate"),
        (Action::Update | Action::Consent, true) => Some("IHE.BasicAudit.PatientUpdate"),
        (Action::Delete, true) => Some("IHE.BasicAudit.PatientDelete"),
        (Action::Read | Action::History, false) => Some("IHE.BasicAudit.Read"),
        (Action::Search, false) => Some("IHE.BasicAudit.Query"),
        (Action::Create, false) => Some("IHE.BasicAudit.Create"),
        (Action::Update, false) => Some("IHE.BasicAudit.Update"),
        (Action::Delete, false) => Some("IHE.BasicAudit.Delete"),
        _ => None,
    }
}

/// The REST interaction a record is (restful-interaction codes).
fn interaction(a: Action) -> &'static str {
    match a {
        Action::Read | Action::Shared => "read",
        Action::Search | Action::Export => "search-type",
        Action::History => "history-instance",
        Action::Create => "create",
        Action::Update
        | Action::Consent
        | Action::Identity
        | Action::Review
        | Action::ReminderFeedback => "update",
        Action::Delete => "delete",
        Action::Transaction => "transaction",
        Action::BreakGlass | Action::SignIn | Action::Reminder => "operation",
    }
}

/// One record as a FHIR R4 AuditEvent, with names where the access log resolved them.
pub fn audit_event(position: u64, r: &Record, names: Option<&Access>) -> Value {
    let mut subtype = vec![
        json!({"system": "http://hl7.org/fhir/restful-interaction", "code": interaction(r.action)}),
        json!({"system": ACTIONS, "code": r.action.code()}),
    ];
    if r.action == Action::SignIn {
        subtype.push(json!({"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "110122", "display": "Login"}));
    }
    let purpose = r.purpose.as_ref().map(|p| {
        json!([{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": p}]}])
    });
    let who = if r.agent.contains('/') {
        let mut w = json!({"reference": r.agent});
        if let Some(name) = names.and_then(|n| n.practitioner.as_ref()) {
            w["display"] = json!(name);
        }
        w
    } else {
        json!({"identifier": {"system": "https://yilian.health/fhir/sid/account", "value": r.agent}})
    };
    let mut user = json!({
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "IRCP", "display": "information recipient"}]},
        "who": who,
        "requestor": true,
    });
    if let Some(role) = &r.role {
        user["role"] = json!([{"text": role}]);
    }
    if let Some(dept) = names.and_then(|n| n.department.as_ref()) {
        user["location"] = json!({"display": dept});
    }
    if let Some(p) = &purpose {
        user["purposeOfUse"] = p.clone();
    }
    let mut agents = vec![user];
    if let Some(org) = &r.organization {
        let mut w = json!({"reference": org});
        if let Some(name) = names.and_then(|n| n.hospital.as_ref()) {
            w["display"] = json!(name);
        }
        agents.push(json!({
            "type": {"coding": [{"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "110153", "display": "Source Role ID"}]},
            "who": w,
            "requestor": false,
        }));
    }
    let mut entities = Vec::new();
    if let Some(p) = &r.patient {
        entities.push(json!({
            "what": {"reference": p},
            "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "1", "display": "Person"},
            "role": {"system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "1", "display": "Patient"},
        }));
    }
    for e in &r.entities {
        if Some(e) == r.patient.as_ref() {
            continue;
        }
        if e.contains('?') || e.contains('$') || !e.contains('/') {
            entities.push(json!({
                "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "2", "display": "System Object"},
                "role": {"system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "24", "display": "Query"},
                "query": b64(e.as_bytes()),
            }));
        } else {
            entities.push(json!({
                "what": {"reference": e},
                "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "2", "display": "System Object"},
            }));
        }
    }
    let mut v = json!({
        "resourceType": "AuditEvent",
        "id": position.to_string(),
        "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-event-type", "code": "rest", "display": "RESTful Operation"},
        "subtype": subtype,
        "action": r.action.crud(),
        "recorded": fhir::time::format_instant(r.at),
        "outcome": r.outcome.code().to_string(),
        "agent": agents,
        "source": {
            "observer": {"display": "Yilian"},
            "type": [{"system": "http://terminology.hl7.org/CodeSystem/security-source-type", "code": "4", "display": "Application Server"}],
        },
    });
    if let Some(p) = profile(r) {
        v["meta"] = json!({"profile": [format!("{BALP}{p}")]});
    }
    if let Some(d) = &r.detail {
        v["outcomeDesc"] = json!(d);
    }
    if let Some(p) = purpose {
        v["purposeOfEvent"] = p;
    }
    if !entities.is_empty() {
        v["entity"] = Value::Array(entities);
    }
    let mut flags = Vec::new();
    for (bit, code) in [
        (audit::flag::BREAK_GLASS, "break-glass"),
        (audit::flag::NO_RELATIONSHIP, "no-relationship"),
        (audit::flag::STAFF, "staff-record"),
    ] {
        if r.flags & bit != 0 {
            flags.push(json!({"system": ACTIONS, "code": code}));
        }
    }
    if !flags.is_empty() {
        v["meta"]["tag"] = Value::Array(flags);
    }
    v
}

/// A resource made here (not stored), as a Bundle entry.
fn made(resource_type: &str, id: String, v: &Value) -> Stored {
    Stored {
        resource_type: resource_type.into(),
        id,
        version: 1,
        last_updated: 0,
        deleted: false,
        body: Arc::from(serde_json::to_vec(v).expect("JSON serializes")),
    }
}

/// A searchset of AuditEvents.
pub fn events_bundle(
    base: &str,
    self_link: String,
    next_link: Option<String>,
    events: Vec<(u64, Value)>,
) -> Response {
    let stored: Vec<Stored> = events
        .iter()
        .map(|(p, v)| made("AuditEvent", p.to_string(), v))
        .collect();
    response::bundle(BundleParts {
        kind: "searchset",
        base,
        total: None,
        self_link,
        next_link,
        entries: stored
            .iter()
            .map(|s| (s, response::search("match")))
            .collect(),
        outcome: None,
    })
}

/// One AuditEvent.
pub fn event(position: u64, r: &Record) -> Response {
    json_response(StatusCode::OK, &audit_event(position, r, None))
}

/// The patient's notifications as FHIR Communications.
pub fn notices_bundle(base: &str, self_link: String, notices: &[Notice]) -> Response {
    let stored: Vec<Stored> = notices
        .iter()
        .map(|n| {
            let v = json!({
                "resourceType": "Communication",
                "id": format!("notice-{}", n.id),
                "status": if n.sent { "completed" } else { "in-progress" },
                "category": [{"coding": [{"system": ACTIONS, "code": n.kind}]}],
                "subject": {"reference": n.patient},
                "recipient": [{"reference": n.patient}],
                "sent": fhir::time::format_instant(n.at),
                "payload": [{"contentString": n.message}],
            });
            made("Communication", format!("notice-{}", n.id), &v)
        })
        .collect();
    response::bundle(BundleParts {
        kind: "searchset",
        base,
        total: Some(stored.len() as u64),
        self_link,
        next_link: None,
        entries: stored
            .iter()
            .map(|s| (s, response::search("match")))
            .collect(),
        outcome: None,
    })
}

/// RFC 9162 §4.3-style signed tree head, plus the key to check it with.
pub fn tree_head(sth: &audit::SignedTreeHead, public: Option<&audit::VerifyingKey>) -> Value {
    let mut v = json!({
        "tree_size": sth.head.size,
        "timestamp": sth.head.timestamp,
        "sha256_root_hash": b64(&sth.head.root),
        "tree_head_signature": b64(&sth.signature),
        "signed_bytes": "0x01 || size (u64 BE) || timestamp (i64 BE, ms) || root",
    });
    if let Some(k) = public {
        v["public_key"] = json!(b64(k.as_bytes()));
        v["signature_algorithm"] = json!("Ed25519");
    }
    v
}

pub fn hashes(key: &str, hashes: &[audit::Hash]) -> Value {
    json!({ key: hashes.iter().map(|h| b64(h)).collect::<Vec<_>>() })
}

pub fn entry(position: u64, body: &[u8], leaf: &audit::Hash) -> Value {
    json!({
        "leaf_index": position,
        "leaf_input": b64(body),
        "leaf_hash": b64(leaf),
    })
}

pub fn stats(from: i64, to: i64, rows: &[service::OrgStats]) -> Value {
    json!({
        "from": fhir::time::format_instant(from),
        "to": fhir::time::format_instant(to),
        "hospitals": rows.iter().map(|s| json!({
            "organization": s.organization,
            "records": s.records,
            "shared_views": s.shared_views,
            "break_glass": s.break_glass,
            "refused": s.refused,
            "patients": s.patients,
        })).collect::<Vec<_>>(),
    })
}

pub fn anomalies(found: &[service::Flagged]) -> Value {
    let mut counts = std::collections::BTreeMap::new();
    for f in found {
        *counts.entry(f.anomaly.kind.code()).or_insert(0u64) += 1;
    }
    json!({
        "counts": counts,
        "anomalies": found.iter().map(|f| {
            let a = &f.anomaly;
            let mut v = json!({
                "kind": a.kind.code(),
                "audit_event": a.position,
                "recorded": fhir::time::format_instant(a.at),
                "agent": a.agent,
                "organization": a.organization,
                "patient": a.patient,
                "detail": a.detail,
                "reviewed": f.review.is_some(),
            });
            if let Some((at, finding)) = &f.review {
                v["review"] = json!({"audit_event": at, "finding": finding});
            }
            v
        }).collect::<Vec<_>>(),
    })
}

/// An audit request, as the dispatcher parsed it.
pub(crate) struct Request<'a> {
    pub method: &'a axum::http::Method,
    pub seg: &'a [&'a str],
    pub pairs: &'a [(String, String)],
    pub base: &'a str,
    pub uri: &'a axum::http::Uri,
    pub body: Option<Vec<u8>>,
}

/// The audit routes; `None` when the path is not one of them.
pub(crate) async fn route(
    app: &Arc<crate::routes::AppState>,
    caller: service::Caller,
    req: Request<'_>,
) -> Option<crate::routes::Result<Response>> {
    let Request {
        method,
        seg,
        pairs,
        base,
        uri,
        body,
    } = req;
    use crate::routes::{blocking, param};
    use axum::http::Method;
    use service::{Error, Proof};
    let svc = app.service.clone();
    let number = |name: &str| -> Result<Option<u64>, Error> {
        param(pairs, name)
            .map(|v| {
                v.parse().map_err(|_| {
                    Error::BadOperation(format!("{name} takes a non-negative integer"))
                })
            })
            .transpose()
    };
    let required = |name: &str| -> Result<u64, Error> {
        number(name)?.ok_or_else(|| Error::BadOperation(format!("{name} is required")))
    };
    let period = || -> Result<(i64, i64), Error> {
        let now = crate::authn::now() * 1000;
        let bound = |name: &str, default: i64, upper: bool| -> Result<i64, Error> {
            match param(pairs, name) {
                None => Ok(default),
                Some(v) => fhir::time::parse_range(&v)
                    .map(|(lo, hi)| if upper { hi + 1 } else { lo })
                    .ok_or_else(|| {
                        Error::BadOperation(format!("{name} takes a FHIR date or instant"))
                    }),
            }
        };
        Ok((
            bound("from", now - 30 * 86_400_000, false)?,
            bound("to", now + 60_000, true)?,
        ))
    };
    let out: crate::routes::Result<Response> = match (method, seg) {
        (&Method::GET, ["AuditEvent"]) => {
            let p = pairs.to_vec();
            let r = blocking(move || svc.audit_events(&caller, &p)).await;
            r.map(|(rows, next)| {
                let next_link = next.map(|before| {
                    let mut q = form_urlencoded::Serializer::new(String::new());
                    for (k, v) in pairs.iter().filter(|(k, _)| k != "_before") {
                        q.append_pair(k, v);
                    }
                    q.append_pair("_before", &before.to_string());
                    format!("{base}/AuditEvent?{}", q.finish())
                });
                let events = rows
                    .iter()
                    .map(|(p, r)| (*p, audit_event(*p, r, None)))
                    .collect();
                events_bundle(base, format!("{base}{}", crate::routes::path_and_query(uri)), next_link, events)
            })
        }
        (&Method::GET, ["AuditEvent", id]) => {
            let id = id.to_string();
            blocking(move || svc.audit_event(&caller, &id))
                .await
                .map(|(p, r)| event(p, &r))
        }
        (_, ["AuditEvent", ..]) => Err(Error::Forbidden(
            "AuditEvents are made by Yilian as it serves requests; they are never written through the API".to_string(),
        )
        .into()),
        (&Method::GET, ["Patient", id, "$access-log"]) => {
            let id = id.to_string();
            let count = match number("_count") {
                Ok(c) => c.unwrap_or(100) as usize,
                Err(e) => return Some(Err(e.into())),
            };
            blocking(move || svc.access_log(&caller, &id, count))
                .await
                .map(|rows| {
                    let events = rows
                        .iter()
                        .map(|a| (a.position, audit_event(a.position, &a.record, Some(a))))
                        .collect();
                    events_bundle(base, format!("{base}{}", crate::routes::path_and_query(uri)), None, events)
                })
        }
        (&Method::GET, ["Patient", id, "$notifications"]) => {
            let id = id.to_string();
            blocking(move || svc.notifications(&caller, &id))
                .await
                .map(|n| notices_bundle(base, format!("{base}{}", uri.path()), &n))
        }
        (&Method::GET, ["audit", "tree-head"]) => match number("size") {
            Err(e) => Err(e.into()),
            Ok(size) => blocking(move || Ok((svc.tree_head(size)?, svc.audit_public_key())))
                .await
                .map(|(h, k)| json_response(StatusCode::OK, &tree_head(&h, k.as_ref()))),
        },
        (&Method::GET, ["audit", "proof"]) => match (required("index"), required("size")) {
            (Ok(index), Ok(size)) => {
                blocking(move || svc.audit_proof(Proof::Inclusion { index, size }))
                    .await
                    .map(|h| {
                        let mut v = hashes("audit_path", &h);
                        v["leaf_index"] = json!(index);
                        v["tree_size"] = json!(size);
                        json_response(StatusCode::OK, &v)
                    })
            }
            (Err(e), _) | (_, Err(e)) => Err(e.into()),
        },
        (&Method::GET, ["audit", "consistency"]) => match (required("first"), required("second")) {
            (Ok(first), Ok(second)) => {
                blocking(move || svc.audit_proof(Proof::Consistency { first, second }))
                    .await
                    .map(|h| json_response(StatusCode::OK, &hashes("consistency", &h)))
            }
            (Err(e), _) | (_, Err(e)) => Err(e.into()),
        },
        (&Method::GET, ["audit", "entry", position]) => match position.parse::<u64>() {
            Err(_) => Err(Error::BadOperation("the entry's position is a non-negative integer".into()).into()),
            Ok(p) => blocking(move || svc.audit_entry(&caller, p))
                .await
                .map(|(b, l)| json_response(StatusCode::OK, &entry(p, &b, &l))),
        },
        (&Method::GET, ["audit", "stats"]) => match period() {
            Err(e) => Err(e.into()),
            Ok((from, to)) => blocking(move || svc.audit_stats(&caller, from, to))
                .await
                .map(|rows| json_response(StatusCode::OK, &stats(from, to, &rows))),
        },
        (&Method::GET, ["audit", "anomalies"]) => match period() {
            Err(e) => Err(e.into()),
            Ok((from, to)) => {
                blocking(move || svc.anomalies(&caller, from, to, &audit::Rules::default()))
                    .await
                    .map(|f| json_response(StatusCode::OK, &anomalies(&f)))
            }
        },
        (&Method::GET, ["audit", "break-glass"]) => blocking(move || svc.break_glass_queue(&caller))
            .await
            .map(|tasks| {
                response::bundle(BundleParts {
                    kind: "searchset",
                    base,
                    total: Some(tasks.len() as u64),
                    self_link: format!("{base}{}", uri.path()),
                    next_link: None,
                    entries: tasks.iter().map(|s| (s, response::search("match"))).collect(),
                    outcome: None,
                })
            }),
        (&Method::POST, ["audit", "review"]) => {
            let body = body.unwrap_or_default();
            let parsed = review_params(&body);
            match parsed {
                Err(e) => Err(e.into()),
                Ok((position, finding, note, task)) => blocking(move || {
                    svc.review(&caller, position, &finding, &note, task.as_deref())
                })
                .await
                .map(|()| {
                    response::outcome(
                        200,
                        &[fhir::Issue {
                            severity: fhir::Severity::Information,
                            code: fhir::IssueType::Informational,
                            diagnostics: format!("review of AuditEvent/{position} recorded"),
                            expression: vec![],
                        }],
                    )
                }),
            }
        }
        (_, ["audit", ..]) => Err(Error::BadOperation(
            "the audit API is GET audit/tree-head, audit/proof, audit/consistency, audit/entry/{n}, audit/stats, audit/anomalies, audit/break-glass and POST audit/review".to_string(),
        )
        .into()),
        _ => return None,
    };
    Some(out)
}

/// `POST /audit/review`: a Parameters resource with `position` (integer), `finding`
/// (code: justified, unjustified, noted), `note` (string) and optionally `task` (the
/// break-glass Task it closes).
fn review_params(body: &[u8]) -> Result<(u64, String, String, Option<String>), service::Error> {
    let bad = |m: &str| service::Error::BadOperation(m.to_string());
    let v =
        fhir::json::parse_object(body).map_err(|_| bad("the review is a Parameters resource"))?;
    let params = v
        .get("parameter")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("the review is a Parameters resource"))?;
    let get = |name: &str| {
        params
            .iter()
            .find(|p| p.get("name").and_then(Value::as_str) == Some(name))
    };
    let position = get("position")
        .and_then(|p| p.get("valueInteger").or_else(|| p.get("valueUnsignedInt")))
        .and_then(Value::as_u64)
        .ok_or_else(|| bad("position (valueInteger) names the reviewed AuditEvent"))?;
    let finding = get("finding")
        .and_then(|p| p.get("valueCode"))
        .and_then(Value::as_str)
        .ok_or_else(|| bad("finding (valueCode) is justified, unjustified or noted"))?
        .to_string();
    let note = get("note")
        .and_then(|p| p.get("valueString"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let task = get("task")
        .and_then(|p| p.pointer("/valueReference/reference"))
        .and_then(Value::as_str)
        .map(|r| r.trim_start_matches("Task/").to_string());
    Ok((position, finding, note, task))
}
