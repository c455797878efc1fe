//! The master patient index on the synthetic region: every registration of 20,000 people
//! (`MPI_PATIENTS` sets another number) across the thirty hospitals, with the generator's noise (homophones, pinyin-only
//! and traditional names, mistyped and 15-digit IDs, swapped dates, family phones, twins,
//! newborn placeholders), run through the whole pipeline and measured against the ground
//! truth. The targets are asserts: a false merge is the failure that matters most.

mod unicode;

use mpi::Record;
use mpi::cluster::{self, Decision};
use mpi::compare;
use mpi::eval::{self, Report};
use mpi::pipeline::{self, Batch, Settings};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use synth::{Config, Date};

/// Registrations as records, with each one's true person (numbered from 0) and noise labels.
struct Region {
    records: Vec<Record>,
    truth: Vec<u32>,
    noise: Vec<String>,
}

const SEED: u64 = 2026;

#[test]
fn the_synthetic_region_is_linked_precisely_and_completely() {
    let start = Instant::now();
    let patients = std::env::var("MPI_PATIENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let region = region(SEED, patients);
    let generated = start.elapsed();
    let run = pipeline::link_all(
        &region.records,
        &Settings {
            seed: SEED,
            ..Settings::default()
        },
    );
    let report = eval::evaluate(&region.truth, &run.candidates, &run.scored, &run.clusters);
    print(&region, &run, &report, generated);

    assert!(
        region.records.len() > 2 * patients as usize,
        "{} records",
        region.records.len()
    );
    assert!(
        report.blocking.recall() >= 0.995,
        "blocking recall {}",
        report.blocking.recall()
    );
    assert!(
        report.links.precision() >= 0.999,
        "link precision {}",
        report.links.precision()
    );
    assert!(
        report.clusters.precision() >= 0.999,
        "cluster precision {}",
        report.clusters.precision()
    );
    assert!(
        report.clusters.recall() >= 0.98,
        "cluster recall {}",
        report.clusters.recall()
    );
}

fn region(seed: u64, patients: u64) -> Region {
    let config = Config::new(seed, patients, Date::ymd(2026, 11, 1));
    let mut persons: HashMap<String, u32> = HashMap::new();
    let mut region = Region {
        records: Vec::new(),
        truth: Vec::new(),
        noise: Vec::new(),
    };
    for reg in synth::registrations(&config) {
        let r = Record::from_patient(&reg.patient).expect("the generator writes Patients with ids");
        let next = persons.len() as u32;
        region
            .truth
            .push(*persons.entry(reg.person).or_insert(next));
        region.noise.push(reg.noise.join(","));
        region.records.push(r);
    }
    region
}

#[allow(clippy::print_stdout)]
fn print(region: &Region, run: &Batch, report: &Report, generated: Duration) {
    println!("{report}");
    println!(
        "model {} prior {:.4}",
        run.fitted.model.version, run.fitted.model.prior
    );
    for field in compare::Field::ALL {
        let levels: Vec<String> = field
            .levels()
            .iter()
            .enumerate()
            .map(|(l, name)| {
                let (m, u) = (
                    run.fitted.model.m.get(field, l),
                    run.fitted.model.u.get(field, l),
                );
                format!("{name} m={m:.4} u={u:.2e} w={:+.1}", (m / u).log2())
            })
            .collect();
        println!("  {field:?}: {}", levels.join(", "));
    }
    let mut reasons: HashMap<String, usize> = HashMap::new();
    for s in &run.scored {
        *reasons
            .entry(format!("{:?}/{:?}", s.verdict.decision, s.verdict.reason))
            .or_default() += 1;
    }
    let mut reasons: Vec<_> = reasons.into_iter().collect();
    reasons.sort();
    println!("decisions: {reasons:?}");
    println!("generated in {generated:.2?}; {:?}", run.timings);
    let same = |a: u32, b: u32| region.truth[a as usize] == region.truth[b as usize];
    let wrong = run
        .scored
        .iter()
        .filter(|s| s.verdict.decision == Decision::Link && !same(s.a, s.b));
    for s in wrong.take(10) {
        println!(
            "false link {:?}: {}\n  {}",
            s.verdict.reason, s.comparison, s.score
        );
        println!(
            "  {:?}\n  {:?}",
            region.records[s.a as usize].key, region.records[s.b as usize].key
        );
    }
    let found =
        |a: u32, b: u32| run.clusters.person_of[a as usize] == run.clusters.person_of[b as usize];
    let missed = run
        .scored
        .iter()
        .filter(|s| same(s.a, s.b) && !found(s.a, s.b));
    let reviewed = run
        .scored
        .iter()
        .filter(|s| s.verdict.decision == Decision::Review);
    for s in reviewed
        .filter(|s| s.verdict.reason == cluster::Reason::ContradictoryIds)
        .take(3)
    {
        println!(
            "review {:?} same={}: {}\n  {}",
            s.verdict.reason,
            same(s.a, s.b),
            s.comparison,
            s.score
        );
        println!(
            "  {:?}\n  {:?}",
            region.records[s.a as usize], region.records[s.b as usize]
        );
    }
    for s in missed.take(15) {
        let noise = (&region.noise[s.a as usize], &region.noise[s.b as usize]);
        println!(
            "missed {:?} {:?} {noise:?}: {}\n  {}",
            s.verdict.decision, s.verdict.reason, s.comparison, s.score
        );
    }
}

/// Two people with one resident ID (a duplicated number, 重号, as the generator sometimes
/// draws): the deterministic tier must not link them on the number alone.
#[test]
fn a_shared_number_never_links_people_whose_names_disagree() {
    let region = region(SEED, 300);
    let fitted = pipeline::link_all(&region.records, &Settings::default()).fitted;
    let first17 = "11010519800503123";
    let id = format!("{first17}{}", mpi::id::check_char(first17.as_bytes()));
    let person = |spec: &str| {
        let mut p: serde_json::Value = serde_json::json!({"resourceType": "Patient", "id": spec,
            "identifier": [{"system": "urn:oid:2.16.156.10011.1.3", "value": id}],
            "gender": "male", "birthDate": "1980-05-03"});
        p["name"] = serde_json::json!([{"text": spec}]);
        Record::from_patient(&p).expect("a Patient")
    };
    let (_, _, same) = fitted.judge(&person("张伟"), &person("張偉"));
    let (_, _, other) = fitted.judge(&person("张伟"), &person("李娜"));
    expect_test::expect!["Verdict { decision: Link, reason: SameResidentId } Verdict { decision: Review, reason: NumberContradicted }"]
        .assert_eq(&format!("{same:?} {other:?}"));
}
