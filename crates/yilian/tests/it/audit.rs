//! The audit log through the real binary: a kill -9 in the middle of heavy traffic leaves
//! a log that `yilian audit verify` accepts and that holds a record of every response that
//! was answered; a change made in the database is named by `yilian audit verify`.

use crate::rest::patient;
use crate::support::{Server, TempDir, yilian};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

fn verify(data: &std::path::Path) -> (bool, String) {
    let out = yilian()
        .args(["audit", "verify", "--data"])
        .arg(data)
        .output()
        .expect("run yilian audit verify");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn a_kill_during_heavy_auditing_loses_no_answered_record() {
    let data = TempDir::new("audit-kill");
    let mut server = Server::serve(data.path());
    let r = server.create(&patient("audit-kill", "Audited", "1970-01-01"));
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["id"].as_str().expect("an id").to_string();
    let stop = Arc::new(AtomicBool::new(false));
    let (reads, writes) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let clients: Vec<_> = (0..6)
        .map(|c| {
            let (addr, token, id) = (server.addr, server.token.clone(), id.clone());
            let (stop, reads, writes) = (stop.clone(), reads.clone(), writes.clone());
            std::thread::spawn(move || {
                let auth = format!("Bearer {token}");
                while !stop.load(Ordering::SeqCst) {
                    let r = if c == 0 {
                        let body = patient(
                            &format!("k{}", writes.load(Ordering::SeqCst)),
                            "Written",
                            "1980-02-02",
                        );
                        std::panic::catch_unwind(|| {
                            crate::support::http(
                                addr,
                                "POST",
                                "/Patient",
                                &[("Authorization", &auth), crate::support::FHIR_JSON],
                                body.to_string().as_bytes(),
                            )
                        })
                    } else {
                        std::panic::catch_unwind(|| {
                            crate::support::http(
                                addr,
                                "GET",
                                &format!("/Patient/{id}"),
                                &[("Authorization", &auth)],
                                b"",
                            )
                        })
                    };
                    match r {
                        Ok(r) if r.status == 201 => {
                            writes.fetch_add(1, Ordering::SeqCst);
                        }
                        Ok(r) if r.status == 200 => {
                            reads.fetch_add(1, Ordering::SeqCst);
                        }
                        // The server is gone: stop.
                        _ => return,
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(2500));
    server.kill();
    stop.store(true, Ordering::SeqCst);
    for c in clients {
        let _ = c.join();
    }
    let (reads, writes) = (reads.load(Ordering::SeqCst), writes.load(Ordering::SeqCst));
    assert!(
        reads > 100 && writes > 10,
        "traffic before the kill: {reads} reads, {writes} writes"
    );
    drop(server);

    let (ok, report) = verify(data.path());
    assert!(ok, "the log after kill -9 verifies: {report}");

    // Every answered read and write has its record.
    let server = Server::serve(data.path());
    let count = |query: &str| -> usize {
        server
            .pages(&format!("/AuditEvent?{query}&_count=1000"))
            .iter()
            .map(|b| b["entry"].as_array().map_or(0, Vec::len))
            .sum()
    };
    let read_records = count(&format!("patient=Patient/{id}&subtype=read&outcome=0"));
    let create_records = count("subtype=create&outcome=0");
    assert!(
        read_records >= reads,
        "{read_records} read records for {reads} answered reads"
    );
    // The first create is the setup's.
    assert!(
        create_records > writes,
        "{create_records} create records for {writes} answered creates (and the setup's)"
    );
}

#[test]
fn a_change_in_the_database_is_named_by_verify() {
    let data = TempDir::new("audit-tamper");
    let server = Server::serve(data.path());
    let r = server.create(&patient("audit-tamper", "Tampered", "1970-01-01"));
    let id = r.json()["id"].as_str().expect("an id").to_string();
    for _ in 0..20 {
        assert_eq!(server.get(&format!("/Patient/{id}")).status, 200);
    }
    drop(server);
    let (ok, report) = verify(data.path());
    assert!(ok, "{report}");
    assert!(report.contains("audit log verified: "), "{report}");
    // Someone with database access removes the trace of one read.
    let status = std::process::Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('DELETE FROM audit WHERE seq = 7'); c.commit()",
        ])
        .arg(data.join("yilian.db"))
        .status()
        .expect("python3");
    assert!(status.success());
    let (ok, report) = verify(data.path());
    assert!(!ok, "verify fails after a record was removed: {report}");
    assert!(
        report.contains("position 7: no record is stored here"),
        "{report}"
    );
}
