//! The service end to end on the embedded store: every official R4 example of a supported
//! type is accepted and reads back unchanged (but for the server's own meta).
//!
//! The examples come from the `hl7.fhir.r4.examples` npm package; `.ci/run` unpacks it and
//! sets `YILIAN_FHIR_EXAMPLES`. In CI a missing package is a failure, never a skip.

use serde_json::Value;
use service::{Caller, Config, Service};
use std::sync::Arc;

fn service() -> Service {
    let dir = std::env::temp_dir().join(format!("yilian-service-it-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = store::Engine::with_classifier(
        store::Sqlite::open(&dir).expect("open store"),
        service::classify,
        service::SHARED_TYPES,
    )
    .expect("classify")
    .sealed(audit::Sealer::from_seed([42; 32]));
    Service::new(Arc::new(store), Config::default())
}

/// Drops what the server owns in `meta`.
fn without_server_meta(mut v: Value) -> Value {
    if let Some(meta) = v.get_mut("meta").and_then(Value::as_object_mut) {
        meta.remove("versionId");
        meta.remove("lastUpdated");
        if meta.is_empty() {
            v.as_object_mut().map(|o| o.remove("meta"));
        }
    }
    v
}

#[test]
fn official_examples_round_trip() {
    let Some(dir) = std::env::var_os("YILIAN_FHIR_EXAMPLES") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "YILIAN_FHIR_EXAMPLES must point at the unpacked hl7.fhir.r4.examples package in CI"
        );
        eprintln!("YILIAN_FHIR_EXAMPLES is not set: skipping the official examples");
        return;
    };
    let svc = service();
    let mut checked = 0;
    let mut failures = Vec::new();
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("examples dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    for path in paths {
        let bytes = std::fs::read(&path).expect("read example");
        let Ok(top) = serde_json::from_slice::<Value>(&bytes) else {
            continue;
        };
        let file = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        // The example itself, or the entries of an example Bundle.
        let mut candidates = vec![(file.clone(), top.clone())];
        if top["resourceType"] == "Bundle" {
            for (i, e) in top["entry"].as_array().into_iter().flatten().enumerate() {
                if let Some(r) = e.get("resource") {
                    candidates.push((format!("{file} entry {i}"), r.clone()));
                }
            }
        }
        for (name, original) in candidates {
            let Some(rt) = original["resourceType"].as_str().map(str::to_string) else {
                continue;
            };
            let rt = rt.as_str();
            if !fhir::is_supported_type(rt) {
                continue;
            }
            checked += 1;
            let bytes = serde_json::to_vec(&original).expect("JSON");
            let written = match original["id"].as_str() {
                Some(id) => svc.update(&Caller::System, rt, id, &bytes, None),
                None => svc.create(&Caller::System, rt, &bytes, None),
            };
            let stored = match written {
                Ok(w) => w.stored,
                Err(e) => {
                    failures.push(format!(
                        "{name}: {e}: {}",
                        fhir::outcome::render(&e.issues())
                    ));
                    continue;
                }
            };
            let read = svc
                .read(&Caller::System, rt, &stored.id)
                .expect("read back");
            let back: Value = serde_json::from_slice(&read.body).expect("stored JSON");
            let mut expected = without_server_meta(original);
            expected["id"] = Value::String(stored.id.clone());
            if without_server_meta(back) != expected {
                failures.push(format!("{name}: reads back changed"));
            }
        }
    }
    assert!(
        checked > 550,
        "only {checked} examples found in the package"
    );
    assert!(
        failures.is_empty(),
        "{} of {checked} examples failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
