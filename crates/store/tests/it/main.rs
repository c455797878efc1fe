//! The conformance suite on the embedded SQLite backend, plus SQLite-specific checks.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use store::{Engine, Sqlite, Store};

/// A fresh, empty directory under the system temp dir.
fn temp_dir() -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "yilian-store-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn fresh() -> Box<dyn Store> {
    Box::new(Engine::new(Sqlite::open(&temp_dir()).expect("open sqlite")))
}

#[test]
fn sqlite_conformance() {
    store::conformance::run(&fresh);
}

#[test]
fn reopening_keeps_acknowledged_writes() {
    let dir = temp_dir();
    let store = Engine::new(Sqlite::open(&dir).expect("open"));
    let out = store
        .transact(vec![store::Entry {
            full_url: None,
            op: store::WriteOp::Create {
                resource: serde_json::json!({"resourceType": "Patient", "gender": "male"}),
                if_none_exist: None,
            },
        }])
        .expect("create");
    let id = out[0].stored().expect("stored").id.clone();
    store.close().expect("close");
    assert!(
        store.read("Patient", &id).is_err(),
        "a closed store refuses reads"
    );
    let reopened = Engine::new(Sqlite::open(&dir).expect("reopen"));
    assert_eq!(
        reopened
            .read("Patient", &id)
            .expect("read")
            .expect("kept")
            .version,
        1
    );
    // The version sequence continues after a reopen, so history stays ordered.
    let h = reopened
        .history(&store::HistoryScope::System, 10, None)
        .expect("history");
    assert_eq!(h.versions.len(), 1);
}
