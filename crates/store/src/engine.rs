//! The store logic, written once over any SQL [`Backend`]: versioning, history, index
//! maintenance, conditional operations, transactions, search and paging.
//!
//! Every version is stored once: the current one in `resource`, older ones in `history`.
//! Index rows describe only current versions and are diffed on update, so an update touches
//! only the rows that changed.

use crate::query::{self, COLUMNS, Cursor, SortKey, Sql};
use crate::sql::{Backend, Row, SqlValue, Tx};
use crate::{AuditFn, AuditQuery, Logged, Notice, OrgStats, Proof, audit_log};
use crate::{Classifier, Held, SharedItem, SharedQuery, UNKNOWN_TIME};
use crate::{
    Entry, HistoryPage, HistoryScope, SearchPage, Stats, Store, StoreError, Stored, WriteOp,
    WriteOutcome,
};
use crate::{FeedCount, Inbound, Received, UnmappedCode, inbox};
use crate::{body, index};
use fhir::search::{IndexEntry, IndexValue, SearchQuery};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// Results per page when the client does not say.
pub const DEFAULT_COUNT: usize = 20;
/// The most `_include`/`_revinclude` resources added to one page.
const MAX_INCLUDED: usize = 1000;

/// The store over backend `B`.
pub struct Engine<B> {
    backend: B,
    classify: Option<Classifier>,
    sealer: Option<audit::Sealer>,
}

impl<B: Backend> Engine<B> {
    pub fn new(backend: B) -> Engine<B> {
        Engine {
            backend,
            classify: None,
            sealer: None,
        }
    }

    /// The store with the region's audit key: without it, appending to the audit log
    /// fails, and with it every write and read is recorded.
    pub fn sealed(mut self, sealer: audit::Sealer) -> Engine<B> {
        self.sealer = Some(sealer);
        self
    }

    /// A store that classifies every resource of `types` for the shared record as it is
    /// written ([`Store::shared`] then decides inside the query). Resources stored since
    /// the last open with a classifier (or ever, the first time) are classified now, a batch
    /// at a time, so an open does not rescan what it already classified. A store opened
    /// with a classifier once must always be: writes through [`Engine::new`] keep no class.
    pub fn with_classifier(
        backend: B,
        classify: Classifier,
        types: &[&str],
    ) -> Result<Engine<B>, StoreError> {
        let engine = Engine {
            backend,
            classify: Some(classify),
            sealer: None,
        };
        engine.backfill(classify, types)?;
        Ok(engine)
    }

    fn backfill(&self, classify: Classifier, types: &[&str]) -> Result<(), StoreError> {
        if types.is_empty() {
            return Ok(());
        }
        let (mut after, top) = self.backend.read(|tx| {
            let through = tx.query("SELECT through FROM share_state WHERE id = 0", &[])?;
            let top = tx.query("SELECT COALESCE(MAX(rid), 0) FROM resource", &[])?;
            Ok((
                through.first().map_or(0, |r| r[0].int()),
                top.first().map_or(0, |r| r[0].int()),
            ))
        })?;
        loop {
            let rows = self.backend.read(|tx| {
                let mut sql = Sql::default();
                let after = sql.bind(SqlValue::Int(after));
                let types: Vec<String> = types
                    .iter()
                    .map(|t| sql.bind(SqlValue::Text(t.to_string())))
                    .collect();
                sql.text = format!(
                    "SELECT {COLUMNS} FROM resource r WHERE r.rid > {after} AND r.deleted = 0 \
                     AND r.type IN ({}) AND NOT EXISTS (SELECT 1 FROM share s WHERE s.rid = r.rid) \
                     ORDER BY r.rid LIMIT {BACKFILL_BATCH}",
                    types.join(", ")
                );
                tx.query(&sql.text, &sql.params)
            })?;
            let Some(last) = rows.last() else {
                return self.backend.write(|tx| {
                    tx.execute(
                        "INSERT INTO share_state(id, through) VALUES (0, $1) \
                         ON CONFLICT (id) DO UPDATE SET through = excluded.through",
                        &[SqlValue::Int(top)],
                    )?;
                    Ok(())
                });
            };
            after = last[0].int();
            let mut share = Vec::with_capacity(rows.len());
            for mut row in rows {
                let rid = row[0].int();
                let stored = stored_from(&mut row)?;
                let v: Value = serde_json::from_slice(&stored.body)
                    .map_err(|e| StoreError::Database(format!("stored body unreadable: {e}")))?;
                if let Some(r) = share_row(Some(classify), &stored.resource_type, &v) {
                    share.push((r, rid));
                }
            }
            self.backend.write(|tx| {
                let refs: Vec<(&index::IndexRow, i64)> =
                    share.iter().map(|(r, i)| (r, *i)).collect();
                for (sql, params) in index::insert_all(&refs) {
                    tx.execute(&sql, &params)?;
                }
                Ok(())
            })?;
        }
    }
}

/// Resources classified per transaction when a store is opened with a classifier.
const BACKFILL_BATCH: usize = 1000;

/// The share row of `resource`, when there is a classifier and it classifies it.
fn share_row(
    classify: Option<Classifier>,
    resource_type: &str,
    resource: &Value,
) -> Option<index::IndexRow> {
    let c = classify?(resource_type, resource)?;
    Some(index::IndexRow::Share {
        cat: c.categories,
        at: c.at.unwrap_or(UNKNOWN_TIME),
    })
}

impl<B: Backend> Store for Engine<B> {
    fn transact(
        &self,
        entries: Vec<Entry>,
        audit: &AuditFn<'_>,
    ) -> Result<Vec<WriteOutcome>, StoreError> {
        self.backend.write(|tx| {
            let out = transact(tx, entries, self.classify)?;
            let records = audit(&out);
            if !records.is_empty() {
                audit_log::append(tx, self.sealer.as_ref(), records, now_ms())?;
            }
            Ok(out)
        })
    }

