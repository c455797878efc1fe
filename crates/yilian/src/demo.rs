//! `yilian demo`: the product's front door. Generates a synthetic region, ingests it the way
//! hospitals deliver data (bulk NDJSON through the importer, transaction Bundles POSTed to
//! the running server), takes a short tour over a real socket, and keeps serving. A second
//! run reuses the data unless `--fresh`.

use crate::client::{Connection, http_get};
use crate::serve::{self, runtime};
use anyhow::Context;
use serde_json::Value;
use service::Service;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use synth::Config;

#[derive(clap::Args)]
pub struct Args {
    /// Directory of the demo: the generated region and the store.
    #[arg(long, default_value = "data/demo")]
    pub data: PathBuf,
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,
    /// People in the region.
    #[arg(long, default_value_t = 1000)]
    pub patients: u64,
    #[arg(long, default_value_t = 1, hide = true)]
    pub seed: u64,
    /// Rebuild the region even when one from an earlier run is there.
    #[arg(long)]
    pub fresh: bool,
    /// Show the tour and exit instead of serving.
    #[arg(long)]
    pub once: bool,
}

/// What a finished build leaves behind, so that the next run can reuse it.
const MARKER: &str = "demo.json";

pub fn run(args: Args) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let region = args.data.join("region");
    let store_args = crate::StoreArgs {
        data: args.data.join("store"),
        database_url: None,
        database_schema: String::new(),
    };
    let wanted = serde_json::json!({"patients": args.patients, "seed": args.seed, "version": env!("CARGO_PKG_VERSION")});
    let previous: Option<Value> = std::fs::read(args.data.join(MARKER))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let reuse = !args.fresh
        && previous.as_ref().is_some_and(|p| {
            p["patients"] == wanted["patients"]
                && p["seed"] == wanted["seed"]
                && p["version"] == wanted["version"]
        });
    let today = if reuse {
        previous
            .as_ref()
            .and_then(|p| p["today"].as_str())
            .and_then(synth::Date::parse)
            .unwrap_or_else(crate::region::today)
    } else {
        crate::region::today()
    };
    if reuse {
        println!(
            "Reusing the region in {} (--fresh rebuilds it).",
            args.data.display()
        );
    } else {
        if args.data.exists() {
            std::fs::remove_dir_all(&args.data)
                .with_context(|| format!("cannot clear {}", args.data.display()))?;
        }
        let config = Config::new(args.seed, args.patients, today);
        let s = crate::region::generate(&config, &region, true)?;
        println!(
            "Generated a region of 30 hospitals: {} people, {} resources in {:.1}s.",
            args.patients, s.resources, s.seconds
        );
    }
    let service = crate::open_service(&store_args)?;
    let serve_args = serve::Args {
        store: store_args,
        listen: args.listen,
        base_url: None,
        max_body_bytes: 16 * 1024 * 1024,
    };
    let once = args.once;
    let data = args.data.clone();
    runtime()?.block_on(async move {
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let server = tokio::spawn({
            let service = service.clone();
            async move {
                serve::serve(service, &serve_args, |addr| {
                    let _ = ready_tx.send(addr);
                })
                .await
            }
        });
        let addr = ready_rx.await?;
        let base = format!("http://{addr}");
        if !reuse {
            let n = ingest(&service, addr, &region, &data).await?;
            std::fs::write(
                data.join(MARKER),
                serde_json::to_vec_pretty(&serde_json::json!({
                    "patients": wanted["patients"], "seed": wanted["seed"], "version": wanted["version"],
                    "today": today.to_string(), "resources": n
                }))?,
            )?;
            println!("Ingested {n} resources.");
        }
        let person = demo_person(&region)?;
        println!("Serving after {:.1}s.", started.elapsed().as_secs_f64());
        println!(
            "Demo patient: {} (resident ID {}), registered at {}.",
            person.name,
            person.resident_id,
            person.hospitals.join(" and ")
        );
        tour(&base, &person).await?;
        if once {
            server.abort();
            let closing = service.clone();
            tokio::task::spawn_blocking(move || closing.close()).await??;
            return Ok(());
        }
        println!("\nYilian is serving FHIR R4 at {base} (Ctrl-C to stop).");
        println!("Try:");
        println!("  curl -s '{base}/Patient?identifier={}|{}'", terminology::systems::RESIDENT_ID, person.resident_id);
        println!("  curl -s '{base}/Encounter?patient={}&_sort=-date'", person.patients.join(","));
        println!("  curl -s '{base}/Patient/{}/$everything'", person.patients[0]);
        println!("The generated files and their ground truth are in {}.", region.display());
        server.await??;
        anyhow::Ok(())
    })
}

