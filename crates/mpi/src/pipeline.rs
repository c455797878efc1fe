//! The whole index in two shapes. [`link_all`] fits the model on a batch of registrations
//! (u by sampling, m by EM over the blocked pairs) and groups them into persons: the batch
//! re-link after a model change. [`Index`] holds a fitted model and every registration, and
//! matches one more as it arrives: the real-time path behind `$match` and the identity
//! feed. Both decide through `cluster::decide`, so a pair gets the same verdict either way.

use crate::block::{self, BlockIndex, Candidates};
use crate::cluster::{self, Clusters, Decision, GenericNumbers, Scored, Verdict};
use crate::compare::{self, Comparison};
use crate::model::{self, Model, Rarity, Score, TermFrequencies, Thresholds};
use crate::record::Record;
use std::collections::HashMap;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug)]
pub struct Settings {
    /// Seeds the sampling of u.
    pub seed: u64,
    pub u_samples: usize,
    /// Blocks larger than this are not expanded (a generic phone, a very common name).
    pub max_block: usize,
    pub em_iterations: usize,
    /// The operating point: auto-link and review thresholds on the match probability.
    pub thresholds: Thresholds,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            seed: 2026,
            u_samples: 200_000,
            max_block: 1000,
            em_iterations: 50,
            thresholds: Thresholds::default(),
        }
    }
}

/// What the model needs besides m and u: value frequencies and generic numbers.
#[derive(Clone, Debug)]
pub struct Fitted {
    pub model: Model,
    pub tf: TermFrequencies,
    pub generic: GenericNumbers,
}

impl Fitted {
    /// Scores and decides one pair.
    pub fn judge(&self, a: &Record, b: &Record) -> (Comparison, Score, Verdict) {
        self.judge_with(a, &self.tf.rarity(a), b, &self.tf.rarity(b))
    }

    /// [`Fitted::judge`] with the records' rarities already looked up.
    pub fn judge_with(
        &self,
        a: &Record,
        ra: &Rarity,
        b: &Record,
        rb: &Rarity,
    ) -> (Comparison, Score, Verdict) {
        let c = compare::compare(a, b);
        let score = self.model.weight(&c, Some((ra, rb)));
        let verdict = cluster::decide(a, b, &c, &score, &self.model, &self.generic);
        (c, score, verdict)
    }
}

/// A batch run: the fitted model, every candidate pair scored and decided, the persons.
pub struct Batch {
    pub fitted: Fitted,
    pub candidates: Candidates,
    /// The candidate pairs decided Link or Review (NoLink pairs are only counted: at a
    /// million registrations they are tens of millions).
    pub scored: Vec<Scored>,
    pub no_link: usize,
    pub clusters: Clusters,
    pub timings: Vec<(&'static str, Duration)>,
}

/// Fits the model on `records` and links them.
pub fn link_all(records: &[Record], settings: &Settings) -> Batch {
    let mut timings = Vec::new();
    let mut t = Instant::now();
    let mut lap = |name, timings: &mut Vec<_>| {
        timings.push((name, t.elapsed()));
        t = Instant::now();
    };
    let tf = TermFrequencies::new(records);
    let generic = GenericNumbers::new(records, cluster::GENERIC_LIMIT);
    let u = model::estimate_u(records, settings.seed, settings.u_samples);
    lap("frequencies and u", &mut timings);
    let candidates = block::candidate_pairs(records, settings.max_block);
    lap("blocking", &mut timings);
    let comparisons: Vec<Comparison> = parallel(&candidates.pairs, |&(a, b)| {
        compare::compare(&records[a as usize], &records[b as usize])
    });
    lap("comparing", &mut timings);
    let mut model = if records.len() < model::MIN_FIT {
        Model::reference()
    } else {
        let (m, prior) = model::train(&comparisons, &u, settings.em_iterations);
        let prior = model::prior_over_all_pairs(prior, comparisons.len(), records.len());
        Model::new(m, u, prior)
    };
    model.thresholds = settings.thresholds;
    let fitted = Fitted { model, tf, generic };
    lap("EM", &mut timings);
    let rarity: Vec<Rarity> = records.iter().map(|r| fitted.tf.rarity(r)).collect();
    let work: Vec<((u32, u32), Comparison)> =
        candidates.pairs.iter().copied().zip(comparisons).collect();
    let scored: Vec<Vec<Scored>> = parallel_chunks(&work, |chunk| {
        chunk
            .iter()
            .filter_map(|&((a, b), comparison)| {
                let (x, y) = (&records[a as usize], &records[b as usize]);
                let tf = (&rarity[a as usize], &rarity[b as usize]);
                let score = fitted.model.weight(&comparison, Some(tf));
                let verdict =
                    cluster::decide(x, y, &comparison, &score, &fitted.model, &fitted.generic);
                (verdict.decision != Decision::NoLink).then_some(Scored {
                    a,
                    b,
                    comparison,
                    score,
                    verdict,
                })
            })
            .collect()
    });
    let scored: Vec<Scored> = scored.into_iter().flatten().collect();
    let no_link = work.len() - scored.len();
    drop(work);
    lap("scoring and deciding", &mut timings);
    let clusters = cluster::link(records, &scored);
    lap("clustering", &mut timings);
    Batch {
        fitted,
        candidates,
        scored,
        no_link,
        clusters,
        timings,
    }
}

/// `f` over `items` on every core, results in order (so deterministic).
fn parallel<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    parallel_chunks(items, |chunk| chunk.iter().map(&f).collect::<Vec<R>>())
        .into_iter()
        .flatten()
        .collect()
}

