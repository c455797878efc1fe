//! Building responses: resources straight from their stored bytes, search and history
//! Bundles assembled around those bytes without re-parsing them, OperationOutcomes.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use fhir::Issue;
use serde_json::{Value, json};
use service::{Error, Stored};

pub const FHIR_JSON: &str = "application/fhir+json; charset=utf-8";

/// An error answered with an OperationOutcome: from the service, or from HTTP itself
/// (body too large, wrong media type).
pub enum ApiError {
    Service(Error),
    Http {
        status: u16,
        issue: fhir::IssueType,
        message: String,
    },
}

impl From<Error> for ApiError {
    fn from(e: Error) -> ApiError {
        ApiError::Service(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let e = match self {
            ApiError::Http {
                status,
                issue,
                message,
            } => return outcome(status, &[Issue::error(issue, message)]),
            ApiError::Service(e) => e,
        };
        let d = e.describe();
        let issues = if d.status >= 500 {
            // The cause goes to the log; the client gets no internals.
            if let Error::Internal(cause) = &e {
                tracing::error!(code = d.code, cause = %cause, "request failed");
            } else {
                tracing::error!(code = d.code, error = %e, "request failed");
            }
            vec![Issue::error(d.issue, e.to_string())]
        } else {
            e.issues()
        };
        outcome(d.status, &issues)
    }
}

/// An OperationOutcome response.
pub fn outcome(status: u16, issues: &[Issue]) -> Response {
    json_response(
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        &fhir::outcome::operation_outcome(issues),
    )
}

pub fn json_response(status: StatusCode, v: &Value) -> Response {
    let body = serde_json::to_vec(v).expect("a JSON value always serializes");
    bytes_response(status, body)
}

pub fn bytes_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON));
    r
}

/// What `Prefer: return=` asks for on writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Return {
    Minimal,
    Representation,
    OperationOutcome,
}