    fn receive(
        &self,
        messages: Vec<Inbound>,
        audit: &crate::ReceiptAuditFn<'_>,
    ) -> Result<Vec<Received>, StoreError> {
        self.backend.write(|tx| {
            let now = now_ms();
            let (out, records) = inbox::receive(tx, messages, self.classify, audit, now)?;
            if !records.is_empty() {
                audit_log::append(tx, self.sealer.as_ref(), records, now)?;
            }
            Ok(out)
        })
    }

    fn feed_counts(&self, from: i64, to: i64, late_ms: i64) -> Result<Vec<FeedCount>, StoreError> {
        self.backend
            .read(|tx| inbox::feed_counts(tx, from, to, late_ms))
    }

    fn unmapped_codes(&self, sender: Option<&str>) -> Result<Vec<UnmappedCode>, StoreError> {
        self.backend.read(|tx| inbox::unmapped_codes(tx, sender))
    }

    fn read(&self, resource_type: &str, id: &str) -> Result<Option<Stored>, StoreError> {
        self.backend.read(|tx| current(tx, resource_type, id))
    }

    fn vread(
        &self,
        resource_type: &str,
        id: &str,
        version: u64,
    ) -> Result<Option<Stored>, StoreError> {
        self.backend.read(|tx| {
            let Some(cur) = current(tx, resource_type, id)? else {
                return Ok(None);
            };
            if cur.version == version {
                return Ok(Some(cur));
            }
            let rows = tx.query(
                "SELECT h.version, h.updated, h.deleted, h.body FROM history h \
                 JOIN resource r ON r.rid = h.rid \
                 WHERE r.type = $1 AND r.id = $2 AND h.version = $3",
                &[
                    SqlValue::Text(resource_type.into()),
                    SqlValue::Text(id.into()),
                    SqlValue::Int(version as i64),
                ],
            )?;
            rows.into_iter()
                .next()
                .map(|mut row| {
                    Ok(Stored {
                        resource_type: resource_type.into(),
                        id: id.into(),
                        version: row[0].int() as u64,
                        last_updated: row[1].int(),
                        deleted: row[2].int() != 0,
                        body: take_body(&mut row, 3)?.into(),
                    })
                })
                .transpose()
        })
    }

    fn search(&self, q: &SearchQuery) -> Result<SearchPage, StoreError> {
        self.backend.read(|tx| search(tx, q))
    }

    fn history(
        &self,
        scope: &HistoryScope,
        count: usize,
        page: Option<&str>,
    ) -> Result<HistoryPage, StoreError> {
        self.backend.read(|tx| history(tx, scope, count, page))
    }

    fn everything(
        &self,
        patient_id: &str,
        count: usize,
        page: Option<&str>,
    ) -> Result<SearchPage, StoreError> {
        self.backend
            .read(|tx| everything(tx, patient_id, count, page))
    }

    fn shared(&self, query: &SharedQuery) -> Result<Vec<SharedItem>, StoreError> {
        if self.classify.is_none() {
            return Err(StoreError::Database(
                "the store was opened without a share classifier".into(),
            ));
        }
        self.backend.read(|tx| shared(tx, query))
    }

    fn stats(&self) -> Result<Stats, StoreError> {
        let (resources, versions) = self.backend.read(|tx| {
            let r = tx.query("SELECT COUNT(*) FROM resource WHERE deleted = 0", &[])?;
            let h = tx.query("SELECT COUNT(*) FROM history", &[])?;
            let all = tx.query("SELECT COUNT(*) FROM resource", &[])?;
            Ok((
                r[0][0].int() as u64,
                (h[0][0].int() + all[0][0].int()) as u64,
            ))
        })?;
        Ok(Stats {
            resources,
            versions,
            bytes_on_disk: self.backend.bytes_on_disk()?,
        })
    }

    fn close(&self) -> Result<(), StoreError> {
        self.backend.close()
    }

    fn audit_public_key(&self) -> Option<audit::VerifyingKey> {
        self.sealer.as_ref().map(audit::Sealer::public)
    }

    fn log(&self, records: Vec<Logged>) -> Result<u64, StoreError> {
        self.backend
            .write(|tx| audit_log::append(tx, self.sealer.as_ref(), records, now_ms()))
    }

    fn audit_records(&self, query: &AuditQuery) -> Result<Vec<(u64, audit::Record)>, StoreError> {
        self.backend.read(|tx| audit_log::query(tx, query))
    }

    fn audit_head(&self, size: Option<u64>) -> Result<Option<audit::SignedTreeHead>, StoreError> {
        self.backend.read(|tx| audit_log::head(tx, size))
    }

    fn audit_heads(&self) -> Result<Vec<audit::SignedTreeHead>, StoreError> {
        self.backend.read(audit_log::heads)
    }

    fn audit_entry(&self, position: u64) -> Result<Option<(Vec<u8>, audit::Hash)>, StoreError> {
        let rows = self.backend.read(|tx| audit_log::scan(tx, position, 1))?;
        Ok(rows
            .into_iter()
            .find(|r| r.position == position)
            .map(|r| (r.body, r.leaf)))
    }

    fn audit_proof(&self, proof: Proof) -> Result<Option<Vec<audit::Hash>>, StoreError> {
        self.backend.read(|tx| {
            let Some(latest) = audit_log::head(tx, None)? else {
                return Ok(None);
            };
            let (spans, size) = match proof {
                Proof::Inclusion { index, size } => {
                    (audit::merkle::inclusion_spans(index, size), size)
                }
                Proof::Consistency { first, second } => {
                    (audit::merkle::consistency_spans(first, second), second)
                }
            };
            match spans {
                Some(spans) if size <= latest.head.size => {
                    audit_log::span_hashes(tx, &spans).map(Some)
                }
                _ => Ok(None),
            }
        })
    }

    fn audit_scan(&self, from: u64, limit: usize) -> Result<Vec<audit::Row>, StoreError> {
        self.backend.read(|tx| audit_log::scan(tx, from, limit))
    }

