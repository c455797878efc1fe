//! `yilian demo --once`: loads the sample, shows the tour over a real socket, and exits.

use crate::support::{TempDir, path_str, run, yilian};
use std::time::Duration;

#[test]
fn demo_once_prints_the_tour_and_exits() {
    let dir = TempDir::new("demo");
    let data = dir.join("demo");
    let done = run(
        yilian().args([
            "demo",
            "--once",
            "--data",
            path_str(&data),
            "--listen",
            "127.0.0.1:0",
            "--patients",
            "20",
        ]),
        Duration::from_secs(60),
    );
    assert!(
        done.status.success(),
        "demo exited with {}:\n{}",
        done.status,
        done.stderr
    );
    let out = &done.stdout;
    for expected in [
        "Yilian demo: ",
        " resources for 20 patients in ",
        "GET /metadata\n  capabilities: 200 CapabilityStatement",
        "  a patient: 200 Patient",
        "  their whole record: 200 Bundle with ",
        "GET /Patient?shoe-size=42\n  an unknown parameter: 400 OperationOutcome: ",
    ] {
        assert!(
            out.contains(expected),
            "the tour lacks {expected:?}:\n{out}"
        );
    }
    assert!(
        !out.contains("Serving FHIR R4"),
        "--once must not keep serving:\n{out}"
    );
}
