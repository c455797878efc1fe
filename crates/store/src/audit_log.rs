//! The audit log's tables: records with their leaf hashes and seals, the perfect subtrees
//! proofs are cut from, every signed tree head, the log's right edge, and the notification
//! outbox. Appends run inside a write transaction under one lock, so a write and its record
//! commit together and the tree grows in one order across every server of the region.

use crate::query::Sql;
use crate::sql::{Row, SqlValue, Tx};
use crate::{AuditQuery, Logged, Notice, OrgStats, StoreError};
use audit::{Frontier, Hash, Sealer, SignedTreeHead, TreeHead};
use std::collections::HashMap;

/// The advisory-lock key every append takes (PostgreSQL); SQLite's single writer already
/// serializes them.
const AUDIT_LOCK: i64 = 0x5949_4c49_414e_4155; // "YILIANAU"

/// Rows per multi-row INSERT.
const CHUNK: usize = 200;

fn bad(what: &str) -> StoreError {
    StoreError::Database(format!("the audit log's {what} is unreadable"))
}

fn hash_of(v: SqlValue) -> Result<Hash, StoreError> {
    v.into_blob().try_into().map_err(|_| bad("hash"))
}

fn frontier(tx: &mut dyn Tx) -> Result<Frontier, StoreError> {
    let rows = tx.query("SELECT size, peaks FROM audit_head WHERE id = 0", &[])?;
    let Some(mut row) = rows.into_iter().next() else {
        return Ok(Frontier::new());
    };
    let size = row[0].int() as u64;
    let bytes = std::mem::replace(&mut row[1], SqlValue::Null).into_blob();
    let peaks = bytes
        .chunks(32)
        .map(|c| c.try_into().map_err(|_| bad("right edge")))
        .collect::<Result<Vec<Hash>, _>>()?;
    Frontier::from_parts(size, peaks).ok_or_else(|| bad("right edge"))
}

/// Appends `logged` inside `tx`: rows, completed subtrees, a signed head, the new right
/// edge, and the notifications they raise (a first-access notice once per person and
/// hospital). Returns the first record's position.
fn append_sealed(
    tx: &mut dyn Tx,
    sealer: &Sealer,
    logged: Vec<Logged>,
    now: i64,
) -> Result<u64, StoreError> {
    tx.lock(AUDIT_LOCK)?;
    let mut edge = frontier(tx)?;
    let first = edge.size();
    if logged.is_empty() {
        return Ok(first);
    }
    let (records, notices): (Vec<audit::Record>, Vec<Option<Notice>>) =
        logged.into_iter().map(|l| (l.record, l.notify)).unzip();
    let made = audit::append(sealer, &mut edge, &records, now);
    for chunk in made.rows.chunks(CHUNK) {
        let mut sql = Sql::default();
        let values: Vec<String> = chunk
            .iter()
            .map(|r| {
                let c = &r.columns;
                let opt = |v: &Option<String>| v.clone().map_or(SqlValue::Null, SqlValue::Text);
                let cells = [
                    SqlValue::Int(r.position as i64),
                    SqlValue::Int(c.at),
                    opt(&c.patient),
                    SqlValue::Text(c.agent.clone()),
                    opt(&c.organization),
                    SqlValue::Text(c.action.clone()),
                    SqlValue::Int(c.outcome),
                    SqlValue::Blob(r.body.clone()),
                    SqlValue::Blob(r.leaf.to_vec()),
                    SqlValue::Blob(r.seal.to_vec()),
                ]
                .map(|v| sql.bind(v));
                format!("({})", cells.join(", "))
            })
            .collect();
        sql.text = format!(
            "INSERT INTO audit (seq, at, patient, agent, org, action, outcome, body, leaf, seal) VALUES {}",
            values.join(", ")
        );
        tx.execute(&sql.text, &sql.params)?;
    }
    for chunk in made.nodes.chunks(CHUNK * 3) {
        let mut sql = Sql::default();
        let values: Vec<String> = chunk
            .iter()
            .map(|(level, index, hash)| {
                let l = sql.bind(SqlValue::Int(i64::from(*level)));
                let i = sql.bind(SqlValue::Int(*index as i64));
                let h = sql.bind(SqlValue::Blob(hash.to_vec()));
                format!("({l}, {i}, {h})")
            })
            .collect();
        sql.text = format!(
            "INSERT INTO audit_node (level, idx, hash) VALUES {}",
            values.join(", ")
        );
        tx.execute(&sql.text, &sql.params)?;
    }
    let head = made.head;
    tx.execute(
        "INSERT INTO audit_sth (size, at, root, sig) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (size) DO NOTHING",
        &[
            SqlValue::Int(head.head.size as i64),
            SqlValue::Int(head.head.timestamp),
            SqlValue::Blob(head.head.root.to_vec()),
            SqlValue::Blob(head.signature.to_vec()),
        ],
    )?;
    tx.execute(
        "INSERT INTO audit_head (id, size, peaks) VALUES (0, $1, $2) \
         ON CONFLICT (id) DO UPDATE SET size = excluded.size, peaks = excluded.peaks",
        &[
            SqlValue::Int(edge.size() as i64),
            SqlValue::Blob(edge.peaks().concat()),
        ],
    )?;
    for (position, notice) in notices
        .into_iter()
        .enumerate()
        .filter_map(|(i, n)| Some((first + i as u64, n?)))
    {
        if let Some((person, org)) = &notice.once_per {
            let fresh = tx.execute(
                "INSERT INTO audit_seen (person, org) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[SqlValue::Text(person.clone()), SqlValue::Text(org.clone())],
            )?;
            if fresh == 0 {
                continue;
            }
        }
        tx.execute(
            "INSERT INTO outbox (seq, at, patient, kind, body, sent) VALUES ($1, $2, $3, $4, $5, 0)",
            &[
                SqlValue::Int(position as i64),
                SqlValue::Int(now),
                SqlValue::Text(notice.patient.clone()),
                SqlValue::Text(notice.kind.clone()),
                SqlValue::Text(notice.message.clone()),
            ],
        )?;
    }
    Ok(first)
}