    fn audit_stats(&self, from: i64, to: i64) -> Result<Vec<OrgStats>, StoreError> {
        self.backend.read(|tx| audit_log::stats(tx, from, to))
    }

    fn outbox(&self, limit: usize) -> Result<Vec<Notice>, StoreError> {
        self.backend.read(|tx| audit_log::outbox(tx, limit))
    }

    fn outbox_sent(&self, ids: &[u64]) -> Result<(), StoreError> {
        self.backend.write(|tx| audit_log::mark_sent(tx, ids))
    }

    fn notices(&self, patients: &[String]) -> Result<Vec<Notice>, StoreError> {
        self.backend.read(|tx| audit_log::notices(tx, patients))
    }
}

// ---------------------------------------------------------------------------------------------
// Writes

/// What a transaction entry resolved to before anything is written.
enum Plan {
    Put {
        resource_type: String,
        id: String,
        resource: Value,
        if_match: Option<u64>,
    },
    Existing(Stored),
    Delete {
        resource_type: String,
        id: String,
        if_match: Option<u64>,
    },
}

pub(crate) fn transact(
    tx: &mut dyn Tx,
    entries: Vec<Entry>,
    classify: Option<Classifier>,
) -> Result<Vec<WriteOutcome>, StoreError> {
    let wrap = |index: usize| {
        move |e: StoreError| StoreError::Entry {
            index,
            source: Box::new(e),
        }
    };
    let single = entries.len() == 1;
    // Take every condition's guard up front, in one global order, so that two transactions
    // with the same conditions in different orders cannot deadlock.
    let mut guards: Vec<i64> = entries
        .iter()
        .filter_map(|e| match &e.op {
            WriteOp::Create {
                if_none_exist: Some(q),
                ..
            }
            | WriteOp::ConditionalUpdate { query: q, .. } => Some(guard_key(q)),
            _ => None,
        })
        .collect();
    guards.sort_unstable();
    guards.dedup();
    for key in guards {
        tx.lock(key)?;
    }
    let mut urls: HashMap<String, String> = HashMap::new();
    let mut plans = Vec::with_capacity(entries.len());
    for (i, entry) in entries.into_iter().enumerate() {
        let plan = resolve(tx, entry.op).map_err(|e| if single { e } else { wrap(i)(e) })?;
        if let (
            Some(url),
            Plan::Put {
                resource_type, id, ..
            },
        ) = (&entry.full_url, &plan)
        {
            urls.insert(url.clone(), format!("{resource_type}/{id}"));
        }
        if let (Some(url), Plan::Existing(s)) = (&entry.full_url, &plan) {
            urls.insert(url.clone(), format!("{}/{}", s.resource_type, s.id));
        }
        plans.push(plan);
    }
    // Inside a Bundle a `urn:uuid:` reference must name an entry; a lone resource may carry
    // one as it is (official examples do), and it is never taken for a local resource.
    let bundled = !single || !urls.is_empty();
    for (i, plan) in plans.iter_mut().enumerate() {
        if let Plan::Put { resource, .. } = plan {
            let mut unresolved = None;
            rewrite_references(resource, &urls, &mut unresolved);
            if let (true, Some(r)) = (bundled, unresolved) {
                return Err(wrap(i)(StoreError::UnresolvedReference(r)));
            }
        }
    }
    let mut targets: Vec<(&str, &str)> = plans
        .iter()
        .filter_map(|p| match p {
            Plan::Put {
                resource_type, id, ..
            }
            | Plan::Delete {
                resource_type, id, ..
            } => Some((resource_type.as_str(), id.as_str())),
            Plan::Existing(_) => None,
        })
        .collect();
    targets.sort_unstable();
    if let Some(w) = targets.windows(2).find(|w| w[0] == w[1]) {
        return Err(StoreError::DuplicateTarget {
            resource_type: w[0].0.to_string(),
            id: w[0].1.to_string(),
        });
    }
    let mut keys: Vec<i64> = targets.iter().map(|(t, id)| write_key(t, id)).collect();
    keys.sort_unstable();
    for key in keys {
        tx.lock(key)?;
    }
    // FHIR's transaction order: deletes, then creates and updates. New index rows wait in
    // `pending` and go in at the end, sorted, in a few multi-row statements (see `flush`).
    let mut pending: Vec<(index::IndexRow, i64)> = Vec::new();
    let mut outcomes: Vec<Option<WriteOutcome>> = vec![None; plans.len()];
    let now = now_ms();
    for pass in [true, false] {
        for (i, plan) in plans.iter_mut().enumerate() {
            let is_delete = matches!(plan, Plan::Delete { .. });
            if is_delete != pass {
                continue;
            }
            let outcome = match plan {
                Plan::Existing(s) => Ok(WriteOutcome::Unchanged(s.clone())),
                Plan::Delete {
                    resource_type,
                    id,
                    if_match,
                } => delete(
                    tx,
                    resource_type,
                    id,
                    *if_match,
                    now,
                    classify,
                    &mut pending,
                ),
                Plan::Put {
                    resource_type,
                    id,
                    resource,
                    if_match,
                } => put(
                    tx,
                    resource_type,
                    id,
                    std::mem::take(resource),
                    *if_match,
                    now,
                    classify,
                    &mut pending,
                ),
            };
            outcomes[i] = Some(outcome.map_err(|e| if single { e } else { wrap(i)(e) })?);
        }
    }
    flush(tx, pending)?;
    Ok(outcomes
        .into_iter()
        .map(|o| o.expect("every plan ran in one of the two passes"))
        .collect())
}

/// Inserts the transaction's new index rows in key order. Index keys are hashes, so rows
/// arriving resource by resource land on random pages; sorted, the rows of one page go in
/// together, and a few statements carry them all. Deferring is safe because a transaction
/// writes each resource at most once and resolves its conditions before writing.
fn flush(tx: &mut dyn Tx, mut pending: Vec<(index::IndexRow, i64)>) -> Result<(), StoreError> {
    pending.sort_by(|(a, ra), (b, rb)| a.order(b).then(ra.cmp(rb)));
    let rows: Vec<(&index::IndexRow, i64)> = pending.iter().map(|(r, rid)| (r, *rid)).collect();
    for (sql, params) in index::insert_all(&rows) {
        tx.execute(&sql, &params)?;
    }
    Ok(())
}

