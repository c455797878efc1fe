//! The CapabilityStatement, generated from what the server really serves: the supported
//! types, their interactions, and the search parameters the query parser accepts.

use serde_json::{Value, json};

pub fn statement(base: &str) -> Value {
    let resources: Vec<Value> = fhir::SUPPORTED_TYPES
        .iter()
        .map(|t| {
            let params: Vec<Value> = fhir::search::params_of(t)
                .map(|p| {
                    json!({
                        "name": p.code,
                        "type": p.kind.code(),
                    })
                })
                .collect();
            let mut r = json!({
                "type": t,
                "interaction": [
                    {"code": "read"}, {"code": "vread"}, {"code": "update"}, {"code": "delete"},
                    {"code": "history-instance"}, {"code": "history-type"}, {"code": "create"},
                    {"code": "search-type"}
                ],
                "versioning": "versioned-update",
                "readHistory": true,
                "updateCreate": true,
                "conditionalCreate": true,
                "conditionalUpdate": true,
                "conditionalDelete": "not-supported",
                "searchInclude": include_list(t),
                "searchRevInclude": revinclude_list(t),
                "searchParam": params,
            });
            if *t == "Patient" {
                r["operation"] = json!([{
                    "name": "everything",
                    "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything"
                }]);
            }
            r
        })
        .collect();
    json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-11-22",
        "kind": "instance",
        "software": {"name": "Yilian", "version": env!("CARGO_PKG_VERSION")},
        "implementation": {"description": "Yilian regional clinical data repository", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "rest": [{
            "mode": "server",
            "resource": resources,
            "interaction": [
                {"code": "transaction"}, {"code": "batch"}, {"code": "history-system"}
            ],
        }],
    })
}

fn include_list(t: &str) -> Vec<String> {
    fhir::search::params_of(t)
        .filter(|p| p.kind == fhir::search::ParamType::Reference)
        .map(|p| format!("{t}:{}", p.code))
        .collect()
}

/// Every `Source:param` whose reference parameter can point at `t`.
fn revinclude_list(t: &str) -> Vec<String> {
    fhir::SUPPORTED_TYPES
        .iter()
        .flat_map(|source| {
            fhir::search::params_of(source)
                .filter(|p| p.kind == fhir::search::ParamType::Reference && p.targets.contains(&t))
                .map(move |p| format!("{source}:{}", p.code))
        })
        .collect()
}
