//! `yilian bench`: generates its own data (nothing is downloaded), loads it into a fresh
//! embedded store and, when a URL is given, a fresh PostgreSQL schema, then measures over a
//! real socket. Figures are medians and tails of many requests; compare backends within one
//! run, since the machine's noise moves absolute numbers between runs.

use crate::client::Connection;
use anyhow::Context;
use service::{Caller, Service};
use std::sync::Arc;
use std::time::{Duration, Instant};
use synth::{Config, Sink};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub what: Option<What>,
    /// Patients to generate (about 60 resources each).
    #[arg(long, default_value_t = 5000)]
    pub patients: u64,
    /// Requests per latency measurement.
    #[arg(long, default_value_t = 4000)]
    pub requests: usize,
    /// Also run on PostgreSQL at this URL (default: $YILIAN_TEST_POSTGRES_URL).
    #[arg(long, env = "YILIAN_TEST_POSTGRES_URL")]
    pub postgres: Option<String>,
    /// Skip PostgreSQL even when a URL is known.
    #[arg(long)]
    pub sqlite_only: bool,
    /// Directory for the embedded store (wiped first).
    #[arg(long, default_value = "data/bench")]
    pub data: std::path::PathBuf,
}

/// Benchmarks of one capability.
#[derive(clap::Subcommand)]
pub enum What {
    /// The master patient index against ground truth, beside Splink.
    Mpi(crate::bench_mpi::Args),
    /// The audit log: append rate, the latency a record adds, proofs, verification.
    Audit(crate::bench_audit::Args),
    /// CDS Hooks calls for a patient with 500 resources, from many clients.
    Cds(crate::bench_cds::Args),
    /// HL7 v2 over MLLP: sustained messages per second with durable acknowledgements.
    Feeds(crate::bench_feeds::Args),
    /// The doctor's record page beside the JSON shared record it is made from.
    Pages(crate::bench_pages::Args),
}

pub fn run(args: Args) -> anyhow::Result<()> {
    match args.what {
        Some(What::Mpi(a)) => return crate::bench_mpi::run(a),
        Some(What::Audit(a)) => return crate::bench_audit::run(a),
        Some(What::Cds(a)) => return crate::bench_cds::run(a),
        Some(What::Feeds(a)) => return crate::bench_feeds::run(a),
        Some(What::Pages(a)) => return crate::bench_pages::run(a),
        None => {}
    }
    generation(&args)?;
    let sample: Vec<Vec<u8>> = resources(&config(1000.min(args.patients)))
        .map(|(_, line)| line)
        .collect();
    println!(
        "data: {} patients, {:.0} bytes of JSON per resource on average",
        args.patients,
        sample.iter().map(Vec::len).sum::<usize>() as f64 / sample.len().max(1) as f64
    );
    pure_stage(&args, &sample)?;
    let mut backends: Vec<(&str, crate::StoreArgs)> = vec![(
        "sqlite",
        crate::StoreArgs {
            data: args.data.clone(),
            database_url: None,
            database_schema: String::new(),
        },
    )];
    if let (Some(url), false) = (&args.postgres, args.sqlite_only) {
        backends.push((
            "postgres",
            crate::StoreArgs {
                data: args.data.clone(),
                database_url: Some(url.clone()),
                database_schema: "yilian_bench".into(),
            },
        ));
    }
    for (name, store_args) in backends {
        let _ = std::fs::remove_dir_all(&args.data);
        if let Some(url) = &store_args.database_url {
            store_postgres::Postgres::open(url, "yilian_bench")?.drop_schema()?;
        }
        let service = crate::open_service(&store_args)?;
        println!("\n== {name} ==");
        let (count, secs, patients) = ingest(&service, args.patients)?;
        println!(
            "ingest: {count} resources in {secs:.2}s = {:.0} resources/s",
            count as f64 / secs
        );
        let busy = service.stats()?;
        // At rest: after a clean close the write-ahead log is folded into the database.
        service.close()?;
        // The generated region ends on 2026-11-01: without a sharing window, the shared
        // record shows (and the benchmark carries) everything a person has.
        let mut config = service::Config::default();
        config.region.window_days = None;
        let service = crate::open_service_with(&store_args, config)?;
        let stats = service.stats()?;
        println!(
            "disk: {:.0} bytes/resource at rest ({} bytes for {} resources, indexes and history included); {:.0} bytes/resource right after ingest, write-ahead log included",
            stats.bytes_on_disk as f64 / stats.resources.max(1) as f64,
            stats.bytes_on_disk,
            stats.resources,
            busy.bytes_on_disk as f64 / busy.resources.max(1) as f64,
        );
        measure(&service, &patients, args.requests)?;
        println!(
            "serving memory (VmRSS) after the measurements: {} MiB",
            memory_kib("VmRSS:") / 1024
        );
        service.close()?;
    }
    println!(
        "\npeak memory of the whole run (VmHWM): {} MiB",
        memory_kib("VmHWM:") / 1024
    );
    Ok(())
}

