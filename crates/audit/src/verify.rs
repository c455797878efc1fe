//! Offline verification of a whole log, one stored row at a time: every record's position,
//! content, seal and search columns, and every signed tree head against the tree the
//! records make. The first problem is named by its position.

use crate::merkle::{Frontier, Hash, leaf_hash};
use crate::record::{Columns, Record};
use crate::seal::Sealer;
use crate::sth::SignedTreeHead;
use ed25519_dalek::VerifyingKey;

/// One stored record, as the store hands it to the verifier.
#[derive(Clone, Debug)]
pub struct Row {
    pub position: u64,
    pub body: Vec<u8>,
    pub leaf: Hash,
    pub seal: Hash,
    pub columns: Columns,
}

/// What is wrong, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The first position that does not hold what was logged there.
    pub position: u64,
    pub kind: ProblemKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProblemKind {
    /// No record is stored at the position; the next stored one is at `next`.
    Missing { next: u64 },
    /// The record's bytes do not hash to the leaf logged for it.
    ContentChanged,
    /// The leaf and position do not carry the seal made when it was logged: the record was
    /// replaced, moved, or slipped in with recomputed hashes.
    SealBroken,
    /// The record's bytes are not a record.
    Unreadable,
    /// The columns it is searched by were changed.
    ColumnsChanged,
    /// The records up to the head's size do not make the root it signed (a verifier
    /// without the secret key finds a rewritten record here, within that head).
    HeadMismatch { size: u64 },
    /// A tree head's signature does not verify with the public key.
    HeadForged { size: u64 },
    /// A signed head covers records no longer stored.
    Truncated { size: u64 },
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let p = self.position;
        match &self.kind {
            ProblemKind::Missing { next } => write!(
                f,
                "position {p}: no record is stored here (the next stored is at {next}): removed"
            ),
            ProblemKind::ContentChanged => write!(
                f,
                "position {p}: the record does not hash to its logged leaf: changed"
            ),
            ProblemKind::SealBroken => write!(
                f,
                "position {p}: the record's seal does not verify: replaced, reordered or inserted"
            ),
            ProblemKind::Unreadable => write!(f, "position {p}: the record is unreadable"),
            ProblemKind::ColumnsChanged => write!(
                f,
                "position {p}: the search columns stored beside the record were changed"
            ),
            ProblemKind::HeadMismatch { size } => write!(
                f,
                "position {p}: records {p} to {} do not make the root of the tree head signed at size {size}: one of them was rewritten",
                size - 1
            ),
            ProblemKind::HeadForged { size } => write!(
                f,
                "position {p}: the tree head at size {size} does not carry the log's signature"
            ),
            ProblemKind::Truncated { size } => write!(
                f,
                "position {p}: the log ends here, but a tree head was signed at size {size}: records removed from the end"
            ),
        }
    }
}

/// What a clean log showed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    pub records: u64,
    pub heads: u64,
    pub root: Hash,
    /// Records after the last signed head (none while the log is consistent: every commit
    /// signs a head).
    pub unsigned_tail: u64,
}

/// Checks a log fed row by row, in position order.
pub struct Verifier {
    sealer: Option<Sealer>,
    public: VerifyingKey,
    heads: Vec<SignedTreeHead>,
    next_head: usize,
    frontier: Frontier,
    last_signed: u64,
}

impl Verifier {
    /// With the secret key (`sealer`) every record's seal is checked too; with only the
    /// public key, the signed heads are what a rewrite fails against. `heads` are the
    /// stored signed heads and any the verifier was given (a regulator's copy).
    pub fn new(
        sealer: Option<Sealer>,
        public: VerifyingKey,
        mut heads: Vec<SignedTreeHead>,
    ) -> Verifier {
        heads.sort_by_key(|h| h.head.size);
        Verifier {
            sealer,
            public,
            heads,
            next_head: 0,
            frontier: Frontier::new(),
            last_signed: 0,
        }
    }

    pub fn position(&self) -> u64 {
        self.frontier.size()
    }

    pub fn push(&mut self, row: &Row) -> Result<(), Problem> {
        let position = self.frontier.size();
        let problem = |kind| Err(Problem { position, kind });
        if row.position != position {
            return problem(ProblemKind::Missing { next: row.position });
        }
        let leaf = leaf_hash(&row.body);
        if leaf != row.leaf {
            return problem(ProblemKind::ContentChanged);
        }
        if let Some(s) = &self.sealer
            && s.seal(position, &leaf) != row.seal
        {
            return problem(ProblemKind::SealBroken);
        }
        let Ok(record) = Record::from_bytes(&row.body) else {
            return problem(ProblemKind::Unreadable);
        };
        if record.columns() != row.columns {
            return problem(ProblemKind::ColumnsChanged);
        }
        self.frontier.push(leaf);
        self.check_heads()
    }