fn resolve(tx: &mut dyn Tx, op: WriteOp) -> Result<Plan, StoreError> {
    match op {
        WriteOp::Create {
            resource,
            if_none_exist,
        } => {
            let resource_type = type_of(&resource)?;
            if let Some(q) = if_none_exist {
                let found = matching(tx, &q, 2)?;
                match found.len() {
                    0 => {}
                    1 => return Ok(Plan::Existing(found.into_iter().next().expect("one match"))),
                    n => {
                        return Err(StoreError::MultipleMatches {
                            resource_type,
                            count: n,
                        });
                    }
                }
            }
            Ok(Plan::Put {
                resource_type,
                id: uuid::Uuid::new_v4().to_string(),
                resource,
                if_match: None,
            })
        }
        WriteOp::Update {
            resource_type,
            id,
            resource,
            if_match,
        } => Ok(Plan::Put {
            resource_type,
            id,
            resource,
            if_match,
        }),
        WriteOp::ConditionalUpdate {
            query,
            resource,
            if_match,
        } => {
            let resource_type = type_of(&resource)?;
            let found = matching(tx, &query, 2)?;
            let body_id = resource
                .get("id")
                .and_then(Value::as_str)
                .map(str::to_string);
            let id = match found.len() {
                0 => match body_id {
                    // R4: no match and an id that exists already is a conflict.
                    Some(id) if locate(tx, &resource_type, &id)?.is_some_and(|l| !l.deleted) => {
                        return Err(StoreError::Conflict { resource_type, id });
                    }
                    Some(id) => id,
                    None => uuid::Uuid::new_v4().to_string(),
                },
                1 => {
                    // R4: one match, but the body names another resource: a bad request.
                    if body_id.as_ref().is_some_and(|b| *b != found[0].id) {
                        return Err(StoreError::IdMismatch);
                    }
                    found[0].id.clone()
                }
                n => {
                    return Err(StoreError::MultipleMatches {
                        resource_type,
                        count: n,
                    });
                }
            };
            Ok(Plan::Put {
                resource_type,
                id,
                resource,
                if_match,
            })
        }
        WriteOp::Delete {
            resource_type,
            id,
            if_match,
        } => Ok(Plan::Delete {
            resource_type,
            id,
            if_match,
        }),
    }
}

#[allow(clippy::too_many_arguments)]
fn put(
    tx: &mut dyn Tx,
    resource_type: &str,
    id: &str,
    mut resource: Value,
    if_match: Option<u64>,
    now: i64,
    classify: Option<Classifier>,
    pending: &mut Vec<(index::IndexRow, i64)>,
) -> Result<WriteOutcome, StoreError> {
    tx.lock(write_key(resource_type, id))?;
    let existing = locate(tx, resource_type, id)?;
    let current_version = existing.as_ref().map_or(0, |e| e.version);
    if let Some(expected) = if_match
        && expected != current_version
    {
        return Err(StoreError::VersionConflict {
            resource_type: resource_type.into(),
            id: id.into(),
            expected,
            current: current_version,
        });
    }
    resource["id"] = Value::String(id.to_string());
    let mut old_share = None;
    let old_entries: Option<Vec<IndexEntry>> = match &existing {
        Some(e) if !e.deleted => {
            let old: Value = serde_json::from_slice(&e.body)
                .map_err(|e| StoreError::Database(format!("stored body unreadable: {e}")))?;
            if same_content(&old, &resource) {
                return Ok(WriteOutcome::Unchanged(e.stored(resource_type, id)));
            }
            old_share = share_row(classify, resource_type, &old);
            Some(fhir::search::extract(&old))
        }
        _ => None,
    };
    let version = current_version + 1;
    set_meta(&mut resource, version, now);
    let body = serde_json::to_vec(&resource)
        .map_err(|e| StoreError::Database(format!("serializing a resource failed: {e}")))?;
    let new_entries = fhir::search::extract(&resource);
    let new_share = share_row(classify, resource_type, &resource);
    let stored_body = body::encode(&body)?;
    let seq = tx.next_seq()?;
    let rid = match &existing {
        Some(e) => {
            archive(tx, e.rid)?;
            tx.execute(
                "UPDATE resource SET version = $1, seq = $2, updated = $3, deleted = 0, body = $4 \
                 WHERE rid = $5",
                &[
                    SqlValue::Int(version as i64),
                    SqlValue::Int(seq),
                    SqlValue::Int(now),
                    SqlValue::Blob(stored_body.clone()),
                    SqlValue::Int(e.rid),
                ],
            )?;
            e.rid
        }
        None => {
            let rows = tx.query(
                "INSERT INTO resource(type, id, version, seq, updated, deleted, body) \
                 VALUES ($1, $2, $3, $4, $5, 0, $6) RETURNING rid",
                &[
                    SqlValue::Text(resource_type.into()),
                    SqlValue::Text(id.into()),
                    SqlValue::Int(version as i64),
                    SqlValue::Int(seq),
                    SqlValue::Int(now),
                    SqlValue::Blob(stored_body.clone()),
                ],
            )?;
            rows[0][0].int()
        }
    };
    reindex(
        tx,
        resource_type,
        id,
        rid,
        (old_entries.as_deref(), old_share),
        (Some(&new_entries), new_share),
        pending,
    )?;
    let stored = Stored {
        resource_type: resource_type.into(),
        id: id.into(),
        version,
        last_updated: now,
        deleted: false,
        body: body.into(),
    };
    Ok(
        if current_version == 0 || existing.as_ref().is_some_and(|e| e.deleted) {
            WriteOutcome::Created(stored)
        } else {
            WriteOutcome::Updated(stored)
        },
    )
}

