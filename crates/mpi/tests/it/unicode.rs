//! No text crashes matching: Patients whose every field holds random Unicode (controls,
//! combining marks, full-width forms, CJK extensions, private use, emoji, the largest
//! scalar values) go through normalizing, blocking, comparing, scoring and deciding.

use mpi::Record;
use mpi::block;
use mpi::model::SplitMix64;
use mpi::pipeline::{self, Settings};
use serde_json::{Value, json};

const RANGES: &[(u32, u32)] = &[
    (0x0, 0x7F),
    (0x300, 0x36F),
    (0x2000, 0x206F),
    (0x3000, 0x303F),
    (0x4E00, 0x9FFF),
    (0xF900, 0xFAFF),
    (0xFF00, 0xFFEF),
    (0xE000, 0xE0FF),
    (0x1F300, 0x1F64F),
    (0x20000, 0x2A6DF),
    (0x10FF00, 0x10FFFF),
];

fn text(rng: &mut SplitMix64) -> String {
    let len = rng.below(12);
    (0..len)
        .filter_map(|_| {
            let (lo, hi) = RANGES[rng.below(RANGES.len() as u64) as usize];
            char::from_u32(lo + rng.below(u64::from(hi - lo + 1)) as u32)
        })
        .collect()
}

fn patient(rng: &mut SplitMix64, i: usize) -> Value {
    let mut t = || text(rng);
    json!({
        "resourceType": "Patient",
        "id": format!("p{i}"),
        "identifier": [
            {"system": "urn:oid:2.16.156.10011.1.3", "value": t()},
            {"type": {"coding": [{"code": "SN"}]}, "value": t()}
        ],
        "name": [{"use": "official", "text": t(), "family": t(), "given": [t(), t()]}, {"text": t()}],
        "telecom": [{"system": "phone", "value": t()}],
        "gender": (["male", "female", "other"][i % 3]),
        "birthDate": if i.is_multiple_of(2) { t() } else { "1980-02-29".to_string() },
        "address": [{"text": t(), "line": [t()], "city": t(), "state": t()}]
    })
}

#[test]
fn random_unicode_in_every_field() {
    let mut rng = SplitMix64(7);
    let records: Vec<Record> = (0..3000)
        .map(|i| Record::from_patient(&patient(&mut rng, i)).expect("a Patient with an id"))
        .collect();
    // Every record compared with itself and its neighbours, blocked, scored and decided.
    let batch = pipeline::link_all(&records, &Settings::default());
    assert_eq!(batch.clusters.person_of.len(), records.len());
    for w in records.windows(2) {
        let (c, score, _) = batch.fitted.judge(&w[0], &w[1]);
        assert_eq!(c, mpi::compare::compare(&w[1], &w[0]));
        assert!(score.total.is_finite(), "{score}");
        assert!(!block::keys(&w[0]).iter().any(|k| k.value.is_empty()));
    }
}