    /// Heads at or below the current size (a head at size 0 signs the empty log).
    fn check_heads(&mut self) -> Result<(), Problem> {
        while let Some(h) = self.heads.get(self.next_head) {
            if h.head.size > self.frontier.size() {
                break;
            }
            let size = h.head.size;
            let position = size.saturating_sub(1);
            if !h.verify(&self.public) {
                return Err(Problem {
                    position,
                    kind: ProblemKind::HeadForged { size },
                });
            }
            if h.head.size == self.frontier.size() && h.head.root != self.frontier.root() {
                return Err(Problem {
                    position: self.last_signed,
                    kind: ProblemKind::HeadMismatch { size },
                });
            }
            self.last_signed = size;
            self.next_head += 1;
        }
        Ok(())
    }

    pub fn finish(mut self) -> Result<Report, Problem> {
        self.check_heads()?;
        if let Some(h) = self.heads.get(self.next_head) {
            return Err(Problem {
                position: self.frontier.size(),
                kind: ProblemKind::Truncated { size: h.head.size },
            });
        }
        Ok(Report {
            records: self.frontier.size(),
            heads: self.heads.len() as u64,
            root: self.frontier.root(),
            unsigned_tail: self.frontier.size() - self.last_signed,
        })
    }
}

/// Appends `records` to the log whose right edge is `frontier`: the rows to store (leaf
/// hashes and seals), the perfect subtrees completed (for proofs), and the head signed
/// over the new size at `now`.
pub fn append(sealer: &Sealer, frontier: &mut Frontier, records: &[Record], now: i64) -> Appended {
    let mut rows = Vec::with_capacity(records.len());
    let mut nodes = Vec::with_capacity(records.len());
    for record in records {
        let body = record.to_bytes();
        let position = frontier.size();
        let leaf = leaf_hash(&body);
        frontier.push_with(leaf, |level, index, hash| nodes.push((level, index, *hash)));
        rows.push(Row {
            position,
            seal: sealer.seal(position, &leaf),
            leaf,
            columns: record.columns(),
            body,
        });
    }
    let head = sealer.sign(crate::sth::TreeHead {
        size: frontier.size(),
        root: frontier.root(),
        timestamp: now,
    });
    Appended { rows, nodes, head }
}

