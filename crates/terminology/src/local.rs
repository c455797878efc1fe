//! Hospitals' local codes mapped to the region's standard ones. A hospital uploads its maps
//! as FHIR ConceptMaps (source: its local code system, target: LOINC, ICD-10, ATC or the
//! region's drug codes); every coding a feed brings in a local system gets the standard
//! coding beside it, and one no map covers is kept as sent and reported, so it reaches the
//! hospital's work queue and the resource carries a tag saying so.

use crate::systems;
use serde_json::{Value, json};
use std::collections::HashMap;

/// The tag a resource carries while one of its local codes has no standard mapping.
pub const UNMAPPED_TAG: (&str, &str) = (
    "https://yilian.health/fhir/CodeSystem/data-quality",
    "unmapped-code",
);

/// A local code no map covers, as it was sent.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Unmapped {
    pub system: String,
    pub code: String,
    pub display: String,
}

/// Every uploaded map, by (local system, local code).
#[derive(Clone, Debug, Default)]
pub struct CodeMaps {
    targets: HashMap<(String, String), Value>,
}

/// Whether `system` is a hospital's local code system.
pub fn is_local(system: &str) -> bool {
    system.starts_with(systems::LOCAL_PREFIX)
}

impl CodeMaps {
    /// Reads ConceptMaps (R4): each group's source system, each element's code, its first
    /// target that is `equivalent`, `equal`, `wider` or `subsumes` (a narrower or unmatched
    /// target maps nothing). Maps whose source is not a local system are ignored.
    pub fn from_concept_maps<'a>(maps: impl IntoIterator<Item = &'a Value>) -> CodeMaps {
        let mut targets = HashMap::new();
        for map in maps {
            if map["status"].as_str() == Some("retired") {
                continue;
            }
            for group in map["group"].as_array().into_iter().flatten() {
                let (Some(source), Some(target)) =
                    (group["source"].as_str(), group["target"].as_str())
                else {
                    continue;
                };
                if !is_local(source) {
                    continue;
                }
                for element in group["element"].as_array().into_iter().flatten() {
                    let Some(code) = element["code"].as_str() else {
                        continue;
                    };
                    let chosen = element["target"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .find(|t| {
                            matches!(
                                t["equivalence"].as_str(),
                                Some("equivalent" | "equal" | "wider" | "subsumes" | "relatedto")
                            ) && t["code"].is_string()
                        });
                    if let Some(t) = chosen {
                        let mut coding = json!({"system": target, "code": t["code"]});
                        if let Some(d) = t["display"].as_str() {
                            coding["display"] = json!(d);
                        }
                        targets.insert((source.to_string(), code.to_string()), coding);
                    }
                }
            }
        }
        CodeMaps { targets }
    }

    pub fn len(&self) -> usize {
        self.targets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }

    /// The standard coding for a local one.
    pub fn target(&self, system: &str, code: &str) -> Option<&Value> {
        self.targets.get(&(system.to_string(), code.to_string()))
    }

    /// Adds the standard coding beside every mapped local coding in `resource`, tags the
    /// resource when a local coding has no map, and returns those codes.
    pub fn apply(&self, resource: &mut Value) -> Vec<Unmapped> {
        let mut unmapped = Vec::new();
        self.walk(resource, &mut unmapped);
        unmapped.sort();
        unmapped.dedup();
        if !unmapped.is_empty() {
            let tag = json!({"system": UNMAPPED_TAG.0, "code": UNMAPPED_TAG.1});
            let meta = &mut resource["meta"];
            if !meta.is_object() {
                *meta = json!({});
            }
            let tags = &mut meta["tag"];
            if !tags.is_array() {
                *tags = json!([]);
            }
            let list = tags.as_array_mut().expect("an array");
            if !list.contains(&tag) {
                list.push(tag);
            }
        }
        unmapped
    }

    fn walk(&self, v: &mut Value, unmapped: &mut Vec<Unmapped>) {
        match v {
            Value::Object(o) => {
                if let Some(Value::Array(codings)) = o.get_mut("coding") {
                    let mut added = Vec::new();
                    for c in codings.iter() {
                        let (Some(system), Some(code)) = (c["system"].as_str(), c["code"].as_str())
                        else {
                            continue;
                        };
                        if !is_local(system) {
                            continue;
                        }
                        match self.target(system, code) {
                            Some(t) => added.push(t.clone()),
                            None => unmapped.push(Unmapped {
                                system: system.to_string(),
                                code: code.to_string(),
                                display: c["display"].as_str().unwrap_or_default().to_string(),
                            }),
                        }
                    }
                    for t in added {
                        let present = codings
                            .iter()
                            .any(|c| c["system"] == t["system"] && c["code"] == t["code"]);
                        if !present {
                            codings.push(t);
                        }
                    }
                }
                for (k, child) in o.iter_mut() {
                    if k != "coding" {
                        self.walk(child, unmapped);
                    }
                }
            }
            Value::Array(a) => a.iter_mut().for_each(|c| self.walk(c, unmapped)),
            _ => {}
        }
    }
}
