//! The generated R4 structure table and the validator against the official R4 examples.
//!
//! `structure_table_is_fresh` regenerates `src/generated/structure.txt` from the official
//! StructureDefinitions and fails when the committed file differs (`UPDATE_EXPECT=1` rewrites
//! it). `official_examples_are_valid` runs the validator over the `hl7.fhir.r4.examples` package
//! named by `YILIAN_FHIR_EXAMPLES`. Neither test may change what the validator accepts.

use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

const DEFINITIONS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fhir-r4");
const TABLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/generated/structure.txt");

#[test]
fn structure_table_is_fresh() {
    let fresh = generate();
    let committed = std::fs::read_to_string(TABLE).unwrap_or_default();
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        if committed != fresh {
            std::fs::write(TABLE, &fresh).expect("write structure.txt");
        }
        return;
    }
    assert!(
        committed == fresh,
        "src/generated/structure.txt is stale: rerun with UPDATE_EXPECT=1"
    );
}

#[test]
fn official_examples_are_valid() {
    let Some(dir) = std::env::var_os("YILIAN_FHIR_EXAMPLES") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "YILIAN_FHIR_EXAMPLES must name the hl7.fhir.r4.examples `package` dir in CI"
        );
        eprintln!("note: YILIAN_FHIR_EXAMPLES is not set, skipping the official R4 examples");
        return;
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("read YILIAN_FHIR_EXAMPLES")
        .map(|entry| entry.expect("read dir entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();

    let mut checked = 0;
    let mut failures = 0;
    for path in &files {
        for (label, resource) in supported_resources(path) {
            checked += 1;
            let issues = fhir::validate::validate(&resource);
            if !issues.is_empty() {
                failures += 1;
                eprintln!("{label}\n{}", fhir::outcome::render(&issues));
            }
        }
    }
    eprintln!("validated {checked} official examples, {failures} failed");
    assert!(
        checked > 500,
        "too few examples in {}",
        Path::new(&dir).display()
    );
    assert_eq!(failures, 0, "official examples failed validation");
}

/// The resources of a supported type in one example file: the file itself, or the entries
/// of a Bundle.
fn supported_resources(path: &Path) -> Vec<(String, Value)> {
    let text = std::fs::read_to_string(path).expect("read example");
    let Ok(resource) = serde_json::from_str::<Value>(&text) else {
        return Vec::new();
    };
    let file = path.display().to_string();
    let resource_type = resource["resourceType"].as_str().unwrap_or_default();
    if fhir::is_supported_type(resource_type) {
        return vec![(file, resource)];
    }
    if resource_type != "Bundle" {
        return Vec::new();
    }
    let Some(entries) = resource["entry"].as_array() else {
        return Vec::new();
    };
    entries
        .iter()
        .enumerate()
        .filter(|(_, entry)| {
            fhir::is_supported_type(
                entry["resource"]["resourceType"]
                    .as_str()
                    .unwrap_or_default(),
            )
        })
        .map(|(i, entry)| (format!("{file} entry[{i}]"), entry["resource"].clone()))
        .collect()
}

/// Children that every element, backbone element or resource has, which the model adds
/// itself rather than listing them for every element.
const GENERIC: &[&str] = &[
    "Element.id",
    "Element.extension",
    "BackboneElement.modifierExtension",
    "Resource.id",
    "Resource.meta",
    "Resource.implicitRules",
    "Resource.language",
    "DomainResource.text",
    "DomainResource.contained",
    "DomainResource.extension",
    "DomainResource.modifierExtension",
];

/// The structure table: one header line `Name|Base` per resource type and complex data type,
/// then one line `path|min|max|types` per element, in snapshot order.
fn generate() -> String {
    let mut definitions = BTreeMap::new();
    for file in ["Bundle-types.json", "Bundle-resources.json"] {
        let path = format!("{DEFINITIONS}/{file}");
        let text = std::fs::read_to_string(&path).expect("read R4 definitions");
        let bundle: Value = serde_json::from_str(&text).expect("parse R4 definitions");
        for entry in bundle["entry"].as_array().expect("bundle entries") {
            let sd = &entry["resource"];
            if sd["resourceType"] != "StructureDefinition" || sd["abstract"] == true {
                continue;
            }
            let wanted = match sd["kind"].as_str() {
                Some("resource") => true,
                Some("complex-type") => sd["derivation"] == "specialization",
                _ => false,
            };
            if wanted {
                let name = text_of(&sd["type"]).to_owned();
                definitions.insert(name, sd.clone());
            }
        }
    }

    let mut out = String::from(
        "# R4 resources and complex types: `Name|Base` then `path|min|max|types`.\n\
         # Generated by crates/fhir/tests/it/structure.rs (UPDATE_EXPECT=1); do not edit.\n",
    );
    for (name, sd) in &definitions {
        let elements = sd["snapshot"]["element"].as_array().expect("snapshot");
        let base = match sd["kind"].as_str() {
            Some("resource") => text_of(&sd["baseDefinition"])
                .rsplit('/')
                .next()
                .expect("base name")
                .to_owned(),
            _ if elements
                .iter()
                .any(|el| el["path"] == format!("{name}.modifierExtension")) =>
            {
                "BackboneElement".to_owned()
            }
            _ => "Element".to_owned(),
        };
        assert!(
            ["DomainResource", "Resource", "BackboneElement", "Element"].contains(&base.as_str()),
            "{name} derives from {base}"
        );
        writeln!(out, "{name}|{base}").expect("write to string");
        for el in &elements[1..] {
            let path = text_of(&el["path"]);
            if GENERIC.contains(&text_of(&el["base"]["path"])) {
                continue;
            }
            let types = if let Some(reference) = el["contentReference"].as_str() {
                format!("@{reference}")
            } else {
                let types: Vec<&str> = el["type"]
                    .as_array()
                    .expect("element types")
                    .iter()
                    .map(type_name)
                    .collect();
                types.join(",")
            };
            let min = el["min"].as_u64().expect("min");
            let max = text_of(&el["max"]);
            writeln!(out, "{path}|{min}|{max}|{types}").expect("write to string");
        }
    }
    out
}

/// The FHIR type of one `ElementDefinition.type`; FHIRPath system types (used for `id` and
/// `Extension.url`) carry the FHIR type in an extension.
fn type_name(ty: &Value) -> &str {
    let code = text_of(&ty["code"]);
    if !code.starts_with("http://hl7.org/fhirpath/System.") {
        return code;
    }
    ty["extension"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|ext| {
            ext["url"] == "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type"
        })
        .map(|ext| text_of(&ext["valueUrl"]))
        .expect("fhir type of a system type")
}

fn text_of(value: &Value) -> &str {
    value.as_str().expect("string in R4 definitions")
}
