//! `yilian synth`: writes a synthetic region to a directory, each hospital's records in its
//! own format beside the ground truth. Households are generated on every core and written
//! in order, so the bytes depend only on the configuration, never on the thread count.

use anyhow::Context;
use std::collections::BTreeMap;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;
use synth::{Config, Date, Output};

#[derive(clap::Args)]
pub struct Args {
    /// People in the region.
    #[arg(long, default_value_t = 1000)]
    pub patients: u64,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Directory to write (created; files in it are replaced).
    #[arg(long)]
    pub out: PathBuf,
    /// The region's "today" (YYYY-MM-DD): records end here. Fixed by default so that the
    /// same seed gives the same bytes on any day.
    #[arg(long, default_value = "2026-11-01", value_parser = parse_date)]
    pub today: Date,
    /// Years of history.
    #[arg(long, default_value_t = 5)]
    pub years: u32,
    /// Generator threads (default: one per core). The bytes do not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
}

/// What a generation wrote.
pub struct Summary {
    pub resources: u64,
    pub files: BTreeMap<String, u64>,
    pub seconds: f64,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let mut config = Config::new(args.seed, args.patients, args.today);
    config.years = args.years;
    let s = generate_with(&config, &args.out, true, args.threads)?;
    eprintln!(
        "wrote {} resources for {} people to {} in {:.1}s ({:.0} resources/s)",
        s.resources,
        args.patients,
        args.out.display(),
        s.seconds,
        s.resources as f64 / s.seconds.max(1e-9)
    );
    Ok(())
}

pub fn parse_date(s: &str) -> Result<Date, String> {
    Date::parse(s).ok_or_else(|| format!("expected a date as YYYY-MM-DD, got {s:?}"))
}

/// Today in Beijing (UTC+8), for the demo.
pub fn today() -> Date {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Date(((secs + 8 * 3600) / 86_400) as i32)
}

/// Households handed to a worker at a time.
const CHUNK: usize = 64;

/// Generates the region into `dir`, with a progress bar when `progress` and stderr is a
/// terminal.
pub fn generate(config: &Config, dir: &Path, progress: bool) -> anyhow::Result<Summary> {
    generate_with(config, dir, progress, None)
}

fn generate_with(
    config: &Config,
    dir: &Path,
    progress: bool,
    threads: Option<usize>,
) -> anyhow::Result<Summary> {
    let started = Instant::now();
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut files = Files::new(dir);
    let bar = crate::import::bar(config.patients, "people", progress);
    files.write(synth::header(config))?;

    let workers = threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
        .max(1);
    let mut plans = synth::households(config).peekable();
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let (job_tx, job_rx) = std::sync::mpsc::sync_channel::<(usize, Vec<_>)>(workers * 2);
        let job_rx = std::sync::Arc::new(std::sync::Mutex::new(job_rx));
        let (done_tx, done_rx) =
            std::sync::mpsc::sync_channel::<(usize, Vec<Output>, u64)>(workers * 2);
        for _ in 0..workers {
            let job_rx = job_rx.clone();
            let done_tx = done_tx.clone();
            scope.spawn(move || {
                loop {
                    let job = job_rx.lock().map(|rx| rx.recv());
                    let Ok(Ok((n, chunk))) = job else { return };
                    let mut outputs = Vec::with_capacity(CHUNK);
                    let mut people = 0;
                    for (h, first, plan, take) in chunk {
                        outputs.push(synth::household(config, h, &plan, first, take));
                        people += take as u64;
                    }
                    if done_tx.send((n, outputs, people)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(done_tx);
        // Feed chunks in order and write results in order, holding at most a few chunks.
        let mut sent = 0;
        let mut written = 0;
        let mut pending: BTreeMap<usize, (Vec<Output>, u64)> = BTreeMap::new();
        loop {
            while sent < written + workers * 2 && plans.peek().is_some() {
                let chunk: Vec<_> = plans.by_ref().take(CHUNK).collect();
                job_tx
                    .send((sent, chunk))
                    .context("a generator thread stopped")?;
                sent += 1;
            }
            if written == sent {
                break;
            }
            let (n, outputs, people) = done_rx.recv().context("a generator thread stopped")?;
            pending.insert(n, (outputs, people));
            while let Some((outputs, people)) = pending.remove(&written) {
                for o in outputs {
                    files.write(o)?;
                }
                bar.inc(people);
                written += 1;
            }
        }
        drop(job_tx);
        Ok(())
    })?;
    bar.finish_and_clear();
    let summary = files.finish(config, started)?;
    Ok(summary)
}

/// The open output files, created on first use.
struct Files {
    dir: PathBuf,
    open: BTreeMap<String, (BufWriter<std::fs::File>, u64)>,
    resources: u64,
}

impl Files {
    fn new(dir: &Path) -> Files {
        Files {
            dir: dir.to_path_buf(),
            open: BTreeMap::new(),
            resources: 0,
        }
    }

    fn write(&mut self, output: Output) -> anyhow::Result<()> {
        self.resources += output.resources;
        for (sink, line) in output.lines {
            let path = sink.path();
            let entry = match self.open.get_mut(&path) {
                Some(e) => e,
                None => {
                    let full = self.dir.join(&path);
                    if let Some(parent) = full.parent() {
                        std::fs::create_dir_all(parent)?;
                    }
                    let f = std::fs::File::create(&full)
                        .with_context(|| format!("cannot write {}", full.display()))?;
                    self.open
                        .entry(path.clone())
                        .or_insert((BufWriter::with_capacity(64 * 1024, f), 0))
                }
            };
            entry.0.write_all(&line)?;
            entry.1 += 1;
        }
        Ok(())
    }

    fn finish(self, config: &Config, started: Instant) -> anyhow::Result<Summary> {
        let mut files = BTreeMap::new();
        for (path, (mut w, lines)) in self.open {
            w.flush()?;
            files.insert(path, lines);
        }
        let hospitals: Vec<_> = synth::hospitals::HOSPITALS
            .iter()
            .map(|h| {
                serde_json::json!({
                    "id": h.id, "name": h.zh, "nameEn": h.en, "format": h.format.name(),
                    "files": files.keys().filter(|p| p.starts_with(&format!("{}/", h.id))).collect::<Vec<_>>()
                })
            })
            .collect();
        let manifest = serde_json::json!({
            "generator": format!("yilian synth {}", env!("CARGO_PKG_VERSION")),
            "seed": config.seed,
            "patients": config.patients,
            "today": config.today.to_string(),
            "years": config.years,
            "rates": config.rates.fields().into_iter().collect::<serde_json::Map<_, _>>(),
            "resources": self.resources,
            "hospitals": hospitals,
            "lines": files,
        });
        let mut bytes = serde_json::to_vec_pretty(&manifest)?;
        bytes.push(b'\n');
        std::fs::write(self.dir.join("manifest.json"), bytes)?;
        Ok(Summary {
            resources: self.resources,
            files,
            seconds: started.elapsed().as_secs_f64(),
        })
    }
}