/// What [`append`] made.
#[derive(Clone, Debug)]
pub struct Appended {
    pub rows: Vec<Row>,
    pub nodes: Vec<(u8, u64, Hash)>,
    pub head: SignedTreeHead,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Action, Outcome};

    fn log(sealer: &Sealer) -> (Vec<Row>, Vec<SignedTreeHead>) {
        let mut f = Frontier::new();
        let mut rows = Vec::new();
        let mut heads = Vec::new();
        let mut n = 0;
        // Commit groups of 1, 3, 5, 2 and 9 records.
        for group in [1, 3, 5, 2, 9] {
            let records: Vec<Record> = (0..group)
                .map(|i| {
                    n += 1;
                    let mut r = Record::new(
                        1_000 * n,
                        Action::Read,
                        Outcome::Success,
                        format!("Practitioner/d{}", i % 3),
                    );
                    r.patient = Some(format!("Patient/p{n}"));
                    r
                })
                .collect();
            let a = append(sealer, &mut f, &records, 5_000 * n);
            rows.extend(a.rows);
            heads.push(a.head);
        }
        (rows, heads)
    }

    fn verify(key: Option<&Sealer>, rows: &[Row], heads: &[SignedTreeHead]) -> String {
        let public = Sealer::from_seed([7; 32]).public();
        let mut v = Verifier::new(key.cloned(), public, heads.to_vec());
        for r in rows {
            if let Err(p) = v.push(r) {
                return p.to_string();
            }
        }
        match v.finish() {
            Ok(r) => format!("ok: {} records, {} heads", r.records, r.heads),
            Err(p) => p.to_string(),
        }
    }

    #[test]
    fn tampering_is_found_at_its_position() {
        let key = Sealer::from_seed([7; 32]);
        let (rows, heads) = log(&key);
        let check = |name: &str, rows: &[Row], heads: &[SignedTreeHead]| {
            format!(
                "{name}\n  with key: {}\n  public:   {}\n",
                verify(Some(&key), rows, heads),
                verify(None, rows, heads)
            )
        };
        let mut out = check("untouched", &rows, &heads);

        let mut changed = rows.clone();
        changed[7].body = changed[7].body.replace_str("Patient/p8", "Patient/p9");
        out += &check("a record's content changed", &changed, &heads);

        let mut rehashed = changed.clone();
        rehashed[7].leaf = leaf_hash(&rehashed[7].body);
        rehashed[7].columns.patient = Some("Patient/p9".into());
        out += &check(
            "changed, with its leaf and columns recomputed",
            &rehashed,
            &heads,
        );

        let mut removed = rows.clone();
        removed.remove(12);
        out += &check("a record removed", &removed, &heads);

        let mut renumbered = rows.clone();
        renumbered.remove(12);
        for (i, r) in renumbered.iter_mut().enumerate().skip(12) {
            r.position = i as u64;
        }
        out += &check("removed, the rest renumbered", &renumbered, &heads);

        let mut swapped = rows.clone();
        let (a, b) = (swapped[4].clone(), swapped[5].clone());
        swapped[4] = Row { position: 4, ..b };
        swapped[5] = Row { position: 5, ..a };
        out += &check("two records reordered", &swapped, &heads);

        let mut inserted = rows.clone();
        let mut forged = inserted[2].clone();
        forged.body = forged.body.replace_str("Patient/p3", "Patient/p0");
        forged.leaf = leaf_hash(&forged.body);
        forged.columns.patient = Some("Patient/p0".into());
        inserted.insert(3, forged);
        for (i, r) in inserted.iter_mut().enumerate() {
            r.position = i as u64;
        }
        out += &check("a record inserted, the rest renumbered", &inserted, &heads);

        let truncated = &rows[..rows.len() - 2];
        out += &check("the last records removed", truncated, &heads);

        let mut columns = rows.clone();
        columns[15].columns.agent = "Practitioner/other".into();
        out += &check("a search column changed", &columns, &heads);

        let mut forged_heads = heads.clone();
        forged_heads[2].head.timestamp += 1;
        out += &check("a tree head altered", &rows, &forged_heads);

        expect_test::expect![[r#"
            untouched
              with key: ok: 20 records, 5 heads
              public:   ok: 20 records, 5 heads
            a record's content changed
              with key: position 7: the record does not hash to its logged leaf: changed
              public:   position 7: the record does not hash to its logged leaf: changed
            changed, with its leaf and columns recomputed
              with key: position 7: the record's seal does not verify: replaced, reordered or inserted
              public:   position 4: records 4 to 8 do not make the root of the tree head signed at size 9: one of them was rewritten
            a record removed
              with key: position 12: no record is stored here (the next stored is at 13): removed
              public:   position 12: no record is stored here (the next stored is at 13): removed
            removed, the rest renumbered
              with key: position 12: the record's seal does not verify: replaced, reordered or inserted
              public:   position 19: the log ends here, but a tree head was signed at size 20: records removed from the end
            two records reordered
              with key: position 4: the record's seal does not verify: replaced, reordered or inserted
              public:   position 4: records 4 to 8 do not make the root of the tree head signed at size 9: one of them was rewritten
            a record inserted, the rest renumbered
              with key: position 3: the record's seal does not verify: replaced, reordered or inserted
              public:   position 1: records 1 to 3 do not make the root of the tree head signed at size 4: one of them was rewritten
            the last records removed
              with key: position 18: the log ends here, but a tree head was signed at size 20: records removed from the end
              public:   position 18: the log ends here, but a tree head was signed at size 20: records removed from the end
            a search column changed
              with key: position 15: the search columns stored beside the record were changed
              public:   position 15: the search columns stored beside the record were changed
            a tree head altered
              with key: position 8: the tree head at size 9 does not carry the log's signature
              public:   position 8: the tree head at size 9 does not carry the log's signature
        "#]]
        .assert_eq(&out);
    }

    trait ReplaceStr {
        fn replace_str(&self, from: &str, to: &str) -> Vec<u8>;
    }

    impl ReplaceStr for Vec<u8> {
        fn replace_str(&self, from: &str, to: &str) -> Vec<u8> {
            let s = std::str::from_utf8(self).expect("records are UTF-8");
            assert!(s.contains(from), "{from} in {s}");
            s.replacen(from, to, 1).into_bytes()
        }
    }
}