/// [`append_sealed`] when the store holds the audit key; a store opened without it
/// refuses to record (and so to serve what needs recording).
pub(crate) fn append(
    tx: &mut dyn Tx,
    sealer: Option<&Sealer>,
    logged: Vec<Logged>,
    now: i64,
) -> Result<u64, StoreError> {
    let sealer = sealer
        .ok_or_else(|| StoreError::Database("the store was opened without the audit key".into()))?;
    append_sealed(tx, sealer, logged, now)
}

/// Records matching `q`, newest first.
pub(crate) fn query(
    tx: &mut dyn Tx,
    q: &AuditQuery,
) -> Result<Vec<(u64, audit::Record)>, StoreError> {
    let mut sql = Sql::default();
    let mut clauses = Vec::new();
    if !q.patients.is_empty() {
        let ps: Vec<String> = q
            .patients
            .iter()
            .map(|p| sql.bind(SqlValue::Text(p.clone())))
            .collect();
        clauses.push(format!("patient IN ({})", ps.join(", ")));
    }
    if let Some(a) = &q.agent {
        let a = sql.bind(SqlValue::Text(a.clone()));
        clauses.push(format!("agent = {a}"));
    }
    if let Some(o) = &q.organization {
        let o = sql.bind(SqlValue::Text(o.clone()));
        clauses.push(format!("org = {o}"));
    }
    if let Some(from) = q.from {
        let f = sql.bind(SqlValue::Int(from));
        clauses.push(format!("at >= {f}"));
    }
    if let Some(to) = q.to {
        let t = sql.bind(SqlValue::Int(to));
        clauses.push(format!("at < {t}"));
    }
    if !q.actions.is_empty() {
        let xs: Vec<String> = q
            .actions
            .iter()
            .map(|a| sql.bind(SqlValue::Text(a.code().to_string())))
            .collect();
        clauses.push(format!("action IN ({})", xs.join(", ")));
    }
    if let Some(o) = q.outcome {
        let o = sql.bind(SqlValue::Int(i64::from(o.code())));
        clauses.push(format!("outcome = {o}"));
    }
    if let Some(before) = q.before {
        let b = sql.bind(SqlValue::Int(before as i64));
        clauses.push(format!("seq < {b}"));
    }
    if let Some(after) = q.after {
        let b = sql.bind(SqlValue::Int(after as i64));
        clauses.push(format!("seq >= {b}"));
    }
    let filter = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    let order = if q.oldest_first { "ASC" } else { "DESC" };
    sql.text = format!(
        "SELECT seq, body FROM audit {filter} ORDER BY seq {order} LIMIT {}",
        q.count.max(1)
    );
    tx.query(&sql.text, &sql.params)?
        .into_iter()
        .map(|mut row| {
            let seq = row[0].int() as u64;
            let body = std::mem::replace(&mut row[1], SqlValue::Null).into_blob();
            let r = audit::Record::from_bytes(&body).map_err(|_| bad("record"))?;
            Ok((seq, r))
        })
        .collect()
}

