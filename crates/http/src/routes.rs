//! The dispatcher: method and path segments to service calls.

use crate::response::{self, ApiError, BundleParts, Return, outcome};
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use fhir::{Issue, IssueType};
use service::{Caller, Error, HistoryScope, SearchResult, Service};
use std::sync::Arc;
use std::time::Instant;

/// What every request handler shares.
#[derive(Clone)]
pub struct AppState {
    pub service: Service,
    /// The public base URL (`https://yilian.example.org/fhir`); derived from Host when unset.
    pub base_url: Option<String>,
    /// The largest request body accepted (413 above it).
    pub max_body_bytes: usize,
    /// Credentials: every endpoint but discovery and sign-in needs a token.
    pub auth: Arc<crate::authn::Authn>,
}

/// The whole API as one router.
pub fn router(state: AppState) -> Router {
    Router::new().fallback(dispatch).with_state(Arc::new(state))
}

pub(crate) type Result<T> = std::result::Result<T, ApiError>;

async fn dispatch(State(app): State<Arc<AppState>>, req: Request) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let segments: Vec<String> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let resource_type = segments.first().cloned().unwrap_or_default();
    let response = crate::authn::challenge(match handle(&app, req, &segments).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    });
    let status = response.status().as_u16();
    // Types are not patient data; ids, queries and bodies are never logged.
    let logged_type = if fhir::is_supported_type(&resource_type)
        || resource_type.starts_with('_')
        || matches!(
            resource_type.as_str(),
            "metadata"
                | "shared"
                | "auth"
                | ".well-known"
                | "cds-services"
                | "audit"
                | "feeds"
                | "ui"
        ) {
        resource_type.as_str()
    } else {
        "-"
    };
    tracing::info!(
        method = %method,
        resource_type = logged_type,
        status,
        micros = started.elapsed().as_micros() as u64,
        "request"
    );
    response
}

/// A JSON answer that is not a FHIR resource (CDS Hooks, the feeds' reports).
fn plain_json(mut r: Response) -> Response {
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    r
}

