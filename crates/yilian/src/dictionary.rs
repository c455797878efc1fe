//! `yilian dictionary`: trains the zstd dictionary that store bodies are compressed with
//! (`crates/store/src/body2.dict`; a new one needs a new tag in `body.rs`) on the official R4 examples of the supported types and a
//! synthetic region (a seed the benchmark does not use), each with server `meta` as stored.

use serde_json::Value;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// The unpacked `hl7.fhir.r4.examples` package directory.
    #[arg(long, env = "YILIAN_FHIR_EXAMPLES")]
    pub examples: PathBuf,
    /// Synthetic patients to add to the samples.
    #[arg(long, default_value_t = 2000)]
    pub patients: u64,
    /// Dictionary size in bytes.
    #[arg(long, default_value_t = 65536)]
    pub size: usize,
    #[arg(long, default_value = "crates/store/src/body2.dict")]
    pub out: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let mut samples = Vec::new();
    let mut paths: Vec<_> = std::fs::read_dir(&args.examples)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    paths.sort();
    for path in paths {
        let Ok(v) = serde_json::from_slice::<Value>(&std::fs::read(&path)?) else {
            continue;
        };
        if v["resourceType"]
            .as_str()
            .is_some_and(fhir::is_supported_type)
        {
            samples.push(as_stored(v)?);
        }
    }
    let examples = samples.len();
    let mut config = synth::Config::new(424_242, args.patients, synth::Date::ymd(2026, 11, 1));
    config.format = Some(synth::hospitals::Format::Ndjson);
    let outputs = std::iter::once(synth::header(&config)).chain(
        synth::households(&config)
            .map(|(h, first, plan, take)| synth::household(&config, h, &plan, first, take)),
    );
    for o in outputs {
        for (sink, line) in o.lines {
            if let synth::Sink::Ndjson(..) = sink {
                samples.push(as_stored(serde_json::from_slice(&line)?)?);
            }
        }
    }
    let dict = store::train_dictionary(&samples, args.size)?;
    std::fs::write(&args.out, &dict)?;
    println!(
        "trained a {} byte dictionary on {examples} official examples and {} synthetic resources: {}",
        dict.len(),
        samples.len() - examples,
        args.out.display()
    );
    Ok(())
}

/// A resource as the store keeps it: compact, with server meta.
fn as_stored(mut v: Value) -> anyhow::Result<Vec<u8>> {
    if let Some(o) = v.as_object_mut() {
        let meta = o.entry("meta").or_insert_with(|| serde_json::json!({}));
        if let Some(m) = meta.as_object_mut() {
            m.insert("versionId".into(), "1".into());
            m.insert("lastUpdated".into(), "2026-11-22T08:00:00.000Z".into());
        }
    }
    Ok(serde_json::to_vec(&v)?)
}
