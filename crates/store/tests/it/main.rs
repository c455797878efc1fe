//! The conformance suite on the embedded SQLite backend, plus SQLite-specific checks.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use store::{Engine, Sqlite, Store, conformance};

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
    let sqlite = Sqlite::open(&temp_dir()).expect("open sqlite");
    Box::new(
        Engine::with_classifier(sqlite, conformance::classify, conformance::SHARED)
            .expect("classifier"),
    )
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

/// A store written before it had a classifier: opening it with one classifies what is
/// there, and without one the shared query refuses rather than guess.
#[test]
fn opening_with_a_classifier_classifies_what_is_stored() {
    let dir = temp_dir();
    let store = Engine::new(Sqlite::open(&dir).expect("open"));
    let mut entries = vec![store::Entry {
        full_url: None,
        op: store::WriteOp::Update {
            resource_type: "Patient".into(),
            id: "p1".into(),
            resource: serde_json::json!({"resourceType": "Patient", "id": "p1"}),
            if_match: None,
        },
    }];
    for i in 0..2500 {
        entries.push(store::Entry {
            full_url: None,
            op: store::WriteOp::Update {
                resource_type: "Observation".into(),
                id: format!("o{i}"),
                resource: serde_json::json!({"resourceType": "Observation", "id": format!("o{i}"),
                    "status": "final", "code": {"text": "x"}, "subject": {"reference": "Patient/p1"},
                    "effectiveDateTime": "2024-01-01"}),
                if_match: None,
            },
        });
    }
    store.transact(entries).expect("write");
    let query = store::SharedQuery {
        patients: vec!["p1".into()],
        ..Default::default()
    };
    assert!(store.shared(&query).is_err(), "no classifier, no answer");
    store.close().expect("close");
    let reopened = Engine::with_classifier(
        Sqlite::open(&dir).expect("reopen"),
        conformance::classify,
        conformance::SHARED,
    )
    .expect("backfill");
    let items = reopened.shared(&query).expect("shared");
    assert_eq!(items.len(), 2500);
    assert!(items.iter().all(|i| i.held.is_none()));
    reopened.close().expect("close");
    // Written since, without a classifier: the next open with one classifies it too.
    let unclassified = Engine::new(Sqlite::open(&dir).expect("reopen"));
    unclassified
        .transact(vec![store::Entry {
            full_url: None,
            op: store::WriteOp::Update {
                resource_type: "Observation".into(),
                id: "late".into(),
                resource: serde_json::json!({"resourceType": "Observation", "id": "late",
                    "status": "final", "code": {"text": "x"}, "subject": {"reference": "Patient/p1"}}),
                if_match: None,
            },
        }])
        .expect("write");
    unclassified.close().expect("close");
    let again = Engine::with_classifier(
        Sqlite::open(&dir).expect("reopen"),
        conformance::classify,
        conformance::SHARED,
    )
    .expect("backfill");
    assert_eq!(again.shared(&query).expect("shared").len(), 2501);
}
