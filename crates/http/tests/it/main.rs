//! The router without a socket: each case is a raw request and the response it must give,
//! as a snapshot of status, the headers that matter, and a summary of the body.

use axum::body::Body;
use axum::http::Request;
use expect_test::{Expect, expect};
use http_api::{AppState, Authn, router};
use serde_json::Value;
use service::{Config, Service};
use std::sync::Arc;
use tower::ServiceExt;

mod access;
mod audit_trail;
mod feeds;
mod hooks;
mod pages;

/// Runs `f` to completion on a current-thread runtime.
fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

fn app() -> axum::Router {
    app_with(credentials())
}

fn app_with(credentials: auth::Config) -> axum::Router {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "yilian-http-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let store = store::Engine::with_classifier(
        store::Sqlite::open(&dir).expect("open store"),
        service::classify,
        service::SHARED_TYPES,
    )
    .expect("classify")
    .sealed(audit::Sealer::from_seed([42; 32]));
    router(AppState {
        service: Service::new(Arc::new(store), Config::default()),
        base_url: Some("http://yilian.test".into()),
        max_body_bytes: 4096,
        auth: Arc::new(Authn::new(&credentials, "yilian").expect("credentials")),
    })
}

fn credentials() -> auth::Config {
    auth::Config::with_secret(&[42; 32])
}

/// A token for `role` (acting for hospital h1 as Practitioner/d1 where that applies).
/// A five-minute token of the test credentials for `caller`.
fn token(caller: policy::Caller) -> String {
    let keys = auth::Keys::new(&[42; 32], "yilian").expect("keys");
    let principal = auth::Principal {
        subject: "tester".into(),
        caller,
        client: None,
    };
    keys.issue(&principal, http_api::now(), 300, "test")
}

fn admin() -> String {
    token(policy::Caller {
        role: policy::Role::Admin,
        purpose: policy::Purpose::Operations,
        organization: None,
        practitioner: None,
        person: None,
    })
}

/// Sends `raw` (`METHOD /path` then `Header: value` lines, a blank line, the body).
async fn send(app: &axum::Router, raw: &str) -> (u16, Vec<(String, String)>, Value) {
    let (head, body) = raw.split_once("\n\n").unwrap_or((raw, ""));
    let mut lines = head.lines();
    let (method, uri) = lines
        .next()
        .and_then(|l| l.split_once(' '))
        .expect("request line");
    let mut req = Request::builder().method(method).uri(uri);
    // An administrator's token unless the request brings its own (`Authorization: none`
    // sends none at all).
    let mut authorized = false;
    for line in lines {
        let (k, v) = line.split_once(": ").expect("header line");
        if k.eq_ignore_ascii_case("authorization") {
            authorized = true;
            if v == "none" {
                continue;
            }
        }
        req = req.header(k, v);
    }
    if !authorized {
        req = req.header("Authorization", format!("Bearer {}", admin()));
    }
    let resp = app
        .clone()
        .oneshot(req.body(Body::from(body.to_string())).expect("request"))
        .await
        .expect("infallible");
    let status = resp.status().as_u16();
    let headers = ["etag", "location", "content-type", "www-authenticate"]
        .iter()
        .filter_map(|h| {
            resp.headers()
                .get(*h)
                .map(|v| (h.to_string(), v.to_str().unwrap_or_default().to_string()))
        })
        .collect();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .expect("body");
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, headers, json)
}

/// A short, stable rendering of a response for snapshots.
fn summary(status: u16, headers: &[(String, String)], body: &Value) -> String {
    let mut out = format!("{status}");
    for (k, v) in headers {
        if k == "etag" {
            out.push_str(&format!(" etag={v}"));
        }
    }
    match body["resourceType"].as_str() {
        Some("OperationOutcome") => {
            for i in body["issue"].as_array().into_iter().flatten() {
                out.push_str(&format!(
                    "\n{} {}: {}{}",
                    i["severity"].as_str().unwrap_or_default(),
                    i["code"].as_str().unwrap_or_default(),
                    i["diagnostics"].as_str().unwrap_or_default(),
                    i["expression"]
                        .as_array()
                        .map(|e| format!(
                            " @ {}",
                            e.iter()
                                .filter_map(Value::as_str)
                                .collect::<Vec<_>>()
                                .join(", ")
                        ))
                        .unwrap_or_default()
                ));
            }
        }
        Some("Bundle") => {
            out.push_str(&format!(
                " Bundle/{}",
                body["type"].as_str().unwrap_or_default()
            ));
            if let Some(t) = body["total"].as_u64() {
                out.push_str(&format!(" total={t}"));
            }
            for e in body["entry"].as_array().into_iter().flatten() {
                let r = &e["resource"];
                let resp = &e["response"]["status"];
                out.push_str(&format!(
                    "\n  {}{}{}",
                    r["resourceType"].as_str().unwrap_or_default(),
                    e["search"]["mode"]
                        .as_str()
                        .map(|m| format!(" ({m})"))
                        .unwrap_or_default(),
                    resp.as_str().map(|s| format!(" {s}")).unwrap_or_default()
                ));
            }
        }
        Some(t) => out.push_str(&format!(" {t}")),
        None => out.push_str(" (no FHIR body)"),
    }
    out
}

