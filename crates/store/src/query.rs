//! Search queries as SQL. One generator serves both backends: the statements use only what
//! SQLite and PostgreSQL share, with `$n` parameters.
//!
//! Paging is keyset paging on (sort key, rid) below a snapshot rid fixed by the first page:
//! resources created after the first page never shift later pages, and no page repeats or
//! skips a resource whose sort key did not change.

use crate::StoreError;
use crate::index;
use crate::sql::SqlValue;
use fhir::search::{Clause, ParamType, Predicate, Prefix, SearchQuery, TokenSystem};

/// The column list every resource query selects, in this order.
pub const COLUMNS: &str = "r.rid, r.type, r.id, r.version, r.updated, r.deleted, r.body";

/// A statement under construction.
#[derive(Default)]
pub struct Sql {
    pub text: String,
    pub params: Vec<SqlValue>,
}

impl Sql {
    /// Binds `v` and returns its placeholder.
    pub fn bind(&mut self, v: SqlValue) -> String {
        self.params.push(v);
        format!("${}", self.params.len())
    }
}

/// Where the next page starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Cursor {
    pub snapshot: i64,
    pub key: Option<SortKey>,
    pub rid: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SortKey {
    Int(i64),
    Text(String),
}

impl Cursor {
    pub fn encode(&self) -> String {
        let key = match &self.key {
            None => "n".to_string(),
            Some(SortKey::Int(i)) => format!("i{i}"),
            Some(SortKey::Text(t)) => format!("t{}", hex(t.as_bytes())),
        };
        format!("{}_{}_{}", self.snapshot, key, self.rid)
    }

    pub fn decode(s: &str) -> Result<Cursor, StoreError> {
        let mut parts = s.split('_');
        let (Some(snap), Some(key), Some(rid), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(StoreError::BadCursor);
        };
        let key = match key.split_at_checked(1) {
            Some(("n", "")) => None,
            Some(("i", i)) => Some(SortKey::Int(i.parse().map_err(|_| StoreError::BadCursor)?)),
            Some(("t", t)) => Some(SortKey::Text(
                String::from_utf8(unhex(t).ok_or(StoreError::BadCursor)?)
                    .map_err(|_| StoreError::BadCursor)?,
            )),
            _ => return Err(StoreError::BadCursor),
        };
        Ok(Cursor {
            snapshot: snap.parse().map_err(|_| StoreError::BadCursor)?,
            key,
            rid: rid.parse().map_err(|_| StoreError::BadCursor)?,
        })
    }
}

/// The `WHERE` conditions of `q` (resource type, not deleted, every clause), on alias `r`.
pub fn conditions(sql: &mut Sql, q: &SearchQuery) -> String {
    let rt = &q.resource_type;
    let mut conds = vec![
        format!("r.type = {}", sql.bind(SqlValue::Text(rt.clone()))),
        "r.deleted = 0".to_string(),
    ];
    for clause in &q.clauses {
        conds.push(clause_sql(sql, rt, clause));
    }
    conds.join(" AND ")
}

/// The sort-key expression of `q` and whether it is descending; `None` sorts by rid.
pub fn sort_key(sql: &mut Sql, q: &SearchQuery) -> Option<(String, bool, bool)> {
    let sort = q.sort.first()?;
    let (expr, text) = match sort.param.as_str() {
        "_lastUpdated" => ("r.updated".to_string(), false),
        "_id" => ("r.id".to_string(), true),
        code => {
            let sp = sql.bind(SqlValue::Int(index::sp(&q.resource_type, code)));
            let (agg, missing) = if sort.descending {
                ("MAX(d.hi)", i64::MIN)
            } else {
                ("MIN(d.lo)", i64::MAX)
            };
            // Resources without the date sort last either way.
            let missing = sql.bind(SqlValue::Int(missing));
            (
                format!(
                    "COALESCE((SELECT {agg} FROM ix_date d WHERE d.rid = r.rid AND d.sp = {sp}), {missing})"
                ),
                false,
            )
        }
    };
    Some((expr, sort.descending, text))
}

fn clause_sql(sql: &mut Sql, rt: &str, clause: &Clause) -> String {
    let ors: Vec<String> = clause
        .predicates
        .iter()
        .map(|p| predicate_sql(sql, rt, &clause.param, p))
        .collect();
    // `code:not=a,b` means neither a nor b.
    let negated = clause
        .predicates
        .iter()
        .all(|p| matches!(p, Predicate::Token { not: true, .. }));
    format!("({})", ors.join(if negated { " AND " } else { " OR " }))
}