/// A stored resource with its ETag and Last-Modified (and Location on writes).
pub fn resource(status: StatusCode, s: &Stored, location: Option<String>, ret: Return) -> Response {
    let mut r = match ret {
        Return::Representation => bytes_response(status, s.body.to_vec()),
        Return::Minimal => {
            let mut r = Response::new(Body::empty());
            *r.status_mut() = status;
            r
        }
        Return::OperationOutcome => {
            let issue = fhir::Issue {
                severity: fhir::Severity::Information,
                code: fhir::IssueType::Informational,
                diagnostics: format!(
                    "{} {}/{} version {}",
                    if status == StatusCode::CREATED {
                        "created"
                    } else {
                        "updated"
                    },
                    s.resource_type,
                    s.id,
                    s.version
                ),
                expression: vec![],
            };
            outcome(status.as_u16(), &[issue])
        }
    };
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format!("W/\"{}\"", s.version)) {
        h.insert(header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(&http_date(s.last_updated)) {
        h.insert(header::LAST_MODIFIED, v);
    }
    if let Some(loc) = location
        && let Ok(v) = HeaderValue::from_str(&loc)
    {
        h.insert(header::LOCATION, v.clone());
        h.insert(header::CONTENT_LOCATION, v);
    }
    r
}

/// A Bundle around stored resources. `entries` pairs each resource with its `search`
/// element (see [`search`]) or, for history, `None`.
pub struct BundleParts<'a> {
    pub kind: &'a str,
    pub base: &'a str,
    pub total: Option<u64>,
    pub self_link: String,
    pub next_link: Option<String>,
    pub entries: Vec<(&'a Stored, Option<Value>)>,
    pub outcome: Option<Value>,
}

pub fn bundle(parts: BundleParts<'_>) -> Response {
    let mut out: Vec<u8> = Vec::with_capacity(
        256 + parts
            .entries
            .iter()
            .map(|(s, _)| s.body.len() + 128)
            .sum::<usize>(),
    );
    out.extend_from_slice(br#"{"resourceType":"Bundle","type":"#);
    push_json(&mut out, &json!(parts.kind));
    if let Some(total) = parts.total {
        out.extend_from_slice(format!(r#","total":{total}"#).as_bytes());
    }
    let mut links = vec![json!({"relation": "self", "url": parts.self_link})];
    if let Some(next) = parts.next_link {
        links.push(json!({"relation": "next", "url": next}));
    }
    out.extend_from_slice(br#","link":"#);
    push_json(&mut out, &Value::Array(links));
    let mut first = true;
    out.extend_from_slice(br#","entry":["#);
    if let Some(o) = parts.outcome {
        out.extend_from_slice(br#"{"resource":"#);
        push_json(&mut out, &o);
        out.extend_from_slice(br#","search":{"mode":"outcome"}}"#);
        first = false;
    }
    for (s, mode) in parts.entries {
        if !first {
            out.push(b',');
        }
        first = false;
        out.extend_from_slice(br#"{"fullUrl":"#);
        push_json(
            &mut out,
            &json!(format!("{}/{}/{}", parts.base, s.resource_type, s.id)),
        );
        if !s.deleted {
            out.extend_from_slice(br#","resource":"#);
            out.extend_from_slice(&s.body);
        }
        match mode {
            Some(search) => {
                out.extend_from_slice(br#","search":"#);
                push_json(&mut out, &search);
            }
            None => {
                let method = if s.deleted {
                    "DELETE"
                } else if s.version == 1 {
                    "POST"
                } else {
                    "PUT"
                };
                let request =
                    json!({"method": method, "url": format!("{}/{}", s.resource_type, s.id)});
                let response = json!({
                    "status": if s.deleted { "204" } else if s.version == 1 { "201" } else { "200" },
                    "etag": format!("W/\"{}\"", s.version),
                    "lastModified": fhir::time::format_instant(s.last_updated),
                });
                out.extend_from_slice(br#","request":"#);
                push_json(&mut out, &request);
                out.extend_from_slice(br#","response":"#);
                push_json(&mut out, &response);
            }
        }
        out.push(b'}');
    }
    out.extend_from_slice(b"]}");
    bytes_response(StatusCode::OK, out)
}

fn push_json(out: &mut Vec<u8>, v: &Value) {
    serde_json::to_writer(&mut *out, v).expect("writing JSON into a Vec cannot fail");
}

/// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) for `ms` since the epoch.
pub fn http_date(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        WEEKDAYS[days.rem_euclid(7) as usize],
        d,
        MONTHS[(m - 1) as usize],
        y,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Howard Hinnant's civil-from-days.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// A search entry's `search` element for `mode` (`match`, `include`).
pub fn search(mode: &str) -> Option<Value> {
    Some(json!({"mode": mode}))
}

/// The `search` element of a `Patient/$match` candidate (IHE PDQm ITI-119): its score, its
/// match grade, and which fields agreed with what weight.
pub fn match_search(c: &service::Candidate) -> Option<Value> {
    Some(json!({
        "extension": [
            {"url": "http://hl7.org/fhir/StructureDefinition/match-grade", "valueCode": c.grade},
            {"url": MATCH_EXPLANATION, "valueString": c.explanation}
        ],
        "mode": "match",
        "score": (c.score * 10_000.0).round() / 10_000.0
    }))
}

/// Yilian's extension carrying a match's per-field weights.
pub const MATCH_EXPLANATION: &str =
    "https://yilian.health/fhir/StructureDefinition/match-explanation";

/// The extension naming the hospital a shared item came from.
pub const SOURCE_ORGANIZATION: &str =
    "https://yilian.health/fhir/StructureDefinition/source-organization";

/// The shared record as a searchset Bundle: an OperationOutcome saying on what basis it is
/// shown and what was withheld (counts and reasons, nothing else), then each item with the
/// hospital it came from.
pub fn shared(base: &str, uri: &axum::http::Uri, r: &service::SharedRecord) -> Response {
    let mut issues = vec![Issue {
        severity: fhir::Severity::Information,
        code: fhir::IssueType::Informational,
        diagnostics: match &r.basis {
            policy::Basis::OwnRecord => "shown to the patient: their own record".to_string(),
            policy::Basis::Consent(id) => format!("shown under {id}"),
            policy::Basis::RegionDefault => {
                "shown under the region's opt-out default: no consent on file".to_string()
            }
            policy::Basis::BreakGlass => {
                "shown by break-glass: this access is flagged for review and the patient is told"
                    .to_string()
            }
        },
        expression: vec![],
    }];
    for (why, count) in &r.withheld {
        issues.push(Issue {
            severity: fhir::Severity::Information,
            code: fhir::IssueType::Informational,
            diagnostics: why.describe(*count),
            expression: vec![],
        });
    }
    let search = |source: &Option<String>| {
        let mut s = json!({"mode": "match"});
        if let Some(org) = source {
            s["extension"] =
                json!([{"url": SOURCE_ORGANIZATION, "valueReference": {"reference": org}}]);
        }
        Some(s)
    };
    bundle(BundleParts {
        kind: "searchset",
        base,
        total: Some(r.items.len() as u64),
        self_link: format!("{base}{}", uri.path()),
        next_link: None,
        entries: r
            .items
            .iter()
            .map(|i| (&i.stored, search(&i.source)))
            .collect(),
        outcome: Some(fhir::outcome::operation_outcome(&issues)),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn http_dates() {
        assert_eq!(
            super::http_date(784_111_777_000),
            "Sun, 06 Nov 1994 08:49:37 GMT"
        );
        assert_eq!(super::http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
    }
}
