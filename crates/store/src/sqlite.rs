//! The embedded backend: one SQLite database file in the data directory, in WAL mode with
//! full fsync on commit (an acknowledged write survives a crash or power loss). One writer
//! connection serializes writes; readers take pooled connections and read a snapshot.

use crate::StoreError;
use crate::sql::{Backend, Row, SqlValue, Tx};
use rusqlite::types::{ToSqlOutput, Value as Lite, ValueRef};
use rusqlite::{Connection, OpenFlags, ToSql, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS resource (
    rid INTEGER PRIMARY KEY,
    type TEXT NOT NULL,
    id TEXT NOT NULL,
    version INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    updated INTEGER NOT NULL,
    deleted INTEGER NOT NULL,
    body BLOB NOT NULL,
    UNIQUE (type, id)
);
CREATE INDEX IF NOT EXISTS resource_type ON resource (type);
CREATE INDEX IF NOT EXISTS resource_updated ON resource (type, updated);
CREATE INDEX IF NOT EXISTS resource_seq ON resource (seq);
CREATE TABLE IF NOT EXISTS history (
    seq INTEGER PRIMARY KEY,
    rid INTEGER NOT NULL,
    version INTEGER NOT NULL,
    updated INTEGER NOT NULL,
    deleted INTEGER NOT NULL,
    body BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS history_rid ON history (rid, version);
CREATE TABLE IF NOT EXISTS ix_token (
    sp INTEGER NOT NULL, h INTEGER NOT NULL, rid INTEGER NOT NULL,
    PRIMARY KEY (sp, h, rid)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ix_string (
    sp INTEGER NOT NULL, v TEXT NOT NULL, rid INTEGER NOT NULL,
    PRIMARY KEY (sp, v, rid)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ix_date (
    sp INTEGER NOT NULL, lo INTEGER NOT NULL, hi INTEGER NOT NULL, rid INTEGER NOT NULL,
    PRIMARY KEY (sp, lo, hi, rid)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ix_date_rid ON ix_date (rid, sp);
CREATE TABLE IF NOT EXISTS ix_number (
    sp INTEGER NOT NULL, v REAL NOT NULL, u INTEGER NOT NULL, rid INTEGER NOT NULL,
    PRIMARY KEY (sp, v, u, rid)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ix_ref (
    sp INTEGER NOT NULL, h INTEGER NOT NULL, rid INTEGER NOT NULL,
    PRIMARY KEY (sp, h, rid)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS compartment (
    pid INTEGER NOT NULL, rid INTEGER NOT NULL,
    PRIMARY KEY (pid, rid)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS share (
    rid INTEGER PRIMARY KEY, cat INTEGER NOT NULL, at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS share_state (
    id INTEGER PRIMARY KEY CHECK (id = 0), through INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    patient TEXT,
    agent TEXT NOT NULL,
    org TEXT,
    action TEXT NOT NULL,
    outcome INTEGER NOT NULL,
    body BLOB NOT NULL,
    leaf BLOB NOT NULL,
    seal BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_patient ON audit (patient, seq);
CREATE INDEX IF NOT EXISTS audit_agent ON audit (agent, seq);
CREATE INDEX IF NOT EXISTS audit_org ON audit (org, seq);
CREATE INDEX IF NOT EXISTS audit_at ON audit (at);
CREATE TABLE IF NOT EXISTS audit_node (
    level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL,
    PRIMARY KEY (level, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS audit_sth (
    size INTEGER PRIMARY KEY, at INTEGER NOT NULL, root BLOB NOT NULL, sig BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 0), size INTEGER NOT NULL, peaks BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_seen (
    person TEXT NOT NULL, org TEXT NOT NULL, PRIMARY KEY (person, org)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    patient TEXT NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    sent INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_patient ON outbox (patient, seq);
CREATE INDEX IF NOT EXISTS outbox_unsent ON outbox (sent, seq);
CREATE TABLE IF NOT EXISTS inbox (
    seq INTEGER PRIMARY KEY,
    sender TEXT NOT NULL,
    control_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    at INTEGER NOT NULL,
    event_at INTEGER,
    outcome TEXT NOT NULL,
    reason TEXT NOT NULL,
    ack TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS inbox_accepted ON inbox (sender, control_id) WHERE outcome = 'AA';
CREATE INDEX IF NOT EXISTS inbox_at ON inbox (at);
CREATE TABLE IF NOT EXISTS unmapped (
    sender TEXT NOT NULL,
    system TEXT NOT NULL,
    code TEXT NOT NULL,
    display TEXT NOT NULL,
    seen INTEGER NOT NULL,
    first_at INTEGER NOT NULL,
    last_at INTEGER NOT NULL,
    PRIMARY KEY (sender, system, code)
) WITHOUT ROWID;
"#;

/// Page cache of the writer connection: index pages stay hot during imports.
const WRITER_CACHE_KIB: i64 = 256 * 1024;
/// Page cache of each reader connection; the OS page cache holds the rest, so serving
/// memory stays bounded however many readers are open.
const READER_CACHE_KIB: i64 = 8 * 1024;

/// The embedded SQLite backend.
pub struct Sqlite {
    path: PathBuf,
    writer: Mutex<Option<Connection>>,
    readers: Mutex<Vec<Connection>>,
    closed: AtomicBool,
}

impl Sqlite {
    /// Opens (creating if needed) the store in directory `dir`.
    pub fn open(dir: &Path) -> Result<Sqlite, StoreError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::Database(format!("cannot create {}: {e}", dir.display())))?;
        let path = dir.join("yilian.db");
        let conn = connect(&path, WRITER_CACHE_KIB)?;
        // Checkpoint in larger steps: the audit log's indexes take random keys, and copying
        // every commit's pages back at once (the default, 1000 pages) dominated appends.
        conn.pragma_update(None, "wal_autocheckpoint", 16_384)
            .map_err(db)?;
        conn.execute_batch(SCHEMA).map_err(db)?;
        Ok(Sqlite {
            path,
            writer: Mutex::new(Some(conn)),
            readers: Mutex::new(Vec::new()),
            closed: AtomicBool::new(false),
        })
    }

    fn reader(&self) -> Result<Connection, StoreError> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(StoreError::Closed);
        }
        let pooled = lock(&self.readers).pop();
        match pooled {
            Some(c) => Ok(c),
            None => connect(&self.path, READER_CACHE_KIB),
        }
    }
}

impl Backend for Sqlite {
    fn write<R>(
        &self,
        f: impl FnOnce(&mut dyn Tx) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let mut guard = lock(&self.writer);
        let conn = guard.as_mut().ok_or(StoreError::Closed)?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        let mut t = LiteTx { tx: &tx, seq: None };
        match f(&mut t) {
            Ok(r) => {
                tx.commit().map_err(db)?;
                Ok(r)
            }
            // Dropping the transaction rolls it back.
            Err(e) => Err(e),
        }
    }

    fn read<R>(
        &self,
        f: impl FnOnce(&mut dyn Tx) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let mut conn = self.reader()?;
        let result = {
            let tx = conn.transaction().map_err(db)?;
            let mut t = LiteTx { tx: &tx, seq: None };
            let r = f(&mut t);
            tx.finish().map_err(db)?;
            r
        };
        lock(&self.readers).push(conn);
        result
    }

    fn bytes_on_disk(&self) -> Result<u64, StoreError> {
        let mut total = 0;
        for suffix in ["", "-wal", "-shm"] {
            let mut p = self.path.clone().into_os_string();
            p.push(suffix);
            total += std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
        }
        Ok(total)
    }

    fn close(&self) -> Result<(), StoreError> {
        self.closed.store(true, Ordering::SeqCst);
        lock(&self.readers).clear();
        let mut guard = lock(&self.writer);
        if let Some(conn) = guard.take() {
            conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
                .map_err(db)?;
            conn.close().map_err(|(_, e)| db(e))?;
        }
        Ok(())
    }
}

struct LiteTx<'a> {
    tx: &'a rusqlite::Transaction<'a>,
    /// The last version sequence number handed out in this transaction. It is read from the
    /// database inside the write transaction, so another process writing the same store
    /// (an import beside a server) never reuses a number.
    seq: Option<i64>,
}

impl Tx for LiteTx<'_> {
    fn execute(&mut self, sql: &str, params: &[SqlValue]) -> Result<u64, StoreError> {
        let mut stmt = self.tx.prepare_cached(&numbered(sql)).map_err(db)?;
        let n = stmt
            .execute(rusqlite::params_from_iter(params.iter().map(Param)))
            .map_err(db)?;
        Ok(n as u64)
    }

    fn query(&mut self, sql: &str, params: &[SqlValue]) -> Result<Vec<Row>, StoreError> {
        let mut stmt = self.tx.prepare_cached(&numbered(sql)).map_err(db)?;
        let width = stmt.column_count();
        let mut rows = stmt
            .query(rusqlite::params_from_iter(params.iter().map(Param)))
            .map_err(db)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(db)? {
            let mut values = Vec::with_capacity(width);
            for i in 0..width {
                values.push(match row.get_ref(i).map_err(db)? {
                    ValueRef::Null => SqlValue::Null,
                    ValueRef::Integer(i) => SqlValue::Int(i),
                    ValueRef::Real(r) => SqlValue::Real(r),
                    ValueRef::Text(t) => SqlValue::Text(String::from_utf8_lossy(t).into_owned()),
                    ValueRef::Blob(b) => SqlValue::Blob(b.to_vec()),
                });
            }
            out.push(values);
        }
        Ok(out)
    }

    fn lock(&mut self, _key: i64) -> Result<(), StoreError> {
        // The single writer connection already serializes every write transaction.
        Ok(())
    }

    fn next_seq(&mut self) -> Result<i64, StoreError> {
        let last = match self.seq {
            Some(s) => s,
            None => self
                .tx
                .query_row(
                    "SELECT MAX(COALESCE((SELECT MAX(seq) FROM resource), 0), \
                                COALESCE((SELECT MAX(seq) FROM history), 0))",
                    [],
                    |r| r.get(0),
                )
                .map_err(db)?,
        };
        self.seq = Some(last + 1);
        Ok(last + 1)
    }
}

struct Param<'a>(&'a SqlValue);

impl ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self.0 {
            SqlValue::Null => ToSqlOutput::Owned(Lite::Null),
            SqlValue::Int(i) => ToSqlOutput::Owned(Lite::Integer(*i)),
            SqlValue::Real(r) => ToSqlOutput::Owned(Lite::Real(*r)),
            SqlValue::Text(t) => ToSqlOutput::Borrowed(ValueRef::Text(t.as_bytes())),
            SqlValue::Blob(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
        })
    }
}

/// The shared statement in SQLite's own terms: `$3` → `?3` (explicitly numbered, so the
/// order of appearance does not matter), and `ON CONFLICT DO NOTHING` → `INSERT OR IGNORE`,
/// which spares a multi-row insert the statement journal it would otherwise keep in case it
/// had to undo half of itself.
fn numbered(sql: &str) -> String {
    let sql = sql.replace('$', "?");
    match sql.strip_suffix(" ON CONFLICT DO NOTHING") {
        Some(insert) => insert.replacen("INSERT INTO", "INSERT OR IGNORE INTO", 1),
        None => sql,
    }
}

fn connect(path: &Path, cache_kib: i64) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(db)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA busy_timeout = 10000;
         PRAGMA temp_store = MEMORY;
         PRAGMA mmap_size = 4294967296;",
    )
    .map_err(db)?;
    conn.pragma_update(None, "cache_size", -cache_kib)
        .map_err(db)?;
    conn.set_prepared_statement_cache_capacity(256);
    // The query planner stability guarantee: a cached statement keeps its plan. Without it,
    // a statement whose plan could depend on a bound value (LIMIT, a LIKE pattern) is
    // compiled again at every new binding, which was a fifth of a feed's write time.
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )
    .map_err(db)?;
    Ok(conn)
}

/// A mutex guard even after a panic elsewhere: the connection inside is still sound (a
/// panicking writer's transaction was rolled back when it unwound).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn db(e: rusqlite::Error) -> StoreError {
    StoreError::Database(e.to_string())
}
