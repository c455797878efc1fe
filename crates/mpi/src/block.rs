//! Blocking: which pairs of registrations are worth comparing at all. Several passes, OR-ed:
//! two registrations are candidates when they share any key (an ID, a number, a name with a
//! birth date...). Keys are what one record yields on its own, so the same function serves
//! batch deduplication and matching one new registration against an index. A block larger
//! than the limit is skipped (and counted), never silently truncated.

use crate::record::Record;
use std::collections::HashMap;

/// Which pass a key belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Pass {
    ResidentId,
    IdRaw,
    Insurance,
    Phone,
    /// The birth date with either name part (so swapped family and given names meet).
    BirthName,
    /// The whole name alone (its parts in either order), in a block no larger than
    /// [`NAME_BLOCK`]: a rare name finds its registrations whatever their birth dates; a
    /// common one needs a date part too.
    NamePinyin,
    NameYear,
    NameMonthDay,
    BirthAddress,
    /// The birth date alone, in a block no larger than [`RARE_BLOCK`]: catches registrations
    /// whose names are both mistyped, where few people share the date.
    Birth,
    /// One name part alone, in a block no larger than [`NAME_BLOCK`]: a rare family or given
    /// name finds registrations whose date and other part are wrong. Chinese names are never
    /// rare enough for this; names in other scripts often are.
    NamePart,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub pass: Pass,
    pub value: String,
}

/// Candidate pairs (`i < j`, each once) and what was left out.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Candidates {
    pub pairs: Vec<(u32, u32)>,
    /// Blocks over the size limit, not expanded.
    pub skipped_blocks: usize,
    /// The records in those blocks, counted once per block.
    pub skipped_records: usize,
}

/// The most registrations a name-only block may hold before it is skipped.
pub const NAME_BLOCK: usize = 50;

/// The most registrations a birth-date-only block may hold before it is skipped.
pub const RARE_BLOCK: usize = 20;

/// Characters of the address kept for the birth-and-address pass: district and subdistrict.
pub const ADDRESS_PREFIX: usize = 8;

/// The blocking keys of one registration.
pub fn keys(r: &Record) -> Vec<Key> {
    let birth = r
        .birth
        .map(|b| format!("{:04}{:02}{:02}", b.year, b.month, b.day));
    let with_birth = |v: Option<&str>| Some(format!("{}|{}", birth.as_deref()?, v?));
    let pinyin = match (&r.family_py, &r.given_py) {
        (Some(f), Some(g)) => Some(format!("{f} {g}")),
        _ => None,
    };
    let pinyin = pinyin.filter(|_| !r.placeholder);
    let unordered = match (&r.family_py, &r.given_py) {
        (Some(f), Some(g)) if f > g => Some(format!("{g} {f}")),
        _ => pinyin.clone(),
    }
    .filter(|_| !r.placeholder);
    let given = r.given_py.clone().filter(|_| !r.placeholder);
    let name_with = |part: Option<String>| Some(format!("{}|{}", pinyin.as_deref()?, part?));
    let year = r.birth.map(|b| format!("{:04}", b.year));
    let month_day = r.birth.map(|b| format!("{:02}{:02}", b.month, b.day));
    let address: Option<String> = r
        .address
        .as_ref()
        .map(|a| a.chars().take(ADDRESS_PREFIX).collect());
    let candidates = [
        (Pass::ResidentId, r.resident_id.clone()),
        (Pass::IdRaw, r.id_raw.clone()),
        (Pass::Insurance, r.insurance.clone()),
        (Pass::Phone, r.phone.clone()),
        (Pass::BirthName, with_birth(r.family_py.as_deref())),
        (Pass::BirthName, with_birth(given.as_deref())),
        (Pass::NameYear, name_with(year)),
        (Pass::NameMonthDay, name_with(month_day)),
        (Pass::NamePinyin, unordered),
        (Pass::BirthAddress, with_birth(address.as_deref())),
        (Pass::Birth, birth.clone()),
        (Pass::NamePart, r.family_py.clone()),
        (Pass::NamePart, given),
    ];
    candidates
        .into_iter()
        .filter_map(|(pass, value)| {
            Some(Key {
                pass,
                value: value.filter(|v| !v.is_empty())?,
            })
        })
        .collect()
}

/// All candidate pairs among `records`, skipping blocks of more than `max_block` records.
pub fn candidate_pairs(records: &[Record], max_block: usize) -> Candidates {
    let mut index = BlockIndex::new(max_block);
    for (i, r) in records.iter().enumerate() {
        index.insert(i as u32, r);
    }
    index.pairs()
}

