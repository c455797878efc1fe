//! The Fellegi–Sunter model, as Splink fits it: for every field level, m (the chance of that
//! level between two registrations of one person) and u (between two different people);
//! a comparison weighs log2(m/u) per field plus the prior's log odds. u is estimated from
//! random pairs, m by EM over the blocked candidate pairs with u held fixed. Exact names,
//! phones and addresses are weighed by how common the value is. The model scores; it never
//! decides (that is `cluster`), and it must never take log(0): every probability is floored.

use crate::compare::{self, AddressLevel, Agreement, BirthLevel, Comparison, Field, NameLevel};
use crate::record::Record;
use std::collections::{HashMap, HashSet};
use std::fmt;

/// Probabilities per field (indexed by [`Field::index`]) per level.
#[derive(Clone, Debug, PartialEq)]
pub struct Probabilities(pub [Vec<f64>; 8]);

/// u: level probabilities between different people, and one conditional: how often two
/// different people who share a phone also share the address (a household shares both, so
/// the second agreement is barely new evidence).
#[derive(Clone, Debug, PartialEq)]
pub struct U {
    pub levels: Probabilities,
    pub address_given_phone: f64,
}
/// m: level probabilities between registrations of one person.
pub type M = Probabilities;

/// Decision thresholds on the match probability.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Thresholds {
    pub review: f64,
    pub link: f64,
}

