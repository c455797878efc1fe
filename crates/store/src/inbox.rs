//! Hospital feeds' receipts: every message a hospital sent, with the acknowledgement it
//! got, and the local codes it carried that no map covered. A message's data and its
//! receipt commit together, so a repeated control id finds the receipt and gets the same
//! acknowledgement without a second write, and the data-quality figures count exactly what
//! was stored.

use crate::engine::transact;
use crate::query::Sql;
use crate::sql::{SqlValue, Tx};
use crate::{
    Classifier, FeedCount, Inbound, Logged, Outcome, ReceiptAuditFn, Received, StoreError,
    UnmappedCode,
};

fn opt_int(v: Option<i64>) -> SqlValue {
    v.map(SqlValue::Int).unwrap_or(SqlValue::Null)
}

/// Whether an error concerns the message (it is refused, the batch goes on) or the
/// database (the whole batch fails and is retried by its senders).
fn about_the_message(e: &StoreError) -> bool {
    !matches!(
        e.root(),
        StoreError::Database(_) | StoreError::Contention | StoreError::Closed
    )
}

/// Applies each message under its own savepoint inside the caller's transaction.
pub(crate) fn receive(
    tx: &mut dyn Tx,
    messages: Vec<Inbound>,
    classify: Option<Classifier>,
    audit: &ReceiptAuditFn<'_>,
    now: i64,
) -> Result<(Vec<Received>, Vec<Logged>), StoreError> {
    let mut out = Vec::with_capacity(messages.len());
    let mut records = Vec::new();
    for m in messages {
        let r = &m.receipt;
        if r.outcome == Outcome::Accepted {
            let prior = tx.query(
                "SELECT ack FROM inbox WHERE sender = $1 AND control_id = $2 AND outcome = 'AA'",
                &[
                    SqlValue::Text(r.sender.clone()),
                    SqlValue::Text(r.control_id.clone()),
                ],
            )?;
            if let Some(row) = prior.into_iter().next() {
                out.push(Received::Repeat(row[0].text().to_string()));
                continue;
            }
        }
        let Some(entries) = m.entries else {
            note(tx, &m.receipt, None, now)?;
            out.push(Received::Noted);
            continue;
        };
        tx.execute("SAVEPOINT message", &[])?;
        match transact(tx, entries, classify) {
            Ok(done) => {
                records.extend(audit(&m.receipt, &done));
                unmapped(tx, &m.receipt, now)?;
                note(tx, &m.receipt, None, now)?;
                tx.execute("RELEASE SAVEPOINT message", &[])?;
                out.push(Received::Applied(done));
            }
            Err(e) if about_the_message(&e) => {
                tx.execute("ROLLBACK TO SAVEPOINT message", &[])?;
                tx.execute("RELEASE SAVEPOINT message", &[])?;
                note(tx, &m.receipt, Some(&e), now)?;
                out.push(Received::Failed(e));
            }
            Err(e) => return Err(e),
        }
    }
    Ok((out, records))
}

fn note(
    tx: &mut dyn Tx,
    r: &crate::Receipt,
    failed: Option<&StoreError>,
    now: i64,
) -> Result<(), StoreError> {
    let (outcome, reason, ack) = match failed {
        None => (r.outcome, r.reason.clone(), r.ack.clone()),
        Some(e) => (
            Outcome::Error,
            format!("store: {}", e.root()).chars().take(200).collect(),
            String::new(),
        ),
    };
    tx.execute(
        "INSERT INTO inbox (sender, control_id, kind, at, event_at, outcome, reason, ack) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            SqlValue::Text(r.sender.clone()),
            SqlValue::Text(r.control_id.clone()),
            SqlValue::Text(r.kind.clone()),
            SqlValue::Int(now),
            opt_int(r.event_at),
            SqlValue::Text(outcome.code().into()),
            SqlValue::Text(reason),
            SqlValue::Text(ack),
        ],
    )?;
    Ok(())
}

fn unmapped(tx: &mut dyn Tx, r: &crate::Receipt, now: i64) -> Result<(), StoreError> {
    for c in &r.unmapped {
        tx.execute(
            "INSERT INTO unmapped (sender, system, code, display, seen, first_at, last_at) \
             VALUES ($1, $2, $3, $4, 1, $5, $5) ON CONFLICT (sender, system, code) DO UPDATE \
             SET seen = unmapped.seen + 1, last_at = $5",
            &[
                SqlValue::Text(r.sender.clone()),
                SqlValue::Text(c.system.clone()),
                SqlValue::Text(c.code.clone()),
                SqlValue::Text(c.display.clone()),
                SqlValue::Int(now),
            ],
        )?;
    }
    Ok(())
}

/// Messages received in `[from, to)` per sender, kind, outcome and reason; `late` counts
/// those whose event happened more than `late_ms` before they arrived.
pub(crate) fn feed_counts(
    tx: &mut dyn Tx,
    from: i64,
    to: i64,
    late_ms: i64,
) -> Result<Vec<FeedCount>, StoreError> {
    let rows = tx.query(
        "SELECT sender, kind, outcome, reason, COUNT(*), \
         SUM(CASE WHEN event_at IS NOT NULL AND at - event_at > $3 THEN 1 ELSE 0 END) \
         FROM inbox WHERE at >= $1 AND at < $2 GROUP BY sender, kind, outcome, reason \
         ORDER BY sender, kind, outcome, reason",
        &[
            SqlValue::Int(from),
            SqlValue::Int(to),
            SqlValue::Int(late_ms),
        ],
    )?;
    Ok(rows
        .into_iter()
        .map(|r| FeedCount {
            sender: r[0].text().to_string(),
            kind: r[1].text().to_string(),
            outcome: Outcome::from_code(r[2].text()),
            reason: r[3].text().to_string(),
            messages: r[4].int() as u64,
            late: r[5].int() as u64,
        })
        .collect())
}

/// The work queue: local codes received that no map covered, most often seen first.
pub(crate) fn unmapped_codes(
    tx: &mut dyn Tx,
    sender: Option<&str>,
) -> Result<Vec<UnmappedCode>, StoreError> {
    let mut sql = Sql::default();
    let filter = match sender {
        Some(s) => format!("WHERE sender = {}", sql.bind(SqlValue::Text(s.into()))),
        None => String::new(),
    };
    sql.text = format!(
        "SELECT sender, system, code, display, seen, first_at, last_at FROM unmapped {filter} \
         ORDER BY seen DESC, sender, system, code LIMIT 1000"
    );
    Ok(tx
        .query(&sql.text, &sql.params)?
        .into_iter()
        .map(|r| UnmappedCode {
            sender: r[0].text().to_string(),
            system: r[1].text().to_string(),
            code: r[2].text().to_string(),
            display: r[3].text().to_string(),
            seen: r[4].int() as u64,
            first_at: r[5].int(),
            last_at: r[6].int(),
        })
        .collect())
}
