//! Deciding and grouping: each scored pair becomes Link, Review or NoLink with its reason,
//! and registrations joined by Link decisions become persons. A false merge shows one
//! person another's record, so every guard here turns a Link into a Review, never the other
//! way; and no cluster may ever hold two different trusted resident IDs.

use crate::compare::{Agreement, BirthLevel, Comparison, IdLevel, NameLevel, SexLevel};
use crate::id::IdDiff;
use crate::model::{Model, Score};
use crate::record::{IdStatus, Record};
use std::collections::{HashMap, HashSet};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Decision {
    Link,
    Review,
    NoLink,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reason {
    /// The same trusted resident ID, birth date and sex.
    SameResidentId,
    /// The same insurance number, birth date and sex.
    SameInsurance,
    /// The shared number is carried by many different names (a dummy like 000000...).
    GenericNumber,
    /// The same number, but names that disagree or the other fields weigh against it: a
    /// reused or duplicated number (重号), or a changed name; a person decides.
    NumberContradicted,
    /// The match probability against the model's thresholds.
    Score,
    /// A newborn's placeholder name on either side.
    Placeholder,
    /// Same birth date and family, sharing a phone or address, different given names (or
    /// registered as a multiple birth): possibly twins.
    PossibleTwins,
    /// The agreement rests mainly on a shared phone, names disagreeing.
    SharedPhoneOnly,
    /// Two different valid resident IDs: two people.
    ContradictoryIds,
    /// The link would put two different valid resident IDs in one person.
    ClusterConflict,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Verdict {
    pub decision: Decision,
    pub reason: Reason,
}

/// A candidate pair, scored and decided.
#[derive(Clone, Debug, PartialEq)]
pub struct Scored {
    pub a: u32,
    pub b: u32,
    pub comparison: Comparison,
    pub score: Score,
    pub verdict: Verdict,
}

/// Resident IDs and insurance numbers carried by more than `limit` distinct names.
#[derive(Clone, Debug, Default)]
pub struct GenericNumbers {
    numbers: HashSet<String>,
}

/// The persons found: `person_of[i]` is the smallest record index of record `i`'s person;
/// `review` lists the pairs a person should look at, not already in one person.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Clusters {
    pub person_of: Vec<u32>,
    pub review: Vec<(u32, u32, Score)>,
}

/// Distinct names above which a shared number is treated as generic.
pub const GENERIC_LIMIT: usize = 5;

impl GenericNumbers {
    pub fn new(records: &[Record], limit: usize) -> GenericNumbers {
        let mut names: HashMap<&str, HashSet<String>> = HashMap::new();
        for r in records {
            let name = format!("{:?}{:?}", r.family_py, r.given_py);
            for n in [&r.resident_id, &r.insurance].into_iter().flatten() {
                names.entry(n.as_str()).or_default().insert(name.clone());
            }
        }
        let numbers = names
            .into_iter()
            .filter(|(_, s)| s.len() > limit)
            .map(|(n, _)| n.to_string())
            .collect();
        GenericNumbers { numbers }
    }

    pub fn contains(&self, number: &str) -> bool {
        self.numbers.contains(number)
    }
}

/// Decides one pair: contradictions first, then the deterministic tier, then the score;
/// a Link must then pass every guard.
pub fn decide(
    a: &Record,
    b: &Record,
    c: &Comparison,
    score: &Score,
    model: &Model,
    generic: &GenericNumbers,
) -> Verdict {
    if trusted(a) && trusted(b) && c.resident_id == Some(IdLevel::Different) {
        let same = c.name == Some(NameLevel::ExactChars) && c.birth == Some(BirthLevel::Exact);
        let decision = if same {
            Decision::Review
        } else {
            Decision::NoLink
        };
        return verdict(decision, Reason::ContradictoryIds);
    }
    let proposed =
        deterministic(a, c, score, model, generic).unwrap_or_else(|| by_score(score, model));
    if proposed.decision != Decision::Link {
        return proposed;
    }
    guard(a, b, c, score).map_or(proposed, |reason| verdict(Decision::Review, reason))
}

/// Groups records joined by Link decisions (strongest first), refusing any union that would
/// join two different trusted resident IDs; refused links go to review.
pub fn link(records: &[Record], scored: &[Scored]) -> Clusters {
    let mut sets = Persons::new(records);
    let mut order: Vec<&Scored> = scored
        .iter()
        .filter(|s| s.verdict.decision == Decision::Link)
        .collect();
    order.sort_by(|x, y| {
        y.score
            .total
            .total_cmp(&x.score.total)
            .then((x.a, x.b).cmp(&(y.a, y.b)))
    });
    let mut refused = Vec::new();
    for s in order {
        if !sets.union(s.a, s.b) {
            refused.push((s.a, s.b, s.score.clone()));
        }
    }
    let mut review: Vec<(u32, u32, Score)> = scored
        .iter()
        .filter(|s| s.verdict.decision == Decision::Review)
        .map(|s| (s.a, s.b, s.score.clone()))
        .chain(refused)
        .filter(|(a, b, _)| sets.find(*a) != sets.find(*b))
        .collect();
    review.sort_by_key(|r| (r.0, r.1));
    Clusters {
        person_of: sets.canonical(),
        review,
    }
}

fn verdict(decision: Decision, reason: Reason) -> Verdict {
    Verdict { decision, reason }
}

fn trusted(r: &Record) -> bool {
    r.resident_id.is_some() && matches!(r.id_status, IdStatus::Valid | IdStatus::Upgraded)
}

fn deterministic(
    a: &Record,
    c: &Comparison,
    score: &Score,
    model: &Model,
    generic: &GenericNumbers,
) -> Option<Verdict> {
    if c.birth != Some(BirthLevel::Exact) || c.sex != Some(SexLevel::Agree) {
        return None;
    }
    let (number, reason) = if c.resident_id == Some(IdLevel::Exact) {
        (a.resident_id.as_deref()?, Reason::SameResidentId)
    } else if c.insurance == Some(Agreement::Exact) && c.resident_id != Some(IdLevel::Different) {
        (a.insurance.as_deref()?, Reason::SameInsurance)
    } else {
        return None;
    };
    let names_disagree = matches!(c.name, Some(NameLevel::SameFamily | NameLevel::Different));
    let outweighed = score.probability < model.thresholds.review;
    Some(if generic.contains(number) {
        verdict(Decision::Review, Reason::GenericNumber)
    } else if names_disagree || outweighed {
        verdict(Decision::Review, Reason::NumberContradicted)
    } else {
        verdict(Decision::Link, reason)
    })
}

fn by_score(score: &Score, model: &Model) -> Verdict {
    let p = score.probability;
    let decision = if p >= model.thresholds.link {
        Decision::Link
    } else if p >= model.thresholds.review {
        Decision::Review
    } else {
        Decision::NoLink
    };
    verdict(decision, Reason::Score)
}

/// Why a proposed Link must be reviewed instead, if it must.
fn guard(a: &Record, b: &Record, c: &Comparison, score: &Score) -> Option<Reason> {
    if a.placeholder || b.placeholder {
        return Some(Reason::Placeholder);
    }
    if possible_twins(a, b, c) {
        return Some(Reason::PossibleTwins);
    }
    if rests_on_phone(c, score) {
        return Some(Reason::SharedPhoneOnly);
    }
    None
}

fn possible_twins(a: &Record, b: &Record, c: &Comparison) -> bool {
    let household =
        c.phone == Some(Agreement::Exact) || c.address == Some(crate::compare::AddressLevel::Exact);
    let given_differs = family_shared(a, b) && given_differs(a, b);
    let same_name = matches!(c.name, Some(NameLevel::ExactChars | NameLevel::SamePinyin));
    let multiple = (a.multiple_birth || b.multiple_birth) && !same_name;
    // Twins never share a resident ID, and theirs differ in the sequence digits and the
    // check digit: the same ID, or one a typing error away, rules them out.
    let same_id = matches!(c.resident_id, Some(IdLevel::Exact | IdLevel::Typo));
    c.birth == Some(BirthLevel::Exact) && household && (given_differs || multiple) && !same_id
}

/// Twins share a family name: the same characters or pinyin, or pinyin a typing error
/// apart.
fn family_shared(a: &Record, b: &Record) -> bool {
    let same = |x: &Option<String>, y: &Option<String>| x.is_some() && x == y;
    same(&a.family, &b.family)
        || same(&a.family_py, &b.family_py)
        || a.family_py
            .as_deref()
            .zip(b.family_py.as_deref())
            .is_some_and(|(x, y)| {
                (a.family.is_none() || b.family.is_none()) && crate::compare::within_one_edit(x, y)
            })
}

/// Given names that sound different as twins' do: characters read differently (大伟 and
/// 小伟), or pinyin more than a typing error apart when either side is written only in
/// letters.
fn given_differs(a: &Record, b: &Record) -> bool {
    let (Some(x), Some(y)) = (a.given_py.as_deref(), b.given_py.as_deref()) else {
        return false;
    };
    let in_characters = a.given.is_some() && b.given.is_some();
    x != y && (in_characters || !crate::compare::within_one_edit(x, y))
}

fn rests_on_phone(c: &Comparison, score: &Score) -> bool {
    let Some(phone) = score.part(crate::compare::Field::Phone) else {
        return false;
    };
    let largest = score.parts.iter().all(|p| p.2 <= phone);
    let names_disagree = matches!(c.name, Some(NameLevel::SameFamily | NameLevel::Different));
    largest && names_disagree
}

/// Persons as union-find over registrations, each person carrying its trusted resident IDs.
#[derive(Clone, Debug, Default)]
struct Persons {
    parent: Vec<u32>,
    ids: Vec<Vec<String>>,
}

impl Persons {
    fn new(records: &[Record]) -> Persons {
        let mut p = Persons::default();
        for r in records {
            p.push(r);
        }
        p
    }

    /// Adds a registration as a person of its own.
    fn push(&mut self, r: &Record) {
        let i = self.parent.len() as u32;
        self.parent.push(i);
        self.ids.push(
            r.resident_id
                .iter()
                .filter(|_| trusted(r))
                .cloned()
                .collect(),
        );
    }

    fn find(&mut self, mut i: u32) -> u32 {
        while self.parent[i as usize] != i {
            let up = self.parent[self.parent[i as usize] as usize];
            self.parent[i as usize] = up;
            i = up;
        }
        i
    }

    /// Joins the persons of `a` and `b`; false (and nothing joined) if their IDs conflict.
    fn union(&mut self, a: u32, b: u32) -> bool {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return true;
        }
        let (x, y) = (&self.ids[ra as usize], &self.ids[rb as usize]);
        if x.iter()
            .any(|p| y.iter().any(|q| crate::id::diff(p, q) == IdDiff::Different))
        {
            return false;
        }
        let (keep, gone) = (ra.min(rb), ra.max(rb));
        let moved = std::mem::take(&mut self.ids[gone as usize]);
        for id in moved {
            if !self.ids[keep as usize].contains(&id) {
                self.ids[keep as usize].push(id);
            }
        }
        self.parent[gone as usize] = keep;
        true
    }

    /// Each record's smallest fellow member.
    fn canonical(&mut self) -> Vec<u32> {
        let n = self.parent.len() as u32;
        let mut smallest: HashMap<u32, u32> = HashMap::new();
        for i in 0..n {
            let root = self.find(i);
            smallest.entry(root).or_insert(i);
        }
        (0..n).map(|i| smallest[&self.find(i)]).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::{compare, tests::record};
    use expect_test::expect;

    #[test]
    fn twins_and_typing_errors() {
        let home = "birth=2015-06-01 addr=朝阳区和平里东街12号";
        let cases = [
            // Chinese twins: one character apart, or sharing only the family name.
            ("name=王/大伟 py=wang/dawei", "name=王/小伟 py=wang/xiaowei"),
            (
                "name=王/晓明 py=wang/xiaoming",
                "name=王/晓鸣 py=wang/xiaoming2",
            ),
            // A homophone is a typing error, not a twin.
            (
                "name=王/晓明 py=wang/xiaoming",
                "name=王/小明 py=wang/xiaoming",
            ),
            // Letters only: one letter apart is a typing error; a different name is a twin,
            // even when the family name is mistyped too.
            ("py=lowry/amelia", "py=lowry/ameljia"),
            ("py=reid/naomi", "py=rei/max"),
            // The given name agrees; the family is mistyped.
            ("py=badalassi/jacob", "py=badalsssi/jacob"),
        ];
        let out: Vec<String> = cases
            .iter()
            .map(|(x, y)| {
                let (a, b) = (
                    record(&format!("{x} {home}")),
                    record(&format!("{y} {home}")),
                );
                let twins = possible_twins(&a, &b, &compare(&a, &b));
                format!("{x} | {y}: {}", if twins { "twins?" } else { "-" })
            })
            .collect();
        expect![[r#"
            name=王/大伟 py=wang/dawei | name=王/小伟 py=wang/xiaowei: twins?
            name=王/晓明 py=wang/xiaoming | name=王/晓鸣 py=wang/xiaoming2: twins?
            name=王/晓明 py=wang/xiaoming | name=王/小明 py=wang/xiaoming: -
            py=lowry/amelia | py=lowry/ameljia: -
            py=reid/naomi | py=rei/max: twins?
            py=badalassi/jacob | py=badalsssi/jacob: -
        "#]]
        .assert_eq(&(out.join("\n") + "\n"));
    }
}
