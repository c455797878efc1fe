//! `yilian demo`: a fresh embedded store with a small sample region, a tour of the API over
//! a real socket, then the server keeps running for the user to explore.

use crate::serve::{self, runtime};
use crate::synthetic;
use service::{Caller, Service};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Directory for the demo store (wiped at start).
    #[arg(long, default_value = "data/demo")]
    pub data: PathBuf,
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,
    /// Patients in the sample.
    #[arg(long, default_value_t = 200)]
    pub patients: u64,
    /// Show the tour and exit instead of serving.
    #[arg(long)]
    pub once: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let _ = std::fs::remove_dir_all(&args.data);
    let service = crate::open_service(&crate::StoreArgs {
        data: args.data.clone(),
        database_url: None,
        database_schema: String::new(),
    })?;
    let loaded = load(&service, args.patients)?;
    println!(
        "Yilian demo: {loaded} resources for {} patients in {}",
        args.patients,
        args.data.display()
    );
    let serve_args = serve::Args {
        store: crate::StoreArgs {
            data: args.data.clone(),
            database_url: None,
            database_schema: String::new(),
        },
        listen: args.listen,
        base_url: None,
        max_body_bytes: 16 * 1024 * 1024,
    };
    let once = args.once;
    let first_patient = synthetic::patient_record(1, 0)[0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
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
        tour(&base, &first_patient).await?;
        if once {
            server.abort();
            let closing = service.clone();
            tokio::task::spawn_blocking(move || closing.close()).await??;
            return Ok(());
        }
        println!("\nServing FHIR R4 at {base} (Ctrl-C to stop). Try:");
        println!("  curl -s {base}/metadata | head -c 300");
        println!("  curl -s '{base}/Patient?family=王&_count=5'");
        println!("  curl -s '{base}/Patient/{first_patient}/$everything'");
        server.await??;
        anyhow::Ok(())
    })
}

/// Loads the sample: three hospitals and `patients` patients with their records.
fn load(service: &Service, patients: u64) -> anyhow::Result<usize> {
    let mut all = synthetic::organizations();
    for n in 0..patients {
        all.extend(synthetic::patient_record(1, n));
    }
    let mut checked = Vec::with_capacity(all.len());
    for r in &all {
        checked.push(service.check(&serde_json::to_vec(r)?)?);
    }
    let n = checked.len();
    for r in service.import(&Caller::System, checked) {
        r?;
    }
    Ok(n)
}

/// A few requests over the socket, printed as a user would make them.
async fn tour(base: &str, patient: &str) -> anyhow::Result<()> {
    let steps = [
        ("capabilities", "/metadata".to_string()),
        ("a patient", format!("/Patient/{patient}")),
        (
            "their lab results, newest first",
            format!("/Observation?patient={patient}&category=laboratory&_sort=-date&_count=3"),
        ),
        (
            "their whole record",
            format!("/Patient/{patient}/$everything"),
        ),
        (
            "hypertension across hospitals",
            "/Condition?code=http://hl7.org/fhir/sid/icd-10|I10&_summary=count".to_string(),
        ),
        ("an unknown parameter", "/Patient?shoe-size=42".to_string()),
    ];
    for (what, path) in steps {
        let (status, body) = crate::bench::http_get(base, &path).await?;
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
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
        if path.ends_with("$everything") {
            println!("  {}", record_summary(&v));
        }
    }
    Ok(())
}

/// What a doctor would see first in a shared record: visits per hospital, and what else.
fn record_summary(bundle: &serde_json::Value) -> String {
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