fn delete(
    tx: &mut dyn Tx,
    resource_type: &str,
    id: &str,
    if_match: Option<u64>,
    now: i64,
    classify: Option<Classifier>,
    pending: &mut Vec<(index::IndexRow, i64)>,
) -> Result<WriteOutcome, StoreError> {
    tx.lock(write_key(resource_type, id))?;
    let Some(existing) = locate(tx, resource_type, id)? else {
        return Ok(WriteOutcome::NothingToDelete);
    };
    if let Some(expected) = if_match
        && expected != existing.version
    {
        return Err(StoreError::VersionConflict {
            resource_type: resource_type.into(),
            id: id.into(),
            expected,
            current: existing.version,
        });
    }
    if existing.deleted {
        return Ok(WriteOutcome::NothingToDelete);
    }
    let old: Value = serde_json::from_slice(&existing.body)
        .map_err(|e| StoreError::Database(format!("stored body unreadable: {e}")))?;
    let old_entries = fhir::search::extract(&old);
    let old_share = share_row(classify, resource_type, &old);
    archive(tx, existing.rid)?;
    let seq = tx.next_seq()?;
    let version = existing.version + 1;
    tx.execute(
        "UPDATE resource SET version = $1, seq = $2, updated = $3, deleted = 1, body = $4 \
         WHERE rid = $5",
        &[
            SqlValue::Int(version as i64),
            SqlValue::Int(seq),
            SqlValue::Int(now),
            SqlValue::Blob(Vec::new()),
            SqlValue::Int(existing.rid),
        ],
    )?;
    reindex(
        tx,
        resource_type,
        id,
        existing.rid,
        (Some(&old_entries), old_share),
        (None, None),
        pending,
    )?;
    Ok(WriteOutcome::Deleted(Stored {
        resource_type: resource_type.into(),
        id: id.into(),
        version,
        last_updated: now,
        deleted: true,
        body: Arc::from(Vec::new()),
    }))
}

/// Moves the current version of `rid` into history.
fn archive(tx: &mut dyn Tx, rid: i64) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO history(seq, rid, version, updated, deleted, body) \
         SELECT seq, rid, version, updated, deleted, body FROM resource WHERE rid = $1",
        &[SqlValue::Int(rid)],
    )?;
    Ok(())
}

/// Brings the index rows, compartment memberships and share class of `rid` from `old` to
/// `new`.
fn reindex(
    tx: &mut dyn Tx,
    resource_type: &str,
    id: &str,
    rid: i64,
    old: (Option<&[IndexEntry]>, Option<index::IndexRow>),
    new: (Option<&[IndexEntry]>, Option<index::IndexRow>),
    pending: &mut Vec<(index::IndexRow, i64)>,
) -> Result<(), StoreError> {
    let mut old_rows = old
        .0
        .map_or(Vec::new(), |e| index::rows(resource_type, id, e));
    old_rows.extend(old.1);
    let mut new_rows = new
        .0
        .map_or(Vec::new(), |e| index::rows(resource_type, id, e));
    new_rows.extend(new.1);
    for row in old_rows.iter().filter(|r| !new_rows.contains(r)) {
        let (sql, params) = index::delete(row, rid);
        tx.execute(&sql, &params)?;
    }
    let old_rows_kept = old_rows;
    pending.extend(
        new_rows
            .into_iter()
            .filter(|r| !old_rows_kept.contains(r))
            .map(|r| (r, rid)),
    );
    Ok(())
}

/// Whether two versions differ only in `meta.versionId` and `meta.lastUpdated`.
/// Compared in place: an idempotent re-import meets this once per resource.
fn same_content(old: &Value, new: &Value) -> bool {
    fn own_meta(v: &Value) -> impl Iterator<Item = (&String, &Value)> {
        v.get("meta")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter(|(k, _)| *k != "versionId" && *k != "lastUpdated")
    }
    fn rest(v: &Value) -> impl Iterator<Item = (&String, &Value)> {
        v.as_object()
            .into_iter()
            .flatten()
            .filter(|(k, _)| *k != "meta")
    }
    let (Some(a), Some(b)) = (old.as_object(), new.as_object()) else {
        return old == new;
    };
    let len = |v: &Value, m: &serde_json::Map<String, Value>| {
        m.len() - usize::from(m.contains_key("meta")) + own_meta(v).count()
    };
    len(old, a) == len(new, b)
        && rest(old).all(|(k, x)| b.get(k) == Some(x))
        && own_meta(old).all(|(k, x)| new.get("meta").and_then(|m| m.get(k)) == Some(x))
}

fn set_meta(resource: &mut Value, version: u64, now: i64) {
    let Some(obj) = resource.as_object_mut() else {
        return;
    };
    let meta = obj
        .entry("meta")
        .or_insert_with(|| Value::Object(Default::default()));
    if !meta.is_object() {
        *meta = Value::Object(Default::default());
    }
    meta["versionId"] = Value::String(version.to_string());
    meta["lastUpdated"] = Value::String(fhir::time::format_instant(now));
}

/// Replaces references to transaction `fullUrl`s with the ids they resolved to; a
/// `urn:uuid:` reference that names no entry is reported in `unresolved`.
fn rewrite_references(
    v: &mut Value,
    urls: &HashMap<String, String>,
    unresolved: &mut Option<String>,
) {
    match v {
        Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                match child {
                    Value::String(s) if k == "reference" => {
                        if let Some(target) = urls.get(s.as_str()) {
                            *s = target.clone();
                        } else if s.starts_with("urn:uuid:") && unresolved.is_none() {
                            *unresolved = Some(s.clone());
                        }
                    }
                    _ => rewrite_references(child, urls, unresolved),
                }
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|i| rewrite_references(i, urls, unresolved)),
        _ => {}
    }
}

fn type_of(resource: &Value) -> Result<String, StoreError> {
    resource
        .get("resourceType")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| StoreError::Database("resource without resourceType".into()))
}

