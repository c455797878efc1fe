//! Index rows: how extracted search values are laid out in the typed index tables.
//!
//! Parameters and tokens are stored as stable 64-bit hashes (FNV-1a; never change it, the
//! hashes are on disk). A token is indexed three ways so that `code`, `|code`, `system|code`
//! and `system|` each need one equality lookup.

use crate::sql::SqlValue;
use fhir::search::{IndexEntry, IndexValue, normalize_string};

/// A row in one of the index tables, without its `rid`.
#[derive(Debug, Clone, PartialEq)]
pub enum IndexRow {
    Token { sp: i64, h: i64 },
    String { sp: i64, v: String },
    Date { sp: i64, lo: i64, hi: i64 },
    Number { sp: i64, v: f64, u: i64 },
    Reference { sp: i64, target: String },
}

/// Reference parameters that put a resource in a patient's compartment.
pub const COMPARTMENT_PARAMS: &[&str] = &["patient", "subject"];

pub fn fnv(parts: &[&str]) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            h ^= 0x1f;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        for b in part.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h as i64
}

/// The hash naming parameter `code` of `resource_type`.
pub fn sp(resource_type: &str, code: &str) -> i64 {
    fnv(&[resource_type, code])
}

/// The hash of the exact (not normalized) form of a string parameter.
pub fn sp_exact(resource_type: &str, code: &str) -> i64 {
    fnv(&[resource_type, code, ":exact"])
}

pub fn token_any(code: &str) -> i64 {
    fnv(&["C", code])
}

pub fn token_no_system(code: &str) -> i64 {
    fnv(&["N", code])
}

pub fn token_system_code(system: &str, code: &str) -> i64 {
    fnv(&["S", system, code])
}

pub fn token_system(system: &str) -> i64 {
    fnv(&["Y", system])
}

pub fn unit(code: &str) -> i64 {
    fnv(&["U", code])
}

/// The rows for all `entries` of a resource of `resource_type`.
pub fn rows(resource_type: &str, entries: &[IndexEntry]) -> Vec<IndexRow> {
    let mut rows = Vec::with_capacity(entries.len() * 2);
    for e in entries {
        let sp = sp(resource_type, e.param);
        match &e.value {
            IndexValue::Token { system, code } => {
                rows.push(IndexRow::Token {
                    sp,
                    h: token_any(code),
                });
                match system {
                    Some(system) => {
                        rows.push(IndexRow::Token {
                            sp,
                            h: token_system_code(system, code),
                        });
                        rows.push(IndexRow::Token {
                            sp,
                            h: token_system(system),
                        });
                    }
                    None => rows.push(IndexRow::Token {
                        sp,
                        h: token_no_system(code),
                    }),
                }
            }
            IndexValue::String(s) => {
                rows.push(IndexRow::String {
                    sp,
                    v: normalize_string(s),
                });
                rows.push(IndexRow::String {
                    sp: sp_exact(resource_type, e.param),
                    v: s.clone(),
                });
            }
            IndexValue::Date { lo, hi } => rows.push(IndexRow::Date {
                sp,
                lo: *lo,
                hi: *hi,
            }),
            IndexValue::Number { value, unit: u, .. } => rows.push(IndexRow::Number {
                sp,
                v: *value,
                u: u.as_deref().map_or(0, unit),
            }),
            IndexValue::Reference { target_type, id } => rows.push(IndexRow::Reference {
                sp,
                target: format!("{target_type}/{id}"),
            }),
        }
    }
    // A resource has tens of rows at most: a quadratic dedup beats hashing floats.
    let mut unique: Vec<IndexRow> = Vec::with_capacity(rows.len());
    for row in rows {
        if !unique.contains(&row) {
            unique.push(row);
        }
    }
    unique
}

/// The patients whose compartment a resource belongs to.
pub fn compartment_patients(resource_type: &str, id: &str, entries: &[IndexEntry]) -> Vec<String> {
    let mut out = Vec::new();
    if resource_type == "Patient" {
        out.push(id.to_string());
    }
    for e in entries {
        if let IndexValue::Reference { target_type, id } = &e.value
            && target_type == "Patient"
            && COMPARTMENT_PARAMS.contains(&e.param)
            && !out.contains(id)
        {
            out.push(id.clone());
        }
    }
    out
}

/// The INSERT statement and parameters for `row` of resource `rid`.
pub fn insert(row: &IndexRow, rid: i64) -> (&'static str, Vec<SqlValue>) {
    use SqlValue::{Int, Real, Text};
    match row {
        IndexRow::Token { sp, h } => (
            "INSERT INTO ix_token(sp, h, rid) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            vec![Int(*sp), Int(*h), Int(rid)],
        ),
        IndexRow::String { sp, v } => (
            "INSERT INTO ix_string(sp, v, rid) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            vec![Int(*sp), Text(v.clone()), Int(rid)],
        ),
        IndexRow::Date { sp, lo, hi } => (
            "INSERT INTO ix_date(sp, lo, hi, rid) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            vec![Int(*sp), Int(*lo), Int(*hi), Int(rid)],
        ),
        IndexRow::Number { sp, v, u } => (
            "INSERT INTO ix_number(sp, v, u, rid) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            vec![Int(*sp), Real(*v), Int(*u), Int(rid)],
        ),
        IndexRow::Reference { sp, target } => (
            "INSERT INTO ix_ref(sp, target, rid) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            vec![Int(*sp), Text(target.clone()), Int(rid)],
        ),
    }
}

/// The DELETE statement and parameters removing `row` of resource `rid`.
pub fn delete(row: &IndexRow, rid: i64) -> (&'static str, Vec<SqlValue>) {
    use SqlValue::{Int, Real, Text};
    match row {
        IndexRow::Token { sp, h } => (
            "DELETE FROM ix_token WHERE sp = $1 AND h = $2 AND rid = $3",
            vec![Int(*sp), Int(*h), Int(rid)],
        ),
        IndexRow::String { sp, v } => (
            "DELETE FROM ix_string WHERE sp = $1 AND v = $2 AND rid = $3",
            vec![Int(*sp), Text(v.clone()), Int(rid)],
        ),
        IndexRow::Date { sp, lo, hi } => (
            "DELETE FROM ix_date WHERE sp = $1 AND lo = $2 AND hi = $3 AND rid = $4",
            vec![Int(*sp), Int(*lo), Int(*hi), Int(rid)],
        ),
        IndexRow::Number { sp, v, u } => (
            "DELETE FROM ix_number WHERE sp = $1 AND v = $2 AND u = $3 AND rid = $4",
            vec![Int(*sp), Real(*v), Int(*u), Int(rid)],
        ),
        IndexRow::Reference { sp, target } => (
            "DELETE FROM ix_ref WHERE sp = $1 AND target = $2 AND rid = $3",
            vec![Int(*sp), Text(target.clone()), Int(rid)],
        ),
    }
}
