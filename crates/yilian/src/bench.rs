//! `yilian bench`: generates its own data (nothing is downloaded), loads it into a fresh
//! embedded store and, when a URL is given, a fresh PostgreSQL schema, then measures over a
//! real socket. Figures are medians and tails of many requests; compare backends within one
//! run, since the machine's noise moves absolute numbers between runs.

use crate::synthetic;
use anyhow::Context;
use service::{Caller, Service};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

#[derive(clap::Args)]
pub struct Args {
    /// Patients to generate (about 20 resources each).
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

pub fn run(args: Args) -> anyhow::Result<()> {
    // Patient ids are known up front; records are generated again, batch by batch, while
    // ingesting, so the memory figures are the store's and not the generator's.
    let patients: Vec<String> = (0..args.patients)
        .map(|n| {
            synthetic::patient_record(SEED, n)[0]["id"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    let sample: Vec<Vec<u8>> = generate(0..args.patients.min(1000))?;
    println!(
        "data: {} patients, about {:.1} resources each, {:.0} bytes of JSON per resource",
        patients.len(),
        sample.len() as f64 / args.patients.min(1000) as f64,
        sample.iter().map(Vec::len).sum::<usize>() as f64 / sample.len() as f64
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
        let (count, secs) = ingest(&service, args.patients)?;
        println!(
            "ingest: {count} resources in {secs:.2}s = {:.0} resources/s",
            count as f64 / secs
        );
        let busy = service.stats()?;
        // At rest: after a clean close the write-ahead log is folded into the database.
        service.close()?;
        let service = crate::open_service(&store_args)?;
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

/// The organizations (with the first batch) and the records of `patients`, as JSON lines.
fn generate(patients: std::ops::Range<u64>) -> anyhow::Result<Vec<Vec<u8>>> {
    let mut lines = Vec::new();
    if patients.start == 0 {
        for org in synthetic::organizations() {
            lines.push(serde_json::to_vec(&org)?);
        }
    }
    for n in patients {
        for r in synthetic::patient_record(SEED, n) {
            lines.push(serde_json::to_vec(&r)?);
        }
    }
    Ok(lines)
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
fn ingest(service: &Service, patients: u64) -> anyhow::Result<(usize, f64)> {
    let started = Instant::now();
    let mut count = 0;
    // About 20 resources a patient: batches near the import's batch size.
    let per_batch = (crate::import::BATCH as u64 / 20).max(1);
    std::thread::scope(|s| -> anyhow::Result<()> {
        let (tx, rx) = std::sync::mpsc::sync_channel(2);
        let checker = service.clone();
        let generator = s.spawn(move || -> anyhow::Result<()> {
            let mut start = 0;
            while start < patients {
                let end = (start + per_batch).min(patients);
                let checked: Vec<_> = generate(start..end)?
                    .iter()
                    .map(|l| checker.check(l))
                    .collect::<Result<_, _>>()?;
                if tx.send(checked).is_err() {
                    break;
                }
                start = end;
            }
            Ok(())
        });
        for batch in rx {
            count += batch.len();
            for r in service.import(&Caller::System, batch) {
                r.context("import failed")?;
            }
        }
        generator
            .join()
            .map_err(|_| anyhow::anyhow!("the generator panicked"))?
    })?;
    Ok((count, started.elapsed().as_secs_f64()))
}

fn measure(service: &Service, patients: &[String], requests: usize) -> anyhow::Result<()> {
    let rt = crate::serve::runtime()?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let app = http_api::router(http_api::AppState {
            service: service.clone(),
            base_url: None,
            max_body_bytes: 1 << 20,
        });
        let server = tokio::spawn(async move { axum::serve(listener, app).await });
        let patients = Arc::new(patients.to_vec());
        for clients in [1usize, 16] {
            let p = patients.clone();
            let r = load(addr, clients, requests, move |i| {
                format!("/Patient/{}", p[(i * 7919) % p.len()])
            })
            .await?;
            r.print(&format!("read by id, {clients:>2} clients"));
            let p = patients.clone();
            let r = load(addr, clients, requests / 4, move |i| {
                format!(
                    "/Observation?patient={}&_count=100",
                    p[(i * 104_729) % p.len()]
                )
            })
            .await?;
            r.print(&format!(
                "Observation?patient=X&_count=100, {clients:>2} clients"
            ));
        }
        server.abort();
        anyhow::Ok(())
    })
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
    clients: usize,
    total: usize,
    path: impl Fn(usize) -> String + Send + Sync + 'static,
) -> anyhow::Result<Figures> {
    let path = Arc::new(path);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let path = path.clone();
        tasks.push(tokio::spawn(async move {
            let mut conn = Connection::open(addr).await?;
            let mut lat = Vec::new();
            let mut i = c;
            while i < total {
                let t = Instant::now();
                let (status, _) = conn.get(&path(i)).await?;
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

/// A minimal HTTP/1.1 keep-alive client: enough for measuring our own server.
pub struct Connection {
    stream: BufReader<TcpStream>,
    host: String,
}

impl Connection {
    pub async fn open(addr: std::net::SocketAddr) -> anyhow::Result<Connection> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Connection {
            stream: BufReader::new(stream),
            host: addr.to_string(),
        })
    }

    pub async fn get(&mut self, path: &str) -> anyhow::Result<(u16, Vec<u8>)> {
        let req = format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\nAccept: application/fhir+json\r\n\r\n",
            encode_path(path),
            self.host
        );
        self.stream.get_mut().write_all(req.as_bytes()).await?;
        let mut line = String::new();
        self.stream.read_line(&mut line).await?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .context("malformed status line")?;
        let mut length = 0usize;
        loop {
            line.clear();
            self.stream.read_line(&mut line).await?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                length = v.trim().parse()?;
            }
        }
        let mut body = vec![0; length];
        self.stream.read_exact(&mut body).await?;
        Ok((status, body))
    }
}

/// One GET on a fresh connection.
pub async fn http_get(base: &str, path: &str) -> anyhow::Result<(u16, Vec<u8>)> {
    let addr = base
        .trim_start_matches("http://")
        .parse()
        .context("base is http://ip:port")?;
    Connection::open(addr).await?.get(path).await
}

/// Percent-encodes what a request line cannot carry (non-ASCII, spaces, `|`).
fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"/?&=-_.~:$,%".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
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