async fn handle(app: &Arc<AppState>, req: Request, seg: &[String]) -> Result<Response> {
    let (parts, body) = req.into_parts();
    let method = parts.method.clone();
    let headers = parts.headers;
    let pairs = query_pairs(parts.uri.query().unwrap_or_default().as_bytes());
    let base = base_url(app, &headers);
    let seg: Vec<&str> = seg.iter().map(String::as_str).collect();
    let svc = app.service.clone();
    // Discovery and sign-in are open; everything else needs a verified token.
    match (&method, seg.as_slice()) {
        (&Method::GET, ["metadata"]) => {
            return Ok(response::json_response(
                StatusCode::OK,
                &svc.capabilities(&base),
            ));
        }
        (&Method::GET, ["health"]) => return Ok((StatusCode::OK, "ok").into_response()),
        // CDS Hooks discovery is open, as SMART discovery is.
        (&Method::GET, ["cds-services"]) => {
            return Ok(plain_json(response::json_response(
                StatusCode::OK,
                &service::cds_discovery(),
            )));
        }
        (&Method::GET, [".well-known", "smart-configuration"]) => {
            return Ok(plain_json(response::json_response(
                StatusCode::OK,
                &crate::authn::smart_configuration(&base),
            )));
        }
        (&Method::POST, ["auth", "token"]) => {
            let form = read_form(app, &headers, body).await?;
            let url = format!("{base}/auth/token");
            let (response, attempt) = app.auth.token(&query_pairs(&form), &url);
            return signed_in(svc, response, attempt).await;
        }
        (_, ["ui", ..]) => {
            return Ok(crate::pages::route(app, &method, &seg, &headers, &pairs, body).await);
        }
        (&Method::POST, ["auth", "login"]) => {
            let form = read_form(app, &headers, body).await?;
            let (response, attempt) = app.auth.login(&query_pairs(&form));
            return signed_in(svc, response, attempt).await;
        }
        _ => {}
    }
    let caller = match app.auth.caller(&headers) {
        Ok(c) => c,
        Err(e) => {
            // A refused token is recorded too (without the token).
            let code = e.describe().code;
            blocking(move || svc.record_sign_in(None, "bearer token", Some(code))).await?;
            return Err(e.into());
        }
    };
    let ret = prefer_return(&headers);
    if matches!(
        seg.as_slice(),
        ["AuditEvent", ..] | ["audit", ..] | ["Patient", _, "$access-log" | "$notifications"]
    ) {
        let body = if method == Method::POST {
            Some(read_body(app, &headers, body).await?)
        } else {
            None
        };
        let req = crate::audit_view::Request {
            method: &method,
            seg: &seg,
            pairs: &pairs,
            base: &base,
            uri: &parts.uri,
            body,
        };
        if let Some(r) = crate::audit_view::route(app, caller, req).await {
            return r;
        }
        return Err(Error::BadOperation(format!("{method} is not supported on this path")).into());
    }
    match (&method, seg.as_slice()) {
        (&Method::GET, ["cds-services", "$stats"]) => {
            let now = crate::authn::now();
            let bound = |name: &str, default: i64| -> Result<i64> {
                match param(&pairs, name) {
                    None => Ok(default),
                    Some(v) => fhir::time::parse_range(&v)
                        .map(|(lo, _)| lo)
                        .ok_or_else(|| {
                            Error::BadOperation(format!("{name} takes a FHIR date or instant"))
                                .into()
                        }),
                }
            };
            let (from, to) = (
                bound("from", (now - 30 * 86_400) * 1000)?,
                bound("to", (now + 60) * 1000)?,
            );
            let stats = blocking(move || svc.cds_stats(&caller, from, to)).await?;
            let rules: serde_json::Map<String, serde_json::Value> = stats
                .into_iter()
                .map(|(rule, s)| {
                    (
                        rule,
                        serde_json::json!({
                            "fired": s.fired, "accepted": s.accepted, "overridden": s.overridden,
                            "override_reasons": s.reasons, "estimated_saving_cny": (s.saved * 100.0).round() / 100.0,
                        }),
                    )
                })
                .collect();
            Ok(response::json_response(
                StatusCode::OK,
                &serde_json::json!({"from": fhir::time::format_instant(from), "to": fhir::time::format_instant(to), "rules": rules}),
            ))
        }
        (&Method::POST, ["auth", "launch"]) => {
            let form = read_form(app, &headers, body).await?;
            crate::pages::launch_link(app, caller, &query_pairs(&form), &base)
        }
        (&Method::GET, ["feeds", "quality"]) => {
            let now = crate::authn::now() * 1000;
            let bound = |name: &str, default: i64| -> Result<i64> {
                match param(&pairs, name) {
                    None => Ok(default),
                    Some(v) => fhir::time::parse_range(&v)
                        .map(|(lo, _)| lo)
                        .ok_or_else(|| {
                            Error::BadOperation(format!("{name} takes a FHIR date or instant"))
                                .into()
                        }),
                }
            };
            let (from, to) = (
                bound("from", now - 30 * 86_400_000)?,
                bound("to", now + 60_000)?,
            );
            let report = blocking(move || svc.feed_quality(&caller, from, to)).await?;
            Ok(plain_json(response::json_response(StatusCode::OK, &report)))
        }
        (&Method::POST, ["feeds", "cda"]) => {
            let body = read_xml(app, &headers, body).await?;
            let hospital = param(&pairs, "hospital");
            let answer =
                blocking(move || svc.cda_document(&caller, hospital.as_deref(), &body)).await?;
            let status = if answer["outcome"] == "stored" {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            Ok(plain_json(response::json_response(status, &answer)))
        }
        (&Method::GET, ["feeds", "unmapped"]) => {
            let hospital = param(&pairs, "hospital");
            let queue = blocking(move || svc.unmapped_codes(&caller, hospital.as_deref())).await?;
            Ok(plain_json(response::json_response(StatusCode::OK, &queue)))
        }
        (&Method::POST, ["cds-services", id]) => {
            let body = read_body(app, &headers, body).await?;
            let id = id.to_string();
            let now = crate::authn::now();
            let cards = blocking(move || svc.cds_call(&caller, &id, &body, now)).await?;
            Ok(plain_json(response::json_response(StatusCode::OK, &cards)))
        }
        (&Method::POST, ["cds-services", _, "feedback"]) => {
            let body = read_body(app, &headers, body).await?;
            blocking(move || svc.cds_feedback(&caller, &body)).await?;
            Ok(response::json_response(
                StatusCode::OK,
                &serde_json::json!({}),
            ))
        }
        (&Method::GET, ["shared", "Patient", id]) => {
            let id = id.to_string();
            let now = crate::authn::now();
            let record = blocking(move || svc.shared_record(&caller, &id, now)).await?;
            Ok(response::shared(&base, &parts.uri, &record))
        }
        (&Method::POST, ["shared", "Patient", id, "$break-glass"]) => {
            let body = read_body(app, &headers, body).await?;
            let id = id.to_string();
            let now = crate::authn::now();
            let task = blocking(move || svc.break_glass(&caller, &id, &body, now)).await?;
            Ok(response::resource(
                StatusCode::CREATED,
                &task,
                Some(format!("{base}/Task/{}/_history/{}", task.id, task.version)),
                Return::Representation,
            ))
        }
        (&Method::POST, []) => {
            let body = read_body(app, &headers, body).await?;
            let v = blocking(move || svc.bundle(&caller, &body)).await?;
            Ok(response::json_response(StatusCode::OK, &v))
        }
        (&Method::GET, ["_history"]) => {
            history(app, caller, &base, HistoryScope::System, &pairs).await
        }
        (&Method::POST, ["Patient", "$match"]) => {
            let body = read_body(app, &headers, body).await?;
            let found = blocking(move || svc.match_patient(&caller, &body)).await?;
            Ok(response::bundle(BundleParts {
                kind: "searchset",
                base: &base,
                total: Some(found.len() as u64),
                self_link: format!("{base}{}", path_and_query(&parts.uri)),
                next_link: None,
                entries: found
                    .iter()
                    .map(|c| (&c.patient, response::match_search(c)))
                    .collect(),
                outcome: None,
            }))
        }
        (
            &Method::POST,
            [
                t @ ("Patient" | "Person"),
                op @ ("$link" | "$unlink" | "$merge" | "$unmerge"),
            ],
        ) if (*t == "Patient") == matches!(*op, "$link" | "$unlink") => {
            let body = read_body(app, &headers, body).await?;
            let op = op.to_string();
            let s = blocking(move || match op.as_str() {
                "$link" => svc.link_patient(&caller, &body),
                "$unlink" => svc.unlink_patient(&caller, &body),
                "$merge" => svc.merge_persons(&caller, &body),
                _ => svc.unmerge_person(&caller, &body),
            })
            .await?;
            Ok(response::resource(
                StatusCode::OK,
                &s,
                None,
                Return::Representation,
            ))
        }
        (&Method::GET, ["Patient", "$ihe-pix"]) => {
            let source = param(&pairs, "sourceIdentifier").ok_or_else(|| {
                Error::BadOperation("$ihe-pix needs a sourceIdentifier (system|value)".into())
            })?;
            let targets: Vec<String> = pairs
                .iter()
                .filter(|(k, _)| k == "targetSystem")
                .flat_map(|(_, v)| v.split(',').map(str::to_string))
                .collect();
            let v = blocking(move || svc.pix(&caller, &source, &targets)).await?;
            Ok(response::json_response(StatusCode::OK, &v))
        }
        (&Method::GET, [t]) => search(app, caller, &base, t, pairs, &headers, &parts.uri).await,
        (&Method::POST, [t, "_search"]) => {
            let body = read_form(app, &headers, body).await?;
            let mut all = pairs.clone();
            all.extend(query_pairs(&body));
            search(app, caller, &base, t, all, &headers, &parts.uri).await
        }
        (&Method::POST, [t]) => {
            let body = read_body(app, &headers, body).await?;
            let t = t.to_string();
            let cond = header_str(&headers, "if-none-exist")
                .map(|q| query_pairs(q.split_once('?').map_or(q.as_str(), |(_, q)| q).as_bytes()));
            let w = blocking(move || svc.create(&caller, &t, &body, cond.as_deref())).await?;
            Ok(written(&base, &w, ret))
        }
        (&Method::PUT, [t]) => {
            let body = read_body(app, &headers, body).await?;
            let t = t.to_string();
            let if_match = header_str(&headers, "if-match");
            let w = blocking(move || {
                svc.conditional_update(&caller, &t, &pairs, &body, if_match.as_deref())
            })
            .await?;
            Ok(written(&base, &w, ret))
        }
        (&Method::GET, [t, "_history"]) => {
            history(
                app,
                caller,
                &base,
                HistoryScope::Type(t.to_string()),
                &pairs,
            )
            .await
        }
        (&Method::GET, [t, id]) => {
            let (t, id) = (t.to_string(), id.to_string());
            let s = blocking(move || svc.read(&caller, &t, &id)).await?;
            Ok(response::resource(
                StatusCode::OK,
                &s,
                None,
                Return::Representation,
            ))
        }
        (&Method::PUT, [t, id]) => {
            let body = read_body(app, &headers, body).await?;
            let (t, id) = (t.to_string(), id.to_string());
            let if_match = header_str(&headers, "if-match");
            let w =
                blocking(move || svc.update(&caller, &t, &id, &body, if_match.as_deref())).await?;
            Ok(written(&base, &w, ret))
        }
        (&Method::DELETE, [t, id]) => {
            let (t, id) = (t.to_string(), id.to_string());
            let if_match = header_str(&headers, "if-match");
            let deleted =
                blocking(move || svc.delete(&caller, &t, &id, if_match.as_deref())).await?;
            let mut r = StatusCode::NO_CONTENT.into_response();
            if let Some(s) = deleted
                && let Ok(v) = format!("W/\"{}\"", s.version).parse()
            {
                r.headers_mut().insert(header::ETAG, v);
            }
            Ok(r)
        }
        (&Method::GET, [t, id, "_history"]) => {
            let scope = HistoryScope::Instance(t.to_string(), id.to_string());
            history(app, caller, &base, scope, &pairs).await
        }
        (&Method::GET, [t, id, "_history", vid]) => {
            let (t, id, vid) = (t.to_string(), id.to_string(), vid.to_string());
            let s = blocking(move || svc.vread(&caller, &t, &id, &vid)).await?;
            Ok(response::resource(
                StatusCode::OK,
                &s,
                None,
                Return::Representation,
            ))
        }
        (&Method::GET, ["Patient", id, "$everything"]) => {
            let id = id.to_string();
            let count = count_param(&pairs)?;
            let page = param(&pairs, "_page");
            let r = blocking(move || svc.everything(&caller, &id, count, page.as_deref())).await?;
            let self_link = format!("{base}{}", path_and_query(&parts.uri));
            let next = r
                .next
                .as_ref()
                .map(|c| next_link(&base, &parts.uri, &pairs, c));
            Ok(response::bundle(BundleParts {
                kind: "searchset",
                base: &base,
                total: None,
                self_link,
                next_link: next,
                entries: r
                    .matches
                    .iter()
                    .map(|s| (s, response::search("match")))
                    .collect(),
                outcome: None,
            }))
        }
        (_, [t, ..])
            if !t.starts_with('$')
                && !t.starts_with('_')
                && !fhir::is_supported_type(t)
                && *t != "metadata" =>
        {
            Err(Error::UnsupportedType(t.to_string()).into())
        }
        _ => Ok(outcome(
            if matches!(
                method,
                Method::GET | Method::POST | Method::PUT | Method::DELETE
            ) {
                404
            } else {
                405
            },
            &[Issue::error(
                IssueType::NotSupported,
                format!("{method} is not supported on this path"),
            )],
        )),
    }
}

/// Records a sign-in attempt before its answer (a token) leaves: no record, no token.
async fn signed_in(
    svc: Service,
    response: Response,
    attempt: crate::authn::Attempt,
) -> Result<Response> {
    blocking(move || {
        svc.record_sign_in(
            attempt.caller.as_ref(),
            &attempt.who,
            attempt.refused.as_deref(),
        )
    })
    .await?;
    Ok(response)
}

/// The response to a create or update: 201 or 200, with Location, ETag and Last-Modified.
fn written(base: &str, w: &service::Written, ret: Return) -> Response {
    let s = &w.stored;
    let status = if w.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let loc = format!("{base}/{}/{}/_history/{}", s.resource_type, s.id, s.version);
    // A body withheld by the service (a match the caller may not read) is not sent.
    let ret = if s.body.is_empty() && !s.deleted {
        Return::Minimal
    } else {
        ret
    };
    response::resource(status, s, Some(loc), ret)
}

async fn search(
    app: &Arc<AppState>,
    caller: Caller,
    base: &str,
    t: &str,
    pairs: Vec<(String, String)>,
    headers: &HeaderMap,
    uri: &axum::http::Uri,
) -> Result<Response> {
    let svc = app.service.clone();
    let lenient = prefer(headers, "handling").as_deref() == Some("lenient");
    let t2 = t.to_string();
    let p2 = pairs.clone();
    let r: SearchResult = blocking(move || svc.search(&caller, &t2, &p2, lenient)).await?;
    let self_link = format!("{base}{}", path_and_query(uri));
    let next = r.next.as_ref().map(|c| next_link(base, uri, &pairs, c));
    let outcome = (!r.ignored.is_empty()).then(|| {
        fhir::outcome::operation_outcome(&[Issue {
            severity: fhir::Severity::Warning,
            code: IssueType::NotSupported,
            diagnostics: format!("ignored search parameters: {}", r.ignored.join(", ")),
            expression: vec![],
        }])
    });
    let mut entries: Vec<_> = r
        .matches
        .iter()
        .map(|s| (s, response::search("match")))
        .collect();
    entries.extend(r.included.iter().map(|s| (s, response::search("include"))));
    Ok(response::bundle(BundleParts {
        kind: "searchset",
        base,
        total: r.total,
        self_link,
        next_link: next,
        entries,
        outcome,
    }))
}

async fn history(
    app: &Arc<AppState>,
    caller: Caller,
    base: &str,
    scope: HistoryScope,
    pairs: &[(String, String)],
) -> Result<Response> {
    let svc = app.service.clone();
    let count = count_param(pairs)?;
    let page = param(pairs, "_page");
    let page2 = page.clone();
    let scope2 = scope.clone();
    let (versions, next) =
        blocking(move || svc.history(&caller, &scope2, count, page2.as_deref())).await?;
    let path = match &scope {
        HistoryScope::System => "/_history".to_string(),
        HistoryScope::Type(t) => format!("/{t}/_history"),
        HistoryScope::Instance(t, id) => format!("/{t}/{id}/_history"),
    };
    let with = |cursor: Option<&str>| {
        let mut q = form_urlencoded::Serializer::new(String::new());
        if let Some(c) = count {
            q.append_pair("_count", &c.to_string());
        }
        if let Some(c) = cursor {
            q.append_pair("_page", c);
        }
        let q = q.finish();
        if q.is_empty() {
            format!("{base}{path}")
        } else {
            format!("{base}{path}?{q}")
        }
    };
    Ok(response::bundle(BundleParts {
        kind: "history",
        base,
        total: None,
        self_link: with(page.as_deref()),
        next_link: next.as_deref().map(|c| with(Some(c))),
        entries: versions.iter().map(|s| (s, None)).collect(),
        outcome: None,
    }))
}

/// Runs a service call on the blocking pool (the store is synchronous).
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> std::result::Result<T, Error> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        // A panic's payload may quote request data: keep only that it happened.
        .map_err(|_| ApiError::Service(Error::Internal("a request worker panicked".into())))?
        .map_err(ApiError::Service)
}