fn predicate_sql(sql: &mut Sql, rt: &str, param: &str, p: &Predicate) -> String {
    use SqlValue::{Int, Real, Text};
    let kind = fhir::search::param(rt, param).map(|d| d.kind);
    match p {
        Predicate::Id(id) => format!("r.id = {}", sql.bind(Text(id.clone()))),
        Predicate::Missing(missing) => {
            if param == "_id" || param == "_lastUpdated" {
                return if *missing { "1 = 0" } else { "1 = 1" }.to_string();
            }
            let table = match kind {
                Some(ParamType::String) => "ix_string",
                Some(ParamType::Date) => "ix_date",
                Some(ParamType::Number | ParamType::Quantity) => "ix_number",
                Some(ParamType::Reference) => "ix_ref",
                _ => "ix_token",
            };
            let sp = sql.bind(Int(index::sp(rt, param)));
            format!(
                "r.rid {} (SELECT rid FROM {table} WHERE sp = {sp})",
                if *missing { "NOT IN" } else { "IN" }
            )
        }
        Predicate::Token { system, code, not } => {
            let h = match (system, code) {
                (TokenSystem::Any, Some(code)) => index::token_any(code),
                (TokenSystem::None, Some(code)) => index::token_no_system(code),
                (TokenSystem::Is(system), Some(code)) => index::token_system_code(system, code),
                (TokenSystem::Is(system), None) => index::token_system(system),
                (_, None) => index::token_no_system(""),
            };
            let sp = sql.bind(Int(index::sp(rt, param)));
            let h = sql.bind(Int(h));
            format!(
                "r.rid {} (SELECT rid FROM ix_token WHERE sp = {sp} AND h = {h})",
                if *not { "NOT IN" } else { "IN" }
            )
        }
        Predicate::String {
            value,
            exact,
            contains,
        } => {
            let cond = if *exact {
                let sp = sql.bind(Int(index::sp_exact(rt, param)));
                format!("sp = {sp} AND v = {}", sql.bind(Text(value.clone())))
            } else {
                let sp = sql.bind(Int(index::sp(rt, param)));
                let norm = fhir::search::normalize_string(value);
                if *contains {
                    let pattern = format!("%{}%", escape_like(&norm));
                    format!(
                        "sp = {sp} AND v LIKE {} ESCAPE '\\'",
                        sql.bind(Text(pattern))
                    )
                } else {
                    let upper = format!("{norm}\u{10FFFF}");
                    format!(
                        "sp = {sp} AND v >= {} AND v < {}",
                        sql.bind(Text(norm)),
                        sql.bind(Text(upper))
                    )
                }
            };
            format!("r.rid IN (SELECT rid FROM ix_string WHERE {cond})")
        }
        Predicate::Date { prefix, lo, hi } => {
            if param == "_lastUpdated" {
                return range_condition(sql, *prefix, "r.updated", "r.updated", *lo, *hi);
            }
            let sp = sql.bind(Int(index::sp(rt, param)));
            let cond = range_condition(sql, *prefix, "lo", "hi", *lo, *hi);
            format!("r.rid IN (SELECT rid FROM ix_date WHERE sp = {sp} AND {cond})")
        }
        Predicate::Number {
            prefix,
            value,
            lo,
            hi,
            unit,
        } => {
            let sp = sql.bind(Int(index::sp(rt, param)));
            let v = *value;
            let cond = match prefix {
                Prefix::Eq => format!(
                    "v >= {} AND v < {}",
                    sql.bind(Real(*lo)),
                    sql.bind(Real(*hi))
                ),
                Prefix::Ne => format!(
                    "NOT (v >= {} AND v < {})",
                    sql.bind(Real(*lo)),
                    sql.bind(Real(*hi))
                ),
                Prefix::Gt | Prefix::Sa => format!("v > {}", sql.bind(Real(v))),
                Prefix::Lt | Prefix::Eb => format!("v < {}", sql.bind(Real(v))),
                Prefix::Ge => format!("v >= {}", sql.bind(Real(v))),
                Prefix::Le => format!("v <= {}", sql.bind(Real(v))),
                Prefix::Ap => {
                    let (a, b) = (v * 0.9, v * 1.1);
                    format!(
                        "v >= {} AND v <= {}",
                        sql.bind(Real(a.min(b))),
                        sql.bind(Real(a.max(b)))
                    )
                }
            };
            let unit = match unit {
                Some(u) => format!(" AND u = {}", sql.bind(Int(index::unit(u)))),
                None => String::new(),
            };
            format!("r.rid IN (SELECT rid FROM ix_number WHERE sp = {sp} AND {cond}{unit})")
        }
        Predicate::Reference { targets } => {
            let sp = sql.bind(Int(index::sp(rt, param)));
            let list: Vec<String> = targets
                .iter()
                .map(|(t, id)| sql.bind(Int(index::reference(t, id))))
                .collect();
            format!(
                "r.rid IN (SELECT rid FROM ix_ref WHERE sp = {sp} AND h IN ({}))",
                list.join(", ")
            )
        }
    }
}

/// The FHIR prefix semantics on a target range `[lo_col, hi_col]` and a search range.
fn range_condition(
    sql: &mut Sql,
    prefix: Prefix,
    lo_col: &str,
    hi_col: &str,
    lo: i64,
    hi: i64,
) -> String {
    use SqlValue::Int;
    match prefix {
        Prefix::Eq => format!(
            "{lo_col} >= {} AND {hi_col} <= {}",
            sql.bind(Int(lo)),
            sql.bind(Int(hi))
        ),
        Prefix::Ne => format!(
            "NOT ({lo_col} >= {} AND {hi_col} <= {})",
            sql.bind(Int(lo)),
            sql.bind(Int(hi))
        ),
        Prefix::Gt => format!("{hi_col} > {}", sql.bind(Int(hi))),
        Prefix::Lt => format!("{lo_col} < {}", sql.bind(Int(lo))),
        Prefix::Ge => format!("{hi_col} >= {}", sql.bind(Int(lo))),
        Prefix::Le => format!("{lo_col} <= {}", sql.bind(Int(hi))),
        Prefix::Sa => format!("{lo_col} > {}", sql.bind(Int(hi))),
        Prefix::Eb => format!("{hi_col} < {}", sql.bind(Int(lo))),
        Prefix::Ap => format!(
            "{lo_col} <= {} AND {hi_col} >= {}",
            sql.bind(Int(hi)),
            sql.bind(Int(lo))
        ),
    }
}

fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}