/// `f` over one chunk of `items` per core, the chunks' results in order.
fn parallel_chunks<T: Sync, R: Send>(items: &[T], f: impl Fn(&[T]) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if threads == 1 || items.len() < 10_000 {
        return vec![f(items)];
    }
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(items.len().div_ceil(threads))
            .map(|chunk| scope.spawn(move || f(chunk)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a worker panicked"))
            .collect()
    })
}

/// One registration an incoming one was compared with.
#[derive(Clone, Debug)]
pub struct Match {
    pub record: u32,
    pub comparison: Comparison,
    pub score: Score,
    pub verdict: Verdict,
}

/// Every registration, blocked, with a fitted model: matches new registrations one by one.
pub struct Index {
    pub fitted: Fitted,
    records: Vec<Record>,
    rarity: Vec<Rarity>,
    blocks: BlockIndex,
    by_key: HashMap<String, u32>,
}

impl Index {
    pub fn new(fitted: Fitted, max_block: usize) -> Index {
        Index {
            fitted,
            records: Vec::new(),
            rarity: Vec::new(),
            blocks: BlockIndex::new(max_block),
            by_key: HashMap::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    pub fn record(&self, i: u32) -> &Record {
        &self.records[i as usize]
    }

    pub fn position(&self, key: &str) -> Option<u32> {
        self.by_key.get(key).copied()
    }

    /// Adds a registration, or replaces the one with the same key (an update). Returns its
    /// number and its matches among the registrations indexed before it.
    pub fn upsert(&mut self, r: Record) -> (u32, Vec<Match>) {
        let matches = self.matches(&r);
        let i = match self.by_key.get(&r.key) {
            Some(&i) => {
                self.blocks.insert(i, &r);
                self.rarity[i as usize] = self.fitted.tf.rarity(&r);
                self.records[i as usize] = r;
                i
            }
            None => {
                let i = self.records.len() as u32;
                self.blocks.insert(i, &r);
                self.by_key.insert(r.key.clone(), i);
                self.rarity.push(self.fitted.tf.rarity(&r));
                self.records.push(r);
                i
            }
        };
        (i, matches)
    }

    /// The indexed registrations sharing a blocking key with `r` that are not NoLink,
    /// best first (never `r` itself, by key).
    pub fn matches(&self, r: &Record) -> Vec<Match> {
        let rarity = self.fitted.tf.rarity(r);
        let mut out: Vec<Match> = self
            .blocks
            .candidates(r)
            .into_iter()
            .filter(|&i| self.records[i as usize].key != r.key)
            .filter_map(|i| {
                let (comparison, score, verdict) = self.fitted.judge_with(
                    r,
                    &rarity,
                    &self.records[i as usize],
                    &self.rarity[i as usize],
                );
                (verdict.decision != Decision::NoLink).then_some(Match {
                    record: i,
                    comparison,
                    score,
                    verdict,
                })
            })
            .collect();
        out.sort_by(|x, y| {
            y.score
                .total
                .total_cmp(&x.score.total)
                .then(x.record.cmp(&y.record))
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::tests::record;

    #[test]
    fn the_index_decides_as_the_batch_does() {
        let records: Vec<Record> = [
            "key=a name=张/伟 py=zhang/wei birth=1980-05-03 sex=M id=110105198005031234 phone=13800001111",
            "key=b name=章/伟 py=zhang/wei birth=1980-05-03 sex=M phone=13800001111",
            "key=c name=李/娜 py=li/na birth=1992-11-20 sex=F phone=13900002222",
            "key=d py=li/na birth=1992-11-20 sex=F phone=13900002222",
            "key=e name=王/芳 py=wang/fang birth=1975-01-09 sex=F",
        ]
        .iter()
        .map(|s| record(s))
        .collect();
        let batch = link_all(&records, &Settings::default());
        let mut index = Index::new(batch.fitted.clone(), 1000);
        for r in &records {
            let found = index.matches(r);
            for m in &found {
                let (a, b) = (
                    m.record.min(index.len() as u32),
                    m.record.max(index.len() as u32),
                );
                let batch_verdict = batch
                    .scored
                    .iter()
                    .find(|s| (s.a, s.b) == (a, b))
                    .map(|s| s.verdict);
                assert_eq!(
                    batch_verdict,
                    Some(m.verdict),
                    "{} vs {}",
                    r.key,
                    index.record(m.record).key
                );
            }
            let _ = index.upsert(r.clone());
        }
        assert_eq!(index.len(), 5);
        assert_eq!(index.upsert(records[0].clone()).0, 0);
        assert_eq!(index.position("e"), Some(4));
    }

    /// A region's first registrations are too few to fit a model on: the reference model
    /// decides, so the same valid resident ID still links and a mere namesake does not.
    #[test]
    fn a_new_region_links_with_the_reference_model() {
        let records: Vec<Record> = [
            "key=a name=王/伟 py=wang/wei birth=1980-01-01 sex=M id=110105198001010016",
            "key=b name=王/伟 py=wang/wei birth=1980-01-01 sex=M id=110105198001010016",
            "key=c name=王/伟 py=wang/wei birth=1985-06-30 sex=M",
        ]
        .iter()
        .map(|s| record(s))
        .collect();
        let batch = link_all(&records, &Settings::default());
        assert_eq!(batch.fitted.model.version, Model::reference().version);
        let decided: Vec<String> = batch
            .scored
            .iter()
            .map(|s| format!("{}-{} {:?}", s.a, s.b, s.verdict.decision))
            .collect();
        assert_eq!(decided, ["0-1 Link"], "{decided:?}");
        assert_eq!(batch.clusters.person_of[0], batch.clusters.person_of[1]);
        assert_ne!(batch.clusters.person_of[0], batch.clusters.person_of[2]);
    }
}