impl Default for Thresholds {
    /// Link at 0.999 (a match weight of about 10), review from 0.5 (weight 0). On the
    /// synthetic region true pairs score far above 20 and cross-person pairs far below 0;
    /// what lands between is mostly households and twins, which review is for.
    fn default() -> Thresholds {
        Thresholds {
            review: 0.5,
            link: 0.999,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    pub m: M,
    pub u: U,
    /// The share of candidate pairs that are matches.
    pub prior: f64,
    pub version: String,
    pub thresholds: Thresholds,
}

/// A scored comparison: its explanation is the list of parts.
#[derive(Clone, Debug, PartialEq)]
pub struct Score {
    /// log2 Bayes factor including the prior odds.
    pub total: f64,
    pub probability: f64,
    /// Field, level name, and that level's weight (log2 m/u), for fields present on both sides.
    pub parts: Vec<(Field, &'static str, f64)>,
}

/// How many distinct people share each name, phone and address: the weight of an exact
/// agreement falls with the value's frequency (王伟 weighs less than a rare name; a family
/// or clinic phone weighs little).
#[derive(Clone, Debug, Default)]
pub struct TermFrequencies {
    names: HashMap<String, u32>,
    pinyin: HashMap<String, u32>,
    families: HashMap<String, u32>,
    phones: HashMap<String, u32>,
    addresses: HashMap<String, u32>,
    /// Distinct people (approximated by distinct name and birth date).
    people: u32,
}

pub const M_FLOOR: f64 = 1e-5;
pub const U_FLOOR: f64 = 1e-7;

/// Below this many registrations the data cannot fit a model (EM over a handful of pairs,
/// u sampled among a few people who are mostly the same person), so a reference model is
/// used, and term frequencies are not.
pub const MIN_FIT: usize = 500;

impl Model {
    pub const VERSION: &str = "fs-1";

    /// A model; its version names the method and a digest of the fitted parameters, so a
    /// link's provenance says which fit made it.
    pub fn new(m: M, u: U, prior: f64) -> Model {
        let prior = prior.clamp(1e-12, 1.0 - M_FLOOR);
        let mut digest: u64 = 0xcbf2_9ce4_8422_2325;
        let values = m.0.iter().chain(u.levels.0.iter()).flatten();
        for v in values.chain([&u.address_given_phone, &prior]) {
            for b in v.to_bits().to_le_bytes() {
                digest = (digest ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
            }
        }
        Model {
            m,
            u,
            prior,
            version: format!("{}.{:08x}", Model::VERSION, digest as u32),
            thresholds: Thresholds::default(),
        }
    }

    /// The model a region starts with, before it has registrations enough to fit one:
    /// m at [`Probabilities::initial_m`], u as in a city of millions (a name shared by one
    /// in ten thousand, a birth date by one in thirty thousand, a resident ID by nobody
    /// else), and a small prior.
    pub fn reference() -> Model {
        let levels = Probabilities([
            vec![1e-4, 2e-5, 1e-6, 5e-4, 2e-3, 3e-2, 3e-3, 0.964],
            vec![3.5e-5, 1e-6, 4e-3, 0.996],
            vec![0.5, 0.5],
            vec![1e-7, 1e-6, 1.0],
            vec![1e-7, 1.0],
            vec![1e-5, 1.0],
            vec![1e-4, 1e-5, 1e-4, 1.0],
            vec![1e-2, 0.99],
        ]);
        let u = U {
            levels,
            address_given_phone: 0.5,
        };
        Model::new(Probabilities::initial_m(), u, 1e-5)
    }

    /// Scores a comparison, with term-frequency adjustment when the two records' rarities
    /// are given.
    pub fn weight(&self, c: &Comparison, tf: Option<(&Rarity, &Rarity)>) -> Score {
        let mut total = log_odds(self.prior);
        let mut parts = Vec::with_capacity(Field::ALL.len());
        for field in Field::ALL {
            let Some(level) = c.level(field) else {
                continue;
            };
            let m = self.m.get(field, level);
            // Both sides carry the same value at an exact level; max keeps the weight symmetric.
            let u = self.u.conditional(c, field, level).unwrap_or_else(|| {
                tf.and_then(|(a, b)| Some(a.u(field, level)?.max(b.u(field, level)?)))
                    .unwrap_or_else(|| self.u.get(field, level))
            });
            let mut w = (m / u.max(U_FLOOR)).log2();
            if field == Field::Address && level == AddressLevel::Exact as usize {
                // An exact address is at least the evidence of a near one: the whole text
                // agreeing is rarer among matches than most of it agreeing, which must not
                // make it count for less.
                for near in [AddressLevel::HighOverlap, AddressLevel::Overlap] {
                    let l = near as usize;
                    w = w.max((self.m.get(field, l) / self.u.get(field, l).max(U_FLOOR)).log2());
                }
            }
            total += w;
            parts.push((field, field.levels()[level], w));
        }
        Score {
            total,
            probability: probability(total),
            parts,
        }
    }
}

/// How common one record's values are: the term-frequency u an exact agreement on each
/// would get. Looked up once per record, not once per pair.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Rarity {
    pub name: Option<f64>,
    pub pinyin: Option<f64>,
    pub phone: Option<f64>,
    pub address: Option<f64>,
}

impl Rarity {
    fn u(&self, field: Field, level: usize) -> Option<f64> {
        match (field, level) {
            (Field::Name, l) if l == NameLevel::ExactChars as usize => self.name,
            (Field::Name, l) if l == NameLevel::SamePinyin as usize => self.pinyin,
            (Field::Phone, 0) => self.phone,
            (Field::Address, 0) => self.address,
            _ => None,
        }
    }
}

impl Score {
    pub fn part(&self, field: Field) -> Option<f64> {
        self.parts.iter().find(|p| p.0 == field).map(|p| p.2)
    }
}

impl fmt::Display for Score {
    /// `12.3 (p=0.99980): Name=ExactChars +8.1, Birth=Exact +9.2, ...`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.1} (p={:.5}):", self.total, self.probability)?;
        for (i, (field, level, w)) in self.parts.iter().enumerate() {
            let sep = if i == 0 { " " } else { ", " };
            write!(f, "{sep}{field:?}={level} {w:+.1}")?;
        }
        Ok(())
    }
}

impl Probabilities {
    pub fn get(&self, field: Field, level: usize) -> f64 {
        self.0[field.index()][level]
    }

    /// Sensible starting m: most mass on exact agreement, a little on each near miss.
    pub fn initial_m() -> M {
        Probabilities([
            vec![0.85, 0.06, 0.01, 0.03, 0.02, 0.01, 0.01, 0.01],
            vec![0.95, 0.02, 0.02, 0.01],
            vec![0.99, 0.01],
            vec![0.9, 0.05, 0.05],
            vec![0.9, 0.1],
            vec![0.8, 0.2],
            vec![0.8, 0.05, 0.05, 0.1],
            vec![0.9, 0.1],
        ])
    }

    fn zeros() -> Probabilities {
        Probabilities(Field::ALL.map(|f| vec![0.0; f.levels().len()]))
    }

    /// Turns counts into probabilities per field, each level at least `floor`.
    fn normalized(mut self, floor: f64) -> Probabilities {
        for levels in &mut self.0 {
            let n: f64 = levels.iter().sum();
            for p in levels.iter_mut() {
                *p = if n > 0.0 { (*p / n).max(floor) } else { floor };
            }
        }
        self
    }
}

impl U {
    pub fn get(&self, field: Field, level: usize) -> f64 {
        self.levels.get(field, level)
    }

    /// u given the other levels of `c`, where fields are known to be correlated.
    fn conditional(&self, c: &Comparison, field: Field, level: usize) -> Option<f64> {
        let exact = Some(Agreement::Exact);
        (field == Field::Address && level == AddressLevel::Exact as usize && c.phone == exact)
            .then_some(self.address_given_phone)
    }
}

impl TermFrequencies {
    pub fn new(records: &[Record]) -> TermFrequencies {
        let ids: Vec<String> = records.iter().map(identity).collect();
        TermFrequencies {
            names: distinct(records, &ids, |r| {
                full(r.family.as_deref(), r.given.as_deref())
            }),
            pinyin: distinct(records, &ids, |r| {
                full(r.family_py.as_deref(), r.given_py.as_deref())
            }),
            families: distinct(records, &ids, |r| r.family_py.clone()),
            phones: distinct(records, &ids, |r| r.phone.clone()),
            addresses: distinct(records, &ids, |r| r.address.clone()),
            people: ids.iter().collect::<HashSet<_>>().len() as u32,
        }
    }

    /// How many distinct people carry this family name (pinyin).
    pub fn family_count(&self, family_py: &str) -> u32 {
        self.families.get(family_py).copied().unwrap_or(0)
    }

    /// How common `r`'s values are.
    pub fn rarity(&self, r: &Record) -> Rarity {
        if (self.people as usize) < MIN_FIT {
            return Rarity::default();
        }
        let people = f64::from(self.people.max(1));
        let u = |table: &HashMap<String, u32>, value: Option<String>| {
            let count = value
                .and_then(|v| table.get(&v).copied())
                .unwrap_or(1)
                .max(1);
            f64::from(count) / people
        };
        let chars = full(r.family.as_deref(), r.given.as_deref());
        let pinyin = full(r.family_py.as_deref(), r.given_py.as_deref());
        Rarity {
            name: chars.is_some().then(|| u(&self.names, chars)),
            pinyin: pinyin.is_some().then(|| u(&self.pinyin, pinyin)),
            phone: r.phone.is_some().then(|| u(&self.phones, r.phone.clone())),
            address: r
                .address
                .is_some()
                .then(|| u(&self.addresses, r.address.clone())),
        }
    }
}

/// u from `samples` random pairs of distinct records (seeded; deterministic).
/// The conditional is counted, not sampled: over all pairs of different people (by name
/// and birth date) sharing a phone, in phone groups of at most [`MAX_PHONE_GROUP`].
pub fn estimate_u(records: &[Record], seed: u64, samples: usize) -> U {
    U {
        levels: sample_u(records, seed, samples),
        address_given_phone: address_given_phone(records),
    }
}

/// Phone numbers shared by more registrations are left out of the conditional u.
pub const MAX_PHONE_GROUP: usize = 200;

fn sample_u(records: &[Record], seed: u64, samples: usize) -> Probabilities {
    let mut counts = Probabilities::zeros();
    let n = records.len() as u64;
    if n < 2 {
        return counts.normalized(U_FLOOR);
    }
    let mut rng = SplitMix64(seed);
    for _ in 0..samples {
        let i = rng.below(n);
        let j = (i + 1 + rng.below(n - 1)) % n;
        let c = compare::compare(&records[i as usize], &records[j as usize]);
        add(&mut counts, &c, 1.0);
    }
    let floor = (0.5 / samples.max(1) as f64).max(U_FLOOR);
    counts.normalized(floor)
}

/// m and the prior by EM over candidate-pair comparisons, u fixed: at most `iterations`
/// rounds, stopping when no probability moves by 1e-6.
pub fn estimate_m(pairs: &[Comparison], u: &U, iterations: usize) -> (M, f64) {
    estimate_m_without(pairs, u, iterations, None)
}

/// EM as in [`estimate_m`], with one field left out of the likelihood: the field the
/// training pairs were selected on, whose agreement then says nothing (its m is not
/// estimated and stays at the starting value).
pub fn estimate_m_without(
    pairs: &[Comparison],
    u: &U,
    iterations: usize,
    without: Option<Field>,
) -> (M, f64) {
    let patterns = patterns(pairs);
    let mut m = Probabilities::initial_m();
    let mut prior = 0.1;
    for _ in 0..iterations {
        let mut counts = Probabilities::zeros();
        let mut matches = 0.0;
        for (c, n) in &patterns {
            let p = match_probability(c, &m, u, prior, without);
            add(&mut counts, c, p * n);
            matches += p * n;
        }
        let mut next_m = counts.normalized(M_FLOOR);
        if let Some(f) = without {
            next_m.0[f.index()] = Probabilities::initial_m().0[f.index()].clone();
        }
        let next_prior = (matches / pairs.len().max(1) as f64).clamp(M_FLOOR, 1.0 - M_FLOOR);
        let change = max_change(&m, &next_m).max((prior - next_prior).abs());
        (m, prior) = (next_m, next_prior);
        if change < 1e-6 {
            break;
        }
    }
    (m, prior)
}

/// Trains m as Splink does, in sessions that each select pairs by one field and estimate
/// the others, so that pairs agreeing on what every household shares (phone, address,
/// family name) cannot pass for matches: pairs with the same name (characters or pinyin)
/// give m for every field but the name; pairs with the same birth date give m for every
/// field but the birth date. A field estimated in both takes the mean. The prior is then
/// fitted over all `pairs` with m and u fixed.
pub fn train(pairs: &[Comparison], u: &U, iterations: usize) -> (M, f64) {
    let same_name =
        |c: &&Comparison| matches!(c.name, Some(NameLevel::ExactChars | NameLevel::SamePinyin));
    let same_birth = |c: &&Comparison| c.birth == Some(BirthLevel::Exact);
    let by_name: Vec<Comparison> = pairs.iter().filter(same_name).copied().collect();
    let by_birth: Vec<Comparison> = pairs.iter().filter(same_birth).copied().collect();
    let (m_name, _) = estimate_m_without(&by_name, u, iterations, Some(Field::Name));
    let (m_birth, _) = estimate_m_without(&by_birth, u, iterations, Some(Field::Birth));
    let mut m = Probabilities::zeros();
    for f in Field::ALL {
        let i = f.index();
        m.0[i] = match f {
            Field::Name => m_birth.0[i].clone(),
            Field::Birth => m_name.0[i].clone(),
            _ => m_name.0[i]
                .iter()
                .zip(&m_birth.0[i])
                .map(|(x, y)| (x + y) / 2.0)
                .collect(),
        };
    }
    let prior = estimate_prior(pairs, &m, u, iterations);
    (m, prior)
}

/// The chance that two registrations drawn at random are one person, from the share of
/// matches EM found among the `candidates` blocked pairs of `records` registrations
/// (blocking misses few matches). Scoring with the candidates' own prior would count the
/// agreement that made a pair a candidate twice: a shared birth date and family name alone
/// would look like a match.
pub fn prior_over_all_pairs(prior: f64, candidates: usize, records: usize) -> f64 {
    let all = records as f64 * (records as f64 - 1.0) / 2.0;
    (prior * candidates as f64 / all.max(1.0)).clamp(1e-12, 1.0 - M_FLOOR)
}

/// The share of matches among `pairs`, by EM on the prior alone.
pub fn estimate_prior(pairs: &[Comparison], m: &M, u: &U, iterations: usize) -> f64 {
    let patterns = patterns(pairs);
    let mut prior = 0.1;
    for _ in 0..iterations {
        let total: f64 = patterns
            .iter()
            .map(|(c, n)| match_probability(c, m, u, prior, None) * n)
            .sum();
        let next = (total / pairs.len().max(1) as f64).clamp(M_FLOOR, 1.0 - M_FLOOR);
        let change = (next - prior).abs();
        prior = next;
        if change < 1e-6 {
            break;
        }
    }
    prior
}

/// A seeded splitmix64: the only randomness in the crate.
#[derive(Clone, Debug)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`), by widening multiplication.
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }
}

