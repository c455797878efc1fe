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
    let hospitals: Vec<&str> = synth::hospitals::HOSPITALS.iter().map(|h| h.id).collect();
    let page_password = crate::admin::demo_accounts(&store_args.data, &hospitals)?;
    let credentials = crate::admin::load_or_create(&store_args.data)?;
    let token = crate::admin::mint(&credentials, &crate::admin::operator(), 3600)?;
    let store_dir = store_args.data.clone();
    let serve_args = serve::Args {
        store: store_args,
        listen: args.listen,
        base_url: None,
        max_body_bytes: 16 * 1024 * 1024,
        tls_cert: None,
        tls_key: None,
        region: serve::RegionArgs::default(),
        knowledge: None,
        mllp: None,
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
            let n = ingest(&service, addr, &token, &region, &data).await?;
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
        tour(&base, &person, &token).await?;
        let linked = linked_person(&region)?;
        identity_tour(&base, &linked, &token).await?;
        let opened = shared_tour(&base, &demo_persons(&region)?, &credentials).await?;
        let mut page_doctor = None;
        if let Some((patient, hospital)) = opened {
            cds_tour(&base, &patient, &hospital, &credentials).await?;
            audit_tour(&base, &patient, &credentials, &token).await?;
            let people = demo_persons(&region)?;
            if let Some(p) = people
                .iter()
                .find(|p| p.registered.iter().any(|(id, _)| *id == patient))
            {
                pages_tour(&base, p, &hospital, &page_password).await?;
                let stranger = synth::hospitals::HOSPITALS
                    .iter()
                    .map(|h| h.id)
                    .find(|h| !p.registered.iter().any(|(_, r)| r == h))
                    .unwrap_or("h01");
                page_doctor = Some((p.resident_id.clone(), hospital, stranger));
            }
        }
        feeds_tour(&service, &base, &person, &token).await?;
        let (svc, dir) = (service.clone(), store_dir.clone());
        let verified = tokio::task::spawn_blocking(move || -> anyhow::Result<String> {
            let sealer = crate::admin::sealer(&dir)?;
            let public = sealer.public();
            let started = std::time::Instant::now();
            Ok(match svc.verify_audit(Some(sealer), public, Vec::new(), &|_| {})? {
                Ok(r) => format!(
                    "the whole audit log verified offline: {} records, {} signed tree heads, every seal, in {:.2} s",
                    r.records,
                    r.heads,
                    started.elapsed().as_secs_f64()
                ),
                Err(p) => format!("the audit log FAILED verification: {p}"),
            })
        })
        .await??;
        println!("  {verified}");
        if once {
            server.abort();
            let closing = service.clone();
            tokio::task::spawn_blocking(move || closing.close()).await??;
            return Ok(());
        }
        println!("\nYilian is serving FHIR R4 at {base} (Ctrl-C to stop).");
        println!("Every call but /metadata needs a token. Try, as an administrator:");
        println!("  export AUTH=\"Authorization: Bearer $(cargo run -q --release -- admin token --data {})\"", store_dir.display());
        println!("  curl -s -H \"$AUTH\" '{base}/Patient?identifier={}|{}'", terminology::systems::RESIDENT_ID, person.resident_id);
        println!("  curl -s -H \"$AUTH\" '{base}/Encounter?patient={}&_sort=-date'", person.patients.join(","));
        println!(
            "  curl -s -H \"$AUTH\" '{base}/Patient/$ihe-pix?sourceIdentifier={}|{}'",
            linked.mrn_system, linked.mrn
        );
        println!(
            "  curl -s -X POST -H \"$AUTH\" -H 'Content-Type: application/fhir+json' '{base}/Patient/$match' -d '{}'",
            match_request(&linked)
        );
        let (patient, hospital) = &person.registered[person.registered.len() - 1];
        println!("and as a doctor of {hospital} opening the shared record:");
        println!(
            "  export AUTH=\"Authorization: Bearer $(cargo run -q --release -- admin token --data {} --role doctor --organization Organization/{hospital} --practitioner Practitioner/demo-doctor)\"",
            store_dir.display()
        );
        println!("  curl -s -H \"$AUTH\" '{base}/shared/Patient/{patient}'");
        if let Some((resident_id, hospital, stranger)) = &page_doctor {
            println!("The pages, in a browser: {base}/ui (password {page_password} for every demo account)");
            println!("  doctor.{hospital}: find resident ID {resident_id}, read the record from every hospital");
            println!("  doctor.{stranger}: a doctor where the patient never was is refused, and may break the glass");
            println!("  nurse.{hospital}: counter mode, acting for the patient after an ID card check");
            println!("  auditor: the log, anomalies, break-glass reviews, data quality, the patient-index queue");
        }
        println!("and check the audit log offline (it names the first record changed, removed or moved):");
        println!("  cargo run -q --release -- audit verify --data {}", store_dir.display());
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
    token: &str,
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
    let mut conn = Connection::open(addr).await?.with_token(token);
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
    // Results from the hospitals whose laboratories speak HL7 v2 or WS/T 500, once their
    // registrations are in (a result names its patient by the hospital's record number).
    let fed = feed(service, addr, token, region).await?;
    Ok(imported + posted + fed)
}

