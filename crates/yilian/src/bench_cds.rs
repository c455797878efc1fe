//! `yilian bench cds`: CDS Hooks calls for a patient with about 500 resources at two
//! hospitals, from many clients at once, over a real socket. Each call reads the shared
//! record under the caller's authorization (consent decision and audit record included),
//! runs the reminders and keeps what fired.

use crate::client::Connection;
use serde_json::json;
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
    #[arg(long, default_value = "data/bench-cds")]
    data: std::path::PathBuf,
}

fn day(days_ago: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    fhir::time::format_instant((now - days_ago * 86_400) * 1000)
}

/// One person registered at h01 and h02, consenting, with `n` resources over two years.
fn record(n: usize) -> Vec<serde_json::Value> {
    const RID: &str = "urn:oid:2.16.156.10011.1.3";
    let mut out = vec![
        json!({"resourceType": "Organization", "id": "h01", "name": "第一医院"}),
        json!({"resourceType": "Organization", "id": "h02", "name": "第二医院"}),
    ];
    for (id, org) in [("b1", "h01"), ("b2", "h02")] {
        out.push(json!({"resourceType": "Patient", "id": id,
            "identifier": [{"system": RID, "value": "110105198001010016"}],
            "name": [{"text": "王伟", "family": "王", "given": ["伟"]}], "gender": "male", "birthDate": "1980-01-01",
            "managingOrganization": {"reference": format!("Organization/{org}")}}));
    }
    out.push(json!({"resourceType": "Consent", "id": "bc1", "status": "active",
        "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy"}]},
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
        "patient": {"reference": "Patient/b2"}, "dateTime": day(30),
        "policyRule": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTIN"}]},
        "provision": {"type": "permit"}}));
    out.push(json!({"resourceType": "AllergyIntolerance", "id": "bal1", "patient": {"reference": "Patient/b2"},
        "code": {"coding": [{"system": "http://www.whocc.no/atc", "code": "J01C"}], "text": "青霉素过敏"}, "recordedDate": "2020-01-01"}));
    let drugs = terminology::DRUGS;
    let panels = terminology::LAB_PANELS;
    for i in 0..n.saturating_sub(out.len()) {
        let patient = if i % 2 == 0 { "b1" } else { "b2" };
        let ago = (i as i64 * 7) % 700;
        out.push(match i % 4 {
            0 => json!({"resourceType": "Encounter", "id": format!("be{i}"), "status": "finished",
                "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
                "subject": {"reference": format!("Patient/{patient}")}, "period": {"start": day(ago)},
                "serviceProvider": {"reference": if patient == "b1" { "Organization/h01" } else { "Organization/h02" }}}),
            1 => {
                let d = &drugs[i % drugs.len()];
                json!({"resourceType": "MedicationRequest", "id": format!("bm{i}"), "status": "active", "intent": "order",
                    "subject": {"reference": format!("Patient/{patient}")}, "authoredOn": day(ago),
                    "medicationCodeableConcept": {"coding": [{"system": terminology::systems::DRUG, "code": d.code}], "text": d.zh},
                    "dispenseRequest": {"expectedSupplyDuration": {"value": d.days, "unit": "d", "system": "http://unitsofmeasure.org", "code": "d"}}})
            }
            2 => {
                let p = &panels[i % panels.len()];
                json!({"resourceType": "DiagnosticReport", "id": format!("br{i}"), "status": "final",
                    "meta": {"tag": [{"system": terminology::systems::MUTUAL_RECOGNITION, "code": "HR"}]},
                    "code": {"coding": [{"system": "http://loinc.org", "code": p.loinc}], "text": p.zh},
                    "subject": {"reference": format!("Patient/{patient}")}, "effectiveDateTime": day(ago), "conclusion": "未见异常"})
            }
            _ => json!({"resourceType": "Observation", "id": format!("bo{i}"), "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": "2345-7"}]},
                "subject": {"reference": format!("Patient/{patient}")}, "effectiveDateTime": day(ago),
                "valueQuantity": {"value": 5.4, "unit": "mmol/L"}}),
        });
    }
    out
}

