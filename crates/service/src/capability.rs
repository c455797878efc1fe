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
                "searchParam": params,
            });
            // FHIR forbids empty arrays: a type nothing refers to lists no includes.
            for (key, list) in [
                ("searchInclude", include_list(t)),
                ("searchRevInclude", revinclude_list(t)),
            ] {
                if !list.is_empty() {
                    r[key] = json!(list);
                }
            }
            if *t == "AuditEvent" {
                // Made by Yilian as it serves, from its tamper-evident log; never written.
                return json!({
                    "type": t,
                    "profile": "https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.PatientRead",
                    "interaction": [{"code": "read"}, {"code": "search-type"}],
                    "searchParam": [
                        {"name": "patient", "type": "reference"},
                        {"name": "agent", "type": "reference"},
                        {"name": "site", "type": "token"},
                        {"name": "date", "type": "date"},
                        {"name": "outcome", "type": "token"},
                        {"name": "subtype", "type": "token"},
                    ],
                });
            }
            let ops: &[(&str, &str)] = match *t {
                "Patient" => &[
                    (
                        "everything",
                        "http://hl7.org/fhir/OperationDefinition/Patient-everything",
                    ),
                    (
                        "match",
                        "http://hl7.org/fhir/OperationDefinition/Patient-match",
                    ),
                    (
                        "ihe-pix",
                        "https://profiles.ihe.net/ITI/PIXm/OperationDefinition/IHE.PIXm.pix",
                    ),
                    (
                        "link",
                        "https://yilian.health/fhir/OperationDefinition/Patient-link",
                    ),
                    (
                        "unlink",
                        "https://yilian.health/fhir/OperationDefinition/Patient-unlink",
                    ),
                    // GET /shared/Patient/{id}: the record from every hospital, as consent allows.
                    (
                        "shared-record",
                        "https://yilian.health/fhir/OperationDefinition/shared-record",
                    ),
                    (
                        "break-glass",
                        "https://yilian.health/fhir/OperationDefinition/break-glass",
                    ),
                    // Who read this person's records, and the notices they were sent.
                    (
                        "access-log",
                        "https://yilian.health/fhir/OperationDefinition/Patient-access-log",
                    ),
                    (
                        "notifications",
                        "https://yilian.health/fhir/OperationDefinition/Patient-notifications",
                    ),
                ],
                "Person" => &[
                    (
                        "merge",
                        "https://yilian.health/fhir/OperationDefinition/Person-merge",
                    ),
                    (
                        "unmerge",
                        "https://yilian.health/fhir/OperationDefinition/Person-unmerge",
                    ),
                ],
                _ => &[],
            };
            if !ops.is_empty() {
                r["operation"] = ops
                    .iter()
                    .map(|(name, definition)| json!({"name": name, "definition": definition}))
                    .collect();
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
            "documentation": "A patient's data is read through GET /shared/Patient/{id}, where the patient's consent and the region's policy decide; the generic read and search interactions on patient data are for administrators.",
            "security": {
                "cors": false,
                "service": [{"coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                    "code": "SMART-on-FHIR"
                }]}],
                "description": "Bearer tokens on every call but this statement. Hospital systems: SMART Backend Services (private_key_jwt, ES384 or RS384) at the token endpoint; people: /auth/login.",
                "extension": [{
                    "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
                    "extension": [{"url": "token", "valueUri": format!("{base}/auth/token")}]
                }]
            },
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
