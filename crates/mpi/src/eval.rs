//! Measuring the index against a ground truth: how many true pairs blocking kept, how
//! precise and complete the Link decisions and the final persons are (pairwise and
//! B-cubed), and how much is left for review. Evaluation only reads; it must not feed back
//! into decisions (tuning on the truth happens in tests, in the open).

use crate::block::Candidates;
use crate::cluster::{Clusters, Decision, Scored};
use std::collections::HashMap;
use std::fmt;

/// Pair counts: predicted pairs, true pairs, and those that are both.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Pairwise {
    pub predicted: usize,
    pub actual: usize,
    pub correct: usize,
}

/// B-cubed precision and recall: per record, the share of its predicted person that is truly
/// its person, and of its true person that was found; averaged over records.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BCubed {
    pub precision: f64,
    pub recall: f64,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    pub records: usize,
    pub persons: usize,
    pub candidates: usize,
    pub skipped_blocks: usize,
    /// True pairs among the candidate pairs.
    pub blocking: Pairwise,
    /// The Link decisions, as pairs.
    pub links: Pairwise,
    /// Pairs of records within one found person.
    pub clusters: Pairwise,
    pub bcubed: BCubed,
    pub review: usize,
    /// Review pairs that are truly one person.
    pub review_true: usize,
}

/// Compares the pipeline's output with `truth` (`truth[i]` is record `i`'s person).
pub fn evaluate(
    truth: &[u32],
    candidates: &Candidates,
    scored: &[Scored],
    clusters: &Clusters,
) -> Report {
    let same = |a: u32, b: u32| truth[a as usize] == truth[b as usize];
    let actual = pairs_within(truth);
    let count = |pairs: &mut dyn Iterator<Item = (u32, u32)>| {
        let (mut predicted, mut correct) = (0, 0);
        for (a, b) in pairs {
            predicted += 1;
            correct += usize::from(same(a, b));
        }
        Pairwise {
            predicted,
            actual,
            correct,
        }
    };
    let links = scored
        .iter()
        .filter(|s| s.verdict.decision == Decision::Link);
    Report {
        records: truth.len(),
        persons: distinct(truth),
        candidates: candidates.pairs.len(),
        skipped_blocks: candidates.skipped_blocks,
        blocking: count(&mut candidates.pairs.iter().copied()),
        links: count(&mut links.map(|s| (s.a, s.b))),
        clusters: Pairwise {
            predicted: pairs_within(&clusters.person_of),
            actual,
            correct: pairs_within_both(truth, &clusters.person_of),
        },
        bcubed: bcubed(truth, &clusters.person_of),
        review: clusters.review.len(),
        review_true: clusters.review.iter().filter(|r| same(r.0, r.1)).count(),
    }
}

impl Pairwise {
    pub fn precision(&self) -> f64 {
        ratio(self.correct, self.predicted)
    }

    pub fn recall(&self) -> f64 {
        ratio(self.correct, self.actual)
    }

    pub fn f1(&self) -> f64 {
        f1(self.precision(), self.recall())
    }
}

impl BCubed {
    pub fn f1(&self) -> f64 {
        f1(self.precision, self.recall)
    }
}

impl fmt::Display for Pairwise {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "precision {:.4} recall {:.4} F1 {:.4} ({} of {} predicted, {} true)",
            self.precision(),
            self.recall(),
            self.f1(),
            self.correct,
            self.predicted,
            self.actual
        )
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "records {} persons {}", self.records, self.persons)?;
        writeln!(
            f,
            "blocking: {} candidate pairs, recall {:.4} ({} of {} true pairs), {} blocks skipped",
            self.candidates,
            self.blocking.recall(),
            self.blocking.correct,
            self.blocking.actual,
            self.skipped_blocks
        )?;
        writeln!(f, "links:    {}", self.links)?;
        writeln!(f, "clusters: {}", self.clusters)?;
        writeln!(
            f,
            "b-cubed:  precision {:.4} recall {:.4} F1 {:.4}",
            self.bcubed.precision,
            self.bcubed.recall,
            self.bcubed.f1()
        )?;
        writeln!(
            f,
            "review:   {} pairs, {} truly one person",
            self.review, self.review_true
        )
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 1.0 } else { a as f64 / b as f64 }
}

fn f1(p: f64, r: f64) -> f64 {
    if p + r == 0.0 {
        0.0
    } else {
        2.0 * p * r / (p + r)
    }
}

fn sizes<K: std::hash::Hash + Eq>(keys: impl Iterator<Item = K>) -> HashMap<K, usize> {
    let mut out = HashMap::new();
    for k in keys {
        *out.entry(k).or_insert(0) += 1;
    }
    out
}

fn distinct(labels: &[u32]) -> usize {
    sizes(labels.iter()).len()
}

fn pairs_within(labels: &[u32]) -> usize {
    sizes(labels.iter()).values().map(|n| n * (n - 1) / 2).sum()
}

fn pairs_within_both(a: &[u32], b: &[u32]) -> usize {
    sizes(a.iter().zip(b))
        .values()
        .map(|n| n * (n - 1) / 2)
        .sum()
}

fn bcubed(truth: &[u32], found: &[u32]) -> BCubed {
    let (t, p, both) = (
        sizes(truth.iter()),
        sizes(found.iter()),
        sizes(truth.iter().zip(found)),
    );
    let n = truth.len().max(1) as f64;
    let (mut precision, mut recall) = (0.0, 0.0);
    for (x, y) in truth.iter().zip(found) {
        let common = both[&(x, y)] as f64;
        precision += common / p[y] as f64;
        recall += common / t[x] as f64;
    }
    BCubed {
        precision: precision / n,
        recall: recall / n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{Expect, expect};

    #[track_caller]
    fn check(truth: &[u32], found: &[u32], candidates: &[(u32, u32)], expect: Expect) {
        let clusters = Clusters {
            person_of: found.to_vec(),
            review: Vec::new(),
        };
        let candidates = Candidates {
            pairs: candidates.to_vec(),
            ..Candidates::default()
        };
        expect.assert_eq(&evaluate(truth, &candidates, &[], &clusters).to_string());
    }

    #[test]
    fn perfect() {
        check(
            &[0, 0, 0, 3],
            &[0, 0, 0, 3],
            &[(0, 1), (1, 2), (0, 2), (2, 3)],
            expect![[r#"
                records 4 persons 2
                blocking: 4 candidate pairs, recall 1.0000 (3 of 3 true pairs), 0 blocks skipped
                links:    precision 1.0000 recall 0.0000 F1 0.0000 (0 of 0 predicted, 3 true)
                clusters: precision 1.0000 recall 1.0000 F1 1.0000 (3 of 3 predicted, 3 true)
                b-cubed:  precision 1.0000 recall 1.0000 F1 1.0000
                review:   0 pairs, 0 truly one person
            "#]],
        );
    }

    #[test]
    fn a_false_merge_and_a_split() {
        // Persons {0,1,2} and {3}; found {0,1} and {2,3}.
        check(
            &[0, 0, 0, 3],
            &[0, 0, 2, 2],
            &[(0, 1), (2, 3)],
            expect![[r#"
                records 4 persons 2
                blocking: 2 candidate pairs, recall 0.3333 (1 of 3 true pairs), 0 blocks skipped
                links:    precision 1.0000 recall 0.0000 F1 0.0000 (0 of 0 predicted, 3 true)
                clusters: precision 0.5000 recall 0.3333 F1 0.4000 (1 of 2 predicted, 3 true)
                b-cubed:  precision 0.7500 recall 0.6667 F1 0.7059
                review:   0 pairs, 0 truly one person
            "#]],
        );
    }
}