#[track_caller]
fn check(setup: &[&str], raw: &str, expect: Expect) {
    let actual = block_on(async {
        let app = app();
        for s in setup {
            let (status, _, body) = send(&app, s).await;
            assert!(status < 300, "setup request failed: {status} {body}");
        }
        let (status, headers, body) = send(&app, raw).await;
        summary(status, &headers, &body)
    });
    expect.assert_eq(&actual);
}

const PATIENT: &str = "PUT /Patient/p1\ncontent-type: application/fhir+json\n\n{\"resourceType\":\"Patient\",\"id\":\"p1\",\"name\":[{\"family\":\"Wang\",\"given\":[\"Wei\"]}],\"birthDate\":\"1980-01-01\"}";
const OBS: &str = "POST /Observation\ncontent-type: application/fhir+json\n\n{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"2345-7\"}]},\"subject\":{\"reference\":\"Patient/p1\"},\"effectiveDateTime\":\"2024-01-01\"}";

#[test]
fn writes_and_reads() {
    check(&[], PATIENT, expect![[r#"201 etag=W/"1" Patient"#]]);
    check(
        &[PATIENT],
        "GET /Patient/p1",
        expect![[r#"200 etag=W/"1" Patient"#]],
    );
    check(
        &[PATIENT],
        "PUT /Patient/p1\ncontent-type: application/fhir+json\nif-match: W/\"7\"\n\n{\"resourceType\":\"Patient\",\"id\":\"p1\"}",
        expect![[r#"
            412
            error conflict: version 7 of Patient/p1 is not current (current is 1)"#]],
    );
    check(
        &[],
        "POST /Patient\ncontent-type: application/fhir+json\nprefer: return=minimal\n\n{\"resourceType\":\"Patient\"}",
        expect![[r#"201 etag=W/"1" (no FHIR body)"#]],
    );
    check(
        &[],
        "PUT /Patient/p9\ncontent-type: application/fhir+json\nprefer: return=OperationOutcome\n\n{\"resourceType\":\"Patient\",\"id\":\"p9\"}",
        expect![[r#"
            201 etag=W/"1"
            information informational: created Patient/p9 version 1"#]],
    );
    check(
        &[PATIENT],
        "DELETE /Patient/p1",
        expect![[r#"204 etag=W/"2" (no FHIR body)"#]],
    );
    check(
        &[PATIENT, "DELETE /Patient/p1"],
        "GET /Patient/p1",
        expect![[r#"
        410
        error deleted: resource Patient/p1 was deleted"#]],
    );
    check(
        &[PATIENT, "DELETE /Patient/p1"],
        "GET /Patient/p1/_history/1",
        expect![[r#"200 etag=W/"1" Patient"#]],
    );
    check(
        &[PATIENT],
        "GET /Patient/p1/_history",
        expect![[r#"
        200 Bundle/history
          Patient 201"#]],
    );
}

#[test]
fn bad_requests_get_outcomes() {
    check(
        &[],
        "POST /Patient\ncontent-type: application/fhir+json\n\n{\"resourceType\":",
        expect![[r#"
        400
        error structure: malformed JSON at line 1 column 16: unexpected end of input"#]],
    );
    check(
        &[],
        "POST /Patient\ncontent-type: text/plain\n\n{}",
        expect![[r#"
        415
        error not-supported: the body must be application/fhir+json"#]],
    );
    let big = format!(
        "POST /Patient\ncontent-type: application/fhir+json\n\n{{\"resourceType\":\"Patient\",\"gender\":\"{}\"}}",
        "x".repeat(5000)
    );
    check(
        &[],
        &big,
        expect![[r#"
        413
        error too-long: the body exceeds the limit of 4096 bytes"#]],
    );
    check(
        &[],
        "GET /Starship/1",
        expect![[r#"
        404
        error not-supported: resource type Starship is not supported"#]],
    );
    check(
        &[],
        "POST /Patient\ncontent-type: application/fhir+json\n\n{\"resourceType\":\"Patient\",\"birthDate\":\"1990-13-01\",\"foo\":1}",
        expect![[r#"
        422
        error value: invalid date format @ Patient.birthDate
        error structure: unknown element 'foo' @ Patient"#]],
    );
    check(
        &[],
        "GET /Patient?shoe-size=42",
        expect![[r#"
        400
        error not-supported: unknown search parameter 'shoe-size' for Patient"#]],
    );
    check(
        &[PATIENT],
        "GET /Patient?shoe-size=42&family=wang\nprefer: handling=lenient",
        expect![[r#"
        200 Bundle/searchset total=1
          OperationOutcome (outcome)
          Patient (match)"#]],
    );
    check(
        &[],
        "GET /Patient?birthdate=gt1990-99",
        expect![[r#"
        400
        error value: invalid date value for search parameter 'birthdate'"#]],
    );
    check(
        &[],
        "PATCH /Patient/p1",
        expect![[r#"
        405
        error not-supported: PATCH is not supported on this path"#]],
    );
}

#[test]
fn search_bundles() {
    check(
        &[PATIENT, OBS, OBS],
        "GET /Observation?patient=p1&_include=Observation:patient",
        expect![[r#"
        200 Bundle/searchset total=2
          Observation (match)
          Observation (match)
          Patient (include)"#]],
    );
    check(
        &[PATIENT, OBS, OBS],
        "GET /Observation?code=http://loinc.org|2345-7&_summary=count",
        expect![[r#"200 Bundle/searchset total=2"#]],
    );
    check(
        &[PATIENT, OBS],
        "GET /Patient/p1/$everything",
        expect![[r#"
        200 Bundle/searchset
          Patient (match)
          Observation (match)"#]],
    );
}

#[test]
fn next_links_page_through_everything() {
    block_on(async {
        let app = app();
        send(&app, PATIENT).await;
        for _ in 0..5 {
            send(&app, OBS).await;
        }
        let mut url = "/Observation?patient=p1&_count=2".to_string();
        let mut seen = Vec::new();
        loop {
            let (status, _, body) = send(&app, &format!("GET {url}")).await;
            assert_eq!(status, 200);
            for e in body["entry"].as_array().into_iter().flatten() {
                seen.push(e["resource"]["id"].as_str().expect("id").to_string());
            }
            let next = body["link"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|l| l["relation"] == "next")
                .and_then(|l| l["url"].as_str());
            match next {
                Some(n) => url = n.trim_start_matches("http://yilian.test").to_string(),
                None => break,
            }
        }
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!((seen.len(), unique.len()), (5, 5));
    });
}

#[test]
fn bundles() {
    let tx = r#"POST /
content-type: application/fhir+json

{"resourceType":"Bundle","type":"transaction","entry":[
 {"fullUrl":"urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a","resource":{"resourceType":"Patient","identifier":[{"system":"urn:x","value":"1"}]},
  "request":{"method":"POST","url":"Patient","ifNoneExist":"identifier=urn:x|1"}},
 {"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a"}},
  "request":{"method":"POST","url":"Observation"}}]}"#;
    check(
        &[],
        tx,
        expect![[r#"
        200 Bundle/transaction-response
           201 Created
           201 Created"#]],
    );
    check(
        &[tx],
        tx,
        expect![[r#"
        200 Bundle/transaction-response
           200 OK
           201 Created"#]],
    );
    let bad_tx = r#"POST /
content-type: application/fhir+json

{"resourceType":"Bundle","type":"transaction","entry":[
 {"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}},
 {"resource":{"resourceType":"Patient","birthDate":"x"},"request":{"method":"POST","url":"Patient"}}]}"#;
    check(
        &[],
        bad_tx,
        expect![[r#"
        400
        error value: invalid date format @ Bundle.entry[1].resource.birthDate"#]],
    );
    let batch = bad_tx.replace("\"transaction\"", "\"batch\"");
    check(
        &[],
        &batch,
        expect![[r#"
        200 Bundle/batch-response
           201 Created
           422"#]],
    );
}
