//! A real third-party client: the Python `fhirclient` package (SMART on FHIR) creates,
//! reads, searches and pages through `tests/e2e/fhirclient_e2e.py`. Without the package the
//! test skips on a developer's machine and fails in CI.

use crate::support::{Server, TempDir, in_ci, run};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

#[test]
fn python_fhirclient_creates_searches_and_pages() {
    let probe = Command::new("python3")
        .args(["-c", "import fhirclient"])
        .output();
    if !probe.as_ref().is_ok_and(|o| o.status.success()) {
        let why = match &probe {
            Ok(o) => String::from_utf8_lossy(&o.stderr).into_owned(),
            Err(e) => format!("python3 did not start: {e}"),
        };
        assert!(
            !in_ci(),
            "the Python package fhirclient is required in CI (pip install fhirclient): {why}"
        );
        eprintln!("python3 cannot import fhirclient (pip install fhirclient): skipping\n{why}");
        return;
    }
    let data = TempDir::new("fhirclient");
    let server = Server::serve(data.path());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/e2e/fhirclient_e2e.py");
    let done = run(
        Command::new("python3")
            .arg(&script)
            .arg(format!("http://{}", server.addr))
            .arg(&server.token),
        Duration::from_secs(120),
    );
    assert!(
        done.status.success(),
        "{} exited with {}\nstdout:\n{}\nstderr:\n{}",
        script.display(),
        done.status,
        done.stdout,
        done.stderr
    );
    assert!(
        done.stdout.contains("fhirclient e2e: ok"),
        "{}",
        done.stdout
    );
    // What the client created is really there.
    assert_eq!(server.count("Patient"), 28);
}