/// Sends each hospital's `messages.hl7` over MLLP (one pipelined connection, every message
/// must be AA) and POSTs its `documents.xml` to `/feeds/cda` (each must be stored). Returns
/// how many of the region's resources they carried: a report and its results each.
async fn feed(
    service: &Service,
    addr: std::net::SocketAddr,
    token: &str,
    region: &Path,
) -> anyhow::Result<u64> {
    let mut taken = 0;
    for h in synth::hospitals::HOSPITALS {
        let messages = region.join(h.id).join("messages.hl7");
        if let Ok(text) = std::fs::read_to_string(&messages) {
            let batch: Vec<String> = text
                .lines()
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect();
            let feed = auth::Feed {
                hospital: h.id.to_string(),
                facilities: vec![h.id.to_ascii_uppercase()],
                addresses: vec!["127.0.0.1".into()],
            };
            let listener = crate::serve::start_mllp("127.0.0.1:0".parse()?, service, vec![feed])?;
            let started = std::time::Instant::now();
            let n = batch.len();
            let carried: usize = batch.iter().map(|m| 1 + m.matches("\rOBX|").count()).sum();
            let refused = tokio::task::spawn_blocking(move || pipeline(listener, batch)).await??;
            anyhow::ensure!(
                refused.is_empty(),
                "{} of {n} HL7 v2 messages of {} were refused; the first: {}",
                refused.len(),
                h.id,
                refused[0]
            );
            println!(
                "{} sent {n} laboratory results as HL7 v2 ORU^R01 over MLLP: all AA in {:.1}s",
                h.zh,
                started.elapsed().as_secs_f64()
            );
            taken += carried as u64;
        }
        let documents = region.join(h.id).join("documents.xml");
        if let Ok(text) = std::fs::read_to_string(&documents) {
            let mut conn = Connection::open(addr).await?.with_token(token);
            let started = std::time::Instant::now();
            let mut n = 0;
            for doc in text.lines().filter(|l| !l.is_empty()) {
                let (status, body) = conn
                    .post_as(
                        &format!("/feeds/cda?hospital={}", h.id),
                        "application/xml",
                        doc.as_bytes(),
                    )
                    .await?;
                anyhow::ensure!(
                    status == 201,
                    "a WS/T 500 document of {} was refused with {status}: {}",
                    h.id,
                    String::from_utf8_lossy(&body)
                );
                n += 1;
                taken += 1 + doc.matches("<entry>").count() as u64;
            }
            println!(
                "{} sent {n} laboratory reports as WS/T 500 检验报告 (C0007) documents: all stored in {:.1}s",
                h.zh,
                started.elapsed().as_secs_f64()
            );
        }
    }
    Ok(taken)
}

/// Sends every message on one pipelined MLLP connection; returns the MSA and ERR of each
/// one not accepted (AA).
fn pipeline(addr: std::net::SocketAddr, messages: Vec<String>) -> anyhow::Result<Vec<String>> {
    let acks = crate::client::mllp_send(addr, messages.into_iter().map(String::into_bytes), 64)?;
    Ok(acks
        .into_iter()
        .filter(|(_, ack)| !ack.contains("\rMSA|AA"))
        .map(|(_, ack)| format!("{} {}", segment(&ack, "MSA"), segment(&ack, "ERR")))
        .collect())
}

/// The first segment `id` of an acknowledgement, or nothing.
fn segment<'a>(ack: &'a str, id: &str) -> &'a str {
    ack.split('\r')
        .find(|s| s.starts_with(id))
        .unwrap_or_default()
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
    /// Each registration: the Patient id and the hospital's Organization id.
    pub registered: Vec<(String, String)>,
}

fn demo_person(region: &Path) -> anyhow::Result<DemoPerson> {
    demo_persons(region)?
        .into_iter()
        .next()
        .context("no person in the region is registered at two hospitals")
}