/// The benchmark's seed (the body dictionary is trained on another one).
const SEED: u64 = 7;

fn config(patients: u64) -> Config {
    let mut c = Config::new(SEED, patients, synth::Date::ymd(2026, 11, 1));
    c.format = Some(synth::hospitals::Format::Ndjson);
    c
}

/// The region's resources as NDJSON lines, household by household, with their types.
fn resources(config: &Config) -> impl Iterator<Item = (&'static str, Vec<u8>)> + '_ {
    std::iter::once(synth::header(config))
        .chain(
            synth::households(config)
                .map(|(h, first, plan, take)| synth::household(config, h, &plan, first, take)),
        )
        .flat_map(|o| o.lines)
        .filter_map(|(sink, line)| match sink {
            Sink::Ndjson(_, t) => Some((t, line)),
            _ => None,
        })
}

/// Generation to NDJSON files on all cores, as `yilian synth` does it: the median of three
/// runs, beside the time to copy the same bytes (the disk's share of it).
fn generation(args: &Args) -> anyhow::Result<()> {
    let dir = args.data.join("region");
    let copy = args.data.join("region-copy");
    let mut c = Config::new(SEED, args.patients, synth::Date::ymd(2026, 11, 1));
    c.format = Some(synth::hospitals::Format::Ndjson);
    let mut runs = Vec::new();
    let mut summary = None;
    for _ in 0..3 {
        let _ = std::fs::remove_dir_all(&dir);
        let s = crate::region::generate(&c, &dir, false)?;
        runs.push(s.seconds);
        summary = Some(s);
    }
    runs.sort_by(f64::total_cmp);
    let s = summary.context("three runs")?;
    let median = runs[1];
    let mut bytes = 0;
    let t = Instant::now();
    for path in s.files.keys() {
        let to = copy.join(path);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)?;
        }
        bytes += std::fs::copy(dir.join(path), to)?;
    }
    let copy_secs = t.elapsed().as_secs_f64();
    println!(
        "generate: {} resources for {} patients, median of 3 runs {median:.2}s = {:.0} resources/s ({:.0} MB/s of NDJSON, {} threads); copying the same {:.0} MB takes {copy_secs:.2}s ({:.0}% of generating)",
        s.resources,
        args.patients,
        s.resources as f64 / median,
        bytes as f64 / median / 1e6,
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        bytes as f64 / 1e6,
        100.0 * copy_secs / median
    );
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&copy);
    Ok(())
}