/// Loads the region as hospitals deliver it: NDJSON files through the bulk importer, and
/// transaction Bundles POSTed to the server one by one. Fails on any rejection: the
/// generated region must be valid through and through.
async fn ingest(
    service: &Service,
    addr: std::net::SocketAddr,
    region: &Path,
    data: &Path,
) -> anyhow::Result<u64> {
    let mut ndjson = Vec::new();
    let mut bundles = Vec::new();
    for h in synth::hospitals::HOSPITALS {
        let dir = region.join(h.id);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut files: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        files.sort();
        for f in files {
            let name = f
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_string();
            if name == "bundles.ndjson" {
                bundles.push(f);
            } else if name != "local-codes.ndjson" && name.ends_with(".ndjson") {
                ndjson.push(f);
            }
        }
    }
    // Both paths at once: the importer on a blocking thread, the Bundles over HTTP.
    let report_path = data.join("import-report.ndjson");
    let importer = {
        let service = service.clone();
        tokio::task::spawn_blocking(move || -> anyhow::Result<u64> {
            let mut report = std::fs::File::create(&report_path)?;
            let mut accepted = 0;
            for f in &ndjson {
                let s = crate::import::import_file(&service, f, &mut report)?;
                anyhow::ensure!(
                    s.rejected == 0,
                    "{} resources of {} were rejected (see {})",
                    s.rejected,
                    f.display(),
                    report_path.display()
                );
                accepted += s.accepted();
            }
            Ok(accepted)
        })
    };
    let lines: u64 = bundles.iter().map(|f| count_lines(f)).sum();
    let bar = crate::import::bar(lines, "bundles", true);
    let mut posted = 0;
    let mut conn = Connection::open(addr).await?;
    for f in &bundles {
        let file = std::io::BufReader::new(std::fs::File::open(f)?);
        for (i, line) in file.split(b'\n').enumerate() {
            let line = line?;
            if line.is_empty() {
                continue;
            }
            let (status, body) = conn.post("/", &line).await?;
            anyhow::ensure!(
                status == 200,
                "bundle {} of {} was refused with {status}: {}",
                i + 1,
                f.display(),
                String::from_utf8_lossy(&body)
            );
            let response: Value = serde_json::from_slice(&body)?;
            posted += response["entry"].as_array().map_or(0, Vec::len) as u64;
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    let imported = importer.await??;
    Ok(imported + posted)
}

fn count_lines(path: &Path) -> u64 {
    std::fs::File::open(path)
        .map(|f| std::io::BufReader::new(f).split(b'\n').count() as u64)
        .unwrap_or(0)
}

/// The person the tour follows: one registered cleanly at two or more hospitals.
pub struct DemoPerson {
    pub name: String,
    pub resident_id: String,
    pub patients: Vec<String>,
    pub hospitals: Vec<String>,
}

fn demo_person(region: &Path) -> anyhow::Result<DemoPerson> {
    let read = |name: &str| -> anyhow::Result<Vec<Value>> {
        let f = std::fs::File::open(region.join("truth").join(name))
            .with_context(|| format!("the region has no truth/{name}"))?;
        std::io::BufReader::new(f)
            .lines()
            .map(|l| Ok(serde_json::from_str(&l?)?))
            .collect()
    };
    let persons = read("persons.ndjson")?;
    let registrations = read("registrations.ndjson")?;
    let mut best: Option<(usize, &Value, Vec<&Value>)> = None;
    for p in &persons {
        if p["newborn"] == true || p["consent"]["decision"] != "permit" {
            continue;
        }
        let regs: Vec<&Value> = registrations
            .iter()
            .filter(|r| r["person"] == p["person"])
            .collect();
        let clean = regs
            .iter()
            .all(|r| r["noise"].as_array().is_some_and(Vec::is_empty));
        let hospitals: std::collections::BTreeSet<&str> =
            regs.iter().filter_map(|r| r["hospital"].as_str()).collect();
        let score = p["visits"].as_u64().unwrap_or(0) as usize + 100 * hospitals.len().min(3);
        if clean && hospitals.len() >= 2 && best.as_ref().is_none_or(|(s, _, _)| score > *s) {
            best = Some((score, p, regs));
        }
    }
    let (_, p, regs) = best.context("no person in the region is registered at two hospitals")?;
    Ok(DemoPerson {
        name: p["name"].as_str().unwrap_or_default().to_string(),
        resident_id: p["residentId"].as_str().unwrap_or_default().to_string(),
        patients: regs
            .iter()
            .filter_map(|r| r["patient"].as_str().map(|s| format!("Patient/{s}")))
            .collect(),
        hospitals: regs
            .iter()
            .filter_map(|r| r["hospital"].as_str())
            .filter_map(synth::hospitals::hospital)
            .map(|h| h.zh.to_string())
            .collect(),
    })
}

/// A few requests over the socket, printed as a user would make them.
async fn tour(base: &str, person: &DemoPerson) -> anyhow::Result<()> {
    let ids: Vec<&str> = person
        .patients
        .iter()
        .map(|p| p.trim_start_matches("Patient/"))
        .collect();
    let steps = [
        ("capabilities", "/metadata".to_string()),
        (
            "one person's registrations at several hospitals, by resident ID",
            format!(
                "/Patient?identifier={}|{}",
                terminology::systems::RESIDENT_ID,
                person.resident_id
            ),
        ),
        (
            "their visits at all of them, newest first",
            format!(
                "/Encounter?patient={}&_sort=-date&_count=5",
                person.patients.join(",")
            ),
        ),
        (
            "their lab results",
            format!(
                "/Observation?patient={}&category=laboratory&_sort=-date&_count=3",
                person.patients.join(",")
            ),
        ),
        (
            "their record at the first hospital",
            format!("/Patient/{}/$everything", ids[0]),
        ),
        (
            "hypertension across the region",
            "/Condition?code=http://hl7.org/fhir/sid/icd-10|I10&_summary=count".to_string(),
        ),
        (
            "results with the mutual-recognition mark",
            format!(
                "/DiagnosticReport?_tag={}|HR&_summary=count",
                terminology::systems::MUTUAL_RECOGNITION
            ),
        ),
        ("an unknown parameter", "/Patient?shoe-size=42".to_string()),
    ];
    for (what, path) in steps {
        let (status, body) = http_get(base, &path).await?;
        let v: Value = serde_json::from_slice(&body).unwrap_or_default();
        let summary = match v["resourceType"].as_str() {
            Some("Bundle") => format!(
                "Bundle with {} entries{}",
                v["entry"].as_array().map_or(0, Vec::len),
                v["total"]
                    .as_u64()
                    .map(|t| format!(", total {t}"))
                    .unwrap_or_default()
            ),
            Some("OperationOutcome") => format!(
                "OperationOutcome: {}",
                v["issue"][0]["diagnostics"].as_str().unwrap_or_default()
            ),
            Some(t) => t.to_string(),
            None => String::new(),
        };
        println!("GET {path}\n  {what}: {status} {summary}");
        if path.contains("identifier=") {
            for e in v["entry"].as_array().into_iter().flatten() {
                let r = &e["resource"];
                println!(
                    "    Patient/{} at {}",
                    r["id"].as_str().unwrap_or_default(),
                    r["managingOrganization"]["reference"]
                        .as_str()
                        .unwrap_or_default()
                );
            }
        }
        if path.ends_with("$everything") {
            println!("  {}", record_summary(&v));
        }
    }
    Ok(())
}

/// What a doctor would see first in a record: visits per hospital, and what else.
fn record_summary(bundle: &Value) -> String {
    let mut kinds: std::collections::BTreeMap<String, usize> = Default::default();
    let mut hospitals: std::collections::BTreeMap<String, usize> = Default::default();
    for e in bundle["entry"].as_array().into_iter().flatten() {
        let r = &e["resource"];
        *kinds
            .entry(r["resourceType"].as_str().unwrap_or("?").to_string())
            .or_default() += 1;
        if let Some(org) = r["serviceProvider"]["reference"].as_str() {
            *hospitals
                .entry(org.trim_start_matches("Organization/").to_string())
                .or_default() += 1;
        }
    }
    let kinds: Vec<String> = kinds.iter().map(|(k, n)| format!("{n} {k}")).collect();
    let visits: Vec<String> = hospitals
        .iter()
        .map(|(h, n)| format!("{n} at {h}"))
        .collect();
    format!("{}; visits: {}", kinds.join(", "), visits.join(", "))
}