/// People registered cleanly at two hospitals or more who permit sharing, most visited
/// first.
fn demo_persons(region: &Path) -> anyhow::Result<Vec<DemoPerson>> {
    let read = |name: &str| read_truth(region, name);
    let persons = read("persons.ndjson")?;
    let registrations = read("registrations.ndjson")?;
    let mut found: Vec<(usize, &Value, Vec<&Value>)> = Vec::new();
    for p in &persons {
        let consent = &p["consent"];
        if p["newborn"] == true
            || consent["decision"] != "permit"
            || consent["withdrawn"] == true
            || !consent["excludedHospital"].is_null()
        {
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
        if clean && hospitals.len() >= 2 {
            found.push((score, p, regs));
        }
    }
    found.sort_by_key(|f| std::cmp::Reverse(f.0));
    Ok(found
        .into_iter()
        .map(|(_, p, regs)| demo_person_of(p, &regs))
        .collect())
}

fn demo_person_of(p: &Value, regs: &[&Value]) -> DemoPerson {
    DemoPerson {
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
        registered: regs
            .iter()
            .filter_map(|r| {
                Some((
                    r["patient"].as_str()?.to_string(),
                    r["hospital"].as_str()?.to_string(),
                ))
            })
            .collect(),
    }
}

/// Someone a clerk registered with errors at one hospital at least (a homophone, pinyin
/// only, traditional characters, a mistyped or old ID), and cleanly at another.
pub struct Linked {
    pub name: String,
    pub pinyin: String,
    pub sex: String,
    pub birth: String,
    pub mrn_system: String,
    pub mrn: String,
    /// Each registration: Patient id, hospital, and the errors in it.
    pub registrations: Vec<(String, String, Vec<String>)>,
}

fn linked_person(region: &Path) -> anyhow::Result<Linked> {
    const ERRORS: [&str; 5] = [
        "homophone",
        "pinyin_name",
        "traditional",
        "id_typo",
        "legacy_id",
    ];
    let persons = read_truth(region, "persons.ndjson")?;
    let registrations = read_truth(region, "registrations.ndjson")?;
    let mut by_person: std::collections::HashMap<&str, Vec<&Value>> = Default::default();
    for r in &registrations {
        by_person
            .entry(r["person"].as_str().unwrap_or_default())
            .or_default()
            .push(r);
    }
    let noise = |r: &Value| -> Vec<String> {
        r["noise"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect()
    };
    let mut best: Option<(usize, &Value, &Vec<&Value>)> = None;
    for p in persons
        .iter()
        .filter(|p| p["newborn"] != true && p["twin"].is_null())
    {
        let Some(regs) = by_person.get(p["person"].as_str().unwrap_or_default()) else {
            continue;
        };
        let noisy = regs
            .iter()
            .any(|r| noise(r).iter().any(|n| ERRORS.contains(&n.as_str())));
        let clean = regs.iter().any(|r| noise(r).is_empty());
        if noisy && clean && best.as_ref().is_none_or(|(n, _, _)| regs.len() > *n) {
            best = Some((regs.len(), p, regs));
        }
    }
    let (_, p, regs) = best.context("no person in the region is registered with errors")?;
    let clean = regs
        .iter()
        .find(|r| noise(r).is_empty())
        .context("a clean registration")?;
    let hospital = clean["hospital"]
        .as_str()
        .and_then(synth::hospitals::hospital)
        .context("a hospital")?;
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    Ok(Linked {
        name: text(&p["name"]),
        pinyin: text(&p["pinyin"]),
        sex: text(&p["sex"]),
        birth: text(&p["birthDate"]),
        mrn_system: hospital.mrn_system(),
        mrn: text(&clean["mrn"]),
        registrations: regs
            .iter()
            .map(|r| (text(&r["patient"]), text(&r["hospital"]), noise(r)))
            .collect(),
    })
}

fn read_truth(region: &Path, name: &str) -> anyhow::Result<Vec<Value>> {
    let f = std::fs::File::open(region.join("truth").join(name))
        .with_context(|| format!("the region has no truth/{name}"))?;
    std::io::BufReader::new(f)
        .lines()
        .map(|l| Ok(serde_json::from_str(&l?)?))
        .collect()
}

/// `$match` input: what an emergency desk might type, the name in pinyin only.
pub fn match_request(p: &Linked) -> String {
    serde_json::json!({"resourceType": "Parameters", "parameter": [{"name": "resource", "resource": {
        "resourceType": "Patient", "name": [{"text": p.pinyin.to_uppercase()}],
        "gender": p.sex, "birthDate": p.birth}}, {"name": "count", "valueInteger": 5}]})
    .to_string()
}

/// The cross-hospital identity: one hospital's record number gives every registration of
/// the person, the mistyped ones included; a name and birth date find them by `$match`.
async fn identity_tour(base: &str, p: &Linked, token: &str) -> anyhow::Result<()> {
    let hospital_of = |id: &str| {
        p.registrations
            .iter()
            .find(|r| r.0 == id)
            .map(|r| {
                format!(
                    "{} (errors: {})",
                    r.1,
                    if r.2.is_empty() {
                        "none".into()
                    } else {
                        r.2.join(", ")
                    }
                )
            })
            .unwrap_or_else(|| "another person!".into())
    };
    let path = format!(
        "/Patient/$ihe-pix?sourceIdentifier={}|{}",
        p.mrn_system, p.mrn
    );
    let (status, body) = http_get(base, &path, token).await?;
    let v: Value = serde_json::from_slice(&body).unwrap_or_default();
    let ids: Vec<&str> = v["parameter"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| x["valueReference"]["reference"].as_str())
        .map(|r| r.trim_start_matches("Patient/"))
        .collect();
    println!(
        "GET {path}\n  {}, registered {} times, some with errors; one record number finds: {status}, {} of {} registrations",
        p.name,
        p.registrations.len(),
        ids.len(),
        p.registrations.len()
    );
    for id in &ids {
        println!("    Patient/{id} at {}", hospital_of(id));
    }
    let addr = base
        .trim_start_matches("http://")
        .parse()
        .context("base is http://ip:port")?;
    let (status, body) = Connection::open(addr)
        .await?
        .with_token(token)
        .post("/Patient/$match", match_request(p).as_bytes())
        .await?;
    let v: Value = serde_json::from_slice(&body).unwrap_or_default();
    println!(
        "POST /Patient/$match (name in pinyin only: {}, {}, {})\n  {status}:",
        p.pinyin.to_uppercase(),
        p.sex,
        p.birth
    );
    for e in v["entry"].as_array().into_iter().flatten() {
        let id = e["resource"]["id"].as_str().unwrap_or_default();
        println!(
            "    Patient/{id} score {} {} at {}",
            e["search"]["score"],
            e["search"]["extension"][0]["valueCode"]
                .as_str()
                .unwrap_or_default(),
            hospital_of(id)
        );
    }
    Ok(())
}

/// A few requests over the socket, printed as a user would make them.
async fn tour(base: &str, person: &DemoPerson, token: &str) -> anyhow::Result<()> {
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
        let (status, body) = http_get(base, &path, token).await?;
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

/// The shared record as doctors meet it: a doctor of one of the person's hospitals opens
/// it under the patient's consent; a doctor of a hospital that never saw the patient is
/// refused, breaks the glass in an emergency, and reads it flagged for review.
async fn shared_tour(
    base: &str,
    people: &[DemoPerson],
    credentials: &auth::Config,
) -> anyhow::Result<Option<(String, String)>> {
    let doctor = |hospital: &str, purpose: policy::Purpose| {
        crate::admin::doctor(hospital, "demo-doctor", purpose)
    };
    // Consents lapse after some years: follow someone whose consent is still in force.
    let mut opened = None;
    for person in people.iter().take(50) {
        let (patient, hospital) = person
            .registered
            .last()
            .context("the demo person has registrations")?;
        let path = format!("/shared/Patient/{patient}");
        let token = crate::admin::mint(
            credentials,
            &doctor(hospital, policy::Purpose::Treatment),
            600,
        )?;
        let (status, body) = http_get(base, &path, &token).await?;
        if status == 200 {
            opened = Some((person, path, hospital, body));
            break;
        }
    }
    let Some((person, path, hospital, body)) = opened else {
        println!(
            "No one's consent to sharing is in force in this region: the shared record stays closed."
        );
        return Ok(None);
    };
    println!(
        "GET {path}\n  {}'s record, for a doctor of {hospital}, treating: 200 {}",
        person.name,
        shared_summary(&body)
    );
    let stranger = synth::hospitals::HOSPITALS
        .iter()
        .map(|h| h.id)
        .find(|h| !person.registered.iter().any(|(_, r)| r == h))
        .context("a hospital the person never visited")?;
    let token = crate::admin::mint(
        credentials,
        &doctor(stranger, policy::Purpose::Treatment),
        600,
    )?;
    let (status, body) = http_get(base, &path, &token).await?;
    println!(
        "  a doctor of {stranger}, where the patient never registered: {status} {}",
        shared_summary(&body)
    );
    let token = crate::admin::mint(
        credentials,
        &doctor(stranger, policy::Purpose::Emergency),
        600,
    )?;
    let addr = base
        .trim_start_matches("http://")
        .parse()
        .context("base is http://ip:port")?;
    let mut conn = Connection::open(addr).await?.with_token(&token);
    let reason = serde_json::json!({"resourceType": "Parameters", "parameter": [
        {"name": "reason", "valueString": "unconscious on arrival at the emergency department"}]});
    let (status, _) = conn
        .post(
            &format!("{path}/$break-glass"),
            reason.to_string().as_bytes(),
        )
        .await?;
    println!(
        "POST {path}/$break-glass (the reason stated)\n  {status}: a grant for 72 hours, awaiting review"
    );
    let (status, body) = conn.get(&path).await?;
    println!(
        "GET {path}\n  the same doctor, in the emergency: {status} {}",
        shared_summary(&body)
    );
    Ok(Some((
        path.trim_start_matches("/shared/Patient/").to_string(),
        hospital.to_string(),
    )))
}

/// The doctor's pages as a browser meets them: sign in, find the patient by resident ID
/// (POSTed, never in the address), open the record.
async fn pages_tour(
    base: &str,
    person: &DemoPerson,
    hospital: &str,
    password: &str,
) -> anyhow::Result<()> {
    let addr = base
        .trim_start_matches("http://")
        .parse()
        .context("base is http://ip:port")?;
    let mut conn = Connection::open(addr).await?;
    let form = |pairs: &[(&str, &str)]| {
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish()
            .into_bytes()
    };
    const FORM: &str = "application/x-www-form-urlencoded";
    let user = format!("doctor.{hospital}");
    let (status, _) = conn
        .post_as(
            "/ui/login",
            FORM,
            &form(&[("username", &user), ("password", password)]),
        )
        .await?;
    let (_, page) = conn.get("/ui/doctor").await?;
    let page = String::from_utf8_lossy(&page);
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .context("the find page carries its form token")?
        .to_string();
    conn.post_as(
        "/ui/doctor/find",
        FORM,
        &form(&[
            ("csrf", &csrf),
            ("kind", "resident"),
            ("value", &person.resident_id),
        ]),
    )
    .await?;
    let (record_status, body) = conn.get("/ui/doctor/record").await?;
    let body = String::from_utf8_lossy(&body);
    println!(
        "The doctor's pages: {user} signs in ({status}), finds {} by resident ID, opens the record: {record_status}, {} bytes of HTML, {} reminder banners, {} visits on the timeline",
        person.name,
        body.len(),
        body.matches("class=\"banner ").count(),
        body.matches("<circle class=\"visit").count(),
    );
    Ok(())
}

/// The reminders as a hospital system meets them: CDS Hooks calls for the patient the
/// doctor opened, with orders that repeat what another hospital did.
async fn cds_tour(
    base: &str,
    patient: &str,
    hospital: &str,
    credentials: &auth::Config,
) -> anyhow::Result<()> {
    println!("\nReminders (CDS Hooks 2.0, GET /cds-services), for a doctor of {hospital}:");
    let token = crate::admin::mint(
        credentials,
        &crate::admin::doctor(hospital, "demo-doctor", policy::Purpose::Treatment),
        600,
    )?;
    let (_, body) = http_get(base, &format!("/shared/Patient/{patient}"), &token).await?;
    let record: Value = serde_json::from_slice(&body)?;
    let resources: Vec<&Value> = record["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| &e["resource"])
        .collect();
    let coded = |v: &Value, system: &str| {
        v["coding"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["system"] == system)
            .and_then(|c| c["code"].as_str())
            .map(str::to_string)
    };
    // Draft orders: a drug the patient is allergic to (or amoxicillin), the newest
    // prescription again, and the newest mutually recognized test again.
    let allergen = resources
        .iter()
        .filter(|r| r["resourceType"] == "AllergyIntolerance")
        .find_map(|r| coded(&r["code"], terminology::systems::ATC));
    let allergic_drug = terminology::DRUGS
        .iter()
        .find(|d| allergen.as_deref().is_some_and(|a| d.atc.starts_with(a)))
        .or_else(|| {
            terminology::DRUGS
                .iter()
                .find(|d| d.ingredient_en == "amoxicillin")
        })
        .context("a drug to order")?;
    let mut orders = vec![
        serde_json::json!({"resourceType": "MedicationRequest", "id": "draft-1", "status": "draft", "intent": "order",
        "subject": {"reference": format!("Patient/{patient}")},
        "medicationCodeableConcept": {"coding": [{"system": terminology::systems::DRUG, "code": allergic_drug.code}], "text": allergic_drug.zh}}),
    ];
    if let Some(repeat) = resources
        .iter()
        .filter(|r| r["resourceType"] == "MedicationRequest")
        .find_map(|r| coded(&r["medicationCodeableConcept"], terminology::systems::DRUG))
    {
        orders.push(serde_json::json!({"resourceType": "MedicationRequest", "id": "draft-2", "status": "draft", "intent": "order",
            "subject": {"reference": format!("Patient/{patient}")},
            "medicationCodeableConcept": {"coding": [{"system": terminology::systems::DRUG, "code": repeat}]}}));
    }
    if let Some(test) = resources
        .iter()
        .filter(|r| r["resourceType"] == "DiagnosticReport" && r["meta"]["tag"].is_array())
        .find_map(|r| coded(&r["code"], terminology::systems::LOINC))
    {
        orders.push(serde_json::json!({"resourceType": "ServiceRequest", "id": "draft-3", "status": "draft", "intent": "order",
            "subject": {"reference": format!("Patient/{patient}")},
            "code": {"coding": [{"system": terminology::systems::LOINC, "code": test}]}}));
    }
    let addr = base
        .trim_start_matches("http://")
        .parse()
        .context("base is http://ip:port")?;
    let mut conn = Connection::open(addr).await?.with_token(&token);
    for (hook, context) in [
        (
            "patient-view",
            serde_json::json!({"userId": "Practitioner/demo-doctor", "patientId": patient}),
        ),
        (
            "order-select",
            serde_json::json!({"userId": "Practitioner/demo-doctor", "patientId": patient,
                "draftOrders": {"resourceType": "Bundle", "type": "collection", "entry": orders.iter().map(|o| serde_json::json!({"resource": o})).collect::<Vec<_>>()}}),
        ),
    ] {
        let request = serde_json::json!({"hook": hook, "hookInstance": uuid::Uuid::new_v4().to_string(), "context": context});
        let (status, body) = conn
            .post(
                &format!("/cds-services/yilian-{hook}"),
                request.to_string().as_bytes(),
            )
            .await?;
        let v: Value = serde_json::from_slice(&body).unwrap_or_default();
        println!("POST /cds-services/yilian-{hook}: {status}");
        for c in v["cards"].as_array().into_iter().flatten() {
            println!(
                "  [{}] {}",
                c["indicator"].as_str().unwrap_or_default(),
                c["summary"].as_str().unwrap_or_default()
            );
        }
    }
    Ok(())
}

/// The patient's access log and notices, the auditor's anomalies and review queue, and a
/// proof that a record is in the signed log.
async fn audit_tour(
    base: &str,
    patient: &str,
    credentials: &auth::Config,
    admin: &str,
) -> anyhow::Result<()> {
    println!(
        "
The audit trail: every access above was recorded before its answer left."
    );
    let (_, body) = http_get(base, &format!("/Person?link=Patient/{patient}"), admin).await?;
    let found: Value = serde_json::from_slice(&body)?;
    let person = found["entry"][0]["resource"]["id"]
        .as_str()
        .context("the person of the demo patient")?;
    let as_patient = crate::admin::mint(
        credentials,
        &crate::admin::principal(policy::Caller {
            role: policy::Role::Patient,
            purpose: policy::Purpose::PatientAccess,
            organization: None,
            practitioner: None,
            person: Some(format!("Person/{person}")),
        }),
        600,
    )?;
    let (status, body) = http_get(
        base,
        &format!("/Patient/{patient}/$access-log"),
        &as_patient,
    )
    .await?;
    let log: Value = serde_json::from_slice(&body)?;
    println!("GET /Patient/{patient}/$access-log, as the patient: {status}");
    for e in log["entry"].as_array().into_iter().flatten().take(6) {
        let e = &e["resource"];
        let tags: Vec<&str> = e["meta"]["tag"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t["code"].as_str())
            .collect();
        println!(
            "  {} {} by {} of {} for {}, outcome {}{}",
            e["recorded"].as_str().unwrap_or_default(),
            e["subtype"][1]["code"].as_str().unwrap_or_default(),
            e["agent"][0]["who"]["reference"].as_str().unwrap_or("?"),
            e["agent"][1]["who"]["display"]
                .as_str()
                .or(e["agent"][1]["who"]["reference"].as_str())
                .unwrap_or("-"),
            e["purposeOfEvent"][0]["coding"][0]["code"]
                .as_str()
                .unwrap_or("-"),
            e["outcome"].as_str().unwrap_or_default(),
            if tags.is_empty() {
                String::new()
            } else {
                format!(" [{}]", tags.join(", "))
            }
        );
    }
    let (_, body) = http_get(
        base,
        &format!("/Patient/{patient}/$notifications"),
        &as_patient,
    )
    .await?;
    let notices: Value = serde_json::from_slice(&body)?;
    println!(
        "  notices for the patient (SMS or e-mail through the outbox): {}",
        notices["entry"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|n| n["resource"]["category"][0]["coding"][0]["code"].as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let auditor = crate::admin::mint(
        credentials,
        &crate::admin::principal(policy::Caller {
            role: policy::Role::Auditor,
            purpose: policy::Purpose::Audit,
            organization: None,
            practitioner: Some("Practitioner/demo-auditor".into()),
            person: None,
        }),
        600,
    )?;
    let (_, body) = http_get(base, "/audit/anomalies", &auditor).await?;
    let anomalies: Value = serde_json::from_slice(&body)?;
    println!(
        "GET /audit/anomalies, as the regulator: {}",
        anomalies["counts"]
    );
    let (_, body) = http_get(base, "/audit/break-glass", &auditor).await?;
    let queue: Value = serde_json::from_slice(&body)?;
    println!(
        "GET /audit/break-glass: {} access(es) awaiting review",
        queue["total"]
    );
    let (_, body) = http_get(base, "/audit/tree-head", &auditor).await?;
    let head: Value = serde_json::from_slice(&body)?;
    let size = head["tree_size"].as_u64().context("a tree size")?;
    let (_, body) = http_get(base, &format!("/audit/proof?index=0&size={size}"), &auditor).await?;
    let proof: Value = serde_json::from_slice(&body)?;
    println!(
        "GET /audit/tree-head: {size} records under a signed root; /audit/proof?index=0&size={size}: {} hashes prove the first is in it",
        proof["audit_path"].as_array().map_or(0, Vec::len)
    );
    Ok(())
}

/// Items per hospital and what was withheld, or the refusal.
fn shared_summary(body: &[u8]) -> String {
    let v: Value = serde_json::from_slice(body).unwrap_or_default();
    if v["resourceType"] == "OperationOutcome" {
        return format!(
            "refused: {}",
            v["issue"][0]["diagnostics"].as_str().unwrap_or_default()
        );
    }
    let mut by_hospital: std::collections::BTreeMap<String, usize> = Default::default();
    let mut notes = Vec::new();
    for e in v["entry"].as_array().into_iter().flatten() {
        if e["search"]["mode"] == "outcome" {
            for i in e["resource"]["issue"].as_array().into_iter().flatten() {
                notes.push(i["diagnostics"].as_str().unwrap_or_default().to_string());
            }
            continue;
        }
        let org = e["search"]["extension"][0]["valueReference"]["reference"]
            .as_str()
            .unwrap_or("?")
            .trim_start_matches("Organization/")
            .to_string();
        *by_hospital.entry(org).or_default() += 1;
    }
    let counts: Vec<String> = by_hospital
        .iter()
        .map(|(h, n)| format!("{n} from {h}"))
        .collect();
    format!(
        "{} items ({}); {}",
        v["total"],
        counts.join(", "),
        notes.join("; ")
    )
}

/// A hand-made WS/T 500 laboratory report (also the end-to-end tests' sample).
const SAMPLE_CDA: &str = include_str!("../../../tests/e2e/wst500-C0007.xml");

/// Sends `messages` over one MLLP connection, one at a time, and returns each
/// acknowledgement's MSA code and its first ERR text.
fn mllp_exchange(addr: std::net::SocketAddr, messages: &[String]) -> anyhow::Result<Vec<String>> {
    let messages: Vec<Vec<u8>> = messages.iter().map(|m| m.as_bytes().to_vec()).collect();
    let acks = crate::client::mllp_send(addr, messages.into_iter(), 1)?;
    Ok(acks
        .iter()
        .map(|(_, ack)| {
            let field = |id: &str, n: usize| segment(ack, id).split('|').nth(n).unwrap_or_default();
            format!("{} {}", field("MSA", 1), field("ERR", 8))
                .trim()
                .to_string()
        })
        .collect())
}

/// A hospital that speaks only HL7 v2 joins: its interface engine registers the demo
/// patient and sends a lab result over MLLP; a resend is answered from its receipt; a
/// message without a record number is refused naming the field; the new registration joins
/// the person by resident ID; data quality and the unmapped-code queue show it all.
async fn feeds_tour(
    service: &service::Service,
    base: &str,
    person: &DemoPerson,
    token: &str,
) -> anyhow::Result<()> {
    let Some(h) = synth::hospitals::HOSPITALS
        .iter()
        .find(|h| !person.registered.iter().any(|(_, r)| r == h.id))
    else {
        return Ok(());
    };
    let facility = h.id.to_uppercase();
    let feed = auth::Feed {
        hospital: h.id.to_string(),
        facilities: vec![facility.clone()],
        addresses: vec!["127.0.0.1".into()],
    };
    let addr = crate::serve::start_mllp("127.0.0.1:0".parse()?, service, vec![feed])?;
    println!(
        "\nHospital feeds: {} sends HL7 v2 over MLLP ({addr}; yilian serve --mllp, admitted by yilian admin feed):",
        h.zh
    );
    let id = &person.resident_id;
    let (family, given) = person
        .name
        .char_indices()
        .nth(1)
        .map(|(i, _)| person.name.split_at(i))
        .unwrap_or((person.name.as_str(), ""));
    let birth = id.get(6..14).unwrap_or_default();
    let sex = match id.get(16..17).and_then(|d| d.parse::<u8>().ok()) {
        Some(d) if d % 2 == 1 => "M",
        Some(_) => "F",
        None => "U",
    };
    let msh = |control: &str, kind: &str| {
        format!("MSH|^~\\&|HIS|{facility}|YILIAN|REGION|20261201083000||{kind}|{control}|P|2.4\r")
    };
    let pid =
        format!("PID|1||V2-0001^^^{facility}^MR~{id}^^^^NI||{family}^{given}||{birth}|{sex}\r");
    let oru = msh("DEMO2", "ORU^R01^ORU_R01")
        + &pid
        + "OBR|1|ORD1|LAB1|58410-2^血常规^LN|||20261201080000|||||||||||||||20261201082000|||F\r\
           OBX|1|NM|6690-2^白细胞计数^LN||11.2|10*9/L|3.5-9.5|H|||F\r\
           OBX|2|NM|L-CRP^C反应蛋白^L||18|mg/L|0-10|H|||F\r";
    let messages = vec![
        msh("DEMO1", "ADT^A04^ADT_A01") + &pid + "PV1|1|O|内科门诊||||||||||||||||V1\r",
        oru.clone(),
        oru,
        msh("DEMO3", "ADT^A08^ADT_A01") + &format!("PID|1||^^^{facility}^MR||{family}^{given}\r"),
    ];
    let acks = tokio::task::spawn_blocking(move || mllp_exchange(addr, &messages)).await??;
    for (what, ack) in [
        "registration (ADT^A04)",
        "lab result (ORU^R01)",
        "the same result resent (same control id)",
        "an update without a record number",
    ]
    .iter()
    .zip(&acks)
    {
        println!("  {what}: {ack}");
    }
    let (_, body) = http_get(
        base,
        &format!(
            "/Patient?identifier={}|{id}&_summary=count",
            terminology::systems::RESIDENT_ID
        ),
        token,
    )
    .await?;
    let n: Value = serde_json::from_slice(&body)?;
    println!(
        "  the person now has {} registrations found by resident ID, one of them from the v2 feed",
        n["total"]
    );
    // The same hospital's laboratory sends a WS/T 500 检验报告 (C0007) for the person.
    let cda = SAMPLE_CDA
        .replace("MZ-5001", "V2-0001")
        .replace("110101198505050023", id)
        .replace("刘芳", &person.name);
    let mut answers = Vec::new();
    for _ in 0..2 {
        let mut c = Connection::open(base.trim_start_matches("http://").parse()?)
            .await?
            .with_token(token);
        let (status, body) = c
            .post_as(
                &format!("/feeds/cda?hospital={}", h.id),
                "application/xml",
                cda.as_bytes(),
            )
            .await?;
        let v: Value = serde_json::from_slice(&body).unwrap_or_default();
        answers.push(format!(
            "{status} {}",
            v["outcome"].as_str().unwrap_or_default()
        ));
    }
    println!(
        "  a WS/T 500 laboratory report (POST /feeds/cda): {}; the same document again: {}",
        answers[0], answers[1]
    );
    let (_, body) = http_get(base, "/feeds/quality", token).await?;
    let q: Value = serde_json::from_slice(&body)?;
    if let Some(hq) = q["hospitals"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|x| x["hospital"] == h.id)
    {
        println!(
            "  data quality (GET /feeds/quality): {} messages, {} accepted, {} refused: {}",
            hq["messages"],
            hq["accepted"],
            hq["errors"].as_u64().unwrap_or(0) + hq["rejected"].as_u64().unwrap_or(0),
            hq["refusals"][0]["reason"].as_str().unwrap_or("-")
        );
    }
    let (_, body) = http_get(base, &format!("/feeds/unmapped?hospital={}", h.id), token).await?;
    let u: Value = serde_json::from_slice(&body)?;
    for i in u["items"].as_array().into_iter().flatten() {
        println!(
            "  work queue (GET /feeds/unmapped): local code {} {} has no standard code yet; the result is stored as sent, tagged unmapped",
            i["code"].as_str().unwrap_or_default(),
            i["display"].as_str().unwrap_or_default()
        );
    }
    Ok(())
}