/// The pure part of ingest alone, on one thread: strict parse, validation, extraction.
fn pure_stage(args: &Args, sample: &[Vec<u8>]) -> anyhow::Result<()> {
    let dir = args.data.join("check");
    let checker = crate::open_service(&crate::StoreArgs {
        data: dir.clone(),
        database_url: None,
        database_schema: String::new(),
    })?;
    let t = Instant::now();
    for _ in 0..5 {
        for l in sample {
            checker.check(l).context("generated data is valid")?;
        }
    }
    let check_secs = t.elapsed().as_secs_f64() / 5.0;
    let t = Instant::now();
    let mut entries = 0usize;
    for _ in 0..5 {
        for l in sample {
            let v: serde_json::Value = serde_json::from_slice(l)?;
            entries += fhir::search::extract(&v).len();
        }
    }
    let extract_secs = t.elapsed().as_secs_f64() / 5.0;
    println!(
        "one core: parse+validate {:.0} resources/s; parse+extract {:.0} resources/s ({:.1} index values each)",
        sample.len() as f64 / check_secs,
        sample.len() as f64 / extract_secs,
        entries as f64 / 5.0 / sample.len() as f64
    );
    checker.close()?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Generates and validates on one thread and writes on another, as `yilian import` does.
/// Returns the count, the seconds, and the ids of the Patient resources.
fn ingest(service: &Service, patients: u64) -> anyhow::Result<(usize, f64, Vec<String>)> {
    let started = Instant::now();
    let mut count = 0;
    let mut ids = Vec::new();
    std::thread::scope(|s| -> anyhow::Result<()> {
        let (tx, rx) = std::sync::mpsc::sync_channel(2);
        let checker = service.clone();
        let generator = s.spawn(move || -> anyhow::Result<Vec<String>> {
            let config = config(patients);
            let mut ids = Vec::new();
            let mut batch = Vec::with_capacity(crate::import::BATCH);
            for (t, line) in resources(&config) {
                let checked = checker.check(&line)?;
                if t == "Patient" {
                    ids.push(checked.id().to_string());
                }
                batch.push(checked);
                if batch.len() == crate::import::BATCH
                    && tx.send(std::mem::take(&mut batch)).is_err()
                {
                    break;
                }
            }
            if !batch.is_empty() {
                let _ = tx.send(batch);
            }
            Ok(ids)
        });
        for batch in rx {
            count += batch.len();
            for r in service.import(&Caller::System, batch) {
                r.context("import failed")?;
            }
        }
        ids = generator
            .join()
            .map_err(|_| anyhow::anyhow!("the generator panicked"))??;
        Ok(())
    })?;
    Ok((count, started.elapsed().as_secs_f64(), ids))
}

fn measure(service: &Service, patients: &[String], requests: usize) -> anyhow::Result<()> {
    let rt = crate::serve::runtime()?;
    rt.block_on(async {
        let (addr, server, token, credentials) = serve_locally(service).await?;
        let token: Arc<str> = token.into();
        let patients = Arc::new(patients.to_vec());
        for clients in [1usize, 16] {
            let p = patients.clone();
            let r = load(addr, &token, clients, requests, move |i| {
                (format!("/Patient/{}", p[(i * 7919) % p.len()]), None)
            })
            .await?;
            r.print(&format!("read by id, {clients:>2} clients"));
            let p = patients.clone();
            let r = load(addr, &token, clients, requests / 4, move |i| {
                let path = format!(
                    "/Observation?patient={}&_count=100",
                    p[(i * 104_729) % p.len()]
                );
                (path, None)
            })
            .await?;
            r.print(&format!(
                "Observation?patient=X&_count=100, {clients:>2} clients"
            ));
        }
        shared_records(addr, &token, &credentials, &patients, requests).await?;
        server.abort();
        anyhow::Ok(())
    })
}

/// The shared record as a doctor of the patient's own hospital opens it (policy, every
/// registration of the person, the filter): over the records the policy opens, since a
/// refusal reads nothing.
async fn shared_records(
    addr: std::net::SocketAddr,
    admin: &Arc<str>,
    credentials: &auth::Config,
    patients: &[String],
    requests: usize,
) -> anyhow::Result<()> {
    let mut conn = Connection::open(addr).await?;
    let (mut open, mut refused, mut items) = (Vec::new(), 0, Vec::new());
    let started = Instant::now();
    for p in patients.iter().step_by(7) {
        let hospital = p.split('-').next().unwrap_or_default();
        let doctor = crate::admin::doctor(hospital, "bench", policy::Purpose::Treatment);
        let token: Arc<str> = crate::admin::mint(credentials, &doctor, 3600)?.into();
        conn.set_token(&token);
        let (status, body) = conn.get(&format!("/shared/Patient/{p}")).await?;
        match status {
            200 => {
                let v: serde_json::Value = serde_json::from_slice(&body)?;
                items.push(v["total"].as_u64().unwrap_or(0));
                open.push((p.clone(), token));
            }
            403 => refused += 1,
            s => anyhow::bail!("the shared record answered {s}"),
        }
        if open.len() >= 200 {
            break;
        }
    }
    anyhow::ensure!(!open.is_empty(), "no shared record opened");
    items.sort_unstable();
    println!(
        "shared record: {} opened, {refused} refused by the policy while probing ({:.1?}, the patient index built on the first); median {} items shown, max {}",
        open.len(),
        started.elapsed(),
        items[items.len() / 2],
        items[items.len() - 1]
    );
    let open = Arc::new(open);
    for clients in [1usize, 16] {
        let o = open.clone();
        let r = load(addr, admin, clients, requests / 4, move |i| {
            let (p, token) = &o[(i * 7919) % o.len()];
            (format!("/shared/Patient/{p}"), Some(token.clone()))
        })
        .await?;
        r.print(&format!("shared record, {clients:>2} clients"));
    }
    Ok(())
}

/// Serves `service` on a loopback port with throwaway credentials; returns the address,
/// the server task, an administrator's token and the credentials (to mint others).
pub async fn serve_locally(
    service: &Service,
) -> anyhow::Result<(
    std::net::SocketAddr,
    tokio::task::JoinHandle<std::io::Result<()>>,
    String,
    auth::Config,
)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let credentials = crate::admin::fresh();
    let token = crate::admin::mint(&credentials, &crate::admin::operator(), 3600)?;
    let app = http_api::router(http_api::AppState {
        service: service.clone(),
        base_url: None,
        max_body_bytes: 1 << 20,
        auth: std::sync::Arc::new(http_api::Authn::new(&credentials, &credentials.audience)?),
    });
    Ok((
        addr,
        tokio::spawn(async move { axum::serve(listener, app).await }),
        token,
        credentials,
    ))
}