/// The request's media type, without parameters, lower case.
fn media_type(headers: &HeaderMap) -> String {
    let ct = header_str(headers, "content-type").unwrap_or_default();
    ct.split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

async fn read_body(app: &AppState, headers: &HeaderMap, body: Body) -> Result<Vec<u8>> {
    let mime = media_type(headers);
    if mime != "application/fhir+json" && mime != "application/json" {
        return Err(unsupported_media());
    }
    collect(app, body).await
}

/// A CDA document: `application/xml`, `text/xml` or `application/hl7-cda+xml`.
async fn read_xml(app: &AppState, headers: &HeaderMap, body: Body) -> Result<Vec<u8>> {
    let mime = media_type(headers);
    if !["application/xml", "text/xml", "application/hl7-cda+xml"].contains(&mime.as_str()) {
        return Err(unsupported_media());
    }
    collect(app, body).await
}

pub(crate) async fn read_form(app: &AppState, headers: &HeaderMap, body: Body) -> Result<Vec<u8>> {
    let ct = header_str(headers, "content-type").unwrap_or_default();
    if !ct.starts_with("application/x-www-form-urlencoded") {
        return Err(unsupported_media());
    }
    collect(app, body).await
}

async fn collect(app: &AppState, body: Body) -> Result<Vec<u8>> {
    match axum::body::to_bytes(body, app.max_body_bytes).await {
        Ok(b) => Ok(b.to_vec()),
        Err(_) => Err(too_large(app.max_body_bytes)),
    }
}

fn unsupported_media() -> ApiError {
    ApiError::Http {
        status: 415,
        issue: IssueType::NotSupported,
        message: "the body must be application/fhir+json".into(),
    }
}

fn too_large(limit: usize) -> ApiError {
    ApiError::Http {
        status: 413,
        issue: IssueType::TooLong,
        message: format!("the body exceeds the limit of {limit} bytes"),
    }
}

/// Percent-decoded `key=value` pairs, in order.
pub(crate) fn query_pairs(q: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(q)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

pub(crate) fn header_str(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// The value of `Prefer: key=value`.
fn prefer(headers: &HeaderMap, key: &str) -> Option<String> {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split([',', ';']))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case(key))
        .map(|(_, v)| v.trim().trim_matches('"').to_string())
}

fn prefer_return(headers: &HeaderMap) -> Return {
    match prefer(headers, "return").as_deref() {
        Some("minimal") => Return::Minimal,
        Some("OperationOutcome") => Return::OperationOutcome,
        _ => Return::Representation,
    }
}

pub(crate) fn param(pairs: &[(String, String)], name: &str) -> Option<String> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
}