fn log_odds(p: f64) -> f64 {
    (p / (1.0 - p)).log2()
}

fn probability(total: f64) -> f64 {
    1.0 / (1.0 + (-total).exp2())
}

fn match_probability(c: &Comparison, m: &M, u: &U, prior: f64, without: Option<Field>) -> f64 {
    let mut w = log_odds(prior);
    for field in Field::ALL.into_iter().filter(|f| Some(*f) != without) {
        if let Some(l) = c.level(field) {
            let u = u
                .conditional(c, field, l)
                .unwrap_or_else(|| u.get(field, l));
            w += (m.get(field, l) / u).log2();
        }
    }
    probability(w)
}

fn address_given_phone(records: &[Record]) -> f64 {
    let mut groups: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, r) in records.iter().enumerate() {
        if let Some(p) = &r.phone {
            groups.entry(p).or_default().push(i);
        }
    }
    let ids: Vec<String> = records.iter().map(identity).collect();
    let (mut pairs, mut same) = (0u64, 0u64);
    for group in groups.values().filter(|g| g.len() <= MAX_PHONE_GROUP) {
        for (x, &i) in group.iter().enumerate() {
            for &j in &group[x + 1..] {
                let (a, b) = (&records[i].address, &records[j].address);
                if ids[i] == ids[j] || a.is_none() || b.is_none() {
                    continue;
                }
                pairs += 1;
                same += u64::from(a == b);
            }
        }
    }
    if pairs == 0 {
        return 0.5;
    }
    (same as f64 / pairs as f64).clamp(U_FLOOR, 1.0)
}

