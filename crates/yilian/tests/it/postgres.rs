//! The create, search and paging flow through the binary on PostgreSQL. Runs whenever
//! `YILIAN_TEST_POSTGRES_URL` is set; in CI a missing URL fails rather than skips.

use crate::support::{Server, in_ci};
use std::time::{SystemTime, UNIX_EPOCH};

/// Drops the test schema when the test ends, pass or fail.
struct Schema {
    url: String,
    name: String,
}

impl Drop for Schema {
    fn drop(&mut self) {
        if let Err(e) =
            store_postgres::Postgres::open(&self.url, &self.name).and_then(|pg| pg.drop_schema())
        {
            eprintln!("could not drop the test schema {}: {e}", self.name);
        }
    }
}

#[test]
fn postgres_create_search_and_page() {
    let url = match std::env::var("YILIAN_TEST_POSTGRES_URL") {
        Ok(u) if !u.is_empty() => u,
        _ => {
            assert!(
                !in_ci(),
                "YILIAN_TEST_POSTGRES_URL must be set in CI: the PostgreSQL end-to-end test never skips there"
            );
            eprintln!(
                "YILIAN_TEST_POSTGRES_URL is not set: skipping the PostgreSQL end-to-end test"
            );
            return;
        }
    };
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let schema = Schema {
        url: url.clone(),
        name: format!("yilian_e2e_{}_{nanos}", std::process::id()),
    };
    let server = Server::start(&["--database-url", &url, "--database-schema", &schema.name]);
    crate::rest::create_search_and_page(&server);
    drop(server);
}
