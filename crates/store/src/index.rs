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
    Token {
        sp: i64,
        h: i64,
    },
    String {
        sp: i64,
        v: String,
    },
    Date {
        sp: i64,
        lo: i64,
        hi: i64,
    },
    Number {
        sp: i64,
        v: f64,
        u: i64,
    },
    /// `h` is [`reference`] of the target: a hash keeps the row small.
    Reference {
        sp: i64,
        h: i64,
    },
    /// Membership of a patient's compartment; `pid` is [`patient`] of the patient's id.
    Compartment {
        pid: i64,
    },
    /// The resource's class for the shared record (one per resource).
    Share {
        cat: i64,
        at: i64,
    },
}

impl IndexRow {
    /// The order rows are inserted in: by table, then by the table's key.
    pub fn order(&self, other: &IndexRow) -> std::cmp::Ordering {
        fn rank(r: &IndexRow) -> u8 {
            match r {
                IndexRow::Token { .. } => 0,
                IndexRow::String { .. } => 1,
                IndexRow::Date { .. } => 2,
                IndexRow::Number { .. } => 3,
                IndexRow::Reference { .. } => 4,
                IndexRow::Compartment { .. } => 5,
                IndexRow::Share { .. } => 6,
            }
        }
        use IndexRow as R;
        match (self, other) {
            (R::Token { sp: a, h: x }, R::Token { sp: b, h: y })
            | (R::Reference { sp: a, h: x }, R::Reference { sp: b, h: y }) => (a, x).cmp(&(b, y)),
            (R::String { sp: a, v: x }, R::String { sp: b, v: y }) => (a, x).cmp(&(b, y)),
            (
                R::Date {
                    sp: a,
                    lo: x,
                    hi: xh,
                },
                R::Date {
                    sp: b,
                    lo: y,
                    hi: yh,
                },
            ) => (a, x, xh).cmp(&(b, y, yh)),
            (R::Number { sp: a, v: x, u: xu }, R::Number { sp: b, v: y, u: yu }) => {
                a.cmp(b).then(x.total_cmp(y)).then(xu.cmp(yu))
            }
            (R::Compartment { pid: a }, R::Compartment { pid: b }) => a.cmp(b),
            (R::Share { cat: a, at: x }, R::Share { cat: b, at: y }) => (a, x).cmp(&(b, y)),
            _ => rank(self).cmp(&rank(other)),
        }
    }

    /// The table, its columns (without `rid`), and the row's values for them.
    fn parts(&self) -> (&'static str, &'static str, Vec<SqlValue>) {
        use SqlValue::{Int, Real, Text};
        match self {
            IndexRow::Token { sp, h } => ("ix_token", "sp, h", vec![Int(*sp), Int(*h)]),
            IndexRow::String { sp, v } => ("ix_string", "sp, v", vec![Int(*sp), Text(v.clone())]),
            IndexRow::Date { sp, lo, hi } => {
                ("ix_date", "sp, lo, hi", vec![Int(*sp), Int(*lo), Int(*hi)])
            }
            IndexRow::Number { sp, v, u } => {
                ("ix_number", "sp, v, u", vec![Int(*sp), Real(*v), Int(*u)])
            }
            IndexRow::Reference { sp, h } => ("ix_ref", "sp, h", vec![Int(*sp), Int(*h)]),
            IndexRow::Compartment { pid } => ("compartment", "pid", vec![Int(*pid)]),
            IndexRow::Share { cat, at } => ("share", "cat, at", vec![Int(*cat), Int(*at)]),
        }
    }
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

/// The hash of a reference target `Type/id`.
pub fn reference(target_type: &str, id: &str) -> i64 {
    fnv(&["R", target_type, id])
}

/// The hash of a patient id in the compartment table.
pub fn patient(id: &str) -> i64 {
    fnv(&["P", id])
}

/// The rows for all `entries` of resource `resource_type/id`, compartments included.
pub fn rows(resource_type: &str, id: &str, entries: &[IndexEntry]) -> Vec<IndexRow> {
    let mut rows = Vec::with_capacity(entries.len() * 2);
    for pid in compartment_patients(resource_type, id, entries) {
        rows.push(IndexRow::Compartment { pid: patient(&pid) });
    }
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
                h: reference(target_type, id),
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

/// Rows per INSERT statement: far below the bound-parameter limits of both databases.
const ROWS_PER_INSERT: usize = 64;

/// Statements inserting `rows` (each with its resource's `rid`): multi-row INSERTs, one per
/// table and run of at most [`ROWS_PER_INSERT`] rows, in the order given.
pub fn insert_all(rows: &[(&IndexRow, i64)]) -> Vec<(String, Vec<SqlValue>)> {
    let mut out: Vec<(&'static str, &'static str, Vec<SqlValue>, usize)> = Vec::new();
    for (row, rid) in rows {
        let (table, columns, mut values) = row.parts();
        values.push(SqlValue::Int(*rid));
        match out.last_mut() {
            Some((t, _, all, n)) if *t == table && *n < ROWS_PER_INSERT => {
                all.append(&mut values);
                *n += 1;
            }
            _ => out.push((table, columns, values, 1)),
        }
    }
    out.into_iter()
        .map(|(table, columns, values, n)| {
            (insert_sql(table, columns, values.len() / n, n), values)
        })
        .collect()
}

/// `INSERT INTO table(columns, rid) VALUES ($1, ...), ... ON CONFLICT DO NOTHING` for `n` rows
/// of `width` values, built once per shape and then shared.
fn insert_sql(table: &'static str, columns: &'static str, width: usize, n: usize) -> String {
    use std::cell::RefCell;
    use std::collections::HashMap;
    thread_local! {
        static CACHE: RefCell<HashMap<(&'static str, usize), String>> = RefCell::new(HashMap::new());
    }
    CACHE.with(|cache| {
        cache
            .borrow_mut()
            .entry((table, n))
            .or_insert_with(|| {
                let tuples: Vec<String> = (0..n)
                    .map(|r| {
                        let ps: Vec<String> =
                            (1..=width).map(|c| format!("${}", r * width + c)).collect();
                        format!("({})", ps.join(", "))
                    })
                    .collect();
                format!(
                    "INSERT INTO {table}({columns}, rid) VALUES {} ON CONFLICT DO NOTHING",
                    tuples.join(", ")
                )
            })
            .clone()
    })
}

/// The statement deleting `row` of resource `rid`.
pub fn delete(row: &IndexRow, rid: i64) -> (String, Vec<SqlValue>) {
    let (table, columns, mut values) = row.parts();
    let conds: Vec<String> = columns
        .split(", ")
        .enumerate()
        .map(|(i, c)| format!("{c} = ${}", i + 1))
        .collect();
    values.push(SqlValue::Int(rid));
    (
        format!(
            "DELETE FROM {table} WHERE {} AND rid = ${}",
            conds.join(" AND "),
            values.len()
        ),
        values,
    )
}
