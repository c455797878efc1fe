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
    eprintln!("generating {} patients ...", args.patients);
    let mut lines: Vec<Vec<u8>> = Vec::new();
    let mut patients = Vec::new();
    for org in synthetic::organizations() {
        lines.push(serde_json::to_vec(&org)?);
    }
    for n in 0..args.patients {
        let record = synthetic::patient_record(7, n);
        patients.push(record[0]["id"].as_str().unwrap_or_default().to_string());
        for r in record {
            lines.push(serde_json::to_vec(&r)?);
        }
    }
    let bytes: usize = lines.iter().map(Vec::len).sum();
    println!(
        "data: {} resources, {} patients, {:.0} bytes of JSON per resource",
        lines.len(),
        patients.len(),
        bytes as f64 / lines.len() as f64
    );
    let _ = std::fs::remove_dir_all(&args.data);
    {
        // The pure part of ingest alone, on one thread: strict parse, validation, extraction.
        let checker = crate::open_service(&crate::StoreArgs {
            data: args.data.join("check"),
            database_url: None,
            database_schema: String::new(),
        })?;
        let t = Instant::now();
        for l in &lines {
            checker.check(l).context("generated data is valid")?;
        }
        let check_secs = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let mut entries = 0usize;
        for l in &lines {
            let v: serde_json::Value = serde_json::from_slice(l)?;
            entries += fhir::search::extract(&v).len();
        }
        let extract_secs = t.elapsed().as_secs_f64();
        println!(
            "one core: parse+validate {:.0} resources/s; parse+extract {:.0} resources/s ({:.1} index values each)",
            lines.len() as f64 / check_secs,
            lines.len() as f64 / extract_secs,
            entries as f64 / lines.len() as f64
        );
        checker.close()?;
        let _ = std::fs::remove_dir_all(&args.data);
    }
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
        if let Some(url) = &store_args.database_url {
            let pg = store_postgres::Postgres::open(url, "yilian_bench")?;
            pg.drop_schema()?;
        }
        let service = crate::open_service(&store_args)?;
        println!("\n== {name} ==");
        let secs = ingest(&service, &lines)?;
        println!(
            "ingest: {} resources in {:.2}s = {:.0} resources/s",
            lines.len(),
            secs,
            lines.len() as f64 / secs
        );
        let stats = service.stats()?;
        println!(
            "disk: {} bytes for {} resources = {:.0} bytes/resource (indexes and history included)",
            stats.bytes_on_disk,
            stats.resources,
            stats.bytes_on_disk as f64 / stats.resources.max(1) as f64
        );
        measure(&service, &patients, args.requests)?;
        service.close()?;
    }
    println!("\npeak memory (VmHWM): {} MiB", peak_rss_kib() / 1024);
    Ok(())
}

/// Validates on one thread and writes on another, as `yilian import` does.
fn ingest(service: &Service, lines: &[Vec<u8>]) -> anyhow::Result<f64> {
    let started = Instant::now();
    std::thread::scope(|s| -> anyhow::Result<()> {
        let (tx, rx) = std::sync::mpsc::sync_channel(4);
        let checker = service.clone();
        s.spawn(move || {
            for chunk in lines.chunks(crate::import::BATCH) {
                let checked: Vec<_> = chunk
                    .iter()
                    .map(|l| checker.check(l).expect("generated data is valid"))
                    .collect();
                if tx.send(checked).is_err() {
                    return;
                }
            }
        });
        for batch in rx {
            for r in service.import(&Caller::System, batch) {
                r.context("import failed")?;
            }
        }
        Ok(())
    })?;
    Ok(started.elapsed().as_secs_f64())
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

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}
