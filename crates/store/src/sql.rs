//! The narrow SQL interface the engine needs from a backend. Both SQLite and PostgreSQL speak
//! the same statements: `$1`-style numbered parameters (the SQLite backend turns them into
//! its `?1`), `RETURNING`, `ON CONFLICT`.

use crate::StoreError;

#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl SqlValue {
    pub fn int(&self) -> i64 {
        match self {
            SqlValue::Int(i) => *i,
            SqlValue::Real(r) => *r as i64,
            _ => 0,
        }
    }

    pub fn text(&self) -> &str {
        match self {
            SqlValue::Text(s) => s,
            _ => "",
        }
    }

    pub fn into_blob(self) -> Vec<u8> {
        match self {
            SqlValue::Blob(b) => b,
            SqlValue::Text(s) => s.into_bytes(),
            _ => Vec::new(),
        }
    }
}

pub type Row = Vec<SqlValue>;

/// An open transaction (or a read snapshot).
pub trait Tx {
    fn execute(&mut self, sql: &str, params: &[SqlValue]) -> Result<u64, StoreError>;
    fn query(&mut self, sql: &str, params: &[SqlValue]) -> Result<Vec<Row>, StoreError>;
    /// Serializes writers on `key` until the transaction ends (the conditional-create guard).
    fn lock(&mut self, key: i64) -> Result<(), StoreError>;
    /// The next value of the global version sequence (orders system history).
    fn next_seq(&mut self) -> Result<i64, StoreError>;
}

/// A database the [`crate::Engine`] runs on.
pub trait Backend: Send + Sync + 'static {
    /// Runs `f` in a write transaction, committed durably when `f` returns `Ok`.
    fn write<R>(
        &self,
        f: impl FnOnce(&mut dyn Tx) -> Result<R, StoreError>,
    ) -> Result<R, StoreError>;
    /// Runs `f` on a consistent read snapshot.
    fn read<R>(
        &self,
        f: impl FnOnce(&mut dyn Tx) -> Result<R, StoreError>,
    ) -> Result<R, StoreError>;
    fn bytes_on_disk(&self) -> Result<u64, StoreError>;
    fn close(&self) -> Result<(), StoreError>;
}