/// The distinct comparison patterns among `pairs`, with how often each occurs: EM over a
/// few hundred patterns instead of millions of pairs, with the same result. Sorted, so the
/// floating-point sums do not depend on hashing.
fn patterns(pairs: &[Comparison]) -> Vec<(Comparison, f64)> {
    let mut counts: HashMap<Comparison, f64> = HashMap::new();
    for c in pairs {
        *counts.entry(*c).or_default() += 1.0;
    }
    let mut out: Vec<(Comparison, f64)> = counts.into_iter().collect();
    out.sort_by_key(|(c, _)| Field::ALL.map(|f| c.level(f).map_or(0, |l| l + 1)));
    out
}

fn add(counts: &mut Probabilities, c: &Comparison, by: f64) {
    for field in Field::ALL {
        if let Some(l) = c.level(field) {
            counts.0[field.index()][l] += by;
        }
    }
}

fn max_change(a: &Probabilities, b: &Probabilities) -> f64 {
    a.0.iter()
        .flatten()
        .zip(b.0.iter().flatten())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

fn full(family: Option<&str>, given: Option<&str>) -> Option<String> {
    Some(format!("{}{}", family?, given?))
}

/// A stand-in for the person: pinyin name and birth date, else the registration itself.
fn identity(r: &Record) -> String {
    match (full(r.family_py.as_deref(), r.given_py.as_deref()), r.birth) {
        (Some(name), Some(b)) => format!("{name}|{}-{}-{}", b.year, b.month, b.day),
        _ => r.key.clone(),
    }
}

fn distinct(
    records: &[Record],
    ids: &[String],
    value: impl Fn(&Record) -> Option<String>,
) -> HashMap<String, u32> {
    let pairs: HashSet<(String, &str)> = records
        .iter()
        .zip(ids)
        .filter_map(|(r, id)| Some((value(r)?, id.as_str())))
        .collect();
    let mut counts = HashMap::new();
    for (v, _) in pairs {
        *counts.entry(v).or_insert(0) += 1;
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::tests::record;
    use expect_test::{Expect, expect};

    fn model() -> Model {
        let levels = Probabilities([
            vec![0.0005, 0.0001, 0.00001, 0.001, 0.001, 0.05, 0.003, 0.9444],
            vec![0.00004, 0.00001, 0.003, 0.99695],
            vec![0.5, 0.5],
            vec![0.000001, 0.000001, 0.999998],
            vec![0.000001, 0.999999],
            vec![0.0002, 0.9998],
            vec![0.0005, 0.002, 0.01, 0.9875],
            vec![0.001, 0.999],
        ]);
        let u = U {
            levels,
            address_given_phone: 0.9,
        };
        Model::new(Probabilities::initial_m(), u, 0.2)
    }

    #[track_caller]
    fn check(a: &str, b: &str, tf: bool, expect: Expect) {
        let (a, b) = (record(a), record(b));
        let population: Vec<Record> = (0..50)
            .map(|i| {
                record(&format!(
                    "name=王/伟 py=wang/wei birth=1990-01-{:02} phone=13800001111 key={i}",
                    1 + i % 28
                ))
            })
            // Enough other people for term frequencies to count (see MIN_FIT).
            .chain((0..MIN_FIT).map(|i| {
                record(&format!(
                    "name=赵/{i} py=zhao/x{i} birth=1970-01-01 phone=139{i:08} key=f{i}"
                ))
            }))
            .chain([a.clone(), b.clone()])
            .collect();
        let frequencies = TermFrequencies::new(&population);
        let c = compare::compare(&a, &b);
        let (ra, rb) = (frequencies.rarity(&a), frequencies.rarity(&b));
        let score = model().weight(&c, tf.then_some((&ra, &rb)));
        expect.assert_eq(&score.to_string());
    }

    #[test]
    fn weights_and_explanations() {
        check(
            "name=李/安琪 py=li/anqi birth=1980-05-03 sex=F phone=13912345678",
            "name=李/安琪 py=li/anqi birth=1980-05-03 sex=F phone=13912345678",
            false,
            expect![
                "36.2 (p=1.00000): Name=ExactChars +10.7, Birth=Exact +14.5, Sex=Agree +1.0, Phone=Exact +12.0"
            ],
        );
        check(
            "name=李/安琪 py=li/anqi birth=1980-05-03 sex=F",
            "name=王/伟 py=wang/wei birth=1971-02-01 sex=M",
            false,
            expect![
                "-20.8 (p=0.00000): Name=Different -6.6, Birth=Different -6.6, Sex=Disagree -5.6"
            ],
        );
    }

    #[test]
    fn common_values_weigh_less() {
        // 王伟 and the phone are shared by fifty of 550 people in the population; 李安琪 by
        // none.
        check(
            "name=王/伟 py=wang/wei birth=1980-05-03 phone=13800001111",
            "name=王/伟 py=wang/wei birth=1980-05-03 phone=13800001111",
            true,
            expect!["20.4 (p=1.00000): Name=ExactChars +4.0, Birth=Exact +14.5, Phone=Exact +3.9"],
        );
        check(
            "name=李/安琪 py=li/anqi birth=1980-05-03 phone=13912345678",
            "name=李/安琪 py=li/anqi birth=1980-05-03 phone=13912345678",
            true,
            expect!["30.1 (p=1.00000): Name=ExactChars +8.8, Birth=Exact +14.5, Phone=Exact +8.7"],
        );
    }

    #[test]
    fn em_recovers_m_and_the_prior() {
        // 300 pairs agreeing on name, birth and phone (matches), 700 agreeing on nothing.
        let same = record("name=李/安琪 py=li/anqi birth=1980-05-03 sex=F phone=1");
        let other = record("name=王/伟 py=wang/wei birth=1971-02-01 sex=M phone=2");
        let matches = compare::compare(&same, &same);
        let non = compare::compare(&same, &other);
        let pairs: Vec<Comparison> = (0..1000)
            .map(|i| if i % 10 < 3 { matches } else { non })
            .collect();
        let (m, prior) = estimate_m(&pairs, &model().u, 50);
        expect!["prior 0.300, m(Name=ExactChars) 1.000, m(Phone=Exact) 1.000"].assert_eq(&format!(
            "prior {prior:.3}, m(Name=ExactChars) {:.3}, m(Phone=Exact) {:.3}",
            m.get(Field::Name, 0),
            m.get(Field::Phone, 0)
        ));
    }

    #[test]
    fn u_by_sampling_is_deterministic() {
        let records: Vec<Record> = (0..40)
            .map(|i| {
                record(&format!(
                    "py=wang/w{} birth=1990-01-{:02} sex={}",
                    i % 7,
                    1 + i % 5,
                    if i % 2 == 0 { "M" } else { "F" }
                ))
            })
            .collect();
        let u = estimate_u(&records, 7, 2000);
        assert_eq!(u, estimate_u(&records, 7, 2000));
        let sex = u.get(Field::Sex, 0);
        assert!((0.45..0.55).contains(&sex), "{sex}");
        let mut rng = SplitMix64(1);
        expect!["[5, 7, 9, 4, 4]"].assert_eq(&format!(
            "{:?}",
            (0..5).map(|_| rng.below(10)).collect::<Vec<_>>()
        ));
    }
}