/// The lock a condition takes: the same for the same clauses in any order.
fn guard_key(q: &SearchQuery) -> i64 {
    let mut clauses: Vec<String> = q.clauses.iter().map(|c| format!("{c:?}")).collect();
    clauses.sort();
    index::fnv(&[&q.resource_type, &clauses.join("&")])
}

/// The lock a write to `resource_type/id` takes, so concurrent writers of one resource
/// (including two creates of the same new id) queue instead of interleaving.
fn write_key(resource_type: &str, id: &str) -> i64 {
    index::fnv(&["W", resource_type, id])
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

// ---------------------------------------------------------------------------------------------
// Reads

/// The current row of a resource, for writing.
struct Located {
    rid: i64,
    version: u64,
    updated: i64,
    deleted: bool,
    body: Vec<u8>,
}

impl Located {
    fn stored(&self, resource_type: &str, id: &str) -> Stored {
        Stored {
            resource_type: resource_type.into(),
            id: id.into(),
            version: self.version,
            last_updated: self.updated,
            deleted: self.deleted,
            body: self.body.clone().into(),
        }
    }
}

fn locate(tx: &mut dyn Tx, resource_type: &str, id: &str) -> Result<Option<Located>, StoreError> {
    let rows = tx.query(
        "SELECT rid, version, updated, deleted, body FROM resource WHERE type = $1 AND id = $2",
        &[
            SqlValue::Text(resource_type.into()),
            SqlValue::Text(id.into()),
        ],
    )?;
    rows.into_iter()
        .next()
        .map(|mut row| {
            Ok(Located {
                rid: row[0].int(),
                version: row[1].int() as u64,
                updated: row[2].int(),
                deleted: row[3].int() != 0,
                body: take_body(&mut row, 4)?,
            })
        })
        .transpose()
}

fn current(tx: &mut dyn Tx, resource_type: &str, id: &str) -> Result<Option<Stored>, StoreError> {
    Ok(locate(tx, resource_type, id)?.map(|l| {
        let Located {
            version,
            updated,
            deleted,
            body,
            ..
        } = l;
        Stored {
            resource_type: resource_type.into(),
            id: id.into(),
            version,
            last_updated: updated,
            deleted,
            body: body.into(),
        }
    }))
}

/// A row selected with [`COLUMNS`] (plus optional trailing columns) as a [`Stored`].
fn stored_from(row: &mut Row) -> Result<Stored, StoreError> {
    Ok(Stored {
        resource_type: row[1].text().to_string(),
        id: row[2].text().to_string(),
        version: row[3].int() as u64,
        last_updated: row[4].int(),
        deleted: row[5].int() != 0,
        body: take_body(row, 6)?.into(),
    })
}

/// The JSON bytes of the body in column `i` of `row`.
fn take_body(row: &mut Row, i: usize) -> Result<Vec<u8>, StoreError> {
    body::decode(std::mem::replace(&mut row[i], SqlValue::Null).into_blob())
}

/// Up to `limit` current resources matching `q` (for conditional operations).
fn matching(tx: &mut dyn Tx, q: &SearchQuery, limit: usize) -> Result<Vec<Stored>, StoreError> {
    let mut sql = Sql::default();
    let conds = query::conditions(&mut sql, q);
    let limit = sql.bind(SqlValue::Int(limit as i64));
    sql.text =
        format!("SELECT {COLUMNS} FROM resource r WHERE {conds} ORDER BY r.rid LIMIT {limit}");
    let rows = tx.query(&sql.text, &sql.params)?;
    rows.into_iter().map(|mut r| stored_from(&mut r)).collect()
}

fn search(tx: &mut dyn Tx, q: &SearchQuery) -> Result<SearchPage, StoreError> {
    let cursor = q.page.as_deref().map(Cursor::decode).transpose()?;
    let mut page = SearchPage::default();
    if q.summary_count || q.total_accurate {
        let mut sql = Sql::default();
        let conds = query::conditions(&mut sql, q);
        sql.text = format!("SELECT COUNT(*) FROM resource r WHERE {conds}");
        page.total = Some(tx.query(&sql.text, &sql.params)?[0][0].int() as u64);
        if q.summary_count {
            return Ok(page);
        }
    }
    let count = q.count.unwrap_or(DEFAULT_COUNT);
    let snapshot = match &cursor {
        Some(c) => c.snapshot,
        None => tx.query("SELECT COALESCE(MAX(rid), 0) FROM resource", &[])?[0][0].int(),
    };
    let mut sql = Sql::default();
    let conds = query::conditions(&mut sql, q);
    let snap = sql.bind(SqlValue::Int(snapshot));
    let sort = query::sort_key(&mut sql, q);
    let mut text = format!("SELECT {COLUMNS}");
    if let Some((expr, _, _)) = &sort {
        text.push_str(&format!(", {expr} AS k"));
    }
    text.push_str(&format!(
        " FROM resource r WHERE {conds} AND r.rid <= {snap}"
    ));
    if let Some(c) = &cursor {
        let rid = sql.bind(SqlValue::Int(c.rid));
        match (&sort, &c.key) {
            (None, _) => text.push_str(&format!(" AND r.rid > {rid}")),
            (Some((expr, desc, _)), Some(key)) => {
                let k = sql.bind(match key {
                    SortKey::Int(i) => SqlValue::Int(*i),
                    SortKey::Text(t) => SqlValue::Text(t.clone()),
                });
                let op = if *desc { "<" } else { ">" };
                // Numbered parameters may appear more than once in both databases.
                text.push_str(&format!(
                    " AND ({expr} {op} {k} OR ({expr} = {k} AND r.rid > {rid}))"
                ));
            }
            (Some(_), None) => return Err(StoreError::BadCursor),
        }
        // A cursor made for another sort (or forged) must not reach the database.
        match (&sort, &c.key) {
            (Some((_, _, true)), Some(SortKey::Int(_)))
            | (Some((_, _, false)), Some(SortKey::Text(_))) => {
                return Err(StoreError::BadCursor);
            }
            _ => {}
        }
    }
    let limit = sql.bind(SqlValue::Int(count as i64 + 1));
    match &sort {
        Some((_, desc, _)) => text.push_str(&format!(
            " ORDER BY k {}, r.rid LIMIT {limit}",
            if *desc { "DESC" } else { "ASC" }
        )),
        None => text.push_str(&format!(" ORDER BY r.rid LIMIT {limit}")),
    }
    sql.text = text;
    let mut rows = tx.query(&sql.text, &sql.params)?;
    if rows.len() > count {
        rows.truncate(count);
        let last = rows.last().expect("count >= 1 rows are left");
        let key = sort.as_ref().map(|(_, _, is_text)| {
            if *is_text {
                SortKey::Text(last[7].text().to_string())
            } else {
                SortKey::Int(last[7].int())
            }
        });
        page.next = Some(
            Cursor {
                snapshot,
                key,
                rid: last[0].int(),
            }
            .encode(),
        );
    } else if cursor.is_none() && page.total.is_none() {
        page.total = Some(rows.len() as u64);
    }
    page.matches = rows
        .into_iter()
        .map(|mut r| stored_from(&mut r))
        .collect::<Result<_, _>>()?;
    include(tx, q, &mut page)?;
    Ok(page)
}

/// Adds `_include` targets and `_revinclude` sources of the page's matches.
fn include(tx: &mut dyn Tx, q: &SearchQuery, page: &mut SearchPage) -> Result<(), StoreError> {
    if q.include.is_empty() && q.revinclude.is_empty() || page.matches.is_empty() {
        return Ok(());
    }
    let mut seen: Vec<(String, String)> = page
        .matches
        .iter()
        .map(|s| (s.resource_type.clone(), s.id.clone()))
        .collect();
    let mut targets: Vec<(String, String)> = Vec::new();
    for inc in &q.include {
        for m in &page.matches {
            let Ok(v) = serde_json::from_slice::<Value>(&m.body) else {
                continue;
            };
            for e in fhir::search::extract(&v) {
                if e.param != inc.param {
                    continue;
                }
                if let IndexValue::Reference { target_type, id } = e.value
                    && inc.target_type.as_ref().is_none_or(|t| *t == target_type)
                    && !targets.contains(&(target_type.clone(), id.clone()))
                {
                    targets.push((target_type, id));
                }
            }
        }
    }
    for (t, id) in targets {
        if page.included.len() >= MAX_INCLUDED || seen.contains(&(t.clone(), id.clone())) {
            continue;
        }
        if let Some(s) = current(tx, &t, &id)?
            && !s.deleted
        {
            seen.push((t, id));
            page.included.push(s);
        }
    }
    for rev in &q.revinclude {
        let refs: Vec<i64> = page
            .matches
            .iter()
            .filter(|m| {
                rev.target_type
                    .as_ref()
                    .is_none_or(|t| *t == m.resource_type)
            })
            .map(|m| index::reference(&m.resource_type, &m.id))
            .collect();
        if refs.is_empty() {
            continue;
        }
        let mut sql = Sql::default();
        let sp = sql.bind(SqlValue::Int(index::sp(&rev.source_type, &rev.param)));
        let list: Vec<String> = refs
            .into_iter()
            .map(|r| sql.bind(SqlValue::Int(r)))
            .collect();
        let limit = sql.bind(SqlValue::Int(MAX_INCLUDED as i64));
        sql.text = format!(
            "SELECT {COLUMNS} FROM ix_ref x JOIN resource r ON r.rid = x.rid \
             WHERE x.sp = {sp} AND x.h IN ({}) AND r.deleted = 0 ORDER BY r.rid LIMIT {limit}",
            list.join(", ")
        );
        for mut row in tx.query(&sql.text, &sql.params)? {
            let s = stored_from(&mut row)?;
            let key = (s.resource_type.clone(), s.id.clone());
            if !seen.contains(&key) && page.included.len() < MAX_INCLUDED {
                seen.push(key);
                page.included.push(s);
            }
        }
    }
    Ok(())
}

fn everything(
    tx: &mut dyn Tx,
    patient_id: &str,
    count: usize,
    page: Option<&str>,
) -> Result<SearchPage, StoreError> {
    let cursor = page.map(Cursor::decode).transpose()?;
    let mut out = SearchPage::default();
    let patient = current(tx, "Patient", patient_id)?.filter(|p| !p.deleted);
    let Some(patient) = patient else {
        return Err(StoreError::NotFound {
            resource_type: "Patient".into(),
            id: patient_id.into(),
        });
    };
    let after = cursor.as_ref().map_or(0, |c| c.rid);
    if cursor.is_none() {
        out.matches.push(patient);
    }
    let rows = tx.query(
        &format!(
            "SELECT {COLUMNS} FROM compartment c JOIN resource r ON r.rid = c.rid \
             WHERE c.pid = $1 AND r.deleted = 0 AND r.type <> 'Patient' AND r.rid > $2 \
             ORDER BY r.rid LIMIT $3"
        ),
        &[
            SqlValue::Int(index::patient(patient_id)),
            SqlValue::Int(after),
            SqlValue::Int(count as i64 + 1),
        ],
    )?;
    let mut rows = rows;
    if rows.len() > count {
        rows.truncate(count);
        out.next = Some(
            Cursor {
                snapshot: 0,
                key: None,
                rid: rows.last().expect("count >= 1 rows are left")[0].int(),
            }
            .encode(),
        );
    }
    out.matches.extend(
        rows.into_iter()
            .map(|mut r| stored_from(&mut r))
            .collect::<Result<Vec<_>, _>>()?,
    );
    Ok(out)
}

/// The shared record's query: every classified item of the registrations, with why it is
/// held (hidden, forbidden category, outside every window of its categories) worked out by
/// the database; then the bodies of the shown ones only.
fn shared(tx: &mut dyn Tx, q: &SharedQuery) -> Result<Vec<SharedItem>, StoreError> {
    if q.patients.is_empty() {
        return Ok(Vec::new());
    }
    let by_pid: HashMap<i64, &str> = q
        .patients
        .iter()
        .map(|p| (index::patient(p), p.as_str()))
        .collect();
    let mut sql = Sql::default();
    let pids: Vec<String> = by_pid.keys().map(|p| sql.bind(SqlValue::Int(*p))).collect();
    let hidden = if q.hidden.is_empty() {
        "0 = 1".to_string()
    } else {
        let refs: Vec<String> = q
            .hidden
            .iter()
            .map(|h| sql.bind(SqlValue::Text(h.clone())))
            .collect();
        format!("(r.type || '/' || r.id) IN ({})", refs.join(", "))
    };
    let forbidden = sql.bind(SqlValue::Int(q.forbidden));
    let unlimited = sql.bind(SqlValue::Int(!q.since.iter().fold(0, |a, (b, _)| a | b)));
    let unknown = sql.bind(SqlValue::Int(UNKNOWN_TIME));
    // In the window: time unknown, a category without a limit, or a limited category whose
    // window reaches it.
    let mut reach = vec![
        format!("s.at = {unknown}"),
        format!("(s.cat & {unlimited}) <> 0"),
    ];
    for (bit, since) in &q.since {
        let (b, t) = (
            sql.bind(SqlValue::Int(*bit)),
            sql.bind(SqlValue::Int(*since)),
        );
        reach.push(format!("((s.cat & {b}) <> 0 AND s.at >= {t})"));
    }
    sql.text = format!(
        "SELECT c.pid, r.rid, r.type, r.id, r.version, r.updated, s.at, \
         CASE WHEN {hidden} THEN 1 WHEN (s.cat & {forbidden}) <> 0 THEN 2 \
              WHEN NOT ({}) THEN 3 ELSE 0 END \
         FROM compartment c JOIN resource r ON r.rid = c.rid JOIN share s ON s.rid = r.rid \
         WHERE c.pid IN ({}) AND r.deleted = 0 ORDER BY s.at DESC, r.rid",
        reach.join(" OR "),
        pids.join(", ")
    );
    let rows = tx.query(&sql.text, &sql.params)?;
    let rids: Vec<i64> = rows.iter().map(|r| r[1].int()).collect();
    let mut items: Vec<SharedItem> = rows
        .into_iter()
        .map(|row| SharedItem {
            patient: by_pid
                .get(&row[0].int())
                .copied()
                .unwrap_or_default()
                .to_string(),
            held: match row[7].int() {
                0 => None,
                1 => Some(Held::Hidden),
                2 => Some(Held::Forbidden),
                _ => Some(Held::OutsideWindow),
            },
            stored: Stored {
                resource_type: row[2].text().to_string(),
                id: row[3].text().to_string(),
                version: row[4].int() as u64,
                last_updated: row[5].int(),
                deleted: false,
                body: Arc::from(Vec::new()),
            },
            at: Some(row[6].int()).filter(|t| *t != UNKNOWN_TIME),
        })
        .collect();
    if q.bodies {
        let shown: Vec<usize> = (0..items.len())
            .filter(|n| items[*n].held.is_none())
            .collect();
        for chunk in shown.chunks(500) {
            let mut sql = Sql::default();
            let keys: Vec<String> = chunk
                .iter()
                .map(|n| sql.bind(SqlValue::Int(rids[*n])))
                .collect();
            sql.text = format!(
                "SELECT r.rid, r.body FROM resource r WHERE r.rid IN ({})",
                keys.join(", ")
            );
            let mut bodies: HashMap<i64, Vec<u8>> = HashMap::new();
            for mut row in tx.query(&sql.text, &sql.params)? {
                let rid = row[0].int();
                bodies.insert(rid, take_body(&mut row, 1)?);
            }
            for n in chunk {
                if let Some(b) = bodies.remove(&rids[*n]) {
                    items[*n].stored.body = b.into();
                }
            }
        }
    }
    Ok(items)
}

fn history(
    tx: &mut dyn Tx,
    scope: &HistoryScope,
    count: usize,
    page: Option<&str>,
) -> Result<HistoryPage, StoreError> {
    let before = match page {
        Some(p) => Cursor::decode(p)?.rid,
        None => i64::MAX,
    };
    let mut sql = Sql::default();
    // One filter serves both halves of the union: numbered parameters may repeat.
    let filter = match scope {
        HistoryScope::System => String::new(),
        HistoryScope::Type(t) => format!(" AND r.type = {}", sql.bind(SqlValue::Text(t.clone()))),
        HistoryScope::Instance(t, id) => format!(
            " AND r.type = {} AND r.id = {}",
            sql.bind(SqlValue::Text(t.clone())),
            sql.bind(SqlValue::Text(id.clone()))
        ),
    };
    let before = sql.bind(SqlValue::Int(before));
    let limit = sql.bind(SqlValue::Int(count as i64 + 1));
    sql.text = format!(
        "SELECT seq, type, id, version, updated, deleted, body FROM (\
           SELECT r.seq, r.type, r.id, r.version, r.updated, r.deleted, r.body \
             FROM resource r WHERE r.seq < {before}{filter} \
           UNION ALL \
           SELECT h.seq, r.type, r.id, h.version, h.updated, h.deleted, h.body \
             FROM history h JOIN resource r ON r.rid = h.rid WHERE h.seq < {before}{filter}\
         ) AS v ORDER BY seq DESC LIMIT {limit}"
    );
    let mut rows = tx.query(&sql.text, &sql.params)?;
    let mut out = HistoryPage::default();
    if rows.len() > count {
        rows.truncate(count);
        out.next = Some(
            Cursor {
                snapshot: 0,
                key: None,
                rid: rows.last().expect("count >= 1 rows are left")[0].int(),
            }
            .encode(),
        );
    }
    out.versions = rows
        .into_iter()
        .map(|mut r| stored_from(&mut r))
        .collect::<Result<_, _>>()?;
    Ok(out)
}