/// A fresh embedded store at `data` holding [`record`] of `n` resources.
pub(crate) fn service_with_record(
    data: &std::path::Path,
    n: usize,
) -> anyhow::Result<(service::Service, Vec<serde_json::Value>)> {
    let _ = std::fs::remove_dir_all(data);
    let store = crate::StoreArgs {
        data: data.to_path_buf(),
        database_url: None,
        database_schema: String::new(),
    };
    let service = crate::open_service(&store)?;
    let resources = record(n);
    let checked = resources
        .iter()
        .map(|r| service.check(r.to_string().as_bytes()))
        .collect::<Result<Vec<_>, _>>()?;
    for r in service.import(&service::Caller::System, checked) {
        r?;
    }
    Ok((service, resources))
}

/// The `p` quantile of sorted latencies, in milliseconds.
pub(crate) fn quantile_ms(sorted: &[Duration], p: f64) -> f64 {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)].as_secs_f64() * 1e3
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let (service, resources) = service_with_record(&args.data, args.resources)?;
    // The sharing window is off so the reminders see the whole record.
    println!("record: {} resources at two hospitals", resources.len());
    crate::serve::runtime()?.block_on(async {
        let (addr, server, _, credentials) = crate::bench::serve_locally(&service).await?;
        let token = crate::admin::mint(
            &credentials,
            &crate::admin::doctor("h01", "bench", policy::Purpose::Treatment),
            3600,
        )?;
        let amoxicillin = terminology::DRUGS
            .iter()
            .find(|d| d.ingredient_en == "amoxicillin")
            .map(|d| d.code)
            .unwrap_or_default();
        let body = json!({"hook": "order-select", "hookInstance": "d1b6b1de-0000-4000-8000-00000000b001",
            "context": {"userId": "Practitioner/bench", "patientId": "b1", "draftOrders": {"resourceType": "Bundle", "type": "collection", "entry": [
                {"resource": {"resourceType": "MedicationRequest", "id": "d1", "status": "draft", "intent": "order",
                    "subject": {"reference": "Patient/b1"},
                    "medicationCodeableConcept": {"coding": [{"system": terminology::systems::DRUG, "code": amoxicillin}]}}},
                {"resource": {"resourceType": "ServiceRequest", "id": "d2", "status": "draft", "intent": "order",
                    "subject": {"reference": "Patient/b1"},
                    "code": {"coding": [{"system": "http://loinc.org", "code": terminology::LAB_PANELS[2].loinc}]}}}]}}})
        .to_string();
        // One call to check it works and what it answers.
        let mut c = Connection::open(addr).await?.with_token(&token);
        let (status, answer) = c.post("/cds-services/yilian-order-select", body.as_bytes()).await?;
        let v: serde_json::Value = serde_json::from_slice(&answer).unwrap_or_default();
        anyhow::ensure!(status == 200, "hook call failed: {status} {v}");
        println!(
            "order-select answers {} cards: {}",
            v["cards"].as_array().map_or(0, Vec::len),
            v["cards"].as_array().into_iter().flatten().filter_map(|c| c["source"]["topic"]["code"].as_str()).collect::<Vec<_>>().join(", ")
        );
        for clients in [1, args.clients] {
            let per = args.requests / clients;
            let started = Instant::now();
            let mut tasks = Vec::new();
            for _ in 0..clients {
                let (token, body) = (token.clone(), body.clone());
                tasks.push(tokio::spawn(async move {
                    let mut c = Connection::open(addr).await?.with_token(&token);
                    let mut l = Vec::with_capacity(per);
                    for _ in 0..per {
                        let t = Instant::now();
                        let (status, _) = c.post("/cds-services/yilian-order-select", body.as_bytes()).await?;
                        anyhow::ensure!(status == 200, "hook call failed: {status}");
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
            let pct = |p: f64| quantile_ms(&all, p);
            println!(
                "order-select, {clients} client(s): p50 {:.2} ms, p99 {:.2} ms, {:.0} calls/s ({} calls); target p99 < 10 ms at 16 clients",
                pct(0.5),
                pct(0.99),
                all.len() as f64 / secs,
                all.len()
            );
        }
        server.abort();
        Ok::<(), anyhow::Error>(())
    })?;
    service.close()?;
    Ok(())
}
