//! `yilian import`: valid lines are stored, invalid ones are reported by line with exit
//! status 2, and importing the same file again changes nothing.

use crate::rest::patient;
use crate::support::{Server, TempDir, path_str, run, yilian};
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

const MALFORMED_LINE: u64 = 11;
const INVALID_LINE: u64 = 32;

/// Runs `yilian import --data DATA --report REPORT FILES...`.
fn import(data: &Path, report: &Path, files: &[&Path]) -> crate::support::Finished {
    run(
        yilian()
            .args([
                "import",
                "--data",
                path_str(data),
                "--report",
                path_str(report),
            ])
            .args(files),
        Duration::from_secs(60),
    )
}

#[test]
fn import_reports_rejections_by_line_and_is_idempotent() {
    let dir = TempDir::new("import");
    let data = dir.join("data");
    let file = dir.join("patients.ndjson");
    let report = dir.join("report.ndjson");
    let mut lines = Vec::new();
    for n in 0..50 {
        let mut p = patient(&format!("imp-{n}"), &format!("Imported{n}"), "1985-03-04");
        p["id"] = serde_json::json!(format!("imp-{n}"));
        lines.push(p.to_string());
    }
    lines.insert(
        MALFORMED_LINE as usize - 1,
        r#"{"resourceType":"Patient","id":"broken","#.to_string(),
    );
    let mut invalid = patient("imp-bad", "Baddate", "1990-13-01");
    invalid["id"] = serde_json::json!("imp-bad");
    lines.insert(INVALID_LINE as usize - 1, invalid.to_string());
    std::fs::write(&file, lines.join("\n") + "\n").expect("write the NDJSON file");

    let import = || import(&data, &report, &[&file]);
    let first = import();
    assert_eq!(first.status.code(), Some(2), "import: {}", first.stderr);
    assert!(
        first
            .stderr
            .contains("50 accepted (50 created, 0 updated, 0 unchanged), 2 rejected"),
        "{}",
        first.stderr
    );
    let rejected: Vec<Value> = std::fs::read_to_string(&report)
        .expect("read the report")
        .lines()
        .map(|l| serde_json::from_str(l).expect("report lines are JSON"))
        .collect();
    let at: Vec<u64> = rejected
        .iter()
        .map(|r| r["line"].as_u64().expect("a line number"))
        .collect();
    assert_eq!(at, [MALFORMED_LINE, INVALID_LINE], "{rejected:?}");
    assert_eq!(rejected[0]["status"], 400, "{}", rejected[0]);
    assert_eq!(rejected[1]["status"], 422, "{}", rejected[1]);
    assert!(
        rejected[1]["issue"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|i| i["expression"][0] == "Patient.birthDate"),
        "{}",
        rejected[1]
    );

    {
        let server = Server::serve(&data);
        assert_eq!(server.count("Patient"), 50);
        let r = server.get("/Patient/imp-49");
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["name"][0]["family"], "Imported49");
        assert_eq!(server.get("/Patient/imp-bad").status, 404);
    }

    let again = import();
    assert_eq!(
        again.status.code(),
        Some(2),
        "import again: {}",
        again.stderr
    );
    assert!(
        again
            .stderr
            .contains("(0 created, 0 updated, 50 unchanged), 2 rejected"),
        "{}",
        again.stderr
    );
    let server = Server::serve(&data);
    assert_eq!(server.count("Patient"), 50);
    assert_eq!(
        server.get("/Patient/imp-0").json()["meta"]["versionId"],
        "1"
    );
}

/// Id-less NDJSON lines and a transaction Bundle of plain creates are both idempotent:
/// the second import of the same files creates nothing.
#[test]
fn reimporting_idless_resources_and_bundles_creates_nothing() {
    let dir = TempDir::new("import-idless");
    let data = dir.join("data");
    let ndjson = dir.join("idless.ndjson");
    let bundle = dir.join("bundle.json");
    let report = dir.join("report.ndjson");
    let lines: Vec<String> = (0..5)
        .map(|n| {
            let mut p = patient(&format!("x{n}"), &format!("Idless{n}"), "1970-01-01");
            p.as_object_mut().expect("object").remove("id");
            p.to_string()
        })
        .collect();
    std::fs::write(&ndjson, lines.join("\n") + "\n").expect("write NDJSON");
    let tx = serde_json::json!({
        "resourceType": "Bundle", "type": "transaction", "entry": [
            {"fullUrl": "urn:uuid:5f0c1a9e-6f3e-4a53-9a0a-2b8d3c1e7f01",
             "resource": {"resourceType": "Patient", "gender": "female"},
             "request": {"method": "POST", "url": "Patient"}},
            {"resource": {"resourceType": "Observation", "status": "final", "code": {"text": "x"},
                          "subject": {"reference": "urn:uuid:5f0c1a9e-6f3e-4a53-9a0a-2b8d3c1e7f01"}},
             "request": {"method": "POST", "url": "Observation"}}
        ]
    });
    std::fs::write(&bundle, tx.to_string()).expect("write bundle");
    let import = || import(&data, &report, &[&ndjson, &bundle]);
    let first = import();
    assert_eq!(first.status.code(), Some(0), "{}", first.stderr);
    assert!(
        first.stderr.contains("7 accepted (7 created"),
        "{}",
        first.stderr
    );
    let second = import();
    assert_eq!(second.status.code(), Some(0), "{}", second.stderr);
    assert!(second.stderr.contains("(0 created"), "{}", second.stderr);
    let server = Server::serve(&data);
    assert_eq!(
        server.count("Patient"),
        6,
        "5 id-less patients and the bundle's one"
    );
    let obs = server.get("/Observation?patient=5f0c1a9e-6f3e-4a53-9a0a-2b8d3c1e7f01");
    assert_eq!(
        obs.json()["total"],
        1,
        "the bundle's reference resolved to the stable id"
    );
}