fn head_from(row: Row) -> Result<SignedTreeHead, StoreError> {
    let mut row = row.into_iter();
    let size = row.next().ok_or_else(|| bad("tree head"))?.int() as u64;
    let timestamp = row.next().ok_or_else(|| bad("tree head"))?.int();
    let root = hash_of(row.next().ok_or_else(|| bad("tree head"))?)?;
    let signature: [u8; 64] = row
        .next()
        .ok_or_else(|| bad("tree head"))?
        .into_blob()
        .try_into()
        .map_err(|_| bad("tree head"))?;
    Ok(SignedTreeHead {
        head: TreeHead {
            size,
            root,
            timestamp,
        },
        signature,
    })
}

/// The signed head at `size`, or the latest.
pub(crate) fn head(
    tx: &mut dyn Tx,
    size: Option<u64>,
) -> Result<Option<SignedTreeHead>, StoreError> {
    let rows = match size {
        Some(s) => tx.query(
            "SELECT size, at, root, sig FROM audit_sth WHERE size = $1",
            &[SqlValue::Int(s as i64)],
        )?,
        None => tx.query(
            "SELECT size, at, root, sig FROM audit_sth ORDER BY size DESC LIMIT 1",
            &[],
        )?,
    };
    rows.into_iter().next().map(head_from).transpose()
}

pub(crate) fn heads(tx: &mut dyn Tx) -> Result<Vec<SignedTreeHead>, StoreError> {
    tx.query(
        "SELECT size, at, root, sig FROM audit_sth ORDER BY size",
        &[],
    )?
    .into_iter()
    .map(head_from)
    .collect()
}

/// The hashes making `spans`, read from the stored leaves and subtrees in two queries.
pub(crate) fn span_hashes(
    tx: &mut dyn Tx,
    spans: &[audit::merkle::Span],
) -> Result<Vec<Hash>, StoreError> {
    let wanted: Vec<(u8, u64)> = spans
        .iter()
        .flat_map(|s| audit::merkle::span_nodes(*s))
        .collect();
    let mut found: HashMap<(u8, u64), Hash> = HashMap::new();
    let leaves: Vec<u64> = wanted
        .iter()
        .filter(|(l, _)| *l == 0)
        .map(|(_, i)| *i)
        .collect();
    let nodes: Vec<(u8, u64)> = wanted.iter().filter(|(l, _)| *l > 0).copied().collect();
    if !leaves.is_empty() {
        let mut sql = Sql::default();
        let ps: Vec<String> = leaves
            .iter()
            .map(|i| sql.bind(SqlValue::Int(*i as i64)))
            .collect();
        sql.text = format!(
            "SELECT seq, leaf FROM audit WHERE seq IN ({})",
            ps.join(", ")
        );
        for mut row in tx.query(&sql.text, &sql.params)? {
            let i = row[0].int() as u64;
            let h = hash_of(std::mem::replace(&mut row[1], SqlValue::Null))?;
            found.insert((0, i), h);
        }
    }
    if !nodes.is_empty() {
        let mut sql = Sql::default();
        let ps: Vec<String> = nodes
            .iter()
            .map(|(l, i)| {
                let l = sql.bind(SqlValue::Int(i64::from(*l)));
                let i = sql.bind(SqlValue::Int(*i as i64));
                format!("(level = {l} AND idx = {i})")
            })
            .collect();
        sql.text = format!(
            "SELECT level, idx, hash FROM audit_node WHERE {}",
            ps.join(" OR ")
        );
        for mut row in tx.query(&sql.text, &sql.params)? {
            let key = (row[0].int() as u8, row[1].int() as u64);
            let h = hash_of(std::mem::replace(&mut row[2], SqlValue::Null))?;
            found.insert(key, h);
        }
    }
    spans
        .iter()
        .map(|s| {
            audit::merkle::span_hash(*s, |l, i| found.get(&(l, i)).copied())
                .ok_or_else(|| bad("subtree"))
        })
        .collect()
}

