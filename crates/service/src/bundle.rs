//! Batch and transaction Bundles. A transaction is one store transaction: all entries land
//! or none does, `urn:uuid:` references between entries are resolved, conditional entries
//! are honoured. Batch entries succeed or fail one by one.

use crate::{Caller, Error, Service, Written, parse_if_match};
use fhir::{Issue, IssueType};
use serde_json::{Value, json};
use store::{Entry, WriteOp, WriteOutcome};

pub fn process(service: &Service, caller: &Caller, body: &[u8]) -> Result<Value, Error> {
    let bundle = fhir::json::parse_object(body)?;
    if bundle.get("resourceType").and_then(Value::as_str) != Some("Bundle") {
        return Err(bad("the body must be a Bundle", "Bundle.resourceType"));
    }
    let kind = bundle
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let entries = match bundle.get("entry") {
        None => Vec::new(),
        Some(Value::Array(e)) => e.clone(),
        Some(_) => return Err(bad("Bundle.entry must be an array", "Bundle.entry")),
    };
    match kind {
        "transaction" => transaction(service, caller, entries),
        "batch" => Ok(batch(service, caller, entries)),
        _ => Err(bad(
            "Bundle.type must be batch or transaction",
            "Bundle.type",
        )),
    }
}

/// A parsed `Bundle.entry.request`.
struct Request {
    method: String,
    resource_type: String,
    id: Option<String>,
    query: Option<Vec<(String, String)>>,
    if_none_exist: Option<Vec<(String, String)>>,
    if_match: Option<String>,
    full_url: Option<String>,
    resource: Option<Value>,
}

fn parse_entry(i: usize, entry: &Value) -> Result<Request, Vec<Issue>> {
    let at = |e: &str| format!("Bundle.entry[{i}].{e}");
    let req = entry.get("request").ok_or_else(|| {
        vec![Issue::error(IssueType::Required, "entry has no request").at(at("request"))]
    })?;
    let method = req
        .get("method")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let url = req.get("url").and_then(Value::as_str).unwrap_or_default();
    if url.is_empty() {
        return Err(vec![
            Issue::error(IssueType::Required, "entry request has no url").at(at("request.url")),
        ]);
    }
    let (path, query) = match url.split_once('?') {
        Some((p, q)) => (p, Some(pairs(q))),
        None => (url, None),
    };
    let mut parts = path.trim_matches('/').split('/');
    let resource_type = parts.next().unwrap_or_default().to_string();
    let id = parts.next().map(str::to_string);
    let resource = entry.get("resource").cloned();
    let header = |name: &str| req.get(name).and_then(Value::as_str).map(str::to_string);
    Ok(Request {
        method,
        resource_type,
        id,
        query,
        // `ifNoneExist` may carry the type: `Patient?identifier=...`.
        if_none_exist: header("ifNoneExist")
            .map(|q| pairs(q.split_once('?').map_or(q.as_str(), |(_, q)| q))),
        if_match: header("ifMatch"),
        full_url: entry
            .get("fullUrl")
            .and_then(Value::as_str)
            .map(str::to_string),
        resource,
    })
}

/// A transaction Bundle's entries, each parsed and validated, as store entries; or every
/// problem found, each located by `Bundle.entry[i]`.
pub(crate) fn entries(
    service: &Service,
    caller: &Caller,
    raw: &[Value],
) -> Result<Vec<Entry>, Vec<Issue>> {
    let mut issues = Vec::new();
    let mut entries = Vec::new();
    for (i, entry) in raw.iter().enumerate() {
        match parse_entry(i, entry).and_then(|r| to_write(service, caller, i, r)) {
            Ok(e) => entries.push(e),
            Err(mut e) => issues.append(&mut e),
        }
    }
    if issues.is_empty() {
        Ok(entries)
    } else {
        Err(issues)
    }
}

fn transaction(service: &Service, caller: &Caller, raw: Vec<Value>) -> Result<Value, Error> {
    let entries = entries(service, caller, &raw).map_err(Error::BadBundle)?;
    let outcomes = service.transact(caller, entries, None)?;
    Ok(json!({
        "resourceType": "Bundle",
        "type": "transaction-response",
        "entry": outcomes.iter().map(response_entry).collect::<Vec<_>>(),
    }))
}

/// A write entry of a transaction, validated, as a store entry.
fn to_write(service: &Service, caller: &Caller, i: usize, r: Request) -> Result<Entry, Vec<Issue>> {
    let at = |e: &str| format!("Bundle.entry[{i}].{e}");
    let resource = |r: &Request| -> Result<Value, Vec<Issue>> {
        let res = r.resource.clone().ok_or_else(|| {
            vec![Issue::error(IssueType::Required, "entry has no resource").at(at("resource"))]
        })?;
        service
            .check_resource(Some(&r.resource_type), &res)
            .and_then(|()| service.check_evidence(caller, &res))
            .map_err(|e| relocate(i, e))?;
        Ok(res)
    };
    let if_match = r
        .if_match
        .as_deref()
        .map(parse_if_match)
        .transpose()
        .map_err(|e| relocate(i, e))?;
    let op = match (r.method.as_str(), &r.id, &r.query) {
        ("POST", None, None) => WriteOp::Create {
            resource: resource(&r)?,
            if_none_exist: match &r.if_none_exist {
                Some(p) => Some(
                    service
                        .condition(&r.resource_type, p)
                        .map_err(|e| relocate(i, e))?,
                ),
                None => None,
            },
        },
        ("PUT", Some(id), None) => {
            let res = resource(&r)?;
            if res.get("id").and_then(Value::as_str) != Some(id.as_str()) {
                return Err(relocate(i, Error::IdMismatch));
            }
            WriteOp::Update {
                resource_type: r.resource_type.clone(),
                id: id.clone(),
                resource: res,
                if_match,
            }
        }
        ("PUT", None, Some(q)) => WriteOp::ConditionalUpdate {
            query: service
                .condition(&r.resource_type, q)
                .map_err(|e| relocate(i, e))?,
            resource: resource(&r)?,
            if_match,
        },
        ("DELETE", Some(id), None) => {
            crate::check_type(&r.resource_type).map_err(|e| relocate(i, e))?;
            WriteOp::Delete {
                resource_type: r.resource_type.clone(),
                id: id.clone(),
                if_match,
            }
        }
        _ => {
            return Err(vec![
                Issue::error(
                    IssueType::NotSupported,
                    "transactions take POST [type], PUT [type]/[id], PUT [type]?[search] and DELETE [type]/[id]",
                )
                .at(at("request")),
            ]);
        }
    };
    Ok(Entry {
        full_url: r.full_url,
        op,
    })
}