/// Blocks by key, for matching new registrations as they arrive.
#[derive(Clone, Debug, Default)]
pub struct BlockIndex {
    blocks: HashMap<Key, Vec<u32>>,
    max_block: usize,
}

impl BlockIndex {
    pub fn new(max_block: usize) -> BlockIndex {
        BlockIndex {
            blocks: HashMap::new(),
            max_block,
        }
    }

    pub fn insert(&mut self, record: u32, r: &Record) {
        for key in keys(r) {
            self.blocks.entry(key).or_default().push(record);
        }
    }

    /// The indexed records sharing a key with `r` (sorted, each once), ignoring blocks that
    /// have grown over the limit.
    pub fn candidates(&self, r: &Record) -> Vec<u32> {
        let mut out: Vec<u32> = keys(r)
            .iter()
            .filter_map(|k| Some((k, self.blocks.get(k)?)))
            .filter(|(k, b)| b.len() <= self.limit(k.pass))
            .flat_map(|(_, b)| b)
            .copied()
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    fn limit(&self, pass: Pass) -> usize {
        match pass {
            Pass::NamePinyin | Pass::NamePart => NAME_BLOCK.min(self.max_block),
            Pass::Birth => RARE_BLOCK.min(self.max_block),
            _ => self.max_block,
        }
    }

    /// Every pair within a block, once.
    pub fn pairs(&self) -> Candidates {
        let mut seen = Vec::new();
        let mut out = Candidates::default();
        for (key, block) in &self.blocks {
            if block.len() > self.limit(key.pass) {
                out.skipped_blocks += 1;
                out.skipped_records += block.len();
                continue;
            }
            for (x, &i) in block.iter().enumerate() {
                for &j in &block[x + 1..] {
                    if i != j {
                        seen.push((i.min(j), i.max(j)));
                    }
                }
            }
        }
        seen.sort_unstable();
        seen.dedup();
        out.pairs = seen;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::tests::record;
    use expect_test::{Expect, expect};

    #[track_caller]
    fn check(spec: &str, expect: Expect) {
        let keys: Vec<String> = keys(&record(spec))
            .iter()
            .map(|k| format!("{:?} {}", k.pass, k.value))
            .collect();
        expect.assert_eq(&(keys.join("\n") + "\n"));
    }

    #[test]
    fn keys_of_a_full_record() {
        check(
            "name=王/晓明 py=wang/xiaoming birth=1980-05-03 id=110105198005031234 ins=101050001234 phone=13800001111 addr=朝阳区和平里街道和平里东街12号",
            expect![[r#"
                ResidentId 110105198005031234
                Insurance 101050001234
                Phone 13800001111
                BirthName 19800503|wang
                BirthName 19800503|xiaoming
                NameYear wang xiaoming|1980
                NameMonthDay wang xiaoming|0503
                NamePinyin wang xiaoming
                BirthAddress 19800503|朝阳区和平里街道
                Birth 19800503
                NamePart wang
                NamePart xiaoming
            "#]],
        );
    }

    #[test]
    fn keys_of_a_placeholder_and_an_invalid_id() {
        check(
            "name=王/芳之子 py=wang/fangzhizi birth=2026-10-01 placeholder raw=1101052026100112",
            expect![[r#"
                IdRaw 1101052026100112
                BirthName 20261001|wang
                Birth 20261001
                NamePart wang
            "#]],
        );
    }

    #[test]
    fn pairs_are_deduplicated_and_big_blocks_skipped() {
        let records: Vec<Record> = [
            "py=wang/wei birth=1980-05-03 phone=1",
            "py=wang/wei birth=1980-05-03 phone=1",
            "py=li/na phone=1",
            "py=li/na phone=2",
            "py=zhao/lei phone=3",
        ]
        .iter()
        .map(|s| record(s))
        .collect();
        let c = candidate_pairs(&records, 2);
        expect!["Candidates { pairs: [(0, 1), (2, 3)], skipped_blocks: 1, skipped_records: 3 }"]
            .assert_eq(&format!("{c:?}"));
        let c = candidate_pairs(&records, 10);
        expect!["Candidates { pairs: [(0, 1), (0, 2), (1, 2), (2, 3)], skipped_blocks: 0, skipped_records: 0 }"]
            .assert_eq(&format!("{c:?}"));
        let mut index = BlockIndex::new(10);
        for (i, r) in records.iter().enumerate() {
            index.insert(i as u32, r);
        }
        assert_eq!(index.candidates(&record("py=li/na")), vec![2, 3]);
        assert_eq!(index.candidates(&record("phone=1")), vec![0, 1, 2]);
    }
}
