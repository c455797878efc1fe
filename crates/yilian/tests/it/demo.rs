//! `yilian demo`: generates a region, ingests it as hospitals deliver it, takes the tour,
//! and serves; a second run reuses the data. Then a newcomer follows README: one person's
//! records from two hospitals, by resident ID.

use crate::support::{Server, TempDir, path_str, resources, run, yilian};
use std::collections::BTreeSet;
use std::time::Duration;

fn demo(data: &std::path::Path, extra: &[&str]) -> String {
    let done = run(
        yilian()
            .args([
                "demo",
                "--once",
                "--data",
                path_str(data),
                "--listen",
                "127.0.0.1:0",
                "--patients",
                "150",
            ])
            .args(extra),
        Duration::from_secs(120),
    );
    assert!(
        done.status.success(),
        "demo exited with {}:\n{}\n{}",
        done.status,
        done.stdout,
        done.stderr
    );
    done.stdout
}

#[test]
fn demo_builds_a_region_tours_it_and_reuses_it() {
    let dir = TempDir::new("demo");
    let data = dir.join("demo");
    let out = demo(&data, &[]);
    for expected in [
        "Generated a region of 30 hospitals: 150 people, ",
        "Ingested ",
        "GET /metadata\n  capabilities: 200 CapabilityStatement",
        "  one person's registrations at several hospitals, by resident ID: 200 Bundle with ",
        "  their record at the first hospital: 200 Bundle with ",
        "GET /Patient?shoe-size=42\n  an unknown parameter: 400 OperationOutcome: ",
    ] {
        assert!(
            out.contains(expected),
            "the tour lacks {expected:?}:\n{out}"
        );
    }
    // The cross-hospital identity: one record number finds all of a person's registrations,
    // the ones registered with errors included, and no one else's.
    let pix = out
        .split("one record number finds: 200, ")
        .nth(1)
        .and_then(|s| s.split(" registrations").next())
        .expect("the tour asks $ihe-pix");
    let (linked, of) = pix.split_once(" of ").expect("N of M");
    assert_eq!(linked, of, "{out}");
    assert!(!out.contains("another person!"), "{out}");
    assert!(
        out.contains("POST /Patient/$match (name in pinyin only: "),
        "{out}"
    );
    assert!(
        out.lines().any(|l| l.contains(" score ")
            && ["certain", "probable", "possible"]
                .iter()
                .any(|g| l.contains(g))),
        "$match returns graded candidates:\n{out}"
    );
    // The shared record: opened under consent for a treating doctor, refused to a
    // hospital with no relationship, opened by break-glass and flagged.
    let shared: Vec<&str> = out
        .lines()
        .skip_while(|l| !l.starts_with("GET /shared/Patient/"))
        .collect();
    let under_consent = shared
        .iter()
        .any(|l| l.contains("treating: 200") && l.contains("shown under Consent/"));
    let refused = shared
        .iter()
        .any(|l| l.contains("403 refused: the patient has no recent registration"));
    let glass = shared
        .iter()
        .any(|l| l.contains("in the emergency: 200") && l.contains("shown by break-glass"));
    assert!(
        under_consent && refused && glass,
        "the shared-record tour:\n{out}"
    );
    assert!(
        !out.contains("is serving FHIR R4"),
        "--once must not keep serving:\n{out}"
    );
    // Every generated resource went in: what was ingested is what was generated.
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(data.join("region/manifest.json")).expect("a manifest"),
    )
    .expect("JSON");
    let generated = manifest["resources"].as_u64().expect("a resource count");
    assert!(
        out.contains(&format!("Ingested {generated} resources.")),
        "generated {generated}:\n{out}"
    );

    let again = demo(&data, &[]);
    assert!(again.contains("Reusing the region in "), "{again}");
    assert!(!again.contains("Ingested"), "{again}");
    let fresh = demo(&data, &["--fresh"]);
    assert!(fresh.contains("Generated a region"), "{fresh}");

    // README's first steps, on the demo's store: the person the demo names, found by
    // resident ID at two hospitals, and their visits at both.
    let id = out
        .split("(resident ID ")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .expect("the demo names its patient");
    let server = Server::serve(&data.join("store"));
    let found = server.get(&format!(
        "/Patient?identifier=urn:oid:2.16.156.10011.1.3|{id}"
    ));
    assert_eq!(found.status, 200);
    let registrations = resources(&found.json());
    let hospitals: BTreeSet<String> = registrations
        .iter()
        .map(|p| {
            p["managingOrganization"]["reference"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    assert!(hospitals.len() >= 2, "one person at {hospitals:?}");
    let patients: Vec<String> = registrations
        .iter()
        .map(|p| format!("Patient/{}", p["id"].as_str().unwrap_or_default()))
        .collect();
    let visits = server.get(&format!(
        "/Encounter?patient={}&_sort=-date&_count=100",
        patients.join(",")
    ));
    assert_eq!(visits.status, 200);
    let seen_at: BTreeSet<String> = resources(&visits.json())
        .iter()
        .map(|e| {
            e["serviceProvider"]["reference"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    assert_eq!(
        seen_at, hospitals,
        "visits at every hospital the person is registered at"
    );
    // README's identity step: the record number the demo printed, over PIXm.
    let source = out
        .split("$ihe-pix?sourceIdentifier=")
        .nth(1)
        .and_then(|s| s.split('\n').next())
        .expect("the tour prints a record number");
    let pix = server.get(&format!("/Patient/$ihe-pix?sourceIdentifier={source}"));
    assert_eq!(pix.status, 200);
    let targets = pix.json()["parameter"]
        .as_array()
        .map_or(0, |p| p.iter().filter(|x| x["name"] == "targetId").count());
    assert_eq!(
        targets.to_string(),
        linked,
        "{}",
        String::from_utf8_lossy(&pix.body)
    );
}
