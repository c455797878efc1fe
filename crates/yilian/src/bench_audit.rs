//! `yilian bench audit`: the audit log's targets. Appends in commit groups straight to the
//! store (the rate the log can take), then one record per request through the group commit
//! from 16 threads (what a read waits for: the "added" latency), inclusion proofs at the
//! log's full size, and a whole-log verification.

use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct Args {
    /// Records to append before measuring proofs and verification.
    #[arg(long, default_value_t = 1_000_000)]
    records: u64,
    /// Records per commit group in the bulk append.
    #[arg(long, default_value_t = 4096)]
    group: usize,
    /// Concurrent requests recording one record each.
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// Records each of them makes.
    #[arg(long, default_value_t = 2000)]
    per_client: usize,
    #[command(flatten)]
    store: crate::StoreArgs,
}

fn record(i: u64) -> store::Logged {
    let mut r = audit::Record::new(
        1_796_083_200_000 + (i as i64) * 37,
        audit::Action::Shared,
        audit::Outcome::Success,
        format!("Practitioner/p{:05}", i % 20_000),
    );
    r.role = Some("doctor".into());
    r.organization = Some(format!("Organization/h{:02}", i % 30));
    r.purpose = Some("TREAT".into());
    r.patient = Some(format!(
        "Patient/{:016x}",
        i.wrapping_mul(0x9E37_79B9_7F4A_7C15)
    ));
    r.person = Some(format!(
        "Person/{:016x}",
        i.wrapping_mul(0xC2B2_AE3D_27D4_EB4F)
    ));
    r.entities = vec![r.patient.clone().unwrap_or_default()];
    r.count = Some(40 + i % 300);
    r.into()
}

fn pct(mut l: Vec<Duration>, p: f64) -> f64 {
    l.sort();
    l[((l.len() as f64 * p) as usize).min(l.len() - 1)].as_secs_f64() * 1e3
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if args.store.database_url.is_none() {
        let _ = std::fs::remove_dir_all(&args.store.data);
    } else if let Some(url) = &args.store.database_url {
        store_postgres::Postgres::open(url, &args.store.database_schema)?.drop_schema()?;
    }
    let service = crate::open_service(&args.store)?;
    // 1. Bulk append in commit groups: what the log sustains.
    let store = raw_store(&args.store)?;
    let started = Instant::now();
    let mut appended = 0u64;
    let mut last_report = Instant::now();
    while appended < args.records {
        let n = (args.records - appended).min(args.group as u64);
        let batch: Vec<store::Logged> = (appended..appended + n).map(record).collect();
        store.log(batch)?;
        appended += n;
        if last_report.elapsed() > Duration::from_secs(10) {
            eprintln!("  appended {appended} records");
            last_report = Instant::now();
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "append: {} records in {:.1} s, {:.0} records/s (groups of {}, durable commit per group); target >= 50,000/s",
        args.records,
        secs,
        args.records as f64 / secs,
        args.group
    );
    let bytes = service.stats()?.bytes_on_disk;
    println!(
        "disk: {:.0} bytes per record (record, leaf, seal, subtrees, indexes)",
        bytes as f64 / args.records.max(1) as f64
    );
    // 2. One record per request, from many threads at once, through the group commit.
    let started = Instant::now();
    let threads: Vec<_> = (0..args.clients)
        .map(|c| {
            let svc = service.clone();
            let per = args.per_client;
            std::thread::spawn(move || -> anyhow::Result<Vec<Duration>> {
                let caller = service::Caller::User(crate::admin::principal(policy::Caller {
                    role: policy::Role::Doctor,
                    purpose: policy::Purpose::Treatment,
                    organization: Some(format!("Organization/h{c}")),
                    practitioner: Some(format!("Practitioner/bench{c}")),
                    person: None,
                }));
                let mut l = Vec::with_capacity(per);
                for _ in 0..per {
                    let t = Instant::now();
                    svc.record_sign_in(Some(&caller), "bench", None)?;
                    l.push(t.elapsed());
                }
                Ok(l)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for t in threads {
        latencies.extend(
            t.join()
                .map_err(|_| anyhow::anyhow!("a client panicked"))??,
        );
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "record per request, {} concurrent: p50 {:.3} ms, p99 {:.3} ms, {:.0} records/s; target: adds < 1 ms p99 to a shared-record read",
        args.clients,
        pct(latencies.clone(), 0.5),
        pct(latencies.clone(), 0.99),
        latencies.len() as f64 / secs
    );
    // 3. Inclusion proofs at the full size, checked against the signed head.
    let head = service.tree_head(None)?;
    let size = head.head.size;
    let mut proofs = Vec::new();
    for i in 0..2000u64 {
        let index = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) % size;
        let t = Instant::now();
        let path = service.audit_proof(store::Proof::Inclusion { index, size })?;
        proofs.push(t.elapsed());
        anyhow::ensure!(!path.is_empty() || size == 1, "an empty proof");
    }
    println!(
        "inclusion proof at {} records: p50 {:.3} ms, p99 {:.3} ms (stored subtrees, checked against the signed head); target < 1 ms",
        size,
        pct(proofs.clone(), 0.5),
        pct(proofs, 0.99)
    );
    // 4. The whole log, verified.
    let sealer = crate::admin::sealer(&args.store.data)?;
    let public = sealer.public();
    let started = Instant::now();
    let report = service
        .verify_audit(Some(sealer), public, Vec::new(), &|_| {})?
        .map_err(|p| anyhow::anyhow!("verification failed: {p}"))?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "verify: {} records, {} heads in {:.1} s ({:.0} records/s; at this rate 10 million take {:.0} s); target: 10 million < 30 s",
        report.records,
        report.heads,
        secs,
        report.records as f64 / secs,
        10_000_000.0 * secs / report.records as f64
    );
    service.close()?;
    Ok(())
}

/// The same store opened once more for the bulk append (the service records one per call).
fn raw_store(args: &crate::StoreArgs) -> anyhow::Result<Arc<dyn store::Store>> {
    let sealer = crate::admin::sealer(&args.data)?;
    Ok(match &args.database_url {
        Some(url) => Arc::new(
            store::Engine::new(store_postgres::Postgres::open(url, &args.database_schema)?)
                .sealed(sealer),
        ),
        None => Arc::new(store::Engine::new(store::Sqlite::open(&args.data)?).sealed(sealer)),
    })
}