fn count_param(pairs: &[(String, String)]) -> Result<Option<usize>> {
    match param(pairs, "_count") {
        None => Ok(None),
        Some(c) => c.parse::<usize>().map(Some).map_err(|_| {
            ApiError::Service(Error::BadSearch(vec![Issue::error(
                IssueType::Value,
                "_count must be a non-negative integer",
            )]))
        }),
    }
}

fn base_url(app: &AppState, headers: &HeaderMap) -> String {
    if let Some(b) = &app.base_url {
        return b.trim_end_matches('/').to_string();
    }
    let host = header_str(headers, "host").unwrap_or_else(|| "localhost".into());
    format!("http://{host}")
}

pub(crate) fn path_and_query(uri: &axum::http::Uri) -> String {
    uri.path_and_query()
        .map_or("/".into(), |p| p.as_str().to_string())
}

/// The request's own URL with `_page` replaced by `cursor`.
fn next_link(
    base: &str,
    uri: &axum::http::Uri,
    pairs: &[(String, String)],
    cursor: &str,
) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs.iter().filter(|(k, _)| k != "_page") {
        q.append_pair(k, v);
    }
    q.append_pair("_page", cursor);
    let path = uri.path().trim_end_matches("/_search");
    format!("{base}{path}?{}", q.finish())
}
