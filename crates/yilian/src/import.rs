//! `yilian import`: bulk load of FHIR NDJSON files (one resource per line) and Bundles.
//! A transaction or batch Bundle keeps its semantics; other Bundles have their entries
//! imported one by one. Parsing and validation run on one thread while another writes.
//! Rejections go to a report file with their line and reasons (never the resource itself).

use crate::{StoreArgs, open_service};
use anyhow::Context;
use service::{Caller, Checked, Service};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Instant;

/// Resources written per store transaction.
pub const BATCH: usize = 10_000;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Where rejected resources are listed (NDJSON: file, line, reasons).
    #[arg(long, default_value = "import-report.ndjson")]
    pub report: PathBuf,
    /// NDJSON files (`.ndjson`) or JSON Bundles.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

/// What an import did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Summary {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub rejected: u64,
}

impl Summary {
    pub fn accepted(&self) -> u64 {
        self.created + self.updated + self.unchanged
    }
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let service = open_service(&args.store)?;
    let started = Instant::now();
    let mut report = std::fs::File::create(&args.report)
        .with_context(|| format!("cannot write the report {}", args.report.display()))?;
    let mut total = Summary::default();
    for file in &args.files {
        let s = import_file(&service, file, &mut report)?;
        total.created += s.created;
        total.updated += s.updated;
        total.unchanged += s.unchanged;
        total.rejected += s.rejected;
    }
    service.close()?;
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "imported in {secs:.1}s ({:.0} resources/s): {} accepted ({} created, {} updated, {} unchanged), {} rejected{}",
        total.accepted() as f64 / secs.max(1e-9),
        total.accepted(),
        total.created,
        total.updated,
        total.unchanged,
        total.rejected,
        if total.rejected > 0 {
            format!(" (reasons in {})", args.report.display())
        } else {
            String::new()
        }
    );
    if total.rejected > 0 {
        std::process::exit(2);
    }
    Ok(())
}

/// Imports one file, writing rejections to `report`.
pub fn import_file(
    service: &Service,
    path: &Path,
    report: &mut dyn Write,
) -> anyhow::Result<Summary> {
    let ndjson = path
        .extension()
        .is_some_and(|e| e == "ndjson" || e == "jsonl");
    if !ndjson {
        return import_bundle(service, path, report);
    }
    // Fail here, naming the file, rather than in the reader thread.
    std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let bar = progress(path);
    let (tx, rx) = mpsc::sync_channel::<Vec<(usize, Line)>>(4);
    let checker = service.clone();
    let reader_path = path.to_path_buf();
    let reader = std::thread::spawn(move || -> anyhow::Result<()> {
        let file = std::fs::File::open(&reader_path)?;
        let mut lines = BufReader::with_capacity(1 << 20, file);
        let mut batch = Vec::with_capacity(BATCH);
        let mut line = Vec::new();
        let mut n = 0;
        loop {
            line.clear();
            if lines.read_until(b'\n', &mut line)? == 0 {
                break;
            }
            n += 1;
            let trimmed = line.trim_ascii();
            if trimmed.is_empty() {
                continue;
            }
            batch.push((n, classify(&checker, trimmed)));
            if batch.len() == BATCH {
                bar.set_position(bar.position() + batch.len() as u64);
                if tx.send(std::mem::take(&mut batch)).is_err() {
                    return Ok(());
                }
            }
        }
        if !batch.is_empty() {
            let _ = tx.send(batch);
        }
        bar.finish_and_clear();
        Ok(())
    });
    let mut summary = Summary::default();
    for batch in rx {
        let mut lines = Vec::new();
        let mut ok = Vec::new();
        for (line, item) in batch {
            match item {
                Line::Resource(Ok(c)) => {
                    lines.push(line);
                    ok.push(c);
                }
                Line::Resource(Err(e)) => reject(report, path, line, &e, &mut summary)?,
                Line::Bundle(bundle) => {
                    // Resources before it in the file are written first, in file order.
                    write(
                        service,
                        path,
                        report,
                        &mut summary,
                        std::mem::take(&mut lines),
                        std::mem::take(&mut ok),
                    )?;
                    import_bundle_value(service, path, line, bundle, report, &mut summary)?;
                }
            }
        }
        write(service, path, report, &mut summary, lines, ok)?;
    }
    reader
        .join()
        .map_err(|_| anyhow::anyhow!("the reader thread panicked"))??;
    Ok(summary)
}

fn import_bundle(
    service: &Service,
    path: &Path,
    report: &mut dyn Write,
) -> anyhow::Result<Summary> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut summary = Summary::default();
    let value = match fhir::json::parse_object(&bytes) {
        Ok(v) => v,
        Err(e) => {
            reject(report, path, 1, &service::Error::from(e), &mut summary)?;
            return Ok(summary);
        }
    };
    let kind = value["type"].as_str().unwrap_or_default();
    if value["resourceType"] == "Bundle" && (kind == "transaction" || kind == "batch") {
        import_bundle_value(service, path, 1, value, report, &mut summary)?;
        return Ok(summary);
    }
    let resources: Vec<Value> = if value["resourceType"] == "Bundle" {
        value["entry"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e.get("resource").cloned())
            .collect()
    } else {
        vec![value]
    };
    for (i, r) in resources.into_iter().enumerate() {
        let bytes = serde_json::to_vec(&r)?;
        match service.check(&bytes) {
            Ok(c) => match service.import(&Caller::System, vec![c]).remove(0) {
                Ok(w) if w.unchanged => summary.unchanged += 1,
                Ok(w) if w.created => summary.created += 1,
                Ok(_) => summary.updated += 1,
                Err(e) => reject(report, path, i + 1, &e, &mut summary)?,
            },
            Err(e) => reject(report, path, i + 1, &e, &mut summary)?,
        }
    }
    Ok(summary)
}