struct Figures {
    latencies: Vec<Duration>,
    elapsed: Duration,
}

impl Figures {
    fn print(&self, what: &str) {
        let mut l = self.latencies.clone();
        l.sort();
        let pct = |p: f64| l[((l.len() as f64 * p) as usize).min(l.len() - 1)];
        println!(
            "{what}: p50 {:.2} ms, p99 {:.2} ms, {:.0} requests/s ({} requests)",
            pct(0.50).as_secs_f64() * 1e3,
            pct(0.99).as_secs_f64() * 1e3,
            l.len() as f64 / self.elapsed.as_secs_f64(),
            l.len()
        );
    }
}

/// `clients` keep-alive connections share `total` GETs of `path(i)`.
async fn load(
    addr: std::net::SocketAddr,
    token: &Arc<str>,
    clients: usize,
    total: usize,
    path: impl Fn(usize) -> (String, Option<Arc<str>>) + Send + Sync + 'static,
) -> anyhow::Result<Figures> {
    let path = Arc::new(path);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let path = path.clone();
        let token = token.clone();
        tasks.push(tokio::spawn(async move {
            let mut conn = Connection::open(addr).await?.with_token(&token);
            let mut lat = Vec::new();
            let mut i = c;
            while i < total {
                let (target, as_caller) = path(i);
                if let Some(t) = as_caller {
                    conn.set_token(&t);
                }
                let t = Instant::now();
                let (status, _) = conn.get(&target).await?;
                anyhow::ensure!(status == 200, "status {status}");
                lat.push(t.elapsed());
                i += clients;
            }
            anyhow::Ok(lat)
        }));
    }
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await??);
    }
    Ok(Figures {
        latencies,
        elapsed: started.elapsed(),
    })
}

/// A `/proc/self/status` figure in KiB (`VmRSS:`, `VmHWM:`).
fn memory_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}
