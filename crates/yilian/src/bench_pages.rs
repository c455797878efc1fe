//! `yilian bench pages`: the doctor's record page for a patient with about 500 resources at
//! two hospitals, beside the JSON shared record it is made from, in the same run and over
//! a real socket. The page costs the same consent decision and audit record as the API,
//! plus the reminders and the HTML.

use crate::client::Connection;
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct Args {
    /// Resources in the patient's record.
    #[arg(long, default_value_t = 500)]
    resources: usize,
    #[arg(long, default_value_t = 16)]
    clients: usize,
    #[arg(long, default_value_t = 2000)]
    requests: usize,
    #[arg(long, default_value = "data/bench-pages")]
    data: std::path::PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let (service, resources) = crate::bench_cds::service_with_record(&args.data, args.resources)?;
    println!("record: {} resources at two hospitals", resources.len());
    crate::serve::runtime()?.block_on(async {
        let (addr, server, _, credentials) = crate::bench::serve_locally(&service).await?;
        let token = crate::admin::mint(
            &credentials,
            &crate::admin::doctor("h01", "bench", policy::Purpose::Treatment),
            3600,
        )?;
        // A session per client, as a hospital's system opens the page: a launch link.
        let session = |token: String| async move {
            let mut c = Connection::open(addr).await?.with_token(&token);
            let (status, body) = c
                .post_as("/auth/launch", "application/x-www-form-urlencoded", b"patient=Patient/b1")
                .await?;
            anyhow::ensure!(status == 200, "launch: {status}");
            let v: serde_json::Value = serde_json::from_slice(&body)?;
            let url = v["url"].as_str().unwrap_or_default();
            let path = &url[url.find("/ui/").unwrap_or(0)..];
            let (status, _) = c.get(path).await?;
            anyhow::ensure!(status == 303, "launch link: {status}");
            Ok::<Connection, anyhow::Error>(c)
        };
        let mut c = session(token.clone()).await?;
        let (status, page) = c.get("/ui/doctor/record").await?;
        anyhow::ensure!(status == 200, "the record page: {status}");
        let page = String::from_utf8_lossy(&page).into_owned();
        let mut api = Connection::open(addr).await?.with_token(&token);
        let (status, json) = api.get("/shared/Patient/b1").await?;
        anyhow::ensure!(status == 200, "the shared record: {status}");
        println!(
            "the page: {} bytes of HTML ({} reminder banners, {} trend charts); the API's shared record: {} bytes of JSON",
            page.len(),
            page.matches("class=\"banner ").count(),
            page.matches("<svg class=\"trend\"").count(),
            json.len()
        );
        for clients in [1, args.clients] {
            let per = (args.requests / clients).max(1);
            let mut rows = Vec::new();
            for (what, path) in [("API  GET /shared/Patient/b1", "/shared/Patient/b1"), ("page GET /ui/doctor/record", "/ui/doctor/record")] {
                let started = Instant::now();
                let mut tasks = Vec::new();
                for _ in 0..clients {
                    let token = token.clone();
                    let mut c = if path.starts_with("/ui") {
                        session(token.clone()).await?
                    } else {
                        Connection::open(addr).await?.with_token(&token)
                    };
                    tasks.push(tokio::spawn(async move {
                        let mut l = Vec::with_capacity(per);
                        for _ in 0..per {
                            let t = Instant::now();
                            let (status, _) = c.get(path).await?;
                            anyhow::ensure!(status == 200, "{path}: {status}");
                            l.push(t.elapsed());
                        }
                        Ok::<Vec<Duration>, anyhow::Error>(l)
                    }));
                }
                let mut all = Vec::new();
                for t in tasks {
                    all.extend(t.await??);
                }
                let secs = started.elapsed().as_secs_f64();
                all.sort();
                let pct = |p: f64| crate::bench_cds::quantile_ms(&all, p);
                rows.push((what, pct(0.5), pct(0.99), all.len() as f64 / secs));
            }
            for (what, p50, p99, rate) in &rows {
                println!("{clients:>2} client(s), {what}: p50 {p50:.2} ms, p99 {p99:.2} ms, {rate:.0}/s");
            }
            println!("{clients:>2} client(s), page / API at p50: {:.2}x", rows[1].1 / rows[0].1);
        }
        server.abort();
        Ok::<(), anyhow::Error>(())
    })?;
    service.close()?;
    Ok(())
}