fn batch(service: &Service, caller: &Caller, raw: Vec<Value>) -> Value {
    let mut out = Vec::with_capacity(raw.len());
    for (i, entry) in raw.iter().enumerate() {
        let response = match parse_entry(i, entry) {
            Err(issues) => error_entry(400, &issues),
            Ok(r) => match run_batch_entry(service, caller, r) {
                Ok(v) => v,
                Err(e) => error_entry(e.describe().status, &e.issues()),
            },
        };
        out.push(response);
    }
    json!({"resourceType": "Bundle", "type": "batch-response", "entry": out})
}

fn run_batch_entry(service: &Service, caller: &Caller, r: Request) -> Result<Value, Error> {
    let body = |r: &Request| -> Result<Vec<u8>, Error> {
        let res = r.resource.as_ref().ok_or_else(|| {
            Error::BadBundle(vec![Issue::error(
                IssueType::Required,
                "entry has no resource",
            )])
        })?;
        serde_json::to_vec(res).map_err(|e| Error::Internal(e.to_string()))
    };
    let written = |w: Written| {
        response_entry(&if w.created {
            WriteOutcome::Created(w.stored)
        } else {
            WriteOutcome::Updated(w.stored)
        })
    };
    match (r.method.as_str(), &r.id, &r.query) {
        ("POST", None, None) => {
            let b = body(&r)?;
            let w = service.create(caller, &r.resource_type, &b, r.if_none_exist.as_deref())?;
            Ok(written(w))
        }
        ("PUT", Some(id), None) => {
            let b = body(&r)?;
            Ok(written(service.update(
                caller,
                &r.resource_type,
                id,
                &b,
                r.if_match.as_deref(),
            )?))
        }
        ("PUT", None, Some(q)) => {
            let b = body(&r)?;
            Ok(written(service.conditional_update(
                caller,
                &r.resource_type,
                q,
                &b,
                r.if_match.as_deref(),
            )?))
        }
        ("DELETE", Some(id), None) => {
            let d = service.delete(caller, &r.resource_type, id, r.if_match.as_deref())?;
            Ok(match d {
                Some(s) => response_entry(&WriteOutcome::Deleted(s)),
                None => response_entry(&WriteOutcome::NothingToDelete),
            })
        }
        ("GET", Some(id), None) => {
            let s = service.read(caller, &r.resource_type, id)?;
            let resource: Value =
                serde_json::from_slice(&s.body).map_err(|e| Error::Internal(e.to_string()))?;
            Ok(json!({
                "resource": resource,
                "response": {"status": "200 OK", "etag": format!("W/\"{}\"", s.version)},
            }))
        }
        _ => Err(Error::BadBundle(vec![Issue::error(
            IssueType::NotSupported,
            "batch entries take POST, PUT, DELETE and GET [type]/[id]",
        )])),
    }
}

fn response_entry(outcome: &WriteOutcome) -> Value {
    let (status, s) = match outcome {
        WriteOutcome::Created(s) => ("201 Created", Some(s)),
        WriteOutcome::Updated(s) | WriteOutcome::Unchanged(s) => ("200 OK", Some(s)),
        WriteOutcome::Deleted(s) => ("204 No Content", Some(s)),
        WriteOutcome::NothingToDelete => ("204 No Content", None),
    };
    let mut response = json!({"status": status});
    if let Some(s) = s {
        response["location"] = json!(format!(
            "{}/{}/_history/{}",
            s.resource_type, s.id, s.version
        ));
        response["etag"] = json!(format!("W/\"{}\"", s.version));
        response["lastModified"] = json!(fhir::time::format_instant(s.last_updated));
    }
    json!({"response": response})
}

fn error_entry(status: u16, issues: &[Issue]) -> Value {
    json!({
        "response": {
            "status": status.to_string(),
            "outcome": fhir::outcome::operation_outcome(issues),
        }
    })
}

/// Moves an error's issues under `Bundle.entry[i]`.
fn relocate(i: usize, e: Error) -> Vec<Issue> {
    e.issues()
        .into_iter()
        .map(|mut issue| {
            if issue.expression.is_empty() {
                issue.expression.push(format!("Bundle.entry[{i}]"));
            } else {
                for x in &mut issue.expression {
                    // `Patient.name[0]` inside the entry becomes `Bundle.entry[i].resource.name[0]`.
                    let rest = x.split_once('.').map_or("", |(_, rest)| rest);
                    *x = if rest.is_empty() {
                        format!("Bundle.entry[{i}].resource")
                    } else {
                        format!("Bundle.entry[{i}].resource.{rest}")
                    };
                }
            }
            issue
        })
        .collect()
}

fn bad(msg: &str, at: &str) -> Error {
    Error::BadBundle(vec![Issue::error(IssueType::Invalid, msg).at(at)])
}

fn pairs(q: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(q.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}
