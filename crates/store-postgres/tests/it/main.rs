//! The conformance suite on PostgreSQL. Runs whenever `YILIAN_TEST_POSTGRES_URL` is set
//! (`.ci/run` always sets it); in CI, a missing URL is a failure, never a silent skip.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use store::{Engine, Store};
use store_postgres::Postgres;

fn url() -> Option<String> {
    match std::env::var("YILIAN_TEST_POSTGRES_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "YILIAN_TEST_POSTGRES_URL must be set in CI: the PostgreSQL suite never skips there"
            );
            eprintln!("YILIAN_TEST_POSTGRES_URL is not set: skipping the PostgreSQL suite");
            None
        }
    }
}

#[test]
fn postgres_conformance() {
    let Some(url) = url() else { return };
    static N: AtomicUsize = AtomicUsize::new(0);
    let opened: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let fresh = || -> Box<dyn Store> {
        let schema = format!(
            "yilian_test_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        );
        let pg = Postgres::open(&url, &schema).expect("connect to PostgreSQL");
        pg.drop_schema().expect("drop stale schema");
        let pg = Postgres::open(&url, &schema).expect("reopen PostgreSQL");
        opened.lock().expect("lock").push(schema);
        Box::new(
            Engine::with_classifier(pg, store::conformance::classify, store::conformance::SHARED)
                .expect("classifier")
                .sealed(store::conformance::sealer()),
        )
    };
    store::conformance::run(&fresh);
    for schema in opened.lock().expect("lock").iter() {
        Postgres::open(&url, schema)
            .and_then(|pg| pg.drop_schema())
            .expect("drop test schema");
    }
}