/// Stored rows from `from`, in position order, for verification.
pub(crate) fn scan(
    tx: &mut dyn Tx,
    from: u64,
    limit: usize,
) -> Result<Vec<audit::Row>, StoreError> {
    let rows = tx.query(
        &format!(
            "SELECT seq, at, patient, agent, org, action, outcome, body, leaf, seal FROM audit \
             WHERE seq >= $1 ORDER BY seq LIMIT {limit}"
        ),
        &[SqlValue::Int(from as i64)],
    )?;
    rows.into_iter()
        .map(|row| {
            let mut it = row.into_iter();
            let mut next = || it.next().unwrap_or(SqlValue::Null);
            let position = next().int() as u64;
            let at = next().int();
            let opt = |v: SqlValue| match v {
                SqlValue::Text(s) => Some(s),
                _ => None,
            };
            let patient = opt(next());
            let agent = next().text().to_string();
            let organization = opt(next());
            let action = next().text().to_string();
            let outcome = next().int();
            let body = next().into_blob();
            let leaf = hash_of(next())?;
            let seal = hash_of(next())?;
            Ok(audit::Row {
                position,
                body,
                leaf,
                seal,
                columns: audit::Columns {
                    at,
                    patient,
                    agent,
                    organization,
                    action,
                    outcome,
                },
            })
        })
        .collect()
}

/// Accesses per hospital in `[from, to)`.
pub(crate) fn stats(tx: &mut dyn Tx, from: i64, to: i64) -> Result<Vec<OrgStats>, StoreError> {
    let rows = tx.query(
        "SELECT org, COUNT(*), \
            SUM(CASE WHEN action = 'shared' AND outcome = 0 THEN 1 ELSE 0 END), \
            SUM(CASE WHEN action = 'break-glass' AND outcome = 0 THEN 1 ELSE 0 END), \
            SUM(CASE WHEN outcome <> 0 THEN 1 ELSE 0 END), \
            COUNT(DISTINCT patient) \
         FROM audit WHERE at >= $1 AND at < $2 AND org IS NOT NULL \
         GROUP BY org ORDER BY org",
        &[SqlValue::Int(from), SqlValue::Int(to)],
    )?;
    Ok(rows
        .into_iter()
        .map(|r| OrgStats {
            organization: r[0].text().to_string(),
            records: r[1].int() as u64,
            shared_views: r[2].int() as u64,
            break_glass: r[3].int() as u64,
            refused: r[4].int() as u64,
            patients: r[5].int() as u64,
        })
        .collect())
}

fn notice_from(r: Row) -> Notice {
    Notice {
        id: r[0].int() as u64,
        at: r[1].int(),
        patient: r[2].text().to_string(),
        kind: r[3].text().to_string(),
        message: r[4].text().to_string(),
        sent: r[5].int() != 0,
        once_per: None,
    }
}

pub(crate) fn outbox(tx: &mut dyn Tx, limit: usize) -> Result<Vec<Notice>, StoreError> {
    Ok(tx
        .query(
            &format!(
                "SELECT seq, at, patient, kind, body, sent FROM outbox WHERE sent = 0 \
                 ORDER BY seq LIMIT {limit}"
            ),
            &[],
        )?
        .into_iter()
        .map(notice_from)
        .collect())
}

pub(crate) fn notices(tx: &mut dyn Tx, patients: &[String]) -> Result<Vec<Notice>, StoreError> {
    if patients.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::default();
    let ps: Vec<String> = patients
        .iter()
        .map(|p| sql.bind(SqlValue::Text(p.clone())))
        .collect();
    sql.text = format!(
        "SELECT seq, at, patient, kind, body, sent FROM outbox WHERE patient IN ({}) \
         ORDER BY seq DESC LIMIT 200",
        ps.join(", ")
    );
    Ok(tx
        .query(&sql.text, &sql.params)?
        .into_iter()
        .map(notice_from)
        .collect())
}

pub(crate) fn mark_sent(tx: &mut dyn Tx, ids: &[u64]) -> Result<(), StoreError> {
    for id in ids {
        tx.execute(
            "UPDATE outbox SET sent = 1 WHERE seq = $1",
            &[SqlValue::Int(*id as i64)],
        )?;
    }
    Ok(())
}
