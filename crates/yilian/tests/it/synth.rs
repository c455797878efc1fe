//! `yilian synth`: the same seed gives the same bytes whatever the threads did, and every
//! file it writes imports with nothing rejected.

use crate::support::{TempDir, path_str, run, yilian};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

fn synth(out: &Path, seed: &str, threads: &str) {
    let done = run(
        yilian().args([
            "synth",
            "--patients",
            "300",
            "--seed",
            seed,
            "--out",
            path_str(out),
            "--threads",
            threads,
        ]),
        Duration::from_secs(60),
    );
    assert!(done.status.success(), "synth failed:\n{}", done.stderr);
    assert!(done.stderr.contains("wrote "), "{}", done.stderr);
}

fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("a directory") {
            let p = e.expect("an entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let name = p
                    .strip_prefix(dir)
                    .expect("under dir")
                    .display()
                    .to_string();
                out.insert(name, std::fs::read(&p).expect("readable"));
            }
        }
    }
    out
}

#[test]
fn the_same_seed_writes_the_same_bytes_whatever_the_threads() {
    let dir = TempDir::new("synth");
    synth(&dir.join("a"), "9", "1");
    synth(&dir.join("b"), "9", "3");
    synth(&dir.join("c"), "10", "2");
    let (a, b, c) = (
        files(&dir.join("a")),
        files(&dir.join("b")),
        files(&dir.join("c")),
    );
    assert!(a.len() > 30, "{:?}", a.keys());
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (name, bytes) in &a {
        assert!(
            *bytes == b[name],
            "{name} differs between two runs with one seed"
        );
    }
    assert!(
        a["truth/persons.ndjson"] != c["truth/persons.ndjson"],
        "seeds 9 and 10 agree"
    );
    for expected in [
        "h01/bundles.ndjson",
        "h02/Patient.ndjson",
        "h02/Encounter.ndjson",
        "truth/registrations.ndjson",
        "manifest.json",
        "h05/local-codes.ndjson",
    ] {
        assert!(a.contains_key(expected), "no {expected} in {:?}", a.keys());
    }
}

#[test]
fn every_generated_file_imports_without_rejections() {
    let dir = TempDir::new("synth-import");
    let region = dir.join("region");
    synth(&region, "12", "2");
    let mut inputs: Vec<String> = files(&region)
        .keys()
        .filter(|k| {
            k.ends_with(".ndjson") && !k.starts_with("truth/") && !k.ends_with("local-codes.ndjson")
        })
        .map(|k| region.join(k).display().to_string())
        .collect();
    inputs.sort();
    let store = dir.join("store");
    let report = dir.join("report.ndjson");
    let done = run(
        yilian()
            .args([
                "import",
                "--data",
                path_str(&store),
                "--report",
                path_str(&report),
            ])
            .args(&inputs),
        Duration::from_secs(180),
    );
    assert!(
        done.status.success(),
        "import rejected something:\n{}\n{}",
        done.stderr,
        std::fs::read_to_string(&report).unwrap_or_default()
    );
    assert!(done.stderr.contains(" 0 rejected"), "{}", done.stderr);
}
