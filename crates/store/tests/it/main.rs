//! The conformance suite on the embedded SQLite backend, plus SQLite-specific checks.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use store::conformance::{self, Plain};
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
    let sqlite = Sqlite::open(&temp_dir()).expect("open sqlite");
    Box::new(
        Engine::with_classifier(sqlite, conformance::classify, conformance::SHARED)
            .expect("classifier")
            .sealed(conformance::sealer()),
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
        .transact_plain(vec![store::Entry {
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
    store.transact_plain(entries).expect("write");
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
        .transact_plain(vec![store::Entry {
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

/// Verifies the log of the store in `dir`: `ok` or the first problem.
fn verify(store: &dyn Store, published: &[audit::SignedTreeHead]) -> String {
    let key = conformance::sealer();
    let mut heads = store.audit_heads().expect("heads");
    heads.extend_from_slice(published);
    let mut v = audit::Verifier::new(Some(key.clone()), key.public(), heads);
    loop {
        let rows = store.audit_scan(v.position(), 1000).expect("scan");
        if rows.is_empty() {
            break;
        }
        for r in &rows {
            if let Err(p) = v.push(r) {
                return p.to_string();
            }
        }
    }
    match v.finish() {
        Ok(r) => format!("ok: {} records", r.records),
        Err(p) => p.to_string(),
    }
}

#[test]
fn tampering_in_the_database_is_found_at_its_position() {
    let cases: &[(&str, &str)] = &[
        ("untouched", ""),
        (
            "a record changed",
            "UPDATE audit SET body = CAST(replace(CAST(body AS TEXT), 'Patient/p17', 'Patient/p99') AS BLOB) WHERE seq = 17",
        ),
        ("a record removed", "DELETE FROM audit WHERE seq = 23"),
        (
            "two records reordered",
            "UPDATE audit SET seq = CASE seq WHEN 30 THEN -1 ELSE seq END WHERE seq = 30; \
             UPDATE audit SET seq = 30 WHERE seq = 31; UPDATE audit SET seq = 31 WHERE seq = -1",
        ),
        (
            "a record inserted at the end",
            "INSERT INTO audit SELECT 60, at, patient, agent, org, action, outcome, body, leaf, seal FROM audit WHERE seq = 5",
        ),
        (
            "the last records removed",
            "DELETE FROM audit WHERE seq >= 55",
        ),
        (
            "a search column changed",
            "UPDATE audit SET patient = 'Patient/someone-else' WHERE seq = 40",
        ),
        (
            "a tree head removed and the log cut",
            "DELETE FROM audit WHERE seq >= 50; DELETE FROM audit_sth WHERE size > 50",
        ),
    ];
    let mut out = String::new();
    for (name, sql) in cases {
        let dir = temp_dir();
        let store = Engine::new(Sqlite::open(&dir).expect("open")).sealed(conformance::sealer());
        for group in 0..6 {
            let records: Vec<store::Logged> = (0..10)
                .map(|i| {
                    let n = group * 10 + i;
                    let mut r = audit::Record::new(
                        1_796_083_200_000 + n,
                        audit::Action::Read,
                        audit::Outcome::Success,
                        "user:admin",
                    );
                    r.patient = Some(format!("Patient/p{n}"));
                    r.into()
                })
                .collect();
            store.log(records).expect("log");
        }
        let published = store.audit_head(None).expect("head").expect("a head");
        store.close().expect("close");
        if !sql.is_empty() {
            let conn = rusqlite::Connection::open(dir.join("yilian.db")).expect("open db");
            conn.execute_batch(sql).expect("tamper");
        }
        let store = Engine::new(Sqlite::open(&dir).expect("reopen")).sealed(conformance::sealer());
        out += &format!("{name}: {}\n", verify(&store, &[]));
        if name.contains("tree head") {
            out += &format!(
                "  with the head a regulator kept: {}\n",
                verify(&store, &[published])
            );
        }
    }
    expect_test::expect![[r#"
        untouched: ok: 60 records
        a record changed: position 17: the record does not hash to its logged leaf: changed
        a record removed: position 23: no record is stored here (the next stored is at 24): removed
        two records reordered: position 30: the record's seal does not verify: replaced, reordered or inserted
        a record inserted at the end: position 60: the record's seal does not verify: replaced, reordered or inserted
        the last records removed: position 55: the log ends here, but a tree head was signed at size 60: records removed from the end
        a search column changed: position 40: the search columns stored beside the record were changed
        a tree head removed and the log cut: ok: 50 records
          with the head a regulator kept: position 50: the log ends here, but a tree head was signed at size 60: records removed from the end
    "#]].assert_eq(&out);
}
