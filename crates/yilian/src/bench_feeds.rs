//! `yilian bench feeds`: HL7 v2 result messages streamed over MLLP connections into a fresh
//! store, each acknowledged only after its data is committed. Measures sustained messages
//! per second and the acknowledgement latency, first over one connection sending one
//! message at a time (the baseline), then over many connections, each pipelining a window
//! of messages.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct Args {
    /// Messages sent in the main measurement.
    #[arg(long, default_value_t = 40_000)]
    messages: usize,
    /// Concurrent MLLP connections.
    #[arg(long, default_value_t = 8)]
    connections: usize,
    /// Messages each connection has in flight (1: wait for each acknowledgement).
    #[arg(long, default_value_t = 32)]
    window: usize,
    /// Patients the messages are about.
    #[arg(long, default_value_t = 2000)]
    patients: usize,
    /// Directory for the embedded store (wiped first).
    #[arg(long, default_value = "data/bench-feeds")]
    data: std::path::PathBuf,
    /// Run on PostgreSQL at this URL instead (schema `yilian_bench_feeds`, dropped first).
    #[arg(long)]
    postgres: Option<String>,
}

/// A lab result message: a report with three results for one of `patients` people.
fn message(n: usize, patients: usize) -> Vec<u8> {
    let p = n % patients;
    format!(
        "MSH|^~\\&|LIS|HB|YILIAN|REGION|20261201083000||ORU^R01^ORU_R01|B{n}|P|2.5.1\r\
         PID|1||HB-{p}^^^HB^MR~11010119800101{:04}^^^^NI||王^{p}||19800101|M\r\
         OBR|1|O{n}|F{n}|58410-2^血常规^LN|||20261201080000|||||||||||||||20261201082000|||F\r\
         OBX|1|NM|6690-2^白细胞计数^LN||{}|10*9/L|3.5-9.5|N|||F\r\
         OBX|2|NM|789-8^红细胞计数^LN||4.{}|10*12/L|3.8-5.1|N|||F\r\
         OBX|3|NM|L-PLT^血小板^99HB||{}|10*9/L|125-350|N|||F\r",
        p % 10_000,
        4 + n % 6,
        n % 10,
        150 + n % 100
    )
    .into_bytes()
}

/// Streams messages `range` over one connection with `window` in flight; returns each
/// acknowledgement's latency (send to AA).
fn stream(
    addr: SocketAddr,
    range: std::ops::Range<usize>,
    window: usize,
    patients: usize,
) -> anyhow::Result<Vec<Duration>> {
    crate::client::mllp_send(addr, range.map(move |n| message(n, patients)), window)?
        .into_iter()
        .map(|(latency, ack)| {
            anyhow::ensure!(
                ack.contains("\rMSA|AA"),
                "a message was not accepted: {ack}"
            );
            Ok(latency)
        })
        .collect()
}

fn ms(mut l: Vec<Duration>, p: f64) -> f64 {
    l.sort_unstable();
    crate::bench_cds::quantile_ms(&l, p)
}
/// One measurement: `messages` over `connections`, numbered from `first`.
fn run_once(
    addr: SocketAddr,
    first: usize,
    messages: usize,
    connections: usize,
    window: usize,
    patients: usize,
) -> anyhow::Result<(f64, Vec<Duration>)> {
    let per = messages / connections;
    let started = Instant::now();
    let handles: Vec<_> = (0..connections)
        .map(|c| {
            let range = first + c * per..first + (c + 1) * per;
            std::thread::spawn(move || stream(addr, range, window, patients))
        })
        .collect();
    let mut all = Vec::new();
    for h in handles {
        all.extend(
            h.join()
                .map_err(|_| anyhow::anyhow!("a sender panicked"))??,
        );
    }
    Ok((started.elapsed().as_secs_f64(), all))
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let _ = std::fs::remove_dir_all(&args.data);
    let store = crate::StoreArgs {
        data: args.data.clone(),
        database_url: args.postgres.clone(),
        database_schema: "yilian_bench_feeds".into(),
    };
    if let Some(url) = &store.database_url {
        store_postgres::Postgres::open(url, &store.database_schema)?.drop_schema()?;
    }
    let service = crate::open_service(&store)?;
    let feed = auth::Feed {
        hospital: "hb".into(),
        facilities: vec!["HB".into()],
        addresses: vec!["127.0.0.1".into()],
    };
    let addr = crate::serve::start_mllp("127.0.0.1:0".parse()?, &service, vec![feed])?;
    println!(
        "store: {}; messages: ORU^R01 with a report and 3 results ({} bytes), {} patients",
        if store.database_url.is_some() {
            "PostgreSQL"
        } else {
            "embedded SQLite"
        },
        message(0, args.patients).len(),
        args.patients
    );
    // Warm-up: the patients exist, as in a running region.
    let (_, _) = run_once(addr, 10_000_000, args.patients, 4, 16, args.patients)?;
    let baseline_n = (args.messages / 20).clamp(200, 2000);
    let (secs, lat) = run_once(addr, 0, baseline_n, 1, 1, args.patients)?;
    println!(
        "baseline, 1 connection, one message at a time: {:.0} messages/s, ack p50 {:.2} ms, p99 {:.2} ms",
        baseline_n as f64 / secs,
        ms(lat.clone(), 0.5),
        ms(lat, 0.99)
    );
    let (secs, lat) = run_once(
        addr,
        1_000_000,
        args.messages,
        args.connections,
        args.window,
        args.patients,
    )?;
    let rate = args.messages as f64 / secs;
    println!(
        "{} connections, {} in flight each: {:.0} messages/s sustained over {:.1} s ({:.0} resources/s), ack p50 {:.2} ms, p99 {:.2} ms",
        args.connections,
        args.window,
        rate,
        secs,
        rate * 4.0,
        ms(lat.clone(), 0.5),
        ms(lat, 0.99)
    );
    let stats = service.stats()?;
    println!(
        "stored: {} resources, {} versions, {:.0} bytes on disk per resource",
        stats.resources,
        stats.versions,
        stats.bytes_on_disk as f64 / stats.resources.max(1) as f64
    );
    service.close()?;
    Ok(())
}