use serde_json::Value;

/// One line of an NDJSON file: a resource, checked, or a batch or transaction Bundle.
enum Line {
    Resource(Result<Checked, service::Error>),
    Bundle(Value),
}

fn classify(checker: &Service, line: &[u8]) -> Line {
    match checker.check(line) {
        Ok(c) => Line::Resource(Ok(c)),
        Err(e) => match fhir::json::parse_object(line) {
            Ok(v)
                if v["resourceType"] == "Bundle"
                    && matches!(v["type"].as_str(), Some("transaction" | "batch")) =>
            {
                Line::Bundle(v)
            }
            _ => Line::Resource(Err(e)),
        },
    }
}

/// Writes checked resources (from `lines` of the file) in one import.
fn write(
    service: &Service,
    path: &Path,
    report: &mut dyn Write,
    summary: &mut Summary,
    lines: Vec<usize>,
    ok: Vec<Checked>,
) -> anyhow::Result<()> {
    for (line, r) in lines.into_iter().zip(service.import(&Caller::System, ok)) {
        match r {
            Ok(w) if w.unchanged => summary.unchanged += 1,
            Ok(w) if w.created => summary.created += 1,
            Ok(_) => summary.updated += 1,
            Err(e) => reject(report, path, line, &e, summary)?,
        }
    }
    Ok(())
}

/// Processes a batch or transaction Bundle (line `line` of `path`) with its semantics.
fn import_bundle_value(
    service: &Service,
    path: &Path,
    line: usize,
    value: Value,
    report: &mut dyn Write,
    summary: &mut Summary,
) -> anyhow::Result<()> {
    let bytes = serde_json::to_vec(&idempotent(value))?;
    match service.bundle(&Caller::System, &bytes) {
        Ok(response) => {
            for entry in response["entry"].as_array().into_iter().flatten() {
                let status = entry["response"]["status"].as_str().unwrap_or_default();
                match status.split(' ').next().unwrap_or_default() {
                    "201" => summary.created += 1,
                    "200" => summary.updated += 1,
                    s if s.starts_with('2') => summary.unchanged += 1,
                    _ => {
                        summary.rejected += 1;
                        writeln!(
                            report,
                            "{}",
                            serde_json::json!({"file": path.display().to_string(), "line": line, "outcome": entry["response"]["outcome"]})
                        )?;
                    }
                }
            }
        }
        Err(e) => reject(report, path, line, &e, summary)?,
    }
    Ok(())
}

/// Turns a Bundle's plain creates into updates by stable ids, so that importing it again
/// creates nothing new: the id a `urn:uuid:` fullUrl names (other entries' references to it
/// still resolve), or one derived from the content. Conditional creates stay as they are.
fn idempotent(mut bundle: Value) -> Value {
    for entry in bundle["entry"].as_array_mut().into_iter().flatten() {
        let request = &entry["request"];
        if request["method"] != "POST" || request.get("ifNoneExist").is_some() {
            continue;
        }
        let Some(resource_type) = entry["resource"]["resourceType"]
            .as_str()
            .map(str::to_string)
        else {
            continue;
        };
        let from_url = entry["fullUrl"]
            .as_str()
            .and_then(|u| u.strip_prefix("urn:uuid:"))
            .filter(|id| fhir::is_valid_id(id))
            .map(str::to_string);
        let id = from_url.unwrap_or_else(|| fhir::content_id(&entry["resource"]));
        entry["resource"]["id"] = Value::String(id.clone());
        entry["request"]["method"] = Value::String("PUT".into());
        entry["request"]["url"] = Value::String(format!("{resource_type}/{id}"));
    }
    bundle
}

fn reject(
    report: &mut dyn Write,
    path: &Path,
    line: usize,
    e: &service::Error,
    summary: &mut Summary,
) -> anyhow::Result<()> {
    summary.rejected += 1;
    let issues: Vec<Value> = e.issues().iter().map(fhir::Issue::to_json).collect();
    writeln!(
        report,
        "{}",
        serde_json::json!({
            "file": path.display().to_string(),
            "line": line,
            "status": e.describe().status,
            "code": e.describe().code,
            "issue": issues,
        })
    )?;
    Ok(())
}

/// A progress bar on a terminal; hidden when stderr is piped.
/// A progress bar over `len` items, drawn only when wanted and stderr is a terminal.
pub fn bar(len: u64, unit: &str, wanted: bool) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !wanted || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template(&format!(
            "{{bar:40}} {{pos}}/{{len}} {unit} ({{per_sec}}, {{eta}} left)"
        ))
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

fn progress(path: &Path) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {msg} {pos} resources ({per_sec})")
            .expect("the template is valid"),
    );
    bar.set_message(path.display().to_string());
    bar
}
