//! Bad requests get a FHIR answer (status plus OperationOutcome), store nothing, and leave
//! the server running.

use crate::rest::patient;
use crate::support::{FHIR_JSON, Response, Server, TempDir};

/// Sends one bad request; checks its status and outcome with `expect`, then that nothing
/// was stored and that the server still answers.
#[track_caller]
fn check(
    server: &Server,
    (method, target): (&str, &str),
    headers: &[(&str, &str)],
    body: &[u8],
    status: u16,
    expect: impl FnOnce(&Response),
) {
    let before = server.count("Patient");
    let r = server.request(method, target, headers, body);
    assert_eq!(r.status, status, "{method} {target}: {}", r.text());
    expect(&r);
    assert_eq!(
        server.count("Patient"),
        before,
        "{method} {target} stored something"
    );
    let alive = server.get("/metadata");
    assert_eq!(
        alive.status, 200,
        "the server stopped answering after {method} {target}"
    );
    assert_eq!(alive.json()["resourceType"], "CapabilityStatement");
}

/// The issue texts of an OperationOutcome response, joined.
fn diagnostics(r: &Response) -> String {
    r.issues()
        .iter()
        .map(|i| i["diagnostics"].as_str().unwrap_or_default().to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

#[test]
fn bad_requests_are_rejected_and_store_nothing() {
    let data = TempDir::new("bad");
    let server = Server::serve(data.path());
    let ok = server.create(&patient("kept-1", "Kept", "1970-01-01"));
    assert_eq!(ok.status, 201, "{}", ok.text());
    let post = ("POST", "/Patient");

    let malformed =
        b"{\n  \"resourceType\": \"Patient\",\n  \"gender\": \"male\",\n  \"name\": [\n}";
    check(&server, post, &[FHIR_JSON], malformed, 400, |r| {
        let d = diagnostics(r);
        assert!(d.contains("line 5") && d.contains("column"), "{d}");
        assert_eq!(r.issues()[0]["code"], "structure");
    });

    let duplicate = br#"{"resourceType":"Patient","gender":"male","gender":"female"}"#;
    check(&server, post, &[FHIR_JSON], duplicate, 400, |r| {
        let d = diagnostics(r);
        assert!(d.contains("duplicate key 'gender'"), "{d}");
    });

    let good = patient("wrong-type", "Wrongtype", "1970-01-01").to_string();
    check(
        &server,
        post,
        &[("Content-Type", "text/plain")],
        good.as_bytes(),
        415,
        |r| {
            assert_eq!(r.issues()[0]["code"], "not-supported");
        },
    );
    check(&server, post, &[], good.as_bytes(), 415, |r| {
        assert!(diagnostics(r).contains("application/fhir+json"));
    });

    let unknown = br#"{"resourceType":"Spaceship","id":"x"}"#;
    check(
        &server,
        ("POST", "/Spaceship"),
        &[FHIR_JSON],
        unknown,
        404,
        |r| {
            assert!(diagnostics(r).contains("Spaceship"), "{}", diagnostics(r));
        },
    );
    check(&server, ("GET", "/Spaceship/1"), &[], b"", 404, |r| {
        assert!(diagnostics(r).contains("Spaceship"), "{}", diagnostics(r));
    });

    let invalid = patient("bad-date", "Baddate", "1990-13-01").to_string();
    check(&server, post, &[FHIR_JSON], invalid.as_bytes(), 422, |r| {
        let issues = r.issues();
        assert!(
            issues
                .iter()
                .any(|i| i["expression"][0] == "Patient.birthDate"),
            "no issue names Patient.birthDate: {issues:?}"
        );
    });

    check(
        &server,
        ("GET", "/Patient?shoe-size=42"),
        &[],
        b"",
        400,
        |r| {
            assert!(diagnostics(r).contains("shoe-size"), "{}", diagnostics(r));
        },
    );
    let lenient = [("Prefer", "handling=lenient")];
    check(
        &server,
        ("GET", "/Patient?shoe-size=42"),
        &lenient,
        b"",
        200,
        |r| {
            let bundle = r.json();
            assert_eq!(bundle["resourceType"], "Bundle");
            let outcome = bundle["entry"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|e| e["search"]["mode"] == "outcome")
                .unwrap_or_else(|| {
                    panic!("no outcome entry names the ignored parameter: {bundle}")
                });
            let d = outcome["resource"]["issue"][0]["diagnostics"]
                .as_str()
                .unwrap_or_default();
            assert!(d.contains("shoe-size"), "{d}");
            assert_eq!(crate::support::resources(&bundle).len(), 1, "{bundle}");
        },
    );

    assert_eq!(server.count("Patient"), 1);
}

#[test]
fn a_body_over_the_limit_is_413() {
    let data = TempDir::new("limit");
    let server = Server::start(&[
        "--data",
        crate::support::path_str(data.path()),
        "--max-body-bytes",
        "1024",
    ]);
    let mut big = patient("big-1", "Big", "1970-01-01");
    big["text"] = serde_json::json!({"status": "generated", "div": format!("<div xmlns=\"http://www.w3.org/1999/xhtml\">{}</div>", "x".repeat(4000))});
    check(
        &server,
        ("POST", "/Patient"),
        &[FHIR_JSON],
        big.to_string().as_bytes(),
        413,
        |r| {
            assert_eq!(r.issues()[0]["code"], "too-long");
            assert!(diagnostics(r).contains("1024"), "{}", diagnostics(r));
        },
    );
    // A body under the limit still goes through.
    let small = server.create(&patient("small-1", "Small", "1970-01-01"));
    assert_eq!(small.status, 201, "{}", small.text());
    assert_eq!(server.count("Patient"), 1);
}
